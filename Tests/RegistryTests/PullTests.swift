// Pulling through the RegistryOCI plugin what skopeo pushed from an OCI layout.
import Foundation
import ImageModel
import PluginAPI
import PluginSupport
import TestSupport
import Testing

extension RegistryIntegration {
    @Suite struct PullTests {
        /// Pushes the layout's `tag` to `registry/repository:tag` with skopeo (`--all` for an index).
        static func skopeoCopy(
            _ layout: TestImageLayout, tag: String, to registry: RegistryFixture, repository: String,
            all: Bool = false
        ) async throws {
            try await ProcessRunner.check(
                "skopeo",
                ["copy"] + (all ? ["--all"] : []) + RegistryProbe.skopeoFlags(registry, prefix: "dest-")
                    + ["oci:\(layout.path):\(tag)", "docker://\(registry.host)/\(repository):\(tag)"])
        }

        @Test func pullsWhatSkopeoPushedWithTheSameDigests() async throws {
            let scratch = try FixtureDirectory(prefix: "kiln-pull")
            defer { scratch.remove() }
            try await withRegistry(.plain) { registry in
                let layout = try TestImageLayout(path: scratch.file("layout"))
                let image = try await layout.addImage(
                    tag: "v1",
                    layers: [
                        ["a": TestImageLayout.randomBytes(50_000)],
                        ["b": TestImageLayout.randomBytes(1_500_000)],
                    ], scratch: scratch)
                try await Self.skopeoCopy(layout, tag: "v1", to: registry, repository: "skopeo/image")
                let client = try RegistryPlugin.client(RegistryPlugin.options(for: registry))
                let reference = ImageReference(registry: registry.host, repository: "skopeo/image", tag: "v1")

                let byTag = try await client.fetchManifest(reference, accept: MediaType.manifestAccept)
                #expect(byTag.digest == image.manifestDigest)
                #expect(byTag.bytes == image.manifest)
                #expect(byTag.mediaType == .ociManifest)
                let byDigest = try await client.fetchManifest(
                    reference.with(digest: image.manifestDigest), accept: MediaType.manifestAccept)
                #expect(byDigest == byTag)

                for blob in image.layers + [image.config] {
                    let path = scratch.file("pulled-\(blob.digest.encoded)")
                    try await client.fetchBlob(blob, from: reference, to: path)
                    let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
                    #expect(Digest.sha256(of: bytes) == blob.digest)
                    #expect(bytes == (try [UInt8](Data(contentsOf: URL(fileURLWithPath: layout.blobPath(blob.digest))))))
                }
            }
        }

        @Test func pullsAnIndexAndPicksAPlatformManifest() async throws {
            let scratch = try FixtureDirectory(prefix: "kiln-pull")
            defer { scratch.remove() }
            try await withRegistry(.plain) { registry in
                // Two single-platform images in one layout, then an index naming both.
                let layout = try TestImageLayout(path: scratch.file("layout"))
                let amd = try await layout.addImage(tag: "amd64", layers: [["arch": Array("amd64".utf8)]], scratch: scratch)
                let arm = try await layout.addImage(
                    tag: "arm64", layers: [["arch": Array("arm64".utf8)]],
                    platform: Platform(os: "linux", architecture: "arm64", variant: "v8"), scratch: scratch)
                let index = ImageIndex(manifests: [
                    Descriptor(
                        mediaType: .ociManifest, digest: amd.manifestDigest, size: Int64(amd.manifest.count),
                        platform: Platform(os: "linux", architecture: "amd64")),
                    Descriptor(
                        mediaType: .ociManifest, digest: arm.manifestDigest, size: Int64(arm.manifest.count),
                        platform: Platform(os: "linux", architecture: "arm64", variant: "v8")),
                ])
                let indexBytes = try CanonicalJSON.encode(index)
                var indexDescriptor = try layout.addBlob(indexBytes, mediaType: .ociIndex)
                indexDescriptor.annotations = [AnnotationKey.refName: "multi"]
                try layout.addToIndex(indexDescriptor)
                try await Self.skopeoCopy(layout, tag: "multi", to: registry, repository: "skopeo/multi", all: true)

                let client = try RegistryPlugin.client(RegistryPlugin.options(for: registry))
                let reference = ImageReference(registry: registry.host, repository: "skopeo/multi", tag: "multi")
                let fetched = try await client.fetchManifest(reference, accept: MediaType.manifestAccept)
                #expect(fetched.mediaType == .ociIndex)
                #expect(fetched.digest == indexDescriptor.digest)
                let decoded = try CanonicalJSON.decode(ImageIndex.self, from: fetched.bytes)
                let pick = try #require(decoded.manifest(for: Platform(os: "linux", architecture: "arm64")))
                let armManifest = try await client.fetchManifest(reference.with(digest: pick.digest), accept: MediaType.manifestAccept)
                #expect(armManifest.bytes == arm.manifest)
                let layer = try #require(arm.layers.first)
                let path = scratch.file("arm-layer")
                try await client.fetchBlob(layer, from: reference, to: path)
                #expect(Digest.sha256(of: try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))) == layer.digest)
            }
        }

        @Test func missingThingsAndWrongSizesFailClearly() async throws {
            let scratch = try FixtureDirectory(prefix: "kiln-pull")
            defer { scratch.remove() }
            try await withRegistry(.plain) { registry in
                let image = try await PushableImage.make(layerSizes: [10_000], in: scratch)
                let client = try RegistryPlugin.client(RegistryPlugin.options(for: registry))
                let reference = ImageReference(registry: registry.host, repository: "kiln/pull-errors", tag: "v1")
                try await image.push(with: client, to: reference)

                // Closures stay outside #require/#expect: see CaughtFailure.
                let missingTag = await CaughtFailure.of {
                    _ = try await client.fetchManifest(reference.with(tag: "absent"), accept: MediaType.manifestAccept)
                }
                let tagError = try #require(missingTag, "fetching an absent tag must fail")
                #expect(tagError.isRegistryFailure, "errors must conform to RegistryFailure: \(tagError.text)")
                #expect(tagError.status == 404)
                #expect(!tagError.isTemporary)
                #expect(tagError.text.contains("MANIFEST_UNKNOWN"), "\(tagError.text)")
                #expect(tagError.text.contains(registry.host) && tagError.text.contains("kiln/pull-errors"), "\(tagError.text)")

                let absentBlob = Descriptor(mediaType: .ociLayerGzip, bytes: Array("never pushed".utf8))
                let absentPath = scratch.file("absent")
                let blobError = await CaughtFailure.of { try await client.fetchBlob(absentBlob, from: reference, to: absentPath) }
                #expect(blobError?.status == 404, "\(blobError?.text ?? "no error")")
                #expect(!FileManager.default.fileExists(atPath: absentPath))

                // The registry serves the right bytes, but the descriptor claims another size.
                let layer = try #require(image.layers.first)
                var wrong = layer
                wrong.size += 1
                let wrongPath = scratch.file("wrong-size")
                let sizeError = await CaughtFailure.of { try await client.fetchBlob(wrong, from: reference, to: wrongPath) }
                let sizeText = sizeError?.text ?? "no error"
                #expect(sizeText.contains("size") || sizeText.contains("\(layer.size)"), "\(sizeText)")
                #expect(!FileManager.default.fileExists(atPath: scratch.file("wrong-size")), "a failed download must leave no file")
            }
        }
    }
}
