// Counters a snapshot strategy fills in, so tests (and `--verbosity debug`) can check what a
// capture or diff cost by counting work rather than timing it.

/// What one `capture` or `changes` call did.
public struct SnapshotStatistics: Sendable, Equatable {
    /// Entries the walk visited (lstat calls that succeeded).
    public var entriesWalked = 0
    /// Regular files whose content was read and hashed (hard links to one inode count once).
    public var filesHashed = 0
    /// Bytes read for hashing.
    public var bytesHashed: Int64 = 0
    /// Entries whose extended attributes were listed.
    public var extendedAttributeReads = 0
    /// Entries re-checked because their timestamps were at or after the previous capture's
    /// start (they might have changed within the file system clock's resolution).
    public var racyEntries = 0

    public init() {}
}
