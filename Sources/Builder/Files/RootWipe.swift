import Foundation
import Glibc
import PluginAPI

/// Clears a root file system between in-place stages: removes everything except ignored paths
/// (and the directories leading to them).
enum RootWipe {
    static func clear(_ root: BuildRoot, keeping ignore: IgnoreList) throws {
        try clear(root, relative: "", keeping: ignore)
    }

    private static func clear(_ root: BuildRoot, relative: String, keeping ignore: IgnoreList) throws {
        let dir = root.hostPath(relative)
        for name in try FileManager.default.contentsOfDirectory(atPath: dir) {
            let rel = relative.isEmpty ? name : relative + "/" + name
            if ignore.contains(rel) { continue }
            let holdsIgnored = ignore.prefixes.contains { $0.hasPrefix("/" + rel + "/") }
            var st = stat()
            guard lstat(root.hostPath(rel), &st) == 0 else { continue }
            if holdsIgnored && (st.st_mode & S_IFMT) == S_IFDIR {
                try clear(root, relative: rel, keeping: ignore)
            } else {
                try removeTree(root.hostPath(rel))
            }
        }
    }
}
