import Glibc
// The recursive part of the walk: one open directory per level, entries stat'ed relative to it.
import PluginAPI

struct WalkContext {
    let walker: TreeWalker
    /// Ignored paths, relative (no leading slash). Exact matches suffice: the walk never
    /// descends into an ignored directory, so it never meets an ignored path's children.
    let ignored: Set<BytePath>
    /// Directories (relative, "" for the root) that hold an ignored entry: only their entries
    /// are looked up in `ignored`, so the walk hashes one path per directory, not per entry.
    let parentsOfIgnored: Set<BytePath>
    /// Reused buffer for symlink targets.
    var linkBuffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)

    init(walker: TreeWalker, ignored: Set<BytePath>) {
        self.walker = walker
        self.ignored = ignored
        var parents = Set<BytePath>()
        for path in ignored { parents.insert(path.parent) }
        self.parentsOfIgnored = parents
    }

    /// Walks the directory open at `fd` (which this call owns and closes) whose path relative to
    /// the root is `relativePath` ("" for the root).
    mutating func walkDirectory(fd: Int32, relativePath: BytePath, _ visit: (FileRecord) throws -> Void) throws {
        guard let dir = fdopendir(fd) else {
            let e = errno
            close(fd)
            throw TreeWalker.Error.cannotReadDirectory(path: absolute(relativePath), errno: e)
        }
        defer { closedir(dir) }
        let mayHoldIgnored = parentsOfIgnored.contains(relativePath)
        while true {
            errno = 0
            guard let entry = readdir(dir) else {
                if errno != 0 { throw TreeWalker.Error.cannotReadDirectory(path: absolute(relativePath), errno: errno) }
                return
            }
            // The name stays bytes from d_name to the record: one allocation for the path.
            guard let path = Self.childPath(relativePath, entry) else { continue }
            if mayHoldIgnored && ignored.contains(path) { continue }
            let name = UnsafeMutableRawPointer(entry).advanced(by: Self.nameOffset).assumingMemoryBound(to: CChar.self)
            guard var record = try stat(name: name, in: dirfd(dir), path: path) else { continue }
            if walker.readsExtendedAttributes {
                do {
                    record.xattrs = try ExtendedAttributes.read(path: absoluteBytes(path))
                } catch ExtendedAttributes.Error.failed(_, _, let e) where e == ENOENT || e == ENOTDIR {
                    continue  // vanished after the stat
                }
            }
            try visit(record)
            if record.type == .directory {
                let child = openat(dirfd(dir), name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                if child < 0 {
                    let e = errno
                    // Gone, or replaced by a non-directory since the stat: the next snapshot sees it.
                    if e == ENOENT || e == ENOTDIR || e == ELOOP { continue }
                    throw TreeWalker.Error.cannotOpenDirectory(path: absolute(path), errno: e)
                }
                try walkDirectory(fd: child, relativePath: path, visit)
            }
        }
    }

    /// Where `d_name` (a fixed-size C array, NUL-terminated) sits in a `dirent`; 19 is glibc's
    /// fixed layout on 64-bit Linux, should the key path ever not be addressable.
    static let nameOffset = MemoryLayout<dirent>.offset(of: \dirent.d_name) ?? 19

    /// `parent/name` for a directory entry, as bytes; nil for `.` and `..`.
    static func childPath(_ parent: BytePath, _ entry: UnsafeMutablePointer<dirent>) -> BytePath? {
        let name = UnsafeRawPointer(entry).advanced(by: nameOffset).assumingMemoryBound(to: UInt8.self)
        if name[0] == 0x2E && (name[1] == 0 || (name[1] == 0x2E && name[2] == 0)) { return nil }
        let count = strlen(UnsafeRawPointer(name).assumingMemoryBound(to: CChar.self))
        var bytes = [UInt8]()
        bytes.reserveCapacity(parent.bytes.count + 1 + count)
        if !parent.isEmpty {
            bytes += parent.bytes
            bytes.append(UInt8(ascii: "/"))
        }
        bytes.append(contentsOf: UnsafeBufferPointer(start: name, count: count))
        return BytePath(bytes: bytes)
    }

    /// lstat's `name` in the directory `dirFD`; nil when it vanished.
    mutating func stat(name: UnsafePointer<CChar>, in dirFD: Int32, path: BytePath) throws -> FileRecord? {
        var st = Glibc.stat()
        guard fstatat(dirFD, name, &st, AT_SYMLINK_NOFOLLOW) == 0 else {
            if errno == ENOENT { return nil }
            throw TreeWalker.Error.cannotStat(path: absolute(path), errno: errno)
        }
        var record = FileRecord(stat: st, path: path)
        if record.type == .symlink {
            let n = readlinkat(dirFD, name, &linkBuffer, linkBuffer.count)
            guard n >= 0 else {
                if errno == ENOENT || errno == EINVAL { return nil }  // gone or no longer a symlink
                throw TreeWalker.Error.cannotReadLink(path: absolute(path), errno: errno)
            }
            record.linkTarget = BytePath(bytes: linkBuffer[0..<n].lazy.map { UInt8(bitPattern: $0) })
        }
        return record
    }

    /// The absolute path of `relativePath`, for messages.
    func absolute(_ relativePath: BytePath) -> String { absoluteBytes(relativePath).description }

    /// The absolute path of `relativePath`, for system calls.
    func absoluteBytes(_ relativePath: BytePath) -> BytePath {
        let root = BytePath(walker.root)
        if relativePath.isEmpty { return root }
        return walker.root.hasSuffix("/") ? root + relativePath : root.appending(relativePath)
    }
}

extension FileRecord {
    /// A record from `lstat` data (no link target, xattrs or digest).
    public init(stat st: stat, path: BytePath) {
        let format = st.st_mode & 0o170000
        let type: FileType
        switch format {
        case 0o040000: type = .directory
        case 0o120000: type = .symlink
        case 0o020000: type = .characterDevice
        case 0o060000: type = .blockDevice
        case 0o010000: type = .fifo
        case 0o140000: type = .socket
        default: type = .regular
        }
        let isDevice = type == .characterDevice || type == .blockDevice
        self.init(
            path: path, type: type, permissions: UInt32(st.st_mode & 0o7777), uid: st.st_uid, gid: st.st_gid,
            size: Int64(st.st_size),
            mtime: FileTime(seconds: Int64(st.st_mtim.tv_sec), nanoseconds: Int64(st.st_mtim.tv_nsec)),
            ctime: FileTime(seconds: Int64(st.st_ctim.tv_sec), nanoseconds: Int64(st.st_ctim.tv_nsec)),
            inode: UInt64(st.st_ino), device: UInt64(st.st_dev), linkCount: UInt64(st.st_nlink),
            rdev: isDevice ? UInt64(st.st_rdev) : 0)
    }
}
