import Dockerfile
import Foundation
import ImageStore
import PluginAPI
import PluginHost

/// An image fetched into the build's blob store.
struct PulledImage {
    var reference: ImageReference
    var manifestDigest: Digest
    var config: ImageConfig
    var layers: [Layer]
    var format: ManifestFormat
}

/// Pulls images through the selected registry plugin: mirrors first (`--registry-map`,
/// `--registry-mirror`), then the original registry unless `--skip-default-registry-fallback`;
/// the platform picked from an index; blobs verified and stored once.
struct ImagePuller {
    let plugins: PluginSet
    let options: BuildOptions
    let log: BuildLog
    /// Where blobs land.
    let store: BlobStore
    /// Scratch space for downloads in flight.
    let workDirectory: String

    init(plugins: PluginSet, options: BuildOptions, log: BuildLog, store: BlobStore, workDirectory: String) {
        self.plugins = plugins
        self.options = options
        self.log = log
        self.store = store
        self.workDirectory = workDirectory
    }

    init(session: BuildSession) {
        self.init(
            plugins: session.plugins, options: session.options, log: session.log, store: session.store,
            workDirectory: session.workDirectory)
    }

    func client() throws -> any RegistryClient {
        try RegistrySelection.client(plugins, name: options.registryPlugin)
    }

    /// The references to try, in order.
    func candidates(for reference: ImageReference) -> [ImageReference] {
        var out: [ImageReference] = []
        for (from, to) in options.registryMaps
        where from == reference.registry || (from == "index.docker.io" && reference.registry == "docker.io") {
            // `mirror[/prefix]`: the repository path is kept under the prefix.
            let parts = to.split(separator: "/", maxSplits: 1).map(String.init)
            var repository = reference.repository
            if parts.count > 1 { repository = parts[1] + "/" + repository }
            out.append(ImageReference(registry: parts[0], repository: repository, tag: reference.tag, digest: reference.digest))
        }
        if out.isEmpty || !options.skipDefaultRegistryFallback { out.append(reference) }
        return out
    }

    func pull(_ reference: ImageReference, platform: Platform, location: SourceLocation?) async throws -> PulledImage {
        let cache = options.cacheDirectory.map { BaseImageCache(directory: $0, ttl: options.cacheTTL, log: log) }
        if let cache, let hit = try cache.lookup(reference, platform: platform, into: store) { return hit }
        let pulled = try await pullFromRegistry(reference, platform: platform, location: location)
        if let cache { await cache.save(pulled, from: store) }
        return pulled
    }

    private func pullFromRegistry(_ reference: ImageReference, platform: Platform, location: SourceLocation?) async throws -> PulledImage {
        let client = try client()
        var failures: [String] = []
        for candidate in candidates(for: reference) {
            do {
                return try await pull(candidate, original: reference, platform: platform, client: client)
            } catch let error as BuildError {
                throw error
            } catch {
                failures.append("\(candidate): \(error)")
                log.warning("pulling \(candidate) failed: \(error)")
            }
        }
        let place = location.map { "\($0): " } ?? ""
        throw BuildError.failed("\(place)cannot pull \(reference.familiarDescription): " + failures.joined(separator: "; "))
    }

