// Change set → layer: the whiteout rules, checked on the entries written and by applying the
// layer over the lower tree and comparing with the tree the change set came from.
import Foundation
import Glibc
import PluginAPI
import Testing

@testable import Archive

@Suite("Change set to layer")
struct ChangeSetLayerTests {
    /// Makes the lower tree, runs `step` on a copy, writes the change layer, checks its
    /// entries, then applies lower + change layer and compares with the changed tree.
    func check(
        lower makeLower: (String) throws -> Void, step: (String) throws -> Void,
        adjust: (inout SnapshotState, String) throws -> Void = { _, _ in }, expect names: [String]
    ) throws {
        let tmp = try TempDir()
        let work = try tmp.mkdir("work")
        try makeLower(work)
        let lowerLayer = try SampleTree.layer(of: work, to: tmp.sub("lower.tgz"))
        var before = try TreeState.capture(work)
        try step(work)
        try adjust(&before, work)
        let after = try TreeState.capture(work)
        let changes = TreeState.changes(from: before, to: after)
        let blob = try #require(try LayerWriter.write(changes: changes, root: work, previous: before, to: tmp.sub("upper.tgz")))
        let written = try tarNames(blob.path)
        #expect(written == names)

        let applied = try tmp.mkdir("applied")
        try LayerExtractor(root: applied).apply(layers: [lowerLayer.path, blob.path])
        #expect(try listing(applied) == listing(work))
    }

    @Test("a deleted file gets one whiteout, after its parent")
    func deletedFile() throws {
        try check(
            lower: { r in
                try FileManager.default.createDirectory(atPath: r + "/d", withIntermediateDirectories: true)
                try writeFile(r + "/d/a", "a")
                try writeFile(r + "/d/b", "b")
            }, step: { r in unlink(r + "/d/a") }, expect: ["d/", "d/.wh.a"])
    }

    @Test("a deleted directory gets one whiteout, none for its children")
    func deletedDirectory() throws {
        try check(
            lower: { r in
                try FileManager.default.createDirectory(atPath: r + "/x/sub", withIntermediateDirectories: true)
                try writeFile(r + "/x/a", "a")
                try writeFile(r + "/x/sub/b", "b")
                try writeFile(r + "/keep", "k")
            }, step: { r in try run(["rm", "-rf", r + "/x"]) }, expect: [".wh.x"])
    }

    @Test("a directory replaced by a file or a symlink leaves no dir/.wh.* entries", arguments: ["file", "symlink"])
    func directoryReplaced(by kind: String) throws {
        try check(
            lower: { r in
                try FileManager.default.createDirectory(atPath: r + "/x/sub", withIntermediateDirectories: true)
                try writeFile(r + "/x/a", "a")
                try writeFile(r + "/x/sub/b", "b")
            },
            step: { r in
                try run(["rm", "-rf", r + "/x"])
                if kind == "file" { try writeFile(r + "/x", "now a file") } else { symlink("/elsewhere", r + "/x") }
            }, expect: [kind == "file" ? "x" : "x\t/elsewhere"])
    }

    @Test("a directory deleted and recreated becomes opaque, followed by all its new contents")
    func directoryRecreated() throws {
        try check(
            lower: { r in
                try FileManager.default.createDirectory(atPath: r + "/x/old", withIntermediateDirectories: true)
                try writeFile(r + "/x/a", "a")
                try writeFile(r + "/x/old/b", "b")
            },
            step: { r in
                try run(["rm", "-rf", r + "/x"])
                try FileManager.default.createDirectory(atPath: r + "/x/new", withIntermediateDirectories: true)
                try writeFile(r + "/x/new/c", "c")
                try writeFile(r + "/x/a", "a again")
            },
            adjust: { before, r in
                // ext4 may hand the freed inode number straight back to the new directory;
                // the recorded "before" inode is what says it is another directory.
                let now = try TreeState.record(r, "x").inode
                if before.records["x"]?.inode == now { before.records["x"]?.inode = now + 1_000_000 }
            }, expect: ["x/", "x/.wh..wh..opq", "x/a", "x/new/", "x/new/c"])
    }

    @Test("whiteouts come first, parents are written once before their children, order is bytewise")
    func ordering() throws {
        try check(
            lower: { r in
                try FileManager.default.createDirectory(atPath: r + "/b", withIntermediateDirectories: true)
                try writeFile(r + "/b/old", "o")
                try FileManager.default.createDirectory(atPath: r + "/a", withIntermediateDirectories: true)
            },
            step: { r in
                unlink(r + "/b/old")
                try FileManager.default.createDirectory(atPath: r + "/a/new", withIntermediateDirectories: true)
                try writeFile(r + "/a/new/file", "f")
                try writeFile(r + "/a-b", "'-' sorts before '/' bytewise")
                try writeFile(r + "/c", "c")
            }, expect: ["b/", "b/.wh.old", "a/", "a-b", "a/new/", "a/new/file", "c"])
    }

    @Test("an empty change set makes no layer")
    func emptyChangeSet() throws {
        let tmp = try TempDir()
        let blob = try LayerWriter.write(
            changes: ChangeSet(), root: tmp.path, previous: SnapshotState(records: [:], capturedAt: FileTime(seconds: 0, nanoseconds: 0)),
            to: tmp.sub("none"))
        #expect(blob == nil)
        #expect(!FileManager.default.fileExists(atPath: tmp.sub("none")))
    }
}
