// `kiln manifest push`: resolves each source (an image or an index), brings its content into
// the target repository, and pushes the index under the target tag and each extra tag.
// manifest-tool's semantics (peers.md §2.5), except that sources may live on other registries
// (their blobs are copied) and a platform that contradicts the source's config is an error.
import FoundationEssentials
import ImageModel
import PluginAPI

/// Merges per-platform images into one index through a `RegistryClient`.
public struct ManifestPusher: Sendable {
    /// How to push.
    public struct Options: Sendable {
        /// Leave out sources that do not exist instead of failing (`--ignore-missing`).
        public var ignoreMissing = false
        /// The list's type; nil follows the sources (see `IndexAssembly.mediaType`).
        public var kind: IndexKind?
        public init(ignoreMissing: Bool = false, kind: IndexKind? = nil) {
            self.ignoreMissing = ignoreMissing
            self.kind = kind
        }
    }

    /// What was pushed.
    public struct Result: Sendable {
        public var reference: ImageReference
        public var digest: Digest
        public var size: Int
        public var mediaType: MediaType
        public var entries: [Descriptor]
        /// Sources left out by `ignoreMissing`.
        public var skipped: [ImageReference]
    }

    let client: any RegistryClient
    let copier: RepositoryCopier
    let log: @Sendable (LogLevel, String) -> Void

    /// - Parameters:
    ///   - workDirectory: an existing directory for downloads (blobs copied across registries).
    ///   - log: progress and warnings, one line each.
    public init(client: any RegistryClient, workDirectory: String, log: @escaping @Sendable (LogLevel, String) -> Void = { _, _ in }) {
        self.client = client
        self.copier = RepositoryCopier(client: client, workDirectory: workDirectory, log: log)
        self.log = log
    }

    /// Pushes the index `spec` describes and returns its digest.
    /// - Throws: `ManifestToolError` for missing sources, clashing platforms and bad sources;
    ///   the registry client's errors as they are.
    public func push(_ spec: ManifestSpec, options: Options = Options()) async throws -> Result {
        guard spec.target.digest == nil else {
            throw ManifestToolError.usage("the target \(spec.target) must be named by a tag, not a digest")
        }
        var target = spec.target
        if target.tag == nil { target.tag = ImageReference.defaultTag }
        var entries: [IndexEntry] = []
        var skipped: [ImageReference] = []
        for source in spec.sources {
            guard let fetched = try await fetchSource(source.image, ignoreMissing: options.ignoreMissing) else {
                log(.warning, "\(source.image) does not exist; left out (--ignore-missing)")
                skipped.append(source.image)
                continue
            }
            entries += try await resolve(source, fetched, into: target)
        }
        guard !entries.isEmpty else { throw ManifestToolError.allSourcesMissing(skipped) }
        let (bytes, mediaType) = try IndexAssembly.make(entries: entries, kind: options.kind, annotations: spec.annotations)
        let digest = try await client.pushManifest(bytes, mediaType: mediaType, to: target)
        for tag in spec.tags where tag != target.tag {
            _ = try await client.pushManifest(bytes, mediaType: mediaType, to: target.with(tag: tag))
        }
        let index = try CanonicalJSON.decode(ImageIndex.self, from: bytes)
        return Result(
            reference: target, digest: digest, size: bytes.count, mediaType: mediaType, entries: index.manifests, skipped: skipped)
    }

    /// The source's manifest or index; nil when it does not exist and `ignoreMissing` is set.
    private func fetchSource(_ reference: ImageReference, ignoreMissing: Bool) async throws -> FetchedManifest? {
        do {
            return try await client.fetchManifest(reference, accept: MediaType.manifestAccept)
        } catch let failure as any RegistryFailure where failure.statusCode == 404 {
            if ignoreMissing { return nil }
            throw ManifestToolError.missingSource(reference)
        }
    }

    /// The entries one source contributes, its content copied into `target`'s repository.
    private func resolve(_ source: ManifestSpec.Source, _ fetched: FetchedManifest, into target: ImageReference) async throws
        -> [IndexEntry]
    {
        let ref = source.image
        if fetched.mediaType.isImageManifest {
            let platform = try await platform(of: fetched, from: ref, asked: source.platform)
            try await copier.copyImage(fetched, from: ref, to: target)
            var descriptor = fetched.descriptor
            descriptor.platform = platform
            return [IndexEntry(descriptor: descriptor, source: ref)]
        }
        guard fetched.mediaType.isIndex else {
            throw ManifestToolError.unsupportedSource(ref, "\(fetched.mediaType) is neither an image manifest nor an index")
        }
        let index: ImageIndex
        do { index = try CanonicalJSON.decode(ImageIndex.self, from: fetched.bytes) } catch {
            throw ManifestToolError.unsupportedSource(ref, "the index is not valid: \(error)")
        }
        let chosen = try choose(from: index, asked: source.platform, source: ref)
        var entries: [IndexEntry] = []
        for var child in chosen {
            let childRef = ref.with(digest: child.digest)
            let manifest = try await client.fetchManifest(childRef, accept: [child.mediaType])
            if child.platform == nil, !child.isAttestation {
                child.platform = try await platform(of: manifest, from: childRef, asked: source.platform)
            }
            try await copier.copyImage(manifest, from: ref, to: target)
            entries.append(IndexEntry(descriptor: child, source: ref))
        }
        return entries
    }

    /// The image entries of a source index for `asked` (all of them when nil), then the
    /// attestation manifests that describe those images.
    func choose(from index: ImageIndex, asked: Platform?, source: ImageReference) throws -> [Descriptor] {
        let images = index.manifests.filter { !$0.isAttestation && $0.mediaType.isImageManifest }
        var chosen = images
        if let asked {
            guard let match = index.manifest(for: asked), !match.isAttestation else {
                throw ManifestToolError.platformNotInIndex(source, asked: asked, available: images.compactMap(\.platform))
            }
            chosen = [match]
        }
        let digests = Set(chosen.map(\.digest.description))
        let attestations = index.manifests.filter {
            $0.isAttestation && digests.contains($0.annotations?[Descriptor.referenceDigestAnnotation] ?? "")
        }
        return chosen + attestations
    }

    /// The entry's platform: the one asked for (its variant, OS version and features completed
    /// from the config when not given), else the config's.
    /// - Throws: `ManifestToolError.platformMismatch` when the config names another OS or
    ///   architecture than the one asked for: a mislabelled image must not be published.
    private func platform(of manifest: FetchedManifest, from ref: ImageReference, asked: Platform?) async throws -> Platform {
        let image: Manifest
        do { image = try CanonicalJSON.decode(Manifest.self, from: manifest.bytes) } catch {
            throw ManifestToolError.unsupportedSource(ref, "not a valid image manifest: \(error)")
        }
        let config = try await copier.readConfig(image.config, from: ref)
        guard var asked else { return config }
        guard config.matches(asked), asked.matches(config) else {
            throw ManifestToolError.platformMismatch(ref, asked: asked, config: config)
        }
        if asked.variant == nil { asked.variant = config.variant }
        if asked.osVersion == nil { asked.osVersion = config.osVersion }
        if asked.osFeatures == nil { asked.osFeatures = config.osFeatures }
        return asked
    }
}
