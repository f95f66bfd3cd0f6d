// Loads the snapshot strategies the way kiln does: through PluginHost, from the build folder
// next to the test runner (no test links a plugin target).
import Foundation
import Glibc
import PluginAPI
import PluginHost
import TestSupport

enum SnapshotPlugins {
    /// Every in-tree plugin, loaded once per process. The environment is emptied so a
    /// developer's KILN_PLUGIN_PATH cannot shadow the plugins just built.
    static let loaded = PluginSet(loader: PluginLoader(discovery: StandardPluginDiscovery(environment: [:])))

    struct NotFound: Error, CustomStringConvertible {
        var name: String
        var description: String {
            "snapshot strategy '\(name)' not found in \(BuildProducts.directory) "
                + "(failures: \(SnapshotPlugins.loaded.failures.map(\.description))); build with `swift build --build-tests` so the plugin libraries exist"
        }
    }

    static func strategy(_ name: String) throws -> any SnapshotStrategy {
        guard let s = loaded.snapshotStrategy(named: name) else { throw NotFound(name: name) }
        return s
    }

    /// Waits until every timestamp the file system gives from now on lies after every timestamp
    /// it gave so far, by a margin larger than the racy window (coarse clock resolution).
    static func settle() async throws {
        var resolution = timespec()
        clock_getres(CLOCK_REALTIME_COARSE, &resolution)
        let ns = Int64(resolution.tv_sec) * 1_000_000_000 + Int64(resolution.tv_nsec)
        try await Task.sleep(nanoseconds: UInt64(3 * ns + 15_000_000))
    }
}

/// Both strategies, for tests whose expectations hold for each.
let snapshotModes = ["time", "full"]

extension ChangeSet {
    var addedPaths: [BytePath] { added.map(\.path) }
    var modifiedPaths: [BytePath] { modified.map(\.path) }
}
