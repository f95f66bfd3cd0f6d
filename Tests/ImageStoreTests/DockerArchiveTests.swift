import Foundation
import ImageModel
import ImageStore
import PluginAPI
import PluginSupport
import TestSupport
import Testing

@Suite struct DockerArchiveTests {
    static let tag = try! ImageReference(parsing: "kiln-test/imagestore:archive")

    @Test func repoTagsAreQualifiedAndTagged() throws {
        let refs = try [
            "docker.io/library/debian:12", "127.0.0.1:5000/app",
            "ghcr.io/o/r@sha256:" + String(repeating: "a", count: 64), "debian:12",
        ]
        .map(ImageReference.init(parsing:))
        #expect(DockerArchiveWriter.repoTags(refs) == ["docker.io/library/debian:12", "127.0.0.1:5000/app:latest"])
    }

    @Test(arguments: [ManifestFormat.oci, .docker])
    func archiveHoldsUncompressedLayersNamedByDiffID(format: ManifestFormat) async throws {
        let dir = try FixtureDirectory(prefix: "kiln-archive")
        defer { dir.remove() }
        let image = try await Sample.image(
            format: format, second: format == .oci ? .zstd : .gzip, store: try BlobStore(root: dir.file("work")),
            dir: dir)
        let file = dir.file("image.tar")
        try await DockerArchiveWriter(path: file).write(image, tags: [Self.tag])

        let listing = try await ProcessRunner.check("tar", ["-tf", file]).stdout.split(separator: "\n").map(String.init)
        let layerNames = image.layers.map { $0.diffID.encoded + ".tar" }
        #expect(
            listing == [image.manifest.config.digest.encoded + ".json", "manifest.json", "repositories"] + layerNames)

