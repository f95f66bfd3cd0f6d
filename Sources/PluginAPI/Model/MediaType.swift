// Mirrors OCI image-spec 1.1 `media-types.md` and Docker's image manifest v2 schema 2.

/// A media type string. Known OCI and Docker schema 2 types have named constants; any
/// well-formed `type/subtype` is accepted (artifacts use their own).
public struct MediaType: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible,
    ExpressibleByStringLiteral
{
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { self.rawValue = value }
    public var description: String { rawValue }

    public static let ociManifest: MediaType = "application/vnd.oci.image.manifest.v1+json"
    public static let ociIndex: MediaType = "application/vnd.oci.image.index.v1+json"
    public static let ociConfig: MediaType = "application/vnd.oci.image.config.v1+json"
    public static let ociLayer: MediaType = "application/vnd.oci.image.layer.v1.tar"
    public static let ociLayerGzip: MediaType = "application/vnd.oci.image.layer.v1.tar+gzip"
    public static let ociLayerZstd: MediaType = "application/vnd.oci.image.layer.v1.tar+zstd"
    public static let ociLayerNondistributableGzip: MediaType =
        "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
    public static let ociEmpty: MediaType = "application/vnd.oci.empty.v1+json"

    public static let dockerManifest: MediaType = "application/vnd.docker.distribution.manifest.v2+json"
    public static let dockerManifestList: MediaType =
        "application/vnd.docker.distribution.manifest.list.v2+json"
    public static let dockerConfig: MediaType = "application/vnd.docker.container.image.v1+json"
    public static let dockerLayerGzip: MediaType = "application/vnd.docker.image.rootfs.diff.tar.gzip"
    /// Docker schema 2's uncompressed layer (rare, but valid and readable by Docker and podman).
    public static let dockerLayer: MediaType = "application/vnd.docker.image.rootfs.diff.tar"
    public static let dockerForeignLayerGzip: MediaType =
        "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"

    public var isIndex: Bool { self == .ociIndex || self == .dockerManifestList }
    public var isImageManifest: Bool { self == .ociManifest || self == .dockerManifest }
    public var isDocker: Bool { rawValue.hasPrefix("application/vnd.docker.") }

    /// The compression a layer media type implies.
    public var layerCompression: Compression? {
        switch self {
        // Spelled out: a bare `.none` here is `Optional.none`, which would make the
        // uncompressed layer type look like "not a layer".
        case .ociLayer, .dockerLayer: return Compression.none
        case .ociLayerGzip, .dockerLayerGzip, .dockerForeignLayerGzip, .ociLayerNondistributableGzip:
            return .gzip
        case .ociLayerZstd: return .zstd
        default: return nil
        }
    }

    /// Manifest types a client accepts when resolving a reference, most preferred first.
    public static let manifestAccept: [MediaType] = [.ociIndex, .dockerManifestList, .ociManifest, .dockerManifest]
}

/// Layer compression.
public enum Compression: String, Sendable, Codable, CaseIterable {
    case none, gzip, zstd

    /// The layer media type for this compression in the OCI or Docker family.
    /// Docker schema 2 has no zstd type; zstd layers always use the OCI type.
    public func layerMediaType(docker: Bool) -> MediaType {
        switch self {
        case .none: return .ociLayer
        case .gzip: return docker ? .dockerLayerGzip : .ociLayerGzip
        case .zstd: return .ociLayerZstd
        }
    }
}
