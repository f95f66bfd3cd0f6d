import ImageModel
import PluginAPI

/// Checks that an image's manifest, config and blobs agree (after go-containerregistry's
/// `validate.Image`): every descriptor's digest and size against the stored blob (streaming),
/// one `rootfs.diff_ids` entry per layer equal to the SHA-256 of the decompressed layer, one
/// non-empty history entry per layer, media types of one family, `os` and `architecture` set.
public enum ImageValidator {
    /// Every problem found in the image whose manifest is `manifestBytes` and whose blobs are in
    /// `store`; empty when the image is valid. Never throws for a bad image: I/O failures on a
    /// blob become problems too.
    public static func problems(manifestBytes: [UInt8], store: BlobStore) async -> [ValidationProblem] {
        let manifest: Manifest
        do { manifest = try CanonicalJSON.decode(Manifest.self, from: manifestBytes) } catch {
            return [ValidationProblem(.malformed, "the manifest is not a valid image manifest: \(error)")]
        }
        var problems = mediaTypeProblems(manifest)
        let configBlob = await blobProblems(manifest.config, what: "config", store: store)
        problems += configBlob
        var diffIDs: [Digest]?
        if !configBlob.contains(where: { $0.kind == .missingBlob }) {
            let (found, ids) = configProblems(manifest: manifest, store: store)
            problems += found
            diffIDs = ids
        }
        for (index, layer) in manifest.layers.enumerated() {
            problems += await layerProblems(
                layer, index: index, diffID: diffIDs.flatMap { index < $0.count ? $0[index] : nil }, store: store)
        }
        return problems
    }

    /// The problems of a built or loaded `image`.
    public static func problems(in image: Image) async -> [ValidationProblem] {
        await problems(manifestBytes: image.manifestBytes, store: image.store)
    }

    /// Throws `ValidationError` listing every problem of `image`.
    public static func validate(_ image: Image) async throws {
        let found = await problems(in: image)
        if !found.isEmpty { throw ValidationError(problems: found, subject: image.digest.description) }
    }

    /// Validates the image `refName` (or the only image) of the OCI layout at `layoutPath`,
    /// including the layout's own descriptor of the manifest. Throws `ValidationError`, or
    /// `OCILayoutReader.Error` when the layout or the ref name cannot be resolved.
    public static func validate(layoutPath: String, refName: String? = nil, platform: Platform? = nil) async throws {
        let reader = try OCILayoutReader(path: layoutPath)
        let descriptor = try reader.manifestDescriptor(refName: refName, platform: platform)
        var found = await blobProblems(descriptor, what: "manifest", store: reader.store)
        if found.isEmpty {
            let bytes = try reader.store.read(descriptor.digest)
            found += await problems(manifestBytes: bytes, store: reader.store)
        }
        if !found.isEmpty {
            throw ValidationError(problems: found, subject: "\(layoutPath)\(refName.map { ":" + $0 } ?? "") (\(descriptor.digest))")
        }
    }
}
