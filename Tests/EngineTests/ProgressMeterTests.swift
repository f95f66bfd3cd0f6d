// The progress display's rules in a log file: small blobs are not followed, a transfer prints
// only once the interval has passed (so short ones print nothing), and one that printed says
// when it ends.
import Builder
import Foundation
import PluginAPI
import Testing

@Suite("Progress meter")
struct ProgressMeterTests {
    final class Lines: @unchecked Sendable {
        private let lock = NSLock()
        private var reports: [ProgressReport] = []
        func add(_ r: ProgressReport) { lock.withLock { reports.append(r) } }
        var all: [ProgressReport] { lock.withLock { reports } }
    }

    static let digest = Digest.sha256(of: Array("layer".utf8))

    @Test func smallBlobsAreNotFollowed() {
        let lines = Lines()
        let meter = ProgressMeter(display: .lines(interval: 0, emit: { lines.add($0) }), threshold: 1 << 20)
        let descriptor = Descriptor(mediaType: .ociLayerGzip, digest: Self.digest, size: (1 << 20) - 1)
        #expect(meter.transferStarted(descriptor, direction: .download) == nil)
    }

    @Test func aShortTransferPrintsNothing() {
        let lines = Lines()
        let meter = ProgressMeter(display: .lines(interval: 60, emit: { lines.add($0) }), threshold: 10)
        let task = meter.track(.pull, name: ProgressMeter.shortName(Self.digest), total: 1000)
        for done in stride(from: 0, through: 1000, by: 100) { task?.moved(Int64(done)) }
        task?.ended()
        #expect(task != nil && lines.all.isEmpty, "\(lines.all.map(\.message))")
    }

    @Test func aLongTransferPrintsAtTheIntervalAndWhenItEnds() async throws {
        let lines = Lines()
        let meter = ProgressMeter(display: .lines(interval: 0.2, emit: { lines.add($0) }), threshold: 10)
        let descriptor = Descriptor(mediaType: .ociLayerGzip, digest: Self.digest, size: 3_000_000)
        let watch = try #require(meter.transferStarted(descriptor, direction: .upload))
        // 50 updates over half a second or more: a line per 0.2 s, not one per update.
        for step in 1...50 {
            try await Task.sleep(for: .milliseconds(10))
            watch.moved(Int64(step) * 60_000)
        }
        watch.ended()
        watch.ended()  // a second end is ignored
        let all = lines.all
        let running = all.filter { !$0.finished }
        #expect(running.count >= 1 && running.count < 25, "\(all.map(\.message))")
        #expect(all.last?.finished == true && all.filter(\.finished).count == 1, "\(all.map(\.message))")
        let short = "sha256:" + Self.digest.encoded.prefix(12)
        #expect(running.allSatisfy { $0.kind == .push && $0.name == short && $0.total == 3_000_000 && $0.bytesPerSecond > 0 })
        #expect(running.first?.message.hasPrefix("pushing \(short) ") == true, "\(all.map(\.message))")
        #expect(all.last?.message.hasPrefix("pushed \(short) 3.0 MB in ") == true, "\(all.map(\.message))")
    }
}
