// Opt-in measurement (KILN_REGISTRY_BENCH=1): push a ~200 MB image through the RegistryOCI
// plugin and copy the same image with skopeo, to the same local registry, in the same run.
import Foundation
import ImageModel
import PluginAPI
import TestSupport
import Testing

extension RegistryIntegration {
    @Suite struct PushThroughputBenchmark {
        static let enabled = ProcessInfo.processInfo.environment["KILN_REGISTRY_BENCH"] == "1"

        /// Peak resident set size of this process so far, in MiB (ru_maxrss is in KiB on Linux).
        static func peakRSS() -> Double {
            var usage = rusage()
            getrusage(RUSAGE_SELF.rawValue, &usage)
            return Double(usage.ru_maxrss) / 1024
        }

        /// An OCI layout image whose layers are gzip'd tars of random files, written by tar and gzip.
        static func makeLargeImage(layers: Int, megabytes: Int, in scratch: FixtureDirectory) async throws -> PushableImage {
            let layout = try TestImageLayout(path: scratch.file("layout"))
            var descriptors: [Descriptor] = []
            var diffIDs: [String] = []
            for i in 0..<layers {
                let dir = scratch.file("big-\(i)")
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
                try await ProcessRunner.check("sh", ["-c", "head -c \(megabytes << 20) /dev/urandom > '\(dir)/data.bin'"])
                try await ProcessRunner.check("tar", ["--mtime=@0", "--owner=0", "--group=0", "-cf", dir + ".tar", "-C", dir, "."])
                diffIDs.append("sha256:" + (try await Self.sha256(dir + ".tar")))
                try await ProcessRunner.check("gzip", ["-1", "-n", dir + ".tar"])
                let digest = try Digest(sha256Hex: try await Self.sha256(dir + ".tar.gz"))
                let size = try FileManager.default.attributesOfItem(atPath: dir + ".tar.gz")[.size] as? Int64 ?? 0
                try FileManager.default.moveItem(atPath: dir + ".tar.gz", toPath: layout.blobPath(digest))
                descriptors.append(Descriptor(mediaType: .ociLayerGzip, digest: digest, size: size))
            }
            struct RootFS: Encodable {
                var type = "layers"
                var diff_ids: [String]
            }
            struct Config: Encodable {
                var architecture = "amd64"
                var os = "linux"
                var rootfs: RootFS
            }
            let config = try layout.addBlob(CanonicalJSON.encode(Config(rootfs: RootFS(diff_ids: diffIDs))), mediaType: .ociConfig)
            let manifest = try CanonicalJSON.encode(Manifest(config: config, layers: descriptors))
            var entry = try layout.addBlob(manifest, mediaType: .ociManifest)
            entry.annotations = [AnnotationKey.refName: "v1"]
            try layout.addToIndex(entry)
            var paths: [Digest: String] = [:]
            for d in descriptors + [config] { paths[d.digest] = layout.blobPath(d.digest) }
            return PushableImage(config: config, layers: descriptors, manifest: manifest, manifestDigest: entry.digest, paths: paths)
        }

        static func sha256(_ path: String) async throws -> String {
            String(try await ProcessRunner.check("sha256sum", [path]).stdout.prefix(64))
        }

        @Test(.enabled(if: enabled, "set KILN_REGISTRY_BENCH=1 to measure push throughput"))
        func push200MBAgainstSkopeo() async throws {
            let scratch = try FixtureDirectory(prefix: "kiln-bench")
            defer { scratch.remove() }
            try await withRegistry(.plain) { registry in
                // Four ~50 MB layers of random bytes (gzip cannot shrink them), made by shell tools so
                // this process's peak memory before the push stays small.
                let image = try await Self.makeLargeImage(layers: 4, megabytes: 50, in: scratch)
                let bytes = image.blobs.reduce(Int64(0)) { $0 + $1.size }
                let client = try RegistryPlugin.client(RegistryPlugin.options(for: registry))
                let rssBefore = Self.peakRSS()
                let reference = ImageReference(registry: registry.host, repository: "bench/kiln", tag: "v1")
                var start = Date()
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for blob in image.blobs {
                        let path = image.paths[blob.digest] ?? ""
                        group.addTask { try await client.pushBlob(blob, from: path, to: reference, mountFrom: []) }
                    }
                    try await group.waitForAll()
                }
                _ = try await client.pushManifest(image.manifest, mediaType: .ociManifest, to: reference)
                let kilnSeconds = Date().timeIntervalSince(start)
                let rssAfter = Self.peakRSS()

                start = Date()
                try await ProcessRunner.check(
                    "skopeo",
                    ["copy", "--dest-tls-verify=false", "oci:\(scratch.file("layout")):v1", "docker://\(registry.host)/bench/skopeo:v1"])
                let skopeoSeconds = Date().timeIntervalSince(start)
                let mb = Double(bytes) / 1_048_576
                print(
                    String(
                        format: "push %.0f MiB: kiln %.2f s (%.0f MiB/s), skopeo %.2f s (%.0f MiB/s), kiln/skopeo time %.2f; "
                            + "peak RSS %.0f MiB before push, %.0f MiB after",
                        mb, kilnSeconds, mb / kilnSeconds, skopeoSeconds, mb / skopeoSeconds, kilnSeconds / skopeoSeconds,
                        rssBefore, rssAfter))
                #expect(try await RegistryProbe.inspect(registry, "bench/kiln:v1").digest == image.manifestDigest.description)
                #expect(rssAfter - rssBefore < 100, "blobs are streamed from disk, never held whole in memory")
            }
        }
    }
}
