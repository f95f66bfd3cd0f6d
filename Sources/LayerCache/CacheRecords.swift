import ImageModel
import ImageStore
import PluginAPI
import PluginSupport

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// The entries of one cache repository this runner has looked up (hits) or stored, kept in
/// `--cache-dir` (`<dir>/cache-entries/<sha256 of the repository's name>/<key's tag>`), so a
/// rebuild takes a hit without asking the repository: a key is content-addressed, so what an
/// entry said stays true. What can change is that the repository loses the entry's layer; the
/// build then finds out when it needs the blob (`StepCache.UnavailableLayer`) and runs again
/// without the key.
///
/// A record is a small JSON file written to a temporary name and renamed into place; one that
/// does not read or decode is ignored (and replaced by the next lookup's), never an error.
public struct CacheRecords: Sendable {
    /// The repository's directory of records.
    public let directory: String
    /// The repository's name, as records name it.
    public let repository: String

    /// The records of `repository` (`CacheRepository.name`) under `cacheDirectory`.
    public init(cacheDirectory: String, repository: String) {
        self.repository = repository
        let digest = Digest.sha256(of: repository)
        directory = cacheDirectory + "/cache-entries/" + digest.encoded
    }

    /// One record's file (`version` changes when the format does; other versions are ignored).
    struct Record: Codable {
        var version: Int
        var repository: String
        var key: String
        /// The layer's descriptor and diff ID; both nil: the step made no layer.
        var layer: Descriptor?
        var diffID: Digest?
        var created: Int64
        var createdBy: String?
    }

    static let version = 1

    /// The recorded entry under `key`: a hit when its record is readable and not older than
    /// `ttl` at `now`, `.miss(.expired)` when older, nil when there is no usable record.
    public func lookup(_ key: CacheKey, ttl: Int64, now: Int64) -> CacheLookup? {
        guard let bytes = Self.readRecord(path(key)),
            let record = try? CanonicalJSON.decode(Record.self, from: bytes),
            record.version == Self.version, record.repository == repository, record.key == key.tag,
            (record.layer == nil) == (record.diffID == nil)
        else { return nil }
        if let layer = record.layer, layer.mediaType.layerCompression == nil { return nil }
        if now - record.created > ttl { return .miss(.expired(ageSeconds: now - record.created)) }
        let layer = record.layer.flatMap { descriptor in record.diffID.map { Layer(descriptor: descriptor, diffID: $0) } }
        return .hit(CacheEntry(key: key, layer: layer, createdBy: record.createdBy, created: record.created))
    }

    /// Records `entry` (its `created`, else `now`); false when it could not be written (the
    /// directory is not writable, the disk is full): the next build asks the repository again.
    @discardableResult
    public func record(_ entry: CacheEntry, now: Int64) -> Bool {
        let record = Record(
            version: Self.version, repository: repository, key: entry.key.tag, layer: entry.layer?.descriptor,
            diffID: entry.layer?.diffID, created: entry.created ?? now, createdBy: entry.createdBy)
        guard let bytes = try? CanonicalJSON.encode(record), Self.makeDirectories(directory) else { return false }
        return Self.writeAtomically(bytes, to: path(entry.key), in: directory)
    }

    /// Removes the record under `key` (an entry found unusable).
    public func forget(_ key: CacheKey) {
        unlink(path(key))
    }

    /// The file of `key`'s record.
    public func path(_ key: CacheKey) -> String { directory + "/" + key.tag }

    /// The file's bytes; nil when it cannot be read or is larger than a record can be.
    private static func readRecord(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        let limit = 1 << 16
        var bytes = [UInt8](repeating: 0, count: limit + 1)
        var count = 0
        while count <= limit {
            let n = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress.map { $0 + count }, $0.count - count) }
            if n < 0, errno == EINTR { continue }
            guard n >= 0 else { return nil }
            if n == 0 { return Array(bytes[..<count]) }
            count += n
        }
        return nil
    }

    /// `mkdir -p` with private directories (mode 0700); true when `path` is a directory.
    private static func makeDirectories(_ path: String) -> Bool {
        var st = stat()
        if stat(path, &st) == 0 { return (st.st_mode & S_IFMT) == S_IFDIR }
        if let slash = path.lastIndex(of: "/"), slash != path.startIndex {
            guard makeDirectories(String(path[..<slash])) else { return false }
        }
        return mkdir(path, 0o700) == 0 || errno == EEXIST
    }

    /// Writes `bytes` to a new temporary file in `directory` and renames it to `path`: a reader
    /// sees the old record or the new one, never part of one.
    private static func writeAtomically(_ bytes: [UInt8], to path: String, in directory: String) -> Bool {
        var template = Array((directory + "/.tmp-XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { buffer in buffer.baseAddress.map { mkstemp($0) } ?? -1 }
        guard fd >= 0 else { return false }
        let temporary = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress.map { $0 + written }, $0.count - written) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { break }
            written += n
        }
        let closed = close(fd) == 0
        guard written == bytes.count, closed, rename(temporary, path) == 0 else {
            unlink(temporary)
            return false
        }
        return true
    }
}
