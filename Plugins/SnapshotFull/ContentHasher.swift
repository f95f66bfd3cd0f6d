// Streams a file through SHA-256 with large reads and one reused buffer; the holes of sparse
// files are fed as zeros from memory instead of being read.
import Glibc
import PluginAPI
import PluginSupport

/// Hashes regular files. Not thread-safe: one per walk.
final class ContentHasher {
    /// 1 MiB: large enough that syscall overhead vanishes next to SHA-NI's ~1.5 GiB/s.
    private let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 4096)

    /// Zeros standing in for a sparse file's holes (calloc: the pages stay shared zero pages).
    /// SHA-256 still compresses every block (each depends on the previous chaining value, so
    /// nothing can be precomputed), but a hole costs hashing only: no page faults, no copies.
    private let zeros = UnsafeMutableRawBufferPointer(start: calloc(1 << 20, 1), count: 1 << 20)

    deinit {
        buffer.deallocate()
        free(zeros.baseAddress)
    }

    enum Error: Swift.Error, CustomStringConvertible {
        case cannotOpen(path: BytePath, errno: Int32)
        case cannotRead(path: BytePath, errno: Int32)

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
    func sha256(path: BytePath) throws -> (Digest, Int64)? {
        // O_NOFOLLOW: never hash a symlink's target. O_NONBLOCK: a FIFO swapped in after the
        // lstat must not block the open (it is then refused by the fstat check below).
        let fd = path.withCString { open($0, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC) }
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
        // Fewer allocated blocks than the size needs: the file has holes.
        if Int64(st.st_blocks) * 512 < Int64(st.st_size), let total = try hashSparse(fd, size: Int64(st.st_size), path: path, &hasher) {
            return (hasher.finalize(), total)
        }
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

    /// Hashes a sparse file segment by segment (SEEK_DATA/SEEK_HOLE): data is read, holes are
    /// zeros from memory. The digest is that of the bytes a read would return. Returns nil,
    /// having hashed nothing, when the file system cannot report holes (EINVAL).
    /// Linux's SEEK_DATA and SEEK_HOLE (<linux/fs.h>); Glibc exports them only under _GNU_SOURCE.
    static let seekData: Int32 = 3
    static let seekHole: Int32 = 4

    private func hashSparse(_ fd: Int32, size: Int64, path: BytePath, _ hasher: inout SHA256Hasher) throws -> Int64? {
        var position: Int64 = 0
        while position < size {
            var data = Int64(lseek(fd, off_t(position), Self.seekData))
            if data < 0 {
                guard errno == ENXIO else {
                    if errno == EINVAL && position == 0 { return nil }
                    throw Error.cannotRead(path: path, errno: errno)
                }
                data = size  // no data after `position`: the rest is a hole
            }
            data = min(data, size)
            feedZeros(data - position, &hasher)
            position = data
            guard position < size else { break }
            var hole = Int64(lseek(fd, off_t(position), Self.seekHole))
            if hole < 0 { hole = size }
            hole = min(hole, size)
            while position < hole {
                let want = Int(min(Int64(buffer.count), hole - position))
                let n = pread(fd, buffer.baseAddress, want, off_t(position))
                if n < 0 {
                    if errno == EINTR { continue }
                    throw Error.cannotRead(path: path, errno: errno)
                }
                // The file shrank while being hashed: what was read is what it holds.
                if n == 0 { return position }
                hasher.update(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
                position += Int64(n)
            }
        }
        return position
    }

    private func feedZeros(_ count: Int64, _ hasher: inout SHA256Hasher) {
        var left = count
        while left > 0 {
            let n = Int(min(Int64(zeros.count), left))
            hasher.update(UnsafeRawBufferPointer(rebasing: zeros[0..<n]))
            left -= Int64(n)
        }
    }
}
