import Diagnostics
import FoundationEssentials
import ImageStore
import LayerCache
import PluginAPI
import PluginSupport

/// The layer cache as one build uses it: the settings, the repository entries live in, and the
/// queue that stores new entries in the background.
final class StepCache: @unchecked Sendable {
    let options: LayerCacheOptions
    let repository: any CacheRepository
    let uploads = CacheUploads()
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

    init(options: LayerCacheOptions, repository: any CacheRepository) {
        self.options = options
        self.repository = repository
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
        switch repository {
        case .layout(let path):
            return StepCache(options: cache, repository: LayoutCacheRepository(path: path))
        case .registry(let reference):
            guard let client = components.registry else {
                log.warning("--cache has no effect: \(components.registryUnavailable)")
                return nil
            }
            let scratch = workDirectory + "/cache-downloads"
            return StepCache(
                options: cache, repository: RegistryCacheRepository(client: client, repository: reference, scratch: scratch))
        }
    }

    /// Hits' layers being downloaded in the background, by digest, with the keys that found
    /// them. Guarded by `lock`.
    private var fetches: [Digest: (keys: Set<CacheKey>, task: Task<Void, any Error>)] = [:]

    /// Starts bringing a hit's layer into `store` in the background (once per blob): the next
    /// steps' lookups go on meanwhile. `awaitFetches` waits for it before anything reads it.
    func prefetch(_ entry: CacheEntry, into store: BlobStore) {
        guard let layer = entry.layer else { return }
        let digest = layer.descriptor.digest
        let repository = repository
        lock.withLock {
            if fetches[digest] != nil {
                fetches[digest]?.keys.insert(entry.key)
                return
            }
            guard !store.contains(digest) else { return }
            fetches[digest] = ([entry.key], Task { try await repository.fetchLayer(entry, into: store) })
        }
    }

    /// Waits for the background downloads of `digests` (every one when nil). A download that
    /// fails throws `UnavailableLayer` naming the entries that led to it: the build is run
    /// again with them distrusted (`ImageBuilder.run`).
    func awaitFetches(_ digests: [Digest]? = nil) async throws {
        let pending = lock.withLock { () -> [(Digest, (keys: Set<CacheKey>, task: Task<Void, any Error>))] in
            guard let digests else { return Array(fetches) }
            return digests.compactMap { d in fetches[d].map { (d, $0) } }
        }
        for (_, fetch) in pending {
            guard case .failure = await fetch.task.result else { continue }
            // Every entry whose download failed goes at once: one more run, not one per entry.
            var failed: UnavailableLayer?
            for (digest, other) in lock.withLock({ Array(fetches) }) {
                guard case .failure(let error) = await other.task.result else { continue }
                if failed == nil {
                    failed = UnavailableLayer(keys: [], digest: digest, repository: repository.name, cause: error)
                }
                failed?.keys.formUnion(other.keys)
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
        // After a failure, downloads nobody will read.
        for fetch in lock.withLock({ Array(fetches.values) }) { fetch.task.cancel() }
        let (stored, failures) = await uploads.finish()
        for failure in failures { log.warning(failure) }
        if stored > 0 { log.info("stored \(stored) cache entr\(stored == 1 ? "y" : "ies") in \(repository.name)") }
    }
}
