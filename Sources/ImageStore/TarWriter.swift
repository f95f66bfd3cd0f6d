import Archive
import CArchive

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// A minimal libarchive tar writer for the docker-archive: regular files only, with fixed
/// owner (0:0), mode (0644) and mtime (the epoch), so the same content gives the same bytes.
final class TarWriter {
    private let archive: OpaquePointer
    private let path: String
    private var closed = false

    struct Error: Swift.Error, CustomStringConvertible {
        var operation: String
        var path: String
        var message: String
        var description: String { "writing the tarball \(path): \(operation) failed: \(message)" }
    }

    /// Writes a PAX (restricted) tar to the open descriptor `fd`; `path` names it in errors.
    init(fd: Int32, path: String) throws {
        guard let archive = archive_write_new() else {
            throw Error(operation: "archive_write_new", path: path, message: "out of memory")
        }
        self.archive = archive
        self.path = path
        // pax_restricted: plain ustar headers unless a field needs more (a layer over 8 GiB).
        try check("set format", archive_write_set_format_pax_restricted(archive))
        try check("open", archive_write_open_fd(archive, fd))
    }

    deinit {
        if !closed { archive_write_close(archive) }
        archive_write_free(archive)
    }

    private func check(_ operation: String, _ result: Int32) throws {
        do {
            try checkArchive(result, archive, operation)
        } catch {
            throw Error(operation: operation, path: path, message: error.message)
        }
    }

    /// Starts a regular file entry of exactly `size` bytes, to be followed by `write` calls.
    func beginFile(_ name: String, size: Int64) throws {
        guard let entry = archive_entry_new() else {
            throw Error(operation: "archive_entry_new", path: path, message: "out of memory")
        }
        defer { archive_entry_free(entry) }
        archive_entry_set_pathname(entry, name)
        archive_entry_set_size(entry, size)
        archive_entry_set_filetype(entry, KILN_AE_IFREG)
        archive_entry_set_perm(entry, 0o644)
        archive_entry_set_mtime(entry, 0, 0)
        archive_entry_set_uid(entry, 0)
        archive_entry_set_gid(entry, 0)
        try check("write header of \(name)", archive_write_header(archive, entry))
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        let written = archive_write_data(archive, base, bytes.count)
        if written < 0 { try check("write data", Int32(truncatingIfNeeded: written)) }
        // libarchive silently truncates data beyond the size given in the header.
        guard written == bytes.count else {
            throw Error(operation: "write data", path: path, message: "entry is longer than its declared size")
        }
    }

    func file(_ name: String, _ bytes: [UInt8]) throws {
        try beginFile(name, size: Int64(bytes.count))
        try bytes.withUnsafeBytes { try write($0) }
    }

    /// Writes the end-of-archive blocks. The descriptor stays open (the caller owns it).
    func close() throws {
        closed = true
        try check("close", archive_write_close(archive))
    }
}
