import Foundation
import LayerCache
import PluginAPI

/// The layer cache as one build uses it: the settings, the repository entries live in, and the
/// queue that stores new entries in the background.
final class StepCache: @unchecked Sendable {
    let options: LayerCacheOptions
    let repository: any CacheRepository
    let uploads = CacheUploads()
    /// Set when the repository did not answer: later steps neither look up nor store (each
    /// attempt would wait for the client's retries). Guarded by `lock`.
    private var unreachable = false
    private let lock = NSLock()

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

    /// Waits for the entries still being stored and says how it went.
    func finish(log: BuildLog) async {
        let (stored, failures) = await uploads.finish()
        for failure in failures { log.warning(failure) }
        if stored > 0 { log.info("stored \(stored) cache entr\(stored == 1 ? "y" : "ies") in \(repository.name)") }
    }
}
