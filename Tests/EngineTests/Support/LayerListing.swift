// Reads a layer blob (tar, gzip or zstd) with libarchive into entries the tests assert on:
// path, type, mode, owner, link target and (small) content.
import CArchive
import Foundation

struct LayerEntry: Equatable, CustomStringConvertible {
    enum Kind: Equatable { case file, directory, symlink, hardlink, other }
    var path: String
    var kind: Kind
    /// Permission bits (0o7777).
    var mode: UInt32
    var uid: Int64
    var gid: Int64
    var mtime: Int64
    var linkTarget: String?
    var content: [UInt8]

    var text: String { String(decoding: content, as: UTF8.self) }
    var isWhiteout: Bool { path.split(separator: "/").last?.hasPrefix(".wh.") ?? false }
    var description: String {
        "\(kind) \(path) \(String(mode, radix: 8)) \(uid):\(gid)" + (linkTarget.map { " -> \($0)" } ?? "")
    }
}

struct LayerListing: CustomStringConvertible {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    var entries: [LayerEntry]

    subscript(path: String) -> LayerEntry? { entries.first { $0.path == path } }
    var paths: [String] { entries.map(\.path) }
    var description: String { entries.map(\.description).joined(separator: "\n") }

    /// Reads every entry of the archive at `path`.
    init(reading path: String) throws {
        guard let archive = archive_read_new() else { throw Failure(description: "archive_read_new failed") }
        defer { archive_read_free(archive) }
        archive_read_support_filter_all(archive)
        archive_read_support_format_tar(archive)
        guard archive_read_open_filename(archive, path, 1 << 16) == ARCHIVE_OK else {
            throw Failure(description: "\(path): \(String(cString: archive_error_string(archive)))")
        }
        var out: [LayerEntry] = []
        var entry: OpaquePointer?
        while true {
            let rc = archive_read_next_header(archive, &entry)
            if rc == ARCHIVE_EOF { break }
            guard rc == ARCHIVE_OK, let entry else {
                throw Failure(description: "\(path): \(String(cString: archive_error_string(archive)))")
            }
            var name = String(cString: archive_entry_pathname(entry))
            if name.hasPrefix("./") { name.removeFirst(2) }
            while name.hasSuffix("/") { name.removeLast() }
            let type = archive_entry_filetype(entry)
            var kind: LayerEntry.Kind
            var target: String?
            if let hard = archive_entry_hardlink(entry) {
                kind = .hardlink
                target = String(cString: hard)
            } else if type == KILN_AE_IFREG {
                kind = .file
            } else if type == KILN_AE_IFDIR {
                kind = .directory
            } else if type == KILN_AE_IFLNK {
                kind = .symlink
                target = archive_entry_symlink(entry).map { String(cString: $0) }
            } else {
                kind = .other
            }
            var content: [UInt8] = []
            if kind == .file {
                var buffer = [UInt8](repeating: 0, count: 1 << 16)
                while true {
                    let n = archive_read_data(archive, &buffer, buffer.count)
                    if n < 0 { throw Failure(description: "\(path): \(String(cString: archive_error_string(archive)))") }
                    if n == 0 { break }
                    if content.count < 1 << 20 { content += buffer[0..<n] }
                }
            }
            out.append(
                LayerEntry(
                    path: name, kind: kind, mode: UInt32(archive_entry_perm(entry)), uid: archive_entry_uid(entry),
                    gid: archive_entry_gid(entry), mtime: Int64(archive_entry_mtime(entry)), linkTarget: target, content: content))
        }
        entries = out
    }
}
