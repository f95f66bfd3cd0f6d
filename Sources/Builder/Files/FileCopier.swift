import CKilnSys
import FoundationEssentials
import Glibc
import PluginAPI
import SystemCalls

/// Copies files into a build root as COPY and ADD do, recording every path it writes so the
/// layer can be made from them without walking the root.
///
/// Symlinks inside copied directories are copied as links; a top-level source symlink is
/// followed (BuildKit's rule). Hardlinks among copied files stay hardlinks. Ownership is the
/// given owner (COPY from the context: 0:0 by default) or the source's (`--from`), modes are the
/// source's unless `--chmod` says otherwise, and modification times are kept. Names below a
/// source are the kernel's bytes (`BytePath`) from the listing to the layer, so a name that is
/// not UTF-8 is copied exactly; `.dockerignore` and `--exclude` match it as text in which each
/// such byte reads as U+FFFD (Go's reading, so BuildKit's patterns match the same names).
final class FileCopier {
    struct Owner: Equatable {
        var uid: uid_t
        var gid: gid_t
    }

    let root: BuildRoot
    /// nil keeps the source's ownership.
    var owner: Owner?
    let chmod: ChmodSpec?
    /// Source-relative paths to leave out (`.dockerignore`, `--exclude`); takes the path
    /// relative to the source tree and whether it is a directory.
    var excludes: ((String, Bool) -> Bool)?
    /// For a directory `excludes` drops: true when a later `!` pattern may re-include something
    /// below it. The walk then goes in and keeps the directory only if something inside is
    /// copied (BuildKit's fsutil walk emits such a parent lazily).
    var mayReinclude: ((String) -> Bool)?
    /// When set, regular files are not copied into the root: they are recorded in `deferred`
    /// and the layer is written straight from their sources. Used for a COPY whose files no
    /// later instruction reads from the root (the root is thrown away after the build).
    var skipContents = false
    /// Regular files recorded instead of copied: in-root path → source and the metadata the
    /// copy would have had.
    private(set) var deferred: [BytePath: DeferredFile] = [:]

    struct DeferredFile {
        var source: BytePath
        var uid: uid_t
        var gid: gid_t
        var permissions: UInt32
    }

    /// Paths written, relative to the root, in the order written (parents before children).
    private(set) var written: [BytePath] = []
    private var writtenSet = Set<BytePath>()
    /// Regular files written (or deferred) and their bytes, every name of a hardlinked file
    /// counted: the layer's `LayerShape`.
    private(set) var contentFiles = 0
    private(set) var contentBytes: Int64 = 0
    private var linkedInodes: [InodeKey: BytePath] = [:]

    struct InodeKey: Hashable {
        var device: UInt64
        var inode: UInt64
    }

    init(root: BuildRoot, owner: Owner?, chmod: ChmodSpec?) {
        self.root = root
        self.owner = owner
        self.chmod = chmod
    }

    private func record(_ rel: BytePath) {
        if writtenSet.insert(rel).inserted { written.append(rel) }
    }

    private func record(_ rel: String) { record(BytePath(rel)) }

    /// Creates the destination directory (and missing parents, owned by the owner as BuildKit
    /// does with --chown, with --chmod's mode for directories) and returns its resolved
    /// relative path.
    func prepareDirectory(_ imagePath: String) throws -> String {
        try prepareDirectory(BytePath(imagePath)).lossyString
    }

    /// `prepareDirectory` for an image path of the kernel's bytes (`COPY --parents` of listed names).
    func prepareDirectory(_ imagePath: BytePath) throws -> BytePath {
        // --chmod applies to the directories the copy creates too (current BuildKit).
        let permissions = mode_t(chmod?.apply(to: 0o755, isDirectory: true) ?? 0o755)
        let (path, created) = try root.makeDirectories(imagePath, permissions: permissions, uid: owner?.uid ?? 0, gid: owner?.gid ?? 0)
        for c in created { record(c) }
        return path
    }

    /// Copies `source` (a host path) to the image path `destination`. When `intoDirectory` the
    /// source goes *inside* `destination` under its own name; a source directory always has its
    /// contents copied into `destination`.
    func copy(source: String, relative: String = "", to destination: String, intoDirectory: Bool) throws {
        try copy(source: BytePath(source), relative: BytePath(relative), to: BytePath(destination), intoDirectory: intoDirectory)
    }

