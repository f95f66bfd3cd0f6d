// A layer written in two passes: the uncompressed tar first (its diff ID known once it ends),
// then, only if the build has no blob for that diff ID yet, the compressed blob from it. The
// blob is the one the single streaming pass would have made, byte for byte: the compressor
// is fed the same bytes in the same 64 KiB blocks the tar writer hands its callback.
import Glibc
import PluginAPI
import SystemCalls

extension LayerWriter {
    /// The options for the uncompressed spool of a layer that `options` will encode.
    public static func spoolOptions(for options: Options) -> Options {
        var spool = options
        spool.compression = .none
        return spool
    }

    /// Compresses `tar` (a `LayerBlob` written with `spoolOptions(for: options)`) into a new
    /// blob at `path`, as a `LayerWriter` with `options` would have written it. The tar is left
    /// in place. Throws `Error.writeFailed` when reading, compressing or writing fails, or
    /// when the tar no longer hashes to its diff ID.
    public static func compress(_ tar: LayerBlob, to path: String, options: Options) throws -> LayerBlob {
        let stream = try LayerStream(
            path: path, compression: options.compression, level: options.level, threads: options.threads,
            deflateCache: options.deflateCache.map { DeflateChunkCache(directory: $0) })
        let input = try sys("open", tar.path) { open(tar.path, O_RDONLY | O_CLOEXEC) }
        defer { close(input) }
        let blockSize = 64 * 1024
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: blockSize, alignment: 16)
        defer { buffer.deallocate() }
        guard let base = buffer.baseAddress else { throw Error.writeFailed(layer: path, entry: "", reason: "out of memory") }
        let (digest, diffID): (Digest, Digest)
        do {
            while true {
                // Whole blocks (a short read is topped up), as the tar writer emitted them.
                var filled = 0
                while filled < blockSize {
                    let n = try sys("read", tar.path) { read(input, base + filled, blockSize - filled) }
                    if n == 0 { break }
                    filled += n
                }
                if filled == 0 { break }
                guard stream.sinkTar(UnsafeRawBufferPointer(rebasing: buffer[..<filled])) else {
                    throw stream.failure ?? LibArchiveError(call: "compress", message: "the compressor stopped")
                }
                if filled < blockSize { break }
            }
            (digest, diffID) = try stream.finish()
        } catch {
            unlink(path)
            throw Error.writeFailed(layer: path, entry: "(compressing \(tar.path))", reason: "\(stream.failure ?? error)")
        }
        guard diffID == tar.diffID else {
            unlink(path)
            throw Error.writeFailed(
                layer: path, entry: "(compressing \(tar.path))",
                reason: "the tar changed on disk: it hashes to \(diffID), not \(tar.diffID)")
        }
        let mediaType = options.compression.layerMediaType(docker: options.dockerMediaTypes)
        return LayerBlob(
            path: path, descriptor: Descriptor(mediaType: mediaType, digest: digest, size: stream.compressedSize),
            diffID: diffID, uncompressedSize: stream.uncompressedSize, entryCount: tar.entryCount, chunks: stream.chunks,
            reusedChunks: stream.reusedChunks)
    }
}
