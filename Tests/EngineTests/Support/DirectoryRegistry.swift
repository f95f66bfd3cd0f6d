// An in-process registry: a real `RegistryClient` that keeps blobs, manifests and tags in a
// directory, so the engine can pull bases and push results without a network. Like the
// out-of-tree plugin in Tests/Fixtures/DirectoryRegistryPlugin, it verifies digests and refuses a
// manifest whose blobs were not pushed first.
//
//   <root>/<registry>/<repository>/blobs/<hex>       blob bytes
//   <root>/<registry>/<repository>/manifests/<hex>   manifest bytes (+ .type: media type)
//   <root>/<registry>/<repository>/tags/<tag>        "sha256:<hex>"
import Foundation
import ImageModel
import PluginAPI
import PluginSupport

struct DirectoryRegistry: RegistryClient {
    let name = "directory"
    let root: String

    struct Failure: RegistryFailure {
        var message: String
        var statusCode: Int?
        var isTemporary: Bool { false }
        var description: String { message }
    }

    init(root: String) throws {
        self.root = root
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    }

    func repository(_ reference: ImageReference) throws -> String {
        let path = reference.registry + "/" + reference.repository
        guard !path.split(separator: "/").contains(where: { $0 == ".." || $0 == "." }) else {
            throw Failure(message: "unsafe repository \(path)", statusCode: 400)
        }
        return root + "/" + path
    }

    func fetchManifest(_ reference: ImageReference, accept: [MediaType]) async throws -> FetchedManifest {
        let repo = try repository(reference)
        var digest = reference.digest
        if digest == nil {
            let tag = reference.tag ?? ImageReference.defaultTag
            guard let text = try? String(contentsOfFile: "\(repo)/tags/\(tag)", encoding: .utf8) else {
                throw Failure(message: "manifest unknown: \(reference)", statusCode: 404)
            }
            digest = try Digest(parsing: text)
        }
        guard let digest, let data = FileManager.default.contents(atPath: "\(repo)/manifests/\(digest.encoded)") else {
            throw Failure(message: "manifest unknown: \(reference)", statusCode: 404)
        }
        let bytes = [UInt8](data)
        guard Digest.sha256(of: bytes) == digest else { throw Failure(message: "stored manifest \(digest) is corrupt", statusCode: nil) }
        let type = (try? String(contentsOfFile: "\(repo)/manifests/\(digest.encoded).type", encoding: .utf8)).map(MediaType.init(rawValue:))
        return FetchedManifest(bytes: bytes, mediaType: type ?? .ociManifest, digest: digest)
    }

    func fetchBlob(_ descriptor: Descriptor, from repository: ImageReference, to path: String) async throws {
        let source = try self.repository(repository) + "/blobs/\(descriptor.digest.encoded)"
        guard let data = FileManager.default.contents(atPath: source) else {
            throw Failure(message: "blob unknown: \(descriptor.digest)", statusCode: 404)
        }
        guard Digest.sha256(of: [UInt8](data)) == descriptor.digest, Int64(data.count) == descriptor.size else {
            throw Failure(message: "blob \(descriptor.digest) does not match its descriptor", statusCode: nil)
        }
        try data.write(to: URL(fileURLWithPath: path))
    }

    func blobExists(_ digest: Digest, in repository: ImageReference) async throws -> Bool {
        FileManager.default.fileExists(atPath: try self.repository(repository) + "/blobs/\(digest.encoded)")
    }

    func mountBlob(_ digest: Digest, from source: ImageReference, to repository: ImageReference) async throws -> Bool {
        let origin = "\(try self.repository(source))/blobs/\(digest.encoded)"
        let target = "\(try self.repository(repository))/blobs/\(digest.encoded)"
        guard source.registry == repository.registry, FileManager.default.fileExists(atPath: origin) else { return false }
        try FileManager.default.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        return FileManager.default.fileExists(atPath: target) || (try? FileManager.default.linkItem(atPath: origin, toPath: target)) != nil
    }

    func pushBlob(_ descriptor: Descriptor, from path: String, to repository: ImageReference, mountFrom: [ImageReference]) async throws {
        guard let data = FileManager.default.contents(atPath: path) else { throw Failure(message: "cannot read \(path)", statusCode: nil) }
        try putBlob([UInt8](data), expected: descriptor.digest, in: repository)
    }

    func pushManifest(_ bytes: [UInt8], mediaType: MediaType, to reference: ImageReference) async throws -> Digest {
        let repo = try repository(reference)
        let digest = Digest.sha256(of: bytes)
        let manifest = try JSONDecoder().decode(Manifest.self, from: Data(bytes))
        for blob in [manifest.config] + manifest.layers
        where !FileManager.default.fileExists(atPath: "\(repo)/blobs/\(blob.digest.encoded)") {
            throw Failure(message: "blob unknown: the manifest names \(blob.digest), which was not pushed", statusCode: 400)
        }
        try FileManager.default.createDirectory(atPath: repo + "/manifests", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: repo + "/tags", withIntermediateDirectories: true)
        try Data(bytes).write(to: URL(fileURLWithPath: "\(repo)/manifests/\(digest.encoded)"))
        try Data(mediaType.rawValue.utf8).write(to: URL(fileURLWithPath: "\(repo)/manifests/\(digest.encoded).type"))
        if let tag = reference.tag { try Data(digest.description.utf8).write(to: URL(fileURLWithPath: "\(repo)/tags/\(tag)")) }
        return digest
    }

    func checkPushPermission(_ repository: ImageReference) async throws {
        try FileManager.default.createDirectory(atPath: try self.repository(repository), withIntermediateDirectories: true)
    }

    func putBlob(_ bytes: [UInt8], expected: Digest, in repository: ImageReference) throws {
        guard Digest.sha256(of: bytes) == expected else {
            throw Failure(message: "blob content does not match \(expected)", statusCode: 400)
        }
        let dir = try self.repository(repository) + "/blobs"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try Data(bytes).write(to: URL(fileURLWithPath: "\(dir)/\(expected.encoded)"))
    }

    /// Copies the image tagged `tag` in the OCI layout at `layout` into this registry as
    /// `reference` (blobs, manifest, tag), as `skopeo copy` would.
    func importImage(layout: String, tag: String, as reference: ImageReference) async throws {
        let index = try JSONDecoder().decode(ImageIndex.self, from: Data(contentsOf: URL(fileURLWithPath: layout + "/index.json")))
        guard let entry = index.manifests.first(where: { $0.annotations?[AnnotationKey.refName] == tag }) else {
            throw Failure(message: "\(layout) has no image tagged \(tag)", statusCode: 404)
        }
        let read = { (d: Digest) throws -> [UInt8] in
            [UInt8](try Data(contentsOf: URL(fileURLWithPath: "\(layout)/blobs/\(d.algorithm.rawValue)/\(d.encoded)")))
        }
        let manifestBytes = try read(entry.digest)
        let manifest = try JSONDecoder().decode(Manifest.self, from: Data(manifestBytes))
        for blob in [manifest.config] + manifest.layers { try putBlob(try read(blob.digest), expected: blob.digest, in: reference) }
        _ = try await pushManifest(manifestBytes, mediaType: entry.mediaType, to: reference)
    }
}
