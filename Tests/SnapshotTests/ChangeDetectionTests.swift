// Added, modified and deleted entries of every kind, for both strategies, on real directories.
import PluginAPI
import PluginSupport
import TestSupport
import Testing

@Suite("Change detection (both modes)")
struct ChangeDetectionTests {
    @Test(arguments: snapshotModes)
    func reportsAddedEntriesOfEveryKind(mode: String) async throws {
        let tree = try TemporaryTree(prefix: "kiln-snap-added")
        defer { tree.remove() }
        try tree.write("existing", "x")
        let strategy = try SnapshotPlugins.strategy(mode)
        let before = try await strategy.capture(root: tree.path, ignoring: IgnoreList())

        try tree.makeDirectory("dir")
        try tree.write("dir/file", "hello")
        try tree.symlink("link", to: "dir/file")
        try tree.hardlink("hard", to: "existing")
        try tree.fifo("pipe")
        let (changes, after) = try await strategy.changes(root: tree.path, since: before, ignoring: IgnoreList())

        #expect(changes.addedPaths == ["dir", "dir/file", "hard", "link", "pipe"])
        // A new link to an existing inode adds the new path; the old path's link count and ctime
        // moved, but its content, owner and mode did not, so it is not "modified".
        #expect(changes.modified.isEmpty)
        #expect(changes.deleted.isEmpty)
        let byPath = Dictionary(uniqueKeysWithValues: changes.added.map { ($0.path, $0) })
        #expect(byPath["dir"]?.type == .directory)
        #expect(byPath["dir/file"]?.type == .regular && byPath["dir/file"]?.size == 5)
        #expect(byPath["link"]?.type == .symlink && byPath["link"]?.linkTarget == "dir/file")
        #expect(byPath["pipe"]?.type == .fifo)
        #expect(byPath["hard"]?.inode == after.records["existing"]?.inode && byPath["hard"]?.linkCount == 2)
        if mode == "full" {
            #expect(byPath["dir/file"]?.contentDigest == Digest.sha256(of: "hello"))
            #expect(byPath["hard"]?.contentDigest == Digest.sha256(of: "x"))
        } else {
            #expect(byPath["dir/file"]?.contentDigest == nil)
        }
    }

    @Test(arguments: snapshotModes)
    func reportsModifiedContentModeTimesTargetsAndTypes(mode: String) async throws {
        let tree = try TemporaryTree(prefix: "kiln-snap-modified")
        defer { tree.remove() }
        for name in ["grown", "setuid", "setgid", "touched", "same", "becomes-dir"] { try tree.write(name, "abc") }
        try tree.makeDirectory("sticky")
        try tree.symlink("link", to: "grown")
        let strategy = try SnapshotPlugins.strategy(mode)
        let before = try await strategy.capture(root: tree.path, ignoring: IgnoreList())
        try await SnapshotPlugins.settle()

        try tree.write("grown", "abcd")
        try tree.chmod("setuid", 0o4755)
        try tree.chmod("setgid", 0o2755)
        try tree.chmod("sticky", 0o1777)
        try tree.setModificationTime("touched", FileTime(seconds: 1_500_000_000, nanoseconds: 42))
        try tree.remove("link")
        try tree.symlink("link", to: "same")
        try tree.remove("becomes-dir")
        try tree.makeDirectory("becomes-dir")
        let (changes, _) = try await strategy.changes(root: tree.path, since: before, ignoring: IgnoreList())

        #expect(changes.modifiedPaths == ["becomes-dir", "grown", "link", "setgid", "setuid", "sticky", "touched"])
        #expect(changes.added.isEmpty && changes.deleted.isEmpty)
        let byPath = Dictionary(uniqueKeysWithValues: changes.modified.map { ($0.path, $0) })
        #expect(byPath["setuid"]?.permissions == 0o4755)
        #expect(byPath["setgid"]?.permissions == 0o2755)
        #expect(byPath["sticky"]?.permissions == 0o1777)
        #expect(byPath["touched"]?.mtime == FileTime(seconds: 1_500_000_000, nanoseconds: 42))
        #expect(byPath["link"]?.linkTarget == "same")
        #expect(byPath["becomes-dir"]?.type == .directory)
    }

    @Test(arguments: snapshotModes)
    func reportsDeletedPathsWithTheChildrenOfDeletedDirectories(mode: String) async throws {
        let tree = try TemporaryTree(prefix: "kiln-snap-deleted")
        defer { tree.remove() }
        try tree.write("keep", "k")
        try tree.write("file", "f")
        try tree.makeDirectory("dir")
        try tree.makeDirectory("dir/sub")
        try tree.write("dir/a", "a")
        try tree.write("dir/sub/b", "b")
        try tree.symlink("link", to: "file")
        try tree.fifo("pipe")
        let strategy = try SnapshotPlugins.strategy(mode)
        let before = try await strategy.capture(root: tree.path, ignoring: IgnoreList())

        for p in ["file", "dir", "link", "pipe"] { try tree.remove(p) }
        let (changes, after) = try await strategy.changes(root: tree.path, since: before, ignoring: IgnoreList())

        #expect(changes.deleted == ["dir", "dir/a", "dir/sub", "dir/sub/b", "file", "link", "pipe"])
        #expect(changes.added.isEmpty && changes.modified.isEmpty)
        #expect(after.records.keys.sorted() == ["keep"])
    }

    @Test(arguments: snapshotModes)
    func unchangedTreeHasNoChanges(mode: String) async throws {
        let tree = try TemporaryTree(prefix: "kiln-snap-unchanged")
        defer { tree.remove() }
        try tree.makeDirectory("d")
        try tree.write("d/f", "content")
        try tree.symlink("l", to: "d/f")
        try tree.hardlink("h", to: "d/f")
        let strategy = try SnapshotPlugins.strategy(mode)
        let before = try await strategy.capture(root: tree.path, ignoring: IgnoreList())
        let (changes, after) = try await strategy.changes(root: tree.path, since: before, ignoring: IgnoreList())
        #expect(changes.isEmpty)
        #expect(after.records == before.records)
    }

    @Test(arguments: snapshotModes)
    func honoursTheIgnoreList(mode: String) async throws {
        let tree = try TemporaryTree(prefix: "kiln-snap-ignore")
        defer { tree.remove() }
        try tree.makeDirectory("ignored")
        try tree.write("ignored/old", "o")
        try tree.makeDirectory("var")
        try tree.makeDirectory("var/run")
        try tree.write("var/run/pid", "1")
        try tree.write("ignored-not", "same prefix, different name")
        let ignore = IgnoreList(["/ignored", "var/run/"])
        let strategy = try SnapshotPlugins.strategy(mode)
        let before = try await strategy.capture(root: tree.path, ignoring: ignore)
        #expect(before.records.keys.sorted() == ["ignored-not", "var"])
        try await SnapshotPlugins.settle()

        try tree.write("ignored/new", "n")
        try tree.remove("ignored/old")
        try tree.write("var/run/pid", "22")
        try tree.write("ignored-not", "changed, same prefix")
        let (changes, _) = try await strategy.changes(root: tree.path, since: before, ignoring: ignore)
        #expect(changes.modifiedPaths == ["ignored-not"])
        #expect(changes.added.isEmpty && changes.deleted.isEmpty)

        let everything = try await strategy.capture(root: tree.path, ignoring: IgnoreList(["/"]))
        #expect(everything.records.isEmpty)
    }
}
