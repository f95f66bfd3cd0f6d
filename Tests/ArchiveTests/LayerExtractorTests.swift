// Extraction semantics on tars made by Python's tarfile: whiteouts, opaque directories, type
// replacement, the ignore list, directory mtimes, ownership and modes; and ADD's archives.
import CKilnSys
import Foundation
import Glibc
import PluginAPI
import SystemCalls
import Testing

@testable import Archive

@Suite("Layer extractor")
struct LayerExtractorTests {
    func layers(_ tmp: TempDir, _ tars: [[TarEntry]], compression: String = "gz") throws -> [String] {
        try tars.enumerated().map { i, entries in
            let p = tmp.sub("layer\(i)")
            try TarBuilder.write(entries, to: p, compression: compression)
            return p
        }
    }

    let lower: [TarEntry] = [
        .dir("d/"), .file("d/a"), .file("d/b"), .dir("d/sub/"), .file("d/sub/c"), .dir("other/"), .file("other/keep"),
    ]

    @Test(".wh.name deletes the file or directory below; siblings stay")
    func whiteouts() throws {
        let tmp = try TempDir()
        let root = try tmp.mkdir("root")
        try LayerExtractor(root: root).apply(layers: try layers(tmp, [lower, [.file("d/.wh.a"), .file("d/.wh.sub")]]))
        #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/d").sorted() == ["b"])
        #expect(FileManager.default.fileExists(atPath: root + "/other/keep"))
    }

    @Test(".wh..wh..opq hides lower contents but keeps entries of its own layer, wherever the marker sits")
    func opaque() throws {
        let tmp = try TempDir()
        let root = try tmp.mkdir("root")
        let upper: [TarEntry] = [.dir("d/"), .file("d/new"), .file("d/.wh..wh..opq"), .dir("d/sub/"), .file("d/sub/fresh")]
        try LayerExtractor(root: root).apply(layers: try layers(tmp, [lower, upper]))
        #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/d").sorted() == ["new", "sub"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/d/sub") == ["fresh"])
        #expect(FileManager.default.fileExists(atPath: root + "/other/keep"))
    }

    @Test("an entry of another type replaces what is there", arguments: ["", "gz", "bz2", "xz", "zst"])
    func replacement(compression: String) throws {
        let tmp = try TempDir()
        let root = try tmp.mkdir("root")
        let first: [TarEntry] = [.dir("x/"), .file("x/child"), .file("f"), .symlink("l", to: "/nowhere"), .file("h")]
        let second: [TarEntry] = [.file("x", "now a file"), .dir("f/"), .file("f/child"), .dir("l/"), .symlink("h", to: "x")]
        try LayerExtractor(root: root).apply(layers: try layers(tmp, [first, second], compression: compression))
        #expect(try stat(root + "/x").st_mode & 0o170000 == 0o100000)
        #expect(try String(contentsOfFile: root + "/x", encoding: .utf8) == "now a file")
        #expect(try stat(root + "/f").st_mode & 0o170000 == 0o040000)
        #expect(FileManager.default.fileExists(atPath: root + "/f/child"))
        #expect(try stat(root + "/l").st_mode & 0o170000 == 0o040000)
        #expect(try readLink(root + "/h") == "x")
    }

    @Test("ignored paths are never written, replaced or deleted")
    func ignoreList() throws {
        let tmp = try TempDir()
        let root = try tmp.mkdir("root")
        try FileManager.default.createDirectory(atPath: root + "/proc", withIntermediateDirectories: true)
        try writeFile(root + "/proc/mounted", "host\n")
        try FileManager.default.createDirectory(atPath: root + "/var/run", withIntermediateDirectories: true)
        try writeFile(root + "/var/run/sock", "s")
        try writeFile(root + "/var/other", "o")
        let tars = try layers(
            tmp, [[.file("proc/evil"), .file(".wh.proc"), .file("var/run", "replace"), .file("var/.wh.other"), .file("ok")]])
        let summary = try LayerExtractor(root: root, options: .init(ignoring: IgnoreList(["/proc", "/var/run"]))).apply(layers: tars)
        #expect(summary.ignored == 2)
        #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/proc") == ["mounted"])
        #expect(FileManager.default.fileExists(atPath: root + "/var/run/sock"))
        #expect(!FileManager.default.fileExists(atPath: root + "/var/other"))
        #expect(FileManager.default.fileExists(atPath: root + "/ok"))
        // A symlink planted by the layer does not lead around the ignore list.
        let planted = try layers(
            tmp, [[.symlink("x", to: "/proc"), .file("x/evil"), .symlink("y", to: "/var"), .file("y/.wh.run"), .file("y/run/more")]])
        let s2 = try LayerExtractor(root: root, options: .init(ignoring: IgnoreList(["/proc", "/var/run"]))).apply(layers: planted)
        #expect(s2.ignored == 2, "x/evil and y/run/more resolve into ignored directories")
        #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/proc") == ["mounted"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/var/run") == ["sock"])
        // A whiteout of a directory that holds an ignored path keeps that path.
        try LayerExtractor(root: root, options: .init(ignoring: IgnoreList(["/var/run"]))).apply(
            layers: try layers(tmp, [[.file(".wh.var")]]))
        #expect(FileManager.default.fileExists(atPath: root + "/var/run/sock"))
    }

