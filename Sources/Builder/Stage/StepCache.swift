import Diagnostics
import FoundationEssentials
import ImageStore
import LayerCache
import PluginAPI
import PluginSupport

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// The layer cache as one build uses it: the settings, the repository entries live in, and the
/// queue that stores new entries in the background.
final class StepCache: @unchecked Sendable {
    let options: LayerCacheOptions
    let repository: any CacheRepository
    let uploads: CacheUploads
    /// Set when the repository did not answer: later steps neither look up nor store (each
    /// attempt would wait for the client's retries). Guarded by `lock`.
    private var unreachable = false
    private let lock = Lock()

    /// True once the repository was found unreachable.
    var isOffline: Bool { lock.withLock { unreachable } }

    /// Records that the repository did not answer; true the first time.
    func goOffline() -> Bool {
        lock.withLock {
            defer { unreachable = true }
            return !unreachable
        }
    }

    /// The entries of `repository` this runner looked up or stored, kept in `--cache-dir`; nil
    /// without it, or for an `oci:` layout (local already: a record would save no request, only
    /// add a second copy that could disagree with a layout changed by hand).
    let records: CacheRecords?
    /// With `--cache-dir`, a hit's layer is downloaded only when something reads it (`awaitFetches`):
    /// its files may be kept there already, and the destination may hold the blob. Without, it
    /// downloads at once (it is almost always extracted soon).
    let lazyFetches: Bool

    init(options: LayerCacheOptions, repository: any CacheRepository, records: CacheRecords? = nil, lazyFetches: Bool = false) {
        self.options = options
        self.repository = repository
        self.records = records
        self.lazyFetches = lazyFetches
        uploads = CacheUploads(serial: !repository.storesConcurrently)
    }

    /// The cache a build with `options` uses, or nil (with the reason logged) when it has none:
    /// `--cache` off, `--single-snapshot` (no per-step layers to cache), or no repository.
    static func make(_ options: BuildOptions, components: BuildComponents, workDirectory: String, log: BuildLog) -> StepCache? {
        let cache = options.cache
        guard cache.enabled else { return nil }
        if options.layers.singleSnapshot {
            log.warning("--cache has no effect with --single-snapshot: there are no per-step layers to cache")
            return nil
        }
        guard let repository = cache.repository ?? options.outputs.destinations.first.map(LayerCacheOptions.defaultRepository)
        else {
            log.warning("--cache has no effect: give --cache-repo (or a --destination, whose repository/cache is the default)")
            return nil
        }
        let cacheDirectory = options.baseImages.cacheDirectory.flatMap { $0.isEmpty ? nil : $0 }
        switch repository {
        case .layout(let path):
            return StepCache(options: cache, repository: LayoutCacheRepository(path: path), lazyFetches: cacheDirectory != nil)
        case .registry(let reference):
            guard let client = components.registry else {
                log.warning("--cache has no effect: \(components.registryUnavailable)")
                return nil
            }
            let scratch = workDirectory + "/cache-downloads"
            let remote = RegistryCacheRepository(client: client, repository: reference, scratch: scratch)
            let records = cacheDirectory.map { CacheRecords(cacheDirectory: $0, repository: remote.name) }
            return StepCache(options: cache, repository: remote, records: records, lazyFetches: cacheDirectory != nil)
        }
    }

    /// Looks `key` up: in the local records first (a hit there costs no request), then in the
    /// repository, recording what it finds. `recorded`: the answer came from a record. An
    /// expired or distrusted key's record is removed and the repository asked (for a distrusted
    /// key its answer is a miss anyway once the caller sees the key is distrusted).
    func lookup(_ key: CacheKey, now: Int64) async -> (answer: CacheLookup, recorded: Bool) {
        let distrusted = options.distrusted.contains(key)
        if let records {
            switch distrusted ? nil : records.lookup(key, ttl: options.ttl, now: now) {
            case .hit(let entry)?: return (.hit(entry), true)
            // Expired (or distrusted): gone, unless the repository has a fresher entry.
            case .miss?: records.forget(key)
            case nil: if distrusted { records.forget(key) }
            }
        }
        let answer = await repository.lookup(key, ttl: options.ttl, now: now)
        if let records, !distrusted, case .hit(let entry) = answer { records.record(entry, now: now) }
        return (answer, false)
    }

    /// Records an entry this runner stored in the repository.
    func recordStored(_ key: CacheKey, layer: Layer?, createdBy: String) {
        let now = Int64(time(nil))
        records?.record(CacheEntry(key: key, layer: layer, createdBy: createdBy, created: now), now: now)
    }

    /// A hit's layer to bring into a store: started at once, or (`lazyFetches`) by the first
    /// `awaitFetches` that names it.
    private struct Fetch {
        /// The keys whose entries named the layer.
        var keys: Set<CacheKey>
        let entry: CacheEntry
        let store: BlobStore
        var task: Task<Void, any Error>?
    }

