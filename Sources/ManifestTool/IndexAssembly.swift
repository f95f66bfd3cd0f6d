// Entries → the index document. Pure: the I/O side (ManifestPusher) resolves the entries.
// Mirrors OCI image-spec 1.1 `image-index.md` and Docker's manifest list v2.2.
import ImageModel
import PluginAPI

/// The kind of list to write (`--type`).
public enum IndexKind: String, Sendable, CaseIterable {
    /// `application/vnd.docker.distribution.manifest.list.v2+json`.
    case docker
    /// `application/vnd.oci.image.index.v1+json`.
    case oci

    public var mediaType: MediaType { self == .docker ? .dockerManifestList : .ociIndex }
}

/// One entry of the index being made, and the source it came from (for messages).
public struct IndexEntry: Sendable, Equatable {
    public var descriptor: Descriptor
    public var source: ImageReference

    public init(descriptor: Descriptor, source: ImageReference) {
        self.descriptor = descriptor
        self.source = source
    }

    /// True for BuildKit's attestation manifests (provenance, SBOM), which describe an image
    /// entry rather than being one.
    public var isAttestation: Bool { descriptor.isAttestation }
}

extension Descriptor {
    /// BuildKit's annotation marking an attestation manifest in an index.
    public static let referenceTypeAnnotation = "vnd.docker.reference.type"
    /// BuildKit's annotation naming the image an attestation manifest describes.
    public static let referenceDigestAnnotation = "vnd.docker.reference.digest"

    /// True when the descriptor is an attestation manifest (`vnd.docker.reference.type:
    /// attestation-manifest`).
    public var isAttestation: Bool { annotations?[Self.referenceTypeAnnotation] == "attestation-manifest" }
}

/// Builds the index document from resolved entries.
public enum IndexAssembly {
    /// The media type of the list: `kind` when given, else a Docker manifest list when every
    /// image entry is a Docker manifest, else an OCI index.
    public static func mediaType(kind: IndexKind?, entries: [IndexEntry]) -> MediaType {
        if let kind { return kind.mediaType }
        let images = entries.filter { !$0.isAttestation }
        return !images.isEmpty && images.allSatisfy({ $0.descriptor.mediaType == .dockerManifest }) ? .dockerManifestList : .ociIndex
    }

    /// The index bytes: image entries in the given order, then attestation manifests.
    /// - Throws: `ManifestToolError.duplicatePlatform` when two image entries share a platform,
    ///   `.annotationsNeedOCI` for annotations on a Docker list.
    public static func make(entries: [IndexEntry], kind: IndexKind?, annotations: [String: String] = [:]) throws -> (
        bytes: [UInt8], mediaType: MediaType
    ) {
        let mediaType = mediaType(kind: kind, entries: entries)
        if mediaType == .dockerManifestList, !annotations.isEmpty { throw ManifestToolError.annotationsNeedOCI }
        var seen: [PlatformKey: ImageReference] = [:]
        var images: [Descriptor] = []
        var attestations: [Descriptor] = []
        var digests: Set<Digest> = []
        for entry in entries {
            // The same manifest reached twice (an index and one of its children named again) is one entry.
            guard digests.insert(entry.descriptor.digest).inserted else { continue }
            if entry.isAttestation {
                attestations.append(entry.descriptor)
                continue
            }
            let platform = entry.descriptor.platform ?? Platform(os: "unknown", architecture: "unknown")
            let key = PlatformKey(platform)
            if let other = seen[key] { throw ManifestToolError.duplicatePlatform(platform.normalized, other, entry.source) }
            seen[key] = entry.source
            images.append(entry.descriptor)
        }
        let index = ImageIndex(mediaType: mediaType, manifests: images + attestations, annotations: annotations.isEmpty ? nil : annotations)
        return (try CanonicalJSON.encode(index), mediaType)
    }

    /// What makes two platforms the same entry (manifest-tool compares these five fields).
    private struct PlatformKey: Hashable {
        var os, architecture, variant, osVersion: String
        var osFeatures: [String]
        init(_ p: Platform) {
            let n = p.normalized
            os = n.os
            architecture = n.architecture
            variant = n.variant ?? ""
            osVersion = n.osVersion ?? ""
            osFeatures = (n.osFeatures ?? []).sorted()
        }
    }
}
