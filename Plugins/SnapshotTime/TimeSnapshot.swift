import PluginAPI
import PluginSupport

/// `--snapshot-mode time`: decides what changed from `lstat` data only; never reads content.
///
/// An entry is modified when its type, permissions (setuid/setgid/sticky included), uid, gid,
/// size, mtime (with nanoseconds), inode, symlink target, device number or extended attributes
/// differ (`FileRecord.hasSameMetadata`). Like kaniko's `time` mode, content changes are seen
/// through mtime; unlike it, size, mode, owner and inode are compared too, because they cost
/// nothing extra.
///
/// What it keys on, and why not ctime: ctime cannot be forged from user space, so it would
/// catch every rewrite — but it also moves for changes a layer does not care about (a new hard
/// link elsewhere, `touch` to the same times, `dpkg --reinstall`/`tar x` rewriting identical
/// bytes with restored mtimes). Reporting those would bloat layers with identical files, and
/// this mode cannot tell them apart from real rewrites without reading content. So ctime is only
/// the trigger to re-read xattrs (xattr changes bump ctime, nothing else reveals them).
///
/// Known blind spot, by design: a same-size in-place rewrite whose mtime is restored
/// (`touch -d`, `utimensat`, `cp -p`, `tar x` over an existing file) is not reported. Use
/// `full`, which re-hashes exactly the files whose ctime moved.
///
/// Cost: one walk with `lstat` per entry; xattrs are listed for every entry at capture and for
/// new, ctime-changed or racy entries in a diff.
struct TimeSnapshot: SnapshotStrategy {
    let name = "time"

    func capture(root: String, ignoring: IgnoreList) async throws -> SnapshotState {
        try await runBlocking {
            let start = FileTime.fileSystemNow()
            var statistics = SnapshotStatistics()
            let records = try SnapshotWalk(root: root, ignoring: ignoring).run(previous: nil, statistics: &statistics)
            var state = SnapshotState(records: records, capturedAt: start)
            RacyTimestamps.settle(records.values, capturedAt: start)
            state.statistics = statistics
            return state
        }
    }

    func changes(root: String, since previous: SnapshotState, ignoring: IgnoreList) async throws -> (ChangeSet, SnapshotState) {
        try await runBlocking {
            let start = FileTime.fileSystemNow()
            var statistics = SnapshotStatistics()
            let (changes, records) = try SnapshotWalk(root: root, ignoring: ignoring).diff(previous: previous, statistics: &statistics) {
                old, new in !new.hasSameMetadata(as: old)
            }
            var state = SnapshotState(records: records, capturedAt: start)
            RacyTimestamps.settle(records.values, capturedAt: start)
            state.statistics = statistics
            return (changes, state)
        }
    }
}
