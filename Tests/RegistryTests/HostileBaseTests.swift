// Base images whose descriptors lie (issue 12, item 7): a wrong diff ID in the config, a layer
// of size −1, a layer labelled with a config media type, a layer declared gzip that is a plain
// tar. Each is pushed to a real registry, and a build FROM it must fail naming the image, the
// layer and what disagrees, and write no image.
import Foundation
import PluginAPI
import PluginSupport
import TestSupport
import Testing

/// One way to corrupt a valid image, and words the build's error must contain.
struct BaseDefect: Sendable, CustomTestStringConvertible {
    var name: String
    var testDescription: String { name }

    static let all = ["wrong diff ID", "negative size", "config media type", "gzip declared, plain tar"].map(BaseDefect.init)
}

extension RegistryIntegration {
    @Suite struct HostileBaseTests {
        /// Pushes a one-layer image with `defect` to `repository` of `registry`; returns the
        /// words the refusal must contain.
        static func pushHostile(_ defect: BaseDefect, to registry: RegistryFixture, repository: String, in scratch: FixtureDirectory)
            async throws -> [String]
        {
            let image = try await PushableImage.make(layerSizes: [50_000], in: scratch, tag: "valid")
            let layer = try #require(image.layers.first)
            var manifest = try #require(try JSONSerialization.jsonObject(with: Data(image.manifest)) as? [String: Any])
            var layers = try #require(manifest["layers"] as? [[String: Any]])
            var config = try #require(
                try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: image.paths[image.config.digest] ?? "")))
                    as? [String: Any])
            var blobs: [(Descriptor, String)] = [(layer, image.paths[layer.digest] ?? "")]
            let trueDiffID = try #require((config["rootfs"] as? [String: Any])?["diff_ids"] as? [String]).first ?? ""
            var expected: [String]
            switch defect.name {
            case "wrong diff ID":
                let wrong = Digest.sha256(of: "not this layer").description
                config["rootfs"] = ["type": "layers", "diff_ids": [wrong]]
                expected = ["layer 1", "diff ID", wrong, trueDiffID]
            case "negative size":
                layers[0]["size"] = -1
                expected = ["layer 1", "\(layer.digest)", "size -1"]
            case "config media type":
                layers[0]["mediaType"] = MediaType.ociConfig.rawValue
                expected = ["layer 1", "\(layer.digest)", "not a layer type"]
            default:
                // The same tar, stored uncompressed under a +gzip media type (diff ID still right).
                let tar = scratch.file("plain.tar")
                try await ProcessRunner.check("sh", ["-c", "gzip -dc '\(image.paths[layer.digest] ?? "")' > '\(tar)'"])
                let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: tar)))
                let plain = Descriptor(mediaType: .ociLayerGzip, bytes: bytes)
                #expect(plain.digest.description == trueDiffID)
                layers[0]["digest"] = plain.digest.description
                layers[0]["size"] = plain.size
                blobs = [(plain, tar)]
                expected = ["layer 1", "mislabelled", "gzip"]
            }
            let configBytes = Array(try JSONSerialization.data(withJSONObject: config, options: [.sortedKeys]))
            let configPath = scratch.file("config-\(repository.replacing("/", with: "-"))")
            try Data(configBytes).write(to: URL(fileURLWithPath: configPath))
            let configDescriptor = Descriptor(mediaType: .ociConfig, bytes: configBytes)
            blobs.append((configDescriptor, configPath))
            manifest["config"] = [
                "mediaType": MediaType.ociConfig.rawValue, "digest": configDescriptor.digest.description, "size": configDescriptor.size,
            ]
            manifest["layers"] = layers
            let manifestBytes = Array(try JSONSerialization.data(withJSONObject: manifest, options: [.sortedKeys]))

            let client = try RegistryPlugin.client(RegistryPlugin.options(for: registry))
            let reference = ImageReference(registry: registry.host, repository: repository, tag: "v1")
            for (descriptor, path) in blobs {
                var d = descriptor
                d.size = Int64((try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0)
                try await client.pushBlob(d, from: path, to: reference, mountFrom: [])
            }
            _ = try await client.pushManifest(manifestBytes, mediaType: .ociManifest, to: reference)
            return expected
        }

        @Test(arguments: BaseDefect.all)
        func buildFromAHostileBaseFailsNamingTheLayerAndWritesNoImage(_ defect: BaseDefect) async throws {
            let scratch = try FixtureDirectory(prefix: "kiln-hostile-base")
            defer { scratch.remove() }
            try await withRegistry(.plain) { registry in
                let repository = "hostile/" + defect.name.lowercased().replacing(" ", with: "-").replacing(",", with: "")
                let expected = try await Self.pushHostile(defect, to: registry, repository: repository, in: scratch)
                let context = scratch.file("context")
                try FileManager.default.createDirectory(atPath: context, withIntermediateDirectories: true)
                try Data("FROM \(registry.reference(repository, tag: "v1"))\nCOPY Dockerfile /copied\n".utf8)
                    .write(to: URL(fileURLWithPath: context + "/Dockerfile"))
                let out = scratch.file("out")
                let result = try await KilnCommand.run(
                    ["--context", context, "--no-push", "--oci-layout-path", out] + registry.kilnFlags,
                    environment: ["DOCKER_CONFIG": RegistryPlugin.emptyDockerConfig], currentDirectory: scratch.path)
                #expect(!result.succeeded, "a build from a base with a \(defect.name) must fail: \(result)")
                let output = result.stdout + result.stderr
                #expect(output.contains(registry.reference(repository, tag: "v1")), "the error names the image: \(output)")
                for word in expected { #expect(output.contains(word), "the error must say '\(word)': \(output)") }
                #expect(!FileManager.default.fileExists(atPath: out + "/index.json"), "no image may be written")
            }
        }
    }
}
