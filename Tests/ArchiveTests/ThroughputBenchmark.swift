// Not a timed test: prints layer writing and extraction throughput over ~220 MB of /usr
// (the tree research/swift-feasibility.md §4 used). Runs only with KILN_ARCHIVE_BENCH=1;
// build in release for meaningful numbers:
//   KILN_ARCHIVE_BENCH=1 swift test -c release -Xswiftc -enable-testing --filter ThroughputBenchmark
import Foundation
import Glibc
import PluginAPI
import Testing

@testable import Archive

@Suite("Throughput benchmark", .enabled(if: ProcessInfo.processInfo.environment["KILN_ARCHIVE_BENCH"] == "1"))
struct ThroughputBenchmark {
    static let trees = ["include", "libexec", "sbin", "share/perl"]

    func seconds(_ body: () throws -> Void) rethrows -> Double {
        var a = timespec()
        var b = timespec()
        clock_gettime(CLOCK_MONOTONIC, &a)
        try body()
        clock_gettime(CLOCK_MONOTONIC, &b)
        return Double(b.tv_sec - a.tv_sec) + Double(b.tv_nsec - a.tv_nsec) / 1e9
    }

    @Test("write gzip/zstd layers of /usr subtrees, then extract them")
    func throughput() throws {
        let tmp = try TempDir("kiln-bench")
        for (compression, level) in [(Compression.gzip, nil), (.gzip, 1), (.zstd, nil), (.zstd, 1), (.none, nil)] as [(Compression, Int?)] {
            var blob: LayerBlob?
            let t = try seconds {
                let w = try LayerWriter(path: tmp.sub("layer"), options: .init(compression: compression, level: level))
                for tree in Self.trees {
                    try w.addParents(of: tree, root: "/usr")
                    try w.addPath("/usr/" + tree, as: tree)
                    try w.addTree(root: "/usr", directory: tree)
                }
                blob = try w.finish()
            }
            let b = try #require(blob)
            let mib = Double(b.uncompressedSize) / 1_048_576
            print(String(format: "write %@ level %@: %.0f MiB tar, %d entries, %.2f s, %.0f MiB/s, ratio %.3f",
                compression.rawValue, level.map(String.init) ?? "default", mib, b.entryCount, t, mib / t,
                Double(b.descriptor.size) / Double(b.uncompressedSize)))
            let root = tmp.sub("root-\(compression.rawValue)-\(level ?? 0)")
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
            let e = try seconds { try LayerExtractor(root: root).apply(layer: b.path) }
            print(String(format: "extract %@: %.2f s, %.0f MiB/s", compression.rawValue, e, mib / e))
            try run(["rm", "-rf", root])
        }
    }
}
