// The one seam through which kiln's I/O modules (Archive, ImageStore, Runner, Builder) make
// system calls: every call returns its result or throws a `SystemCallError` that carries the
// call, what it was applied to and errno. EINTR is retried here and nowhere else.
import Diagnostics
import Glibc
import PluginAPI

/// A failed system call: which call, on what, and the errno it returned.
public struct SystemCallError: Error, CustomStringConvertible, Equatable, Hashable, Sendable {
    /// The call or operation (`open`, `mkdirat`, `create a temporary directory`).
    public var call: String
    /// What it was applied to: a path, usually.
    public var subject: String
    /// errno.
    public var code: Int32

    public init(call: String, subject: String, code: Int32) {
        self.call = call
        self.subject = subject
        self.code = code
    }

    /// A failure described by one phrase (`create a temporary directory in /tmp`).
    public init(operation: String, errno code: Int32) {
        self.init(call: operation, subject: "", code: code)
    }

    /// `open /etc/passwd: ENOENT (No such file or directory)`.
    public var description: String {
        subject.isEmpty ? "\(call): \(errnoText(code))" : "\(call) \(subject): \(errnoText(code))"
    }
}

/// Runs `body` until it stops failing with EINTR; throws the errno of any other failure. Works
/// for calls returning `int` and `ssize_t` alike.
@discardableResult
public func sys<R: BinaryInteger>(_ call: String, _ subject: @autoclosure () -> String, _ body: () -> R) throws(SystemCallError) -> R {
    while true {
        let r = body()
        if r >= 0 { return r }
        let e = errno
        if e == EINTR { continue }
        throw SystemCallError(call: call, subject: subject(), code: e)
    }
}

/// `sys` for a call described by one phrase (`open /etc/passwd in /root`).
@discardableResult
public func sys<R: BinaryInteger>(_ operation: @autoclosure () -> String, _ body: () -> R) throws(SystemCallError) -> R {
    try sys(operation(), "", body)
}

/// Writes all of `buffer` to `fd`, looping over short writes.
public func writeAll(_ fd: Int32, _ buffer: UnsafeRawBufferPointer, subject: @autoclosure () -> String) throws(SystemCallError) {
    guard var p = buffer.baseAddress else { return }
    var left = buffer.count
    while left > 0 {
        let n = try sys("write", subject()) { Glibc.write(fd, p, left) }
        p += n
        left -= n
    }
}

/// The names in the directory open at `fd` (without `.` and `..`), as the kernel's bytes (a
/// name that is not UTF-8 stays exact), sorted bytewise so that every walk is deterministic.
/// `fd` stays open; the listing uses a duplicate.
public func directoryNames(_ fd: Int32, subject: @autoclosure () -> String) throws(SystemCallError) -> [BytePath] {
    let dup = try sys("dup", subject()) { Glibc.dup(fd) }
    guard let dir = fdopendir(dup) else {
        let e = errno
        close(dup)
        throw SystemCallError(call: "fdopendir", subject: subject(), code: e)
    }
    defer { closedir(dir) }
    var names: [BytePath] = []
    while let ent = readdir(dir) {
        // d_name is a fixed-size C array imported as a tuple; it is NUL-terminated.
        let name = withUnsafeBytes(of: ent.pointee.d_name) { raw in BytePath(bytes: raw.prefix { $0 != 0 }) }
        if name != "." && name != ".." { names.append(name) }
    }
    return names.sorted()
}

/// `lstat` returning nil when the path does not exist.
public func lstatIfPresent(_ path: String) throws(SystemCallError) -> Glibc.stat? {
    var st = Glibc.stat()
    if lstat(path, &st) == 0 { return st }
    let e = errno
    if e == ENOENT { return nil }
    throw SystemCallError(call: "lstat", subject: path, code: e)
}

/// `fstatat(…, AT_SYMLINK_NOFOLLOW)` returning nil when the name does not exist.
public func fstatatIfPresent(_ dirfd: Int32, _ name: String, subject: @autoclosure () -> String) throws(SystemCallError) -> Glibc.stat? {
    var st = Glibc.stat()
    if fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 { return st }
    let e = errno
    if e == ENOENT { return nil }
    throw SystemCallError(call: "fstatat", subject: subject(), code: e)
}

/// The target of the symlink `name` in the directory `dirfd`.
public func readLinkAt(_ dirfd: Int32, _ name: String, subject: @autoclosure () -> String) throws(SystemCallError) -> String {
    var buf = [CChar](repeating: 0, count: 4096)
    let n = try sys("readlinkat", subject()) { readlinkat(dirfd, name, &buf, buf.count) }
    return String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// The target of the symlink at `path`, however long.
public func readLink(_ path: String) throws(SystemCallError) -> String {
    var cap = 256
    while true {
        var buf = [CChar](repeating: 0, count: cap)
        let n = try sys("readlink", path) { Glibc.readlink(path, &buf, cap) }
        if n < cap { return String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) }
        cap *= 4
    }
}

/// `st_mode` type bits. Spelled out because `S_IF*` is visible from several C modules here and
/// Swift reports the name as ambiguous; the values are fixed by the Linux ABI.
public enum ModeBits {
    public static let mask: UInt32 = 0o170000
    public static let socket: UInt32 = 0o140000
    public static let symlink: UInt32 = 0o120000
    public static let regular: UInt32 = 0o100000
    public static let block: UInt32 = 0o060000
    public static let directory: UInt32 = 0o040000
    public static let character: UInt32 = 0o020000
    public static let fifo: UInt32 = 0o010000

    /// True when `mode` (`st_mode`) is a directory's. A function of the mode rather than a member
    /// of `stat`: the C struct can reach Swift through more than one Clang module, and an
    /// extension on one of them is not always found on the other.
    public static func isDirectory(_ mode: UInt32) -> Bool { mode & mask == directory }
}

extension SystemCallError: DiagnosticCoded {
    /// ENOENT is "not found", EACCES/EPERM "permission"…: the presenter's exit code and wording.
    public var diagnosticCode: KilnError.Code { KilnError.code(errno: code) }
}
