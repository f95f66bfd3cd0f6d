// Small OCI images written directly as an image layout (image-spec `image-layout.md`), for
// tools such as skopeo to push to a test registry.
import Foundation
import ImageModel
import PluginAPI
import PluginSupport

/// An OCI image layout directory holding one image per tag, with real gzip'd tar layers.
public struct TestImageLayout: Sendable {
    public struct Image: Sendable {
        public var manifest: [UInt8]
        public var manifestDigest: Digest
        public var config: Descriptor
        public var layers: [Descriptor]
    }

    public let path: String

    /// Creates (or reuses) a layout at `path` with `oci-layout` and an empty `index.json`.
    public init(path: String) throws {
        self.path = path
        try FileManager.default.createDirectory(atPath: path + "/blobs/sha256", withIntermediateDirectories: true)
        try Data(#"{"imageLayoutVersion":"1.0.0"}"#.utf8).write(to: URL(fileURLWithPath: path + "/oci-layout"))
        if !FileManager.default.fileExists(atPath: path + "/index.json") {
            try Data(#"{"schemaVersion":2,"manifests":[]}"#.utf8).write(to: URL(fileURLWithPath: path + "/index.json"))
        }
    }

    /// Stores bytes as a blob and returns its descriptor.
    @discardableResult
    public func addBlob(_ bytes: [UInt8], mediaType: MediaType) throws -> Descriptor {
        let d = Descriptor(mediaType: mediaType, bytes: bytes)
        try Data(bytes).write(to: URL(fileURLWithPath: blobPath(d.digest)))
        return d
    }

    public func blobPath(_ digest: Digest) -> String { "\(path)/blobs/\(digest.algorithm.rawValue)/\(digest.encoded)" }

    /// Adds an image whose layers are gzip'd tars of directories holding `files` (name →
    /// content), tagged `tag` in `index.json`.
    public func addImage(
        tag: String, layers files: [[String: [UInt8]]], platform: Platform = Platform(os: "linux", architecture: "amd64"),
        scratch: FixtureDirectory
    ) async throws -> Image {
        var layers: [Descriptor] = []
        var diffIDs: [String] = []
        for (i, layerFiles) in files.enumerated() {
            let dir = scratch.file("layer-\(tag)-\(i)")
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            for (name, content) in layerFiles {
                try Data(content).write(to: URL(fileURLWithPath: dir + "/" + name))
            }
            let tar = dir + ".tar"
            try await ProcessRunner.check("tar", ["--sort=name", "--mtime=@0", "--owner=0", "--group=0", "-cf", tar, "-C", dir, "."])
            let tarBytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: tar)))
            diffIDs.append(Digest.sha256(of: tarBytes).description)
            try await ProcessRunner.check("gzip", ["-n", "-f", tar])
            let gz = try [UInt8](Data(contentsOf: URL(fileURLWithPath: tar + ".gz")))
            layers.append(try addBlob(gz, mediaType: .ociLayerGzip))
        }
        let config: [String: Any] = [
            "architecture": platform.architecture, "os": platform.os,
            "config": ["Env": ["PATH=/usr/bin:/bin"]],
            "rootfs": ["type": "layers", "diff_ids": diffIDs],
        ]
        let configBytes = try [UInt8](JSONSerialization.data(withJSONObject: config, options: [.sortedKeys, .withoutEscapingSlashes]))
        let configDescriptor = try addBlob(configBytes, mediaType: .ociConfig)
        let manifest = Manifest(config: configDescriptor, layers: layers)
        let manifestBytes = try CanonicalJSON.encode(manifest)
        var manifestDescriptor = try addBlob(manifestBytes, mediaType: .ociManifest)
        manifestDescriptor.annotations = [AnnotationKey.refName: tag]
        manifestDescriptor.platform = platform
        try addToIndex(manifestDescriptor)
        return Image(manifest: manifestBytes, manifestDigest: manifestDescriptor.digest, config: configDescriptor, layers: layers)
    }

    /// `count` random bytes: file content that gzip cannot shrink, for layers of a known size.
    public static func randomBytes(_ count: Int) -> [UInt8] {
        var g = SystemRandomNumberGenerator()
        var out = [UInt8](repeating: 0, count: count)
        out.withUnsafeMutableBytes { raw in
            var i = 0
            while i < raw.count {
                var word = g.next()
                let n = Swift.min(8, raw.count - i)
                withUnsafeBytes(of: &word) { raw.baseAddress?.advanced(by: i).copyMemory(from: $0.baseAddress!, byteCount: n) }
                i += n
            }
        }
        return out
    }

    /// Appends a descriptor to `index.json`.
    public func addToIndex(_ descriptor: Descriptor) throws {
        let url = URL(fileURLWithPath: path + "/index.json")
        var index = try JSONDecoder().decode(ImageIndex.self, from: Data(contentsOf: url))
        index.manifests.append(descriptor)
        try Data(CanonicalJSON.encode(index)).write(to: url)
    }
}
