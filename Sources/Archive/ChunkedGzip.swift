// gzip on several cores with a single-member result (pigz's technique, written from RFC 1951/
// 1952 and zlib's manual): the stream is cut into fixed chunks; each is raw-deflated on its
// own thread, primed with the previous chunk's last 32 KiB as dictionary and ended on a byte
// boundary with a sync flush, the last one with the final block. Concatenated, the pieces are
// one valid deflate stream; CRC-32s are joined with crc32_combine.
//
// The bytes depend only on the input and the level, never on the thread count or timing, so
// `--reproducible` output is the same on every machine.
import CArchive
import Dispatch
import Glibc

final class ChunkedGzip {
    // 512 KiB: the 32 KiB dictionary priming costs a few percent per chunk at this size, and
    // the chunks in flight (input and output of each) stay within a few MiB of memory.
    static let chunkSize = 512 * 1024
    static let window = 32 * 1024

    private let level: Int32
    private let cache: DeflateChunkCache?
    private let maxInFlight: Int
    /// Chunks compressed so far, and how many of them the cache supplied.
    private(set) var chunks = 0
    private(set) var reusedChunks = 0
    private let emit: (UnsafeRawBufferPointer) -> Bool
    private var chunk: [UInt8] = []
    private var previousTail: [UInt8] = []
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
        job.dictionary.removeAll(keepingCapacity: true)
        job.dictionary.append(contentsOf: previousTail)
        job.last = last
        previousTail.removeAll(keepingCapacity: true)
        previousTail.append(contentsOf: job.input.suffix(Self.window))
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
        var dictionary: [UInt8] = []
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
        /// Where a kept chunk is inflated to be compared with the input.
        private var check: [UInt8] = []

        init(level: Int32, cache: DeflateChunkCache?) {
            self.level = level
            self.cache = cache
        }

        func run() {
            failure = nil
            produced = 0
            reused = false
            crc = input.withUnsafeBufferPointer { crc32(0, $0.baseAddress, uInt($0.count)) }
            guard let cache else { return deflateChunk() }
            let key = dictionary.withUnsafeBytes { d in
                input.withUnsafeBytes { DeflateChunkCache.key(level: level, last: last, dictionary: d, input: $0) }
            }
            if let size = cache.read(key, into: &output), decodes(size) {
                produced = size
                reused = true
                return
            }
            deflateChunk()
            if failure == nil { output.withUnsafeBytes { cache.write(key, UnsafeRawBufferPointer(rebasing: $0[..<produced])) } }
        }

        /// Whether `output[..<size]` inflates (primed with `dictionary`) to exactly `input`: a
        /// kept chunk that was damaged on disk is compressed again instead of reaching a blob.
        private func decodes(_ size: Int) -> Bool {
            var strm = z_stream()
            guard kiln_ar_inflate_init_raw(&strm) == Z_OK else { return false }
            defer { inflateEnd(&strm) }
            if !dictionary.isEmpty {
                let set = dictionary.withUnsafeBufferPointer { inflateSetDictionary(&strm, $0.baseAddress, uInt($0.count)) }
                guard set == Z_OK else { return false }
            }
            if check.count < input.count + 1 { check = [UInt8](repeating: 0, count: input.count + 1) }
            let status = output.withUnsafeMutableBufferPointer { out in
                check.withUnsafeMutableBufferPointer { dst in
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
            return check.withUnsafeBytes { c in
                input.withUnsafeBytes { i in
                    guard let c = c.baseAddress, let i = i.baseAddress else { return false }
                    return memcmp(c, i, inflated) == 0
                }
            }
        }

        private func deflateChunk() {
            var strm = z_stream()
            guard kiln_ar_deflate_init_raw(&strm, level) == Z_OK else {
                failure = "deflateInit2 failed (level \(level))"
                return
            }
            defer { deflateEnd(&strm) }
            if !dictionary.isEmpty {
                _ = dictionary.withUnsafeBufferPointer { deflateSetDictionary(&strm, $0.baseAddress, uInt($0.count)) }
            }
            // deflateBound covers Z_FINISH; a sync flush adds at most a few bytes more.
            let bound = Int(deflateBound(&strm, uLong(input.count))) + 64
            if output.count < bound { output = [UInt8](repeating: 0, count: bound) }
            input.withUnsafeBufferPointer { inp in
                strm.next_in = UnsafeMutablePointer(mutating: inp.baseAddress)
                strm.avail_in = uInt(inp.count)
                while true {
                    let status = output.withUnsafeMutableBufferPointer { out -> Int32 in
                        guard let base = out.baseAddress else { return Z_MEM_ERROR }
                        strm.next_out = base + produced
                        strm.avail_out = uInt(out.count - produced)
                        let r = deflate(&strm, last ? Z_FINISH : Z_SYNC_FLUSH)
                        produced = out.count - Int(strm.avail_out)
                        return r
                    }
                    let complete = last ? status == Z_STREAM_END : (status == Z_OK && strm.avail_in == 0 && strm.avail_out > 0)
                    if complete { break }
                    if status != Z_OK && status != Z_BUF_ERROR {
                        failure = "deflate returned \(status)"
                        return
                    }
                    output += [UInt8](repeating: 0, count: 64 * 1024)
                }
            }
        }
    }
}
