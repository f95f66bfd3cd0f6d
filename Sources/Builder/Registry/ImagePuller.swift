import Diagnostics
import Dockerfile
import FoundationEssentials
import ImageModel
import ImageStore
import PluginAPI

/// An image fetched into the build's blob store.
struct PulledImage {
    var reference: ImageReference
    var manifestDigest: Digest
    var config: ImageConfig
    var layers: [Layer]
    var format: ManifestFormat
}

/// Pulls images through the build's registry client: mirrors first (`--registry-map`,
/// `--registry-mirror`), then the original registry unless `--skip-default-registry-fallback`;
/// the platform picked from an index; blobs verified and stored once.
struct ImagePuller {
    let components: BuildComponents
    let options: BaseImageOptions
    let log: BuildLog
    /// Where blobs land.
    let store: BlobStore
    /// Scratch space for downloads in flight.
    let workDirectory: String

    init(components: BuildComponents, options: BaseImageOptions, log: BuildLog, store: BlobStore, workDirectory: String) {
        self.components = components
        self.options = options
        self.log = log
        self.store = store
        self.workDirectory = workDirectory
    }

    init(session: BuildSession) {
        self.init(
            components: session.components, options: session.options.baseImages, log: session.log, store: session.store,
            workDirectory: session.workDirectory)
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

    /// The image `reference` names for `platform`. An image that is not for `platform` (a
    /// single-platform base of another architecture) is an error naming what it is for: its
    /// content would otherwise be relabelled as `platform`.
    /// Stages building at the same time on the same image pull it once.
    func pull(_ reference: ImageReference, platform: Platform, location: SourceLocation?) async throws -> PulledImage {
        let puller = self
        return try await InFlightWork.shared.run("pull \(workDirectory) \(reference) \(platform)") {
            try await BuildTimings.measure(.pull) { try await puller.pullTimed(reference, platform: platform, location: location) }
        }
    }

    private func pullTimed(_ reference: ImageReference, platform: Platform, location: SourceLocation?) async throws -> PulledImage {
        let cache = options.cacheDirectory.map { BaseImageCache(directory: $0, ttl: options.cacheTTL, log: log) }
        do {
            if let cache, let hit = try cache.lookup(reference, platform: platform, into: store) {
                try Self.check(hit, for: platform, location: location)
                return hit
            }
        } catch let error as KilnError {
            throw error
        } catch {
            throw KilnError(
                .failed, "reading \(reference) from the cache \(options.cacheDirectory ?? "")", at: location?.diagnostic, cause: error)
        }
        let pulled = try await pullFromRegistry(reference, platform: platform, location: location)
        try Self.check(pulled, for: platform, location: location)
        if let cache { await cache.save(pulled, from: store) }
        return pulled
    }

    static func check(_ pulled: PulledImage, for platform: Platform, location: SourceLocation?) throws {
        let own = pulled.config.platform
        guard !own.os.isEmpty, !own.architecture.isEmpty, !own.matches(platform) else { return }
        throw KilnError(
            .notFound,
            "\(pulled.reference.familiarDescription) has no image for \(platform): it is a single-platform image for \(own) "
                + "(build for \(own), or use a base that offers \(platform))",
            at: location?.diagnostic)
    }

    private func pullFromRegistry(_ reference: ImageReference, platform: Platform, location: SourceLocation?) async throws -> PulledImage {
        let client: any RegistryClient
        do { client = try components.registryClient() } catch {
            throw KilnError.wrapping(error, "cannot pull \(reference.familiarDescription)", at: location?.diagnostic)
        }
        var failures: [PullFailure] = []
        for candidate in candidates(for: reference) {
            do {
                return try await pull(candidate, original: reference, platform: platform, client: client)
            } catch let error as KilnError {
                throw KilnError(error.code, "cannot pull \(reference.familiarDescription)", at: location?.diagnostic, cause: error)
            } catch {
                failures.append(PullFailure(candidate: candidate, error: error))
                log.warning("pulling \(candidate) failed: \(error)")
            }
        }
        let cause: any Error = failures.count == 1 ? failures[0] : PullFailures(failures: failures)
        throw KilnError(
            failures.first.flatMap { KilnError.registryCode($0.error) } ?? .network, "cannot pull \(reference.familiarDescription)",
            at: location?.diagnostic, cause: cause)
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
                throw KilnError(.notFound, "\(original.familiarDescription) has no image for \(platform) (it has: \(available))")
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
            throw KilnError(
                .invalidInput, "\(original): the config lists \(config.rootfs.diffIDs.count) diff IDs for \(manifest.layers.count) layers")
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
            throw KilnError(
                .invalidInput, "\(image): the manifest gives its config \(manifest.config.digest) the size \(manifest.config.size)")
        }
        for (i, layer) in manifest.layers.enumerated() {
            if layer.size < 0 {
                throw KilnError(
                    .invalidInput,
                    "\(image) layer \(i + 1) (\(layer.digest)): the manifest gives it the size \(layer.size); a blob size cannot be negative"
                )
            }
            if layer.mediaType.layerCompression == nil {
                throw KilnError(
                    .invalidInput,
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
        // Two images pulled at the same time (concurrent stages) may share a layer.
        try await InFlightWork.shared.run(temp) {
            if store.contains(descriptor.digest) { return }
            try FileManager.default.createDirectory(atPath: workDirectory + "/downloads", withIntermediateDirectories: true)
            try await client.fetchBlob(descriptor, from: reference, to: temp)
            try await store.put(fileAt: temp, digest: descriptor.digest, mode: .move)
        }
    }
}

/// One mirror or registry that failed, with its error kept.
struct PullFailure: Error, CustomStringConvertible {
    var candidate: ImageReference
    var error: any Error
    var description: String { "\(candidate): \(error)" }
}

/// Every candidate failed: each failure, in the order tried.
struct PullFailures: Error, CustomStringConvertible {
    var failures: [PullFailure]
    var description: String { failures.map(\.description).joined(separator: "; ") }
}
