// gzip on several cores with a single-member result (pigz's layout, written from RFC 1951/1952,
// zlib's manual and libdeflate's header): the stream is cut into fixed chunks; each is deflated
// on its own thread by libdeflate (about 2.6 times zlib's speed at the same level). libdeflate
// ends every chunk with a final block, so each chunk but the last is made a middle piece: its
// last block's BFINAL bit is cleared (found by walking the blocks with zlib's Z_BLOCK inflate)
// and an empty stored block brings it to a byte boundary, as a sync flush would. Concatenated,
// the pieces are one valid deflate stream; CRC-32s are joined with crc32_combine.
//
// A chunk's bytes depend only on its input and the level, never on the thread count or timing,
// so `--reproducible` output is the same on every machine.
import CArchive
import CDeflate
import Dispatch
import Glibc

final class ChunkedGzip {
    // 512 KiB: chunks start without the previous one's 32 KiB as dictionary, which costs well
    // under 1 % at this size, and the chunks in flight (input and output of each, and one
    // libdeflate compressor per job) stay within a few MiB of memory.
    static let chunkSize = 512 * 1024

    private let level: Int32
    private let cache: DeflateChunkCache?
    private let maxInFlight: Int
    /// Chunks compressed so far, and how many of them the cache supplied.
    private(set) var chunks = 0
    private(set) var reusedChunks = 0
    private let emit: (UnsafeRawBufferPointer) -> Bool
    private var chunk: [UInt8] = []
    private var pending: [Job] = []
    /// Finished jobs whose buffers the next chunks reuse.
    private var idle: [Job] = []
    private var crc: UInt = 0
    private var total: UInt64 = 0
    private var wroteHeader = false

    /// `emit` receives compressed bytes in order and returns false to stop the stream.
    init(level: Int?, threads: Int, cache: DeflateChunkCache? = nil, emit: @escaping (UnsafeRawBufferPointer) -> Bool) {
        self.level = Int32(level ?? 6)
        self.cache = cache
        // One more job than workers keeps them busy while this thread hashes and writes.
        maxInFlight = max(1, threads) + 1
        self.emit = emit
        chunk.reserveCapacity(Self.chunkSize)
    }

    deinit {
        // Never leave a worker writing into a job nobody waits for.
        for job in pending { job.done.wait() }
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        var rest = bytes[...]
        while !rest.isEmpty {
            let take = min(Self.chunkSize - chunk.count, rest.count)
            chunk.append(contentsOf: rest.prefix(take))
            rest = rest.dropFirst(take)
            if chunk.count == Self.chunkSize {
                try submit(last: false)
            }
        }
    }

    /// Compresses what is buffered as the final chunk and writes the gzip trailer.
    func finish() throws {
        try submit(last: true)
        while !pending.isEmpty { try drainOne() }
        var trailer = [UInt8]()
        for v in [UInt32(truncatingIfNeeded: crc), UInt32(truncatingIfNeeded: total)] {
            trailer += [UInt8(v & 0xff), UInt8(v >> 8 & 0xff), UInt8(v >> 16 & 0xff), UInt8(v >> 24)]
        }
        try send(trailer)
    }

    private func submit(last: Bool) throws {
        // The chunk's buffer moves into the job and the job's old one comes back: no copy, and
        // at most `maxInFlight` buffers of each kind live for the whole layer.
        let job = idle.popLast() ?? Job(level: level, cache: cache)
        swap(&job.input, &chunk)
        chunk.removeAll(keepingCapacity: true)
        chunk.reserveCapacity(Self.chunkSize)
        job.last = last
        DispatchQueue.global().async {
            job.run()
            job.done.signal()
        }
        pending.append(job)
        if pending.count >= maxInFlight { try drainOne() }
    }

    private func drainOne() throws {
        let job = pending.removeFirst()
        job.done.wait()
        if let failure = job.failure { throw LibArchiveError(call: "deflate", message: failure) }
        if !wroteHeader {
            // ID1 ID2 CM=deflate FLG=0 MTIME=0 (no timestamp: same input, same blob) XFL=0 OS=Unix.
            try send([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3])
            wroteHeader = true
        }
        try job.output.withUnsafeBytes { try send(UnsafeRawBufferPointer(rebasing: $0[..<job.produced])) }
        crc = crc32_combine(crc, job.crc, off_t(job.input.count))
        total += UInt64(job.input.count)
        chunks += 1
        if job.reused { reusedChunks += 1 }
        idle.append(job)
    }

