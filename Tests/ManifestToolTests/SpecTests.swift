// The pure half of `kiln manifest`: manifest-tool's two inputs, the index document and the
// inspect table. Template rules from manifest-tool v2's README and `push.go` (peers.md §2.3).
import Foundation
import ImageModel
import ManifestTool
import PluginAPI
import PluginSupport
import Testing

@Suite("manifest spec")
struct SpecTests {
    static func platform(_ s: String) throws -> Platform { try Platform(parsing: s) }

    @Test(arguments: [
        ("reg.example/app:ARCH", "linux/amd64", "reg.example/app:amd64"),
        ("reg.example/app-OS-ARCH:1", "linux/arm64", "reg.example/app-linux-arm64:1"),
        // A platform without a variant turns VARIANT into nothing.
        ("foo/bar-ARCHVARIANT:v1", "linux/amd64", "foo/bar-amd64:v1"),
        ("foo/bar-ARCHVARIANT:v1", "linux/arm/v7", "foo/bar-armv7:v1"),
        // Only the first occurrence of each placeholder is replaced; case matters.
        ("r/ARCH:ARCH", "linux/amd64", "r/amd64:ARCH"),
        ("r/arch:ARCH", "linux/amd64", "r/arch:amd64"),
    ])
    func templateExpansion(_ template: String, _ platform: String, _ expected: String) throws {
        #expect(ManifestSpec.expand(template, for: try Self.platform(platform)) == expected)
    }

    @Test func fromArgsNamesOneSourcePerPlatform() throws {
        let spec = try ManifestSpec.fromArguments(
            platforms: "linux/amd64, linux/arm64/v8,linux/arm/v7", template: "127.0.0.1:5000/app:1.0-ARCH",
            target: "127.0.0.1:5000/app:1.0",
            tags: "1,latest")
        #expect(spec.target.description == "127.0.0.1:5000/app:1.0")
        #expect(spec.tags == ["1", "latest"])
        // arm64/v8 is normalised to arm64 (one spelling per platform).
        #expect(spec.sources.map(\.image.tag) == ["1.0-amd64", "1.0-arm64", "1.0-arm"])
        #expect(spec.sources.map { $0.platform?.description } == ["linux/amd64", "linux/arm64", "linux/arm/v7"])
    }

    @Test(
        arguments: [
            ("", "r/a:ARCH", "r/a:1", nil, "--platforms needs at least one"),
            ("linux", "r/a:ARCH", "r/a:1", nil, "--platforms: invalid platform 'linux'"),
            ("linux/amd64", "r/a:ARCH", "r/a:1", "bad tag", "'bad tag' is not a valid tag"),
            ("linux/amd64", "r/a:ARCH", "r/a@sha256:nothex", nil, "--target"),
        ] as [(String, String, String, String?, String)])
    func fromArgsRefusesBadInput(_ platforms: String, _ template: String, _ target: String, _ tags: String?, _ message: String) {
        let error = #expect(throws: ManifestToolError.self) {
            try ManifestSpec.fromArguments(platforms: platforms, template: template, target: target, tags: tags)
        }
        #expect(error?.isUsage == true)
        #expect(error?.description.contains(message) == true, "\(String(describing: error))")
    }

    @Test func fromYAMLReadsManifestToolsFormat() throws {
        let spec = try ManifestSpec.fromYAML(
            """
            image: reg.example/app:1.0
            tags: [1, latest]
            annotations:
              org.opencontainers.image.source: https://git.example/app
            manifests:
              - image: reg.example/app:1.0-amd64
                platform:
                  architecture: amd64
                  os: linux
              - image: reg.example/app:1.0-arm64
                platform:
                  architecture: arm64
                  os: linux
                  variant: v8
              - image: reg.example/app:1.0-win
                platform:
                  architecture: amd64
                  os: windows
                  osversion: 10.0.17763.1879
                  osfeatures: [win32k]
              - image: reg.example/other:multi
            """)
        #expect(spec.target.description == "reg.example/app:1.0")
        #expect(spec.tags == ["1", "latest"])
        #expect(spec.annotations == ["org.opencontainers.image.source": "https://git.example/app"])
        #expect(spec.sources.map(\.image.description).last == "reg.example/other:multi")
        #expect(spec.sources.map { $0.platform?.description } == ["linux/amd64", "linux/arm64", "windows/amd64", nil])
        #expect(spec.sources[2].platform?.osVersion == "10.0.17763.1879")
        #expect(spec.sources[2].platform?.osFeatures == ["win32k"])
    }

    @Test(arguments: [
        ("manifests:\n  - image: r/a:1\n", "`image` (the target) is missing"),
        ("image: r/a:1\n", "`manifests` lists no source image"),
        ("image: r/a:1\nmanifests:\n  - platform: {os: linux, architecture: amd64}\n", "manifests[0] has no `image`"),
        ("image: r/a:1\nmanifests:\n  - image: r/a:2\n    platform: {os: linux}\n", "needs both `os` and `architecture`"),
        ("image: r/a:1\nmanifests: [1, 2\n", "spec.yaml:"),
        ("image: r/a:1\ntags: {a: b}\nmanifests:\n  - image: r/a:2\n", "tags"),
    ])
    func fromYAMLNamesWhatIsWrong(_ yaml: String, _ message: String) {
        let error = #expect(throws: ManifestToolError.self) { try ManifestSpec.fromYAML(yaml, fileName: "spec.yaml") }
        #expect(error?.isUsage == true)
        #expect(error?.description.contains(message) == true, "\(String(describing: error))")
    }
}

