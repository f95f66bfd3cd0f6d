// The layer cache's pure parts: key chaining, the content digest of copied files, entry times.
import Foundation
import PluginAPI
import TestSupport
import Testing

@testable import LayerCache

@Suite("Layer cache keys")
struct LayerCacheKeyTests {
    @Test("keys depend on the seed, every part and the parts' boundaries; the chain moves on by outputs")
    func chain() {
        let amd64 = CacheChain.seed(
            base: "sha256:" + String(repeating: "a", count: 64), platform: Platform(os: "linux", architecture: "amd64"))
        let arm64 = CacheChain.seed(
            base: "sha256:" + String(repeating: "a", count: 64), platform: Platform(os: "linux", architecture: "arm64"))
        #expect(amd64 != arm64)
        #expect(amd64.key(["RUN", "x"]) == amd64.key(["RUN", "x"]))
        #expect(amd64.key(["ab", "c"]) != amd64.key(["a", "bc"]))
        #expect(amd64.key(["RUN", "x"]) != arm64.key(["RUN", "x"]))
        var a = amd64
        var b = amd64
        a.advance(["layer", "sha256:1"])
        b.advance(["layer", "sha256:1"])
        #expect(a == b && a != amd64)
        b.advance(["meta", "ENV A=1"])
        #expect(a.key(["RUN", "x"]) != b.key(["RUN", "x"]))
        #expect(amd64.key(["RUN", "x"]).tag.count == 64)
    }

    @Test("the content digest sees names, modes, owners, content and link targets, not times")
    func contentDigest() throws {
        let tree = try TemporaryTree()
        defer { tree.remove() }
        let file = try tree.write("f", "content\n")
        try FileManager.default.createSymbolicLink(atPath: tree.url("l"), withDestinationPath: "f")
        let entries = [
            ContentDigest.Entry(name: "app/f", hostPath: BytePath(file)),
            ContentDigest.Entry(name: "app/l", hostPath: BytePath(tree.url("l"))),
        ]
        let base = try ContentDigest.of(entries)
        var times = [timespec(tv_sec: 1_000_000, tv_nsec: 0), timespec(tv_sec: 1_000_000, tv_nsec: 0)]
        #expect(utimensat(AT_FDCWD, file, &times, 0) == 0)
        #expect(try ContentDigest.of(entries) == base)
        #expect(try ContentDigest.of(entries.reversed()) == base)
        #expect(try ContentDigest.of([ContentDigest.Entry(name: "app/g", hostPath: BytePath(file)), entries[1]]) != base)
        #expect(try ContentDigest.of([ContentDigest.Entry(name: "app/f", hostPath: BytePath(file), uid: 5), entries[1]]) != base)
        #expect(
            try ContentDigest.of([ContentDigest.Entry(name: "app/f", hostPath: BytePath(file), permissions: 0o600), entries[1]]) != base)
        _ = try tree.write("f", "Content\n")
        #expect(try ContentDigest.of(entries) != base)
        _ = try tree.write("f", "content\n")
        #expect(try ContentDigest.of(entries) == base)
        try FileManager.default.removeItem(atPath: tree.url("l"))
        try FileManager.default.createSymbolicLink(atPath: tree.url("l"), withDestinationPath: "g")
        #expect(try ContentDigest.of(entries) != base)
        #expect(throws: ContentDigest.Failure.self) {
            try ContentDigest.of([ContentDigest.Entry(name: "x", hostPath: BytePath(tree.url("none")))])
        }
    }

    @Test("entry times: RFC 3339 with fractions and offsets")
    func timestamps() {
        #expect(CacheEntryFormat.parseTimestamp("2026-12-04T19:11:17Z") == 1_796_411_477)
        #expect(CacheEntryFormat.parseTimestamp("2026-12-04T19:11:17.123456789Z") == 1_796_411_477)
        #expect(CacheEntryFormat.parseTimestamp("2026-12-04T20:11:17+01:00") == 1_796_411_477)
        #expect(CacheEntryFormat.parseTimestamp("2026-12-04T18:41:17-00:30") == 1_796_411_477)
        #expect(CacheEntryFormat.parseTimestamp("yesterday") == nil)
    }
}
