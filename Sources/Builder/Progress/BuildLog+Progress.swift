// Turning on the progress display for a log: live on a terminal, periodic lines elsewhere.
import FoundationEssentials

extension BuildLog {
    /// Seconds between two progress lines of one transfer in a log file: 5, or
    /// `$KILN_PROGRESS_INTERVAL` (a test knob; `0` turns the lines off).
    public static let defaultProgressInterval = 5.0

    /// This log with a progress display, unless it shows only warnings and errors: a status
    /// line redrawn in place when `terminal` (standard error is a terminal and the format is
    /// not JSON), else a line per long transfer every few seconds. Blobs under 1 MiB (or
    /// `$KILN_PROGRESS_MIN_BYTES`) are not followed.
    public func withProgress(environment: [String: String], terminal: Bool) -> BuildLog {
        guard level <= .info else { return self }
        var log = self
        let threshold = environment["KILN_PROGRESS_MIN_BYTES"].flatMap { Int64($0) } ?? 1 << 20
        if terminal && format != .json {
            let line = LiveStatusLine()
            log.sink = { line.printLine($0) }
            log.progress = ProgressMeter(display: .live(line), threshold: threshold)
            return log
        }
        let interval = environment["KILN_PROGRESS_INTERVAL"].flatMap { Double($0) } ?? Self.defaultProgressInterval
        guard interval > 0 else { return self }
        let plain = self
        log.progress = ProgressMeter(display: .lines(interval: interval, emit: { plain.show($0) }), threshold: threshold)
        return log
    }

    /// One progress line; in JSON with the numbers as fields.
    func show(_ report: ProgressReport) {
        self(
            .info, report.message,
            fields: [
                "progress": .string(report.kind.rawValue), "blob": .string(report.name), "bytes": .int(report.done),
                "total": .int(report.total), "rate": .int(Int64(report.bytesPerSecond)),
                "seconds": .double((report.seconds * 1000).rounded() / 1000), "finished": .bool(report.finished),
            ])
    }
}
