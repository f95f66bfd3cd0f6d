import Foundation
import ImageModel
import ImageStore
import PluginAPI
import PluginSupport
import TestSupport
import Testing

@Suite struct OCILayoutTests {
    @Test func writeThenReadBack() async throws {
        let dir = try FixtureDirectory(prefix: "kiln-layout")
        defer { dir.remove() }
        let image = try await Sample.image(store: try BlobStore(root: dir.file("work")), dir: dir)
        let layout = dir.file("layout")
        let descriptor = try await OCILayoutWriter(path: layout).write(image, refName: "v1")

        #expect(
            try String(contentsOfFile: layout + "/oci-layout", encoding: .utf8) == #"{"imageLayoutVersion":"1.0.0"}"#)
        #expect(descriptor.digest == image.digest)
        #expect(descriptor.annotations == [AnnotationKey.refName: "v1"])
        #expect(descriptor.platform == Sample.platform)
        let reader = try OCILayoutReader(path: layout)
        #expect(try reader.index().manifests == [descriptor])
        #expect(try reader.image(refName: "v1").manifestBytes == image.manifestBytes)
        #expect(try reader.image().configBytes == image.configBytes)
        for digest in image.blobDigests { #expect(reader.store.contains(digest)) }
        try await ImageValidator.validate(layoutPath: layout, refName: "v1")

        let missing = #expect(throws: OCILayoutReader.Error.self) { try reader.image(refName: "v2") }
        #expect(missing?.description.contains("'v1'") == true)
    }

    @Test func addingKeepsOtherImagesAndReplacesTheSameRefName() async throws {
        let dir = try FixtureDirectory(prefix: "kiln-layout")
        defer { dir.remove() }
        let store = try BlobStore(root: dir.file("work"))
        let oci = try await Sample.image(store: store, dir: dir)
        let docker = try await Sample.image(format: .docker, second: .gzip, store: store, dir: dir)
        let writer = OCILayoutWriter(path: dir.file("layout"))
        try await writer.write(oci, refName: "a")
        try await writer.write(docker, refName: "b")
        try await writer.write(docker, refName: "a")
        try await writer.write(oci)
        try await writer.write(oci)
        let reader = try OCILayoutReader(path: writer.path)
        let entries = try reader.index().manifests
        #expect(entries.map { $0.annotations?[AnnotationKey.refName] } == ["b", "a", nil])
        #expect(entries.map(\.digest) == [docker.digest, docker.digest, oci.digest])
        #expect(try reader.image(refName: "a").manifest.mediaType == .dockerManifest)
        let ambiguous = #expect(throws: OCILayoutReader.Error.self) { try reader.image() }
        #expect(ambiguous?.description.contains("holds 3 images") == true)
        try await ImageValidator.validate(layoutPath: writer.path, refName: "b")
    }

    @Test func aNestedIndexIsResolvedByPlatform() async throws {
        let dir = try FixtureDirectory(prefix: "kiln-layout")
        defer { dir.remove() }
        let image = try await Sample.image(store: try BlobStore(root: dir.file("work")), dir: dir)
        let layout = dir.file("layout")
        try await OCILayoutWriter(path: layout).write(image)
        // Re-point index.json at an index holding the image for linux/amd64 and a decoy.
        let store = try BlobStore(root: layout)
        var entry = image.manifestDescriptor
        entry.platform = Sample.platform
        let decoy = Descriptor(
            mediaType: .ociManifest, digest: .sha256(of: "decoy"), size: 5,
            platform: Platform(os: "linux", architecture: "arm64"))
        let nested = try CanonicalJSON.encode(ImageIndex(manifests: [decoy, entry]))
        try store.put(nested)
        var top = Descriptor(mediaType: .ociIndex, bytes: nested)
        top.annotations = [AnnotationKey.refName: "multi"]
        try Data(CanonicalJSON.encode(ImageIndex(manifests: [top]))).write(
            to: URL(fileURLWithPath: layout + "/index.json"))

        let reader = try OCILayoutReader(path: layout)
        #expect(try reader.image(refName: "multi", platform: Sample.platform).digest == image.digest)
        let missing = #expect(throws: OCILayoutReader.Error.self) {
            try reader.image(refName: "multi", platform: Platform(os: "linux", architecture: "s390x"))
        }
        #expect(missing?.description.contains("linux/s390x") == true)
        try await ImageValidator.validate(layoutPath: layout, refName: "multi", platform: Sample.platform)
    }

