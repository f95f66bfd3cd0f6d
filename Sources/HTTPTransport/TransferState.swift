// What a running transfer's C callbacks read and write. The callbacks capture nothing: they
// reach this object through the opaque pointer libcurl hands back (swift-feasibility §3).
import Glibc
import PluginAPI
import PluginSupport
import Synchronization

public final class TransferState {
    // Response side.
    public var status = 0
    public var headers = HeaderFields()
    public var body: [UInt8] = []
    public let memoryLimit: Int
    public let sinkPath: String?
    public let fileLimit: Int64?
    public let resumeFrom: Int64
    public var sinkFD: Int32 = -1
    public var hasher: SHA256Hasher? = SHA256Hasher()
    public var fileSize: Int64 = 0
    /// Why a callback stopped the transfer (local I/O, size limit).
    public var localFailure: String?
    public var oversize = false

    // Request side.
    public let uploadBytes: [UInt8]
    public var uploadFD: Int32 = -1
    public let uploadOffset: Int64
    public let uploadLength: Int64
    public var uploadPosition: Int64 = 0

    public let cancelled: CancelFlag
    /// The request's progress callback (`HTTPRequest.progress`).
    let report: (@Sendable (Int64) -> Void)?

    // Stall detection: libcurl's low-speed check averages over a window of several seconds, so
    // a burst followed by silence is noticed late; this counts seconds with no byte moved.
    public let stallSeconds: Double
    private var lastProgress: Int64 = -1
    private var lastProgressAt = ContinuousClock.now
    private(set) var stalled = false

    public init(request: HTTPRequest, cancelled: CancelFlag, stallSeconds: Int) {
        self.stallSeconds = Double(stallSeconds)
        switch request.sink {
        case .memory(let limit): (memoryLimit, sinkPath, fileLimit, resumeFrom) = (limit, nil, nil, 0)
        case .file(let path, let limit, let from): (memoryLimit, sinkPath, fileLimit, resumeFrom) = (64 << 10, path, limit, from)
        }
        switch request.body {
        case .none: (uploadBytes, uploadOffset, uploadLength) = ([], 0, 0)
        case .bytes(let b): (uploadBytes, uploadOffset, uploadLength) = (b, 0, Int64(b.count))
        case .file(_, let offset, let length): (uploadBytes, uploadOffset, uploadLength) = ([], offset, length)
        }
        self.cancelled = cancelled
        self.report = request.progress
    }

    deinit {
        if sinkFD >= 0 { close(sinkFD) }
        if uploadFD >= 0 { close(uploadFD) }
    }

    public var isSuccess: Bool { (200..<300).contains(status) }

    /// Progress report from libcurl (several times a second while data moves, about once a
    /// second when it does not). Returns false to abort.
    public func progress(downloaded: Int64, uploaded: Int64) -> Bool {
        if cancelled.isCancelled { return false }
        if let report {
            // Only the blob's own bytes: a file sink's size, or the position in a file body.
            // Reported even when unchanged, so a display can say that a transfer is waiting.
            let at = sinkPath != nil ? fileSize : uploadFD >= 0 ? uploadOffset + uploaded : -1
            if at >= 0 { report(at) }
        }
        let transferred = downloaded + uploaded
        let now = ContinuousClock.now
        if transferred != lastProgress {
            lastProgress = transferred
            lastProgressAt = now
            return true
        }
        if now - lastProgressAt > .seconds(stallSeconds) {
            stalled = true
            return false
        }
        return true
    }

    /// A header line from libcurl. A status line starts a new response (100 Continue, redirects
    /// and proxy CONNECT answers each bring one), so the fields collected so far are dropped.
    public func header(_ line: String) {
        if line.hasPrefix("HTTP/") {
            let parts = line.split(separator: " ", maxSplits: 2)
            status = parts.count > 1 ? Int(parts[1]) ?? 0 : 0
            headers = HeaderFields()
            return
        }
        guard let colon = line.firstIndex(of: ":") else { return }
        let name = line[..<colon].trimmed(" \t")
        let value = line[line.index(after: colon)...].trimmed(" \t\r\n")
        headers.add(name, value)
    }

