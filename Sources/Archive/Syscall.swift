// The one seam through which this module makes system calls: every call either returns its
// result or throws a `SystemCallError` that carries errno and what was being done.
import Glibc

/// A failed system call: which call, on what, and the errno it returned.
struct SystemCallError: Error, CustomStringConvertible, Equatable {
    let call: String
    let subject: String
    let code: Int32

    var description: String {
        "\(call)(\(subject)) failed: \(String(cString: strerror(code))) (errno \(code))"
    }
}

/// Runs `body` until it stops failing with EINTR; throws the errno of any other failure. Works
/// for calls returning `int` and `ssize_t` alike.
@discardableResult
func sys<R: BinaryInteger>(_ call: String, _ subject: @autoclosure () -> String, _ body: () -> R) throws(SystemCallError) -> R {
    while true {
        let r = body()
        if r >= 0 { return r }
        let e = errno
        if e == EINTR { continue }
        throw SystemCallError(call: call, subject: subject(), code: e)
    }
}

/// Writes all of `buffer` to `fd`, looping over short writes.
func writeAll(_ fd: Int32, _ buffer: UnsafeRawBufferPointer, subject: @autoclosure () -> String) throws(SystemCallError) {
    guard var p = buffer.baseAddress else { return }
    var left = buffer.count
    while left > 0 {
        let n = try sys("write", subject()) { Glibc.write(fd, p, left) }
        p += n
        left -= n
    }
}

/// The names in the directory open at `fd` (without `.` and `..`), sorted bytewise so that
/// every walk is deterministic. `fd` stays open; the listing uses a duplicate.
func directoryNames(_ fd: Int32, subject: @autoclosure () -> String) throws(SystemCallError) -> [String] {
    let dup = try sys("dup", subject()) { Glibc.dup(fd) }
    guard let dir = fdopendir(dup) else {
        let e = errno
        close(dup)
        throw SystemCallError(call: "fdopendir", subject: subject(), code: e)
    }
    defer { closedir(dir) }
    var names: [String] = []
    while let ent = readdir(dir) {
        // d_name is a fixed-size C array imported as a tuple; it is NUL-terminated.
        let name = withUnsafeBytes(of: ent.pointee.d_name) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        if name != "." && name != ".." { names.append(name) }
    }
    return names.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
}

/// `lstat` returning nil when the path does not exist.
func lstatIfPresent(_ path: String) throws(SystemCallError) -> stat? {
    var st = stat()
    if lstat(path, &st) == 0 { return st }
    let e = errno
    if e == ENOENT { return nil }
    throw SystemCallError(call: "lstat", subject: path, code: e)
}

/// `fstatat(…, AT_SYMLINK_NOFOLLOW)` returning nil when the name does not exist.
func fstatatIfPresent(_ dirfd: Int32, _ name: String, subject: @autoclosure () -> String) throws(SystemCallError) -> stat? {
    var st = stat()
    if fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 { return st }
    let e = errno
    if e == ENOENT { return nil }
    throw SystemCallError(call: "fstatat", subject: subject(), code: e)
}

extension stat {
    var fileTypeBits: UInt32 { st_mode & ModeBits.mask }
    var isDirectory: Bool { fileTypeBits == ModeBits.directory }
}

/// `st_mode` type bits. Spelled out because `S_IF*` is visible from several C modules here and
/// Swift reports the name as ambiguous; the values are fixed by the Linux ABI.
enum ModeBits {
    static let mask: UInt32 = 0o170000
    static let socket: UInt32 = 0o140000
    static let symlink: UInt32 = 0o120000
    static let regular: UInt32 = 0o100000
    static let block: UInt32 = 0o060000
    static let directory: UInt32 = 0o040000
    static let character: UInt32 = 0o020000
    static let fifo: UInt32 = 0o010000
}