    @Test func writingTwiceGivesByteIdenticalLayouts() async throws {
        let dir = try FixtureDirectory(prefix: "kiln-layout")
        defer { dir.remove() }
        var listings: [[String: Data]] = []
        for run in ["one", "two"] {
            let image = try await Sample.image(store: try BlobStore(root: dir.file("work-\(run)")), dir: dir)
            let layout = dir.file("layout-\(run)")
            try await OCILayoutWriter(path: layout).write(image, refName: "latest")
            try await OCILayoutWriter(path: layout).write(image, refName: "latest")
            listings.append(try Self.files(under: layout))
        }
        #expect(listings[0].count == 6)  // oci-layout, index.json, 2 layers, config, manifest
        #expect(listings[0] == listings[1])
    }

    /// Relative path → content of every regular file under `root`.
    static func files(under root: String) throws -> [String: Data] {
        var out = [String: Data]()
        for name in try FileManager.default.subpathsOfDirectory(atPath: root) {
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: root + "/" + name, isDirectory: &isDir), !isDir.boolValue {
                out[name] = try Data(contentsOf: URL(fileURLWithPath: root + "/" + name))
            }
        }
        return out
    }

    @Test(.enabled(if: ExecutableLookup.available("skopeo"), "needs skopeo (apt-get install skopeo)"))
    func skopeoInspectsTheLayout() async throws {
        let dir = try FixtureDirectory(prefix: "kiln-layout")
        defer { dir.remove() }
        let image = try await Sample.image(store: try BlobStore(root: dir.file("work")), dir: dir)
        let layout = dir.file("layout")
        try await OCILayoutWriter(path: layout).write(image, refName: "test")
        let result = try await ProcessRunner.check("skopeo", ["inspect", "oci:\(layout):test"])
        let json = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(json["Digest"] as? String == image.digest.description)
        #expect(json["Layers"] as? [String] == image.manifest.layers.map(\.digest.description))
        #expect(json["Os"] as? String == "linux")
        #expect(json["Architecture"] as? String == "amd64")
        let raw = try await ProcessRunner.check("skopeo", ["inspect", "--raw", "oci:\(layout):test"])
        #expect(Array(raw.stdout.utf8) == image.manifestBytes)
    }

    @Test(.enabled(if: ExecutableLookup.available("umoci"), "needs umoci (apt-get install umoci)"))
    func umociUnpacksTheLayout() async throws {
        let dir = try FixtureDirectory(prefix: "kiln-layout")
        defer { dir.remove() }
        // umoci reads OCI media types only; the second layer is gzip like most images.
        let image = try await Sample.image(second: .gzip, store: try BlobStore(root: dir.file("work")), dir: dir)
        let layout = dir.file("layout")
        try await OCILayoutWriter(path: layout).write(image, refName: "test")
        let bundle = dir.file("bundle")
        try await ProcessRunner.check("umoci", ["unpack", "--image", "\(layout):test", bundle])
        #expect(
            try String(contentsOfFile: bundle + "/rootfs/hello.txt", encoding: .utf8) == Sample.firstFiles["hello.txt"])
        #expect(
            try String(contentsOfFile: bundle + "/rootfs/app/run.sh", encoding: .utf8)
                == Sample.secondFiles["app/run.sh"])
        #expect(FileManager.default.fileExists(atPath: bundle + "/config.json"))
    }
}
