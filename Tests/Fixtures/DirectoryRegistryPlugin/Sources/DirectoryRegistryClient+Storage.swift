// Paths, digest-verified copies, and the "every referenced blob exists" check.
import Foundation
import PluginAPI
import PluginSupport

extension DirectoryRegistryClient {
    /// `<root>/<repository>`, refusing components that would escape the root.
    func repositoryDirectory(_ reference: ImageReference) throws -> String {
        let parts = reference.repository.split(separator: "/", omittingEmptySubsequences: false)
        guard !parts.isEmpty, parts.allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." }) else {
            throw DirectoryRegistryError(message: "repository name '\(reference.repository)' is not a safe relative path")
        }
        return root + "/" + reference.repository
    }

    func blobPath(_ digest: Digest, in repository: ImageReference) throws -> String {
        "\(try repositoryDirectory(repository))/blobs/\(digest.algorithm.rawValue)/\(digest.encoded)"
    }

    /// Copies `source` to `target` in 1 MiB chunks, hashing on the way, and throws when the
    /// digest or size differs from `expected`.
    func copyVerifying(from source: String, to target: String, expected: Descriptor) throws {
        guard expected.digest.algorithm == .sha256 else {
            throw DirectoryRegistryError(message: "unsupported digest algorithm \(expected.digest.algorithm.rawValue)")
        }
        guard let input = FileHandle(forReadingAtPath: source) else {
            throw DirectoryRegistryError(message: "cannot read \(source)")
        }
        defer { try? input.close() }
        // open(2), not FileManager.createFile, which leaves a TemporaryDirectory.* in /tmp behind.
        let created = open(target, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        if created >= 0 { close(created) }
        guard created >= 0, let output = FileHandle(forWritingAtPath: target) else {
            throw DirectoryRegistryError(message: "cannot write \(target)")
        }
        defer { try? output.close() }
        var hasher = SHA256Hasher()
        var size: Int64 = 0
        while let chunk = try input.read(upToCount: 1 << 20), !chunk.isEmpty {
            chunk.withUnsafeBytes { hasher.update($0) }
            try output.write(contentsOf: chunk)
            size += Int64(chunk.count)
        }
        let digest = hasher.finalize()
        guard digest == expected.digest, size == expected.size else {
            throw DirectoryRegistryError(
                message: "blob content is \(digest) (\(size) bytes), but the descriptor says \(expected.digest) (\(expected.size) bytes)")
        }
    }

    /// A registry refuses a manifest whose blobs (or an index whose manifests) it does not have.
    func checkReferencedContent(_ bytes: [UInt8], mediaType: MediaType, in reference: ImageReference) throws {
        // Only the descriptors matter here; the manifest model itself belongs to the host.
        struct References: Decodable {
            var config: Descriptor?
            var layers: [Descriptor]?
            var manifests: [Descriptor]?
        }
        let refs = try JSONDecoder().decode(References.self, from: Data(bytes))
        if mediaType.isIndex {
            let repo = try repositoryDirectory(reference)
            for m in refs.manifests ?? [] where !FileManager.default.fileExists(atPath: "\(repo)/manifests/sha256/\(m.digest.encoded)") {
                throw DirectoryRegistryError(message: "manifest blob unknown: the index names \(m.digest), which was not pushed first")
            }
        } else {
            for d in (refs.config.map { [$0] } ?? []) + (refs.layers ?? [])
            where !FileManager.default.fileExists(atPath: try blobPath(d.digest, in: reference)) {
                throw DirectoryRegistryError(message: "blob unknown: the manifest names \(d.digest), which was not pushed first")
            }
        }
    }
}
