// Names are bytes in layers (issue 12, item 6): extraction keeps names, link targets and
// whiteouts that are not UTF-8 exactly, whichever header carries them (GNU/ustar name fields,
// pax `path` with `hdrcharset=BINARY`), and the layer writer writes them back exactly. The tars
// are made and read by Python's tarfile (surrogateescape), independent of libarchive.
import Foundation
import Glibc
import PluginAPI
import SystemCalls
import Testing

@testable import Archive

@Suite("Layer names are bytes")
struct ByteNameArchiveTests {
    static let e9 = Array("caf".utf8) + [0xE9]
    static let e8 = Array("caf".utf8) + [0xE8]

    /// One tar entry: kind `f` (file), `d` (directory), `l` (symlink) or `h` (hardlink).
    struct RawEntry {
        var kind: Character
        var name: [UInt8]
        var data: [UInt8] = []
        var link: [UInt8] = []
    }

    /// Writes `entries` to `path` in tarfile's `format` ("gnu" or "pax").
    static func writeTar(_ entries: [RawEntry], to path: String, format: String) throws {
        let code = """
            import io, sys, tarfile
            fmt = {'gnu': tarfile.GNU_FORMAT, 'pax': tarfile.PAX_FORMAT}[sys.argv[2]]
            dec = lambda h: bytes.fromhex(h).decode('utf-8', 'surrogateescape')
            with tarfile.open(sys.argv[1], 'w', format=fmt, encoding='utf-8', errors='surrogateescape') as t:
                for spec in sys.argv[3:]:
                    kind, name, data, link = spec.split(':')
                    i = tarfile.TarInfo(dec(name)); i.mtime = 1000000000; i.mode = 0o644
                    body = None
                    if kind == 'd': i.type = tarfile.DIRTYPE; i.mode = 0o755
                    elif kind == 'l': i.type = tarfile.SYMTYPE; i.linkname = dec(link)
                    elif kind == 'h': i.type = tarfile.LNKTYPE; i.linkname = dec(link)
                    else: d = bytes.fromhex(data); i.size = len(d); body = io.BytesIO(d)
                    t.addfile(i, body)
            """
        let specs = entries.map { "\($0.kind):\(hex($0.name)):\(hex($0.data)):\(hex($0.link))" }
        try run(["python3", "-c", code, path, format] + specs)
    }

    /// Entry names and link targets of a tar as raw bytes.
    static func readTar(_ path: String) throws -> [(name: [UInt8], link: [UInt8])] {
        let code = """
            import sys, tarfile
            with tarfile.open(sys.argv[1], 'r:*', encoding='utf-8', errors='surrogateescape') as t:
                for m in t:
                    print(m.name.encode('utf-8', 'surrogateescape').hex(), m.linkname.encode('utf-8', 'surrogateescape').hex() or '-')
            """
        return try run(["python3", "-c", code, path]).text.split(separator: "\n").map { line in
            let f = line.split(separator: " ").map(String.init)
            return (unhex(f[0]), f[1] == "-" ? [] : unhex(f[1]))
        }
    }

    static func hex(_ b: [UInt8]) -> String { b.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined() }
    static func unhex(_ s: String) -> [UInt8] {
        stride(from: 0, to: s.utf8.count, by: 2).map { i in
            UInt8(String(s.dropFirst(i).prefix(2)), radix: 16) ?? 0
        }
    }

    static func names(in directory: String) throws -> [BytePath] {
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw SystemCallError(call: "open", subject: directory, code: errno) }
        defer { close(fd) }
        return try directoryNames(fd, subject: directory)
    }

    static func contents(_ path: BytePath) throws -> [UInt8] {
        let fd = path.withCString { open($0, O_RDONLY | O_CLOEXEC) }
        guard fd >= 0 else { throw SystemCallError(call: "open", subject: path.description, code: errno) }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 64)
        let n = read(fd, &buffer, buffer.count)
        return Array(buffer[0..<max(0, n)])
    }

    @Test("extraction keeps names, link targets and whiteouts that are not UTF-8", arguments: ["gnu", "pax"])
    func extraction(format: String) throws {
        let tmp = try TempDir("kiln-bytes")
        let root = try tmp.mkdir("root")
        let d = Array("d/".utf8)
        let gone = Array("gone".utf8) + [0xFF]
        try Self.writeTar(
            [
                RawEntry(kind: "d", name: d), RawEntry(kind: "f", name: d + Self.e9, data: Array("E9".utf8)),
                RawEntry(kind: "f", name: d + Self.e8, data: Array("E8".utf8)),
                RawEntry(kind: "l", name: d + Array("link".utf8), link: Self.e9),
                RawEntry(kind: "h", name: d + Array("hard".utf8), link: d + Self.e8),
                RawEntry(kind: "d", name: gone + [0x2F]), RawEntry(kind: "f", name: gone + [0x2F] + Self.e9, data: [0x78]),
            ], to: tmp.sub("lower.tar"), format: format)
        try LayerExtractor(root: root).apply(layer: tmp.sub("lower.tar"))
        let dir = BytePath(root + "/d/")
        #expect(try Self.names(in: root + "/d") == ["hard", "link", BytePath(bytes: Self.e8), BytePath(bytes: Self.e9)].sorted())
        #expect(try Self.contents(dir + BytePath(bytes: Self.e9)) == Array("E9".utf8))
        #expect(try Self.contents(dir + BytePath(bytes: Self.e8)) == Array("E8".utf8))
        #expect(try readLink(dir + "link") == BytePath(bytes: Self.e9))
        #expect(try lstatIfPresent(dir + "hard")?.st_ino == lstatIfPresent(dir + BytePath(bytes: Self.e8))?.st_ino)

        // `.wh.caf\xE8` deletes exactly that name; `.wh.gone\xFF` a directory holding such a name.
        try Self.writeTar(
            [
                RawEntry(kind: "f", name: d + Array(".wh.".utf8) + Self.e8),
                RawEntry(kind: "f", name: Array(".wh.".utf8) + gone),
            ], to: tmp.sub("upper.tar"), format: format)
        try LayerExtractor(root: root).apply(layer: tmp.sub("upper.tar"))
        #expect(try Self.names(in: root + "/d") == [BytePath(bytes: Self.e9), "hard", "link"])
        #expect(try Self.names(in: root) == ["d"])
    }

    @Test("the layer writer writes names, link targets and whiteouts that are not UTF-8 exactly")
    func writing() throws {
        let tmp = try TempDir("kiln-bytes")
        let root = try tmp.mkdir("root")
        let dir = BytePath(root)
        let fd = (dir + "/" + BytePath(bytes: Self.e9)).withCString { open($0, O_CREAT | O_WRONLY | O_CLOEXEC, 0o644) }
        try #require(fd >= 0)
        close(fd)
        #expect(BytePath(bytes: Self.e9).withCString { t in (dir + "/link").withCString { symlink(t, $0) } } == 0)
        let writer = try LayerWriter(path: tmp.sub("layer.tar"), options: .init(compression: .none))
        try writer.addPath(dir + "/" + BytePath(bytes: Self.e9), as: BytePath(bytes: Self.e9))
        try writer.addPath(dir + "/link", as: "link")
        try writer.addWhiteout(for: BytePath(bytes: Array("sub/".utf8) + Self.e8))
        _ = try writer.finish()
        let entries = try Self.readTar(tmp.sub("layer.tar"))
        #expect(entries.map(\.name) == [Self.e9, Array("link".utf8), Array("sub/.wh.".utf8) + Self.e8])
        #expect(entries[1].link == Self.e9)
    }
}
