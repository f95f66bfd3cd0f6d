// A small image made by hand for the ImageStore tests: layers are real tars made with the
// `tar` CLI (then `gzip -n` / `zstd`), so the code under test never produced its own input.
import Foundation
import ImageModel
import ImageStore
import PluginAPI
import PluginSupport
import TestSupport

/// One layer file as the tests build it, before it enters a store.
struct SampleLayer {
    var path: String
    var mediaType: MediaType
    var digest: Digest
    var size: Int64
    var diffID: Digest

    var layer: Layer {
        Layer(descriptor: Descriptor(mediaType: mediaType, digest: digest, size: size), diffID: diffID)
    }
}

enum Sample {
    static let platform = Platform(os: "linux", architecture: "amd64")
    static let created = "2024-01-02T03:04:05Z"

    static func sha256(ofFile path: String) throws -> (Digest, Int64) {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        return (Digest.sha256(of: [UInt8](data)), Int64(data.count))
    }

    /// Writes `files` (path → content) under a new directory and tars it with GNU tar in a
    /// reproducible way, then compresses it as `compression` says.
    static func layer(
        _ files: [String: String], compression: Compression, docker: Bool = false, in dir: FixtureDirectory,
        name: String
    ) async throws -> SampleLayer {
        let root = dir.file("rootfs-\(name)")
        for (path, content) in files {
            let full = root + "/" + path
            try FileManager.default.createDirectory(
                atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try content.write(toFile: full, atomically: false, encoding: .utf8)
        }
        let tar = dir.file("\(name).tar")
        try await ProcessRunner.check(
            "tar",
            [
                "--sort=name", "--mtime=@0", "--owner=0", "--group=0", "--numeric-owner", "--format=pax",
                "--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime", "-cf", tar, "-C", root, ".",
            ])
        let (diffID, tarSize) = try sha256(ofFile: tar)
        var blob = tar
        switch compression {
        case .none: break
        case .gzip:
            try await ProcessRunner.check("gzip", ["-n", "-k", "-f", tar])
            blob = tar + ".gz"
        case .zstd:
            try await ProcessRunner.check("zstd", ["-q", "-f", tar, "-o", tar + ".zst"])
            blob = tar + ".zst"
        }
        let (digest, size) = blob == tar ? (diffID, tarSize) : try sha256(ofFile: blob)
        return SampleLayer(
            path: blob, mediaType: compression.layerMediaType(docker: docker), digest: digest, size: size,
            diffID: diffID)
    }

    /// A config with one history entry per layer plus one `empty_layer` entry (ENV).
    static func config(layerCount: Int) -> ImageConfig {
        var container = ContainerConfig()
        container.env = ["PATH=/usr/local/bin:/usr/bin:/bin"]
        container.cmd = ["/bin/sh"]
        var config = ImageConfig(platform: platform, config: container)
        config.created = created
        var history = [History(created: created, createdBy: "ENV PATH=/usr/local/bin:/usr/bin:/bin", emptyLayer: true)]
        for i in 0..<layerCount { history.append(History(created: created, createdBy: "COPY layer\(i) /")) }
        config.history = history
        return config
    }

    static let firstFiles = ["hello.txt": "hello from kiln\n", "etc/motd": "built by hand\n"]
    static let secondFiles = ["app/run.sh": "#!/bin/sh\necho run\n"]

    /// Two layers (gzip, then `second`), their blobs moved into `store`, built as `format`.
    static func image(
        format: ManifestFormat = .oci, second: Compression = .zstd, store: BlobStore, dir: FixtureDirectory
    ) async throws -> Image {
        let docker = format == .docker
        let layers = [
            try await layer(firstFiles, compression: .gzip, docker: docker, in: dir, name: "one"),
            try await layer(secondFiles, compression: second, docker: docker, in: dir, name: "two"),
        ]
        for l in layers { try await store.put(fileAt: l.path, digest: l.digest, mode: .copy) }
        return try Image.build(
            config: config(layerCount: layers.count), layers: layers.map(\.layer), format: format, in: store)
    }
}
