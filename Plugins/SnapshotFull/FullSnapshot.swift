import PluginAPI
import PluginSupport

/// `--snapshot-mode full`: everything `time` compares, plus the SHA-256 of every regular file.
///
/// Reports what `time` reports (`FileRecord.hasSameMetadata`) and, in addition, any regular
/// file whose content digest changed — so it catches the rewrite `time` misses by design: same
/// size, mtime restored with `touch -d`/`utimensat`/`cp -p`, same inode. It also does not
/// report a rewrite of identical bytes with a restored mtime, which it can prove unchanged.
///
/// Cost: the capture hashes every regular file once (hard links to one inode once), as a
/// baseline, on all cores (`BaselineHashing`). A diff walks with `lstat` and re-hashes only regular files whose stat data
/// differs in any field (`FileRecord.hasSameStat`, ctime included — ctime cannot be set from
/// user space, so a restored mtime cannot hide a write from it) or whose previous record is
/// racily clean (mtime or ctime at or after the previous capture's start: a write within the
/// same clock tick would not show in the stat data, as git's racy-git rule says). On an
/// unchanged tree it therefore costs about what `time` costs. `SnapshotState.statistics`
/// counts the files hashed.
struct FullSnapshot: SnapshotStrategy {
    let name = "full"

    func capture(root: String, ignoring: IgnoreList) async throws -> SnapshotState {
        try await runBlocking {
            let start = FileTime.fileSystemNow()
            var statistics = SnapshotStatistics()
            var baseline = BaselineHashing()
            var records = try SnapshotWalk(root: root, ignoring: ignoring).run(previous: nil, statistics: &statistics) {
                baseline.collect(&$0, &$1)
            }
            try baseline.hash(into: &records, root: root, statistics: &statistics)
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
            let hashing = Hashing()
            let walk = SnapshotWalk(root: root, ignoring: ignoring)
            let (changes, records) = try walk.diff(previous: previous, statistics: &statistics, refine: hashing.refine) { old, new in
                !new.hasSameMetadata(as: old) || new.contentDigest != old.contentDigest
            }
            var state = SnapshotState(records: records, capturedAt: start)
            RacyTimestamps.settle(records.values, capturedAt: start)
            state.statistics = statistics
            return (changes, state)
        }
    }
}

/// The content half of one walk: trusts a previous digest when the stat data proves the file
/// untouched, otherwise hashes it — each hard-linked inode once.
private final class Hashing {
    private struct InodeKey: Hashable {
        var device: UInt64
        var inode: UInt64
    }

    private let hasher = ContentHasher()
    /// Digests computed or trusted in this walk, by inode.
    private var byInode: [InodeKey: Digest] = [:]

    func refine(_ entry: inout SnapshotWalk.Entry, _ stats: inout SnapshotStatistics) throws -> Bool {
        guard entry.record.type == .regular else { return true }
        let key = InodeKey(device: entry.record.device, inode: entry.record.inode)
        if let old = entry.previous, !entry.racy, let digest = old.contentDigest, old.hasSameStat(as: entry.record) {
            entry.record.contentDigest = digest
            byInode[key] = digest
            return true
        }
        if let digest = byInode[key] {
            entry.record.contentDigest = digest
            return true
        }
        guard let (digest, bytes) = try hasher.sha256(path: entry.absolutePath) else { return false }
        stats.filesHashed += 1
        stats.bytesHashed += bytes
        entry.record.contentDigest = digest
        byInode[key] = digest
        return true
    }
}
