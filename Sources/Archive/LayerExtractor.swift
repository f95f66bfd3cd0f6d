// Applies layer tars (and ADD's local archives) onto a build root, safely.
// Mirrors OCI image-spec 1.1 `layer.md` § Applying changesets, § Whiteouts.
import CArchive
import Dispatch
import Glibc
import PluginAPI
import PluginSupport

/// What extraction may do and how much it may write.
public struct ExtractionOptions: Sendable, Equatable {
    /// Paths (in the root's view) never written, replaced or deleted.
    public var ignoring: IgnoreList
    /// Decompression-bomb cap: the total of entry sizes one archive may declare.
    public var maxUncompressedBytes: Int64
    /// Cap on the number of entries one archive may hold.
    public var maxEntries: Int
    /// Interpret `.wh.` entries as OCI whiteouts (layers) or write them as files (ADD).
    public var whiteouts: Bool
    /// Replaces every entry's owner (ADD `--chown`); nil keeps the archive's numeric ids.
    public var owner: Owner?

    public struct Owner: Sendable, Hashable {
        public var uid: UInt32
        public var gid: UInt32
        public init(uid: UInt32, gid: UInt32) {
            self.uid = uid
            self.gid = gid
        }
    }

    public init(
        ignoring: IgnoreList = IgnoreList(), maxUncompressedBytes: Int64 = 64 << 30, maxEntries: Int = 4_000_000,
        whiteouts: Bool = true, owner: Owner? = nil
    ) {
        self.ignoring = ignoring
        self.maxUncompressedBytes = maxUncompressedBytes
        self.maxEntries = maxEntries
        self.whiteouts = whiteouts
        self.owner = owner
    }
}

/// What one extraction did.
public struct ExtractionSummary: Sendable, Hashable {
    public var entries = 0
    /// Bytes of file content written.
    public var bytes: Int64 = 0
    /// Entries skipped because the ignore list covers them.
    public var ignored = 0
    /// Things that did not stop extraction (an xattr the file system refused, a device node
    /// that needs root).
    public var warnings: [String] = []
    public init() {}
}

/// Applies layers onto the directory `root`, in order, with OCI semantics.
///
/// Every path is resolved inside the root by the kernel (openat2 with RESOLVE_IN_ROOT and
/// RESOLVE_NO_MAGICLINKS, Linux 5.6+) and the last component is created with *at() calls that
/// never follow it, so a hostile layer cannot write outside `root`: names with `..` are
/// refused, absolute names are taken relative to the root, symlinks (planted by earlier
/// entries or layers) resolve as if `root` were `/`, hardlink targets must lie inside the
/// root, and the byte and entry caps stop decompression bombs before the data is written.
/// All calls block; the `async` variants run them off the cooperative pool.
public struct LayerExtractor: Sendable {
    public enum Error: Swift.Error, CustomStringConvertible, Equatable {
        case rootUnavailable(root: String, reason: String)
        case unreadableArchive(archive: String, reason: String)
        case unsafeEntry(archive: String, entry: String, reason: String)
        case entryFailed(archive: String, entry: String, reason: String)
        case limitExceeded(archive: String, entry: String, reason: String)
        case notAnArchive(path: String)
        case kernelTooOld
        /// The decompressed layer does not hash to the diff ID the image config lists.
        case diffIDMismatch(archive: String, expected: Digest, actual: Digest)
        /// The media type declares one compression, the bytes are another.
        case wrongCompression(archive: String, declared: String, found: String)

