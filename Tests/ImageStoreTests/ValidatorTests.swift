import Foundation
import ImageModel
import ImageStore
import PluginAPI
import PluginSupport
import TestSupport
import Testing

/// One way to break a good image, and what the validator must say about it.
struct Corruption: CustomTestStringConvertible, Sendable {
    var name: String
    var expected: ValidationProblem.Kind
    /// Words the message must contain so a reader knows what to look at.
    var mentions: String
    var apply: @Sendable (Image) throws -> [UInt8]

    var testDescription: String { name }

    /// Writes a changed config and manifest into the image's store; returns the manifest bytes.
    static func rewrite(
        _ image: Image, config change: (inout ImageConfig) -> Void = { _ in },
        manifest edit: (inout Manifest) -> Void = { _ in }
    ) throws -> [UInt8] {
        var config = image.config
        change(&config)
        let configBytes = try CanonicalJSON.encode(config)
        try image.store.put(configBytes)
        var manifest = image.manifest
        manifest.config = Descriptor(mediaType: manifest.config.mediaType, bytes: configBytes)
        edit(&manifest)
        let bytes = try CanonicalJSON.encode(manifest)
        try image.store.put(bytes)
        return bytes
    }

    static func flipByte(at path: String) throws {
        var data = try Data(contentsOf: URL(fileURLWithPath: path))
        data[data.count / 2] ^= 0x01
        try data.write(to: URL(fileURLWithPath: path))
    }

    static let all: [Corruption] = [
        Corruption(name: "flipped byte in a layer", expected: .digestMismatch, mentions: "changed or corrupted") {
            image in
            try flipByte(at: image.store.path(for: image.manifest.layers[0].digest))
            return image.manifestBytes
        },
        Corruption(name: "wrong layer size", expected: .sizeMismatch, mentions: "descriptor size") { image in
            try rewrite(image, manifest: { $0.layers[1].size += 1 })
        },
        Corruption(name: "wrong diff ID", expected: .diffIDMismatch, mentions: "config diff ID") { image in
            try rewrite(image, config: { $0.rootfs.diffIDs[0] = Digest.sha256(of: "not the layer") })
        },
        Corruption(name: "missing layer blob", expected: .missingBlob, mentions: "layer 1 blob") { image in
            try FileManager.default.removeItem(atPath: image.store.path(for: image.manifest.layers[1].digest))
            return image.manifestBytes
        },
        Corruption(name: "missing config blob", expected: .missingBlob, mentions: "config blob") { image in
            try FileManager.default.removeItem(atPath: image.store.path(for: image.manifest.config.digest))
            return image.manifestBytes
        },
        Corruption(name: "config blob changed", expected: .digestMismatch, mentions: "config") { image in
            try flipByte(at: image.store.path(for: image.manifest.config.digest))
            return image.manifestBytes
        },
        Corruption(
            name: "one diff ID too many", expected: .diffIDCount, mentions: "3 entries but the manifest has 2 layers"
        ) { image in
            try rewrite(image, config: { $0.rootfs.diffIDs.append(Digest.sha256(of: "extra")) })
        },
        Corruption(name: "history out of step", expected: .historyCount, mentions: "3 entries without empty_layer") {
            image in
            try rewrite(image, config: { $0.history?.append(History(createdBy: "RUN true")) })
        },
        Corruption(name: "Docker layer type in an OCI manifest", expected: .mediaType, mentions: "other family") {
            image in
            try rewrite(image, manifest: { $0.layers[0].mediaType = .dockerLayerGzip })
        },
        Corruption(name: "Docker config type in an OCI manifest", expected: .mediaType, mentions: "config media type") {
            image in
            try rewrite(image, manifest: { $0.config.mediaType = .dockerConfig })
        },
        Corruption(name: "unknown layer type", expected: .mediaType, mentions: "unknown layer media type") { image in
            try rewrite(image, manifest: { $0.layers[0].mediaType = "application/x-tar" })
        },
        Corruption(name: "zstd layer labelled gzip", expected: .unreadableLayer, mentions: "cannot be decompressed") {
            image in
            try rewrite(image, manifest: { $0.layers[1].mediaType = .ociLayerGzip })
        },
        Corruption(name: "config without os", expected: .config, mentions: "\"os\"") { image in
            try rewrite(image, config: { $0.os = "" })
        },
        Corruption(name: "config without architecture", expected: .config, mentions: "\"architecture\"") { image in
            try rewrite(image, config: { $0.architecture = "" })
        },
    ]
}

