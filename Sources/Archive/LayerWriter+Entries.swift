// The entries a layer can hold: files from disk (every type), files from bytes, directories,
// whiteouts and opaque markers.
import CArchive
import CKilnSys
import Glibc
import PluginAPI
import SystemCalls

extension LayerWriter {
    /// The prefix OCI uses for whiteout names.
    public static let whiteoutPrefix = ".wh."
    /// The name of the opaque-directory marker.
    public static let opaqueMarker = ".wh..wh..opq"

    /// Adds what is at `source` on disk (not following a final symlink) as `name`.
    ///
    /// Regular files, directories, symlinks, character and block devices and fifos are written
    /// with their xattrs (`security.capability` included, `security.selinux` excluded: it is a
    /// host label, not image content). A regular file whose inode was already written in this
    /// layer under another name becomes a hardlink to that name (relative, never absolute).
    /// Sockets are skipped (returns false). Throws `Error.unreadableSource` or `.writeFailed`.
    @discardableResult
    public func addPath(_ source: String, as name: String, overrides: Overrides = Overrides()) throws -> Bool {
        try addPath(BytePath(source), as: BytePath(name), overrides: overrides)
    }

    /// `addPath` for a source and a name that are the kernel's bytes (names read from disk).
    @discardableResult
    public func addPath(_ source: BytePath, as name: BytePath, overrides: Overrides = Overrides()) throws -> Bool {
        var st = stat()
        do { try sys("lstat", source) { lstat($0, &st) } } catch {
            throw Error.unreadableSource(path: source.description, reason: "\(error)")
        }
        let kind = st.st_mode & ModeBits.mask
        if kind == ModeBits.socket { return false }
        let isDir = kind == ModeBits.directory
        let clean = try Self.normalize(name)
        let entryName = isDir ? clean + "/" : clean

        archive_entry_clear(entry)
        setPathname(entryName)
        archive_entry_set_uid(entry, Int64(overrides.uid ?? st.st_uid))
        archive_entry_set_gid(entry, Int64(overrides.gid ?? st.st_gid))
        archive_entry_set_perm(entry, mode_t(overrides.permissions ?? (st.st_mode & 0o7777)))
        let mtime = clampedTime(overrides.mtime ?? FileTime(seconds: Int64(st.st_mtim.tv_sec), nanoseconds: Int64(st.st_mtim.tv_nsec)))
        archive_entry_set_mtime(entry, time_t(mtime.seconds), Int(mtime.nanoseconds))
        do {
            for (key, value) in try readXattrs(source) {
                value.withUnsafeBytes { archive_entry_xattr_add_entry(entry, key, $0.baseAddress, $0.count) }
            }
        } catch {
            throw Error.unreadableSource(path: source.description, reason: "\(error)")
        }

        switch kind {
        case ModeBits.regular:
            let key = InodeKey(device: UInt64(st.st_dev), inode: UInt64(st.st_ino))
            if st.st_nlink > 1, let first = firstNameOfInode[key] {
                archive_entry_set_filetype(entry, KILN_AE_IFREG)
                first.withCString { archive_entry_set_hardlink(entry, $0) }
                archive_entry_set_size(entry, 0)
                try emit(name: clean)
                return true
            }
            if st.st_nlink > 1 { firstNameOfInode[key] = clean }
            archive_entry_set_filetype(entry, KILN_AE_IFREG)
            archive_entry_set_size(entry, Int64(st.st_size))
            try emit(name: clean) { try copyContents(of: source, size: Int64(st.st_size), name: clean) }
        case ModeBits.directory:
            archive_entry_set_filetype(entry, KILN_AE_IFDIR)
            try emit(name: clean)
        case ModeBits.symlink:
            let target: BytePath
            do { target = try readLink(source) } catch { throw Error.unreadableSource(path: source.description, reason: "\(error)") }
            archive_entry_set_filetype(entry, KILN_AE_IFLNK)
            target.withCString { archive_entry_set_symlink(entry, $0) }
            try emit(name: clean)
        case ModeBits.character, ModeBits.block:
            archive_entry_set_filetype(entry, kind == ModeBits.character ? KILN_AE_IFCHR : KILN_AE_IFBLK)
            archive_entry_set_rdevmajor(entry, dev_t(kiln_major(UInt64(st.st_rdev))))
            archive_entry_set_rdevminor(entry, dev_t(kiln_minor(UInt64(st.st_rdev))))
            try emit(name: clean)
        case ModeBits.fifo:
            archive_entry_set_filetype(entry, KILN_AE_IFIFO)
            try emit(name: clean)
        default:
            return false
        }
        return true
    }

    /// Adds a regular file whose content is `contents` (a `COPY <<EOF` heredoc).
    public func addFile(
        named name: String, contents: [UInt8], permissions: UInt32 = 0o644, uid: UInt32 = 0, gid: UInt32 = 0,
        mtime: FileTime
    ) throws {
        let clean = try Self.normalize(BytePath(name))
        prepare(name: clean, type: KILN_AE_IFREG, permissions: permissions, uid: uid, gid: gid, mtime: mtime)
        archive_entry_set_size(entry, Int64(contents.count))
        try emit(name: clean) { try contents.withUnsafeBytes { try writeData($0, name: clean) } }
    }

