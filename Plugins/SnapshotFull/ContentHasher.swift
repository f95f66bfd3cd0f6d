// Streams a file through SHA-256 with large reads and one reused buffer.
import Glibc
import PluginAPI
import PluginSupport

/// Hashes regular files. Not thread-safe: one per walk.
final class ContentHasher {
    /// 1 MiB: large enough that syscall overhead vanishes next to SHA-NI's ~1.5 GiB/s.
    private let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 4096)

    deinit { buffer.deallocate() }

    enum Error: Swift.Error, CustomStringConvertible {
        case cannotOpen(path: String, errno: Int32)
        case cannotRead(path: String, errno: Int32)

        var description: String {
            switch self {
            case .cannotOpen(let path, let e):
                return
                    "cannot open \(path) to hash it: \(String(cString: strerror(e))) (errno \(e)); add it to the ignore list if it is not part of the image"
            case .cannotRead(let path, let e):
                return "cannot read \(path) to hash it: \(String(cString: strerror(e))) (errno \(e))"
            }
        }
    }

    /// The digest and length of the regular file at `path`; nil when it vanished or stopped
    /// being a regular file since the walk saw it (the next snapshot will see what it became).
    func sha256(path: String) throws -> (Digest, Int64)? {
        // O_NOFOLLOW: never hash a symlink's target. O_NONBLOCK: a FIFO swapped in after the
        // lstat must not block the open (it is then refused by the fstat check below).
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else {
            let e = errno
            if e == ENOENT || e == ELOOP || e == ENOTDIR { return nil }
            throw Error.cannotOpen(path: path, errno: e)
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_mode & 0o170000 == 0o100000 else { return nil }
        _ = posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL)
        var hasher = SHA256Hasher()
        var total: Int64 = 0
        while true {
            let n = read(fd, buffer.baseAddress, buffer.count)
            if n < 0 {
                if errno == EINTR { continue }
                throw Error.cannotRead(path: path, errno: errno)
            }
            if n == 0 { break }
            hasher.update(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            total += Int64(n)
        }
        return (hasher.finalize(), total)
    }
}
