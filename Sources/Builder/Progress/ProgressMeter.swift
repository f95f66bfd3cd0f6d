// Progress of long transfers (pulls, pushes, layer extraction): a status line redrawn in place
// on a terminal, or a line per transfer every few seconds in a CI log. Transfers shorter than
// the interval, or smaller than the threshold, print nothing.
import FoundationEssentials
import PluginAPI
import PluginSupport

/// What a followed transfer does.
public enum ProgressKind: String, Sendable {
    /// A blob download, a blob upload, the extraction of a base layer.
    case pull, push, extract

    var verb: String { ["pull": "pulling", "push": "pushing", "extract": "extracting"][rawValue] ?? rawValue }
    var past: String { ["pull": "pulled", "push": "pushed", "extract": "extracted"][rawValue] ?? rawValue }
}

/// Where one transfer stands, as a progress line shows it.
public struct ProgressReport: Sendable {
    /// Pull, push or extraction.
    public var kind: ProgressKind
    /// The blob's short digest (`sha256:0123456789ab`).
    public var name: String
    /// Bytes moved so far, and the blob's size.
    public var done: Int64
    public var total: Int64
    /// Over the last interval (or, when finished, over the whole transfer).
    public var bytesPerSecond: Double
    /// Since the transfer started.
    public var seconds: Double
    /// True for the line that says the transfer ended.
    public var finished: Bool

    /// `pulling sha256:0123456789ab 12.0 MB / 30.0 MB (40%), 3.1 MB/s` or, at the end,
    /// `pulled sha256:0123456789ab 30.0 MB in 9.7 s (3.1 MB/s)`.
    public var message: String {
        if finished {
            return
                "\(kind.past) \(name) \(Self.bytes(done)) in \(String(cFormat: "%.1f", seconds)) s (\(Self.bytes(Int64(bytesPerSecond)))/s)"
        }
        let percent = total > 0 ? " (\(min(100, done * 100 / total))%)" : ""
        return "\(kind.verb) \(name) \(Self.bytes(done)) / \(Self.bytes(total))\(percent), \(Self.bytes(Int64(bytesPerSecond)))/s"
    }

    /// Decimal units, one decimal: `812 B`, `3.4 kB`, `12.0 MB`, `1.2 GB`.
    static func bytes(_ n: Int64) -> String {
        let units = ["kB", "MB", "GB", "TB"]
        guard n >= 1000 else { return "\(n) B" }
        var value = Double(n) / 1000
        var unit = 0
        while value >= 1000 && unit < units.count - 1 {
            value /= 1000
            unit += 1
        }
        return String(cFormat: "%.1f ", value) + units[unit]
    }
}

/// Follows transfers and shows them. It is the `TransferObserver` the build binds for registry
/// clients, and extraction asks it directly (`track`).
public final class ProgressMeter: TransferObserver, @unchecked Sendable {
    public enum Display: Sendable {
        /// A line per transfer every `interval` seconds, and one when a transfer that printed
        /// ends (a log file, CI).
        case lines(interval: Double, emit: @Sendable (ProgressReport) -> Void)
        /// One status line, redrawn in place (a terminal).
        case live(LiveStatusLine)
    }

    /// How transfers are shown.
    public let display: Display
    /// Blobs smaller than this are not followed.
    public let threshold: Int64

    private struct Entry {
        var kind: ProgressKind
        var name: String
        var total: Int64
        var started: Double
        var done: Int64 = 0
        /// The last line (or rate sample) and the bytes done then.
        var markAt: Double
        var markBytes: Int64 = 0
        var rate: Double = 0
        var lines = 0
    }
    private let lock = Lock()
    private var entries: [Int: Entry] = [:]
    private var nextID = 0
    private var drawnAt = 0.0

    /// A meter showing transfers of `threshold` bytes or more through `display`.
    public init(display: Display, threshold: Int64 = 1 << 20) {
        self.display = display
        self.threshold = threshold
    }

    /// Seconds on a monotonic clock.
    static func now() -> Double { ProcessInfo.processInfo.systemUptime }

    /// Starts following a transfer of `total` bytes; nil when it is below the threshold.
    public func track(_ kind: ProgressKind, name: String, total: Int64) -> ProgressTask? {
        guard total >= threshold else { return nil }
        let start = Self.now()
        let id = lock.withLock {
            nextID += 1
            entries[nextID] = Entry(kind: kind, name: name, total: total, started: start, markAt: start)
            return nextID
        }
        return ProgressTask(meter: self, id: id)
    }

