// Writes one image layer: a PAX tar, compressed, hashed twice in the same streaming pass.
// Mirrors OCI image-spec 1.1 `layer.md` (changesets, whiteouts) and `descriptor.md`.
import CArchive
import Glibc
import PluginAPI

/// A finished layer blob on disk. Its digest, diff ID and sizes exist only once the stream
/// has ended, which is why only `LayerWriter.finish()` makes one.
public struct LayerBlob: Sendable, Hashable {
    /// The compressed blob.
    public var path: String
    /// Media type, sha256 of the compressed bytes, compressed size.
    public var descriptor: Descriptor
    /// sha256 of the uncompressed tar (the image config's `rootfs.diff_ids` entry).
    public var diffID: Digest
    public var uncompressedSize: Int64
    /// Entries written (whiteouts and opaque markers included).
    public var entryCount: Int
    /// gzip chunks compressed, and how many of them came from the deflate chunk cache.
    public var chunks = 0
    public var reusedChunks = 0
}

/// Writes a layer tar entry by entry to a file, compressing and hashing as it goes.
///
/// The tar is PAX (libarchive's pax interchange writer: an extended header only where an
/// entry needs one — sub-second mtimes, long names, xattrs, large ids), names relative without
/// a leading `/`, directories ending in `/`, numeric uid/gid with empty uname/gname, no
/// atime/ctime. Names and link targets are written as the bytes they are on disk (`BytePath`,
/// set with `archive_entry_set_pathname`, never a wide-character or UTF-8 setter): a name the
/// locale cannot convert to UTF-8 (in kiln's C locale, any name that is not ASCII) gets a pax
/// `path` record with `hdrcharset=BINARY` holding the raw bytes, which Go's archive/tar, GNU tar
/// and libarchive read back byte for byte. Not thread-safe; all calls block, so run them off
/// the cooperative pool.
public final class LayerWriter {
    /// How the layer is encoded.
    public struct Options: Sendable, Hashable {
        public var compression: Compression
        /// Compressor level; nil means the compressor's default (gzip 6, zstd 3).
        public var level: Int?
        /// Compression threads (gzip chunks, zstd workers). The blob's bytes do not depend on it.
        public var threads: Int
        /// Use Docker schema 2 layer media types (gzip only; zstd is always OCI).
        public var dockerMediaTypes: Bool
        /// `--reproducible` / `SOURCE_DATE_EPOCH`: every mtime later than this (seconds since
        /// the epoch) becomes exactly this, so two runs give byte-identical blobs.
        public var timestampOverride: Int64?
        /// A directory of compressed gzip chunks kept between builds (`DeflateChunkCache`);
        /// the blob's bytes do not depend on it.
        public var deflateCache: String?

        public init(
            compression: Compression = .gzip, level: Int? = nil, threads: Int = defaultThreads,
            dockerMediaTypes: Bool = false, timestampOverride: Int64? = nil, deflateCache: String? = nil
        ) {
            self.deflateCache = deflateCache
            self.compression = compression
            self.level = level
            self.threads = threads
            self.dockerMediaTypes = dockerMediaTypes
            self.timestampOverride = timestampOverride
        }

