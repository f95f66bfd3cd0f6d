import ImageModel
import PluginAPI
import PluginSupport
import SystemCalls

/// Writes images into an OCI image layout directory (image-spec `image-layout.md`): the
/// `oci-layout` header, `blobs/sha256/…` and `index.json`.
///
/// Adding to an existing layout keeps its other images; an entry with the same ref name is
/// replaced (its blobs stay: other entries may share them). Output is deterministic: the same
/// images written in the same order give byte-identical files.
public struct OCILayoutWriter: Sendable {
    public let path: String

    public init(path: String) {
        self.path = path.count > 1 && path.hasSuffix("/") ? String(path.dropLast()) : path
    }

    static let layoutHeader = Array(#"{"imageLayoutVersion":"1.0.0"}"#.utf8)

    /// Writes `image` (copying or hard-linking its blobs from `image.store`) and records it in
    /// `index.json`, annotated with `org.opencontainers.image.ref.name` = `refName` when given.
    /// Returns the manifest descriptor written to the index. Throws `SystemCallError`,
    /// `BlobStore.Error.missing` for a blob the image's store lacks, or
    /// `OCILayoutReader.Error.malformedIndex` when an existing `index.json` cannot be read.
    @discardableResult
    public func write(_ image: Image, refName: String? = nil) async throws -> Descriptor {
        let store = try BlobStore(root: path)
        // The image carries its manifest and config bytes, so only layers come from its store.
        try store.put(image.configBytes)
        try store.put(image.manifestBytes)
        for layer in image.manifest.layers { try await store.put(layer.digest, from: image.store) }

        var descriptor = image.manifestDescriptor
        descriptor.platform = Platform(
            os: image.config.os, architecture: image.config.architecture, variant: image.config.variant)
        return try await record(descriptor, refName: refName)
    }

    /// Writes a multi-platform image: every image's blobs, then `indexBytes` (an image index
    /// naming them) as a blob, recorded in `index.json` under `refName` like `write(_:refName:)`.
    @discardableResult
    public func write(index indexBytes: [UInt8], mediaType: MediaType, images: [Image], refName: String? = nil) async throws -> Descriptor {
        let store = try BlobStore(root: path)
        for image in images {
            try store.put(image.configBytes)
            try store.put(image.manifestBytes)
            for layer in image.manifest.layers { try await store.put(layer.digest, from: image.store) }
        }
        try store.put(indexBytes)
        return try await record(Descriptor(mediaType: mediaType, bytes: indexBytes), refName: refName)
    }

    /// Records `descriptor` in `index.json` (annotated with `refName`): an entry with the same
    /// ref name is replaced; an untagged one is dropped when it names the same content.
    private func record(_ descriptor: Descriptor, refName: String?) async throws -> Descriptor {
        var descriptor = descriptor
        if let refName { descriptor.annotations = [AnnotationKey.refName: refName] }
        var entries = try existingEntries()
        let digest = descriptor.digest
        entries.removeAll { entry in
            let name = entry.annotations?[AnnotationKey.refName]
            return refName != nil ? name == refName : (name == nil && entry.digest == digest)
        }
        entries.append(descriptor)
        let index = ImageIndex(mediaType: .ociIndex, manifests: entries)
        try await runBlocking { [path] in
            try FileIO.writeAtomically(Self.layoutHeader, to: path + "/oci-layout")
            try FileIO.writeAtomically(CanonicalJSON.encode(index), to: path + "/index.json")
        }
        return descriptor
    }

    private func existingEntries() throws -> [Descriptor] {
        guard FileIO.exists(path + "/index.json") else { return [] }
        do {
            return try CanonicalJSON.decode(ImageIndex.self, from: FileIO.readAll(path + "/index.json")).manifests
        } catch let error as SystemCallError {
            throw error
        } catch {
            throw OCILayoutReader.Error.malformedIndex(path: path, reason: "\(error)")
        }
    }
}
