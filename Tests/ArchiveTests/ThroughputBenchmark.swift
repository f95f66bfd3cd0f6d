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

    func seconds(_ body: () throws -> Void) rethrows -> Double {
        var a = timespec()
        var b = timespec()
        clock_gettime(CLOCK_MONOTONIC, &a)
        try body()
        clock_gettime(CLOCK_MONOTONIC, &b)
        return Double(b.tv_sec - a.tv_sec) + Double(b.tv_nsec - a.tv_nsec) / 1e9
    }

    @Test("ChunkedGzip alone, 1 and 2 threads, against gzip(1) on the same bytes")
    func gzipOnly() throws {
        let tmp = try TempDir("kiln-bench")
        let tar = try SampleTree.layerOfTrees(to: tmp.sub("ref.tar"))
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: tar.path)))
        let mib = Double(bytes.count) / 1_048_576
        for level in [6, 1] {
            let t = try seconds { try run(["sh", "-c", "gzip -\(level) -c '\(tar.path)' > /dev/null"]) }
            print(String(format: "gzip(1) -%d: %.0f MiB/s", level, mib / t))
            for threads in [1, 2] {
                var out = 0
                let g = ChunkedGzip(level: level, threads: threads) {
                    out += $0.count
                    return true
                }
                let c = try seconds {
                    try bytes.withUnsafeBytes { raw in
                        var offset = 0
                        while offset < raw.count {
                            let n = min(65536, raw.count - offset)
                            try g.write(UnsafeRawBufferPointer(rebasing: raw[offset..<offset + n]))
                            offset += n
                        }
                    }
                    try g.finish()
                }
                print(
                    String(
                        format: "ChunkedGzip -%d threads %d: %.0f MiB/s, ratio %.3f", level, threads, mib / c,
                        Double(out) / Double(bytes.count)))
            }
        }
    }

    @Test("write gzip/zstd layers of /usr subtrees, then extract them")
    func throughput() throws {
        print("peak RSS at start: \(peakRSS()) MiB")
        let tmp = try TempDir("kiln-bench")
        // Reference tools on the same tar in the same run: the VM is shared, so absolute
        // numbers drift; the ratio to these is what to compare.
        let tar = try SampleTree.layerOfTrees(to: tmp.sub("ref.tar"))
        let mibRef = Double(tar.uncompressedSize) / 1_048_576
        for cmd in ["gzip -6 -c", "gzip -1 -c", "zstd -q -3 -T2 -c", "zstd -q -3 -T1 -c"] {
            let t = try seconds { try run(["sh", "-c", "\(cmd) '\(tar.path)' > /dev/null"]) }
            print(String(format: "reference %@: %.2f s, %.0f MiB/s", cmd, t, mibRef / t))
        }
        // Extraction roots on tmpfs when given (KILN_ARCHIVE_BENCH_ROOTS=/dev/shm), so disk
        // writeback of one run does not slow the next.
        let roots = ProcessInfo.processInfo.environment["KILN_ARCHIVE_BENCH_ROOTS"].map { TempDirIn($0) } ?? nil
        let rootBase = roots?.path ?? tmp.path
        print("peak RSS before kiln's work: \(peakRSS()) MiB")
        let refRoot = rootBase + "/ref-root"
        try FileManager.default.createDirectory(atPath: refRoot, withIntermediateDirectories: true)
        let tx = try seconds { try run(["tar", "-xpf", tar.path, "-C", refRoot]) }
        print(String(format: "reference tar -xpf (GNU tar, uncompressed): %.2f s, %.0f MiB/s", tx, mibRef / tx))
        try run(["rm", "-rf", refRoot])
        for (compression, level) in [(Compression.gzip, nil), (.gzip, 1), (.zstd, nil), (.zstd, 1), (.none, nil)] as [(Compression, Int?)] {
            var blob: LayerBlob?
            let t = try seconds {
                blob = try SampleTree.layerOfTrees(to: tmp.sub("layer"), options: .init(compression: compression, level: level))
            }
            let b = try #require(blob)
            let mib = Double(b.uncompressedSize) / 1_048_576
            print(
                String(
                    format: "write %@ level %@: %.0f MiB tar, %d entries, %.2f s, %.0f MiB/s, ratio %.3f",
                    compression.rawValue, level.map(String.init) ?? "default", mib, b.entryCount, t, mib / t,
                    Double(b.descriptor.size) / Double(b.uncompressedSize)))
            let root = rootBase + "/root-\(compression.rawValue)-\(level ?? 0)"
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
            let e = try seconds { try LayerExtractor(root: root).apply(layer: b.path) }
            print(String(format: "extract %@: %.2f s, %.0f MiB/s; peak RSS so far %d MiB", compression.rawValue, e, mib / e, peakRSS()))
            try run(["rm", "-rf", root])
        }

    }
}

extension SampleTree {
    static let benchTrees = ["include", "libexec", "sbin", "share/perl"]

    /// One layer of /usr/{include,libexec,sbin,share/perl}: about 200 MiB in 10,600 entries.
    static func layerOfTrees(to path: String, options: LayerWriter.Options = .init(compression: .none)) throws -> LayerBlob {
        let w = try LayerWriter(path: path, options: options)
        for tree in benchTrees {
            try w.addParents(of: tree, root: "/usr")
            try w.addPath("/usr/" + tree, as: tree)
            try w.addTree(root: "/usr", directory: BytePath(tree))
        }
        return try w.finish()
    }
}

/// A temporary directory under `base`, removed with the value.
func TempDirIn(_ base: String) -> TempDir? {
    try? TempDir(base: base)
}

/// The process's peak resident set so far, in MiB.
func peakRSS() -> Int {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return usage.ru_maxrss / 1024
}
