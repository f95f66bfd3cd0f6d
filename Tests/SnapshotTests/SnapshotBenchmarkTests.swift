// Throughput on a real tree, off by default: `KILN_SNAPSHOT_BENCH=/usr swift test -c release
// --filter SnapshotBenchmark`. Prints entries/s of the walk and the capture/diff times of both
// modes; fails if a diff of the unchanged tree reports changes or hashes anything.
import Foundation
import Glibc
import PluginAPI
import PluginSupport
import TestSupport
import Testing

private let benchRoot = ProcessInfo.processInfo.environment["KILN_SNAPSHOT_BENCH"]

@Suite("SnapshotBenchmark", .enabled(if: benchRoot != nil, "set KILN_SNAPSHOT_BENCH=<dir> to measure"))
struct SnapshotBenchmarkTests {
    static func seconds(_ body: () async throws -> Void) async rethrows -> Double {
        var a = timespec()
        var b = timespec()
        clock_gettime(CLOCK_MONOTONIC, &a)
        try await body()
        clock_gettime(CLOCK_MONOTONIC, &b)
        return Double(b.tv_sec - a.tv_sec) + Double(b.tv_nsec - a.tv_nsec) / 1e9
    }

    @Test func walkAndBothModes() async throws {
        let root = try #require(benchRoot)
        var count = 0
        let walk = try await Self.seconds { try TreeWalker(root: root).walk { _ in count += 1 } }
        print("walk \(root): \(count) entries in \(walk) s = \(Int(Double(count) / walk)) entries/s")
        for mode in snapshotModes {
            let strategy = try SnapshotPlugins.strategy(mode)
            var state: SnapshotState?
            let capture = try await Self.seconds { state = try await strategy.capture(root: root, ignoring: IgnoreList()) }
            let before = try #require(state)
            var result: (ChangeSet, SnapshotState)?
            let diff = try await Self.seconds { result = try await strategy.changes(root: root, since: before, ignoring: IgnoreList()) }
            let (changes, after) = try #require(result)
            print(
                "\(mode): capture \(capture) s (hashed \(before.statistics.filesHashed) files, \(before.statistics.bytesHashed >> 20) MiB); "
                    + "diff of the unchanged tree \(diff) s (hashed \(after.statistics.filesHashed), racy \(after.statistics.racyEntries))")
            #expect(changes.isEmpty)
            #expect(after.statistics.filesHashed <= after.statistics.racyEntries)
        }
    }
}
