// The layer writer: round trips through the extractor, tar format details checked with GNU tar
// and Python's tarfile, digests checked with sha256sum/zcat/zstd, reproducibility.
import Foundation
import Glibc
import PluginAPI
import Testing

@testable import Archive

@Suite("Layer writer")
struct LayerWriterTests {
    @Test("every file type and its metadata survive write → extract", .enabled(if: rootOrCI), arguments: Compression.allCases)
    func roundTrip(compression: Compression) throws {
        requireRoot()
        let tmp = try TempDir()
        let src = try tmp.mkdir("src")
        try SampleTree.make(at: src)
        let blob = try SampleTree.layer(of: src, to: tmp.sub("layer"), options: .init(compression: compression))
        let dst = try tmp.mkdir("dst")
        let summary = try LayerExtractor(root: dst).apply(layer: blob.path)
        #expect(summary.warnings.isEmpty, "\(summary.warnings)")
        let (got, want) = (try listing(dst, mtimes: true), try listing(src, mtimes: true))
        #expect(got == want, "differs: \(got.filter { !want.contains($0) }) vs \(want.filter { !got.contains($0) })")
        // The hardlink pair is one inode again.
        #expect(try stat(dst + "/usr/bin/perl").st_ino == stat(dst + "/usr/bin/perl5.36").st_ino)
        #expect(try stat(dst + "/usr/bin/su").st_mode & 0o7777 == 0o4755)
        #expect(try stat(dst + "/tmp").st_mode & 0o7777 == 0o1777)
        #expect(try readXattrs(dst + "/usr/bin/ping").first { $0.0 == "security.capability" }?.1 == netBindServiceCapability)
        #expect(blob.descriptor.mediaType == compression.layerMediaType(docker: false))
    }