        let extracted = dir.file("x")
        try FileManager.default.createDirectory(atPath: extracted, withIntermediateDirectories: true)
        try await ProcessRunner.check("tar", ["-xf", file, "-C", extracted])
        let manifest =
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: extracted + "/manifest.json")))
            as? [[String: Any]]
        #expect(manifest?.count == 1)
        #expect(manifest?.first?["Config"] as? String == image.manifest.config.digest.encoded + ".json")
        #expect(manifest?.first?["RepoTags"] as? [String] == ["docker.io/kiln-test/imagestore:archive"])
        #expect(manifest?.first?["Layers"] as? [String] == layerNames)
        for layer in image.layers {
            #expect(try Sample.sha256(ofFile: extracted + "/" + layer.diffID.encoded + ".tar").0 == layer.diffID)
        }
        #expect(
            try Data(contentsOf: URL(fileURLWithPath: extracted + "/" + image.manifest.config.digest.encoded + ".json"))
                == Data(image.configBytes))
        let repositories = try String(contentsOfFile: extracted + "/repositories", encoding: .utf8)
        #expect(repositories == #"{"docker.io/kiln-test/imagestore":{"archive":"\#(image.layers[1].diffID.encoded)"}}"#)
    }

    @Test func writingTwiceIsByteIdentical() async throws {
        let dir = try FixtureDirectory(prefix: "kiln-archive")
        defer { dir.remove() }
        let image = try await Sample.image(store: try BlobStore(root: dir.file("work")), dir: dir)
        try await DockerArchiveWriter(path: dir.file("a.tar")).write(image, tags: [Self.tag])
        try await DockerArchiveWriter(path: dir.file("b.tar")).write(image, tags: [Self.tag])
        #expect(
            try Data(contentsOf: URL(fileURLWithPath: dir.file("a.tar")))
                == Data(contentsOf: URL(fileURLWithPath: dir.file("b.tar"))))
    }

    @Test func aLayerThatDoesNotMatchItsDiffIDIsRefused() async throws {
        let dir = try FixtureDirectory(prefix: "kiln-archive")
        defer { dir.remove() }
        let store = try BlobStore(root: dir.file("work"))
        let good = try await Sample.image(store: store, dir: dir)
        var layers = good.layers
        layers[0].diffID = Digest.sha256(of: "wrong")
        let bad = try Image.build(config: good.config, layers: layers, in: store)
        let file = dir.file("bad.tar")
        await #expect(throws: DockerArchiveWriter.Error.self) {
            try await DockerArchiveWriter(path: file).write(bad, tags: [])
        }
        #expect(!FileManager.default.fileExists(atPath: file))
        // No temporary file is left next to the destination either.
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasPrefix(".tmp-") } == [])
    }

    @Test(
        .enabled(if: ExecutableLookup.available("skopeo"), "needs skopeo (apt-get install skopeo)"),
        arguments: [(ManifestFormat.oci, true), (.docker, true), (.oci, false)])
    func skopeoInspectsTheArchive(format: ManifestFormat, tagged: Bool) async throws {
        let dir = try FixtureDirectory(prefix: "kiln-archive")
        defer { dir.remove() }
        let image = try await Sample.image(
            format: format, second: format == .oci ? .zstd : .gzip, store: try BlobStore(root: dir.file("work")),
            dir: dir)
        let file = dir.file("image.tar")
        try await DockerArchiveWriter(path: file).write(image, tags: tagged ? [Self.tag] : [])
        let result = try await ProcessRunner.check("skopeo", ["inspect", "docker-archive:\(file)"])
        let json = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        // docker-archive serves the uncompressed layers, so skopeo lists the diff IDs.
        #expect(json["Layers"] as? [String] == image.layers.map(\.diffID.description))
        #expect(json["Os"] as? String == "linux")
        #expect(json["Architecture"] as? String == "amd64")
        #expect((json["Env"] as? [String]) == image.config.config?.env)
        let config = try await ProcessRunner.check(
            "skopeo", ["inspect", "--config", "--raw", "docker-archive:\(file)"])
        #expect(Array(config.stdout.utf8) == image.configBytes)
    }

    @Test(
        .enabled(if: ExecutableLookup.available("podman"), "needs podman (apt-get install podman)"),
        arguments: [true, false])
    func podmanLoadsTheArchive(tagged: Bool) async throws {
        let dir = try FixtureDirectory(prefix: "kiln-archive")
        defer { dir.remove() }
        let image = try await Sample.image(store: try BlobStore(root: dir.file("work")), dir: dir)
        let file = dir.file("image.tar")
        try await DockerArchiveWriter(path: file).write(image, tags: tagged ? [Self.tag] : [])
        let podman = try Podman.isolated(in: dir)
        let imageID = image.manifest.config.digest.encoded
        let load = try await podman.run(["load", "-i", file])
        do {
            if tagged { #expect(load.stdout.contains("Loaded image: docker.io/kiln-test/imagestore:archive")) }
            // podman's image ID is the config digest, so this proves the config arrived intact.
            let inspect = try await podman.run([
                "image", "inspect", "--format", "{{.Id}} {{.Os}}/{{.Architecture}}", imageID,
            ])
            #expect(inspect.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "\(imageID) linux/amd64")
            let diff = try await podman.run(["image", "inspect", "--format", "{{json .RootFS.Layers}}", imageID])
            #expect(diff.stdout.contains(image.layers[1].diffID.description))
        } catch {
            _ = try? await podman.run(["rmi", "-f", imageID])
            throw error
        }
        try await podman.run(["rmi", "-f", imageID])
        let left = try await podman.run(["images", "-q"])
        #expect(left.stdout.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty)
    }
}

/// podman with its own storage under a test directory (vfs: works inside containers and leaves
/// the machine's image store alone). podman refuses to start without a runtime and cgroup
/// manager it can use, so `/etc/containers/containers.conf` is written when missing.
struct Podman {
    var arguments: [String]

    static let containersConf = """
        [engine]
        runtime = "runc"
        cgroup_manager = "cgroupfs"
        events_logger = "file"

        """

