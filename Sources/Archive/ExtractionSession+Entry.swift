// Applying one tar entry: whiteouts, opaque markers, and every file type, each created with
// *at() calls relative to a parent directory opened inside the root.
import CArchive
import CKilnSys
import Glibc
import PluginAPI
import SystemCalls

extension ExtractionSession {
    func apply(_ entry: OpaquePointer, name: BytePath, reader: ArchiveReader) throws {
        let parts = try components(name, entry: name)
        let rel = BytePath(joining: parts)
        if !rel.isEmpty && options.ignoring.contains(rel) {
            summary.ignored += 1
            return
        }
        guard let base = parts.last, parts.count > destinationDepth else {
            // The root (or the ADD destination) itself: only a directory entry means anything.
            if archive_entry_filetype(entry) == KILN_AE_IFDIR {
                let fd = try root.openDirectory(rel, create: true)
                defer { close(fd) }
                try setMetadata(fd: fd, entry: entry, rel: rel, isDirectory: true)
            }
            return
        }
        let dirRel = BytePath(joining: parts.dropLast())
        if options.whiteouts && base.hasPrefix(LayerWriter.whiteoutPrefix) {
            try applyWhiteout(base: base, dirRel: dirRel, name: name)
            return
        }
        let parent: Int32
        do { parent = try root.openDirectory(dirRel, create: true) } catch {
            throw unresolvable(error, name: name, what: "its parent directory \(dirRel.isEmpty ? "/" : dirRel)")
        }
        defer { close(parent) }
        let resolved = resolvedPath(parent, base, lexical: rel)
        if resolved != rel && options.ignoring.contains(resolved) {
            summary.ignored += 1
            return
        }
        markWritten(parts)

        if let target = Self.bytes(archive_entry_hardlink(entry)) {
            try link(entry: name, target: target, parent: parent, base: base, rel: rel)
            return
        }
        let type = archive_entry_filetype(entry)
        let isDir = type == KILN_AE_IFDIR
        let existingDir = try clearSlot(parent: parent, base: base, rel: resolved, keepDirectory: isDir)
        switch type {
        case KILN_AE_IFDIR:
            if !existingDir { try sys("mkdirat", rel.description) { base.withCString { mkdirat(parent, $0, 0o700) } } }
            let fd = try sys("openat", rel.description) {
                base.withCString { openat(parent, $0, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
            }
            defer { close(fd) }
            try setMetadata(fd: fd, entry: entry, rel: rel, isDirectory: true)
        case KILN_AE_IFREG, 0:
            let fd = try sys("openat", rel.description) {
                base.withCString { openat(parent, $0, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600) }
            }
            defer { close(fd) }
            try copyData(reader: reader, to: fd, size: archive_entry_size(entry), rel: rel, name: name)
            try setMetadata(fd: fd, entry: entry, rel: rel, isDirectory: false)
        case KILN_AE_IFLNK:
            let target = Self.bytes(archive_entry_symlink(entry)) ?? .empty
            try sys("symlinkat", rel.description) { target.withCString { t in base.withCString { symlinkat(t, parent, $0) } } }
            try setMetadataAt(parent: parent, base: base, entry: entry, rel: rel, chmod: false)
        case KILN_AE_IFCHR, KILN_AE_IFBLK, KILN_AE_IFIFO:
            let dev = kiln_makedev(UInt32(archive_entry_rdevmajor(entry)), UInt32(archive_entry_rdevminor(entry)))
            let mode = mode_t(type) | mode_t(archive_entry_perm(entry) & 0o7777)
            if base.withCString({ mknodat(parent, $0, mode, dev_t(type == KILN_AE_IFIFO ? 0 : dev)) }) != 0 {
                let e = errno
                if e == EPERM && geteuid() != 0 {
                    summary.warnings.append("skipped device node \(rel): creating it needs root")
                    return
                }
                throw SystemCallError(call: "mknodat", subject: rel.description, code: e)
            }
            try setMetadataAt(parent: parent, base: base, entry: entry, rel: rel, chmod: true)
        default:
            summary.warnings.append("skipped \(rel): unsupported entry type \(String(type, radix: 8))")
        }
    }

    /// The path of `name` in `dirfd` as the kernel resolved the directory; only computed when
    /// an ignore list needs it.
    func resolvedPath(_ dirfd: Int32, _ name: BytePath, lexical: BytePath) -> BytePath {
        guard !options.ignoring.prefixes.isEmpty, let dir = root.relativePath(of: dirfd) else { return lexical }
        return dir.appending(name)
    }

    var destinationDepth: Int { destination.isEmpty ? 0 : destination.split(separator: "/").count }

    /// `.wh.name` deletes `name` from lower layers; `.wh..wh..opq` empties the directory of
    /// everything this layer did not write.
    private func applyWhiteout(base: BytePath, dirRel: BytePath, name: BytePath) throws {
        let dir: Int32
        do { dir = try root.openDirectory(dirRel, create: false) } catch {
            if error.code == ENOENT || error.code == ENOTDIR { return }  // nothing there to hide
            throw unresolvable(error, name: name, what: "the whiteout's directory \(dirRel)")
        }
        defer { close(dir) }
        if base == BytePath(LayerWriter.opaqueMarker) {
            for child in try directoryNames(dir, subject: dirRel.description) {
                let childRel = dirRel.appending(child)
                if writtenHere.contains(childRel) { continue }
                try root.removeTree(in: dir, name: child, rel: resolvedPath(dir, child, lexical: childRel), ignoring: options.ignoring)
            }
            return
        }
        let victim = BytePath(bytes: base.bytes.dropFirst(LayerWriter.whiteoutPrefix.utf8.count))
        if victim.isEmpty || victim == "." || victim == ".." || victim.hasPrefix(LayerWriter.whiteoutPrefix) {
            throw LayerExtractor.Error.unsafeEntry(archive: archiveName, entry: name.description, reason: "the whiteout names '\(victim)'")
        }
        let victimRel = dirRel.appending(victim)
        if writtenHere.contains(victimRel) { return }
        try root.removeTree(in: dir, name: victim, rel: resolvedPath(dir, victim, lexical: victimRel), ignoring: options.ignoring)
    }

    /// Hardlink `base` (in `parent`) to `target`, a name inside the archive's root.
    private func link(entry name: BytePath, target: BytePath, parent: Int32, base: BytePath, rel: BytePath) throws {
        let parts = try components(target, entry: name)
        let targetRel = BytePath(joining: parts)
        guard let targetBase = parts.last, parts.count > destinationDepth else {
            throw LayerExtractor.Error.unsafeEntry(archive: archiveName, entry: name.description, reason: "the hardlink target is the root")
        }
        if options.ignoring.contains(targetRel) {
            summary.ignored += 1
            return
        }
        if targetRel == rel { return }
        let targetDir: Int32
        do { targetDir = try root.openDirectory(BytePath(joining: parts.dropLast()), create: false) } catch {
            if error.code == ENOENT || error.code == ENOTDIR {
                throw LayerExtractor.Error.entryFailed(
                    archive: archiveName, entry: name.description, reason: "the hardlink target '\(target)' does not exist inside the root")
            }
            throw unresolvable(error, name: name, what: "the hardlink target \(targetRel)")
        }
        defer { close(targetDir) }
        guard let targetStat = try fstatatIfPresent(targetDir, targetBase, subject: targetRel.description) else {
            throw LayerExtractor.Error.entryFailed(
                archive: archiveName, entry: name.description, reason: "the hardlink target '\(target)' does not exist inside the root")
        }
        if ModeBits.isDirectory(targetStat.st_mode) {
            throw LayerExtractor.Error.unsafeEntry(
                archive: archiveName, entry: name.description, reason: "the hardlink target '\(target)' is a directory")
        }
        if let existing = try fstatatIfPresent(parent, base, subject: rel.description),
            existing.st_ino == targetStat.st_ino && existing.st_dev == targetStat.st_dev
        {
            return
        }
        _ = try clearSlot(parent: parent, base: base, rel: rel, keepDirectory: false)
        try sys("linkat", "\(targetRel) -> \(rel)") {
            targetBase.withCString { t in base.withCString { linkat(targetDir, t, parent, $0, 0) } }
        }
    }

    /// Makes room for a new entry: removes whatever is there unless both are directories.
    /// Returns true when an existing directory is kept.
    private func clearSlot(parent: Int32, base: BytePath, rel: BytePath, keepDirectory: Bool) throws -> Bool {
        guard let st = try fstatatIfPresent(parent, base, subject: rel.description) else { return false }
        if ModeBits.isDirectory(st.st_mode) {
            if keepDirectory { return true }
            try root.removeTree(in: parent, name: base, rel: rel, ignoring: options.ignoring)
            if try fstatatIfPresent(parent, base, subject: rel.description) != nil {
                throw SystemCallError(call: "replace", subject: "\(rel) (it holds an ignored path)", code: ENOTEMPTY)
            }
        } else {
            try sys("unlinkat", rel.description) { base.withCString { unlinkat(parent, $0, 0) } }
        }
        return false
    }

    private func copyData(reader: ArchiveReader, to fd: Int32, size declared: Int64, rel: BytePath, name: BytePath) throws {
        var buffer: UnsafeRawPointer?
        var size = 0
        var offset: la_int64_t = 0
        var end: Int64 = 0
        while true {
            let r = archive_read_data_block(reader.handle, &buffer, &size, &offset)
            if r == ARCHIVE_EOF { break }
            do { try checkArchive(r, reader.handle, "read data") } catch {
                throw LayerExtractor.Error.unreadableArchive(archive: archiveName, reason: "in '\(name)': \(error.message)")
            }
            guard let buffer, size > 0 else { continue }
            var done = 0
            while done < size {
                done += try sys("pwrite", rel.description) { pwrite(fd, buffer + done, size - done, off_t(offset) + off_t(done)) }
            }
            end = max(end, Int64(offset) + Int64(size))
            summary.bytes += Int64(size)
        }
        // Sparse files end in a hole that no data block covers.
        if end < declared {
            try sys("ftruncate", rel.description) { ftruncate(fd, off_t(declared)) }
        }
    }

    func unresolvable(_ error: SystemCallError, name bytes: BytePath, what: String) -> LayerExtractor.Error {
        let name = bytes.description
        switch error.code {
        case ELOOP:
            return .unsafeEntry(archive: archiveName, entry: name, reason: "\(what) goes through a symlink loop")
        case EXDEV:
            return .unsafeEntry(archive: archiveName, entry: name, reason: "\(what) escapes the root")
        case ENOSYS:
            return .kernelTooOld
        case ENOTDIR:
            return .entryFailed(archive: archiveName, entry: name, reason: "\(what) is not a directory")
        default:
            return .entryFailed(archive: archiveName, entry: name, reason: "\(what): \(error)")
        }
    }
}