    @Test("names are relative, directories end in /, hardlink targets are relative", .enabled(if: rootOrCI))
    func tarShape() throws {
        let tmp = try TempDir()
        let src = try tmp.mkdir("src")
        try SampleTree.make(at: src)
        let blob = try SampleTree.layer(of: src, to: tmp.sub("layer.tgz"))
        let names = try tarNames(blob.path)
        #expect(names.contains("usr/"))
        #expect(names.contains("usr/bin/perl5.36\tusr/bin/perl"), "hardlink target must be the relative in-layer name: \(names)")
        #expect(names.contains("usr/bin/abs-link\t/usr/bin/tool"), "symlink targets are stored literally")
        #expect(!names.contains { $0.hasPrefix("/") || $0.hasPrefix("./") })
        let gnu = try gnuTarListing(blob.path)
        #expect(gnu.contains { $0.hasPrefix("hrw") || $0.contains("usr/bin/perl5.36 link to usr/bin/perl") })
        #expect(gnu.contains { $0.hasPrefix("-rwsr-xr-x 0/0") && $0.hasSuffix("usr/bin/su") })
        #expect(gnu.contains { $0.hasPrefix("drwxrwsr-x 1000/50") && $0.contains("1500000000") == false && $0.hasSuffix("srv/shared/") })
        #expect(gnu.contains { $0.contains("2020-09-13 12:26:40.123456789") && $0.hasSuffix("usr/bin/tool") })
        #expect(gnu.contains { $0.hasPrefix("prw--w----") && $0.hasSuffix("dev/fifo") })
        if isRoot { #expect(gnu.contains { $0.hasPrefix("crw-rw-rw- 0/0") && $0.contains("1,3") && $0.hasSuffix("dev/null") }) }
        // uname/gname are empty: GNU tar shows the numeric ids either way, Python shows the names.
        try python(
            """
            import sys, tarfile
            for m in tarfile.open(sys.argv[1]):
                assert m.uname == '' and m.gname == '', (m.name, m.uname, m.gname)
                if m.name == 'usr/bin/ping':
                    assert m.pax_headers['SCHILY.xattr.security.capability'].encode('latin-1', 'surrogateescape')[:4] == bytes([1,0,0,2]), m.pax_headers
                    assert not any(k.startswith('LIBARCHIVE.') for k in m.pax_headers), m.pax_headers
                assert 'atime' not in m.pax_headers and 'ctime' not in m.pax_headers, m.pax_headers
            """, [blob.path])
    }

    @Test("digest, diff ID and size match sha256sum, zcat | sha256sum, zstd -dc | sha256sum", arguments: Compression.allCases)
    func digestsAreIndependentlyVerifiable(compression: Compression) throws {
        let tmp = try TempDir()
        let src = try tmp.mkdir("src")
        try FileManager.default.createDirectory(atPath: src + "/a/b", withIntermediateDirectories: true)
        for i in 0..<50 { try writeFile(src + "/a/b/f\(i)", String(repeating: "line \(i)\n", count: i * 100)) }
        let blob = try SampleTree.layer(of: src, to: tmp.sub("layer"), options: .init(compression: compression))
        let sha = try run(["sha256sum", blob.path]).text.prefix(64)
        #expect(blob.descriptor.digest.encoded == String(sha))
        let decompress: String
        switch compression {
        case .gzip: decompress = "zcat"
        case .zstd: decompress = "zstd -dc"
        case .none: decompress = "cat"
        }
        let diff = try run(["sh", "-c", "\(decompress) '\(blob.path)' | sha256sum"]).text.prefix(64)
        #expect(blob.diffID.encoded == String(diff))
        let size = try run(["sh", "-c", "\(decompress) '\(blob.path)' | wc -c"]).text.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(String(blob.uncompressedSize) == size)
        #expect(blob.descriptor.size == Int64(try stat(blob.path).st_size))
        if compression == .none { #expect(blob.diffID == blob.descriptor.digest) }
    }

    @Test("with a timestamp override two runs over different mtimes are byte-identical", arguments: [Compression.gzip, .zstd])
    func reproducible(compression: Compression) throws {
        let tmp = try TempDir()
        let src = try tmp.mkdir("src")
        try FileManager.default.createDirectory(atPath: src + "/d", withIntermediateDirectories: true)
        try writeFile(src + "/d/file", "same content\n")
        try writeFile(src + "/d/other", String(repeating: "x", count: 100_000))
        let options = LayerWriter.Options(compression: compression, level: 9, timestampOverride: 0)
        let first = try SampleTree.layer(of: src, to: tmp.sub("one"), options: options)
        sleep(1)
        try run(["touch", src + "/d/file", src + "/d", src + "/d/other"])
        let second = try SampleTree.layer(of: src, to: tmp.sub("two"), options: options)
        #expect(first.descriptor.digest == second.descriptor.digest)
        #expect(first.diffID == second.diffID)
        try run(["cmp", first.path, second.path])
        // SOURCE_DATE_EPOCH clamps: earlier times stay, later ones become the epoch.
        let clamped = try SampleTree.layer(
            of: src, to: tmp.sub("three"), options: .init(compression: compression, timestampOverride: 1_000))
        #expect(try gnuTarListing(clamped.path).allSatisfy { $0.contains("1970-01-01 00:16:40") })
        if compression == .gzip {
            let header = [UInt8](try Data(contentsOf: URL(fileURLWithPath: first.path)).prefix(10))
            #expect(header[0] == 0x1f && header[1] == 0x8b)
            #expect(header[4...7].allSatisfy { $0 == 0 }, "gzip header mtime must be 0")
        }
    }

    @Test("the blob does not depend on the thread count; gzip is one member", arguments: [Compression.gzip, .zstd])
    func threadIndependence(compression: Compression) throws {
        let tmp = try TempDir()
        let src = try tmp.mkdir("src")
        var noise = [UInt8](repeating: 0, count: 1 << 20)
        for i in noise.indices { noise[i] = UInt8(truncatingIfNeeded: (i &* 7919) ^ (i >> 9)) }
        try Data(noise).write(to: URL(fileURLWithPath: src + "/noise"))
        try writeFile(src + "/text", String(repeating: "kiln layers are reproducible\n", count: 80_000))
        let blobs = try [1, 2, 4].map { t in
            try SampleTree.layer(of: src, to: tmp.sub("t\(t)"), options: .init(compression: compression, threads: t, timestampOverride: 0))
        }
        #expect(Set(blobs.map(\.descriptor.digest)).count == 1)
        #expect(blobs[0].uncompressedSize > 2 * ChunkedGzip.chunkSize, "the input spans several chunks")
        if compression == .gzip {
            try run(["gzip", "-t", blobs[1].path])
            try python(
                """
                import sys, zlib
                d = zlib.decompressobj(31)
                out = d.decompress(open(sys.argv[1], 'rb').read())
                assert d.eof and d.unused_data == b'', 'more than one gzip member'
                assert len(out) == int(sys.argv[2]), (len(out), sys.argv[2])
                """, [blobs[1].path, String(blobs[1].uncompressedSize)])
        }
    }

    // Each chunk is a complete deflate stream from libdeflate turned into a middle piece (its last
    // block made non-final, then an empty stored block). Noise makes stored blocks, zeros long
    // matches, text the usual mix; with many chunks the end-of-block code lands on every bit of
    // a byte, both where the stored block's header fits in the padding and where it does not.
    @Test(
        "gzip pieces join into one member that inflates to the tar, at every level and for every kind of data", arguments: [0, 1, 6, 9, 12])
    func gzipPiecesJoin(level: Int) throws {
        let tmp = try TempDir()
        let w = try LayerWriter(path: tmp.sub("layer"), options: .init(level: level, threads: 2, timestampOverride: 0))
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> UInt64 {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return state
        }
        let words = ["layer", "kiln", "chunk", "deflate", "block", "member", "stored", "final"]
        for i in 0..<24 {
            var bytes = [UInt8](repeating: 0, count: 100_000 + Int(next() % 200_000))
            switch i % 3 {
            case 0: for j in bytes.indices { bytes[j] = UInt8(truncatingIfNeeded: next()) }
            case 1: break
            default:
                var text = ""
                while text.utf8.count < bytes.count { text += words[Int(next() % 8)] + (next() % 5 == 0 ? "\n" : " ") }
                bytes = Array(text.utf8.prefix(bytes.count))
            }
            try w.addFile(named: "f\(i)", contents: bytes, permissions: 0o644, uid: 0, gid: 0, mtime: FileTime(seconds: 0, nanoseconds: 0))
        }
        let blob = try w.finish()
        #expect(blob.uncompressedSize > 8 * Int64(ChunkedGzip.chunkSize), "many chunks")
        try python(
            """
            import hashlib, sys, zlib
            d = zlib.decompressobj(31)
            out = d.decompress(open(sys.argv[1], 'rb').read())
            assert d.eof and d.unused_data == b'', 'more than one gzip member, or a stream that ends early'
            assert 'sha256:' + hashlib.sha256(out).hexdigest() == sys.argv[2], 'inflates to other bytes than the diff ID says'
            """, [blob.path, blob.diffID.description])
        try run(["gzip", "-t", blob.path])
    }

    @Test("a gzip level libdeflate does not have fails the layer with the level named")
    func gzipLevelOutOfRange() throws {
        let tmp = try TempDir()
        let w = try LayerWriter(path: tmp.sub("layer"), options: .init(level: 13, timestampOverride: 0))
        let error = #expect(throws: (any Error).self) {
            try w.addFile(named: "f", contents: [1, 2, 3], permissions: 0o644, uid: 0, gid: 0, mtime: FileTime(seconds: 0, nanoseconds: 0))
            _ = try w.finish()
        }
        #expect(String(describing: error).contains("level 13"), "\(String(describing: error))")
    }

    @Test("kept gzip chunks: the same blob, only changed chunks compressed again, a damaged chunk never used")
    func deflateChunkCache() throws {
        let tmp = try TempDir()
        let src = try tmp.mkdir("src")
        var noise = [UInt8](repeating: 0, count: 3 * ChunkedGzip.chunkSize)
        for i in noise.indices { noise[i] = UInt8(truncatingIfNeeded: (i &* 7919) ^ (i >> 9) ^ (i >> 17)) }
        try Data(noise).write(to: URL(fileURLWithPath: src + "/noise"))
        let cache = tmp.sub("chunks")
        func layer(_ name: String, cached: Bool) throws -> LayerBlob {
            try SampleTree.layer(
                of: src, to: tmp.sub(name), options: .init(timestampOverride: 0, deflateCache: cached ? cache : nil))
        }
        let plain = try layer("plain", cached: false)
        let first = try layer("first", cached: true)
        let second = try layer("second", cached: true)
        #expect(first.descriptor == plain.descriptor && second.descriptor == plain.descriptor)
        #expect(first.reusedChunks == 0 && first.chunks >= 4)
        #expect(second.reusedChunks == second.chunks, "every chunk kept from the first")
        // Same size, one byte changed near the end: the chunks before it are reused.
        noise[noise.count - 100] ^= 0xff
        try Data(noise).write(to: URL(fileURLWithPath: src + "/noise"))
        let changedPlain = try layer("changed-plain", cached: false)
        let changed = try layer("changed", cached: true)
        #expect(changed.descriptor == changedPlain.descriptor && changed.diffID == changedPlain.diffID)
        #expect(changed.reusedChunks == changed.chunks - 1, "only the last chunk differs")
        // A damaged chunk on disk is compressed again: the blob stays the plain one.
        for name in try FileManager.default.contentsOfDirectory(atPath: cache) {
            var bytes = try Array(Data(contentsOf: URL(fileURLWithPath: cache + "/" + name)))
            bytes[bytes.count / 2] ^= 0x55
            try Data(bytes).write(to: URL(fileURLWithPath: cache + "/" + name))
        }
        let damaged = try layer("damaged", cached: true)
        #expect(damaged.descriptor == changedPlain.descriptor)
        #expect(damaged.reusedChunks == 0)
    }

    @Test("bytes, synthetic entries, overrides and markers are written as asked")
    func syntheticEntries() throws {
        let tmp = try TempDir()
        try writeFile(tmp.sub("src"), "from disk\n", mode: 0o600)
        let w = try LayerWriter(path: tmp.sub("layer"), options: .init(compression: .zstd, dockerMediaTypes: true))
        try w.addDirectory(named: "/etc/", permissions: 0o750, uid: 7, gid: 8, mtime: FileTime(seconds: 100, nanoseconds: 0))
        try w.addFile(
            named: "etc/motd", contents: Array("heredoc\n".utf8), permissions: 0o640, uid: 1, gid: 2,
            mtime: FileTime(seconds: 200, nanoseconds: 0))
        try w.addPath(
            tmp.sub("src"), as: "etc/copied",
            overrides: .init(uid: 33, gid: 34, permissions: 0o4711, mtime: FileTime(seconds: 300, nanoseconds: 0)))
        try w.addSymlink(named: "etc/link", target: "motd", mtime: FileTime(seconds: 400, nanoseconds: 0))
        try w.addHardlink(named: "etc/motd2", target: "/etc/motd")
        #expect(throws: LayerWriter.Error.self) { try w.addHardlink(named: "x", target: "not/written") }
        try w.addWhiteout(for: "var/gone")
        try w.addOpaqueMarker(directory: "opt")
        #expect(throws: LayerWriter.Error.self) { try w.addFile(named: "../x", contents: [], mtime: FileTime(seconds: 0, nanoseconds: 0)) }
        let blob = try w.finish()
        #expect(throws: LayerWriter.Error.self) { try w.finish() }
        #expect(blob.descriptor.mediaType == .ociLayerZstd, "zstd has no Docker media type")
        #expect(blob.entryCount == 7)
        let gnu = try gnuTarListing(blob.path)
        #expect(
            gnu.map(collapsingSpaces) == [
                "drwxr-x--- 7/8 0 1970-01-01 00:01:40 etc/",
                "-rw-r----- 1/2 8 1970-01-01 00:03:20 etc/motd",
                "-rws--x--x 33/34 10 1970-01-01 00:05:00 etc/copied",
                "lrwxrwxrwx 0/0 0 1970-01-01 00:06:40 etc/link -> motd",
                "hrw-r--r-- 0/0 0 1970-01-01 00:00:00 etc/motd2 link to etc/motd",
                "---------- 0/0 0 1970-01-01 00:00:00 var/.wh.gone",
                "---------- 0/0 0 1970-01-01 00:00:00 opt/.wh..wh..opq",
            ])
    }
}
