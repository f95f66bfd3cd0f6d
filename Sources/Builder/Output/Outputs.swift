import Foundation
import ImageStore
import PluginAPI

/// Writes the built image where the options say: OCI layout, docker-archive tarball, digest
/// files, and (through `ImagePusher`) registries.
struct Outputs {
    let options: BuildOptions
    let log: BuildLog

    /// The OCI layout directory: `--oci-layout-path`, or `./kiln-out` when nothing else is asked
    /// for (so a build needs nothing external).
    var layoutPath: String? {
        if let p = options.ociLayoutPath { return p }
        if options.destinations.isEmpty && options.tarPath == nil { return "kiln-out" }
        return nil
    }

    func writeLocal(_ image: Image) async throws {
        if let path = layoutPath {
            let ref = options.destinations.first?.tag ?? "latest"
            do { _ = try await OCILayoutWriter(path: path).write(image, refName: ref) } catch {
                throw BuildError.failed("writing the OCI layout \(path): \(error)")
            }
            log.info("wrote OCI layout \(path) (ref \(ref))")
        }
        if let tar = options.tarPath {
            var tags = options.destinations
            if tags.isEmpty, let placeholder = try? ImageReference(parsing: "unset-repo/unset-image-name:latest") { tags = [placeholder] }
            do { try await DockerArchiveWriter(path: tar).write(image, tags: tags) } catch {
                throw BuildError.failed("writing the tarball \(tar): \(error)")
            }
            log.info("wrote docker-archive \(tar)")
        }
    }

    func writeDigestFiles(_ digest: Digest) throws {
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
            guard rename(temporary, path) == 0 else { throw Syscall.Error(call: "rename", path: path, errno: errno) }
        } catch {
            unlink(temporary)
            throw BuildError.failed("cannot write \(path): \(error)")
        }
    }
}
