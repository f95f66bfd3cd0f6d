import Glibc
// The recursive part of the walk: one open directory per level, entries stat'ed relative to it.
import PluginAPI

struct WalkContext {
    let walker: TreeWalker
    /// Ignored paths, relative (no leading slash). Exact matches suffice: the walk never
    /// descends into an ignored directory, so it never meets an ignored path's children.
    let ignored: Set<String>
    /// Directories (relative, "" for the root) that hold an ignored entry: only their entries
    /// are looked up in `ignored`, so the walk hashes one path per directory, not per entry.
    let parentsOfIgnored: Set<String>
    /// Reused buffer for symlink targets.
    var linkBuffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)

    init(walker: TreeWalker, ignored: Set<String>) {
        self.walker = walker
        self.ignored = ignored
        var parents = Set<String>()
        for path in ignored {
            if let slash = path.lastIndex(of: "/") { parents.insert(String(path[..<slash])) } else { parents.insert("") }
        }
        self.parentsOfIgnored = parents
    }

    /// Walks the directory open at `fd` (which this call owns and closes) whose path relative to
    /// the root is `relativePath` ("" for the root).
    mutating func walkDirectory(fd: Int32, relativePath: String, _ visit: (FileRecord) throws -> Void) throws {
        guard let dir = fdopendir(fd) else {
            let e = errno
            close(fd)
            throw TreeWalker.Error.cannotReadDirectory(path: absolute(relativePath), errno: e)
        }
        defer { closedir(dir) }
        let prefix = relativePath.isEmpty ? "" : relativePath + "/"
        let mayHoldIgnored = parentsOfIgnored.contains(relativePath)
        while true {
            errno = 0
            guard let entry = readdir(dir) else {
                if errno != 0 { throw TreeWalker.Error.cannotReadDirectory(path: absolute(relativePath), errno: errno) }
                return
            }
            let name: String
            switch EntryName(entry) {
            case .dotOrDotDot: continue
            case .invalid(let bytes): throw TreeWalker.Error.nameNotUTF8(directory: relativePath, bytes: bytes)
            case .valid(let n): name = n
            }
            let path = prefix + name
            if mayHoldIgnored && ignored.contains(path) { continue }
            guard var record = try stat(name: name, in: dirfd(dir), path: path) else { continue }
            if walker.readsExtendedAttributes {
                do {
                    record.xattrs = try ExtendedAttributes.read(path: absolute(path))
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

    /// lstat's `name` in the directory `dirFD`; nil when it vanished.
    mutating func stat(name: String, in dirFD: Int32, path: String) throws -> FileRecord? {
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
            record.linkTarget = linkBuffer.withUnsafeBufferPointer { buf in
                buf.withMemoryRebound(to: UInt8.self) { String(decoding: UnsafeBufferPointer(rebasing: $0[0..<n]), as: UTF8.self) }
            }
        }
        return record
    }

    func absolute(_ relativePath: String) -> String {
        if relativePath.isEmpty { return walker.root }
        return walker.root.hasSuffix("/") ? walker.root + relativePath : walker.root + "/" + relativePath
    }
}

/// A directory entry's name, read in place from the fixed-size `d_name` C array.
enum EntryName {
    case dotOrDotDot
    case invalid([UInt8])
    case valid(String)

    init(_ entry: UnsafeMutablePointer<dirent>) {
        self = withUnsafePointer(to: &entry.pointee.d_name) { tuple in
            tuple.withMemoryRebound(to: CChar.self, capacity: 256) { cName in
                if cName[0] == 0x2E && (cName[1] == 0 || (cName[1] == 0x2E && cName[2] == 0)) { return .dotOrDotDot }
                if let s = String(validatingCString: cName) { return .valid(s) }
                let bytes = UnsafeRawBufferPointer(start: cName, count: strlen(cName))
                return .invalid(Array(bytes))
            }
        }
    }
}

extension FileRecord {
    /// A record from `lstat` data (no link target, xattrs or digest).
    public init(stat st: stat, path: String) {
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
