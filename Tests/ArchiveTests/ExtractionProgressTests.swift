// Extraction reports how much of a layer blob it has read, for the progress display of large
// base layers.
import Foundation
import PluginAPI
import Testing

@testable import Archive

@Suite("Extraction progress")
struct ExtractionProgressTests {
    /// Values reported from the extraction thread.
    final class Seen: @unchecked Sendable {
        private let lock = NSLock()
        private var values: [Int64] = []
        func add(_ v: Int64) { lock.withLock { values.append(v) } }
        var all: [Int64] { lock.withLock { values } }
    }

    @Test(arguments: ["", "gz"])
    func theBytesOfTheBlobReadAreReportedUpToItsSize(compression: String) throws {
        let tmp = try TempDir()
        let root = try tmp.mkdir("root")
        let path = tmp.sub("layer")
        // 4 MiB that gzip cannot shrink much: several 1 MiB reads either way.
        var generator = SystemRandomNumberGenerator()
        let text = (0..<(3 << 20) / 8).map { _ in String(generator.next() as UInt64, radix: 36) }.joined()
        try TarBuilder.write([.file("big", text)], to: path, compression: compression)
        let blob = try Data(contentsOf: URL(fileURLWithPath: path))
        let tar = compression.isEmpty ? blob : try Self.gunzip(path)
        let seen = Seen()
        var extractor = LayerExtractor(root: root)
        extractor.progress = { seen.add($0) }
        try extractor.apply(
            layer: path, name: nil,
            expecting: LayerExpectation(diffID: Digest.sha256(of: Array(tar)), compression: compression.isEmpty ? Compression.none : .gzip))
        let values = seen.all
        #expect(values.count >= 3, "\(values)")
        #expect(values == values.sorted(), "\(values)")
        #expect(values.last == Int64(blob.count), "the whole blob was read: \(values) of \(blob.count)")
        #expect(FileManager.default.fileExists(atPath: root + "/big"))
    }

    static func gunzip(_ path: String) throws -> Data {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/gzip")
        p.arguments = ["-dc", path]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return data
    }
}
