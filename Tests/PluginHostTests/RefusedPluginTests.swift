// Libraries the host must refuse, each reported with its path (and the plugin's name and both
// versions for an API mismatch), without stopping the other plugins from loading.
import Foundation
import PluginAPI
import PluginHost
import TestSupport
import Testing

@Suite("Refused plugins")
struct RefusedPluginTests {
    /// Copies the refused fixtures (built once) and one good plugin into a fresh plugin dir.
    static func pluginDirectory() async throws -> TemporaryTree {
        let products = try await FixturePackage.shared.productsDirectory(of: "OldAPIPlugin")
        let tree = try TemporaryTree(prefix: "kiln-refused")
        do {
            for name in ["libKilnPluginOldAPI.so", "libKilnPluginNoEntry.so", "libKilnPluginNoVersion.so"] {
                try FileManager.default.copyItem(atPath: products + "/" + name, toPath: tree.url(name))
            }
            try tree.write("libKilnPluginGarbage.so", "this is not an ELF file")
            return tree
        } catch {
            tree.remove()
            throw error
        }
    }

    @Test func anotherAPIVersionIsRefusedNamingPathPluginAndBothVersions() async throws {
        let tree = try await Self.pluginDirectory()
        defer { tree.remove() }
        let path = tree.url("libKilnPluginOldAPI.so")
        let error = #expect(throws: PluginLoadError.self) { try PluginLoader().load(path: path) }
        let found = PluginAPIVersion(major: 999, minor: 0, patch: 0)
        #expect(error == .apiMismatch(path: path, plugin: "OldAPI", found: found, expected: kilnPluginAPIVersion))
        let message = try #require(error?.description)
        for part in [path, "'OldAPI'", "version 999.0.0", "version \(kilnPluginAPIVersion)", "rebuild"] {
            #expect(message.contains(part), "message \(message) lacks \(part)")
        }
    }

    @Test func aPluginWithoutTheVersionSymbolIsRefusedAsBuiltForAnOlderAPI() async throws {
        let tree = try await Self.pluginDirectory()
        defer { tree.remove() }
        let path = tree.url("libKilnPluginNoVersion.so")
        let error = #expect(throws: PluginLoadError.self) { try PluginLoader().load(path: path) }
        #expect(error == .missingVersion(path: path))
        let message = error?.description ?? ""
        for part in [path, kilnPluginAPIVersionSymbol, "API 2 or earlier", "\(kilnPluginAPIVersion)"] {
            #expect(message.contains(part), "message \(message) lacks \(part)")
        }
    }

    @Test func aLibraryWithoutTheEntrySymbolIsReportedWithItsPath() async throws {
        let tree = try await Self.pluginDirectory()
        defer { tree.remove() }
        let path = tree.url("libKilnPluginNoEntry.so")
        let error = #expect(throws: PluginLoadError.self) { try PluginLoader().load(path: path) }
        #expect(error == .missingEntry(path: path))
        #expect(error?.description.contains(path) == true && error?.description.contains(kilnPluginEntrySymbol) == true)
    }

    @Test func failuresAreCollectedWhileGoodPluginsStillLoad() async throws {
        let tree = try await Self.pluginDirectory()
        defer { tree.remove() }
        let loader = PluginLoader(discovery: StandardPluginDiscovery(pluginDirectories: [tree.path], environment: [:]))
        let (plugins, failures) = loader.loadAll()
        let ours = failures.filter { $0.description.contains(tree.path) }
        #expect(ours.count == 4, "\(ours.map(\.description))")
        #expect(ours.contains(.missingEntry(path: tree.url("libKilnPluginNoEntry.so"))))
        #expect(ours.contains { if case .openFailed(let p, _) = $0 { p == tree.url("libKilnPluginGarbage.so") } else { false } })
        #expect(
            ours.contains { if case .apiMismatch(let p, "OldAPI", _, _) = $0 { p == tree.url("libKilnPluginOldAPI.so") } else { false } })
        #expect(ours.contains(.missingVersion(path: tree.url("libKilnPluginNoVersion.so"))))
        #expect(plugins.contains { $0.name == "SnapshotTime" }, "the build folder's plugins still load")
        #expect(!plugins.contains { $0.name == "OldAPI" || $0.name == "NoVersion" })
    }
}
