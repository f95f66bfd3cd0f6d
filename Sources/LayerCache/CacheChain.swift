import PluginAPI
import PluginSupport

/// The cache's view of a stage so far, as a digest: the base image and platform, then what each
/// step put into the root (a layer's diff ID, the content a COPY wrote, a metadata instruction's
/// text). A step's key is this state plus what the step itself depends on; the state then moves
/// on by the step's *output*, not its key, so a step that misses but writes the same layer as
/// before lets the steps after it hit again.
public struct CacheChain: Sendable, Hashable {
    /// The digest of everything recorded so far.
    public private(set) var state: Digest

    /// The chain of a stage on `base` (a manifest digest, or `scratch`) for `platform`.
    public static func seed(base: String, platform: Platform) -> CacheChain {
        CacheChain(state: Self.digest(["kiln-layer-cache-v1", base, platform.normalized.description]))
    }

    /// The key of a step that depends on `parts` (its kind, command, environment…) in this state.
    public func key(_ parts: [String]) -> CacheKey {
        CacheKey(digest: Self.digest([state.description, "key"] + parts))
    }

    /// Records a step's output.
    public mutating func advance(_ parts: [String]) {
        state = Self.digest([state.description, "out"] + parts)
    }

    /// SHA-256 over length-prefixed parts, so no two lists of parts hash the same bytes.
    static func digest(_ parts: [String]) -> Digest {
        var hasher = SHA256Hasher()
        for part in parts {
            let bytes = Array(part.utf8)
            hasher.update(Array("\(bytes.count):".utf8))
            hasher.update(bytes)
        }
        return hasher.finalize()
    }
}

/// A step's cache key; its hex digest is the entry's tag.
public struct CacheKey: Sendable, Hashable, CustomStringConvertible {
    public let digest: Digest

    /// The tag (or layout ref name) the entry is stored under.
    public var tag: String { digest.encoded }

    public var description: String { String(tag.prefix(12)) }
}
