// The one in-root path resolver: a directory tree reached only through a descriptor of its
// root, every path resolved by the kernel with openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS),
// so `..` and symlinks (absolute or relative, planted by an image) can never lead outside.
// Extraction, RUN set-up and the builder's file operations all go through it.
import CKilnSys
import Glibc
import PluginAPI

/// An open root directory and the operations that stay inside it.
public final class RootedDirectory: @unchecked Sendable {
    public let path: String
    public let fd: Int32

    /// The root as the kernel names it (symlinks resolved), to map descriptors back to paths.
    private let realPath: BytePath?

    private static let resolve = kiln_resolve_in_root() | kiln_resolve_no_magiclinks()

    public init(path: String) throws(SystemCallError) {
        self.path = path
        let fd = try sys("open", path) { Glibc.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        self.fd = fd
        realPath = try? readLink(BytePath("/proc/self/fd/\(fd)"))
    }

    deinit { close(fd) }

    /// Opens `inner` (absolute or relative, always inside the root), following symlinks inside
    /// it. The caller closes the result.
    public func open(_ inner: String, _ flags: Int32, mode: mode_t = 0) throws(SystemCallError) -> Int32 {
        try sys("open", "\(inner) in \(path)") {
            kiln_openat2(fd, inner, UInt64(flags | O_CLOEXEC), UInt64(mode), Self.resolve)
        }
    }

    /// The stat of `inner`, or nil when it does not exist.
    public func stat(_ inner: String) throws(SystemCallError) -> Glibc.stat? {
        let file: Int32
        do {
            file = try open(inner, Self.pathOnly)
        } catch  where error.code == ENOENT || error.code == ENOTDIR {
            return nil
        }
        defer { close(file) }
        var st = Glibc.stat()
        try sys("fstat", "\(inner) in \(path)") { fstat(file, &st) }
        return st
    }

    /// The whole content of the regular file `inner`, or nil when it does not exist.
    public func read(_ inner: String) throws(SystemCallError) -> [UInt8]? {
        let file: Int32
        do {
            file = try open(inner, O_RDONLY)
        } catch  where error.code == ENOENT || error.code == ENOTDIR {
            return nil
        }
        defer { close(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = try sys("read", "\(inner) in \(path)") {
                chunk.withUnsafeMutableBytes { Glibc.read(file, $0.baseAddress, $0.count) }
            }
            if count == 0 { return bytes }
            bytes.append(contentsOf: chunk[0..<count])
        }
    }

    /// Where the directory open at `dirfd` really is, relative to the root ("" for the root),
    /// or nil when /proc is not mounted. A symlink planted by a layer can make a name resolve
    /// into another directory; callers judging paths (an ignore list) must use the resolved one.
    public func relativePath(of dirfd: Int32) -> BytePath? {
        guard let realPath, let real = try? readLink(BytePath("/proc/self/fd/\(dirfd)")) else { return nil }
        if real == realPath { return .empty }
        let prefix = realPath == "/" ? realPath : realPath + "/"
        return real.hasPrefix(prefix) ? BytePath(bytes: real.bytes.dropFirst(prefix.bytes.count)) : nil
    }

    /// Opens the directory at `rel` (components joined by `/`, empty for the root) inside the
    /// root. With `create`, missing directories are made (0755, root-owned) one by one; a
    /// dangling symlink on the way is followed the way the kernel would inside the root (its
    /// target is created), at most 40 times. The caller closes the result.
    public func openDirectory(_ rel: String, create: Bool) throws(SystemCallError) -> Int32 {
        try openDirectory(BytePath(rel), create: create)
    }

    /// `openDirectory` for a path of the kernel's bytes (names read from disk or a tar).
    public func openDirectory(_ rel: BytePath, create: Bool) throws(SystemCallError) -> Int32 {
        if rel.isEmpty { return try sys("dup", path) { dup(fd) } }
        do {
            return try openat2Retrying(rel)
        } catch  where error.code == ENOENT && create {
            return try createDirectories(rel.components, hops: 0)
        }
    }

    private func createDirectories(_ parts: [BytePath], hops: Int) throws(SystemCallError) -> Int32 {
        var parent = try sys("dup", path) { dup(fd) }
        defer { close(parent) }
        var prefix: [BytePath] = []
        for (i, part) in parts.enumerated() where !part.isEmpty && part != "." {
            let here = BytePath(joining: prefix + [part])
            let next: Int32
            do {
                next = try openat2Retrying(here)
            } catch  where error.code == ENOENT {
                // mkdirat on a single name never follows anything, and `parent` was itself
                // resolved inside the root: the new directory lands inside the root.
                if part.withCString({ mkdirat(parent, $0, 0o755) }) != 0 && errno != EEXIST {
                    throw SystemCallError(call: "mkdirat", subject: here.description, code: errno)
                }
                do {
                    next = try openat2Retrying(here)
                } catch  where error.code == ENOENT {
                    // `part` is a dangling symlink: continue from its target, inside the root.
                    guard hops < 40 else { throw SystemCallError(call: "openat2", subject: here.description, code: ELOOP) }
                    let target = try readLinkAt(parent, part, subject: here.description)
                    let base = target.hasPrefix("/") ? [] : prefix
                    let rest = base + target.components + parts[(i + 1)...]
                    return try createDirectories(rest, hops: hops + 1)
                }
            }
            close(parent)
            parent = next
            prefix.append(part)
        }
        return try sys("dup", BytePath(joining: parts).description) { dup(parent) }
    }

    /// openat2 of a directory inside the root; EAGAIN (a concurrent rename) is retried.
    private func openat2Retrying(_ rel: BytePath) throws(SystemCallError) -> Int32 {
        var attempts = 0
        while true {
            let r = rel.withCString { kiln_openat2(fd, $0, UInt64(O_RDONLY | O_DIRECTORY | O_CLOEXEC), 0, Self.resolve) }
            if r >= 0 { return r }
            let e = kiln_errno()
            if (e == EAGAIN || e == EINTR) && attempts < 16 {
                attempts += 1
                continue
            }
            throw SystemCallError(call: "openat2", subject: rel.description, code: e)
        }
    }

    /// `O_PATH`: open for fstat only (its value is fixed by the Linux ABI; Glibc does not export it).
    public static let pathOnly: Int32 = 0o10000000
}

/// `/a/b/c` → ["a", "b", "c"]; `.` components dropped (`..` stays: openat2 contains it).
public func pathComponents(_ path: String) -> [String] {
    path.split(separator: "/").map(String.init).filter { $0 != "." }
}

/// "ENOENT (No such file or directory)".
public func errnoText(_ code: Int32) -> String {
    let name = kiln_errno_symbol(code).map { String(cString: $0) } ?? "errno \(code)"
    return "\(name) (\(String(cString: strerror(code))))"
}

extension RootedDirectory {
    /// Resolves `path` inside the root the way the kernel would inside a chroot: every symlink
    /// among the components is followed (the last one too when `followLast`), absolute targets
    /// and `..` are taken relative to the root and never climb above it (the securejoin rule).
    /// Returns the relative path of what `path` names, which may not exist yet.
    ///
    /// Each component is examined with `fstatat`/`readlinkat` relative to the root's descriptor,
    /// below components already resolved to real directories, so no symlink is ever followed by
    /// the host. The result is a path: act on it while nothing else writes to the root (the
    /// builder, between RUN steps); where an untrusted process may be writing, use `open`.
    /// - Throws: `SystemCallError` with ELOOP after 40 symlinks, or the errno of a failed stat.
    public func resolve(_ path: String, followLast: Bool = true) throws(SystemCallError) -> String {
        // Names met on the way (symlink targets) are resolved as bytes; only the result is text.
        try resolve(BytePath(path), followLast: followLast).lossyString
    }

    /// `resolve` for a path of the kernel's bytes: components and symlink targets that are not
    /// UTF-8 are followed exactly.
    public func resolve(_ path: BytePath, followLast: Bool = true) throws(SystemCallError) -> BytePath {
        var pending = Array(path.components.filter { $0 != "." }.reversed())
        var resolved: [BytePath] = []
        var hops = 0
        while let part = pending.popLast() {
            if part == ".." {
                if !resolved.isEmpty { resolved.removeLast() }
                continue
            }
            let candidate = BytePath(joining: resolved + [part])
            let isLast = pending.isEmpty
            var st = Glibc.stat()
            // Absent (ENOENT) or below a non-directory (ENOTDIR): the rest is taken as written;
            // whoever acts on the result gets the precise error.
            let present = candidate.withCString { fstatat(fd, $0, &st, AT_SYMLINK_NOFOLLOW) } == 0
            if !present {
                let e = errno
                if e != ENOENT, e != ENOTDIR { throw SystemCallError(call: "fstatat", subject: candidate.description, code: e) }
            }
            if present, st.st_mode & ModeBits.mask == ModeBits.symlink, !isLast || followLast {
                hops += 1
                guard hops <= 40 else { throw SystemCallError(call: "resolve", subject: path.description, code: ELOOP) }
                let target = try readLinkAt(fd, candidate, subject: candidate.description)
                if target.hasPrefix("/") { resolved = [] }
                pending.append(contentsOf: target.components.filter { $0 != "." }.reversed())
                continue
            }
            resolved.append(part)
        }
        return BytePath(joining: resolved)
    }
}
