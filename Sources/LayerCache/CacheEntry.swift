import FoundationEssentials
import Glibc
import ImageModel
import ImageStore
import PluginAPI

/// One stored step: the layer it wrote (none for a step that changed nothing) and the history
/// entry it adds. Stored as a one-layer image (kaniko's format): its config carries the step's
/// history and a `created` time for `--cache-ttl`.
public struct CacheEntry: Sendable {
    public var key: CacheKey
    /// nil: the step made no layer.
    public var layer: Layer?
    /// The step's instruction as the first build recorded it.
    public var createdBy: String?
    /// Seconds since the epoch the entry was stored at.
    public var created: Int64?

    public init(key: CacheKey, layer: Layer?, createdBy: String?, created: Int64?) {
        self.key = key
        self.layer = layer
        self.createdBy = createdBy
        self.created = created
    }
}

/// The answer of a lookup.
public enum CacheLookup: Sendable {
    case hit(CacheEntry)
    case miss(CacheMiss)
}

/// Why a lookup missed; `unreadable` is also logged as a warning.
public enum CacheMiss: Sendable, CustomStringConvertible {
    /// No entry under the key.
    case noEntry
    /// The entry is older than `--cache-ttl`.
    case expired(ageSeconds: Int64)
    /// The cache could not be read, or the entry is not a valid cache image.
    case unreadable(String)
    /// The cache did not answer at all (no connection): the build goes on without it.
    case unreachable(String)

    public var description: String {
        switch self {
        case .noEntry: return "no entry"
        case .expired(let age): return "expired (\(age)s old)"
        case .unreadable(let reason): return "unreadable: \(reason)"
        case .unreachable(let reason): return "unreachable: \(reason)"
        }
    }
}

/// How an entry is written and read: an OCI manifest with at most one layer and a config.
enum CacheEntryFormat {
    /// Builds the entry's image (config and manifest written into `store`, which must hold the layer).
    static func image(layer: Layer?, createdBy: String, platform: Platform, in store: BlobStore) throws -> Image {
        var config = ImageConfig(platform: platform, config: nil)
        let now = Timestamp.now()
        config.created = now
        config.history = [History(created: now, createdBy: createdBy, comment: "kiln cache", emptyLayer: layer == nil ? true : nil)]
        // What a lookup needs is in the manifest too, so a lookup is one request.
        var annotations = [Annotation.created: now, Annotation.createdBy: createdBy]
        if let layer { annotations[Annotation.diffID] = layer.diffID.description }
        return try Image.build(config: config, layers: layer.map { [$0] } ?? [], format: .oci, annotations: annotations, in: store)
    }

    /// Manifest annotations that repeat the config's `created`, history and diff ID.
    enum Annotation {
        static let created = "dev.kiln.cache.created"
        static let createdBy = "dev.kiln.cache.created-by"
        static let diffID = "dev.kiln.cache.diff-id"
    }

    /// Reads an entry from its manifest alone, when the manifest carries the annotations (entries
    /// stored before them, or by another tool, do not: nil, and the config is read).
    static func entry(key: CacheKey, manifest manifestBytes: [UInt8], ttl: Int64, now: Int64) -> CacheLookup? {
        guard let manifest = try? CanonicalJSON.decode(Manifest.self, from: manifestBytes),
            let annotations = manifest.annotations, let createdText = annotations[Annotation.created]
        else { return nil }
        guard manifest.layers.count <= 1 else {
            return .miss(.unreadable("the entry has \(manifest.layers.count) layers, a cache entry has at most one"))
        }
        if let layer = manifest.layers.first, layer.mediaType.layerCompression == nil {
            return .miss(.unreadable("the entry's layer has the media type \(layer.mediaType)"))
        }
        guard let created = parseTimestamp(createdText) else { return .miss(.unreadable("the entry has no creation time")) }
        if now - created > ttl { return .miss(.expired(ageSeconds: now - created)) }
        var layer: Layer?
        if let descriptor = manifest.layers.first {
            guard let diffID = annotations[Annotation.diffID].flatMap({ try? Digest(parsing: $0) }) else {
                return .miss(.unreadable("the entry's layer has no diff ID"))
            }
            layer = Layer(descriptor: descriptor, diffID: diffID)
        }
        return .hit(CacheEntry(key: key, layer: layer, createdBy: annotations[Annotation.createdBy], created: created))
    }

    /// Reads an entry from its manifest and config bytes, checking it is one a cache could have
    /// written and that it is not older than `ttl`.
    static func entry(key: CacheKey, manifest manifestBytes: [UInt8], config configBytes: [UInt8], ttl: Int64, now: Int64)
        -> CacheLookup
    {
        let manifest: Manifest
        let config: ImageConfig
        do {
            manifest = try CanonicalJSON.decode(Manifest.self, from: manifestBytes)
            config = try CanonicalJSON.decode(ImageConfig.self, from: configBytes)
        } catch {
            return .miss(.unreadable("the entry does not decode: \(error)"))
        }
        guard manifest.layers.count <= 1, manifest.layers.count == config.rootfs.diffIDs.count else {
            return .miss(.unreadable("the entry has \(manifest.layers.count) layers, a cache entry has at most one"))
        }
        if let layer = manifest.layers.first, layer.mediaType.layerCompression == nil {
            return .miss(.unreadable("the entry's layer has the media type \(layer.mediaType)"))
        }
        guard let created = config.created.flatMap(parseTimestamp) else {
            return .miss(.unreadable("the entry has no creation time"))
        }
        if now - created > ttl { return .miss(.expired(ageSeconds: now - created)) }
        let layer = manifest.layers.first.map { Layer(descriptor: $0, diffID: config.rootfs.diffIDs[0]) }
        return .hit(CacheEntry(key: key, layer: layer, createdBy: config.history?.first?.createdBy, created: created))
    }

    /// `2006-01-02T15:04:05[.fraction](Z|±hh:mm)` → seconds since the epoch.
    static func parseTimestamp(_ text: String) -> Int64? {
        let chars = Array(text.utf8)
        guard chars.count >= 19 else { return nil }
        func number(_ range: Range<Int>) -> Int32? { Int32(String(decoding: chars[range], as: UTF8.self)) }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10), let hour = number(11..<13),
            let minute = number(14..<16), let second = number(17..<19)
        else { return nil }
        var tm = tm()
        tm.tm_year = year - 1900
        tm.tm_mon = month - 1
        tm.tm_mday = day
        tm.tm_hour = hour
        tm.tm_min = minute
        tm.tm_sec = second
        var seconds = Int64(timegm(&tm))
        var rest = chars[19...].drop(while: { $0 == UInt8(ascii: ".") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) })
        if rest.isEmpty || rest == [UInt8(ascii: "Z")] { return seconds }
        let sign: Int64 = rest.first == UInt8(ascii: "-") ? -1 : 1
        rest = rest.dropFirst()
        let parts = String(decoding: rest, as: UTF8.self).split(separator: ":").compactMap { Int64($0) }
        guard parts.count == 2 else { return nil }
        seconds -= sign * (parts[0] * 3600 + parts[1] * 60)
        return seconds
    }
}
