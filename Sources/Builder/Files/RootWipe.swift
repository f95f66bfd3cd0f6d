import Glibc
import PluginAPI
import SystemCalls

/// Clears a root file system between in-place stages: removes everything except ignored paths
/// (and the directories leading to them). Names are listed as bytes, so none is left behind.
enum RootWipe {
    static func clear(_ root: BuildRoot, keeping ignore: IgnoreList) throws {
        try clear(root, relative: .empty, keeping: ignore)
    }

    private static func clear(_ root: BuildRoot, relative: BytePath, keeping ignore: IgnoreList) throws {
        let dir = root.hostPath(relative)
        let fd = try sys("open", dir) { open($0, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        let names: [BytePath]
        do {
            defer { close(fd) }
            names = try directoryNames(fd, subject: dir.description)
        }
        for name in names {
            let rel = relative.appending(name)
            if ignore.contains(rel) { continue }
            let holdsIgnored = ignore.prefixes.contains { BytePath($0).hasPrefix("/" + rel + "/") }
            guard let st = try? lstatIfPresent(root.hostPath(rel)) else { continue }
            if holdsIgnored && (st.st_mode & S_IFMT) == S_IFDIR {
                try clear(root, relative: rel, keeping: ignore)
            } else {
                try removeTree(root.hostPath(rel))
            }
        }
    }
}
