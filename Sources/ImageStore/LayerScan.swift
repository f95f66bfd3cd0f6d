import Archive
import CArchive
import PluginAPI
import PluginSupport
import SystemCalls

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// What one streaming pass over a layer blob learns: the blob's digest and size (as stored) and
/// its diff ID and size once decompressed.
struct LayerScan: Sendable, Hashable {
    var digest: Digest
    var size: Int64
    var diffID: Digest
    var uncompressedSize: Int64

    enum Error: Swift.Error, CustomStringConvertible, Sendable, Hashable {
        case archive(operation: String, path: String, message: String)
        case wrongCompression(path: String, expected: Compression)

        var description: String {
            switch self {
            case .archive(let operation, let path, let message):
                return "\(operation) of layer \(path) failed: \(message)"
            case .wrongCompression(let path, let expected):
                return "layer \(path) is not \(expected)-compressed as its media type says"
            }
        }
    }

    /// Reads the file at `path` once: the raw bytes are hashed as libarchive pulls them, and the
    /// decompressed stream (`compression` decides which filter is allowed) is hashed too and,
    /// when given, passed to `sink` chunk by chunk. Nothing is held beyond one chunk.
    static func scan(
        path: String, compression: Compression,
        sink: (UnsafeRawBufferPointer) throws -> Void = { _ in }
    ) throws -> LayerScan {
        let source = try RawSource(path: path)
        guard let archive = archive_read_new() else {
            throw Error.archive(operation: "archive_read_new", path: path, message: "out of memory")
        }
        defer { archive_read_free(archive) }
        func check(_ operation: String, _ result: Int32) throws {
            do {
                try checkArchive(result, archive, operation)
            } catch {
                throw Error.archive(operation: operation, path: path, message: error.message)
            }
        }
        // Only the filter the media type names may bid, so a mislabelled blob is caught below
        // instead of being silently decompressed.
        switch compression {
        case .gzip: try check("enable gzip", archive_read_support_filter_gzip(archive))
        case .zstd: try check("enable zstd", archive_read_support_filter_zstd(archive))
        case .none: break
        }
        try check("enable raw format", archive_read_support_format_raw(archive))
        // raw refuses zero bytes; "empty" takes them, so an empty (decompressed) blob hashes too.
        try check("enable empty format", archive_read_support_format_empty(archive))
        let context = Unmanaged.passUnretained(source).toOpaque()
        try check("open", archive_read_open(archive, context, nil, rawSourceRead, nil))

        var diffHasher = SHA256Hasher()
        var uncompressed: Int64 = 0
        var entry: OpaquePointer?
        let header = archive_read_next_header(archive, &entry)
        if compression != .none {
            let expected = compression == .gzip ? ARCHIVE_FILTER_GZIP : ARCHIVE_FILTER_ZSTD
            guard archive_filter_code(archive, 0) == expected else {
                throw Error.wrongCompression(path: path, expected: compression)
            }
        }
        if header != ARCHIVE_EOF {
            try check("read header", header)
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: FileIO.chunkSize, alignment: 16)
            defer { buffer.deallocate() }
            while true {
                let n = archive_read_data(archive, buffer.baseAddress, buffer.count)
                if n == 0 { break }
                if n < 0 {
                    // Even a warning here leaves no data to hash: treat every negative result as fatal.
                    let message = archiveMessage(archive)
                    throw Error.archive(operation: "decompress", path: path, message: message)
                }
                let chunk = UnsafeRawBufferPointer(rebasing: buffer[0..<n])
                diffHasher.update(chunk)
                uncompressed += Int64(n)
                try sink(chunk)
            }
        }
        if let failure = source.failure { throw failure }
        // libarchive may stop before the end (trailing garbage after a gzip member); the blob
        // digest covers every byte, so drain what is left.
        try source.drain()
        return LayerScan(
            digest: source.finalize(), size: source.size, diffID: diffHasher.finalize(),
            uncompressedSize: uncompressed)
    }
}

/// The file under libarchive: reads it in chunks and hashes every byte handed over.
private final class RawSource {
    let path: String
    let fd: Int32
    let buffer: UnsafeMutableRawBufferPointer
    var hasher = SHA256Hasher()
    var size: Int64 = 0
    var failure: SystemCallError?

    init(path: String) throws {
        self.path = path
        self.fd = try FileIO.openForReading(path)
        self.buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: FileIO.chunkSize, alignment: 16)
    }

    deinit {
        close(fd)
        buffer.deallocate()
    }

    /// The next chunk, or 0 at end of file, or -1 with `failure` set.
    func next() -> Int {
        do {
            let n = try sys("read", path) { read(fd, buffer.baseAddress, buffer.count) }
            hasher.update(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            size += Int64(n)
            return n
        } catch let error as SystemCallError {
            failure = error
            return -1
        } catch {
            return -1
        }
    }

    func drain() throws {
        while next() > 0 {}
        if let failure { throw failure }
    }

    func finalize() -> Digest {
        var done = SHA256Hasher()
        swap(&done, &hasher)
        return done.finalize()
    }
}

/// libarchive's read callback; `client` is an unretained `RawSource` that outlives the archive.
private func rawSourceRead(
    _ archive: OpaquePointer?, _ client: UnsafeMutableRawPointer?,
    _ out: UnsafeMutablePointer<UnsafeRawPointer?>?
) -> la_ssize_t {
    guard let client else { return -1 }
    let source = Unmanaged<RawSource>.fromOpaque(client).takeUnretainedValue()
    let n = source.next()
    out?.pointee = UnsafeRawPointer(source.buffer.baseAddress)
    return la_ssize_t(n)
}