    static func isolated(in dir: FixtureDirectory) throws -> Podman {
        let conf = "/etc/containers/containers.conf"
        if !FileManager.default.fileExists(atPath: conf) {
            try FileManager.default.createDirectory(atPath: "/etc/containers", withIntermediateDirectories: true)
            try writeReplacing(containersConf, to: conf)
        }
        return Podman(arguments: [
            "--root", dir.file("podman-root"), "--runroot", dir.file("podman-run"), "--storage-driver", "vfs",
        ])
    }

    @discardableResult
    func run(_ args: [String]) async throws -> ProcessResult {
        try await ProcessRunner.check("podman", arguments + args, timeout: 120)
    }
}

@Suite struct DockerArchiveValidationTests {
    @Test(arguments: ManifestFormat.allCases)
    func writtenArchivesValidate(format: ManifestFormat) async throws {
        let dir = try FixtureDirectory(prefix: "kiln-archive")
        defer { dir.remove() }
        let image = try await Sample.image(
            format: format, second: format == .oci ? .zstd : .gzip, store: try BlobStore(root: dir.file("work")),
            dir: dir)
        let file = dir.file("image.tar")
        try await DockerArchiveWriter(path: file).write(image, tags: [DockerArchiveTests.tag])
        try await ImageValidator.validate(dockerArchive: file)
    }

    /// Unpacks a good archive, lets `damage` change the files, and packs it again with GNU tar.
    static func damaged(_ damage: @Sendable (String, Image) throws -> Void) async throws
        -> (ValidationError?, FixtureDirectory)
    {
        let dir = try FixtureDirectory(prefix: "kiln-archive")
        do {
            let image = try await Sample.image(store: try BlobStore(root: dir.file("work")), dir: dir)
            let file = dir.file("image.tar")
            try await DockerArchiveWriter(path: file).write(image, tags: [DockerArchiveTests.tag])
            let unpacked = dir.file("unpacked")
            try FileManager.default.createDirectory(atPath: unpacked, withIntermediateDirectories: true)
            try await ProcessRunner.check("tar", ["-xf", file, "-C", unpacked])
            try damage(unpacked, image)
            try await ProcessRunner.check("tar", ["-cf", dir.file("damaged.tar"), "-C", unpacked, "."])
            try await ImageValidator.validate(dockerArchive: dir.file("damaged.tar"))
            return (nil, dir)
        } catch let error as ValidationError {
            return (error, dir)
        } catch {
            dir.remove()
            throw error
        }
    }

    @Test func aChangedLayerIsReported() async throws {
        let (error, dir) = try await Self.damaged { root, image in
            let handle = try FileHandle(
                forWritingTo: URL(fileURLWithPath: "\(root)/\(image.layers[0].diffID.encoded).tar"))
            try handle.seekToEnd()
            try handle.write(contentsOf: Data([0]))
            try handle.close()
        }
        defer { dir.remove() }
        #expect(error?.problems.map(\.kind) == [.diffIDMismatch])
        #expect(error?.description.contains("layer 0") == true)
    }

    @Test func aMissingLayerAndAChangedConfigAreReported() async throws {
        let (error, dir) = try await Self.damaged { root, image in
            try FileManager.default.removeItem(atPath: "\(root)/\(image.layers[1].diffID.encoded).tar")
            let config = "\(root)/\(image.manifest.config.digest.encoded).json"
            let text = try String(contentsOfFile: config, encoding: .utf8).replacingOccurrences(
                of: "amd64", with: "arm64")
            try text.write(toFile: config, atomically: false, encoding: .utf8)
        }
        defer { dir.remove() }
        #expect(Set(error?.problems.map(\.kind) ?? []) == [.missingBlob, .digestMismatch])
    }

    @Test func aTarballWithoutManifestIsNotAnArchive() async throws {
        let (error, dir) = try await Self.damaged { root, _ in
            try FileManager.default.removeItem(atPath: root + "/manifest.json")
        }
        defer { dir.remove() }
        #expect(error?.description.contains("no manifest.json") == true)
    }
}
