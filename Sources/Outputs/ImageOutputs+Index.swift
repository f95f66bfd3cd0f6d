// A build for several platforms delivers one image index: each platform's image is pushed by
// digest, then the index under the destinations' tags; the OCI layout holds the index.
import Diagnostics
import ImageModel
import ImageStore
import PluginAPI
import PluginSupport

extension ImageOutputs {
    /// The index naming `images` (one per platform, in order): a Docker manifest list when
    /// every image is a Docker schema 2 manifest, else an OCI image index.
    public static func index(of images: [Image]) throws -> (bytes: [UInt8], mediaType: MediaType) {
        let docker = images.allSatisfy { $0.format == .docker }
        let mediaType: MediaType = docker ? .dockerManifestList : .ociIndex
        let manifests = images.map { image -> Descriptor in
            var d = image.manifestDescriptor
            d.platform = image.config.platform
            return d
        }
        do {
            return (try CanonicalJSON.encode(ImageIndex(mediaType: mediaType, manifests: manifests)), mediaType)
        } catch {
            throw KilnError(.internal, "encoding the image index", cause: error)
        }
    }

    /// Writes and pushes a multi-platform image; returns the index digest.
    /// - Throws: a usage error for `--tar-path` (a docker-archive holds one platform).
    public func deliver(
        index images: [Image], registry: () throws -> any RegistryClient, mountingFrom bases: [MountSource], early: EarlyUploads? = nil,
        hooks: PushHooks = PushHooks()
    ) async throws -> Digest {
        if let tar = options.tarPath {
            throw KilnError.usage(
                "--tar-path \(tar): a docker-archive holds one platform; build one platform per tarball, or use --oci-layout-path")
        }
        let (bytes, mediaType) = try Self.index(of: images)
        var digest = Digest.sha256(of: bytes)
        if let path = options.ociLayoutPath {
            let ref = options.destinations.first?.tag ?? "latest"
            do { _ = try await OCILayoutWriter(path: path).write(index: bytes, mediaType: mediaType, images: images, refName: ref) } catch {
                throw KilnError.wrapping(error, "writing the OCI layout \(path)")
            }
            log(.info, "wrote OCI layout \(path) (ref \(ref), \(images.count) platforms)")
        }
        if options.pushes {
            let pusher = ImagePusher(options: options, client: try registry(), log: log)
            for image in images { _ = try await pusher.push(image, mountingFrom: bases, byDigest: true, early: early, hooks: hooks) }
            digest = try await pusher.pushIndex(bytes, mediaType: mediaType)
        }
        try writeDigestFiles(digest)
        return digest
    }
}