    @Test("directory mtimes are restored after their contents; ownership, setuid and sticky survive chown", .enabled(if: rootOrCI))
    func metadata() throws {
        requireRoot()
        let tmp = try TempDir()
        let root = try tmp.mkdir("root")
        var su = TarEntry.file("d/su", "x", mode: 0o4755, uid: 1000, gid: 1000)
        su.mtime = 1_234_567_890
        let entries: [TarEntry] = [
            .dir("d/", mode: 0o2750, mtime: 1_111_111_111), su, .dir("d/t/", mode: 0o1777), .file("d/t/in"),
            TarEntry(name: "d/fifo", kind: .fifo, mode: 0o640), TarEntry(name: "d/null", kind: .chr, mode: 0o666),
            .symlink("d/link", to: "su"), .hardlink("d/su2", to: "d/su"),
        ]
        try LayerExtractor(root: root).apply(layers: try layers(tmp, [entries]))
        let d = try stat(root + "/d")
        #expect(d.st_mtim.tv_sec == 1_111_111_111)
        #expect(d.st_mode & 0o7777 == 0o2750)
        let s = try stat(root + "/d/su")
        #expect(s.st_mode & 0o7777 == 0o4755 && s.st_uid == 1000 && s.st_gid == 1000 && s.st_mtim.tv_sec == 1_234_567_890)
        let su2 = try stat(root + "/d/su2")
        #expect(s.st_nlink == 2 && su2.st_ino == s.st_ino)
        #expect(try stat(root + "/d/t").st_mode & 0o7777 == 0o1777)
        #expect(try stat(root + "/d/fifo").st_mode == 0o010640)
        let null = try stat(root + "/d/null")
        #expect(null.st_mode == 0o020666 && null.st_rdev == 0x103)
    }

    @Test("errors name the layer and the entry")
    func errorNamesLayerAndEntry() throws {
        let tmp = try TempDir()
        let root = try tmp.mkdir("root")
        let tars = try layers(tmp, [[.file("fine"), .file("../bad")]])
        do {
            try LayerExtractor(root: root).apply(layer: tars[0], name: "sha256:abc")
            Issue.record("a '..' entry was accepted")
        } catch let e as LayerExtractor.Error {
            #expect(e == .unsafeEntry(archive: "sha256:abc", entry: "../bad", reason: "the name contains '..'"))
            #expect(e.description.contains("sha256:abc") && e.description.contains("'../bad'"))
        }
        try writeFile(tmp.sub("garbage"), "this is not a tar")
        #expect(throws: LayerExtractor.Error.self) { try LayerExtractor(root: root).apply(layer: tmp.sub("garbage")) }
    }

    @Test("ADD extracts tars in every compression into the destination, with --chown", arguments: ["", "gz", "bz2", "xz", "zst"])
    func addArchive(compression: String) throws {
        let tmp = try TempDir()
        let root = try tmp.mkdir("root")
        let tar = tmp.sub("ctx.tar")
        try TarBuilder.write(
            [.dir("pkg/"), .file("pkg/a", "A", uid: 5), .file("pkg/.wh.kept", "literal"), .symlink("pkg/l", to: "a")], to: tar,
            compression: compression)
        #expect(LayerExtractor.isArchive(tar))
        let summary = try LayerExtractor.extract(tar: tar, into: root, at: "/opt/app/", owner: .init(uid: 42, gid: 43))
        #expect(summary.entries == 4)
        #expect(try String(contentsOfFile: root + "/opt/app/pkg/a", encoding: .utf8) == "A")
        #expect(FileManager.default.fileExists(atPath: root + "/opt/app/pkg/.wh.kept"), "ADD does not interpret whiteouts")
        if isRoot {
            #expect(try stat(root + "/opt/app/pkg/a").st_uid == 42)
            #expect(try stat(root + "/opt/app/pkg/l").st_gid == 43)
        }
    }

    @Test("ADD reports a file that is not a tar, compressed or not, so the caller copies it")
    func addNotAnArchive() throws {
        let tmp = try TempDir()
        let root = try tmp.mkdir("root")
        try writeFile(tmp.sub("plain.txt"), "hello\n")
        try run(["sh", "-c", "gzip -c '\(tmp.sub("plain.txt"))' > '\(tmp.sub("plain.txt.gz"))'"])
        try writeFile(tmp.sub("empty"), "")
        for p in ["plain.txt", "plain.txt.gz", "empty"] {
            #expect(!LayerExtractor.isArchive(tmp.sub(p)))
            #expect(throws: LayerExtractor.Error.notAnArchive(path: tmp.sub(p))) {
                try LayerExtractor.extract(tar: tmp.sub(p), into: root, at: "dst")
            }
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: root).isEmpty)
    }

    @Test("async apply runs the same extraction off the cooperative pool")
    func asyncApply() async throws {
        let tmp = try TempDir()
        let root = try tmp.mkdir("root")
        let tars = try layers(tmp, [lower])
        let summary = try await LayerExtractor(root: root).apply(layer: tars[0], name: "lower")
        #expect(summary.entries == lower.count)
        #expect(FileManager.default.fileExists(atPath: root + "/d/sub/c"))
    }
}