@Suite struct ValidatorTests {
    @Test(arguments: [(ManifestFormat.oci, Compression.zstd), (.oci, .none), (.docker, .gzip), (.docker, .none)])
    func goodImagesPass(format: ManifestFormat, second: Compression) async throws {
        let dir = try FixtureDirectory(prefix: "kiln-validate")
        defer { dir.remove() }
        let image = try await Sample.image(
            format: format, second: second, store: try BlobStore(root: dir.file("work")), dir: dir)
        #expect(await ImageValidator.problems(in: image) == [])
        try await OCILayoutWriter(path: dir.file("layout")).write(image, refName: "x")
        try await ImageValidator.validate(layoutPath: dir.file("layout"), refName: "x")
    }

    @Test(arguments: Corruption.all)
    func eachCorruptionIsReported(corruption: Corruption) async throws {
        let dir = try FixtureDirectory(prefix: "kiln-validate")
        defer { dir.remove() }
        let image = try await Sample.image(store: try BlobStore(root: dir.file("work")), dir: dir)
        let manifestBytes = try corruption.apply(image)
        let problems = await ImageValidator.problems(manifestBytes: manifestBytes, store: image.store)
        let matching = problems.filter { $0.kind == corruption.expected }
        #expect(!matching.isEmpty, "expected a \(corruption.expected) problem, got \(problems)")
        #expect(matching.contains { $0.message.contains(corruption.mentions) }, "messages: \(problems.map(\.message))")
    }

    @Test(arguments: [Compression.none, .gzip])
    func anEmptyLayerIsHashedNotRejected(compression: Compression) async throws {
        let dir = try FixtureDirectory(prefix: "kiln-validate")
        defer { dir.remove() }
        let store = try BlobStore(root: dir.file("work"))
        // An empty file is not a valid tar, but hashing it must neither crash nor hang.
        let empty = try dir.write("", to: "empty")
        var blob = empty
        if compression == .gzip {
            try await ProcessRunner.check("gzip", ["-n", "-k", empty])
            blob = empty + ".gz"
        }
        let (digest, size) = try Sample.sha256(ofFile: blob)
        try await store.put(fileAt: blob, digest: digest, mode: .copy)
        let layer = Layer(
            descriptor: Descriptor(mediaType: compression.layerMediaType(docker: false), digest: digest, size: size),
            diffID: Digest.sha256(of: ""))
        let image = try Image.build(config: Sample.config(layerCount: 1), layers: [layer], in: store)
        let problems = await ImageValidator.problems(in: image)
        #expect(problems == [], "\(problems)")
    }

    @Test func layoutValidationThrowsAListingError() async throws {
        let dir = try FixtureDirectory(prefix: "kiln-validate")
        defer { dir.remove() }
        let image = try await Sample.image(store: try BlobStore(root: dir.file("work")), dir: dir)
        let layout = dir.file("layout")
        try await OCILayoutWriter(path: layout).write(image, refName: "x")
        let store = try BlobStore(root: layout)
        try Corruption.flipByte(at: store.path(for: image.manifest.layers[0].digest))
        try FileManager.default.removeItem(atPath: store.path(for: image.manifest.layers[1].digest))
        let error = await #expect(throws: ValidationError.self) {
            try await ImageValidator.validate(layoutPath: layout, refName: "x")
        }
        let kinds = Set(error?.problems.map(\.kind) ?? [])
        #expect(kinds.isSuperset(of: [.digestMismatch, .missingBlob]))
        #expect(error?.description.contains("layer 1 blob") == true)
    }

    @Test func layoutManifestDescriptorIsChecked() async throws {
        let dir = try FixtureDirectory(prefix: "kiln-validate")
        defer { dir.remove() }
        let image = try await Sample.image(store: try BlobStore(root: dir.file("work")), dir: dir)
        let layout = dir.file("layout")
        try await OCILayoutWriter(path: layout).write(image, refName: "x")
        let indexPath = layout + "/index.json"
        var index = try CanonicalJSON.decode(
            ImageIndex.self, from: [UInt8](Data(contentsOf: URL(fileURLWithPath: indexPath))))
        index.manifests[0].size += 7
        try Data(CanonicalJSON.encode(index)).write(to: URL(fileURLWithPath: indexPath))
        let error = await #expect(throws: ValidationError.self) {
            try await ImageValidator.validate(layoutPath: layout)
        }
        #expect(error?.problems.map(\.kind) == [.sizeMismatch])
    }
}