    /// A registry client starts a blob transfer: followed as a pull or a push.
    public func transferStarted(_ descriptor: Descriptor, direction: TransferDirection) -> (any TransferWatch)? {
        track(direction == .download ? .pull : .push, name: Self.shortName(descriptor.digest), total: descriptor.size)
    }

    /// `sha256:` and the first 12 hex digits.
    public static func shortName(_ digest: Digest) -> String { "\(digest.algorithm.rawValue):\(digest.encoded.prefix(12))" }

    func update(_ id: Int, done: Int64) {
        let now = Self.now()
        switch display {
        case .lines(let interval, let emit):
            let report: ProgressReport? = lock.withLock {
                guard var e = entries[id] else { return nil }
                e.done = done
                defer { entries[id] = e }
                guard now - e.markAt >= interval else { return nil }
                let rate = Double(max(0, done - e.markBytes)) / (now - e.markAt)
                e.markAt = now
                e.markBytes = done
                e.lines += 1
                return ProgressReport(
                    kind: e.kind, name: e.name, done: done, total: e.total, bytesPerSecond: rate, seconds: now - e.started,
                    finished: false)
            }
            if let report { emit(report) }
        case .live(let line):
            let status: String? = lock.withLock {
                guard var e = entries[id] else { return nil }
                e.done = done
                if now - e.markAt >= 1 {
                    e.rate = Double(max(0, done - e.markBytes)) / (now - e.markAt)
                    e.markAt = now
                    e.markBytes = done
                }
                entries[id] = e
                guard now - drawnAt >= 0.1 else { return nil }
                drawnAt = now
                return statusLine(now: now)
            }
            if let status { line.show(status) }
        }
    }

    func end(_ id: Int) {
        let now = Self.now()
        let removed = lock.withLock { entries.removeValue(forKey: id) }
        guard let e = removed else { return }
        switch display {
        case .lines(_, let emit):
            // Only a transfer that printed while running says that it ended.
            guard e.lines > 0 else { return }
            let seconds = now - e.started
            emit(
                ProgressReport(
                    kind: e.kind, name: e.name, done: e.done, total: e.total,
                    bytesPerSecond: seconds > 0 ? Double(e.done) / seconds : 0, seconds: seconds, finished: true))
        case .live(let line):
            line.show(lock.withLock { statusLine(now: now) })
        }
    }

    /// `pulling 2 blobs 12.0 MB / 30.0 MB, 3.1 MB/s | extracting sha256:… 1.0 MB / 9.0 MB (11%), 0 B/s`;
    /// empty when nothing has run for half a second (short transfers do not flicker). Lock held.
    private func statusLine(now: Double) -> String {
        let shown = entries.values.filter { now - $0.started >= 0.5 }
        var parts: [String] = []
        for kind in [ProgressKind.pull, .push, .extract] {
            let group = shown.filter { $0.kind == kind }
            guard let first = group.first else { continue }
            // Until the first one-second sample, the average since the start.
            func currentRate(_ e: Entry) -> Double { e.rate > 0 || now <= e.started ? e.rate : Double(e.done) / (now - e.started) }
            if group.count == 1 {
                parts.append(
                    ProgressReport(
                        kind: kind, name: first.name, done: first.done, total: first.total, bytesPerSecond: currentRate(first), seconds: 0,
                        finished: false
                    ).message)
            } else {
                let done = group.reduce(0) { $0 + $1.done }
                let total = group.reduce(0) { $0 + $1.total }
                let rate = group.reduce(0) { $0 + currentRate($1) }
                parts.append(
                    "\(kind.verb) \(group.count) blobs \(ProgressReport.bytes(done)) / \(ProgressReport.bytes(total)), "
                        + "\(ProgressReport.bytes(Int64(rate)))/s")
            }
        }
        return parts.joined(separator: " | ")
    }
}

/// One followed transfer: report bytes, then end it (once; later calls are ignored).
public final class ProgressTask: TransferWatch, Sendable {
    let meter: ProgressMeter
    let id: Int

    init(meter: ProgressMeter, id: Int) {
        self.meter = meter
        self.id = id
    }

    /// Bytes of the blob moved so far.
    public func moved(_ bytes: Int64) { meter.update(id, done: bytes) }
    /// The transfer is over (a line says so when it printed any).
    public func ended() { meter.end(id) }
}
