// The snapshot contract: record a root filesystem's state, then report what changed since.

/// A snapshot backend (`SnapshotTime`, `SnapshotFull`).
///
/// Cost contract: `changes(since:)` walks the tree once with `lstat` (N entries) and does
/// further work (reading content, xattrs) only for entries whose stat data changed or is
/// ambiguous. It never re-hashes an unchanged tree.
public protocol SnapshotStrategy: PluginComponent {
    /// Records the state of `root`. Paths matched by `ignoring` are neither recorded nor reported.
    func capture(root: String, ignoring: IgnoreList) async throws -> SnapshotState

    /// Compares `root` now with `previous` and returns the changes and the new state.
    func changes(root: String, since previous: SnapshotState, ignoring: IgnoreList) async throws -> (ChangeSet, SnapshotState)
}

extension SnapshotStrategy {
    public var kind: PluginKind { .snapshot }
}

/// The recorded state of a tree: one record per path (relative, no leading slash; the root
/// itself is not recorded). Keys are bytes, so names that differ only in bytes that are not
/// UTF-8, or only in Unicode normalisation, stay two records.
public struct SnapshotState: Sendable {
    public var records: [BytePath: FileRecord]
    /// When the capture started (seconds, nanoseconds): files with an mtime at or after this
    /// instant are "racily clean" and a content-hashing strategy re-checks them next time.
    public var capturedAt: FileTime
    /// What the capture or diff that produced this state cost (entries walked, files hashed…).
    public var statistics = SnapshotStatistics()

    public init(records: [BytePath: FileRecord], capturedAt: FileTime) {
        self.records = records
        self.capturedAt = capturedAt
    }
}

/// Paths changed between two states. Paths are relative to the root, without a leading `/`,
/// and sorted bytewise.
public struct ChangeSet: Sendable, Equatable {
    /// Paths that did not exist before.
    public var added: [FileRecord]
    /// Paths that exist in both states but differ (type, content, metadata or xattrs).
    public var modified: [FileRecord]
    /// Paths that existed before and are gone, sorted. Children of a deleted directory are
    /// listed too; the layer writer decides which whiteouts to emit.
    public var deleted: [BytePath]

    public init(added: [FileRecord] = [], modified: [FileRecord] = [], deleted: [BytePath] = []) {
        self.added = added
        self.modified = modified
        self.deleted = deleted
    }

    public var isEmpty: Bool { added.isEmpty && modified.isEmpty && deleted.isEmpty }
    /// Added and modified records sorted by path (bytewise).
    public var upserted: [FileRecord] { (added + modified).sorted { $0.path < $1.path } }
}

/// Paths excluded from snapshots (and from extraction): each entry excludes itself and
/// everything beneath it. Entries are absolute in the build root's view (`/proc`, `/var/run`).
public struct IgnoreList: Sendable, Equatable {
    public private(set) var prefixes: [String]

    public init(_ paths: [String] = []) {
        prefixes = []
        for p in paths { add(p) }
    }

    public mutating func add(_ path: String) {
        var p = "/" + path.split(separator: "/").joined(separator: "/")
        if p == "/" { p = "/" }
        if !prefixes.contains(p) { prefixes.append(p) }
    }

    /// True when `relativePath` (no leading slash) or one of its ancestors is ignored. Compared
    /// bytewise: a name that is not UTF-8 never matches an entry (which is text) by accident.
    public func contains(_ relativePath: BytePath) -> Bool {
        if prefixes.isEmpty { return false }
        for p in prefixes {
            if p == "/" { return true }
            // p is "/x/y": relativePath matches "x/y" exactly or lies below it.
            let entry = p.utf8.dropFirst()
            let bytes = relativePath.bytes
            if bytes.count >= entry.count && bytes.starts(with: entry)
                && (bytes.count == entry.count || bytes[entry.count] == UInt8(ascii: "/"))
            {
                return true
            }
        }
        return false
    }

    /// True when `relativePath` (no leading slash) or one of its ancestors is ignored.
    public func contains(_ relativePath: String) -> Bool {
        let abs = "/" + relativePath
        for p in prefixes {
            if p == "/" { return true }
            if abs == p
                || (abs.hasPrefix(p) && abs.utf8.count > p.utf8.count
                    && abs.utf8[abs.utf8.index(abs.utf8.startIndex, offsetBy: p.utf8.count)] == UInt8(ascii: "/"))
            {
                return true
            }
        }
        return false
    }
}