    /// `copy` for paths of the kernel's bytes (sources matched in a directory listing).
    func copy(source: BytePath, relative: BytePath, to destination: BytePath, intoDirectory: Bool) throws {
        // Hardlinks are kept within one source (BuildKit copies each source on its own).
        linkedInodes = [:]
        var st = stat()
        // The top-level source is followed: `COPY link /x` copies what the link points to.
        try sys("stat", source) { stat($0, &st) }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            let dir = try prepareDirectory(destination)
            try applyDirectoryMetadata(of: st, to: dir, createdNow: written.last == dir)
            try copyContents(ofDirectory: source, relative: relative, into: dir)
            return
        }
        var target = destination
        let existing = try root.resolve(destination)
        let existingIsDirectory = ((try? lstatIfPresent(root.hostPath(existing))) ?? nil).map { ($0.st_mode & S_IFMT) == S_IFDIR }
        if intoDirectory || existingIsDirectory == true {
            let slash = destination.bytes.last == UInt8(ascii: "/")
            // The source's own name, also when it is a symlink whose target was copied
            // (`COPY --from=s /a/link /d/` gives /d/link, as BuildKit does).
            let name = (relative.isEmpty ? source : relative).components.last ?? .empty
            target = (slash ? destination : destination + "/") + name
            _ = try prepareDirectory(destination)
        } else {
            _ = try prepareDirectory("/" + BytePath(joining: BuildRoot.components(destination)).parent)
        }
        let targetParts = BuildRoot.components(target)
        let parentRel = try root.resolve("/" + BytePath(joining: targetParts.dropLast()))
        try copyEntry(source: source, relative: relative, st: st, to: parentRel.appending(targetParts.last ?? .empty))
    }

    /// Copies what is inside `source` into the resolved directory `dir`.
    func copyContents(ofDirectory source: String, relative: String = "", into dir: String) throws {
        try copyContents(ofDirectory: BytePath(source), relative: BytePath(relative), into: BytePath(dir))
    }

    /// Copies what is inside `source` into the resolved directory `dir`, names as bytes.
    func copyContents(ofDirectory source: BytePath, relative: BytePath, into dir: BytePath) throws {
        let fd = try sys("open", source) { open($0, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        let names: [BytePath]
        do {
            defer { close(fd) }
            names = try directoryNames(fd, subject: source.description)
        }
        for name in names {
            let child = source.appending(name)
            var st = stat()
            try sys("lstat", child) { lstat($0, &st) }
            let childRelative = relative.appending(name)
            let isDirectory = (st.st_mode & S_IFMT) == S_IFDIR
            var onlyIfNotEmpty = false
            if let excludes, excludes(childRelative.lossyString, isDirectory) {
                guard isDirectory, mayReinclude?(childRelative.lossyString) == true else { continue }
                onlyIfNotEmpty = true
            }
            try copyEntry(source: child, relative: childRelative, st: st, to: dir.appending(name), onlyIfNotEmpty: onlyIfNotEmpty)
        }
    }

    /// Copies one entry (recursively for directories) to the resolved relative path `rel`.
    private func copyEntry(source: BytePath, relative: BytePath, st: stat, to rel: BytePath, onlyIfNotEmpty: Bool = false) throws {
        let dest = root.hostPath(rel)
        let kind = st.st_mode & S_IFMT
        let existing = (try? lstatIfPresent(dest)) ?? nil
        if let existing, !(kind == S_IFDIR && (existing.st_mode & S_IFMT) == S_IFDIR) {
            try removeTree(dest)
        }
        let perms = chmod?.apply(to: UInt32(st.st_mode & 0o7777), isDirectory: kind == S_IFDIR) ?? UInt32(st.st_mode & 0o7777)
        let uid = owner?.uid ?? st.st_uid
        let gid = owner?.gid ?? st.st_gid
        switch kind {
        case S_IFDIR:
            if existing == nil { try sys("mkdir", dest) { mkdir($0, 0o700) } }
            let newlyRecorded = !writtenSet.contains(rel)
            record(rel)
            let mark = written.count
            try copyContents(ofDirectory: source, relative: relative, into: rel)
            if onlyIfNotEmpty && written.count == mark {
                // An excluded directory walked for re-included paths, and none was there.
                if newlyRecorded {
                    written.removeLast()
                    writtenSet.remove(rel)
                }
                if existing == nil { try sys("rmdir", dest) { rmdir($0) } }
                return
            }
            try sys("lchown", dest) { lchown($0, uid, gid) }
            try sys("chmod", dest) { Glibc.chmod($0, mode_t(perms)) }
            try setTimes(dest, st)
            return
        case S_IFREG:
            contentBytes += Int64(st.st_size)
            contentFiles += 1
            if skipContents {
                // The layer writer keeps hardlinks by source inode; the root never sees the file.
                deferred[rel] = DeferredFile(source: source, uid: uid, gid: gid, permissions: perms)
                record(rel)
                return
            }
            let key = InodeKey(device: UInt64(st.st_dev), inode: UInt64(st.st_ino))
            if st.st_nlink > 1, let first = linkedInodes[key] {
                try sys("link", dest) { d in root.hostPath(first).withCString { link($0, d) } }
                record(rel)
                return
            }
            try copyRegularFile(source, to: dest, size: Int(st.st_size))
            if st.st_nlink > 1 { linkedInodes[key] = rel }
        case S_IFLNK:
            let target = try readLink(source)
            try sys("symlink", dest) { d in target.withCString { symlink($0, d) } }
            try sys("lchown", dest) { lchown($0, uid, gid) }
            try setTimes(dest, st)
            record(rel)
            return
        case S_IFCHR, S_IFBLK, S_IFIFO:
            try sys("mknod", dest) { mknod($0, st.st_mode, st.st_rdev) }
        default:
            return  // sockets are not image content
        }
        try sys("lchown", dest) { lchown($0, uid, gid) }
        try sys("chmod", dest) { Glibc.chmod($0, mode_t(perms)) }
        try copyXattrs(from: source, to: dest)
        try setTimes(dest, st)
        record(rel)
    }

    /// Writes a file from bytes (a heredoc) at the image path `destination`.
    /// What `write` puts in a file: bytes in memory (a heredoc) or a file on disk (a download).
    enum Content {
        case bytes([UInt8])
        case file(String)
    }

    /// Writes a file from `content` at the image path `destination`, owned by the owner
    /// (0:0 by default), with `permissions` (or `--chmod`) and `mtime`.
    func write(_ content: Content, to destination: String, permissions: UInt32, mtime: timespec) throws {
        let parent = BuildRoot.parent(of: "/" + BuildRoot.relative(destination))
        let parentRel = try prepareDirectory(parent)
        let name = BuildRoot.lastComponent(of: destination)
        let rel = parentRel.isEmpty ? name : parentRel + "/" + name
        let dest = root.hostPath(rel)
        if root.lstatIfPresent(rel) != nil { try removeTree(dest) }
        let fd = try sys("open", dest) { open(dest, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600) }
        defer { close(fd) }
        switch content {
        case .bytes(let bytes):
            try bytes.withUnsafeBytes { try writeAll(fd, $0, path: dest) }
            contentBytes += Int64(bytes.count)
            contentFiles += 1
        case .file(let source):
            let input = try sys("open", source) { open(source, O_RDONLY | O_CLOEXEC) }
            defer { close(input) }
            var st = stat()
            try sys("fstat", source) { fstat(input, &st) }
            contentBytes += Int64(st.st_size)
            contentFiles += 1
            try copyData(from: input, to: fd, size: Int(st.st_size), dest: dest)
        }
        try sys("fchown", dest) { fchown(fd, owner?.uid ?? 0, owner?.gid ?? 0) }
        let perms = chmod?.apply(to: permissions, isDirectory: false) ?? permissions
        try sys("fchmod", dest) { fchmod(fd, mode_t(perms)) }
        var times = [mtime, mtime]
        try sys("futimens", dest) { futimens(fd, &times) }
        record(rel)
    }

    private func applyDirectoryMetadata(of st: stat, to rel: BytePath, createdNow: Bool) throws {
        guard createdNow, !rel.isEmpty else { return }
        let dest = root.hostPath(rel)
        let perms = chmod?.apply(to: UInt32(st.st_mode & 0o7777), isDirectory: true) ?? UInt32(st.st_mode & 0o7777)
        try sys("lchown", dest) { lchown($0, owner?.uid ?? st.st_uid, owner?.gid ?? st.st_gid) }
        try sys("chmod", dest) { Glibc.chmod($0, mode_t(perms)) }
    }

    private func copyRegularFile(_ source: BytePath, to dest: BytePath, size: Int) throws {
        let input = try sys("open", source) { open($0, O_RDONLY | O_CLOEXEC) }
        defer { close(input) }
        let output = try sys("open", dest) { open($0, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600) }
        defer { close(output) }
        try copyData(from: input, to: output, size: size, dest: dest.description)
    }

    /// Copies `size` bytes in the kernel (copy_file_range), falling back to read/write.
    private func copyData(from input: Int32, to output: Int32, size: Int, dest: String) throws {
        var remaining = size
        while remaining > 0 {
            let n = kiln_copy_file_range(input, output, UInt(remaining))
            if n < 0 {
                if errno == EXDEV || errno == ENOSYS || errno == EINVAL { return try copyByReading(input, output, dest) }
                throw SystemCallError(call: "copy_file_range", subject: dest, code: errno)
            }
            if n == 0 { break }
            remaining -= Int(n)
        }
    }

    private func copyByReading(_ input: Int32, _ output: Int32, _ dest: String) throws {
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = read(input, &buffer, buffer.count)
            if n < 0 { throw SystemCallError(call: "read", subject: dest, code: errno) }
            if n == 0 { return }
            try buffer.withUnsafeBytes { try writeAll(output, UnsafeRawBufferPointer(rebasing: $0[0..<n]), path: dest) }
        }
    }

    private func copyXattrs(from sourcePath: BytePath, to destPath: BytePath) throws {
        try sourcePath.withCString { source in
            try destPath.withCString { dest in
                let size = llistxattr(source, nil, 0)
                guard size > 0 else { return }
                var names = [CChar](repeating: 0, count: size)
                let n = llistxattr(source, &names, size)
                guard n > 0 else { return }
                for name in names[0..<n].split(separator: 0).map({ String(decoding: $0.map { UInt8(bitPattern: $0) }, as: UTF8.self) }) {
                    // SELinux labels belong to the host, not to the image.
                    if name == "security.selinux" { continue }
                    let vsize = lgetxattr(source, name, nil, 0)
                    guard vsize >= 0 else { continue }
                    var value = [UInt8](repeating: 0, count: max(vsize, 1))
                    let got = lgetxattr(source, name, &value, vsize)
                    guard got >= 0 else { continue }
                    try sys("lsetxattr", destPath.description) { lsetxattr(dest, name, value, got, 0) }
                }
            }
        }
    }

    private func setTimes(_ dest: BytePath, _ st: stat) throws {
        var times = [st.st_atim, st.st_mtim]
        try sys("utimensat", dest) { utimensat(AT_FDCWD, $0, &times, AT_SYMLINK_NOFOLLOW) }
    }
}

/// Removes a file or a directory tree (not following symlinks).
func removeTree(_ path: String) throws {
    try removeTree(BytePath(path))
}

/// Removes a file or a directory tree (not following symlinks); names inside are listed as
/// bytes, so a name that is not UTF-8 is removed too.
func removeTree(_ path: BytePath) throws {
    guard let st = try lstatIfPresent(path) else { return }
    if (st.st_mode & S_IFMT) == S_IFDIR {
        let fd = try sys("open", path) { open($0, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
        let names: [BytePath]
        do {
            defer { close(fd) }
            names = try directoryNames(fd, subject: path.description)
        }
        for name in names {
            try removeTree(path.appending(name))
        }
        try sys("rmdir", path) { rmdir($0) }
    } else {
        try sys("unlink", path) { unlink($0) }
    }
}

/// Writes all of `bytes` to `fd`, retrying short writes.
func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws {
    guard let base = bytes.baseAddress else { return }
    var offset = 0
    while offset < bytes.count {
        let n = Glibc.write(fd, base + offset, bytes.count - offset)
        if n < 0 {
            if errno == EINTR { continue }
            throw SystemCallError(call: "write", subject: path, code: errno)
        }
        offset += n
    }
}
