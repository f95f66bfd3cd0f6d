// Test input for the change-set writer: records of a real tree read with lstat, and the plain
// stat comparison a snapshot makes (the snapshot plugins have their own tests; here the point
// is to feed the layer writer change sets whose shape the test controls).
import CKilnSys
import Foundation
import Glibc
import PluginAPI
import SystemCalls

@testable import Archive

enum TreeState {
    static func capture(_ root: String) throws -> SnapshotState {
        var records: [BytePath: FileRecord] = [:]
        func walk(_ rel: BytePath) throws {
            let dir = BytePath(root + "/") + rel
            let fd = dir.withCString { open($0, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
            guard fd >= 0 else { throw SystemCallError(call: "open", subject: dir.description, code: errno) }
            defer { close(fd) }
            for name in try directoryNames(fd, subject: dir.description) {
                let r = rel.appending(name)
                let rec = try record(root, r)
                records[r] = rec
                if rec.type == .directory { try walk(r) }
            }
        }
        try walk(.empty)
        return SnapshotState(records: records, capturedAt: FileTime(seconds: Int64(time(nil)), nanoseconds: 0))
    }

    static func record(_ root: String, _ rel: String) throws -> FileRecord { try record(root, BytePath(rel)) }

    static func record(_ root: String, _ rel: BytePath) throws -> FileRecord {
        let abs = BytePath(root + "/") + rel
        guard let st = try lstatIfPresent(abs) else { throw SystemCallError(call: "lstat", subject: abs.description, code: ENOENT) }
        let type: FileType
        switch st.st_mode & 0o170000 {
        case 0o040000: type = .directory
        case 0o120000: type = .symlink
        case 0o020000: type = .characterDevice
        case 0o060000: type = .blockDevice
        case 0o010000: type = .fifo
        case 0o140000: type = .socket
        default: type = .regular
        }
        return FileRecord(
            path: rel, type: type, permissions: st.st_mode & 0o7777, uid: st.st_uid, gid: st.st_gid, size: Int64(st.st_size),
            mtime: FileTime(seconds: Int64(st.st_mtim.tv_sec), nanoseconds: Int64(st.st_mtim.tv_nsec)),
            ctime: FileTime(seconds: Int64(st.st_ctim.tv_sec), nanoseconds: Int64(st.st_ctim.tv_nsec)),
            inode: UInt64(st.st_ino), device: UInt64(st.st_dev), linkCount: UInt64(st.st_nlink), rdev: UInt64(st.st_rdev),
            linkTarget: type == .symlink ? try readLink(abs) : nil)
    }

    /// Paths new, gone, or whose type, inode, mode, owner, size or times differ.
    static func changes(from old: SnapshotState, to new: SnapshotState) -> ChangeSet {
        var c = ChangeSet()
        for (p, r) in new.records {
            guard let o = old.records[p] else {
                c.added.append(r)
                continue
            }
            if o.type != r.type || o.inode != r.inode || o.permissions != r.permissions || o.uid != r.uid || o.gid != r.gid
                || o.size != r.size || o.mtime != r.mtime || o.ctime != r.ctime || o.linkTarget != r.linkTarget
            {
                c.modified.append(r)
            }
        }
        c.deleted = old.records.keys.filter { new.records[$0] == nil }.sorted()
        return c
    }
}
