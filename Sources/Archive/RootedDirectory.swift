// A directory tree reached only through a file descriptor of its root: every path is
// resolved by the kernel with openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS), so `..`
// and symlinks (absolute or relative, planted by an earlier entry) can never lead outside.
// The final component is then operated on with *at() calls that do not follow it.
import CKilnSys
import Glibc
import PluginAPI

final class RootedDirectory {
    let path: String
    let fd: Int32

    init(path: String) throws(SystemCallError) {
        self.path = path
        fd = try sys("open", path) { open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
    }

    deinit { close(fd) }

    private static let resolve = kiln_resolve_in_root() | kiln_resolve_no_magiclinks()

    /// Opens the directory at `rel` (components joined by `/`, empty for the root) inside the
    /// root. With `create`, missing directories are made (0755, root-owned) one by one.
    /// The caller closes the result.
    func openDirectory(_ rel: String, create: Bool) throws(SystemCallError) -> Int32 {
        if rel.isEmpty { return try sys("dup", path) { dup(fd) } }
        do {
            return try openat2Retrying(rel)
        } catch where error.code == ENOENT && create {
            var parent = try sys("dup", path) { dup(fd) }
            defer { close(parent) }
            var prefix = ""
            for part in rel.split(separator: "/") {
                prefix = prefix.isEmpty ? String(part) : prefix + "/" + part
                let next: Int32
                do {
                    next = try openat2Retrying(prefix)
                } catch where error.code == ENOENT {
                    // mkdirat on a single name never follows anything: an existing dangling
                    // symlink there makes it fail with EEXIST, and the reopen reports ENOENT.
                    if mkdirat(parent, String(part), 0o755) != 0 && errno != EEXIST {
                        throw SystemCallError(call: "mkdirat", subject: prefix, code: errno)
                    }
                    next = try openat2Retrying(prefix)
                }
                close(parent)
                parent = next
            }
            return try sys("dup", rel) { dup(parent) }
        }
    }

    /// openat2 of a directory inside the root; EAGAIN (a concurrent rename) is retried.
    private func openat2Retrying(_ rel: String) throws(SystemCallError) -> Int32 {
        var attempts = 0
        while true {
            let r = kiln_openat2(fd, rel, UInt64(O_RDONLY | O_DIRECTORY | O_CLOEXEC), 0, Self.resolve)
            if r >= 0 { return r }
            let e = kiln_errno()
            if (e == EAGAIN || e == EINTR) && attempts < 16 {
                attempts += 1
                continue
            }
            throw SystemCallError(call: "openat2", subject: rel, code: e)
        }
    }

    /// Removes `name` in the directory `dirfd` (`rel` is its path from the root, for the
    /// ignore list and messages) and, for a directory, everything under it. Never follows a
    /// symlink; ignored paths and the directories holding them are kept.
    func removeTree(in dirfd: Int32, name: String, rel: String, ignoring: IgnoreList) throws(SystemCallError) {
        if ignoring.contains(rel) { return }
        guard let st = try fstatatIfPresent(dirfd, name, subject: rel) else { return }
        if !st.isDirectory {
            try sys("unlinkat", rel) { unlinkat(dirfd, name, 0) }
            return
        }
        let child = try sys("openat", rel) { openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
        do {
            defer { close(child) }
            for n in try directoryNames(child, subject: rel) {
                try removeTree(in: child, name: n, rel: rel + "/" + n, ignoring: ignoring)
            }
        }
        if unlinkat(dirfd, name, AT_REMOVEDIR) != 0 {
            let e = errno
            // A directory that still holds an ignored path stays.
            if e == ENOTEMPTY && ignoring.prefixes.contains(where: { $0.hasPrefix("/" + rel + "/") }) { return }
            throw SystemCallError(call: "unlinkat", subject: rel, code: e)
        }
    }
}
