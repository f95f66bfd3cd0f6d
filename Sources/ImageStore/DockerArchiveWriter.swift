import ImageModel
import PluginAPI
import PluginSupport
import SystemCalls

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Writes a `docker save`-style tarball, read by `docker load`, `podman load` and
/// `skopeo … docker-archive:PATH`.
///
/// Layout (what containers/image writes, minus the legacy v1 directories):
/// `<config hex>.json`, `manifest.json` (`[{"Config","RepoTags","Layers"}]`), `repositories`,
/// and each layer **uncompressed** as `<diff ID hex>.tar` at the root of the tarball. Layers are
/// stored uncompressed because docker-archive readers match them against `rootfs.diff_ids`
/// (the digests of the uncompressed tars); containers/image's own docker-archive writer insists
/// on uncompressed layers, and root-level files avoid `docker load` treating every
/// subdirectory as a legacy image. Each compressed layer is decompressed twice (once to learn
/// the size the tar header needs, once to copy), never held in memory. The output is
/// deterministic and replaced atomically.
public struct DockerArchiveWriter: Sendable {
    public let path: String

    public init(path: String) { self.path = path }

    public enum Error: Swift.Error, CustomStringConvertible, Sendable, Hashable {
        case diffIDMismatch(layer: Digest, expected: Digest, actual: Digest)
        case unknownLayerType(MediaType, layer: Digest)

        public var description: String {
            switch self {
            case .diffIDMismatch(let layer, let expected, let actual):
                return
                    "layer \(layer) decompresses to \(actual), but the config says \(expected); the image is inconsistent (run validate)"
            case .unknownLayerType(let type, let layer):
                return "layer \(layer) has media type \(type), which kiln cannot decompress for a docker-archive"
            }
        }
    }

    /// The repository-and-tag strings for `manifest.json`'s `RepoTags`, fully qualified
    /// (`docker.io/library/debian:12`, `127.0.0.1:5000/app:latest`): `docker load` normalises
    /// either form, but `podman load` files a short name under `localhost/`, so only the full
    /// name round-trips. References without a tag get `latest` unless they name a digest,
    /// which a RepoTag cannot carry.
    public static func repoTags(_ references: [ImageReference]) -> [String] {
        var seen = Set<String>()
        return references.compactMap { reference -> String? in
            guard reference.tag != nil || reference.digest == nil else { return nil }
            let tagged = ImageReference(
                registry: reference.registry, repository: reference.repository,
                tag: reference.tag ?? ImageReference.defaultTag)
            let text = tagged.description
            return seen.insert(text).inserted ? text : nil
        }
    }

    /// Writes `image` tagged with `tags` (may be empty: the image then loads untagged).
    /// Throws `Error.diffIDMismatch` when a layer does not decompress to its config diff ID,
    /// `BlobStore.Error.missing`, `SystemCallError`, or a tar writing error.
    public func write(_ image: Image, tags: [ImageReference]) async throws {
        let path = self.path
        try await runBlocking { try Self.writeSync(image, repoTags: Self.repoTags(tags), to: path) }
    }

    private static func writeSync(_ image: Image, repoTags: [String], to path: String) throws {
        let layers = image.layers
        var sizes = [Digest: Int64]()
        for layer in layers where sizes[layer.diffID] == nil {
            sizes[layer.diffID] = try uncompressedSize(layer, store: image.store)
        }
        let configName = image.manifest.config.digest.encoded + ".json"
        let layerNames = layers.map { $0.diffID.encoded + ".tar" }
        let manifestJSON = try CanonicalJSON.encode([
            ArchiveManifestEntry(config: configName, repoTags: repoTags, layers: layerNames)
        ])

        let (fd, temporary) = try FileIO.makeTemporaryFile(in: FileIO.directoryName(path))
        do {
            let tar = try TarWriter(fd: fd, path: path)
            try tar.file(configName, image.configBytes)
            try tar.file("manifest.json", manifestJSON)
            try tar.file("repositories", try repositories(repoTags: repoTags, top: layers.last?.diffID))
            var written = Set<Digest>()
            for layer in layers where written.insert(layer.diffID).inserted {
                try tar.beginFile(layer.diffID.encoded + ".tar", size: sizes[layer.diffID] ?? 0)
                try copyUncompressed(layer, store: image.store) { try tar.write($0) }
            }
            try tar.close()
            try sys("fchmod", temporary) { fchmod(fd, 0o644) }
            Glibc.close(fd)
            try sys("rename", path) { rename(temporary, path) }
        } catch {
            Glibc.close(fd)
            unlink(temporary)
            throw error
        }
    }

    private static func uncompressedSize(_ layer: Layer, store: BlobStore) throws -> Int64 {
        guard let compression = layer.descriptor.mediaType.layerCompression else {
            throw Error.unknownLayerType(layer.descriptor.mediaType, layer: layer.descriptor.digest)
        }
        if compression == .none { return try store.size(of: layer.descriptor.digest) }
        guard store.contains(layer.descriptor.digest) else {
            throw BlobStore.Error.missing(layer.descriptor.digest, path: store.path(for: layer.descriptor.digest))
        }
        return try LayerScan.scan(path: store.path(for: layer.descriptor.digest), compression: compression)
            .uncompressedSize
    }

    private static func copyUncompressed(
        _ layer: Layer, store: BlobStore, into sink: (UnsafeRawBufferPointer) throws -> Void
    ) throws {
        let compression = layer.descriptor.mediaType.layerCompression ?? .none
        let scan = try LayerScan.scan(
            path: store.path(for: layer.descriptor.digest), compression: compression, sink: sink)
        if scan.diffID != layer.diffID {
            throw Error.diffIDMismatch(layer: layer.descriptor.digest, expected: layer.diffID, actual: scan.diffID)
        }
    }

    /// The legacy `repositories` file: repository → tag → top layer ID. Modern loaders read
    /// `manifest.json` instead; it is kept for tools that still look for it.
    private static func repositories(repoTags: [String], top: Digest?) throws -> [UInt8] {
        var map = [String: [String: String]]()
        if let top {
            for repoTag in repoTags {
                guard let colon = repoTag.lastIndex(of: ":") else { continue }
                map[String(repoTag[..<colon]), default: [:]][String(repoTag[repoTag.index(after: colon)...])] =
                    top.encoded
            }
        }
        return try CanonicalJSON.encode(map)
    }
}

/// One entry of a docker-archive `manifest.json`.
private struct ArchiveManifestEntry: Encodable {
    var config: String
    var repoTags: [String]
    var layers: [String]

    enum CodingKeys: String, CodingKey {
        case config = "Config"
        case repoTags = "RepoTags"
        case layers = "Layers"
    }
}
