// The byte pipeline under a layer being written: tar bytes → diff ID hash → compressor →
// digest hash → file. One pass, bounded memory: nothing holds a whole layer.
//
// libarchive's tar writer gives no hook between its format and filter stages, so the tar is
// written by one archive object (pax, no filter) whose client callback hashes the uncompressed
// bytes and hands them to the compressor: for zstd a second archive object (format "raw", zstd
// filter with worker threads), for gzip `ChunkedGzip` (libdeflate on every core; libarchive's gzip
// filter is single-threaded). The compressor's output is hashed and written to disk.
import CArchive
import Glibc
import PluginAPI
import PluginSupport
import SystemCalls

final class LayerStream {
    private let fd: Int32
    private let path: String
    /// zstd goes through libarchive's filter; gzip through `ChunkedGzip` (multi-core).
    private var compressor: OpaquePointer?
    private var gzip: ChunkedGzip?
    private var diffHasher: SHA256Hasher? = SHA256Hasher()
    private var blobHasher: SHA256Hasher? = SHA256Hasher()
    private(set) var uncompressedSize: Int64 = 0
    private(set) var compressedSize: Int64 = 0
    /// The first failure seen inside a callback (callbacks can only return -1 to libarchive).
    private(set) var failure: (any Error)?

    /// gzip chunks compressed, and how many came from the deflate chunk cache.
    var chunks: Int { gzip?.chunks ?? 0 }
    var reusedChunks: Int { gzip?.reusedChunks ?? 0 }

    init(path: String, compression: Compression, level: Int?, threads: Int, deflateCache: DeflateChunkCache? = nil) throws {
        self.path = path
        fd = try sys("open", path) { open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644) }
        if compression == .gzip {
            let cache = deflateCache.flatMap { $0.prepare() ? $0 : nil }
            gzip = ChunkedGzip(level: level, threads: threads, cache: cache) { [unowned self] in sinkCompressed($0) }
        }
        guard compression == .zstd else { return }
        guard let c = archive_write_new() else { throw LibArchiveError(call: "archive_write_new", message: "out of memory") }
        compressor = c
        do {
            try checkArchive(archive_write_set_format_raw(c), c, "archive_write_set_format_raw")
            try checkArchive(archive_write_add_filter_zstd(c), c, "archive_write_add_filter_zstd")
            if let level {
                try checkArchive(
                    archive_write_set_filter_option(c, "zstd", "compression-level", String(level)), c, "zstd compression-level \(level)")
            }
            // Always at least one worker: zstd's multi-threaded format is the same for any
            // worker count ≥ 1 but differs from its single-threaded one, and a layer must not
            // depend on the machine's core count.
            let workers = max(1, threads)
            try checkArchive(archive_write_set_filter_option(c, "zstd", "threads", String(workers)), c, "zstd threads \(workers)")
            // Unblocked: the compressor's output goes straight to the file, never padded.
            try checkArchive(archive_write_set_bytes_per_block(c, 0), c, "archive_write_set_bytes_per_block")
            let me = Unmanaged.passUnretained(self).toOpaque()
            try checkArchive(
                archive_write_open(
                    c, me, nil,
                    { _, ctx, buf, n in
                        guard let ctx, let buf else { return -1 }
                        let s = Unmanaged<LayerStream>.fromOpaque(ctx).takeUnretainedValue()
                        return s.sinkCompressed(UnsafeRawBufferPointer(start: buf, count: n)) ? n : -1
                    }, nil), c, "archive_write_open")
            guard let entry = archive_entry_new() else { throw LibArchiveError(call: "archive_entry_new", message: "out of memory") }
            defer { archive_entry_free(entry) }
            archive_entry_set_pathname(entry, "layer.tar")
            archive_entry_set_filetype(entry, KILN_AE_IFREG)
            try checkArchive(archive_write_header(c, entry), c, "archive_write_header(raw)")
        } catch {
            archive_write_free(c)
            compressor = nil
            close(fd)
            throw error
        }
    }

    deinit {
        if let compressor { archive_write_free(compressor) }
        if fd >= 0 { close(fd) }
    }

    /// Receives uncompressed tar bytes from the tar writer's client callback.
    func sinkTar(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard failure == nil else { return false }
        diffHasher?.update(bytes)
        uncompressedSize += Int64(bytes.count)
        if let gzip {
            do { try gzip.write(bytes) } catch {
                failure = failure ?? error
                return false
            }
            return true
        }
        guard let compressor else { return sinkCompressed(bytes, hash: false) }
        guard let base = bytes.baseAddress else { return true }
        var offset = 0
        while offset < bytes.count {
            let n = archive_write_data(compressor, base + offset, bytes.count - offset)
            if n <= 0 {
                failure = failure ?? LibArchiveError(call: "compress", message: archiveMessage(compressor))
                return false
            }
            offset += n
        }
        return true
    }

    /// Receives blob bytes; `hash` is false when they are the tar itself (no compression),
    /// whose hash the diff ID hasher already takes.
    func sinkCompressed(_ bytes: UnsafeRawBufferPointer, hash: Bool = true) -> Bool {
        do {
            if hash { blobHasher?.update(bytes) }
            compressedSize += Int64(bytes.count)
            try writeAll(fd, bytes, subject: path)
            return true
        } catch {
            failure = failure ?? error
            return false
        }
    }

    /// Flushes the compressor and closes the file; returns (digest, diffID).
    func finish() throws -> (digest: Digest, diffID: Digest) {
        if let failure { throw failure }
        if let gzip {
            try gzip.finish()
            if let failure { throw failure }
        }
        if let c = compressor {
            try checkArchive(archive_write_close(c), c, "archive_write_close(compressor)")
            if let failure { throw failure }
        }
        guard let diff = diffHasher.take(), let blob = blobHasher.take() else {
            throw LibArchiveError(call: "finish", message: "layer stream finished twice")
        }
        let diffID = diff.finalize()
        let digest = blob.finalize()
        // Without compression the blob is the tar: its digest is the diff ID.
        return (compressor == nil && gzip == nil ? diffID : digest, diffID)
    }
}
