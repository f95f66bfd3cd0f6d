import Foundation
import ImageModel
import ImageStore
import PluginAPI
import PluginSupport
import TestSupport
import Testing

@Suite struct ImageBuildTests {
    @Test(arguments: ManifestFormat.allCases)
    func buildWritesCanonicalConfigAndManifest(format: ManifestFormat) async throws {
        let dir = try FixtureDirectory(prefix: "kiln-image")
        defer { dir.remove() }
        let store = try BlobStore(root: dir.file("store"))
        let image = try await Sample.image(
            format: format, second: format == .oci ? .zstd : .none, store: store, dir: dir)

        #expect(image.manifest.mediaType == format.manifestMediaType)
        #expect(image.manifest.config.mediaType == format.configMediaType)
        #expect(image.configBytes == (try CanonicalJSON.encode(image.config)))
        #expect(image.manifestBytes == (try CanonicalJSON.encode(image.manifest)))
        #expect(image.digest == Digest.sha256(of: image.manifestBytes))
        #expect(try store.read(image.digest) == image.manifestBytes)
        #expect(try store.read(image.manifest.config.digest) == image.configBytes)
        #expect(image.config.rootfs.diffIDs == image.layers.map(\.diffID))
        let expectedTypes: [MediaType] =
            format == .oci ? [.ociLayerGzip, .ociLayerZstd] : [.dockerLayerGzip, .dockerLayer]
        #expect(image.manifest.layers.map(\.mediaType) == expectedTypes)
        // Reading it back from the store gives the same image.
        #expect(try Image.load(manifest: image.digest, from: store) == image)
        try await ImageValidator.validate(image)
    }

    @Test func zstdLayersCannotGoInADockerManifest() async throws {
        let dir = try FixtureDirectory(prefix: "kiln-image")
        defer { dir.remove() }
        let store = try BlobStore(root: dir.file("store"))
        let error = await #expect(throws: Image.Error.self) {
            _ = try await Sample.image(format: .docker, second: .zstd, store: store, dir: dir)
        }
        #expect(error?.description.contains("use gzip") == true)
    }

    @Test func sameInputGivesSameDigest() async throws {
        let dir = try FixtureDirectory(prefix: "kiln-image")
        defer { dir.remove() }
        let a = try await Sample.image(store: try BlobStore(root: dir.file("a")), dir: dir)
        let b = try await Sample.image(store: try BlobStore(root: dir.file("b")), dir: dir)
        #expect(a.digest == b.digest)
        #expect(a.manifestBytes == b.manifestBytes)
    }

    @Test(arguments: [
        ("docker.io/library/debian:12", "docker.io/library/debian@", "docker.io/library/debian:12@"),
        ("127.0.0.1:5000/team/app", "127.0.0.1:5000/team/app@", "127.0.0.1:5000/team/app:latest@"),
        ("ghcr.io/o/r:v1@sha256:" + String(repeating: "1", count: 64), "ghcr.io/o/r@", "ghcr.io/o/r:v1@"),
    ])
    func imageNamesWithDigest(reference: String, byDigest: String, byTag: String) throws {
        let ref = try ImageReference(parsing: reference)
        let digest = Digest.sha256(of: "manifest")
        #expect(imageNameWithDigest(ref, digest) == byDigest + digest.description)
        #expect(imageNameTagWithDigest(ref, digest) == byTag + digest.description)
    }
}
