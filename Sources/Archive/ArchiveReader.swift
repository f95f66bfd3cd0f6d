// A libarchive read handle for tar streams under any compression libarchive knows.
import CArchive
import Glibc
import SystemCalls

/// Reads tar entries from a file; the compression is detected from the bytes.
final class ArchiveReader {
    let handle: OpaquePointer
    let path: String

    init(path: String) throws(LibArchiveError) {
        guard let a = archive_read_new() else { throw LibArchiveError(call: "archive_read_new", message: "out of memory") }
        handle = a
        self.path = path
        try checkArchive(archive_read_support_filter_all(a), a, "archive_read_support_filter_all")
        // Tar only: layers are tars, and ADD extracts tars only (a zip is copied as a file).
        try checkArchive(archive_read_support_format_tar(a), a, "archive_read_support_format_tar")
        try checkArchive(archive_read_open_filename(a, path, 1 << 20), a, "open")
    }

    /// Takes ownership of an opened read handle.
    init(handle: OpaquePointer, path: String) {
        self.handle = handle
        self.path = path
    }

    deinit { archive_read_free(handle) }

    /// The next header, nil at the end.
    func next() throws(LibArchiveError) -> OpaquePointer? {
        var entry: OpaquePointer?
        let r = archive_read_next_header(handle, &entry)
        if r == ARCHIVE_EOF { return nil }
        try checkArchive(r, handle, "read header")
        return entry
    }

    /// True when `path` opens as a (possibly compressed) tar with a readable first header.
    static func sniff(_ path: String) -> Bool {
        var st = stat()
        guard stat(path, &st) == 0, st.st_size > 0, (st.st_mode & ModeBits.mask) == ModeBits.regular else { return false }
        guard let reader = try? ArchiveReader(path: path) else { return false }
        do {
            _ = try reader.next()
            return true
        } catch {
            return false
        }
    }
}
