// Pushing through the RegistryOCI plugin to a plain-HTTP registry; skopeo reads the result.
import Foundation
import ImageModel
import PluginAPI
import PluginSupport
import TestSupport
import Testing

extension RegistryIntegration {
    @Suite struct PushTests {
        @Test func skopeoReadsWhatKilnPushed() async throws {
            let scratch = try FixtureDirectory(prefix: "kiln-push")
            defer { scratch.remove() }
            try await withRegistry(.plain) { registry in
                let image = try await PushableImage.make(layerSizes: [200_000, 3_000_000], in: scratch)
                let client = try RegistryPlugin.client(RegistryPlugin.options(for: registry))
                let reference = ImageReference(registry: registry.host, repository: "kiln/push", tag: "v1")
                let digest = try await image.push(with: client, to: reference)
                #expect(digest == image.manifestDigest)

                // Byte-exact manifest, same digests for skopeo.
                #expect(try await RegistryProbe.rawManifest(registry, "kiln/push:v1") == image.manifest)
                let seen = try await RegistryProbe.inspect(registry, "kiln/push:v1")
                #expect(seen.digest == image.manifestDigest.description)
                #expect(seen.layers == image.layers.map(\.digest.description))

                // skopeo copy to an OCI layout keeps every digest, and the blobs hash to them.
                let out = scratch.file("copied")
                try await ProcessRunner.check(
                    "skopeo",
                    [
                        "copy", "--src-tls-verify=false",
                        "docker://\(registry.host)/kiln/push:v1", "oci:\(out):v1",
                    ])
                let index = try JSONDecoder().decode(ImageIndex.self, from: Data(contentsOf: URL(fileURLWithPath: out + "/index.json")))
                #expect(index.manifests.map(\.digest) == [image.manifestDigest])
                for blob in image.blobs + [Descriptor(mediaType: .ociManifest, bytes: image.manifest)] {
                    let path = "\(out)/blobs/sha256/\(blob.digest.encoded)"
                    let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
                    #expect(Digest.sha256(of: bytes) == blob.digest)
                    #expect(Int64(bytes.count) == blob.size)
                }
                for blob in image.blobs {
                    #expect(try await client.blobExists(blob.digest, in: reference))
                }
                #expect(try await client.blobExists(Digest.sha256(of: "not pushed"), in: reference) == false)
            }
        }

        @Test func pushingTheSameImageTwiceUploadsNoBlob() async throws {
            let scratch = try FixtureDirectory(prefix: "kiln-push")
            defer { scratch.remove() }
            try await withRegistry(.plain) { registry in
                let image = try await PushableImage.make(layerSizes: [100_000, 400_000], in: scratch)
                let reference = ImageReference(registry: registry.host, repository: "kiln/twice", tag: "v1")
                try await image.push(with: try RegistryPlugin.client(RegistryPlugin.options(for: registry)), to: reference)
                let first = await registry.settledAccessLog()
                let firstUploads = first.filter(\.isBlobUpload)
                #expect(firstUploads.contains { $0.method == "PUT" && $0.status == 201 }, "\(first)")

                // A fresh client, as a second `kiln` run would have: nothing cached in memory.
                let again = try RegistryPlugin.client(RegistryPlugin.options(for: registry))
                let digest = try await image.push(with: again, to: reference.with(tag: "v2"))
                #expect(digest == image.manifestDigest)
                let second = Array(await registry.settledAccessLog().dropFirst(first.count))
                #expect(second.filter(\.isBlobUpload).isEmpty, "second push uploaded blobs: \(second)")
                #expect(second.contains { $0.method == "PUT" && $0.path.hasSuffix("/manifests/v2") && $0.status == 201 }, "\(second)")
                #expect(try await RegistryProbe.inspect(registry, "kiln/twice:v2").digest == image.manifestDigest.description)
            }
        }

