// How snapshot strategies decide that an entry changed. Both strategies share these rules so
// that `full` reports everything `time` reports, plus content changes `time` cannot see.

import PluginAPI

extension FileRecord {
    /// True when both records describe the same entry, content aside.
    ///
    /// Compared: type, permissions (with setuid/setgid/sticky), uid, gid, size, mtime (ns),
    /// inode (a path renamed over by another file is another file, even with equal times),
    /// symlink target, device number and extended attributes.
    ///
    /// Not compared, on purpose:
    /// - ctime: it moves on changes that leave the entry as a layer stores it untouched (a new
    ///   hard link elsewhere, `touch` to the same times, `chown` to the same owner, a rewrite
    ///   of identical bytes such as `dpkg --reinstall`). Strategies use it as a hint to re-read
    ///   xattrs (an xattr change bumps ctime) and, in `full`, to re-hash.
    /// - link count: `ln a b` adds `b`; `a` itself is unchanged (its content, owner and mode
    ///   are the same), so it is not reported as modified. The layer writer pairs hard links
    ///   through `inode`/`device`.
    /// - device (`st_dev`): overlay and bind mounts renumber it without any change.
    /// - contentDigest: `full` compares it separately.
    public func hasSameMetadata(as other: FileRecord) -> Bool {
        type == other.type && permissions == other.permissions && uid == other.uid && gid == other.gid
            && size == other.size && mtime == other.mtime && inode == other.inode
            && linkTarget == other.linkTarget && rdev == other.rdev && xattrs == other.xattrs
    }

    /// True when every `lstat` field that a write, `chmod`, `chown`, `setxattr`, `utimensat`
    /// or a replacement changes is equal, ctime included: nothing touched the inode since.
    public func hasSameStat(as other: FileRecord) -> Bool {
        type == other.type && permissions == other.permissions && uid == other.uid && gid == other.gid
            && size == other.size && mtime == other.mtime && ctime == other.ctime && inode == other.inode
            && device == other.device && linkCount == other.linkCount && rdev == other.rdev
            && linkTarget == other.linkTarget
    }

    /// True when the entry's mtime or ctime is at or after `instant` (a capture's start): it may
    /// have changed again within the file system clock's resolution without its stat data
    /// showing it ("racily clean", as git calls it), so its stat data cannot be trusted.
    public func isRacy(since instant: FileTime) -> Bool {
        mtime >= instant || ctime >= instant
    }
}

extension ChangeSet {
    /// The changes from `previous` to `current`: paths only in `current` are added, paths only
    /// in `previous` deleted, and paths in both for which `isModified(old, new)` holds modified.
    /// Every list is sorted by path.
    public init(
        from previous: [BytePath: FileRecord], to current: [BytePath: FileRecord],
        isModified: (_ old: FileRecord, _ new: FileRecord) -> Bool
    ) {
        var added: [FileRecord] = []
        var modified: [FileRecord] = []
        for (path, record) in current {
            if let old = previous[path] {
                if isModified(old, record) { modified.append(record) }
            } else {
                added.append(record)
            }
        }
        var deleted: [BytePath] = []
        for path in previous.keys where current[path] == nil { deleted.append(path) }
        self.init(
            added: added.sorted { $0.path < $1.path }, modified: modified.sorted { $0.path < $1.path },
            deleted: deleted.sorted())
    }
}
