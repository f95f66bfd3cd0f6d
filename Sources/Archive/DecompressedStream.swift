// A layer blob decompressed once and hashed on its way to the tar reader, so extraction also
// proves the diff ID (the SHA-256 of the uncompressed tar) and the compression the media type
// declares, without a second pass over the blob.
import CArchive
import Dispatch
import PluginAPI
import PluginSupport
import Synchronization

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
/// Decompression and hashing run on a thread of their own, a few buffers ahead of the tar reader,
/// so they overlap the writing of the files.
final class DecompressedStream {
    private let decoder: Decoder
    /// The compression found in the bytes: nil when it is none of kiln's layer compressions.
    let compression: Compression?
    /// libarchive's name for that filter ("none", "gzip", "zstd", "bzip2"...).
    let filterName: String
    /// Why decompression failed, once the reader has reached the failure.
    private(set) var failure: String?
    /// Told the compressed bytes read so far after each chunk (extraction progress).
    var onRead: ((Int64) -> Void)?
    /// The chunk `read()` returned last; valid until the next `read()`.
    private(set) var current: UnsafeRawPointer?
    private var started = false
    private var holding = false
    private var taken = 0
    /// The last chunk's result once it was 0 (the end) or -1 (an error).
    private var terminal: Int?

    init(path: String) throws(LibArchiveError) {
        decoder = try Decoder(path: path)
        compression = decoder.compression
        filterName = decoder.filterName
    }

    deinit {
        guard started else { return }
        // Stop the decoding thread (it waits for a free buffer, or is about to) and wait for it.
        decoder.cancelled.store(true, ordering: .releasing)
        decoder.free.signal()
        decoder.exited.wait()
    }

    /// The next decompressed chunk, in `current`: its length, 0 at the end, -1 on an error.
    func read() -> Int {
        if let terminal { return terminal }
        if !started {
            started = true
            let decoder = decoder
            DispatchQueue.global().async { decoder.run() }
        }
        if holding {
            decoder.free.signal()
            holding = false
        }
        decoder.full.wait()
        let slot = taken % Decoder.slots
        taken += 1
        let n = decoder.sizes[slot]
        if n <= 0 {
            terminal = n
            failure = decoder.failure
            current = nil
            return n
        }
        holding = true
        current = UnsafeRawPointer(decoder.buffers[slot].baseAddress)
        onRead?(decoder.consumedAt[slot])
        return n
    }

    /// Reads what the tar reader left unread (the padding after its end-of-archive blocks) and
    /// returns the SHA-256 of the whole decompressed stream.
    func finish() throws(LibArchiveError) -> Digest {
        while read() > 0 {}
        if let failure { throw LibArchiveError(call: "decompress", message: failure) }
        // The decoding thread touched the hasher last before it handed over the final chunk.
        guard let hasher = decoder.hasher.take() else {
            throw LibArchiveError(call: "decompress", message: "the stream was finished twice")
        }
        return hasher.finalize()
    }
}

/// The decoding side of a `DecompressedStream`: fills free buffers with decompressed bytes,
/// hashes them and hands them over in order. The semaphores order every access: a buffer and
/// its size belong to the decoding thread between `free.wait()` and `full.signal()`, to the
/// reader between `full.wait()` and `free.signal()`.
private final class Decoder: @unchecked Sendable {
    private enum Source {
        case gzip(GzipInflater)
        case libarchive(OpaquePointer)
    }

    /// Buffers in the ring: one the tar reader holds, two decoded ahead of it.
    static let slots = 3
    private let source: Source
    let buffers: [UnsafeMutableRawBufferPointer]
    var sizes = [Int](repeating: 0, count: slots)
    var consumedAt = [Int64](repeating: 0, count: slots)
    var hasher: SHA256Hasher? = SHA256Hasher()
    var failure: String?
    /// Set by the reader while the decoding thread may be looking: an atomic, not a plain flag.
    let cancelled = Atomic<Bool>(false)
    /// Starts at 0 and is signalled `slots` times: libdispatch traps when a semaphore is freed
    /// below the value it was created with, as this one is after a stream stopped early.
    let free = DispatchSemaphore(value: 0)
    let full = DispatchSemaphore(value: 0)
    let exited = DispatchSemaphore(value: 0)
    let compression: Compression?
    let filterName: String
    /// Set when libarchive found nothing at all (an empty blob).
    private var empty = false

    init(path: String) throws(LibArchiveError) {
        buffers = (0..<Self.slots).map { _ in UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16) }
        for _ in 0..<Self.slots { free.signal() }
        if GzipInflater.sniff(path: path) {
            do { source = .gzip(try GzipInflater(path: path)) } catch {
                for b in buffers { b.deallocate() }
                throw LibArchiveError(call: "open", message: "\(error)")
            }
            compression = .gzip
            filterName = "gzip"
            return
        }
        guard let a = archive_read_new() else {
            for b in buffers { b.deallocate() }
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
            if header == ARCHIVE_EOF { empty = true } else { try checkArchive(header, a, "read header") }
        } catch {
            archive_read_free(a)
            for b in buffers { b.deallocate() }
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
        for b in buffers { b.deallocate() }
    }

    /// The decoding thread: runs until the end of the stream, an error, or `cancelled`.
    func run() {
        var produced = 0
        while true {
            free.wait()
            if cancelled.load(ordering: .acquiring) { break }
            let slot = produced % Self.slots
            produced += 1
            let n = decode(into: buffers[slot], slot: slot)
            if n > 0 { hasher?.update(UnsafeRawBufferPointer(rebasing: buffers[slot][0..<n])) }
            sizes[slot] = n
            full.signal()
            if n <= 0 { break }
        }
        // The blob is closed before the reader can see this thread gone.
        switch source {
        case .gzip(let inflater): inflater.close()
        case .libarchive(let a): archive_read_close(a)
        }
        exited.signal()
    }

    private func decode(into buffer: UnsafeMutableRawBufferPointer, slot: Int) -> Int {
        switch source {
        case .gzip(let inflater):
            let n = inflater.read(into: buffer)
            if n < 0 { failure = inflater.failure ?? "gzip decompression failed" }
            consumedAt[slot] = inflater.consumed
            return n
        case .libarchive(let a):
            if empty { return 0 }
            let n = archive_read_data(a, buffer.baseAddress, buffer.count)
            if n < 0 { failure = archiveMessage(a) }
            // Filter -1 is the last one, the file itself: the compressed bytes consumed.
            consumedAt[slot] = archive_filter_bytes(a, -1)
            return n
        }
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
                        out?.pointee = s.current
                        return la_ssize_t(n)
                    }, nil), a, "open")
        } catch {
            archive_read_free(a)
            throw error
        }
        self.init(handle: a, path: path)
    }
}
