// Sparse files in full mode (issue 12, item 10): holes are hashed as zeros without being read,
// and the digest is exactly that of the bytes (checked against sha256sum and an in-memory
// stream). Whether the holes were read is counted with /proc/self/io, never timed.
import Foundation
import Glibc
import PluginAPI
import PluginSupport
import TestSupport
import Testing

@Suite("Full mode: sparse files hash their holes without reading them")
struct SparseHashingTests {
    static let mib = 1 << 20

    /// `rchar` of /proc/self/io: bytes this process read through read-like syscalls; nil when
    /// the kernel has no task I/O accounting.
    static func bytesRead() -> Int64? {
        guard let text = try? String(contentsOfFile: "/proc/self/io", encoding: .utf8) else { return nil }
        let line = text.split(separator: "\n").first { $0.hasPrefix("rchar:") }
        return line.flatMap { Int64($0.dropFirst(6).trimmingCharacters(in: .whitespaces)) }
    }

    /// data (1 MiB) · hole (`hole` MiB) · data (1 MiB + 5 bytes, unaligned) · trailing hole (3 MiB)
    static func makeSparse(_ path: String, hole: Int) throws -> [(offset: Int, bytes: [UInt8])] {
        let pieces = [
            (offset: 0, bytes: TestImageLayout.randomBytes(mib)),
            (offset: (1 + hole) * mib, bytes: TestImageLayout.randomBytes(mib + 5)),
        ]
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        #expect(fd >= 0)
        defer { close(fd) }
        for piece in pieces {
            let n = piece.bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, off_t(piece.offset)) }
            #expect(n == piece.bytes.count)
        }
        #expect(ftruncate(fd, off_t((2 + hole) * mib + 5 + 3 * mib)) == 0)
        return pieces
    }

    /// The digest of the same bytes, streamed from memory (zeros between the pieces).
    static func expectedDigest(_ pieces: [(offset: Int, bytes: [UInt8])], size: Int) -> Digest {
        var hasher = SHA256Hasher()
        let zeros = [UInt8](repeating: 0, count: mib)
        var at = 0
        for (offset, bytes) in pieces.map({ ($0.offset, $0.bytes) }) + [(size, [])] {
            while at < offset {
                let n = min(zeros.count, offset - at)
                zeros.withUnsafeBytes { hasher.update(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
                at += n
            }
            hasher.update(bytes)
            at += bytes.count
        }
        return hasher.finalize()
    }

    @Test func aSparseFileHashesLikeItsBytes() async throws {
        let tree = try TemporaryTree(prefix: "kiln-snap-sparse")
        defer { tree.remove() }
        let path = tree.url("sparse.img")
        let pieces = try Self.makeSparse(path, hole: 7)
        var info = stat()
        #expect(stat(path, &info) == 0)
        let size = Int(info.st_size)
        try #require(Int(info.st_blocks) * 512 < size, "the file system here does not keep holes: cannot test")
        let expected = Self.expectedDigest(pieces, size: size)
        let sum = try await ProcessRunner.check("sha256sum", [path])
        #expect(sum.stdout.hasPrefix(expected.encoded), "the in-memory stream and sha256sum disagree")

        let full = try SnapshotPlugins.strategy("full")
        let snapshot = try await full.capture(root: tree.path, ignoring: IgnoreList())
        #expect(snapshot.records["sparse.img"]?.contentDigest == expected)
        #expect(snapshot.statistics.bytesHashed == Int64(size))
    }

    /// A 512 MiB hole between two pieces of data: the capture reads the data only. On a
    /// sparse-unaware hasher the process reads the whole hole (> 512 MiB).
    @Test func aLargeHoleIsNotRead() async throws {
        let tree = try TemporaryTree(prefix: "kiln-snap-sparse")
        defer { tree.remove() }
        let path = tree.url("big.img")
        let pieces = try Self.makeSparse(path, hole: 512)
        var info = stat()
        #expect(stat(path, &info) == 0)
        try #require(Int(info.st_blocks) * 512 < Int(info.st_size), "the file system here does not keep holes: cannot test")
        let full = try SnapshotPlugins.strategy("full")
        let before = Self.bytesRead()
        let snapshot = try await full.capture(root: tree.path, ignoring: IgnoreList())
        let after = Self.bytesRead()
        #expect(snapshot.records["big.img"]?.contentDigest == Self.expectedDigest(pieces, size: Int(info.st_size)))
        if let before, let after {
            #expect(after - before < Int64(64 * Self.mib), "the capture read \(after - before) bytes: the holes were read")
        }
    }
}
