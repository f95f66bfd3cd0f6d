// One pass over one archive: reads entries, enforces the caps, dispatches each entry.
import CArchive
import Glibc
import PluginAPI
import SystemCalls

final class ExtractionSession {
    typealias Failure = LayerExtractor.Error

    let root: RootedDirectory
    /// Path inside the root under which entries land ("" for layers).
    let destination: String
    let options: ExtractionOptions
    let archiveName: String
    var summary = ExtractionSummary()
    /// Paths this archive wrote, and their ancestors: opaque markers and whiteouts spare them.
    var writtenHere = Set<BytePath>()
    /// Directory mtimes, set once their contents are in place.
    var directoryTimes: [(rel: BytePath, times: [timespec])] = []
    var declaredBytes: Int64 = 0
    /// Told the blob bytes read so far (only for layers checked against `expected`).
    var progress: (@Sendable (Int64) -> Void)?

    init(root: String, destination: String, options: ExtractionOptions, archiveName: String) throws(Failure) {
        do { self.root = try RootedDirectory(path: root) } catch {
            throw .rootUnavailable(root: root, reason: "\(error)")
        }
        self.destination = destination
        self.options = options
        self.archiveName = archiveName
    }

    /// Extracts the archive at `path`. With `expected`, the blob's compression must be the one
    /// declared and its decompressed stream must hash to the diff ID (checked at the end: the
    /// caller discards the root when this throws).
    func run(archive path: String, requireArchive: Bool = false, expected: LayerExpectation? = nil) throws(Failure)
        -> ExtractionSummary
    {
        if requireArchive && !ArchiveReader.sniff(path) { throw .notAnArchive(path: path) }
        let reader: ArchiveReader
        var stream: DecompressedStream?
        do {
            if let expected {
                let s = try DecompressedStream(path: path)
                if let declared = expected.compression, s.compression != declared {
                    throw Failure.wrongCompression(archive: archiveName, declared: declared.rawValue, found: s.filterName)
                }
                s.onRead = progress
                stream = s
                reader = try ArchiveReader(stream: s, path: path)
            } else {
                reader = try ArchiveReader(path: path)
            }
        } catch let e as Failure {
            throw e
        } catch let e as LibArchiveError {
            throw .unreadableArchive(archive: archiveName, reason: stream?.failure ?? e.message)
        } catch {
            throw .unreadableArchive(archive: archiveName, reason: "\(error)")
        }
        let summary: ExtractionSummary
        do { summary = try extractEntries(reader) } catch {
            // The tar reader only sees its input stop: the decompressor knows why.
            if let failure = stream?.failure { throw .unreadableArchive(archive: archiveName, reason: failure) }
            throw error
        }
        if let stream, let expected {
            let actual: Digest
            do { actual = try stream.finish() } catch { throw .unreadableArchive(archive: archiveName, reason: error.message) }
            if actual != expected.diffID { throw .diffIDMismatch(archive: archiveName, expected: expected.diffID, actual: actual) }
        }
        return summary
    }

    private func extractEntries(_ reader: ArchiveReader) throws(Failure) -> ExtractionSummary {
        var last = "(first entry)"
        while true {
            let entry: OpaquePointer
            do {
                guard let e = try reader.next() else { break }
                entry = e
            } catch {
                throw .unreadableArchive(archive: archiveName, reason: "after '\(last)': \(error.message)")
            }
            // The header's bytes as they are: `archive_entry_pathname` gives them unconverted
            // (ustar and GNU names, pax `hdrcharset=BINARY`; a pax UTF-8 name that the C locale
            // cannot convert falls back to its raw bytes too), never a replacement character.
            let name = Self.bytes(archive_entry_pathname(entry)) ?? Self.bytes(archive_entry_pathname_utf8(entry)) ?? .empty
            last = name.description
            summary.entries += 1
            if summary.entries > options.maxEntries {
                throw .limitExceeded(archive: archiveName, entry: last, reason: "more than \(options.maxEntries) entries")
            }
            let size = archive_entry_size_is_set(entry) != 0 ? archive_entry_size(entry) : 0
            declaredBytes += max(0, size)
            if declaredBytes > options.maxUncompressedBytes {
                throw .limitExceeded(
                    archive: archiveName, entry: last,
                    reason: "the archive expands to more than \(options.maxUncompressedBytes) bytes")
            }
            do {
                try apply(entry, name: name, reader: reader)
            } catch let e as Failure {
                throw e
            } catch {
                throw .entryFailed(archive: archiveName, entry: last, reason: "\(error)")
            }
        }
        restoreDirectoryTimes()
        return summary
    }

    /// The components of an entry name below the destination; `..` is refused (a lexical
    /// clean would change its meaning when a component is a symlink), `/` and `.` dropped.
    func components(_ name: BytePath, entry: BytePath) throws(Failure) -> [BytePath] {
        var parts = BytePath(destination).components
        for p in name.components where p != "." {
            if p == ".." { throw .unsafeEntry(archive: archiveName, entry: entry.description, reason: "the name contains '..'") }
            parts.append(p)
        }
        return parts
    }

    func markWritten(_ parts: [BytePath]) {
        var prefix = BytePath.empty
        for p in parts {
            prefix = prefix.appending(p)
            writtenHere.insert(prefix)
        }
    }

    private func restoreDirectoryTimes() {
        // Deepest first; a directory's own time is not disturbed by setting its children's.
        for (rel, times) in directoryTimes.sorted(by: { $0.rel.bytes.count > $1.rel.bytes.count }) {
            if rel.isEmpty {
                _ = times.withUnsafeBufferPointer { futimens(root.fd, $0.baseAddress) }
                continue
            }
            let (dir, base) = (rel.parent, rel.lastComponent)
            guard let parent = try? root.openDirectory(dir, create: false) else { continue }
            defer { close(parent) }
            guard let st = try? fstatatIfPresent(parent, base, subject: rel.description), ModeBits.isDirectory(st.st_mode) else { continue }
            let set = base.withCString { name in
                times.withUnsafeBufferPointer { utimensat(parent, name, $0.baseAddress, AT_SYMLINK_NOFOLLOW) }
            }
            if set != 0 {
                let e = errno
                summary.warnings.append("cannot restore the mtime of \(rel): \(String(cString: strerror(e)))")
            }
        }
    }

    /// The bytes of a C string from libarchive, never decoded.
    static func bytes(_ p: UnsafePointer<CChar>?) -> BytePath? {
        p.map { BytePath(bytes: UnsafeRawBufferPointer(start: $0, count: strlen($0))) }
    }
}