    private func send(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try send($0) }
    }

    private func send(_ bytes: UnsafeRawBufferPointer) throws {
        guard emit(bytes) else {
            throw LibArchiveError(call: "gzip", message: "writing the compressed layer failed")
        }
    }

    /// One chunk's deflate; its buffers are written by one worker, read only after `done` is
    /// signalled, and reused for a later chunk once drained.
    final class Job: @unchecked Sendable {
        var input: [UInt8] = []
        var last = false
        let level: Int32
        let done = DispatchSemaphore(value: 0)
        /// Compressed bytes are `output[..<produced]`; the buffer keeps its size between chunks.
        var output: [UInt8] = []
        var produced = 0
        var crc: UInt = 0
        var failure: String?
        let cache: DeflateChunkCache?
        /// This chunk's bytes came from `cache`.
        var reused = false
        /// Where inflate writes while walking a chunk's blocks or checking a kept chunk.
        private var scratch: [UInt8] = []
        /// libdeflate's compressor for `level`, made on first use and kept for later chunks.
        private var compressor: OpaquePointer?

        init(level: Int32, cache: DeflateChunkCache?) {
            self.level = level
            self.cache = cache
        }

        deinit {
            if let compressor { libdeflate_free_compressor(compressor) }
        }

        func run() {
            failure = nil
            produced = 0
            reused = false
            crc = input.withUnsafeBytes { UInt(libdeflate_crc32(0, $0.baseAddress, $0.count)) }
            guard let cache else { return deflateChunk() }
            let key = input.withUnsafeBytes { DeflateChunkCache.key(level: level, last: last, input: $0) }
            if let size = cache.read(key, into: &output), decodes(size) {
                produced = size
                reused = true
                return
            }
            deflateChunk()
            if failure == nil { output.withUnsafeBytes { cache.write(key, UnsafeRawBufferPointer(rebasing: $0[..<produced])) } }
        }

        /// Whether `output[..<size]` inflates to exactly `input` (ending the stream only when
        /// this is the last chunk): a kept chunk that was damaged on disk is compressed again
        /// instead of reaching a blob.
        private func decodes(_ size: Int) -> Bool {
            var strm = z_stream()
            guard kiln_ar_inflate_init_raw(&strm) == Z_OK else { return false }
            defer { inflateEnd(&strm) }
            if scratch.count < input.count + 1 { scratch = [UInt8](repeating: 0, count: input.count + 1) }
            let status = output.withUnsafeMutableBufferPointer { out in
                scratch.withUnsafeMutableBufferPointer { dst in
                    strm.next_in = out.baseAddress
                    strm.avail_in = uInt(size)
                    strm.next_out = dst.baseAddress
                    strm.avail_out = uInt(dst.count)
                    return inflate(&strm, Z_SYNC_FLUSH)
                }
            }
            let inflated = Int(strm.total_out)
            guard strm.avail_in == 0, last ? status == Z_STREAM_END : status == Z_OK, inflated == input.count else { return false }
            // memcmp: a generic element-wise compare was a tenth of a rebuild's samples.
            if inflated == 0 { return true }
            return scratch.withUnsafeBytes { c in
                input.withUnsafeBytes { i in
                    guard let c = c.baseAddress, let i = i.baseAddress else { return false }
                    return memcmp(c, i, inflated) == 0
                }
            }
        }

        private func deflateChunk() {
            if compressor == nil { compressor = libdeflate_alloc_compressor(level) }
            guard let compressor else {
                failure = "libdeflate cannot compress at level \(level) (gzip levels are 0 to 12)"
                return
            }
            // The bound covers the final block; a middle piece adds at most 5 bytes.
            let bound = libdeflate_deflate_compress_bound(compressor, input.count) + 8
            if output.count < bound { output = [UInt8](repeating: 0, count: bound) }
            let size = input.withUnsafeBytes { inp in
                output.withUnsafeMutableBytes { out in
                    libdeflate_deflate_compress(compressor, inp.baseAddress, inp.count, out.baseAddress, out.count)
                }
            }
            guard size > 0 else {
                failure = "libdeflate_deflate_compress found no room for \(input.count) bytes"
                return
            }
            produced = size
            if !last { makeMiddlePiece() }
        }

        /// Turns `output[..<produced]`, a complete deflate stream, into one that continues: the
        /// last block's BFINAL bit is cleared and an empty stored block (header bits 000, zero
        /// padding to the byte boundary, LEN 0000, NLEN FFFF) follows its end-of-block code.
        /// Where the last block starts and ends is found by inflating with Z_BLOCK, which stops
        /// after every block's end-of-block code and reports the bits left in its last byte.
        private func makeMiddlePiece() {
            var strm = z_stream()
            guard kiln_ar_inflate_init_raw(&strm) == Z_OK else {
                failure = "inflateInit2 failed"
                return
            }
            defer { inflateEnd(&strm) }
            if scratch.count < 256 * 1024 { scratch = [UInt8](repeating: 0, count: 256 * 1024) }
            var lastStart = 0  // bit offset of the last block's header: its BFINAL bit
            var end = -1  // bit offset just past the last block's end-of-block code
            let size = produced
            let status = output.withUnsafeMutableBufferPointer { out in
                scratch.withUnsafeMutableBufferPointer { dst -> Int32 in
                    strm.next_in = out.baseAddress
                    strm.avail_in = uInt(size)
                    while true {
                        strm.next_out = dst.baseAddress
                        strm.avail_out = uInt(dst.count)
                        let r = inflate(&strm, Z_BLOCK)
                        guard r == Z_OK else { return r }
                        // 128: stopped at a block boundary; 64: the block just ended was the last.
                        guard strm.data_type & 128 != 0 else { continue }
                        let bit = (size - Int(strm.avail_in)) * 8 - Int(strm.data_type & 7)
                        if strm.data_type & 64 != 0 { end = bit } else { lastStart = bit }
                    }
                }
            }
            let padding = size * 8 - end
            guard status == Z_STREAM_END, strm.avail_in == 0, end >= 0, (0..<8).contains(padding),
                output[lastStart / 8] >> UInt8(lastStart % 8) & 1 == 1
            else {
                failure = "libdeflate's output for a chunk did not walk as deflate blocks (inflate returned \(status))"
                return
            }
            output[lastStart / 8] &= ~(1 << UInt8(lastStart % 8))
            // The stored block's 3 header bits fit in the padding, else they start a new byte.
            if padding < 3 {
                output[produced] = 0
                produced += 1
            }
            for byte: UInt8 in [0, 0, 0xff, 0xff] {
                output[produced] = byte
                produced += 1
            }
        }
    }
}
