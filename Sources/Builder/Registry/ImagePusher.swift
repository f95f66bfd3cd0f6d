import Foundation
import ImageStore
import PluginAPI
import PluginHost

/// Pushes a built image to its destinations: blobs first (each once per repository, mounted
/// from another destination repository on the same registry when possible), the manifest last.
struct ImagePusher {
    let session: BuildSession?
    let plugins: PluginHost.PluginSet
    let options: BuildOptions
    let log: BuildLog

    func checkPermissions() async throws {
        guard !options.noPush, !options.skipPushPermissionCheck, !options.destinations.isEmpty else { return }
        let client = try RegistrySelection.client(plugins, name: options.registryPlugin)
        var seen = Set<String>()
        for d in options.destinations where seen.insert(d.name).inserted {
            do { try await client.checkPushPermission(d) } catch {
                throw BuildError.failed("no permission to push to \(d.name): \(error)")
            }
        }
    }

    /// Pushes `image` to every destination; returns the manifest digest the registries stored.
    func push(_ image: Image, mountingFrom bases: [ImageReference] = []) async throws -> Digest {
        let client = try RegistrySelection.client(plugins, name: options.registryPlugin)
        var pushedRepos: [ImageReference] = []
        var digest = image.digest
        for destination in options.destinations {
            log.info("pushing \(destination)")
            // Blobs already in another repository of the same registry (an earlier destination,
            // or the base image's own repository) are mounted instead of uploaded.
            let sameRegistry = (pushedRepos + bases).filter {
                $0.registry == destination.registry && $0.repository != destination.repository
            }
            let blobs = image.manifest.layers + [image.manifest.config]
            try await withThrowingTaskGroup(of: Void.self) { group in
                for blob in blobs {
                    let path = image.store.path(for: blob.digest)
                    group.addTask {
                        try await client.pushBlob(blob, from: path, to: destination, mountFrom: sameRegistry)
                    }
                }
                try await group.waitForAll()
            }
            do {
                let tagged =
                    destination.tag == nil && destination.digest == nil ? destination.with(tag: ImageReference.defaultTag) : destination
                digest = try await client.pushManifest(image.manifestBytes, mediaType: image.manifest.mediaType ?? .ociManifest, to: tagged)
            } catch {
                if options.pushIgnoreImmutableTagErrors, (error as? any RegistryFailure)?.isImmutableTag == true {
                    log.warning("\(destination): tag is immutable; ignored (--push-ignore-immutable-tag-errors)")
                } else {
                    throw BuildError.failed("pushing \(destination): \(error)")
                }
            }
            pushedRepos.append(destination)
            log.info("pushed \(destination.with(tag: destination.tag, digest: digest))")
        }
        return digest
    }
}
