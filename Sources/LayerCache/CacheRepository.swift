import FoundationEssentials
import Glibc
import ImageModel
import ImageStore
import PluginAPI

/// Where cache entries live: a registry repository or an OCI layout. Lookups never throw (an
/// unreachable or corrupt cache is a miss); fetching and storing throw, and the engine turns
/// that into a warning.
public protocol CacheRepository: Sendable {
    /// `host/repo` or `oci:/path`, for log lines.
    var name: String { get }
    /// The entry stored under `key`, if any, and not older than `ttl` seconds at `now`.
    func lookup(_ key: CacheKey, ttl: Int64, now: Int64) async -> CacheLookup
    /// Brings the entry's layer blob into `store` (checked against its digest).
    func fetchLayer(_ entry: CacheEntry, into store: BlobStore) async throws
    /// Whether the entry's layer blob is there to fetch (a hit is taken only then; the download
    /// itself runs in the background).
    func hasLayer(_ entry: CacheEntry) async -> Bool
    /// Stores a step's layer (in `store`; nil for a step that changed nothing) under `key`.
    /// `sources` says, when the layer is about to go up, which repositories of the same registry
    /// hold it (mounted from there rather than uploaded); it may wait for an upload in flight.
    func store(
        _ key: CacheKey, layer: Layer?, from store: BlobStore, createdBy: String, platform: Platform,
        mountingFrom sources: @escaping @Sendable () async -> [ImageReference]
    ) async throws
    /// Whether several entries may be stored at once.
    var storesConcurrently: Bool { get }
}

/// Entries as images in a registry repository, tagged by key (kaniko's `--cache-repo`).
public struct RegistryCacheRepository: CacheRepository {
    public let client: any RegistryClient
    public let repository: ImageReference
    /// A directory for downloads in progress.
    public let scratch: String

    public init(client: any RegistryClient, repository: ImageReference, scratch: String) {
        self.client = client
        self.repository = repository.with(tag: nil, digest: nil)
        self.scratch = scratch
    }

    public var name: String { repository.name }

    public func lookup(_ key: CacheKey, ttl: Int64, now: Int64) async -> CacheLookup {
        let manifest: FetchedManifest
        do {
            manifest = try await client.fetchManifest(repository.with(tag: key.tag), accept: [.ociManifest, .dockerManifest])
        } catch let failure as any RegistryFailure where failure.statusCode == 404 {
            return .miss(.noEntry)
        } catch let failure as any RegistryFailure where failure.statusCode == nil && failure.isTemporary {
            return .miss(.unreachable("\(failure)"))
        } catch {
            return .miss(.unreadable("\(error)"))
        }
        if let entry = CacheEntryFormat.entry(key: key, manifest: manifest.bytes, ttl: ttl, now: now) { return entry }
        let config: [UInt8]
        do {
            let parsed = try CanonicalJSON.decode(Manifest.self, from: manifest.bytes)
            guard parsed.config.size >= 0, parsed.config.size < 1 << 20 else {
                return .miss(.unreadable("the entry's config is \(parsed.config.size) bytes"))
            }
            config = try await download(parsed.config)
        } catch {
            return .miss(.unreadable("\(error)"))
        }
        return CacheEntryFormat.entry(key: key, manifest: manifest.bytes, config: config, ttl: ttl, now: now)
    }

    public func fetchLayer(_ entry: CacheEntry, into store: BlobStore) async throws {
        guard let layer = entry.layer, !store.contains(layer.descriptor.digest) else { return }
        let temp = try temporaryPath(layer.descriptor.digest)
        do {
            try await client.fetchBlob(layer.descriptor, from: repository, to: temp)
            try await store.put(fileAt: temp, digest: layer.descriptor.digest, mode: .move)
        } catch {
            unlink(temp)
            throw error
        }
    }

    public func hasLayer(_ entry: CacheEntry) async -> Bool {
        guard let layer = entry.layer else { return true }
        return (try? await client.blobExists(layer.descriptor.digest, in: repository)) ?? false
    }

