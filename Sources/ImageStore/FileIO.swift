import PluginAPI
import PluginSupport
import SystemCalls

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// File helpers of ImageStore, over the one system-call seam (SystemCalls: EINTR retried, errors
/// name the call and the path).
enum FileIO {
    static let chunkSize = 1 << 20

    static func exists(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0
    }

    static func size(of path: String) throws -> Int64 {
        var st = stat()
        try sys("stat", path) { stat(path, &st) }
        return Int64(st.st_size)
    }

    /// `mkdir -p`: creates `path` and its missing parents (mode 0755).
    static func makeDirectories(_ path: String) throws {
        if path.isEmpty || exists(path) { return }
        let parent = directoryName(path)
        if parent != path { try makeDirectories(parent) }
        if mkdir(path, 0o755) != 0, Glibc.errno != EEXIST {
            throw SystemCallError(call: "mkdir", subject: path, code: Glibc.errno)
        }
    }

    static func directoryName(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    static func openForReading(_ path: String) throws -> Int32 {
        try sys("open", path) { open(path, O_RDONLY | O_CLOEXEC) }
    }

    static func readAll(_ path: String) throws -> [UInt8] {
        let fd = try openForReading(path)
        defer { close(fd) }
        var out = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = try buffer.withUnsafeMutableBytes { raw in
                try sys("read", path) { read(fd, raw.baseAddress, raw.count) }
            }
            if n == 0 { return out }
            out.append(contentsOf: buffer[0..<n])
        }
    }

    static func writeAll(fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws {
        guard let base = bytes.baseAddress else { return }
        var offset = 0
        while offset < bytes.count {
            let n = try sys("write", path) { write(fd, base + offset, bytes.count - offset) }
            offset += n
        }
    }

    /// Calls `body` with successive chunks of the file at `path`.
    static func forEachChunk(of path: String, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        let fd = try openForReading(path)
        defer { close(fd) }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let n = try sys("read", path) { read(fd, buffer.baseAddress, chunkSize) }
            if n == 0 { return }
            try body(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
        }
    }

    /// SHA-256 and size of a file, read in chunks.
    static func digestAndSize(of path: String) throws -> (Digest, Int64) {
        var hasher = SHA256Hasher()
        var size: Int64 = 0
        try forEachChunk(of: path) { chunk in
            hasher.update(chunk)
            size += Int64(chunk.count)
        }
        return (hasher.finalize(), size)
    }

    /// A new temporary file in `directory`; the caller renames or unlinks it.
    static func makeTemporaryFile(in directory: String) throws -> (fd: Int32, path: String) {
        var template = Array((directory + "/.tmp-XXXXXX").utf8CString)
        let fd = try template.withUnsafeMutableBufferPointer { buffer -> Int32 in
            guard let base = buffer.baseAddress else { return -1 }
            return try sys("mkstemp", directory) { mkstemp(base) }
        }
        let path = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return (fd, path)
    }

    /// Replaces `path` with `bytes` atomically (temporary file in the same directory, then
    /// rename), so a reader sees the old file or the new one, never a torn one. Mode 0644.
    static func writeAtomically(_ bytes: [UInt8], to path: String) throws {
        let (fd, temporary) = try makeTemporaryFile(in: directoryName(path))
        do {
            try bytes.withUnsafeBytes { try writeAll(fd: fd, $0, path: temporary) }
            try sys("fchmod", temporary) { fchmod(fd, 0o644) }
            close(fd)
            try sys("rename", path) { rename(temporary, path) }
        } catch {
            close(fd)
            unlink(temporary)
            throw error
        }
    }

    /// Copies `source` to `destination` through a temporary file and a rename. Mode 0644.
    static func copyAtomically(from source: String, to destination: String) throws {
        let (fd, temporary) = try makeTemporaryFile(in: directoryName(destination))
        do {
            try forEachChunk(of: source) { try writeAll(fd: fd, $0, path: temporary) }
            try sys("fchmod", temporary) { fchmod(fd, 0o644) }
            close(fd)
            try sys("rename", destination) { rename(temporary, destination) }
        } catch {
            close(fd)
            unlink(temporary)
            throw error
        }
    }
}
