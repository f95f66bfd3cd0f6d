// A temporary directory tree for file system tests, with helpers that create every kind of
// entry a snapshot must see (files, dirs, symlinks, hard links, FIFOs, devices, xattrs) and set
// exact times and owners. Calls the C library directly so each helper does exactly one thing.
import Foundation
import Glibc
import PluginAPI
import PluginSupport

/// A directory under `$TMPDIR` (default `/tmp`), removed by `remove()`.
public struct TemporaryTree: Sendable {
    /// Absolute path of the directory.
    public let path: String

    public enum Error: Swift.Error, CustomStringConvertible {
        case failed(String, path: String, errno: Int32)
        public var description: String {
            switch self {
            case .failed(let op, let path, let e): return "\(op) \(path) failed: \(String(cString: strerror(e))) (errno \(e))"
            }
        }
    }

    /// Creates a fresh directory named `<prefix>.XXXXXX`.
    public init(prefix: String = "kiln-test") throws {
        let base = ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        var template = Array("\(base)/\(prefix).XXXXXX".utf8CString)
        guard let p = mkdtemp(&template) else { throw Error.failed("mkdtemp", path: base, errno: errno) }
        path = String(cString: p)
    }

    /// Removes the tree (after unmounting nothing: tests unmount what they mount).
    public func remove() { try? FileManager.default.removeItem(atPath: path) }

    /// The absolute path of `relative`.
    public func url(_ relative: String) -> String { relative.isEmpty ? path : path + "/" + relative }

    private func check(_ rc: Int32, _ op: String, _ relative: String) throws {
        if rc != 0 { throw Error.failed(op, path: url(relative), errno: errno) }
    }

    /// Writes `bytes` to `relative` (created or truncated in place, keeping its inode).
    @discardableResult
    public func write(_ relative: String, _ bytes: [UInt8], mode: mode_t = 0o644) throws -> String {
        let fd = open(url(relative), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard fd >= 0 else { throw Error.failed("open", path: url(relative), errno: errno) }
        defer { close(fd) }
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { throw Error.failed("write", path: url(relative), errno: errno) }
            offset += n
        }
        return url(relative)
    }

    @discardableResult
    public func write(_ relative: String, _ text: String, mode: mode_t = 0o644) throws -> String {
        try write(relative, Array(text.utf8), mode: mode)
    }

    public func makeDirectory(_ relative: String, mode: mode_t = 0o755) throws {
        try check(mkdir(url(relative), mode), "mkdir", relative)
    }

    public func symlink(_ relative: String, to target: String) throws {
        try check(Glibc.symlink(target, url(relative)), "symlink", relative)
    }

    public func hardlink(_ relative: String, to existing: String) throws {
        try check(link(url(existing), url(relative)), "link", relative)
    }

    public func fifo(_ relative: String, mode: mode_t = 0o644) throws {
        try check(mkfifo(url(relative), mode), "mkfifo", relative)
    }

    /// A character (or block) device node; needs CAP_MKNOD (root).
    public func device(_ relative: String, major: UInt32, minor: UInt32, block: Bool = false) throws {
        let dev = (UInt64(major & 0xfff) << 8) | UInt64(minor & 0xff) | (UInt64(minor & ~0xff) << 12) | (UInt64(major & ~0xfff) << 32)
        try check(mknod(url(relative), mode_t(block ? 0o060000 : 0o020000) | 0o600, dev_t(dev)), "mknod", relative)
    }

    /// chmod, including setuid/setgid/sticky bits.
    public func chmod(_ relative: String, _ mode: mode_t) throws {
        try check(Glibc.chmod(url(relative), mode), "chmod", relative)
    }

    /// lchown (the entry itself, not a symlink's target); needs root for other owners.
    public func chown(_ relative: String, uid: uid_t, gid: gid_t) throws {
        try check(lchown(url(relative), uid, gid), "lchown", relative)
    }

    /// Sets atime and mtime of the entry itself (utimensat with AT_SYMLINK_NOFOLLOW). ctime
    /// moves to "now": the kernel gives user space no way to restore it.
    public func setModificationTime(_ relative: String, _ time: FileTime) throws {
        var times = [
            timespec(tv_sec: Int(time.seconds), tv_nsec: Int(time.nanoseconds)),
            timespec(tv_sec: Int(time.seconds), tv_nsec: Int(time.nanoseconds)),
        ]
        try check(utimensat(AT_FDCWD, url(relative), &times, AT_SYMLINK_NOFOLLOW), "utimensat", relative)
    }

    /// lstat of the entry.
    public func lstat(_ relative: String) throws -> FileRecord {
        var st = stat()
        try check(Glibc.lstat(url(relative), &st), "lstat", relative)
        return FileRecord(stat: st, path: BytePath(relative))
    }

    public func remove(_ relative: String) throws {
        try FileManager.default.removeItem(atPath: url(relative))
    }

    public func rename(_ from: String, to: String) throws {
        try check(Glibc.rename(url(from), url(to)), "rename", from)
    }

    /// Sets an extended attribute on the entry itself.
    public func setXattr(_ relative: String, _ name: String, _ value: [UInt8]) throws {
        try ExtendedAttributes.set(name, to: value, path: url(relative))
    }

    public func removeXattr(_ relative: String, _ name: String) throws {
        try ExtendedAttributes.remove(name, path: url(relative))
    }
}

/// Facts about the test process's privileges, for `.enabled(if:)` on tests that need them.
public enum TestPrivileges {
    /// True when running as root (mknod, chown to other users, trusted.* xattrs, setcap, mount).
    public static var isRoot: Bool { geteuid() == 0 }

    /// True on CI (`CI=true`), where a test must fail rather than skip when a need is unmet.
    public static var isCI: Bool {
        let v = ProcessInfo.processInfo.environment["CI"]?.lowercased()
        return v == "true" || v == "1"
    }

    /// For `.enabled(if:)`: run when root, and always on CI so a missing privilege fails loudly.
    public static var rootOrCI: Bool { isRoot || isCI }
}
