import Builder
import Diagnostics
import PluginAPI
import PluginHost

/// Turns the loaded plugins into the components a build is handed: the snapshot strategy for
/// `--snapshot-mode`, the registry client for `--registry-plugin`, a cross-build backend if any.
/// The engine never sees `PluginSet`.
enum ComponentResolver {
    /// - Parameter needsRegistry: true when the build pushes, so a missing client fails now
    ///   rather than after a long build.
    static func resolve(_ plugins: PluginSet, snapshotMode: String, registryName: String, needsRegistry: Bool) throws
        -> BuildComponents
    {
        let snapshot: any SnapshotStrategy =
            plugins.snapshotStrategy(named: snapshotMode)
            ?? MissingSnapshotStrategy(mode: snapshotMode, reason: missingSnapshot(plugins, mode: snapshotMode))
        let registry = plugins.registryClient(named: registryName)
        let unavailable = missingRegistry(plugins, name: registryName)
        if needsRegistry && registry == nil { throw unavailable }
        return BuildComponents(
            snapshot: snapshot, registry: registry, crossBuild: plugins.crossBuildBackend(), registryUnavailable: unavailable)
    }

    static func missingRegistry(_ plugins: PluginSet, name: String) -> KilnError {
        let available = plugins.components.compactMap { ($0.component as? any RegistryClient).map { "\($0.name) (\($0.kind))" } }
        return KilnError(
            .notFound,
            "no registry plugin '\(name)' found"
                + (available.isEmpty ? "; no registry plugin is loaded" : "; available: \(available.joined(separator: ", "))")
                + ". Put libKilnPluginRegistryOCI.so next to kiln, or pass --plugin-dir / --registry-plugin PATH")
    }

    static func missingSnapshot(_ plugins: PluginSet, mode: String) -> KilnError {
        let found = plugins.plugins.map { "\($0.name) (\($0.path))" }.joined(separator: ", ")
        return KilnError(
            .notFound,
            "no snapshot plugin provides mode '\(mode)'; plugins found: \(found.isEmpty ? "none" : found). "
                + "Put libKilnPluginSnapshotFull.so and libKilnPluginSnapshotTime.so next to kiln or pass --plugin-dir")
    }
}

/// Stands in when no plugin provides the snapshot mode: a build that never snapshots (no RUN)
/// still works, one that does fails with the reason, as before components were resolved early.
struct MissingSnapshotStrategy: SnapshotStrategy {
    let mode: String
    let reason: KilnError
    var name: String { mode }

    func capture(root: String, ignoring: IgnoreList) async throws -> SnapshotState { throw reason }

    func changes(root: String, since previous: SnapshotState, ignoring: IgnoreList) async throws -> (ChangeSet, SnapshotState) {
        throw reason
    }
}
