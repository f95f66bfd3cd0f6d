// What a snapshot knows of one path, read with lstat(2) (plus readlink and xattrs).

/// A point in time as the kernel stores it.
public struct FileTime: Hashable, Sendable, Comparable, Codable {
    public var seconds: Int64
    public var nanoseconds: Int64
    public init(seconds: Int64, nanoseconds: Int64) {
        self.seconds = seconds
        self.nanoseconds = nanoseconds
    }
    public static func < (a: FileTime, b: FileTime) -> Bool {
        (a.seconds, a.nanoseconds) < (b.seconds, b.nanoseconds)
    }
}

/// The type of a file system entry.
public enum FileType: String, Sendable, Hashable, Codable {
    case regular, directory, symlink, characterDevice, blockDevice, fifo, socket
}

/// One entry of a tree.
public struct FileRecord: Sendable, Hashable {
    /// Relative to the root, no leading slash (`usr/bin/env`), as the kernel's bytes: a name that
    /// is not UTF-8 is carried exactly (see `BytePath`).
    public var path: BytePath
    public var type: FileType
    /// Permission bits including setuid, setgid and sticky (`st_mode & 0o7777`).
    public var permissions: UInt32
    public var uid: UInt32
    public var gid: UInt32
    public var size: Int64
    public var mtime: FileTime
    public var ctime: FileTime
    public var inode: UInt64
    public var device: UInt64
    public var linkCount: UInt64
    /// Device number for character and block devices.
    public var rdev: UInt64
    /// Target of a symlink, as the kernel's bytes.
    public var linkTarget: BytePath?
    /// Extended attributes (`security.capability`, `user.*`…), when the strategy reads them.
    public var xattrs: [String: [UInt8]]
    /// Content digest of a regular file, when the strategy computed one.
    public var contentDigest: Digest?

    public init(
        path: BytePath, type: FileType, permissions: UInt32, uid: UInt32, gid: UInt32, size: Int64,
        mtime: FileTime, ctime: FileTime = FileTime(seconds: 0, nanoseconds: 0), inode: UInt64 = 0, device: UInt64 = 0,
        linkCount: UInt64 = 1, rdev: UInt64 = 0, linkTarget: BytePath? = nil, xattrs: [String: [UInt8]] = [:],
        contentDigest: Digest? = nil
    ) {
        self.path = path
        self.type = type
        self.permissions = permissions
        self.uid = uid
        self.gid = gid
        self.size = size
        self.mtime = mtime
        self.ctime = ctime
        self.inode = inode
        self.device = device
        self.linkCount = linkCount
        self.rdev = rdev
        self.linkTarget = linkTarget
        self.xattrs = xattrs
        self.contentDigest = contentDigest
    }
}
