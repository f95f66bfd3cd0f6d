import ImageModel
import PluginAPI
import PluginSupport
import SystemCalls

/// One layer of an image: its blob descriptor and its diff ID (the SHA-256 of the uncompressed
/// tar), which go to the manifest and to the config's `rootfs.diff_ids` respectively.
public struct Layer: Sendable, Hashable {
    public var descriptor: Descriptor
    public var diffID: Digest

    public init(descriptor: Descriptor, diffID: Digest) {
        self.descriptor = descriptor
        self.diffID = diffID
    }
}

/// The two manifest families: kaniko writes the base image's family (OCI for `scratch`).
public enum ManifestFormat: String, Sendable, Hashable, CaseIterable {
    case oci
    case docker

    public var manifestMediaType: MediaType { self == .oci ? .ociManifest : .dockerManifest }
    public var configMediaType: MediaType { self == .oci ? .ociConfig : .dockerConfig }

    /// The family of an existing manifest media type (OCI when unknown or absent).
    public init(manifestMediaType: MediaType?) {
        self = manifestMediaType == .dockerManifest ? .docker : .oci
    }
}

/// A built image: its manifest and config (the exact bytes, whose digests name them) and the
/// `BlobStore` that holds every blob they reference.
///
/// An `Image` is a description, not a guarantee: one read from disk may be inconsistent, which
/// is what `ImageValidator` reports.
public struct Image: Sendable, Hashable {
    public let manifest: Manifest
    public let manifestBytes: [UInt8]
    public let config: ImageConfig
    public let configBytes: [UInt8]
    public let store: BlobStore

    public enum Error: Swift.Error, CustomStringConvertible, Sendable, Hashable {
        case layerNotExpressible(MediaType, format: ManifestFormat)
        case undecodable(what: String, digest: Digest, reason: String)

        public var description: String {
            switch self {
            case .layerNotExpressible(let type, let format):
                return
                    "a layer of type \(type) cannot go in a \(format) manifest; write an OCI manifest or use gzip compression"
            case .undecodable(let what, let digest, let reason):
                return "the \(what) \(digest) is not valid JSON for its type: \(reason)"
            }
        }
    }

    /// The manifest's descriptor (what an index, a layout or a registry tag points at).
    public var manifestDescriptor: Descriptor {
        Descriptor(mediaType: manifest.mediaType ?? .ociManifest, bytes: manifestBytes)
    }

    public var digest: Digest { manifestDescriptor.digest }

    public var format: ManifestFormat { ManifestFormat(manifestMediaType: manifest.mediaType) }

    /// The layers paired with their diff IDs (the shorter list wins if an image read from disk
    /// disagrees; `ImageValidator` reports that).
    public var layers: [Layer] {
        zip(manifest.layers, config.rootfs.diffIDs).map { Layer(descriptor: $0, diffID: $1) }
    }

    /// Builds an image from a config and layers whose blobs are already in `store`: sets
    /// `rootfs.diff_ids` from the layers, writes the config canonically, then the manifest, both
    /// into `store`.
    ///
    /// Layer media types are renamed into `format`'s family when that is only a name change
    /// (gzip ↔ gzip, tar ↔ tar); `annotations` go to OCI manifests only (schema 2 has none).
    /// Throws `Error.layerNotExpressible` for zstd layers in a Docker
    /// manifest (schema 2 has no zstd type), and `SystemCallError` when the store cannot be written.
    public static func build(
        config: ImageConfig, layers: [Layer], format: ManifestFormat = .oci,
        annotations: [String: String]? = nil, in store: BlobStore
    ) throws -> Image {
        var config = config
        config.rootfs = RootFS(diffIDs: layers.map(\.diffID))
        let configBytes = try CanonicalJSON.encode(config)
        let configDigest = try store.put(configBytes)
        var descriptors = [Descriptor]()
        for layer in layers {
            var descriptor = layer.descriptor
            descriptor.mediaType = try Self.layerMediaType(descriptor.mediaType, in: format)
            descriptors.append(descriptor)
        }
        let configDescriptor = Descriptor(
            mediaType: format.configMediaType, digest: configDigest, size: Int64(configBytes.count))
        let manifest = Manifest(
            mediaType: format.manifestMediaType, config: configDescriptor, layers: descriptors,
            annotations: format == .oci ? annotations : nil)
        let manifestBytes = try CanonicalJSON.encode(manifest)
        try store.put(manifestBytes)
        return Image(
            manifest: manifest, manifestBytes: manifestBytes, config: config, configBytes: configBytes,
            store: store)
    }

    /// Reads the image whose manifest is `digest` from `store`.
    /// Throws `BlobStore.Error.missing` or `Error.undecodable`.
    public static func load(manifest digest: Digest, from store: BlobStore) throws -> Image {
        let manifestBytes = try store.read(digest)
        let manifest: Manifest
        do { manifest = try CanonicalJSON.decode(Manifest.self, from: manifestBytes) } catch {
            throw Error.undecodable(what: "manifest", digest: digest, reason: "\(error)")
        }
        let configBytes = try store.read(manifest.config.digest)
        let config: ImageConfig
        do { config = try CanonicalJSON.decode(ImageConfig.self, from: configBytes) } catch {
            throw Error.undecodable(what: "config", digest: manifest.config.digest, reason: "\(error)")
        }
        return Image(
            manifest: manifest, manifestBytes: manifestBytes, config: config, configBytes: configBytes,
            store: store)
    }

    /// Every blob the image references: layers, config, manifest (in that order).
    public var blobDigests: [Digest] {
        manifest.layers.map(\.digest) + [manifest.config.digest, digest]
    }

    static func layerMediaType(_ type: MediaType, in format: ManifestFormat) throws -> MediaType {
        switch (type, format) {
        case (.ociLayerGzip, .docker): return .dockerLayerGzip
        case (.ociLayer, .docker): return .dockerLayer
        case (.ociLayerZstd, .docker): throw Error.layerNotExpressible(type, format: format)
        case (.dockerLayerGzip, .oci): return .ociLayerGzip
        case (.dockerLayer, .oci): return .ociLayer
        default: return type
        }
    }
}
