// Ownership, mode, xattrs and times of an extracted entry, in the order the kernel requires:
// chown first (it clears setuid/setgid and security.capability), then chmod, then xattrs.
import CArchive
import CKilnSys
import Glibc
import PluginAPI
import SystemCalls

extension ExtractionSession {
    /// Metadata through an open descriptor (regular files and directories).
    func setMetadata(fd: Int32, entry: OpaquePointer, rel: BytePath, isDirectory: Bool) throws {
        let (uid, gid) = owner(of: entry)
        if fchown(fd, uid, gid) != 0 { try ownershipFailed(rel, errno) }
        try sys("fchmod", rel.description) { fchmod(fd, mode_t(archive_entry_perm(entry) & 0o7777)) }
        try setXattrs(entry, rel: rel) { name, value, size in fsetxattr(fd, name, value, size, 0) }
        let times = Self.times(of: entry)
        if isDirectory {
            directoryTimes.append((rel, times))
        } else {
            try sys("futimens", rel.description) { times.withUnsafeBufferPointer { futimens(fd, $0.baseAddress) } }
        }
    }

    /// Metadata of a name that cannot be opened safely (symlinks, devices, fifos).
    func setMetadataAt(parent: Int32, base: BytePath, entry: OpaquePointer, rel: BytePath, chmod: Bool) throws {
        let (uid, gid) = owner(of: entry)
        if base.withCString({ fchownat(parent, $0, uid, gid, AT_SYMLINK_NOFOLLOW) }) != 0 { try ownershipFailed(rel, errno) }
        if chmod {
            // Safe to follow: this node was created by mknodat just now and is not a symlink.
            try sys("fchmodat", rel.description) {
                base.withCString { fchmodat(parent, $0, mode_t(archive_entry_perm(entry) & 0o7777), 0) }
            }
        }
        // /proc/self/fd/N is this process's own descriptor of the parent (inside the root);
        // lsetxattr does not follow the final component.
        let viaProc = "/proc/self/fd/\(parent)/" + base
        try viaProc.withCString { path in
            try setXattrs(entry, rel: rel) { name, value, size in lsetxattr(path, name, value, size, 0) }
        }
        let times = Self.times(of: entry)
        try sys("utimensat", rel.description) {
            base.withCString { name in times.withUnsafeBufferPointer { utimensat(parent, name, $0.baseAddress, AT_SYMLINK_NOFOLLOW) } }
        }
    }

    private func owner(of entry: OpaquePointer) -> (uid_t, gid_t) {
        if let o = options.owner { return (o.uid, o.gid) }
        return (uid_t(truncatingIfNeeded: archive_entry_uid(entry)), gid_t(truncatingIfNeeded: archive_entry_gid(entry)))
    }

    private func ownershipFailed(_ rel: BytePath, _ code: Int32) throws {
        // Without root, ownership cannot be restored; the files are still usable.
        if code == EPERM && geteuid() != 0 {
            summary.warnings.append("kept own uid/gid for \(rel): changing ownership needs root")
            return
        }
        throw SystemCallError(call: "chown", subject: rel.description, code: code)
    }

    /// Sets every xattr of `entry`. `security.capability` must land (a binary without its
    /// capability breaks at run time); other names a file system refuses become warnings.
    private func setXattrs(
        _ entry: OpaquePointer, rel: BytePath,
        _ set: (UnsafePointer<CChar>, UnsafeRawPointer?, Int) -> Int32
    ) throws {
        guard archive_entry_xattr_reset(entry) > 0 else { return }
        var name: UnsafePointer<CChar>?
        var value: UnsafeRawPointer?
        var size = 0
        while archive_entry_xattr_next(entry, &name, &value, &size) == ARCHIVE_OK {
            guard let name else { continue }
            if set(name, value, size) == 0 { continue }
            let code = errno
            let key = String(cString: name)
            if key == "security.capability" {
                throw SystemCallError(call: "setxattr", subject: "\(rel) \(key)", code: code)
            }
            summary.warnings.append("xattr \(key) of \(rel) not set: \(String(cString: strerror(code)))")
        }
    }

    static func times(of entry: OpaquePointer) -> [timespec] {
        let mtime = timespec(tv_sec: archive_entry_mtime(entry), tv_nsec: archive_entry_mtime_nsec(entry))
        let atime =
            archive_entry_atime_is_set(entry) != 0
            ? timespec(tv_sec: archive_entry_atime(entry), tv_nsec: archive_entry_atime_nsec(entry)) : mtime
        return [atime, mtime]
    }
}
