// Sources that are indexes themselves (with BuildKit-style attestation manifests), sources on
// another registry, and `kiln manifest inspect` of what was pushed.
import Foundation
import ImageModel
import PluginAPI
import PluginSupport
import TestSupport
import Testing

extension ManifestIntegration {
    @Suite struct ManifestSourcesTests {
        /// An index of an amd64 and an arm64 image plus an attestation manifest describing the
        /// amd64 one, shaped as BuildKit writes them (unknown/unknown platform, in-toto layer,
        /// `vnd.docker.reference.*` annotations), pushed by skopeo to `HOST/src/multi:v1`.
        static func pushSourceIndex(_ registry: RegistryFixture, in scratch: FixtureDirectory) async throws -> (
            amd64: Descriptor, arm64: Descriptor, attestation: Descriptor
        ) {
            let layout = try TestImageLayout(path: scratch.file("source-layout"))
            let amd = try await layout.addImage(
                tag: "amd", layers: [["a.txt": Array("amd64\n".utf8)]], platform: Platform(os: "linux", architecture: "amd64"),
                scratch: scratch)
            let arm = try await layout.addImage(
                tag: "arm", layers: [["a.txt": Array("arm64\n".utf8)]], platform: Platform(os: "linux", architecture: "arm64"),
                scratch: scratch)
            let statement = Array(#"{"_type":"https://in-toto.io/Statement/v0.1","predicateType":"https://slsa.dev/provenance/v0.2"}"#.utf8)
            var layer = try layout.addBlob(statement, mediaType: "application/vnd.in-toto+json")
            layer.annotations = ["in-toto.io/predicate-type": "https://slsa.dev/provenance/v0.2"]
            let config = try layout.addBlob(
                Array(
                    #"{"architecture":"unknown","os":"unknown","config":{},"rootfs":{"type":"layers","diff_ids":["\#(layer.digest)"]}}"#
                        .utf8),
                mediaType: .ociConfig)
            let attestationManifest = try layout.addBlob(
                CanonicalJSON.encode(Manifest(config: config, layers: [layer])), mediaType: .ociManifest)
            func entry(_ digest: Digest, _ bytes: [UInt8], _ platform: Platform) -> Descriptor {
                Descriptor(mediaType: .ociManifest, digest: digest, size: Int64(bytes.count), platform: platform)
            }
            let amdEntry = entry(amd.manifestDigest, amd.manifest, Platform(os: "linux", architecture: "amd64"))
            let armEntry = entry(arm.manifestDigest, arm.manifest, Platform(os: "linux", architecture: "arm64"))
            var attEntry = attestationManifest
            attEntry.platform = Platform(os: "unknown", architecture: "unknown")
            attEntry.annotations = [
                "vnd.docker.reference.digest": amd.manifestDigest.description, "vnd.docker.reference.type": "attestation-manifest",
            ]
            var index = try layout.addBlob(
                CanonicalJSON.encode(ImageIndex(manifests: [amdEntry, armEntry, attEntry])), mediaType: .ociIndex)
            index.annotations = [AnnotationKey.refName: "multi"]
            try Data(CanonicalJSON.encode(ImageIndex(manifests: [index]))).write(to: URL(fileURLWithPath: layout.path + "/index.json"))
            try await ProcessRunner.check(
                "skopeo",
                [
                    "copy", "--all", "--preserve-digests", "--dest-tls-verify=false", "oci:\(layout.path):multi",
                    "docker://\(registry.host)/src/multi:v1",
                ])
            return (amdEntry, armEntry, attEntry)
        }

        @Test func aSourceIndexIsFlattenedKeepingItsAttestationsAndInspectShowsIt() async throws {
            let scratch = try FixtureDirectory(prefix: "kiln-manifest")
            defer { scratch.remove() }
            try await withRegistry(.plain) { registry in
                let source = try await Self.pushSourceIndex(registry, in: scratch)
                let spec = try scratch.write(
                    "image: \(registry.host)/team/app:v1\nmanifests:\n  - image: \(registry.host)/src/multi:v1\n", to: "spec.yaml")
                let result = try await ManifestHarness.manifest(["push", "from-spec", spec], registry: registry, in: scratch)
                try #require(result.succeeded, "\(result)")
                let (index, digest) = try await ManifestHarness.index(registry, "team/app:v1")
                #expect(index.manifests.map(\.digest) == [source.amd64.digest, source.arm64.digest, source.attestation.digest])
                #expect(index.manifests.last?.annotations == source.attestation.annotations)
                // Every child, the attestation included, now lives in team/app.
                #expect(try await ManifestHarness.configPlatform(registry, "team/app", source.arm64.digest) == "linux/arm64")
                let attestation = try await ManifestHarness.raw(registry, "team/app@\(source.attestation.digest)")
                #expect(Digest.sha256(of: attestation) == source.attestation.digest)

                // Asking for one platform of an index takes that image and its attestation only.
                let one = try await ManifestHarness.manifest(
                    [
                        "push", "from-args", "--platforms", "linux/amd64", "--template", "\(registry.host)/src/multi:v1",
                        "--target", "\(registry.host)/team/app:amd64",
                    ], registry: registry, in: scratch)
                try #require(one.succeeded, "\(one)")
                let (amdOnly, _) = try await ManifestHarness.index(registry, "team/app:amd64")
                #expect(amdOnly.manifests.map(\.digest) == [source.amd64.digest, source.attestation.digest])
                let absent = try await ManifestHarness.manifest(
                    [
                        "push", "from-args", "--platforms", "linux/s390x", "--template", "\(registry.host)/src/multi:v1",
                        "--target", "\(registry.host)/team/app:s390x",
                    ], registry: registry, in: scratch)
                #expect(absent.exitCode == 1)
                #expect(absent.stderr.contains("is an index without linux/s390x (it has: linux/amd64, linux/arm64)"), "\(absent.stderr)")

                // inspect: the table, and --raw as the registry serves it.
                let table = try await ManifestHarness.manifest(
                    ["inspect", "\(registry.host)/team/app:v1"], registry: registry, in: scratch)
                try #require(table.succeeded, "\(table)")
                let lines = table.stdout.split(separator: "\n").map(String.init)
                #expect(lines.contains("Digest:    \(digest)"))
                #expect(lines.contains("Entries:   3"))
                let rows = lines.filter { $0.hasPrefix("1 ") || $0.hasPrefix("2 ") || $0.hasPrefix("3 ") }
                #expect(rows.count == 3, "\(table.stdout)")
                for (row, (platform, entry)) in zip(
                    rows, [("linux/amd64", source.amd64), ("linux/arm64", source.arm64), ("attestation", source.attestation)])
                {
                    let cells = row.split(separator: " ").map(String.init)
                    #expect(cells.count >= 5 && cells[1] == platform && cells.contains(entry.digest.description), "\(row)")
                }
                #expect(lines.contains("#3 describes \(source.amd64.digest)"))
                let raw = try await ManifestHarness.manifest(
                    ["inspect", "--raw", "\(registry.host)/team/app:v1"], registry: registry, in: scratch)
                let skopeo = try await ManifestHarness.raw(registry, "team/app:v1")
                #expect(Array(raw.stdout.utf8).prefix(skopeo.count).elementsEqual(skopeo))
                let image = try await ManifestHarness.manifest(
                    ["inspect", "\(registry.host)/team/app@\(source.arm64.digest)"], registry: registry, in: scratch)
                #expect(image.stdout.contains("Platform:  linux/arm64"), "\(image)")
                #expect(image.stdout.contains("oci layer+gzip"), "\(image)")
            }
        }

        @Test func sourcesOnAnotherRegistryAreCopied() async throws {
            let scratch = try FixtureDirectory(prefix: "kiln-manifest")
            defer { scratch.remove() }
            try await withRegistry(.plain) { target in
                try await withRegistry(.plain) { other in
                    try await ManifestHarness.buildImage(
                        target.reference("app-amd64", tag: "v1"), platform: "linux/amd64", registry: target, in: scratch)
                    let arm = try await ManifestHarness.buildImage(
                        other.reference("app-arm64", tag: "v1"), platform: "linux/arm64", registry: other, in: scratch)
                    let spec = try scratch.write(
                        """
                        image: \(target.host)/app:v1
                        manifests:
                          - image: \(target.host)/app-amd64:v1
                          - image: \(other.host)/app-arm64:v1
                        """, to: "spec.yaml")
                    let uploadsBefore = await target.blobUploadCount()
                    let result = try await KilnCommand.run(
                        ["manifest", "push", "from-spec", spec] + target.kilnFlags + other.kilnFlags,
                        environment: ["DOCKER_CONFIG": ManifestHarness.noDockerConfig], currentDirectory: scratch.path)
                    try #require(result.succeeded, "\(result)")
                    let (index, _) = try await ManifestHarness.index(target, "app:v1")
                    // Platforms come from the configs when the spec gives none.
                    #expect(ManifestHarness.platforms(index) == ["linux/amd64", "linux/arm64"])
                    #expect(index.manifests.last?.digest.description == arm)
                    #expect(try await ManifestHarness.configPlatform(target, "app", try Digest(parsing: arm)) == "linux/arm64")
                    // The arm64 image's layer and config crossed registries as uploads.
                    #expect(await target.blobUploadCount() - uploadsBefore == 2)
                }
            }
        }
    }
}
