// The push overlapping the build: each new layer of the image is uploaded to the destinations
// as soon as it is in the store, while later steps run; the final push only waits for them.
import Diagnostics
import PluginAPI

/// A repository holding some blobs of the image being pushed: a push to another repository of
/// the same registry mounts those blobs from it instead of uploading them (distribution spec
/// "Mounting a blob from another repository"). A blob it does not hold is never tried there:
/// the registry would answer with an upload session, a wasted POST and DELETE.
public struct MountSource: Sendable, Hashable {
    public var reference: ImageReference
    /// The digests it holds; nil means every blob of the image (an earlier destination).
    public var blobs: Set<Digest>?

    public init(reference: ImageReference, blobs: Set<Digest>?) {
        self.reference = reference
        self.blobs = blobs
    }

    /// True when a mount of `digest` from here can work.
    public func holds(_ digest: Digest) -> Bool { blobs?.contains(digest) ?? true }
}

/// Uploads of new layer blobs started while the build runs. Each blob goes once to the first
/// destination of each registry (later destinations of that registry mount it at the final
/// push). A failed upload is not the build's failure: the final push tries that blob again
/// through `RegistryClient.pushBlob` (with `--push-retry`) and reports its own failure.
public actor EarlyUploads {
    private let client: any RegistryClient
    private let targets: [ImageReference]
    private let log: @Sendable (LogLevel, String) -> Void
    /// By `registry/repository@digest`: true once uploaded.
    private var uploads: [String: Task<Bool, Never>] = [:]

    /// Uploads to `options.destinations` (nothing unless `options.pushes`).
    public init(options: OutputOptions, client: any RegistryClient, log: @escaping @Sendable (LogLevel, String) -> Void) {
        var registries = Set<String>()
        targets = options.pushes ? options.destinations.filter { registries.insert($0.registry).inserted } : []
        self.client = client
        self.log = log
    }

    /// Starts uploading the blob stored at `path` (which must stay until `cancel()` or the
    /// final push has waited for it), trying a mount from `mountFrom` (repositories known to
    /// hold it) first; a blob already started is not started again.
    public func start(_ descriptor: Descriptor, path: String, mountFrom: [ImageReference] = []) {
        for target in targets {
            let key = Self.key(descriptor.digest, target)
            guard uploads[key] == nil else { continue }
            let client = client
            let log = log
            uploads[key] = Task {
                do {
                    try await client.pushBlob(descriptor, from: path, to: target, mountFrom: mountFrom)
                    return true
                } catch {
                    if !Task.isCancelled {
                        log(.debug, "early upload of \(descriptor.digest) to \(target.name) failed (the push tries again): \(error)")
                    }
                    return false
                }
            }
        }
    }

    /// Waits for the early upload of `digest` to `destination`'s repository; true when it
    /// succeeded, false when it failed or was never started.
    public func uploaded(_ digest: Digest, to destination: ImageReference) async -> Bool {
        guard let task = uploads[Self.key(digest, destination)] else { return false }
        return await task.value
    }

    /// Stops what is still uploading and waits for it (a failed build, before its blobs go).
    public func cancel() async {
        for task in uploads.values { task.cancel() }
        for task in uploads.values { _ = await task.value }
    }

    /// How many uploads were started.
    public var started: Int { uploads.count }

    private static func key(_ digest: Digest, _ repository: ImageReference) -> String { "\(repository.name)@\(digest)" }
}