        @Test func secondRepositoryMountsBlobsFromTheFirst() async throws {
            let scratch = try FixtureDirectory(prefix: "kiln-push")
            defer { scratch.remove() }
            try await withRegistry(.plain) { registry in
                let image = try await PushableImage.make(layerSizes: [150_000, 150_000], in: scratch)
                let client = try RegistryPlugin.client(RegistryPlugin.options(for: registry))
                let source = ImageReference(registry: registry.host, repository: "kiln/source", tag: "v1")
                let target = ImageReference(registry: registry.host, repository: "kiln/target", tag: "v1")
                try await image.push(with: client, to: source)
                let before = await registry.settledAccessLog().count

                let fresh = try RegistryPlugin.client(RegistryPlugin.options(for: registry))
                try await image.push(with: fresh, to: target, mountFrom: [source])
                let log = Array(await registry.settledAccessLog().dropFirst(before))
                let mounts = log.filter {
                    $0.method == "POST" && $0.path.contains("mount=")
                        && ($0.path.contains("from=kiln%2Fsource") || $0.path.contains("from=kiln/source"))
                }
                #expect(mounts.count == image.blobs.count, "one mount per blob: \(log)")
                #expect(mounts.allSatisfy { $0.status == 201 }, "\(mounts)")
                #expect(
                    !log.contains { $0.method == "PATCH" || ($0.method == "PUT" && $0.path.contains("/blobs/uploads/")) },
                    "mounted blobs must not be uploaded: \(log)")
                #expect(try await RegistryProbe.inspect(registry, "kiln/target:v1").digest == image.manifestDigest.description)
                for blob in image.blobs {
                    #expect(
                        try await RegistryProbe.blobDigest(registry, repository: "kiln/target", blob.digest, in: scratch) == blob.digest)
                }
            }
        }

        @Test func concurrentBlobTransfersShareTheClient() async throws {
            let scratch = try FixtureDirectory(prefix: "kiln-push")
            defer { scratch.remove() }
            try await withRegistry(.plain) { registry in
                // More blobs than transfer lanes (4), pushed and fetched all at once, as the builder does.
                let image = try await PushableImage.make(layerSizes: [300_000, 50_000, 700_000, 20_000, 400_000, 90_000], in: scratch)
                let client = try RegistryPlugin.client(RegistryPlugin.options(for: registry))
                let reference = ImageReference(registry: registry.host, repository: "kiln/parallel", tag: "v1")
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for blob in image.blobs {
                        let path = image.paths[blob.digest] ?? ""
                        group.addTask { try await client.pushBlob(blob, from: path, to: reference, mountFrom: []) }
                    }
                    try await group.waitForAll()
                }
                #expect(try await client.pushManifest(image.manifest, mediaType: .ociManifest, to: reference) == image.manifestDigest)
                let fetched = try await withThrowingTaskGroup(of: (Digest, Digest).self) { group in
                    for blob in image.blobs {
                        let path = scratch.file("fetched-\(blob.digest.encoded)")
                        group.addTask {
                            try await client.fetchBlob(blob, from: reference, to: path)
                            return (blob.digest, Digest.sha256(of: try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))))
                        }
                    }
                    return try await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
                }
                #expect(fetched.count == image.blobs.count && fetched.allSatisfy { $0.key == $0.value })
                #expect(try await RegistryProbe.inspect(registry, "kiln/parallel:v1").layers == image.layers.map(\.digest.description))
            }
        }

        @Test(arguments: [
            ("streamed PATCH", ["registry.monolithic-limit": "65536"]),
            ("chunked PATCH", ["registry.monolithic-limit": "65536", "registry.chunk-size": "1048576"]),
        ])
        func largeBlobsUploadInPatches(_ name: String, tuning: [String: String]) async throws {
            let scratch = try FixtureDirectory(prefix: "kiln-push")
            defer { scratch.remove() }
            try await withRegistry(.plain) { registry in
                let image = try await PushableImage.make(layerSizes: [3_500_000], in: scratch)
                let client = try RegistryPlugin.client(
                    RegistryPlugin.options(for: registry),
                    pluginOptions: RegistryPlugin.fastRetries.merging(tuning) { $1 })
                let reference = ImageReference(registry: registry.host, repository: "kiln/large", tag: "v1")
                try await image.push(with: client, to: reference)
                let log = await registry.settledAccessLog()
                let patches = log.filter { $0.method == "PATCH" && $0.status == 202 }.count
                #expect(patches >= (tuning["registry.chunk-size"] == nil ? 1 : 3), "\(name): \(log)")
                for blob in image.blobs {
                    #expect(try await RegistryProbe.blobDigest(registry, repository: "kiln/large", blob.digest, in: scratch) == blob.digest)
                }
                #expect(try await RegistryProbe.inspect(registry, "kiln/large:v1").digest == image.manifestDigest.description)
            }
        }
    }
}
