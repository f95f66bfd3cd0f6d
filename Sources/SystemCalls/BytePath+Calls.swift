// The system calls kiln makes on names read from disk or from a tar, taking `BytePath`s so that
// a name that is not UTF-8 reaches the kernel exactly as it was read (a Swift `String` would
// have replaced its bad bytes with U+FFFD and named another file).
import Glibc
import PluginAPI

/// `lstat` of `path` (not following a final symlink), nil when it does not exist.
public func lstatIfPresent(_ path: BytePath) throws(SystemCallError) -> Glibc.stat? {
    var st = Glibc.stat()
    if path.withCString({ lstat($0, &st) }) == 0 { return st }
    let e = errno
    if e == ENOENT { return nil }
    throw SystemCallError(call: "lstat", subject: path.description, code: e)
}

/// `fstatat(…, AT_SYMLINK_NOFOLLOW)` of the name `name` in `dirfd`, nil when it does not exist.
public func fstatatIfPresent(_ dirfd: Int32, _ name: BytePath, subject: @autoclosure () -> String) throws(SystemCallError)
    -> Glibc.stat?
{
    var st = Glibc.stat()
    if name.withCString({ fstatat(dirfd, $0, &st, AT_SYMLINK_NOFOLLOW) }) == 0 { return st }
    let e = errno
    if e == ENOENT { return nil }
    throw SystemCallError(call: "fstatat", subject: subject(), code: e)
}

/// The target of the symlink at `path` (any length), as the kernel's bytes.
public func readLink(_ path: BytePath) throws(SystemCallError) -> BytePath {
    try path.withCString { (c: UnsafePointer<CChar>) throws(SystemCallError) -> BytePath in
        try readLinkBytes(subject: path.description) { Glibc.readlink(c, $0, $1) }
    }
}

/// The target of the symlink `name` in the directory `dirfd`, as the kernel's bytes.
public func readLinkAt(_ dirfd: Int32, _ name: BytePath, subject: @autoclosure () -> String) throws(SystemCallError) -> BytePath {
    try name.withCString { (c: UnsafePointer<CChar>) throws(SystemCallError) -> BytePath in
        try readLinkBytes(subject: subject()) { readlinkat(dirfd, c, $0, $1) }
    }
}

private func readLinkBytes(subject: @autoclosure () -> String, _ call: (UnsafeMutablePointer<CChar>, Int) -> Int) throws(SystemCallError)
    -> BytePath
{
    var cap = 256
    while true {
        var buf = [CChar](repeating: 0, count: cap)
        let n = try sys("readlink", subject()) { buf.withUnsafeMutableBufferPointer { call($0.baseAddress.unsafelyUnwrapped, cap) } }
        if n < cap { return BytePath(bytes: buf[0..<n].lazy.map { UInt8(bitPattern: $0) }) }
        cap *= 4
    }
}

/// Runs a system call on `path` as a C string, retrying EINTR (`sys` for byte paths).
@discardableResult
public func sys<R: BinaryInteger>(_ call: String, _ path: BytePath, _ body: (UnsafePointer<CChar>) -> R) throws(SystemCallError) -> R {
    try path.withCString { (c: UnsafePointer<CChar>) throws(SystemCallError) -> R in try sys(call, path.description) { body(c) } }
}
