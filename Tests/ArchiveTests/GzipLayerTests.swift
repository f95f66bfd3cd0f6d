// gzip layer blobs are inflated by ISA-L (GzipInflater), not libarchive: every form of gzip a
// producer may write must extract to the same files and diff ID, and every kind of damage must
// stop the layer with a message that says what is wrong.
import Foundation
import PluginAPI
import Testing

@testable import Archive

@Suite("gzip layers (ISA-L inflate)")
struct GzipLayerTests {
    /// A tar of a few small files and one of 3 MiB (several input and output buffers).
    static func sampleTar(in tmp: TempDir) throws -> (path: String, bytes: [UInt8]) {
        var generator = SystemRandomNumberGenerator()
        let big = (0..<(3 << 20) / 12).map { _ in String(generator.next() as UInt64, radix: 36) }.joined(separator: " ")
        let path = tmp.sub("layer.tar")
        try TarBuilder.write(
            [.dir("etc"), .file("etc/hostname", "kiln\n"), .file("big", big), .symlink("link", to: "etc/hostname"), .file("last", "end")],
            to: path)
        return (path, Array(try Data(contentsOf: URL(fileURLWithPath: path))))
    }

    /// Gzips `tar` with Python's zlib: `members` pieces, each with the header fields gzip allows
    /// (FEXTRA, FNAME, FCOMMENT, FHCRC on the first; an empty member in between), then `trailer`.
    static func gzip(_ tar: String, to blob: String, members: Int, trailer: String = "") throws {
        try python(
            """
            import struct, sys, zlib
            data = open(sys.argv[1], 'rb').read()
            members, trailer = int(sys.argv[3]), bytes.fromhex(sys.argv[4])
            def member(payload, level, fields):
                flags, extra = 0, b''
                if fields:
                    flags = 0x04 | 0x08 | 0x10 | 0x02
                    sub = b'KL' + struct.pack('<H', 5) + b'kiln!'
                    extra = struct.pack('<H', len(sub)) + sub + b'layer.tar\\0' + b'a comment\\0'
                head = b'\\x1f\\x8b\\x08' + bytes([flags]) + struct.pack('<I', 1700000000) + b'\\x00\\x03' + extra
                if fields:
                    head += struct.pack('<H', zlib.crc32(head) & 0xffff)
                c = zlib.compressobj(level, zlib.DEFLATED, -15)
                body = c.compress(payload) + c.flush()
                return head + body + struct.pack('<II', zlib.crc32(payload), len(payload) & 0xffffffff)
            cut = [len(data) * i // members for i in range(members + 1)]
            out = b''
            for i in range(members):
                out += member(data[cut[i]:cut[i + 1]], [6, 1, 9][i % 3], i == 0)
                if i == 0 and members > 1:
                    out += member(b'', 6, False)
            open(sys.argv[2], 'wb').write(out + trailer)
            """, [tar, blob, String(members), trailer])
    }

    static func extract(_ blob: String, tar: [UInt8], into root: String) throws {
        try LayerExtractor(root: root).apply(
            layer: blob, name: "layer 1", expecting: LayerExpectation(diffID: Digest.sha256(of: tar), compression: .gzip))
    }

    @Test(
        "one member, several members with every header field, bytes after the last member: the same files and diff ID",
        arguments: [
            (1, ""), (3, ""), (3, "00000000"), (1, "6b696c6e0a"),
        ])
    func formsOfGzip(members: Int, trailer: String) throws {
        let tmp = try TempDir()
        let tar = try Self.sampleTar(in: tmp)
        let blob = tmp.sub("layer.tar.gz")
        try Self.gzip(tar.path, to: blob, members: members, trailer: trailer)
        #expect(GzipInflater.sniff(path: blob))
        let root = try tmp.mkdir("root")
        try Self.extract(blob, tar: tar.bytes, into: root)
        #expect(try String(contentsOfFile: root + "/etc/hostname", encoding: .utf8) == "kiln\n")
        #expect(try String(contentsOfFile: root + "/last", encoding: .utf8) == "end")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: root + "/link") == "etc/hostname")
        let big = try #require(try FileManager.default.attributesOfItem(atPath: root + "/big")[.size] as? Int)
        #expect(big > 3_000_000)
    }

    /// Damage to the blob, as byte edits Python makes: each must fail the layer naming the cause.
    @Test(
        "damage stops the layer with the cause named",
        arguments: [
            ("crc", "checksum"), ("length", "checksum"), ("truncated", "truncated gzip input"),
            ("method", "compression method other than deflate"), ("deflate", ""),
        ])
    func damage(kind: String, message: String) throws {
        let tmp = try TempDir()
        let tar = try Self.sampleTar(in: tmp)
        let blob = tmp.sub("layer.tar.gz")
        try Self.gzip(tar.path, to: blob, members: 1)
        try python(
            """
            import sys
            b = bytearray(open(sys.argv[1], 'rb').read())
            kind = sys.argv[2]
            if kind == 'crc': b[-8] ^= 0x01
            elif kind == 'length': b[-1] ^= 0x01
            elif kind == 'truncated': b = b[:len(b) * 3 // 5]
            elif kind == 'method': b[2] = 7
            elif kind == 'deflate':
                for i in range(len(b) // 2, len(b) // 2 + 64): b[i] ^= 0xff
            open(sys.argv[1], 'wb').write(b)
            """, [blob, kind])
        let root = try tmp.mkdir("root")
        do {
            try Self.extract(blob, tar: tar.bytes, into: root)
            Issue.record("a \(kind) blob was extracted")
        } catch let error as LayerExtractor.Error {
            guard case .unreadableArchive(let archive, let reason) = error else {
                // Damaged deflate data can also decode to other bytes that are caught later.
                if kind == "deflate", case .diffIDMismatch = error { return }
                Issue.record("\(kind): \(error)")
                return
            }
            #expect(archive == "layer 1")
            #expect(message.isEmpty || reason.contains(message), "\(kind): \(error)")
        }
    }

    /// Decoding runs ahead on a thread of its own: a layer refused at its first entry must stop
    /// that thread and return, however far ahead it is (a hang or a crash here is the failure).
    @Test("a layer refused early stops its decoding thread; repeated, nothing hangs or leaks a file descriptor")
    func refusedEarly() throws {
        let tmp = try TempDir()
        var generator = SystemRandomNumberGenerator()
        let big = (0..<(6 << 20) / 12).map { _ in String(generator.next() as UInt64, radix: 36) }.joined(separator: " ")
        let tarPath = tmp.sub("hostile.tar")
        try TarBuilder.write([.file("ok", "fine"), .file("../escape", "x"), .file("big", big)], to: tarPath)
        let tar = Array(try Data(contentsOf: URL(fileURLWithPath: tarPath)))
        let blob = tmp.sub("hostile.tar.gz")
        try Self.gzip(tarPath, to: blob, members: 1)
        for round in 0..<20 {
            let root = try tmp.mkdir("root\(round)")
            #expect(throws: LayerExtractor.Error.self) { try Self.extract(blob, tar: tar, into: root) }
            #expect(!FileManager.default.fileExists(atPath: tmp.path + "/escape"))
        }
        // Other tests run in this process at the same time: count only descriptors on this blob.
        let open = try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").filter {
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/" + $0)) == blob
        }
        #expect(open.isEmpty, "the blob is still open on descriptors \(open)")
    }
}