        public var description: String {
            switch self {
            case .rootUnavailable(let r, let why):
                return "cannot open the build root \(r): \(why)"
            case .unreadableArchive(let a, let why):
                return "cannot read layer \(a): \(why); the blob is corrupt or not a tar (check its digest)"
            case .unsafeEntry(let a, let e, let why):
                return "refused entry '\(e)' of layer \(a): \(why); the layer is malformed or hostile"
            case .entryFailed(let a, let e, let why):
                return "cannot extract entry '\(e)' of layer \(a): \(why)"
            case .limitExceeded(let a, let e, let why):
                return "stopped at entry '\(e)' of layer \(a): \(why); raise the limit only if you trust this image"
            case .notAnArchive(let p):
                return "\(p) is not a tar archive (plain, gzip, bzip2, xz or zstd); copy it as a file instead"
            case .kernelTooOld:
                return "safe extraction needs openat2(2) (Linux 5.6 or later); this kernel does not have it"
            case .diffIDMismatch(let a, let expected, let actual):
                return
                    "\(a) does not match its diff ID: the image config lists \(expected) but the uncompressed layer is \(actual); the image is corrupt or was altered"
            case .wrongCompression(let a, let declared, let found):
                return
                    "\(a) is mislabelled: its media type declares \(declared == "none" ? "an uncompressed tar" : declared + " compression") but its bytes are \(found == "none" ? "not compressed" : found + "-compressed")"
            }
        }
    }

    public let root: String
    public var options: ExtractionOptions
    /// Told the bytes of the layer blob read so far, while a layer with a `LayerExpectation`
    /// is applied (a progress display for large layers).
    public var progress: (@Sendable (Int64) -> Void)?

    public init(root: String, options: ExtractionOptions = ExtractionOptions()) {
        self.root = root
        self.options = options
    }

    /// Applies one layer blob (gzip, zstd, bzip2, xz or uncompressed; detected from its bytes).
    /// `name` (a digest, say) is used in errors; the path otherwise.
    @discardableResult
    public func apply(layer path: String, name: String? = nil) throws -> ExtractionSummary {
        try apply(layer: path, name: name, expecting: nil)
    }

    /// Applies one layer blob and, with `expected`, proves it in the same pass: the compression
    /// its media type declares and the diff ID its config lists (`Error.wrongCompression`,
    /// `Error.diffIDMismatch`; the root then holds a partial layer and must be discarded).
    @discardableResult
    public func apply(layer path: String, name: String? = nil, expecting expected: LayerExpectation?) throws -> ExtractionSummary {
        let session = try ExtractionSession(root: root, destination: "", options: options, archiveName: name ?? path)
        session.progress = progress
        return try session.run(archive: path, expected: expected)
    }

    /// Applies `layers` in order.
    @discardableResult
    public func apply(layers: [String]) throws -> ExtractionSummary {
        var total = ExtractionSummary()
        for l in layers {
            let s = try apply(layer: l)
            total.entries += s.entries
            total.bytes += s.bytes
            total.ignored += s.ignored
            total.warnings += s.warnings
        }
        return total
    }

    /// `apply(layer:name:)` on a thread outside the cooperative pool.
    @discardableResult
    public func apply(layer path: String, name: String? = nil, expecting expected: LayerExpectation? = nil) async throws
        -> ExtractionSummary
    {
        try await runBlocking { try self.apply(layer: path, name: name, expecting: expected) }
    }

    /// ADD of a local archive: extracts the tar at `archive` into `destination` (a directory
    /// path inside `root`, created if missing) with the same containment as layers; whiteout
    /// names are written as plain files. Throws `Error.notAnArchive` when `archive` is not a
    /// (possibly compressed) tar, so the caller copies it instead.
    @discardableResult
    public static func extract(
        tar archive: String, into root: String, at destination: String, owner: ExtractionOptions.Owner? = nil,
        ignoring: IgnoreList = IgnoreList()
    ) throws -> ExtractionSummary {
        let options = ExtractionOptions(ignoring: ignoring, whiteouts: false, owner: owner)
        let dest = destination.split(separator: "/").filter { $0 != "." }
        if dest.contains("..") {
            throw Error.unsafeEntry(archive: archive, entry: destination, reason: "the destination contains '..'")
        }
        let session = try ExtractionSession(root: root, destination: dest.joined(separator: "/"), options: options, archiveName: archive)
        return try session.run(archive: archive, requireArchive: true)
    }

    /// True when `path` is a tar archive, plain or compressed (what ADD auto-extracts).
    public static func isArchive(_ path: String) -> Bool {
        ArchiveReader.sniff(path)
    }
}