    /// A layer for one store (each platform's session has its own, and two platforms' hits may
    /// name one blob).
    private struct FetchKey: Hashable {
        var store: String
        var digest: Digest
    }

    /// Hits' layers, by store and digest. Guarded by `lock`.
    private var fetches: [FetchKey: Fetch] = [:]

    /// Registers a hit's layer for `store` (once per blob and store) and, unless `lazyFetches`,
    /// starts downloading it in the background: the next steps' lookups go on meanwhile.
    /// `awaitFetches` waits for it (starting it if need be) before anything reads it.
    func prefetch(_ entry: CacheEntry, into store: BlobStore) {
        guard let layer = entry.layer else { return }
        let key = FetchKey(store: store.root, digest: layer.descriptor.digest)
        lock.withLock {
            if fetches[key] != nil {
                fetches[key]?.keys.insert(entry.key)
                return
            }
            guard !store.contains(key.digest) else { return }
            fetches[key] = Fetch(keys: [entry.key], entry: entry, store: store)
            if !lazyFetches { _ = startLocked(key) }
        }
    }

    /// The download of `key`, started now if it was not yet; nil when none is registered.
    /// Call with `lock` held.
    private func startLocked(_ key: FetchKey) -> Task<Void, any Error>? {
        guard let fetch = fetches[key] else { return nil }
        if let task = fetch.task { return task }
        let repository = repository
        let task = Task { try await repository.fetchLayer(fetch.entry, into: fetch.store) }
        fetches[key]?.task = task
        return task
    }

    /// How many hits' layers registered for `store` were never downloaded.
    func notFetched(in store: BlobStore) -> Int {
        lock.withLock { fetches.filter { $0.key.store == store.root && $0.value.task == nil }.count }
    }

    /// Starts the downloads of `digests` into `store` that have not started and waits for them.
    func awaitFetches(_ digests: [Digest], in store: BlobStore) async throws {
        try await awaitFetches(digests.map { FetchKey(store: store.root, digest: $0) })
    }

    /// Starts the downloads of every store's `digests` that have not started, and waits for them.
    func awaitFetches(_ digests: [(store: BlobStore, digests: [Digest])]) async throws {
        try await awaitFetches(digests.flatMap { wanted in wanted.digests.map { FetchKey(store: wanted.store.root, digest: $0) } })
    }

    /// Starts every registered download that has not started and waits for them all.
    func awaitAllFetches() async throws {
        try await awaitFetches(lock.withLock { Array(fetches.keys) })
    }

    /// Starts the downloads of `keys` that have not started and waits for them. A download that
    /// fails throws `UnavailableLayer` naming the entries that led to it: the build is run again
    /// with them distrusted (`ImageBuilder.run`).
    private func awaitFetches(_ keys: [FetchKey]) async throws {
        let pending = lock.withLock { keys.compactMap { startLocked($0) } }
        for task in pending {
            guard case .failure = await task.result else { continue }
            // Every entry whose download failed goes at once: one more run, not one per entry.
            var failed: UnavailableLayer?
            let started = lock.withLock { fetches.compactMap { key, f in f.task.map { (key.digest, f.keys, $0) } } }
            for (digest, keys, other) in started {
                guard case .failure(let error) = await other.result else { continue }
                if failed == nil {
                    failed = UnavailableLayer(keys: [], digest: digest, repository: repository.name, cause: error)
                }
                failed?.keys.formUnion(keys)
            }
            if let failed { throw failed }
        }
    }

    /// A hit whose layer could not be downloaded after all.
    struct UnavailableLayer: Error, CustomStringConvertible {
        var keys: Set<CacheKey>
        var digest: Digest
        var repository: String
        var cause: any Error

        var description: String { "the cached layer \(digest) cannot be downloaded from \(repository): \(cause)" }

        /// The first `UnavailableLayer` in `error`'s chain of causes.
        static func find(in error: any Error) -> UnavailableLayer? {
            var current: (any Error)? = error
            while let e = current {
                if let found = e as? UnavailableLayer { return found }
                current = (e as? KilnError)?.cause
            }
            return nil
        }
    }

    /// Waits for the entries still being stored and says how it went.
    func finish(log: BuildLog) async {
        // Downloads nobody awaited (after a failure, or lazy ones no output read).
        for fetch in lock.withLock({ Array(fetches.values) }) { fetch.task?.cancel() }
        let (stored, failures) = await uploads.finish()
        for failure in failures { log.warning(failure) }
        if stored > 0 { log.info("stored \(stored) cache entr\(stored == 1 ? "y" : "ies") in \(repository.name)") }
    }
}
