import PluginAPI

/// The layer cache's settings: kaniko's `--cache`, `--cache-repo`, `--cache-ttl`,
/// `--cache-copy-layers`, `--cache-run-layers` and `--no-push-cache`.
public struct LayerCacheOptions: Sendable {
    /// Where entries live.
    public enum Repository: Sendable, Hashable, CustomStringConvertible {
        /// A registry repository; each entry is an image tagged with its key.
        case registry(ImageReference)
        /// `oci:<path>`: an OCI image layout on disk; each entry is a ref name in its index.
        case layout(String)

        public var description: String {
            switch self {
            case .registry(let reference): return reference.name
            case .layout(let path): return "oci:" + path
            }
        }
    }

    /// `--cache`: look steps up in the cache (and store them unless `push` is off).
    public var enabled = false
    /// `--cache-repo`; nil: `<first destination's repository>/cache`, settled by the Host.
    public var repository: Repository?
    /// `--cache-ttl` in seconds: older entries are misses.
    public var ttl: Int64 = 336 * 3600
    /// `--cache-copy-layers`: COPY and ADD layers come from the cache too.
    public var copyLayers = false
    /// `--cache-run-layers`: RUN layers come from the cache.
    public var runLayers = true
    /// False with `--no-push-cache`: look up, never store.
    public var push = true
    /// Entries found unusable earlier in this run (their layer could not be downloaded after
    /// the lookup found them): misses from then on.
    public var distrusted: Set<CacheKey> = []

    public init() {}

    /// `oci:/path` names a layout; anything else a registry repository (`host/name`, no tag).
    /// - Throws: `ImageReference.ParseError` for a repository name that does not parse.
    public static func repository(parsing text: String) throws -> Repository {
        if text.hasPrefix("oci:") { return .layout(String(text.dropFirst(4))) }
        let reference = try ImageReference(parsing: text)
        return .registry(reference.with(tag: nil, digest: nil))
    }

    /// kaniko's default: the first destination's repository with `/cache` appended.
    public static func defaultRepository(for destination: ImageReference) -> Repository {
        .registry(ImageReference(registry: destination.registry, repository: destination.repository + "/cache"))
    }
}