@Suite("index assembly")
struct IndexAssemblyTests {
    static let source = ImageReference(registry: "r", repository: "a", tag: "1")

    static func entry(_ platform: String?, type: MediaType = .ociManifest, seed: String, attestationFor: Digest? = nil) throws -> IndexEntry
    {
        var d = Descriptor(mediaType: type, bytes: Array(seed.utf8))
        d.platform = try platform.map { try Platform(parsing: $0) }
        if let target = attestationFor {
            d.platform = Platform(os: "unknown", architecture: "unknown")
            d.annotations = [
                Descriptor.referenceTypeAnnotation: "attestation-manifest", Descriptor.referenceDigestAnnotation: target.description,
            ]
        }
        return IndexEntry(descriptor: d, source: source)
    }

    @Test func mediaTypeFollowsTheImagesUnlessAsked() throws {
        let docker = [
            try Self.entry("linux/amd64", type: .dockerManifest, seed: "a"),
            try Self.entry("linux/arm64", type: .dockerManifest, seed: "b"),
        ]
        let mixed = [try Self.entry("linux/amd64", type: .dockerManifest, seed: "a"), try Self.entry("linux/arm64", seed: "b")]
        #expect(IndexAssembly.mediaType(kind: nil, entries: docker) == .dockerManifestList)
        #expect(IndexAssembly.mediaType(kind: nil, entries: mixed) == .ociIndex)
        #expect(IndexAssembly.mediaType(kind: .oci, entries: docker) == .ociIndex)
        #expect(IndexAssembly.mediaType(kind: .docker, entries: mixed) == .dockerManifestList)
    }

    @Test func attestationsFollowTheImagesAndDuplicatesAreOne() throws {
        let amd = try Self.entry("linux/amd64", seed: "amd")
        let arm = try Self.entry("linux/arm64", seed: "arm")
        let att = try Self.entry(nil, seed: "att", attestationFor: amd.descriptor.digest)
        let (bytes, type) = try IndexAssembly.make(entries: [amd, att, arm, amd], kind: nil)
        #expect(type == .ociIndex)
        let index = try CanonicalJSON.decode(ImageIndex.self, from: bytes)
        #expect(index.mediaType == .ociIndex)
        #expect(index.manifests.map(\.digest) == [amd.descriptor.digest, arm.descriptor.digest, att.descriptor.digest])
        #expect(index.manifests[2].annotations?[Descriptor.referenceTypeAnnotation] == "attestation-manifest")
    }

    @Test func twoImagesOfOnePlatformAreRefused() throws {
        let a = try Self.entry("linux/arm64", seed: "a")
        let b = try Self.entry("linux/arm64/v8", seed: "b")
        #expect(throws: ManifestToolError.duplicatePlatform(try Platform(parsing: "linux/arm64"), Self.source, Self.source)) {
            try IndexAssembly.make(entries: [a, b], kind: nil)
        }
        // Different variants are different platforms.
        let v6 = try Self.entry("linux/arm/v6", seed: "c")
        let v7 = try Self.entry("linux/arm/v7", seed: "d")
        #expect(
            try CanonicalJSON.decode(ImageIndex.self, from: IndexAssembly.make(entries: [v6, v7], kind: nil).bytes).manifests.count == 2)
    }

    @Test func annotationsNeedAnOCIIndex() throws {
        let a = try Self.entry("linux/amd64", type: .dockerManifest, seed: "a")
        #expect(throws: ManifestToolError.annotationsNeedOCI) { try IndexAssembly.make(entries: [a], kind: nil, annotations: ["k": "v"]) }
        let index = try CanonicalJSON.decode(
            ImageIndex.self, from: IndexAssembly.make(entries: [a], kind: .oci, annotations: ["k": "v"]).bytes)
        #expect(index.annotations == ["k": "v"])
    }
}
