// Mirrors OCI image-spec 1.1 `manifest.md` and `image-index.md` (and Docker schema 2, whose
// fields are a subset).

import PluginAPI

/// An image manifest (OCI or Docker schema 2).
public struct Manifest: Codable, Hashable, Sendable {
    public var schemaVersion: Int = 2
    public var mediaType: MediaType?
    public var artifactType: MediaType?
    public var config: Descriptor
    public var layers: [Descriptor]
    public var subject: Descriptor?
    public var annotations: [String: String]?

    public init(mediaType: MediaType = .ociManifest, config: Descriptor, layers: [Descriptor], annotations: [String: String]? = nil) {
        self.mediaType = mediaType
        self.config = config
        self.layers = layers
        self.annotations = annotations
    }
}

/// An image index (OCI) or manifest list (Docker).
public struct ImageIndex: Codable, Hashable, Sendable {
    public var schemaVersion: Int = 2
    public var mediaType: MediaType?
    public var artifactType: MediaType?
    public var manifests: [Descriptor]
    public var subject: Descriptor?
    public var annotations: [String: String]?

    public init(mediaType: MediaType = .ociIndex, manifests: [Descriptor], annotations: [String: String]? = nil) {
        self.mediaType = mediaType
        self.manifests = manifests
        self.annotations = annotations
    }

    /// The manifest for `platform`, preferring an exact variant match.
    public func manifest(for platform: Platform) -> Descriptor? {
        let candidates = manifests.filter { $0.platform?.matches(platform) ?? false }
        let wanted = platform.normalized
        return candidates.first { $0.platform?.normalized.variant == wanted.variant } ?? candidates.first
    }
}

/// Annotation keys from `annotations.md`.
public enum AnnotationKey {
    public static let refName = "org.opencontainers.image.ref.name"
    public static let created = "org.opencontainers.image.created"
    public static let baseName = "org.opencontainers.image.base.name"
    public static let baseDigest = "org.opencontainers.image.base.digest"
}
