import PluginAPI
import PluginSupport

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// The digest of what a COPY or ADD wrote: each entry's name in the image, type, permission
/// bits, owner and content (a symlink's target), never its times, so a fresh checkout of the
/// same sources has the same digest.
public enum ContentDigest {
    /// One written path: its name in the image and the host file holding it, with the owner and
    /// permissions the layer will record when they differ from the host file's.
    public struct Entry: Sendable {
        public var name: BytePath
        public var hostPath: BytePath
        public var uid: UInt32?
        public var gid: UInt32?
        public var permissions: UInt32?

        public init(name: BytePath, hostPath: BytePath, uid: UInt32? = nil, gid: UInt32? = nil, permissions: UInt32? = nil) {
            self.name = name
            self.hostPath = hostPath
            self.uid = uid
            self.gid = gid
            self.permissions = permissions
        }
    }

    /// A file that could not be read while hashing.
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public var path: BytePath
        public var errno: Int32
        public var description: String { "cannot read \(path) for the cache key: \(String(cString: strerror(errno)))" }
    }

    /// The digest of `entries`, in name order (directory reading order differs between file systems).
    /// - Throws: `Failure` when an entry cannot be read.
    public static func of(_ entries: [Entry]) throws -> Digest {
        var hasher = SHA256Hasher()
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        for entry in entries.sorted(by: { $0.name.bytes.lexicographicallyPrecedes($1.name.bytes) }) {
            var st = stat()
            guard entry.hostPath.withCString({ lstat($0, &st) }) == 0 else { throw Failure(path: entry.hostPath, errno: errno) }
            let type = st.st_mode & S_IFMT
            let mode = entry.permissions ?? UInt32(st.st_mode & 0o7777)
            hasher.update(entry.name.bytes)
            let header = "\u{0}\(type)\u{0}\(mode)\u{0}\(entry.uid ?? st.st_uid)\u{0}\(entry.gid ?? st.st_gid)\u{0}"
            hasher.update(Array(header.utf8))
            switch type {
            case S_IFREG:
                hasher.update(Array("\(st.st_size)\u{0}".utf8))
                let fd = entry.hostPath.withCString { open($0, O_RDONLY | O_CLOEXEC | O_NOFOLLOW) }
                guard fd >= 0 else { throw Failure(path: entry.hostPath, errno: errno) }
                defer { close(fd) }
                while true {
                    let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                    if n < 0 {
                        if errno == EINTR { continue }
                        throw Failure(path: entry.hostPath, errno: errno)
                    }
                    if n == 0 { break }
                    buffer.withUnsafeBytes { hasher.update(UnsafeRawBufferPointer(rebasing: $0[..<n])) }
                }
            case S_IFLNK:
                var target = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
                let n = target.withUnsafeMutableBufferPointer { buffer -> Int in
                    guard let base = buffer.baseAddress else { return -1 }
                    return entry.hostPath.withCString { readlink($0, base, buffer.count) }
                }
                guard n >= 0 else { throw Failure(path: entry.hostPath, errno: errno) }
                hasher.update(target[..<n].map { UInt8(bitPattern: $0) })
            case S_IFCHR, S_IFBLK:
                hasher.update(Array("\(st.st_rdev)".utf8))
            default:
                break
            }
            hasher.update([0])
        }
        return hasher.finalize()
    }
}
