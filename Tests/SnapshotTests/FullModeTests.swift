// What only `full` can see, and what it costs: the restored-mtime rewrite, identical rewrites,
// racily clean entries, and counts of files hashed (counted, never timed).
import PluginAPI
import PluginSupport
import TestSupport
import Testing

@Suite("Full mode: content the stat data hides, at the cost of the changed files only")
struct FullModeTests {
    /// Same size, same inode, mtime put back with utimensat: only ctime moved. `time` keys on
    /// mtime (by design, see TimeSnapshot) and misses it; `full` re-hashes because ctime moved.
    @Test func sameSizeRewriteWithRestoredMtimeIsCaughtOnlyByFull() async throws {
        let tree = try TemporaryTree(prefix: "kiln-snap-fullonly")
        defer { tree.remove() }
        try tree.write("config", "mode=fast")
        let original = try tree.lstat("config")
        try await SnapshotPlugins.settle()
        let time = try SnapshotPlugins.strategy("time")
        let full = try SnapshotPlugins.strategy("full")
        let timeBefore = try await time.capture(root: tree.path, ignoring: IgnoreList())
        let fullBefore = try await full.capture(root: tree.path, ignoring: IgnoreList())

        try tree.write("config", "mode=slow")
        try tree.setModificationTime("config", original.mtime)
        let rewritten = try tree.lstat("config")
        #expect(rewritten.mtime == original.mtime && rewritten.size == original.size && rewritten.inode == original.inode)

        let (timeChanges, _) = try await time.changes(root: tree.path, since: timeBefore, ignoring: IgnoreList())
        let (fullChanges, fullAfter) = try await full.changes(root: tree.path, since: fullBefore, ignoring: IgnoreList())
        #expect(timeChanges.isEmpty, "time mode keys on mtime and must not read content")
        #expect(fullChanges.modifiedPaths == ["config"])
        #expect(fullChanges.modified.first?.contentDigest == Digest.sha256(of: "mode=slow"))
        #expect(fullAfter.statistics.filesHashed == 1)
    }

    /// `dpkg --reinstall` or `tar x` over an existing tree: identical bytes, restored mtime.
    /// Full re-reads the file (its ctime moved) and proves nothing changed.
    @Test func identicalRewriteWithRestoredMtimeIsNotAChange() async throws {
        let tree = try TemporaryTree(prefix: "kiln-snap-identical")
        defer { tree.remove() }
        try tree.write("lib.so", "ELF....")
        let original = try tree.lstat("lib.so")
        try await SnapshotPlugins.settle()
        let full = try SnapshotPlugins.strategy("full")
        let before = try await full.capture(root: tree.path, ignoring: IgnoreList())
        try tree.write("lib.so", "ELF....")
        try tree.setModificationTime("lib.so", original.mtime)
        let (changes, after) = try await full.changes(root: tree.path, since: before, ignoring: IgnoreList())
        #expect(changes.isEmpty)
        #expect(after.statistics.filesHashed == 1)
    }

    /// An entry whose timestamps are at or after the capture's start might change again within
    /// one clock tick without its stat data showing it, so full re-hashes it although its stat
    /// data is unchanged (git's racy-clean rule).
    @Test func racilyCleanFilesAreRehashedEvenWhenTheirStatIsUnchanged() async throws {
        let tree = try TemporaryTree(prefix: "kiln-snap-racy")
        defer { tree.remove() }
        try tree.write("future", "f")
        try tree.write("past", "p")
        let now = FileTime.fileSystemNow()
        try tree.setModificationTime("future", FileTime(seconds: now.seconds + 3600, nanoseconds: 0))
        try await SnapshotPlugins.settle()
        let full = try SnapshotPlugins.strategy("full")
        let before = try await full.capture(root: tree.path, ignoring: IgnoreList())
        let (changes, after) = try await full.changes(root: tree.path, since: before, ignoring: IgnoreList())
        #expect(changes.isEmpty)
        #expect(after.statistics.racyEntries == 1)
        #expect(after.statistics.filesHashed == 1, "only the racy file is re-read")
        #expect(after.records["future"]?.contentDigest == Digest.sha256(of: "f"))
    }

