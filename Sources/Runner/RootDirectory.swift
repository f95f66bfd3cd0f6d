// Paths inside a build root, always resolved by the kernel inside it (openat2 RESOLVE_IN_ROOT):
// the root is an untrusted image, and `/etc -> /host/etc` must not reach the host.
import CKilnSys
import CRunner
import Glibc

/// An errno with the operation that produced it, for messages like "open /etc/passwd: EACCES".
struct SystemCallError: Swift.Error, CustomStringConvertible {
    var operation: String
    var errno: Int32

    var description: String { "\(operation): \(errnoText(errno))" }
}

/// "EPERM (Operation not permitted)".
func errnoText(_ err: Int32) -> String {
    let name = kiln_errno_name(err).map { String(cString: $0) } ?? "errno \(err)"
    return "\(name) (\(String(cString: strerror(err))))"
}

/// Runs a system call; retries on EINTR; throws its errno with `operation` attached.
@discardableResult
func syscall<T: BinaryInteger>(_ operation: @autoclosure () -> String, _ call: () -> T) throws(SystemCallError) -> T {
    while true {
        let result = call()
        if result >= 0 { return result }
        let err = kiln_errno()
        if err != EINTR { throw SystemCallError(operation: operation(), errno: err) }
    }
}

/// An open build root.
final class RootDirectory {
    let path: String
    let fd: Int32

    init(path: String) throws(SystemCallError) {
        self.path = path
        fd = try syscall("open the build root \(path)") { Glibc.open(path, KILN_O_PATH | O_DIRECTORY | O_CLOEXEC) }
    }

    deinit { close(fd) }

    /// Opens `inner` (absolute or relative, always inside the root), following symlinks inside it.
    func open(_ inner: String, _ flags: Int32, mode: mode_t = 0) throws(SystemCallError) -> Int32 {
        let resolve = kiln_resolve_in_root() | kiln_resolve_no_magiclinks()
        return try syscall("open \(inner) in \(path)") {
            kiln_openat2(fd, inner, UInt64(flags | O_CLOEXEC), UInt64(mode), resolve)
        }
    }

    /// The stat of `inner`, or nil when it does not exist.
    func stat(_ inner: String) throws(SystemCallError) -> Glibc.stat? {
        let file: Int32
        do {
            file = try open(inner, KILN_O_PATH)
        } catch  where error.errno == ENOENT || error.errno == ENOTDIR {
            return nil
        }
        defer { close(file) }
        var st = Glibc.stat()
        try syscall("stat \(inner) in \(path)") { fstat(file, &st) }
        return st
    }

    /// The whole content of the regular file `inner`, or nil when it does not exist.
    func read(_ inner: String) throws(SystemCallError) -> [UInt8]? {
        let file: Int32
        do {
            file = try open(inner, O_RDONLY)
        } catch  where error.errno == ENOENT || error.errno == ENOTDIR {
            return nil
        }
        defer { close(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = try syscall("read \(inner) in \(path)") {
                chunk.withUnsafeMutableBytes { Glibc.read(file, $0.baseAddress, $0.count) }
            }
            if count == 0 { return bytes }
            bytes.append(contentsOf: chunk[0..<count])
        }
    }
}

/// `/a/b/c` → ["a", "b", "c"]; `.` components dropped (`..` stays: openat2 contains it).
func pathComponents(_ path: String) -> [String] {
    path.split(separator: "/").map(String.init).filter { $0 != "." }
}
