// A RegistryClient over a directory:
//   <root>/<repository>/blobs/sha256/<hex>            blob bytes
//   <root>/<repository>/manifests/sha256/<hex>         manifest bytes
//   <root>/<repository>/manifests/sha256/<hex>.type    its media type
//   <root>/<repository>/tags/<tag>                     "sha256:<hex>"
import Foundation
import PluginAPI
import PluginSupport

struct DirectoryRegistryClient: RegistryClient {
    let name = "directory"
    let root: String
    let log: @Sendable (LogLevel, String) -> Void

    func fetchManifest(_ reference: ImageReference, accept: [MediaType]) async throws -> FetchedManifest {
        let repo = try repositoryDirectory(reference)
        let digest: Digest
        if let d = reference.digest {
            digest = d
        } else {
            let tag = reference.tag ?? ImageReference.defaultTag
            guard let text = try? String(contentsOfFile: "\(repo)/tags/\(tag)", encoding: .utf8) else {
                throw DirectoryRegistryError(message: "manifest unknown: \(reference) has no tag '\(tag)' in \(root)")
            }
            digest = try Digest(parsing: text.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        let path = "\(repo)/manifests/sha256/\(digest.encoded)"
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DirectoryRegistryError(message: "manifest unknown: \(reference) (\(digest)) is not in \(root)")
        }
        let bytes = [UInt8](data)
        guard Digest.sha256(of: bytes) == digest else {
            throw DirectoryRegistryError(
                message: "stored manifest \(path) does not match its digest \(digest): the registry directory is corrupt")
        }
        let type = MediaType(rawValue: (try? String(contentsOfFile: path + ".type", encoding: .utf8)) ?? MediaType.ociManifest.rawValue)
        guard accept.isEmpty || accept.contains(type) else {
            throw DirectoryRegistryError(
                message: "manifest \(digest) is \(type), which the caller does not accept (\(accept.map(\.rawValue)))")
        }
        return FetchedManifest(bytes: bytes, mediaType: type, digest: digest)
    }

    func fetchBlob(_ descriptor: Descriptor, from repository: ImageReference, to path: String) async throws {
        let source = try blobPath(descriptor.digest, in: repository)
        guard FileManager.default.fileExists(atPath: source) else {
            throw DirectoryRegistryError(message: "blob unknown: \(descriptor.digest) is not in \(repository.repository)")
        }
        do {
            try copyVerifying(from: source, to: path, expected: descriptor)
        } catch {
            try? FileManager.default.removeItem(atPath: path)
            throw error
        }
    }

    func blobExists(_ digest: Digest, in repository: ImageReference) async throws -> Bool {
        FileManager.default.fileExists(atPath: try blobPath(digest, in: repository))
    }

    func mountBlob(_ digest: Digest, from source: ImageReference, to repository: ImageReference) async throws -> Bool {
        let target = try blobPath(digest, in: repository)
        if FileManager.default.fileExists(atPath: target) { return true }
        let origin = try blobPath(digest, in: source)
        guard FileManager.default.fileExists(atPath: origin) else { return false }
        try FileManager.default.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        return (try? FileManager.default.linkItem(atPath: origin, toPath: target)) != nil
    }

    func pushBlob(_ descriptor: Descriptor, from path: String, to repository: ImageReference, mountFrom: [ImageReference]) async throws {
        let target = try blobPath(descriptor.digest, in: repository)
        if FileManager.default.fileExists(atPath: target) { return }
        try FileManager.default.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        for other in mountFrom {
            let source = try blobPath(descriptor.digest, in: other)
            if FileManager.default.fileExists(atPath: source), (try? FileManager.default.linkItem(atPath: source, toPath: target)) != nil {
                log(.debug, "mounted \(descriptor.digest) from \(other.repository)")
                return
            }
        }
        // Write beside the target and rename, so a failed push never leaves a wrong blob.
        let temporary = target + ".partial-\(UUID().uuidString)"
        do {
            try copyVerifying(from: path, to: temporary, expected: descriptor)
            try FileManager.default.moveItem(atPath: temporary, toPath: target)
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            throw error
        }
    }

    func pushManifest(_ bytes: [UInt8], mediaType: MediaType, to reference: ImageReference) async throws -> Digest {
        let digest = Digest.sha256(of: bytes)
        if let expected = reference.digest, expected != digest {
            throw DirectoryRegistryError(message: "manifest digest is \(digest), but the reference names \(expected)")
        }
        try checkReferencedContent(bytes, mediaType: mediaType, in: reference)
        let repo = try repositoryDirectory(reference)
        try FileManager.default.createDirectory(atPath: "\(repo)/manifests/sha256", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: "\(repo)/tags", withIntermediateDirectories: true)
        let path = "\(repo)/manifests/sha256/\(digest.encoded)"
        try writeReplacing(Data(bytes), to: path)
        try writeReplacing(Data(mediaType.rawValue.utf8), to: path + ".type")
        if let tag = reference.tag {
            try writeReplacing(Data(digest.description.utf8), to: "\(repo)/tags/\(tag)")
        }
        return digest
    }

    func checkPushPermission(_ repository: ImageReference) async throws {
        let repo = try repositoryDirectory(repository)
        try FileManager.default.createDirectory(atPath: repo, withIntermediateDirectories: true)
        guard FileManager.default.isWritableFile(atPath: repo) else {
            throw DirectoryRegistryError(message: "cannot push to \(repository.repository): \(repo) is not writable")
        }
    }
}

/// Writes through a temporary file and a rename, so readers never see half a file. (Foundation's
/// `.atomic` option leaves a `TemporaryDirectory.*` in /tmp behind on every call.)
func writeReplacing(_ data: Data, to path: String) throws {
    let temporary = path + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    try data.write(to: URL(fileURLWithPath: temporary))
    guard rename(temporary, path) == 0 else {
        unlink(temporary)
        throw DirectoryRegistryError(message: "cannot rename \(temporary) to \(path): errno \(errno)")
    }
}
