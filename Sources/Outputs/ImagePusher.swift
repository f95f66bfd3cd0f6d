import Diagnostics
import FoundationEssentials
import ImageModel
import ImageStore
import PluginAPI
import PluginSupport

/// What the build adds to a push besides the image.
public struct PushHooks: Sendable {
    /// Called before a blob is pushed from the image's store (never for one uploaded early):
    /// brings in a blob the build has not downloaded yet (a cache hit's layer).
    public var prepareBlob: (@Sendable (Digest, BlobStore) async throws -> Void)?
    /// Awaited before each manifest PUT (the push permission check still running beside the
    /// push); its error is the push's.
    public var beforeManifest: (@Sendable () async throws -> Void)?

    public init(
        prepareBlob: (@Sendable (Digest, BlobStore) async throws -> Void)? = nil, beforeManifest: (@Sendable () async throws -> Void)? = nil
    ) {
        self.prepareBlob = prepareBlob
        self.beforeManifest = beforeManifest
    }
}

/// Pushes a built image to its destinations: blobs first (each once per repository, mounted
/// from another destination repository on the same registry when possible), the manifest last.
public struct ImagePusher: Sendable {
    /// The destinations and push flags.
    public let options: OutputOptions
    /// The registry client the Host resolved.
    public let client: any RegistryClient
    /// Progress lines (`pushing …`, `pushed …`).
    public let log: @Sendable (LogLevel, String) -> Void

    public init(options: OutputOptions, client: any RegistryClient, log: @escaping @Sendable (LogLevel, String) -> Void) {
        self.options = options
        self.client = client
        self.log = log
    }

    /// Fails before a long build when a destination refuses pushes (unless
    /// `--skip-push-permission-check`).
    public func checkPermissions() async throws {
        guard options.pushes, !options.skipPushPermissionCheck else { return }
        var seen = Set<String>()
        for d in options.destinations where seen.insert(d.name).inserted {
            do { try await client.checkPushPermission(d) } catch {
                // Only the registry's own refusal is about permission; a connection refused, a
                // name that does not resolve, a TLS failure or a time-out is the network's.
                let status = (error as? any RegistryFailure)?.statusCode
                if status == 401 || status == 403 {
                    throw KilnError(.permission, "no permission to push to \(d.name)", cause: error)
                }
                throw KilnError(.network, "cannot check that \(d.name) accepts pushes", cause: error)
            }
        }
    }

    /// Pushes `image` to every destination; returns the manifest digest the registries stored.
    /// With `byDigest` the manifest is stored under its digest only (an image an index will name).
    /// Blobs `early` uploaded are waited for, not pushed again; one whose early upload failed
    /// is pushed here like any other, after `hooks.prepareBlob`.
    public func push(
        _ image: Image, mountingFrom bases: [MountSource] = [], byDigest: Bool = false, early: EarlyUploads? = nil,
        hooks: PushHooks = PushHooks()
    ) async throws -> Digest {
        let client = client
        var pushedRepos: [MountSource] = []
        var digest = image.digest
        for destination in options.destinations {
            log(.info, "pushing \(destination)")
            // Blobs already in another repository of the same registry (an earlier destination,
            // or a base image's own repository) are mounted instead of uploaded; only there.
            let sameRegistry = (pushedRepos + bases).filter {
                $0.reference.registry == destination.registry && $0.reference.repository != destination.repository
            }
            let blobs = image.manifest.layers + [image.manifest.config]
            let store = image.store
            do {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for blob in blobs {
                        let path = image.store.path(for: blob.digest)
                        let mountFrom = sameRegistry.filter { $0.holds(blob.digest) }.map(\.reference)
                        group.addTask {
                            if let early, await early.uploaded(blob.digest, to: destination) { return }
                            try await hooks.prepareBlob?(blob.digest, store)
                            try await client.pushBlob(blob, from: path, to: destination, mountFrom: mountFrom)
                        }
                    }
                    try await group.waitForAll()
                }
            } catch {
                throw KilnError(.network, "pushing \(destination)", cause: error)
            }
            try await hooks.beforeManifest?()
            do {
                let tagged =
                    byDigest
                    ? destination.with(tag: nil, digest: image.digest)
                    : destination.tag == nil && destination.digest == nil ? destination.with(tag: ImageReference.defaultTag) : destination
                digest = try await client.pushManifest(image.manifestBytes, mediaType: image.manifest.mediaType ?? .ociManifest, to: tagged)
            } catch {
                if options.pushIgnoreImmutableTagErrors, (error as? any RegistryFailure)?.isImmutableTag == true {
                    log(.warning, "\(destination): tag is immutable; ignored (--push-ignore-immutable-tag-errors)")
                } else {
                    throw KilnError(.network, "pushing \(destination)", cause: error)
                }
            }
            pushedRepos.append(MountSource(reference: destination, blobs: nil))
            log(.info, "pushed \(destination.with(tag: destination.tag, digest: digest))")
        }
        return digest
    }

    /// Pushes an image index (whose images were pushed by digest) under every destination's tag.
    public func pushIndex(_ bytes: [UInt8], mediaType: MediaType) async throws -> Digest {
        var digest = Digest.sha256(of: bytes)
        for destination in options.destinations {
            let tagged =
                destination.tag == nil && destination.digest == nil ? destination.with(tag: ImageReference.defaultTag) : destination
            do {
                digest = try await client.pushManifest(bytes, mediaType: mediaType, to: tagged)
            } catch {
                if options.pushIgnoreImmutableTagErrors, (error as? any RegistryFailure)?.isImmutableTag == true {
                    log(.warning, "\(destination): tag is immutable; ignored (--push-ignore-immutable-tag-errors)")
                    continue
                }
                throw KilnError(.network, "pushing the index to \(destination)", cause: error)
            }
            log(.info, "pushed \(destination.with(tag: destination.tag, digest: digest)) (\(mediaType))")
        }
        return digest
    }
}