    /// Response body bytes. Returns false to make libcurl abort the transfer.
    public func receive(_ chunk: UnsafeRawBufferPointer) -> Bool {
        guard isSuccess, let sinkPath else {
            guard body.count + chunk.count <= memoryLimit else {
                localFailure = "response body larger than \(memoryLimit) bytes"
                return false
            }
            body.append(contentsOf: chunk)
            return true
        }
        if let fileLimit, fileSize + Int64(chunk.count) > fileLimit {
            localFailure = "the blob is larger than its descriptor's \(fileLimit) bytes"
            oversize = true
            return false
        }
        if sinkFD < 0, !openSink(sinkPath) { return false }
        guard let base = chunk.baseAddress else { return true }
        var done = 0
        while done < chunk.count {
            let n = write(sinkFD, base + done, chunk.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                localFailure = "cannot write \(sinkPath): \(String(cString: strerror(errno)))"
                return false
            }
            done += n
        }
        hasher?.update(chunk)
        fileSize += Int64(chunk.count)
        return true
    }

    public func openSink(_ path: String) -> Bool {
        if status == 206, resumeFrom > 0 { return appendToPrefix(path) }
        sinkFD = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        if sinkFD < 0 { localFailure = "cannot create \(path): \(String(cString: strerror(errno)))" }
        return sinkFD >= 0
    }

    /// Opens `path` after its first `resumeFrom` bytes (what an interrupted download left) and
    /// hashes those, so the digest at the end covers the whole blob.
    private func appendToPrefix(_ path: String) -> Bool {
        sinkFD = open(path, O_RDWR | O_CLOEXEC)
        guard sinkFD >= 0, ftruncate(sinkFD, off_t(resumeFrom)) == 0, lseek(sinkFD, off_t(resumeFrom), SEEK_SET) == off_t(resumeFrom)
        else {
            localFailure = "cannot resume \(path): \(String(cString: strerror(errno)))"
            return false
        }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var at: Int64 = 0
        while at < resumeFrom {
            let want = Int(min(Int64(buffer.count), resumeFrom - at))
            let n = buffer.withUnsafeMutableBytes { pread(sinkFD, $0.baseAddress, want, off_t(at)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                localFailure = "cannot read back \(path) to resume it"
                return false
            }
            buffer.withUnsafeBytes { hasher?.update(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            at += Int64(n)
        }
        fileSize = resumeFrom
        return true
    }

    /// Fills `buffer` with the next request body bytes; nil means a read error (abort).
    public func send(into buffer: UnsafeMutableRawBufferPointer) -> Int? {
        let want = Int(min(Int64(buffer.count), uploadLength - uploadPosition))
        guard want > 0, let target = buffer.baseAddress else { return 0 }
        if uploadFD < 0 {
            uploadBytes.withUnsafeBytes { src in
                if let source = src.baseAddress { target.copyMemory(from: source + Int(uploadPosition), byteCount: want) }
            }
            uploadPosition += Int64(want)
            return want
        }
        while true {
            let n = pread(uploadFD, target, want, off_t(uploadOffset + uploadPosition))
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                localFailure =
                    n == 0 ? "upload file shrank while being sent" : "cannot read upload file: \(String(cString: strerror(errno)))"
                return nil
            }
            uploadPosition += Int64(n)
            return n
        }
    }
}

/// Set from a task's cancellation handler, read by the transfer's progress callback.
public final class CancelFlag: Sendable {
    private let value = Atomic<Bool>(false)
    public func cancel() { value.store(true, ordering: .relaxed) }
    public var isCancelled: Bool { value.load(ordering: .relaxed) }
}
