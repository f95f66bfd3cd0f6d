import Glibc
// The walk both snapshot strategies share: lstat everything, and read extended attributes only
// where ctime says they may have changed.
import PluginAPI

/// One pass over a tree for a snapshot, reusing what a previous state already knows.
///
/// For each entry: when a previous record exists with the same type and ctime and is not racy
/// (see `FileRecord.isRacy(since:)`), its xattrs are carried over, because `setxattr` and
/// `removexattr` always bump ctime; otherwise the xattrs are read. `refine` then adds what the
/// strategy needs (a content digest) and returns false to drop an entry that vanished.
///
/// Blocking: run it off the cooperative pool (`runBlocking`).
public struct SnapshotWalk {
    public var root: String
    public var ignoring: IgnoreList

    public init(root: String, ignoring: IgnoreList) {
        self.root = root
        self.ignoring = ignoring
    }

    /// What `refine` is told about an entry.
    public struct Entry {
        /// The record from this walk (xattrs filled in).
        public var record: FileRecord
        /// The previous record at this path, if any.
        public var previous: FileRecord?
        /// True when the previous record's timestamps fell at or after the previous capture's start.
        public var racy: Bool
        let rootPrefix: BytePath
        /// The absolute path of the entry (built on demand: most entries never need it).
        public var absolutePath: BytePath { rootPrefix + record.path }
    }

    public typealias Refine = (inout Entry, inout SnapshotStatistics) throws -> Bool

    /// Walks the tree and returns its records. `previous` is nil for a first capture.
    public func run(
        previous: SnapshotState?, statistics: inout SnapshotStatistics, refine: Refine = { _, _ in true }
    ) throws -> [BytePath: FileRecord] {
        var records: [BytePath: FileRecord] = [:]
        records.reserveCapacity(previous?.records.count ?? 1024)
        try walk(previous: previous, statistics: &statistics, refine: refine) { entry in
            records[entry.record.path] = entry.record
        }
        return records
    }

    /// Walks the tree and compares it with `previous` in the same pass: an entry is added when
    /// `previous` has no record at its path, modified when `isModified(old, new)` holds.
    /// Deleted paths are looked for only when fewer previous paths were met than exist.
    /// Returns the changes (sorted by path) and the new records.
    public func diff(
        previous: SnapshotState, statistics: inout SnapshotStatistics, refine: Refine = { _, _ in true },
        isModified: (_ old: FileRecord, _ new: FileRecord) -> Bool
    ) throws -> (ChangeSet, [BytePath: FileRecord]) {
        var records: [BytePath: FileRecord] = [:]
        records.reserveCapacity(previous.records.count)
        var added: [FileRecord] = []
        var modified: [FileRecord] = []
        var matched = 0
        try walk(previous: previous, statistics: &statistics, refine: refine) { entry in
            records[entry.record.path] = entry.record
            if let old = entry.previous {
                matched += 1
                if isModified(old, entry.record) { modified.append(entry.record) }
            } else {
                added.append(entry.record)
            }
        }
        var deleted: [BytePath] = []
        if matched < previous.records.count {
            for path in previous.records.keys where records[path] == nil { deleted.append(path) }
        }
        let changes = ChangeSet(
            added: added.sorted { $0.path < $1.path }, modified: modified.sorted { $0.path < $1.path },
            deleted: deleted.sorted())
        return (changes, records)
    }

    private func walk(
        previous: SnapshotState?, statistics: inout SnapshotStatistics, refine: Refine, keep: (Entry) -> Void
    ) throws {
        let prefix = BytePath(root.hasSuffix("/") ? root : root + "/")
        let since = previous?.capturedAt
        var stats = statistics
        defer { statistics = stats }
        try TreeWalker(root: root, ignoring: ignoring).walk { record in
            stats.entriesWalked += 1
            let old = previous?.records[record.path]
            var racy = false
            if let old, let since { racy = old.isRacy(since: since) }
            if racy { stats.racyEntries += 1 }
            var entry = Entry(record: record, previous: old, racy: racy, rootPrefix: prefix)
            if let old, !racy, old.type == record.type, old.ctime == record.ctime {
                entry.record.xattrs = old.xattrs
            } else {
                stats.extendedAttributeReads += 1
                do {
                    entry.record.xattrs = try ExtendedAttributes.read(path: entry.absolutePath)
                } catch ExtendedAttributes.Error.failed(_, _, let e) where e == ENOENT || e == ENOTDIR {
                    return  // vanished since the stat
                }
            }
            if try refine(&entry, &stats) { keep(entry) }
        }
    }
}
