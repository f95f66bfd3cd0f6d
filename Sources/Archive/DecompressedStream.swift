// A layer blob decompressed once and hashed on its way to the tar reader, so extraction also
// proves the diff ID (the SHA-256 of the uncompressed tar) and the compression the media type
// declares, without a second pass over the blob.
import CArchive
import PluginAPI
import PluginSupport

/// What a layer blob must turn out to be: the diff ID its image config lists and, when known,
/// the compression its media type declares.
public struct LayerExpectation: Sendable, Equatable {
    public var diffID: Digest
    public var compression: Compression?

    public init(diffID: Digest, compression: Compression?) {
        self.diffID = diffID
        self.compression = compression
    }
}

/// The decompressed bytes of one blob, each chunk hashed as the tar reader pulls it: gzip through
/// ISA-L (`GzipInflater`), anything else through libarchive's raw format over every filter.
final class DecompressedStream {
    private enum Source {
        case gzip(GzipInflater)
        case libarchive(OpaquePointer)
    }

    private let source: Source
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
    private var hasher: SHA256Hasher? = SHA256Hasher()
    private var ended = false
    /// Why decompression failed, once it has.
    private(set) var failure: String?
    /// The compression found in the bytes: nil when it is none of kiln's layer compressions.
    let compression: Compression?
    /// libarchive's name for that filter ("none", "gzip", "zstd", "bzip2"...).
    let filterName: String
    /// Told the compressed bytes read so far after each chunk (extraction progress).
    var onRead: ((Int64) -> Void)?

    init(path: String) throws(LibArchiveError) {
        if GzipInflater.sniff(path: path) {
            do { source = .gzip(try GzipInflater(path: path)) } catch {
                buffer.deallocate()
                throw LibArchiveError(call: "open", message: "\(error)")
            }
            compression = .gzip
            filterName = "gzip"
            return
        }
        guard let a = archive_read_new() else {
            buffer.deallocate()
            throw LibArchiveError(call: "archive_read_new", message: "out of memory")
        }
        source = .libarchive(a)
        do {
            try checkArchive(archive_read_support_filter_all(a), a, "archive_read_support_filter_all")
            try checkArchive(archive_read_support_format_raw(a), a, "archive_read_support_format_raw")
            // raw refuses zero bytes; "empty" takes them, so an empty stream hashes too.
            try checkArchive(archive_read_support_format_empty(a), a, "archive_read_support_format_empty")
            try checkArchive(archive_read_open_filename(a, path, 1 << 20), a, "open")
            var entry: OpaquePointer?
            let header = archive_read_next_header(a, &entry)
            if header == ARCHIVE_EOF { ended = true } else { try checkArchive(header, a, "read header") }
        } catch {
            archive_read_free(a)
            buffer.deallocate()
            throw error
        }
        switch archive_filter_code(a, 0) {
        case ARCHIVE_FILTER_NONE: compression = Compression.none
        case ARCHIVE_FILTER_GZIP: compression = .gzip
        case ARCHIVE_FILTER_ZSTD: compression = .zstd
        default: compression = nil
        }
        filterName = archive_filter_name(a, 0).map { String(cString: $0) } ?? "unknown"
    }

    deinit {
        if case .libarchive(let a) = source { archive_read_free(a) }
        buffer.deallocate()
    }

    /// Decompresses the next chunk into `buffer`: its length, 0 at the end, -1 on an error.
    func read() -> Int {
        guard !ended else { return 0 }
        let n: Int
        let consumed: Int64
        switch source {
        case .gzip(let inflater):
            n = inflater.read(into: buffer)
            if n < 0 { failure = inflater.failure ?? "gzip decompression failed" }
            consumed = inflater.consumed
        case .libarchive(let a):
            n = archive_read_data(a, buffer.baseAddress, buffer.count)
            if n < 0 { failure = archiveMessage(a) }
            // Filter -1 is the last one, the file itself: the compressed bytes consumed.
            consumed = archive_filter_bytes(a, -1)
        }
        if n < 0 { return -1 }
        if n == 0 {
            ended = true
            return 0
        }
        hasher?.update(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
        onRead?(consumed)
        return n
    }

    /// Reads what the tar reader left unread (the padding after its end-of-archive blocks) and
    /// returns the SHA-256 of the whole decompressed stream.
    func finish() throws(LibArchiveError) -> Digest {
        while read() > 0 {}
        if let failure { throw LibArchiveError(call: "decompress", message: failure) }
        guard let hasher = hasher.take() else { throw LibArchiveError(call: "decompress", message: "the stream was finished twice") }
        return hasher.finalize()
    }
}

extension ArchiveReader {
    /// A tar reader over `stream`'s decompressed bytes (no filter of its own: the stream
    /// already decompressed them).
    convenience init(stream: DecompressedStream, path: String) throws(LibArchiveError) {
        guard let a = archive_read_new() else { throw LibArchiveError(call: "archive_read_new", message: "out of memory") }
        do {
            try checkArchive(archive_read_support_format_tar(a), a, "archive_read_support_format_tar")
            // The stream outlives the reader: ExtractionSession holds both for the whole pass.
            let context = Unmanaged.passUnretained(stream).toOpaque()
            try checkArchive(
                archive_read_open(
                    a, context, nil,
                    { _, ctx, out in
                        guard let ctx else { return -1 }
                        let s = Unmanaged<DecompressedStream>.fromOpaque(ctx).takeUnretainedValue()
                        let n = s.read()
                        out?.pointee = UnsafeRawPointer(s.buffer.baseAddress)
                        return la_ssize_t(n)
                    }, nil), a, "open")
        } catch {
            archive_read_free(a)
            throw error
        }
        self.init(handle: a, path: path)
    }
}
