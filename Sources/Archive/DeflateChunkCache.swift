// Compressed gzip chunks kept on disk between builds (`--cache-dir`): a layer rebuilt with most
// of its bytes unchanged (a big COPY where one file changed) compresses only the chunks that
// differ. `ChunkedGzip` deflates every chunk on its own from its input, the level and whether
// it is the last; the same three give the same bytes, so a chunk found here is exactly what
// deflating it again would produce and the blob's digest does not depend on the cache.
import Glibc
import PluginAPI
import PluginSupport

public final class DeflateChunkCache: Sendable {
    /// The directory chunks live in (`<cache-dir>/deflate`), one file per chunk named by its key.
    public let directory: String
    /// Past this many bytes, `prune` removes the least recently used chunks.
    public let limit: Int64

    public init(directory: String, limit: Int64 = 1 << 30) {
        self.directory = directory
        self.limit = limit
    }

    /// The key of a chunk: SHA-256 over its compressor (v2: libdeflate, no dictionary), level,
    /// place (last or not) and input.
    static func key(level: Int32, last: Bool, input: UnsafeRawBufferPointer) -> String {
        var hasher = SHA256Hasher()
        var header = [UInt8]("deflate-chunk-v2 \(level) \(last) \(input.count)\n".utf8)
        header.withUnsafeBytes { hasher.update($0) }
        hasher.update(input)
        return hasher.finalize().encoded
    }

    private func path(_ key: String) -> String { directory + "/" + key }

    /// The chunk's compressed bytes into `output` (grown as needed); their count, or nil when
    /// absent or unreadable. A hit refreshes the file's time for `prune`.
    func read(_ key: String, into output: inout [UInt8]) -> Int? {
        let fd = open(path(key), O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_size > 0, st.st_size < 64 << 20 else { return nil }
        let size = Int(st.st_size)
        if output.count < size { output = [UInt8](repeating: 0, count: size) }
        var done = 0
        while done < size {
            let n = output.withUnsafeMutableBytes { buffer in
                pread(fd, UnsafeMutableRawBufferPointer(rebasing: buffer[done...]).baseAddress, size - done, off_t(done))
            }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return nil }
            done += n
        }
        _ = futimens(fd, nil)
        return size
    }

    /// Stores a chunk (written to a private name, then renamed: a reader sees all or nothing).
    /// Failures are ignored: the cache only saves work.
    func write(_ key: String, _ bytes: UnsafeRawBufferPointer) {
        let temp = path(key) + ".\(getpid())-\(pthread_self())"
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return }
        var done = 0
        while done < bytes.count {
            let n = Glibc.write(fd, UnsafeRawBufferPointer(rebasing: bytes[done...]).baseAddress, bytes.count - done)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            done += n
        }
        close(fd)
        if done != bytes.count || rename(temp, path(key)) != 0 { unlink(temp) }
    }

    /// Creates the directory (private to root) if needed; false when it cannot be used.
    public func prepare() -> Bool {
        var st = stat()
        if stat(directory, &st) == 0 { return (st.st_mode & S_IFMT) == S_IFDIR }
        let parent = String(directory[..<(directory.lastIndex(of: "/") ?? directory.startIndex)])
        if !parent.isEmpty { mkdir(parent, 0o700) }
        return mkdir(directory, 0o700) == 0 || errno == EEXIST
    }

    /// Keeps the directory under `limit`: removes the chunks used longest ago, and the
    /// temporary files of writers that died.
    public func prune() {
        guard let dir = opendir(directory) else { return }
        var files: [(name: String, size: Int64, time: Int)] = []
        var total: Int64 = 0
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard name != ".", name != ".." else { continue }
            var st = stat()
            guard stat(directory + "/" + name, &st) == 0 else { continue }
            if name.contains("."), st.st_mtim.tv_sec < time(nil) - 3600 {
                unlink(directory + "/" + name)
                continue
            }
            files.append((name, Int64(st.st_size), st.st_mtim.tv_sec))
            total += Int64(st.st_size)
        }
        closedir(dir)
        guard total > limit else { return }
        for file in files.sorted(by: { $0.time < $1.time }) {
            guard total > limit / 2 else { break }
            if unlink(directory + "/" + file.name) == 0 { total -= file.size }
        }
    }
}
