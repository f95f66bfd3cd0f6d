// Work done once: a layer whose tar this build has already compressed (a `COPY --from` of files
// an earlier stage COPYed, the same COPY in every platform of a multi-platform build) reuses
// that blob instead of compressing the same bytes again.
import Archive
import ImageStore
import PluginAPI
import Synchronization

/// Every blob this build compressed, by diff ID and encoding, and the shapes of its COPY
/// layers. One per build, shared by the sessions of all its platforms.
///
/// Knowing a layer's diff ID before compressing costs a second pass: the tar is written out
/// uncompressed first. COPY layers take that path only when an earlier COPY layer of the
/// build had the same `LayerShape` (as many files, as many bytes), which every
/// repeat has; any other layer streams through the compressor in one pass, as before.
final class CompressedLayers: Sendable {
    /// What makes two blobs of one tar differ (the media type does not change the bytes).
    struct Encoding: Hashable {
        var compression: Compression
        var level: Int?

        init(_ options: LayerWriter.Options) {
            compression = options.compression
            level = options.level
        }
    }

    /// A compressed blob and the store holding it.
    struct Blob: Sendable {
        var digest: Digest
        var size: Int64
        var store: BlobStore
    }

    private struct Key: Hashable {
        var diffID: Digest
        var encoding: Encoding
    }

    private struct State {
        var blobs: [Key: Blob] = [:]
        var shapes: Set<LayerShape> = []
    }

    private let state = Mutex(State())

    init() {}

    /// True when an earlier COPY layer had `shape` (the layer may repeat it); notes `shape`.
    func mayRepeat(_ shape: LayerShape) -> Bool {
        state.withLock { !$0.shapes.insert(shape).inserted }
    }

    /// The blob compressed earlier from the tar `diffID` names, if any.
    func blob(for diffID: Digest, _ encoding: Encoding) -> Blob? {
        state.withLock { $0.blobs[Key(diffID: diffID, encoding: encoding)] }
    }

    /// Records a blob now in `store` (the first one for a diff ID stays).
    func record(_ diffID: Digest, _ encoding: Encoding, _ blob: Blob) {
        state.withLock { s in
            let key = Key(diffID: diffID, encoding: encoding)
            if s.blobs[key] == nil { s.blobs[key] = blob }
        }
    }
}

/// What a COPY layer will hold, known before it is written: the regular files the copier
/// wrote and their bytes (directories are left out: a COPY into an existing directory writes
/// its parents differently but can make the same tar). Equal layers have equal shapes; the
/// converse is only likely.
struct LayerShape: Hashable, Sendable {
    var files: Int
    var contentBytes: Int64
}
