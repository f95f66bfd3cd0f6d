// Removal inside a build root, through the one in-root resolver (SystemCalls.RootedDirectory):
// never follows a symlink, and keeps what the ignore list protects.
import Glibc
import PluginAPI
import SystemCalls

extension RootedDirectory {
    /// Removes `name` in the directory `dirfd` (`rel` is its path from the root, for the
    /// ignore list and messages) and, for a directory, everything under it. Never follows a
    /// symlink; ignored paths and the directories holding them are kept.
    func removeTree(in dirfd: Int32, name: BytePath, rel: BytePath, ignoring: IgnoreList) throws(SystemCallError) {
        if ignoring.contains(rel) { return }
        guard let st = try fstatatIfPresent(dirfd, name, subject: rel.description) else { return }
        if !ModeBits.isDirectory(st.st_mode) {
            try sys("unlinkat", rel) { _ in name.withCString { unlinkat(dirfd, $0, 0) } }
            return
        }
        let child = try sys("openat", rel) { _ in name.withCString { openat(dirfd, $0, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) } }
        do {
            defer { close(child) }
            for n in try directoryNames(child, subject: rel.description) {
                try removeTree(in: child, name: n, rel: rel.appending(n), ignoring: ignoring)
            }
        }
        if name.withCString({ unlinkat(dirfd, $0, AT_REMOVEDIR) }) != 0 {
            let e = errno
            // A directory that still holds an ignored path stays.
            if e == ENOTEMPTY && ignoring.prefixes.contains(where: { BytePath($0).hasPrefix("/" + rel + "/") }) { return }
            throw SystemCallError(call: "unlinkat", subject: rel.description, code: e)
        }
    }
}
