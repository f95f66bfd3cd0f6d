import Diagnostics
import FoundationEssentials
import Glibc
import ImageStore
import PluginAPI

/// Writes a built image where the options say: OCI layout, docker-archive tarball, registries
/// (through `ImagePusher`) and digest files.
public struct ImageOutputs: Sendable {
    /// Where the image goes.
    public let options: OutputOptions
    /// Progress lines (`wrote OCI layout …`).
    public let log: @Sendable (LogLevel, String) -> Void

    public init(options: OutputOptions, log: @escaping @Sendable (LogLevel, String) -> Void) {
        self.options = options
        self.log = log
    }

    /// Everything in order: local files, pushes, then the digest files (which name the pushed
    /// digest). Returns the manifest digest (as pushed, when pushed). `early` holds the uploads
    /// started during the build; `hooks` go to the push.
    /// - Throws: `KilnError` with the writer's or registry's error as its cause.
    public func deliver(
        _ image: Image, registry: () throws -> any RegistryClient, mountingFrom bases: [MountSource], early: EarlyUploads? = nil,
        hooks: PushHooks = PushHooks()
    ) async throws -> Digest {
        try await writeLocal(image)
        var digest = image.digest
        if options.pushes {
            digest = try await ImagePusher(options: options, client: try registry(), log: log).push(
                image, mountingFrom: bases, early: early, hooks: hooks)
        }
        try writeDigestFiles(digest)
        return digest
    }

    /// The OCI layout and the tarball.
    public func writeLocal(_ image: Image) async throws {
        if let path = options.ociLayoutPath {
            let ref = options.destinations.first?.tag ?? "latest"
            do { _ = try await OCILayoutWriter(path: path).write(image, refName: ref) } catch {
                throw KilnError.wrapping(error, "writing the OCI layout \(path)")
            }
            log(.info, "wrote OCI layout \(path) (ref \(ref))")
        }
        if let tar = options.tarPath {
            var tags = options.destinations
            if tags.isEmpty, let placeholder = try? ImageReference(parsing: "unset-repo/unset-image-name:latest") { tags = [placeholder] }
            do { try await DockerArchiveWriter(path: tar).write(image, tags: tags) } catch {
                throw KilnError.wrapping(error, "writing the tarball \(tar)")
            }
            log(.info, "wrote docker-archive \(tar)")
        }
    }

    /// `--digest-file` and the image-name digest files.
    public func writeDigestFiles(_ digest: Digest) throws {
        if let f = options.digestFile { try write(digest.description, to: f) }
        if let f = options.imageNameWithDigestFile {
            try write(options.destinations.map { "\($0.name)@\(digest)\n" }.joined(), to: f)
        }
        if let f = options.imageNameTagWithDigestFile {
            try write(options.destinations.map { "\($0.name):\($0.tag ?? "latest")@\(digest)\n" }.joined(), to: f)
        }
    }

    private func write(_ text: String, to path: String) throws {
        // A temporary file beside the target, then rename: Foundation's `atomically:` leaves a
        // `TemporaryDirectory.*` behind in /tmp on every call (swift-foundation 6.3).
        let temporary = path + ".kiln-tmp-\(getpid())"
        do {
            try Data(text.utf8).write(to: URL(fileURLWithPath: temporary))
            guard rename(temporary, path) == 0 else {
                let code = errno
                throw KilnError(KilnError.code(errno: code), "rename \(temporary): \(String(cString: strerror(code)))")
            }
        } catch {
            unlink(temporary)
            throw KilnError.wrapping(error, "cannot write \(path)")
        }
    }
}
