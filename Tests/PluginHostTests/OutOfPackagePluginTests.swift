// "Drop in a custom registry plugin": a package outside kiln that depends only on PluginAPI is
// built, its library copied into a plugin directory, loaded, and used through RegistryClient.
import Foundation
import ImageModel
import PluginAPI
import PluginHost
import PluginSupport
import TestSupport
import Testing

@Suite("Out-of-package registry plugin")
struct OutOfPackagePluginTests {
    struct Setup {
        var plugins: TemporaryTree
        var storage: TemporaryTree
        var loaded: LoadedPlugin
        var client: any RegistryClient
        func remove() {
            plugins.remove()
            storage.remove()
        }
    }

    /// Builds the fixture (once per run), drops it into a fresh directory and loads it from there
    /// as `--plugin-dir` would, with `--plugin-option directory=<storage>`.
    static func setUp() async throws -> Setup {
        let products = try await FixturePackage.shared.productsDirectory(of: "DirectoryRegistryPlugin")
        let plugins = try TemporaryTree(prefix: "kiln-dropin")
        let storage: TemporaryTree
        do { storage = try TemporaryTree(prefix: "kiln-dropin-registry") } catch {
            plugins.remove()
            throw error
        }
        do {
            let library = plugins.url("libKilnPluginDirectoryRegistry.so")
            try FileManager.default.copyItem(atPath: products + "/libKilnPluginDirectoryRegistry.so", toPath: library)
            let discovery = StandardPluginDiscovery(pluginDirectories: [plugins.path], environment: [:], executableDirectory: nil)
            let loader = PluginLoader(discovery: discovery, context: PluginContext(options: ["directory": storage.path]))
            let (found, failures) = loader.loadAll()
            #expect(failures.isEmpty, "\(failures.map(\.description))")
            let loaded = try #require(found.first { $0.name == "DirectoryRegistry" })
            #expect(loaded.path == library)
            let client = try #require(PluginSet(plugins: found).registryClient(named: "directory"))
            return Setup(plugins: plugins, storage: storage, loaded: loaded, client: client)
        } catch {
            plugins.remove()
            storage.remove()
            throw error
        }
    }

    @Test func pushesAndFetchesBlobsAndManifestsThroughTheProtocol() async throws {
        let setup = try await Self.setUp()
        defer { setup.remove() }
        let client = setup.client
        let repo = try ImageReference(parsing: "localhost/team/app:v1")
        try await client.checkPushPermission(repo)

        let layerBytes = Array("layer content \(UUID())".utf8)
        let layer = Descriptor(mediaType: .ociLayer, bytes: layerBytes)
        let layerFile = try setup.plugins.write("layer.tar", layerBytes)
        #expect(try await client.blobExists(layer.digest, in: repo) == false)
        try await client.pushBlob(layer, from: layerFile, to: repo, mountFrom: [])
        #expect(try await client.blobExists(layer.digest, in: repo))
        let stored = setup.storage.url("team/app/blobs/sha256/\(layer.digest.encoded)")
        #expect(FileManager.default.contents(atPath: stored) == Data(layerBytes))

        let fetched = setup.plugins.url("fetched")
        try await client.fetchBlob(layer, from: repo, to: fetched)
        #expect(FileManager.default.contents(atPath: fetched) == Data(layerBytes))

        let configBytes = Array(#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#.utf8)
        let config = Descriptor(mediaType: .ociConfig, bytes: configBytes)
        try await client.pushBlob(config, from: try setup.plugins.write("config.json", configBytes), to: repo, mountFrom: [])
        let manifestBytes = try JSONEncoder().encode(Manifest(config: config, layers: [layer]))
        let digest = try await client.pushManifest([UInt8](manifestBytes), mediaType: .ociManifest, to: repo)
        #expect(digest == Digest.sha256(of: [UInt8](manifestBytes)))

        let byTag = try await client.fetchManifest(repo, accept: MediaType.manifestAccept)
        #expect(byTag.bytes == [UInt8](manifestBytes) && byTag.mediaType == .ociManifest && byTag.digest == digest)
        let byDigest = try await client.fetchManifest(repo.with(tag: nil, digest: digest), accept: [.ociManifest])
        #expect(byDigest == byTag)

        // Cross-repository mount: the blob appears in another repository without re-upload.
        let other = try ImageReference(parsing: "localhost/team/other:v1")
        try await client.pushBlob(layer, from: "/nonexistent", to: other, mountFrom: [repo])
        #expect(try await client.blobExists(layer.digest, in: other))
    }

    @Test func verifiesDigestsAndRefusesManifestsWithMissingBlobs() async throws {
        let setup = try await Self.setUp()
        defer { setup.remove() }
        let client = setup.client
        let repo = try ImageReference(parsing: "localhost/verify:latest")
        let bytes = Array("real bytes".utf8)
        let file = try setup.plugins.write("blob", bytes)
        let lying = Descriptor(mediaType: .ociLayer, digest: Digest.sha256(of: "other bytes"), size: Int64(bytes.count))
        await #expect(throws: (any Error).self) { try await client.pushBlob(lying, from: file, to: repo, mountFrom: []) }
        #expect(try await client.blobExists(lying.digest, in: repo) == false)

        let missing = Descriptor(mediaType: .ociConfig, bytes: Array("{}".utf8))
        let manifest = try JSONEncoder().encode(Manifest(config: missing, layers: []))
        let error = await #expect(throws: (any Error).self) {
            _ = try await client.pushManifest([UInt8](manifest), mediaType: .ociManifest, to: repo)
        }
        #expect("\(error.map { "\($0)" } ?? "")".contains(missing.digest.description))

        // A corrupted stored blob fails the fetch and leaves no file behind.
        let good = Descriptor(mediaType: .ociLayer, bytes: bytes)
        try await client.pushBlob(good, from: file, to: repo, mountFrom: [])
        try setup.storage.write("verify/blobs/sha256/\(good.digest.encoded)", "tampered!!")
        let target = setup.plugins.url("out")
        await #expect(throws: (any Error).self) { try await client.fetchBlob(good, from: repo, to: target) }
        #expect(!FileManager.default.fileExists(atPath: target))
    }

    @Test func aMissingOptionIsReportedWithThePluginsPathAndName() async throws {
        let products = try await FixturePackage.shared.productsDirectory(of: "DirectoryRegistryPlugin")
        let loader = PluginLoader(
            discovery: StandardPluginDiscovery(pluginDirectories: [products], environment: [:], executableDirectory: nil))
        let path = products + "/libKilnPluginDirectoryRegistry.so"
        let error = #expect(throws: PluginLoadError.self) { try loader.load(path: path) }
        guard case .componentsFailed(path, "DirectoryRegistry", let reason) = error else {
            Issue.record("expected componentsFailed for \(path), got \(String(describing: error))")
            return
        }
        #expect(reason.contains("--plugin-option directory="))
    }
}
