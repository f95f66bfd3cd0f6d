// Renames and replacements: what a layer writer needs to whiteout and re-add.
import PluginAPI
import PluginSupport
import TestSupport
import Testing

@Suite("Renames and replacements (both modes)")
struct ReplacementTests {
    @Test(arguments: snapshotModes)
    func aRenameIsADeletionAndAnAddition(mode: String) async throws {
        let tree = try TemporaryTree(prefix: "kiln-snap-rename")
        defer { tree.remove() }
        try tree.makeDirectory("etc")
        try tree.write("etc/old.conf", "setting=1")
        let strategy = try SnapshotPlugins.strategy(mode)
        let before = try await strategy.capture(root: tree.path, ignoring: IgnoreList())
        try await SnapshotPlugins.settle()
        try tree.rename("etc/old.conf", to: "etc/new.conf")
        let (changes, _) = try await strategy.changes(root: tree.path, since: before, ignoring: IgnoreList())
        #expect(changes.addedPaths == ["etc/new.conf"])
        #expect(changes.deleted == ["etc/old.conf"])
        #expect(changes.modifiedPaths == ["etc"], "the directory's mtime moved")
        #expect(changes.added.first?.inode == before.records["etc/old.conf"]?.inode)
    }

    /// A file renamed over another keeps its own mtime and size; only the inode tells `time`
    /// that the path now holds another file.
    @Test(arguments: snapshotModes)
    func aFileRenamedOverAnotherWithEqualTimesIsModified(mode: String) async throws {
        let tree = try TemporaryTree(prefix: "kiln-snap-replace")
        defer { tree.remove() }
        try tree.write("bin", "version-1")
        try tree.write("bin.new", "version-2")
        let stamp = FileTime(seconds: 1_700_000_000, nanoseconds: 0)
        try tree.setModificationTime("bin", stamp)
        try tree.setModificationTime("bin.new", stamp)
        let strategy = try SnapshotPlugins.strategy(mode)
        let before = try await strategy.capture(root: tree.path, ignoring: IgnoreList(["/bin.new"]))
        try tree.rename("bin.new", to: "bin")
        let (changes, _) = try await strategy.changes(root: tree.path, since: before, ignoring: IgnoreList(["/bin.new"]))
        #expect(changes.modifiedPaths == ["bin"])
        if mode == "full" { #expect(changes.modified.first?.contentDigest == Digest.sha256(of: "version-2")) }
    }

    @Test(arguments: snapshotModes)
    func aDirectoryReplacedByASymlinkIsModifiedAndItsChildrenDeleted(mode: String) async throws {
        let tree = try TemporaryTree(prefix: "kiln-snap-dir2link")
        defer { tree.remove() }
        try tree.makeDirectory("lib")
        try tree.makeDirectory("lib/x")
        try tree.write("lib/x/a.so", "a")
        try tree.makeDirectory("usr")
        let strategy = try SnapshotPlugins.strategy(mode)
        let before = try await strategy.capture(root: tree.path, ignoring: IgnoreList())
        try tree.remove("lib")
        try tree.symlink("lib", to: "usr")
        let (changes, after) = try await strategy.changes(root: tree.path, since: before, ignoring: IgnoreList())
        #expect(changes.modifiedPaths == ["lib"])
        #expect(changes.modified.first?.type == .symlink && changes.modified.first?.linkTarget == "usr")
        #expect(changes.deleted == ["lib/x", "lib/x/a.so"])
        #expect(after.records.keys.sorted() == ["lib", "usr"])
    }
}
