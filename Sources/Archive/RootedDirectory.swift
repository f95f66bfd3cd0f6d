// A directory tree reached only through a file descriptor of its root: every path is
// resolved by the kernel with openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS), so `..`
// and symlinks (absolute or relative, planted by an earlier entry) can never lead outside.
// The final component is then operated on with *at() calls that do not follow it.
import CArchive
import Glibc
import PluginAPI

final class RootedDirectory {
    let path: String
    let fd: Int32

    /// The root as the kernel names it (symlinks resolved), to map descriptors back to paths.
    private let realPath: String?

    init(path: String) throws(SystemCallError) {
        self.path = path
        let fd = try sys("open", path) { open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        self.fd = fd
        realPath = try? readLink("/proc/self/fd/\(fd)")
    }

    /// Where the directory open at `dirfd` really is, relative to the root ("" for the root),
    /// or nil when /proc is not mounted. A symlink planted by a layer can make a name resolve
    /// into another directory; the ignore list must judge the resolved path.
    func relativePath(of dirfd: Int32) -> String? {
        guard let realPath, let real = try? readLink("/proc/self/fd/\(dirfd)") else { return nil }
        if real == realPath { return "" }
        let prefix = realPath == "/" ? "/" : realPath + "/"
        return real.hasPrefix(prefix) ? String(real.dropFirst(prefix.count)) : nil
    }

    deinit { close(fd) }

    private static let resolve = kiln_ar_resolve_in_root() | kiln_ar_resolve_no_magiclinks()

    /// Opens the directory at `rel` (components joined by `/`, empty for the root) inside the
    /// root. With `create`, missing directories are made (0755, root-owned) one by one; a
    /// dangling symlink on the way is followed the way the kernel would inside the root (its
    /// target is created), at most 40 times. The caller closes the result.
    func openDirectory(_ rel: String, create: Bool) throws(SystemCallError) -> Int32 {
        if rel.isEmpty { return try sys("dup", path) { dup(fd) } }
        do {
            return try openat2Retrying(rel)
        } catch  where error.code == ENOENT && create {
            return try createDirectories(rel.split(separator: "/").map(String.init), hops: 0)
        }
    }

    private func createDirectories(_ parts: [String], hops: Int) throws(SystemCallError) -> Int32 {
        var parent = try sys("dup", path) { dup(fd) }
        defer { close(parent) }
        var prefix: [String] = []
        for (i, part) in parts.enumerated() where !part.isEmpty && part != "." {
            let here = (prefix + [part]).joined(separator: "/")
            let next: Int32
            do {
                next = try openat2Retrying(here)
            } catch  where error.code == ENOENT {
                // mkdirat on a single name never follows anything, and `parent` was itself
                // resolved inside the root: the new directory lands inside the root.
                if mkdirat(parent, part, 0o755) != 0 && errno != EEXIST {
                    throw SystemCallError(call: "mkdirat", subject: here, code: errno)
                }
                do {
                    next = try openat2Retrying(here)
                } catch  where error.code == ENOENT {
                    // `part` is a dangling symlink: continue from its target, inside the root.
                    guard hops < 40 else { throw SystemCallError(call: "openat2", subject: here, code: ELOOP) }
                    let target = try readLinkAt(parent, part, subject: here)
                    let base = target.hasPrefix("/") ? [] : prefix
                    let rest = base + target.split(separator: "/").map(String.init) + parts[(i + 1)...]
                    return try createDirectories(rest, hops: hops + 1)
                }
            }
            close(parent)
            parent = next
            prefix.append(part)
        }
        return try sys("dup", parts.joined(separator: "/")) { dup(parent) }
    }

    /// openat2 of a directory inside the root; EAGAIN (a concurrent rename) is retried.
    private func openat2Retrying(_ rel: String) throws(SystemCallError) -> Int32 {
        var attempts = 0
        while true {
            let r = kiln_ar_openat2(fd, rel, UInt64(O_RDONLY | O_DIRECTORY | O_CLOEXEC), 0, Self.resolve)
            if r >= 0 { return r }
            let e = kiln_ar_errno()
            if (e == EAGAIN || e == EINTR) && attempts < 16 {
                attempts += 1
                continue
            }
            throw SystemCallError(call: "openat2", subject: rel, code: e)
        }
    }

    private func readLinkAt(_ dirfd: Int32, _ name: String, subject: String) throws(SystemCallError) -> String {
        var buf = [CChar](repeating: 0, count: 4096)
        let n = readlinkat(dirfd, name, &buf, buf.count)
        if n < 0 { throw SystemCallError(call: "readlinkat", subject: subject, code: errno) }
        return String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
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