    /// Adds a directory that has no source on disk (a parent COPY creates, a WORKDIR).
    public func addDirectory(named name: String, permissions: UInt32 = 0o755, uid: UInt32 = 0, gid: UInt32 = 0, mtime: FileTime) throws {
        let clean = try Self.normalize(BytePath(name))
        prepare(name: clean + "/", type: KILN_AE_IFDIR, permissions: permissions, uid: uid, gid: gid, mtime: mtime)
        try emit(name: clean)
    }

    /// Adds a symlink that has no source on disk.
    public func addSymlink(named name: String, target: String, uid: UInt32 = 0, gid: UInt32 = 0, mtime: FileTime) throws {
        let clean = try Self.normalize(BytePath(name))
        prepare(name: clean, type: KILN_AE_IFLNK, permissions: 0o777, uid: uid, gid: gid, mtime: mtime)
        archive_entry_set_symlink(entry, target)
        try emit(name: clean)
    }

    /// Adds a hardlink `name` to `target`, an entry already in this layer (both relative).
    public func addHardlink(named name: BytePath, target: BytePath) throws {
        let clean = try Self.normalize(name)
        let to = try Self.normalize(target)
        guard writtenNames.contains(to) else {
            throw Error.invalidName(name.description, reason: "its hardlink target '\(to)' is not in this layer yet")
        }
        prepare(name: clean, type: KILN_AE_IFREG, permissions: 0o644, uid: 0, gid: 0, mtime: FileTime(seconds: 0, nanoseconds: 0))
        to.withCString { archive_entry_set_hardlink(entry, $0) }
        archive_entry_set_size(entry, 0)
        try emit(name: clean)
    }

    /// Adds the whiteout `dir/.wh.base` that deletes `name` (and everything under it) from
    /// the layers below.
    public func addWhiteout(for name: BytePath) throws {
        let clean = try Self.normalize(name)
        try addMarker(clean.parent.appending(Self.whiteoutPrefix + clean.lastComponent))
    }

    /// Adds `directory/.wh..wh..opq`: the directory's contents in lower layers are hidden;
    /// entries of this layer under it stay.
    public func addOpaqueMarker(directory: BytePath) throws {
        let clean = directory.components.isEmpty ? BytePath.empty : try Self.normalize(directory)
        try addMarker(clean.appending(Self.opaqueMarker))
    }

    /// Whiteout entries are bare regular-file headers (size 0, mode 0, root-owned, epoch).
    private func addMarker(_ name: BytePath) throws {
        prepare(name: name, type: KILN_AE_IFREG, permissions: 0, uid: 0, gid: 0, mtime: FileTime(seconds: 0, nanoseconds: 0))
        archive_entry_set_size(entry, 0)
        try emit(name: name)
    }

    private func prepare(name: BytePath, type: UInt32, permissions: UInt32, uid: UInt32, gid: UInt32, mtime: FileTime) {
        archive_entry_clear(entry)
        setPathname(name)
        archive_entry_set_filetype(entry, type)
        archive_entry_set_perm(entry, mode_t(permissions & 0o7777))
        archive_entry_set_uid(entry, Int64(uid))
        archive_entry_set_gid(entry, Int64(gid))
        let t = clampedTime(mtime)
        archive_entry_set_mtime(entry, time_t(t.seconds), Int(t.nanoseconds))
    }

    /// Streams exactly `size` bytes of `source` (zero-padded by libarchive if it shrank).
    /// Sets the entry's name to exactly these bytes (no charset conversion: see the type's doc).
    private func setPathname(_ name: BytePath) {
        name.withCString { archive_entry_set_pathname(entry, $0) }
    }

    /// Streams exactly `size` bytes of `source` (zero-padded by libarchive if it shrank).
    private func copyContents(of source: BytePath, size: Int64, name: BytePath) throws {
        let fd: Int32
        do { fd = try sys("open", source) { open($0, O_RDONLY | O_NOFOLLOW | O_CLOEXEC) } } catch {
            throw Error.unreadableSource(path: source.description, reason: "\(error)")
        }
        defer { close(fd) }
        var left = size
        while left > 0 {
            let want = Int(min(Int64(readBuffer.count), left))
            let n: Int
            do { n = try sys("read", source.description) { read(fd, readBuffer.baseAddress, want) } } catch {
                throw Error.unreadableSource(path: source.description, reason: "\(error)")
            }
            if n == 0 { break }
            try writeData(UnsafeRawBufferPointer(rebasing: readBuffer[0..<n]), name: name)
            left -= Int64(n)
        }
    }

    /// A relative name without empty, `.` or trailing components; throws on `..` or empty.
    static func normalize(_ name: BytePath) throws -> BytePath {
        let parts = name.components.filter { $0 != "." }
        if parts.isEmpty { throw Error.invalidName(name.description, reason: "the name is empty or names the root; use a relative path") }
        if parts.contains("..") {
            throw Error.invalidName(
                name.description, reason: "it contains a '..' component; use a relative path without '..' components")
        }
        // A file of that name would delete files when the image is unpacked (image-spec
        // layer.md § Whiteouts); BuildKit refuses it too. kiln writes whiteouts with addMarker.
        if let reserved = parts.first(where: { $0.hasPrefix(whiteoutPrefix) }) {
            throw Error.invalidName(
                name.description,
                reason: "'\(reserved)' begins with '\(whiteoutPrefix)', which image layers reserve for whiteouts (deletions); rename it")
        }
        return BytePath(joining: parts)
    }
}