    /// The layer and config blobs go up side by side, the manifest once both are there. The
    /// layer is mounted from `sources` straight away (one request: they hold it, so no HEAD
    /// first), else pushed as the config is (a HEAD, then an upload).
    public func store(
        _ key: CacheKey, layer: Layer?, from store: BlobStore, createdBy: String, platform: Platform,
        mountingFrom sources: @escaping @Sendable () async -> [ImageReference]
    ) async throws {
        let image = try CacheEntryFormat.image(layer: layer, createdBy: createdBy, platform: platform, in: store)
        let (client, repository) = (client, repository)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for blob in (layer.map { [$0.descriptor] } ?? []) + [image.manifest.config] {
                let path = store.path(for: blob.digest)
                let isLayer = blob.digest == layer?.descriptor.digest
                group.addTask {
                    for source in isLayer ? await sources() : []
                    where (try? await client.mountBlob(blob.digest, from: source, to: repository)) == true {
                        return
                    }
                    try await client.pushBlob(blob, from: path, to: repository, mountFrom: [])
                }
            }
            try await group.waitForAll()
        }
        _ = try await client.pushManifest(image.manifestBytes, mediaType: .ociManifest, to: repository.with(tag: key.tag))
    }

    /// Entries are separate tags over content-addressed blobs.
    public var storesConcurrently: Bool { true }

    private func download(_ descriptor: Descriptor) async throws -> [UInt8] {
        let temp = try temporaryPath(descriptor.digest)
        defer { unlink(temp) }
        try await client.fetchBlob(descriptor, from: repository, to: temp)
        return try Array(Data(contentsOf: URL(fileURLWithPath: temp)))
    }

    /// A fresh path under `scratch` (several lookups of one blob may run at once).
    private func temporaryPath(_ digest: Digest) throws -> String {
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        return scratch + "/\(digest.encoded)-\(UUID().uuidString.prefix(8))"
    }
}

/// Entries in an OCI image layout on disk (`--cache-repo oci:/path`), each a ref name in its index.
public struct LayoutCacheRepository: CacheRepository {
    public let path: String

    public init(path: String) {
        self.path = path
    }

    public var name: String { "oci:" + path }

    public func lookup(_ key: CacheKey, ttl: Int64, now: Int64) async -> CacheLookup {
        guard FileManager.default.fileExists(atPath: path + "/index.json") else { return .miss(.noEntry) }
        do {
            let reader = try OCILayoutReader(path: path)
            let descriptor: Descriptor
            do { descriptor = try reader.manifestDescriptor(refName: key.tag) } catch OCILayoutReader.Error.noSuchRef {
                return .miss(.noEntry)
            }
            let store = try BlobStore(root: path)
            let manifest = try store.read(descriptor.digest)
            let parsed = try CanonicalJSON.decode(Manifest.self, from: manifest)
            return CacheEntryFormat.entry(
                key: key, manifest: manifest, config: try store.read(parsed.config.digest), ttl: ttl, now: now)
        } catch {
            return .miss(.unreadable("\(error)"))
        }
    }

    public func fetchLayer(_ entry: CacheEntry, into store: BlobStore) async throws {
        guard let layer = entry.layer else { return }
        let layout = try BlobStore(root: path)
        // A blob changed on disk must not reach the image: check it as a download would be.
        try await layout.verify(layer.descriptor.digest)
        try await store.put(layer.descriptor.digest, from: layout)
    }

    public func hasLayer(_ entry: CacheEntry) async -> Bool {
        guard let layer = entry.layer else { return true }
        return (try? BlobStore(root: path).contains(layer.descriptor.digest)) ?? false
    }

    public func store(
        _ key: CacheKey, layer: Layer?, from store: BlobStore, createdBy: String, platform: Platform,
        mountingFrom sources: @escaping @Sendable () async -> [ImageReference]
    ) async throws {
        let image = try CacheEntryFormat.image(layer: layer, createdBy: createdBy, platform: platform, in: store)
        try await OCILayoutWriter(path: path).write(image, refName: key.tag)
    }

    /// Each store rewrites the layout's index.
    public var storesConcurrently: Bool { false }
}
