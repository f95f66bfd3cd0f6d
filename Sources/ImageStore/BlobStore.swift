import PluginAPI
import PluginSupport
import SystemCalls

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// A content-addressed directory of blobs, laid out as `<root>/blobs/<algorithm>/<hex>`: the
/// build's working store and, with the layout directory as root, the `blobs/` of an OCI layout.
///
/// Every write is atomic (temporary file in the same directory, then `rename`), so a blob path
/// either does not exist or holds the complete content. A blob is immutable once stored: writers
/// that find the blob already present leave it alone.
public struct BlobStore: Sendable, Hashable {
    /// The directory that contains `blobs/`.
    public let root: String

    /// How `put(fileAt:digest:mode:)` brings a finished file into the store.
    public enum PutMode: Sendable, Hashable {
        /// `rename` the file in (copy and unlink when it sits on another file system).
        case move
        /// Hard-link the file in (copy when linking is impossible). The caller must not modify
        /// the source afterwards: it is the same inode as the blob.
        case link
        /// Always copy.
        case copy
    }

    public enum Error: Swift.Error, CustomStringConvertible, Sendable, Hashable {
        case missing(Digest, path: String)
        case digestMismatch(expected: Digest, actual: Digest, path: String)

        public var description: String {
            switch self {
            case .missing(let digest, let path):
                return
                    "blob \(digest) is missing (expected at \(path)); the image store is incomplete — rebuild the image"
            case .digestMismatch(let expected, let actual, let path):
                return
                    "blob at \(path) has digest \(actual), not \(expected); the file was changed after it was stored — delete it and rebuild"
            }
        }
    }

    /// Opens (and creates, with `blobs/sha256`) the store rooted at `root`.
    /// Throws `SystemCallError` when the directory cannot be created.
    public init(root: String) throws {
        self.root = root.count > 1 && root.hasSuffix("/") ? String(root.dropLast()) : root
        try FileIO.makeDirectories(self.root + "/blobs/sha256")
    }

    /// Where the blob with `digest` lives (whether or not it is present).
    public func path(for digest: Digest) -> String {
        "\(root)/blobs/\(digest.algorithm.rawValue)/\(digest.encoded)"
    }

    public func contains(_ digest: Digest) -> Bool { FileIO.exists(path(for: digest)) }

    /// The stored size of a blob. Throws `Error.missing` when it is absent.
    public func size(of digest: Digest) throws -> Int64 {
        guard contains(digest) else { throw Error.missing(digest, path: path(for: digest)) }
        return try FileIO.size(of: path(for: digest))
    }

    /// Stores `bytes` (a manifest, a config) and returns their SHA-256 digest.
    @discardableResult
    public func put(_ bytes: [UInt8]) throws -> Digest {
        let digest = Digest.sha256(of: bytes)
        let target = path(for: digest)
        if !FileIO.exists(target) { try FileIO.writeAtomically(bytes, to: target) }
        return digest
    }

    /// Brings a finished file (a layer written by the builder) into the store under `digest`,
    /// which the caller computed while writing it; it is not re-hashed here (`verify` does that).
    /// When the blob is already present the source is left alone (`.move` removes it).
    public func put(fileAt source: String, digest: Digest, mode: PutMode = .move) async throws {
        let target = path(for: digest)
        try await runBlocking { try Self.place(source, at: target, mode: mode) }
    }

    /// Copies (or hard-links) a blob of `other` into this store, unless already present.
    public func put(_ digest: Digest, from other: BlobStore) async throws {
        guard other.root != root, !contains(digest) else { return }
        guard other.contains(digest) else { throw Error.missing(digest, path: other.path(for: digest)) }
        try await put(fileAt: other.path(for: digest), digest: digest, mode: .link)
    }

    /// The whole blob; meant for manifests and configs, not layers.
    public func read(_ digest: Digest) throws -> [UInt8] {
        let file = path(for: digest)
        guard FileIO.exists(file) else { throw Error.missing(digest, path: file) }
        return try FileIO.readAll(file)
    }

    /// Re-hashes a stored blob by streaming and throws `Error.digestMismatch` if it changed.
    public func verify(_ digest: Digest) async throws {
        let file = path(for: digest)
        guard FileIO.exists(file) else { throw Error.missing(digest, path: file) }
        let (actual, _) = try await runBlocking { try FileIO.digestAndSize(of: file) }
        if actual != digest { throw Error.digestMismatch(expected: digest, actual: actual, path: file) }
    }

    private static func place(_ source: String, at target: String, mode: PutMode) throws {
        try FileIO.makeDirectories(FileIO.directoryName(target))
        if FileIO.exists(target) {
            if mode == .move { unlink(source) }
            return
        }
        switch mode {
        case .move:
            // Builders write layers with mkstemp (mode 0600); blobs are world-readable.
            if rename(source, target) == 0 {
                chmod(target, 0o644)
                return
            }
            guard errno == EXDEV else { throw SystemCallError(call: "rename to \(target)", subject: source, code: errno) }
            try FileIO.copyAtomically(from: source, to: target)
            unlink(source)
        case .link:
            if link(source, target) == 0 { return }
            // Another writer may have stored the same blob meanwhile: content-addressed, so fine.
            if errno == EEXIST { return }
            // EXDEV: other file system; EPERM/EMLINK: links not allowed or too many.
            guard errno == EXDEV || errno == EPERM || errno == EMLINK else {
                throw SystemCallError(call: "link to \(target)", subject: source, code: errno)
            }
            try FileIO.copyAtomically(from: source, to: target)
        case .copy:
            try FileIO.copyAtomically(from: source, to: target)
        }
    }
}
