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
        var records: [String: FileRecord] = [:]
        func walk(_ rel: String) throws {
            for name in try FileManager.default.contentsOfDirectory(atPath: root + "/" + rel).sorted() {
                let r = rel.isEmpty ? name : rel + "/" + name
                let rec = try record(root, r)
                records[r] = rec
                if rec.type == .directory { try walk(r) }
            }
        }
        try walk("")
        return SnapshotState(records: records, capturedAt: FileTime(seconds: Int64(time(nil)), nanoseconds: 0))
    }

    static func record(_ root: String, _ rel: String) throws -> FileRecord {
        let st = try stat(root + "/" + rel)
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
            linkTarget: type == .symlink ? try readLink(root + "/" + rel) : nil)
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
