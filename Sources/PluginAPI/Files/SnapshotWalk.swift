// The walk both snapshot strategies share: lstat everything, and read extended attributes only
// where ctime says they may have changed.
import Glibc

/// One pass over a tree for a snapshot, reusing what a previous state already knows.
///
/// For each entry: when a previous record exists with the same type and ctime and is not racy
/// (see `FileRecord.isRacy(since:)`), its xattrs are carried over, because `setxattr` and
/// `removexattr` always bump ctime; otherwise the xattrs are read. `refine` then adds what the
/// strategy needs (a content digest) and returns false to drop an entry that vanished.
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
        /// The absolute path of the entry.
        public var absolutePath: String
    }

    /// Walks the tree. `previous` is nil for a first capture. Blocking: run it off the
    /// cooperative pool (`runBlocking`).
    public func run(
        previous: SnapshotState?, statistics: inout SnapshotStatistics,
        refine: (inout Entry, inout SnapshotStatistics) throws -> Bool = { _, _ in true }
    ) throws -> [String: FileRecord] {
        var records: [String: FileRecord] = [:]
        records.reserveCapacity(previous?.records.count ?? 1024)
        let prefix = root.hasSuffix("/") ? root : root + "/"
        var stats = statistics
        defer { statistics = stats }
        try TreeWalker(root: root, ignoring: ignoring).walk { record in
            stats.entriesWalked += 1
            let old = previous?.records[record.path]
            var racy = false
            if let old, let since = previous?.capturedAt { racy = old.isRacy(since: since) }
            if racy { stats.racyEntries += 1 }
            var entry = Entry(record: record, previous: old, racy: racy, absolutePath: prefix + record.path)
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
            if try refine(&entry, &stats) { records[record.path] = entry.record }
        }
        return records
    }
}
