// Sends HTTP requests through pooled easy handles on dedicated threads, within per-host lanes,
// and writes the one debug line per request that tests grep.
import FoundationEssentials
import PluginAPI
import PluginSupport
import Synchronization

/// Which lane a request waits in: blob transfers are bounded per host; manifests, HEADs and
/// token requests also get one spare lane, so a host busy with four layers still answers them.
public enum Lane: Sendable { case blob, metadata }

/// Per-host admission: at most `blobLimit` blob transfers and `blobLimit + 1` requests in flight.
public actor TransferLanes {
    private let blobLimit: Int
    private var blobs = 0
    private var total = 0
    private var waiting: [(lane: Lane, resume: CheckedContinuation<Void, Never>)] = []

    public init(blobLimit: Int) { self.blobLimit = max(1, blobLimit) }

    private func admits(_ lane: Lane) -> Bool {
        total < blobLimit + 1 && (lane == .metadata || blobs < blobLimit)
    }

    private func start(_ lane: Lane) {
        total += 1
        if lane == .blob { blobs += 1 }
    }

    public func acquire(_ lane: Lane) async {
        // FIFO within a lane only: a manifest does not queue behind blobs waiting for a blob lane.
        if admits(lane) && !waiting.contains(where: { $0.lane == lane }) { return start(lane) }
        await withCheckedContinuation { waiting.append((lane, $0)) }
    }

    public func release(_ lane: Lane) {
        total -= 1
        if lane == .blob { blobs -= 1 }
        // FIFO, but a metadata request may pass blob requests that cannot start yet.
        var i = 0
        while i < waiting.count {
            if admits(waiting[i].lane) {
                let next = waiting.remove(at: i)
                start(next.lane)
                next.resume.resume()
            } else {
                i += 1
            }
        }
    }
}

/// Counters for the summary lines (requests by method, bytes each way).
public final class TransferStats: Sendable {
    private struct Counts {
        var requests: [String: Int] = [:]
        var sent: Int64 = 0
        var received: Int64 = 0
    }
    private let counts = Mutex(Counts())

    public func record(_ method: HTTPMethod, sent: Int64, received: Int64) {
        counts.withLock {
            $0.requests[method.rawValue, default: 0] += 1
            $0.sent += sent
            $0.received += received
        }
    }

    /// `requests: GET=3 HEAD=2 …; sent N B; received M B`.
    public var summary: String {
        counts.withLock { c in
            let requests = c.requests.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            return "requests: \(requests.isEmpty ? "none" : requests); sent \(c.sent) B; received \(c.received) B"
        }
    }
}

public final class CurlTransport: Sendable {
    public let limits: TransferLimits
    private let label: String
    public let stats = TransferStats()
    private let pool: HandlePool
    private let blobLimit: Int
    private let lanes = Mutex<[String: TransferLanes]>([:])
    private let log: @Sendable (LogLevel, String) -> Void

    /// - Parameter label: the first word of each log line (`oci` for the registry client).
    public init(limits: TransferLimits, blobLimit: Int, label: String = "oci", log: @escaping @Sendable (LogLevel, String) -> Void) {
        self.label = label
        self.limits = limits
        self.blobLimit = blobLimit
        self.pool = HandlePool(maxIdlePerHost: blobLimit + 2)
        self.log = log
    }

    private func lanes(for host: String) -> TransferLanes {
        lanes.withLock { all in
            if let l = all[host] { return l }
            let l = TransferLanes(blobLimit: blobLimit)
            all[host] = l
            return l
        }
    }

    /// Sends one request (no retries, no redirects, no auth decisions). `host` keys the lanes
    /// and the handle pool. Logs `oci: METHOD URL -> STATUS (…)` or `oci: METHOD URL -> failed: …`.
    public func send(_ request: HTTPRequest, host: String, lane: Lane) async throws -> HTTPResponse {
        let laneGate = lanes(for: host)
        await laneGate.acquire(lane)
        let cancel = CancelFlag()
        let pool = self.pool
        let limits = self.limits
        let result: Result<HTTPResponse, TransferFailure>
        do {
            result = try await withTaskCancellationHandler {
                try await BlockingThreads.shared.run { () -> Result<HTTPResponse, TransferFailure> in
                    let handle: EasyHandle
                    do throws(TransferFailure) { handle = try pool.checkOut(host: host) } catch { return .failure(error) }
                    do throws(TransferFailure) {
                        let response = try Transfer.perform(request, on: handle, limits: limits, cancelled: cancel)
                        pool.checkIn(handle, host: host, healthy: true)
                        return .success(response)
                    } catch {
                        pool.checkIn(handle, host: host, healthy: false)
                        return .failure(error)
                    }
                }
            } onCancel: {
                cancel.cancel()
            }
        } catch {
            await laneGate.release(lane)
            throw error
        }
        await laneGate.release(lane)
        let shown = URLRedaction.redact(request.url)
        switch result {
        case .success(let r):
            stats.record(request.method, sent: r.bytesSent, received: r.bytesReceived)
            let seconds = String(cFormat: "%.3f", r.seconds)
            log(
                .debug,
                "\(label): \(request.method.rawValue) \(shown) -> \(r.status) (sent \(r.bytesSent) B, received \(r.bytesReceived) B, \(seconds) s)"
            )
            return r
        case .failure(let f):
            stats.record(request.method, sent: 0, received: 0)
            log(
                .debug,
                "\(label): \(request.method.rawValue) \(shown) -> failed: \(SecretScrubber.shared.scrub(f.message)) (curl error \(f.code.rawValue))"
            )
            throw f
        }
    }
}
