// Brings a source image (its blobs, then its manifest, by digest) into the target repository,
// so the index pushed there names only manifests that repository holds. Blobs are mounted
// across repositories of one registry when it allows, and copied otherwise.
import FoundationEssentials
import Glibc
import ImageModel
import PluginAPI

/// Copies manifests and their blobs into one target repository through a `RegistryClient`.
struct RepositoryCopier: Sendable {
    let client: any RegistryClient
    /// Where blobs are downloaded before an upload (a directory the caller owns).
    let workDirectory: String
    let log: @Sendable (LogLevel, String) -> Void
    /// Blob copies in flight at once.
    var parallelBlobs = 4

    /// Copies the image manifest `manifest` (read from `source`) and its blobs into `target`'s
    /// repository, pushed by digest. Nothing happens when source and target are one repository.
    func copyImage(_ manifest: FetchedManifest, from source: ImageReference, to target: ImageReference) async throws {
        guard !Self.sameRepository(source, target) else { return }
        let image: Manifest
        do { image = try CanonicalJSON.decode(Manifest.self, from: manifest.bytes) } catch {
            throw ManifestToolError.unsupportedSource(source, "manifest \(manifest.digest) is not a valid image manifest: \(error)")
        }
        // Foreign and non-distributable layers stay where their `urls` point (image-spec
        // `descriptor.md`): registries refuse them, and clients fetch them from those URLs.
        let blobs = ([image.config] + image.layers).filter {
            ($0.urls ?? []).isEmpty && !$0.mediaType.rawValue.contains("nondistributable")
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            var running = 0
            for blob in blobs {
                if running == parallelBlobs {
                    try await group.next()
                    running -= 1
                }
                group.addTask { try await copyBlob(blob, from: source, to: target) }
                running += 1
            }
            try await group.waitForAll()
        }
        _ = try await client.pushManifest(manifest.bytes, mediaType: manifest.mediaType, to: target.with(digest: manifest.digest))
        log(.info, "copied \(source.with(digest: manifest.digest)) into \(target.name)")
    }

    /// Makes `target`'s repository hold `blob`: nothing when it does, a cross-repository mount
    /// when the registry allows one, else a download from `source` and an upload.
    func copyBlob(_ blob: Descriptor, from source: ImageReference, to target: ImageReference) async throws {
        if try await client.blobExists(blob.digest, in: target) { return }
        if source.registry == target.registry {
            if try await client.mountBlob(blob.digest, from: source, to: target) { return }
            log(.debug, "no mount of \(blob.digest) from \(source.name) into \(target.name); copying it")
        }
        let path = workDirectory + "/\(blob.digest.encoded)"
        defer { unlink(path) }
        try await client.fetchBlob(blob, from: source, to: path)
        try await client.pushBlob(blob, from: path, to: target, mountFrom: [])
    }

    static func sameRepository(_ a: ImageReference, _ b: ImageReference) -> Bool {
        a.registry == b.registry && a.repository == b.repository
    }
}

extension RepositoryCopier {
    /// Configs larger than this are refused (they are a few kilobytes; this guards memory).
    static let configLimit: Int64 = 8 << 20

    /// The platform an image config states (`os`, `architecture`, `variant`, `os.version`,
    /// `os.features`), normalised as containerd does.
    func readConfig(_ descriptor: Descriptor, from source: ImageReference) async throws -> Platform {
        guard descriptor.size <= Self.configLimit else {
            throw ManifestToolError.unsupportedSource(source, "its config is \(descriptor.size) bytes, more than an image config can be")
        }
        let path = workDirectory + "/config-\(descriptor.digest.encoded)"
        defer { unlink(path) }
        try await client.fetchBlob(descriptor, from: source, to: path)
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        struct Fields: Decodable {
            var os: String?
            var architecture: String?
            var variant: String?
            var osVersion: String?
            var osFeatures: [String]?
            enum CodingKeys: String, CodingKey {
                case os, architecture, variant
                case osVersion = "os.version"
                case osFeatures = "os.features"
            }
        }
        guard let fields = try? CanonicalJSON.decode(Fields.self, from: bytes), let os = fields.os, let arch = fields.architecture,
            !os.isEmpty, !arch.isEmpty
        else {
            throw ManifestToolError.unsupportedSource(source, "its config \(descriptor.digest) names no os and architecture")
        }
        var platform = Platform(os: os, architecture: arch, variant: fields.variant.flatMap { $0.isEmpty ? nil : $0 }).normalized
        platform.osVersion = fields.osVersion
        platform.osFeatures = fields.osFeatures
        return platform
    }
}