        /// The online CPU count.
        public static var defaultThreads: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }
    }

    /// Metadata that replaces what the source file has (COPY `--chown`, `--chmod`).
    public struct Overrides: Sendable, Hashable {
        public var uid: UInt32?
        public var gid: UInt32?
        /// Permission bits (`0o7777` range) replacing the source's.
        public var permissions: UInt32?
        public var mtime: FileTime?

        public init(uid: UInt32? = nil, gid: UInt32? = nil, permissions: UInt32? = nil, mtime: FileTime? = nil) {
            self.uid = uid
            self.gid = gid
            self.permissions = permissions
            self.mtime = mtime
        }
    }

    public enum Error: Swift.Error, CustomStringConvertible {
        /// An in-layer name that cannot be written (empty, `..`, or a whiteout name where a file is meant).
        case invalidName(String, reason: String)
        /// The source on disk could not be read.
        case unreadableSource(path: String, reason: String)
        /// libarchive or the output file failed while writing `entry`.
        case writeFailed(layer: String, entry: String, reason: String)
        /// `finish()` was already called.
        case alreadyFinished(layer: String)

        public var description: String {
            switch self {
            case .invalidName(let n, let r):
                return "cannot write layer entry '\(n)': \(r)"
            case .unreadableSource(let p, let r):
                return "cannot read '\(p)' for the layer: \(r); check that the file exists and is readable"
            case .writeFailed(let l, let e, let r):
                return "writing entry '\(e)' of layer \(l) failed: \(r); check free space on the layer's file system"
            case .alreadyFinished(let l):
                return "layer \(l) is already finished; start a new LayerWriter for another layer"
            }
        }
    }

    public let path: String
    public let options: Options
    private let stream: LayerStream
    private var tar: OpaquePointer?
    let entry: OpaquePointer
    /// First in-layer name of each multiply-linked inode, for hardlink entries.
    var firstNameOfInode: [InodeKey: BytePath] = [:]
    /// Names written so far (normalised, without trailing `/`), as the bytes written.
    public private(set) var writtenNames: Set<BytePath> = []
    public private(set) var entryCount = 0
    var readBuffer: UnsafeMutableRawBufferPointer

    struct InodeKey: Hashable {
        let device: UInt64
        let inode: UInt64
    }

    /// Creates (truncates) the blob file at `path` and starts the tar stream.
    public init(path: String, options: Options = Options()) throws {
        self.path = path
        self.options = options
        stream = try LayerStream(
            path: path, compression: options.compression, level: options.level, threads: options.threads,
            deflateCache: options.deflateCache.map { DeflateChunkCache(directory: $0) })
        guard let t = archive_write_new(), let e = archive_entry_new() else {
            throw Error.writeFailed(layer: path, entry: "", reason: "libarchive: out of memory")
        }
        tar = t
        entry = e
        readBuffer = .allocate(byteCount: 1 << 20, alignment: 16)
        do {
            try checkArchive(archive_write_set_format_pax(t), t, "archive_write_set_format_pax")
            // Only SCHILY.xattr.* (what GNU tar, Go's archive/tar and containerd read), not
            // libarchive's duplicate LIBARCHIVE.xattr.* records.
            try checkArchive(archive_write_set_format_option(t, "pax", "xattrheader", "SCHILY"), t, "pax xattrheader")
            try checkArchive(archive_write_add_filter_none(t), t, "archive_write_add_filter_none")
            try checkArchive(archive_write_set_bytes_per_block(t, 64 * 1024), t, "archive_write_set_bytes_per_block")
            // No padding after the end-of-archive blocks: the tar ends like Go's tar writer's.
            try checkArchive(archive_write_set_bytes_in_last_block(t, 1), t, "archive_write_set_bytes_in_last_block")
            let me = Unmanaged.passUnretained(stream).toOpaque()
            try checkArchive(
                archive_write_open(
                    t, me, nil,
                    { _, ctx, buf, n in
                        guard let ctx, let buf else { return -1 }
                        let s = Unmanaged<LayerStream>.fromOpaque(ctx).takeUnretainedValue()
                        return s.sinkTar(UnsafeRawBufferPointer(start: buf, count: n)) ? n : -1
                    }, nil), t, "archive_write_open")
        } catch {
            throw Error.writeFailed(layer: path, entry: "", reason: "\(error)")
        }
    }

    deinit {
        if let tar { archive_write_free(tar) }
        archive_entry_free(entry)
        readBuffer.deallocate()
    }

    /// Ends the tar stream and the compressor and returns the blob's identity.
    /// Throws when any earlier write failed or the file cannot be completed.
    public func finish() throws -> LayerBlob {
        guard let t = tar else { throw Error.alreadyFinished(layer: path) }
        defer {
            archive_write_free(t)
            tar = nil
        }
        let (digest, diffID): (Digest, Digest)
        do {
            try checkArchive(archive_write_close(t), t, "archive_write_close")
            (digest, diffID) = try stream.finish()
        } catch {
            throw Error.writeFailed(layer: path, entry: "(end of archive)", reason: "\(stream.failure ?? error)")
        }
        let mediaType = options.compression.layerMediaType(docker: options.dockerMediaTypes)
        return LayerBlob(
            path: path, descriptor: Descriptor(mediaType: mediaType, digest: digest, size: stream.compressedSize),
            diffID: diffID, uncompressedSize: stream.uncompressedSize, entryCount: entryCount, chunks: stream.chunks,
            reusedChunks: stream.reusedChunks)
    }

    /// Writes the header prepared in `entry`, then `body` (which writes the data, if any).
    func emit(name: BytePath, body: () throws -> Void = {}) throws {
        guard let t = tar else { throw Error.alreadyFinished(layer: path) }
        do {
            try checkArchive(archive_write_header(t, entry), t, "archive_write_header")
            try body()
            try checkArchive(archive_write_finish_entry(t), t, "archive_write_finish_entry")
        } catch let e as Error {
            throw e
        } catch {
            throw Error.writeFailed(layer: path, entry: name.description, reason: "\(stream.failure ?? error)")
        }
        writtenNames.insert(name)
        entryCount += 1
    }

    /// Writes `bytes` as data of the current entry.
    func writeData(_ bytes: UnsafeRawBufferPointer, name: BytePath) throws {
        guard let t = tar, let base = bytes.baseAddress else { return }
        var offset = 0
        while offset < bytes.count {
            let n = archive_write_data(t, base + offset, bytes.count - offset)
            if n <= 0 {
                throw Error.writeFailed(
                    layer: path, entry: name.description,
                    reason: "\(stream.failure ?? LibArchiveError(call: "archive_write_data", message: archiveMessage(t)))")
            }
            offset += n
        }
    }

    /// The mtime to record: the override clamps later times and drops sub-seconds with them.
    func clampedTime(_ t: FileTime) -> FileTime {
        guard let limit = options.timestampOverride, t.seconds >= limit else { return t }
        return FileTime(seconds: limit, nanoseconds: 0)
    }
}