    @Test func captureHashesEveryRegularInodeOnceThenDiffsHashOnlyTheChanged() async throws {
        let tree = try TemporaryTree(prefix: "kiln-snap-cost")
        defer { tree.remove() }
        let n = 60
        try tree.makeDirectory("a")
        try tree.makeDirectory("b")
        for i in 0..<n { try tree.write("\(i % 2 == 0 ? "a" : "b")/file\(i)", String(repeating: "x", count: i + 1)) }
        try tree.hardlink("a/link-to-file0", to: "a/file0")
        try tree.symlink("b/symlink", to: "../a/file0")
        try await SnapshotPlugins.settle()
        let full = try SnapshotPlugins.strategy("full")

        let baseline = try await full.capture(root: tree.path, ignoring: IgnoreList())
        #expect(baseline.statistics.filesHashed == n, "the hard link shares file0's inode and is read once")
        #expect(baseline.statistics.bytesHashed == Int64(n * (n + 1) / 2))
        #expect(baseline.statistics.entriesWalked == n + 4)
        try await SnapshotPlugins.settle()

        let (none, unchanged) = try await full.changes(root: tree.path, since: baseline, ignoring: IgnoreList())
        #expect(none.isEmpty)
        #expect(unchanged.statistics.filesHashed == 0)
        #expect(unchanged.statistics.racyEntries == 0)

        let touched = ["a/file10", "b/file33", "b/file57"]
        for p in touched { try tree.write(p, "rewritten " + p) }
        try await SnapshotPlugins.settle()
        let (changes, after) = try await full.changes(root: tree.path, since: unchanged, ignoring: IgnoreList())
        #expect(changes.modifiedPaths == touched.map { BytePath($0) })
        #expect(after.statistics.filesHashed == touched.count)
        #expect(after.statistics.entriesWalked == n + 4)
    }

    /// Without waiting for the clock, the files just written are racy in the state the diff
    /// returns, and the next diff re-hashes exactly those (k + racy, never N).
    @Test func aDiffRightAfterWritesRehashesOnlyTheRacyOnes() async throws {
        let tree = try TemporaryTree(prefix: "kiln-snap-racycost")
        defer { tree.remove() }
        for i in 0..<40 { try tree.write("f\(i)", "v1-\(i)") }
        try await SnapshotPlugins.settle()
        let full = try SnapshotPlugins.strategy("full")
        let baseline = try await full.capture(root: tree.path, ignoring: IgnoreList())
        try await SnapshotPlugins.settle()
        for i in [3, 14, 15, 92 % 40] { try tree.write("f\(i)", "v2-\(i)") }
        let (changes, first) = try await full.changes(root: tree.path, since: baseline, ignoring: IgnoreList())
        #expect(changes.modifiedPaths == ["f12", "f14", "f15", "f3"])
        #expect(first.statistics.filesHashed == 4)

        let racy = first.records.values.filter { $0.type == .regular && $0.isRacy(since: first.capturedAt) }.count
        let (again, second) = try await full.changes(root: tree.path, since: first, ignoring: IgnoreList())
        #expect(again.isEmpty)
        #expect(second.statistics.filesHashed == racy)
        #expect(racy <= 4)
    }
}

@Suite("Time mode cost")
struct TimeModeCostTests {
    @Test func neverReadsContentAndReadsXattrsOnlyForChangedEntries() async throws {
        let tree = try TemporaryTree(prefix: "kiln-snap-timecost")
        defer { tree.remove() }
        for i in 0..<30 { try tree.write("f\(i)", "content \(i)") }
        try await SnapshotPlugins.settle()
        let time = try SnapshotPlugins.strategy("time")
        let before = try await time.capture(root: tree.path, ignoring: IgnoreList())
        #expect(before.statistics.filesHashed == 0)
        #expect(before.records.values.allSatisfy { $0.contentDigest == nil })
        try await SnapshotPlugins.settle()
        try tree.write("f4", "changed 4")
        try tree.write("f9", "changed 9")
        try await SnapshotPlugins.settle()
        let (changes, after) = try await time.changes(root: tree.path, since: before, ignoring: IgnoreList())
        #expect(changes.modifiedPaths == ["f4", "f9"])
        #expect(after.statistics.filesHashed == 0)
        #expect(after.statistics.extendedAttributeReads == 2)
    }
}