    private func pull(_ reference: ImageReference, original: ImageReference, platform: Platform, client: any RegistryClient) async throws
        -> PulledImage
    {
        log.info("resolving \(reference)")
        var fetched = try await client.fetchManifest(reference, accept: MediaType.manifestAccept)
        if fetched.mediaType.isIndex || CanonicalJSON.mediaType(of: fetched.bytes)?.isIndex == true {
            let index = try CanonicalJSON.decode(ImageIndex.self, from: fetched.bytes)
            guard let chosen = index.manifest(for: platform) else {
                let available = index.manifests.compactMap { $0.platform?.description }.joined(separator: ", ")
                throw BuildError.failed("\(original.familiarDescription) has no image for \(platform) (it has: \(available))")
            }
            fetched = try await client.fetchManifest(
                reference.with(tag: nil, digest: chosen.digest), accept: [.ociManifest, .dockerManifest])
        }
        try store.put(fetched.bytes)
        let manifest = try CanonicalJSON.decode(Manifest.self, from: fetched.bytes)
        try Self.checkDescriptors(manifest, of: original)
        try await Self.fetch(manifest.config, from: reference, client: client, store: store, workDirectory: workDirectory)
        let configBytes = try store.read(manifest.config.digest)
        let config = try CanonicalJSON.decode(ImageConfig.self, from: configBytes)
        guard config.rootfs.diffIDs.count == manifest.layers.count else {
            throw BuildError.failed(
                "\(original): the config lists \(config.rootfs.diffIDs.count) diff IDs for \(manifest.layers.count) layers")
        }
        // Layers in parallel, a few at a time.
        let store = store
        let workDirectory = workDirectory
        try await withThrowingTaskGroup(of: Void.self) { group in
            var pending = manifest.layers[...]
            var running = 0
            while let layer = pending.popFirst() {
                if running >= 4 {
                    try await group.next()
                    running -= 1
                }
                group.addTask { try await Self.fetch(layer, from: reference, client: client, store: store, workDirectory: workDirectory) }
                running += 1
            }
            try await group.waitForAll()
        }
        let layers = zip(manifest.layers, config.rootfs.diffIDs).map { Layer(descriptor: $0, diffID: $1) }
        return PulledImage(
            reference: original, manifestDigest: fetched.digest, config: config, layers: layers,
            format: ManifestFormat(manifestMediaType: fetched.mediaType))
    }

    /// Refuses descriptors no valid image has, before anything is downloaded: a negative size
    /// (which would also lift the download's size cap) or a layer whose media type is not a
    /// layer type (a config, a manifest, or an unknown type kiln would misread).
    static func checkDescriptors(_ manifest: Manifest, of image: ImageReference) throws {
        if manifest.config.size < 0 {
            throw BuildError.failed("\(image): the manifest gives its config \(manifest.config.digest) the size \(manifest.config.size)")
        }
        for (i, layer) in manifest.layers.enumerated() {
            if layer.size < 0 {
                throw BuildError.failed(
                    "\(image) layer \(i + 1) (\(layer.digest)): the manifest gives it the size \(layer.size); a blob size cannot be negative"
                )
            }
            if layer.mediaType.layerCompression == nil {
                throw BuildError.failed(
                    "\(image) layer \(i + 1) (\(layer.digest)): media type \(layer.mediaType) is not a layer type (expected a tar, tar+gzip or tar+zstd layer)"
                )
            }
        }
    }

    /// Downloads a blob into the store unless it is there already.
    private static func fetch(
        _ descriptor: Descriptor, from reference: ImageReference, client: any RegistryClient,
        store: BlobStore, workDirectory: String
    ) async throws {
        if store.contains(descriptor.digest) { return }
        let temp = workDirectory + "/downloads/\(descriptor.digest.encoded)"
        try FileManager.default.createDirectory(atPath: workDirectory + "/downloads", withIntermediateDirectories: true)
        try await client.fetchBlob(descriptor, from: reference, to: temp)
        try await store.put(fileAt: temp, digest: descriptor.digest, mode: .move)
    }
}

/// Picks the registry client the user asked for.
enum RegistrySelection {
    static func client(_ plugins: PluginHost.PluginSet, name: String) throws -> any RegistryClient {
        if let c = plugins.registryClient(named: name) { return c }
        let available = plugins.components.compactMap { ($0.component as? any RegistryClient).map { "\($0.name) (\( $0.kind))" } }
        throw BuildError.failed(
            "no registry plugin '\(name)' found"
                + (available.isEmpty ? "; no registry plugin is loaded" : "; available: \(available.joined(separator: ", "))")
                + ". Put libKilnPluginRegistryOCI.so next to kiln, or pass --plugin-dir / --registry-plugin PATH")
    }
}
