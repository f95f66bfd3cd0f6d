// Parse cases after containerd/platforms `platforms_test.go` (TestParseSelector,
// TestParseSelectorInvalid), written for kiln's rule that a platform is always `os/arch[/variant]`
// and always normalised (arm64's v8 and amd64's v1 dropped, arm's v7 explicit).
import ImageModel
import PluginAPI
import PluginSupport
import Testing

@Suite struct PlatformTests {
    @Test(arguments: [
        ("linux/arm64", "linux/arm64"),
        ("linux/arm64/v8", "linux/arm64"),
        ("linux/aarch64", "linux/arm64"),
        ("linux/arm", "linux/arm/v7"),
        ("linux/arm/7", "linux/arm/v7"),
        ("linux/armhf", "linux/arm/v7"),
        ("linux/arm/v6", "linux/arm/v6"),
        ("linux/armel", "linux/arm/v6"),
        ("linux/arm/5", "linux/arm/v5"),
        ("Linux/x86_64", "linux/amd64"),
        ("linux/x86-64", "linux/amd64"),
        ("linux/amd64/v1", "linux/amd64"),
        ("linux/amd64/v3", "linux/amd64/v3"),
        ("linux/i386", "linux/386"),
        ("linux/s390x", "linux/s390x"),
        ("linux/ppc64le", "linux/ppc64le"),
        ("linux/riscv64", "linux/riscv64"),
        ("windows/amd64", "windows/amd64"),
    ])
    func parsesAndNormalises(input: String, normalised: String) throws {
        let platform = try Platform(parsing: input)
        #expect(platform.description == normalised)
        #expect(try Platform(parsing: platform.description) == platform)
    }

    @Test(arguments: [
        "", "/linux/arm", "linux/arm/", "linux /arm", "linux/&arm", "linux/arm/foo/bar", "linux", "arm64",
    ])
    func rejects(input: String) {
        #expect(throws: Platform.ParseError.malformed(input)) { try Platform(parsing: input) }
    }

    // containerd's matcher cases: each left side satisfies a request for the right side.
    @Test(arguments: [
        (Platform(os: "linux", architecture: "aarch64"), "linux/arm64", true),
        (Platform(os: "linux", architecture: "arm64", variant: "v8"), "linux/arm64", true),
        (Platform(os: "linux", architecture: "arm"), "linux/arm/v7", true),
        (Platform(os: "linux", architecture: "armhf"), "linux/arm", true),
        (Platform(os: "linux", architecture: "armel"), "linux/arm/v6", true),
        (Platform(os: "linux", architecture: "arm", variant: "v6"), "linux/arm/v7", false),
        (Platform(os: "linux", architecture: "amd64"), "linux/arm64", false),
        (Platform(os: "windows", architecture: "amd64"), "linux/amd64", false),
    ])
    func matches(image: Platform, wanted: String, expected: Bool) throws {
        #expect(image.matches(try Platform(parsing: wanted)) == expected)
    }

    @Test func indexPicksThePlatformAndPrefersTheExactVariant() throws {
        func entry(_ p: Platform, _ seed: String) -> Descriptor {
            Descriptor(mediaType: .ociManifest, digest: .sha256(of: seed), size: 1, platform: p)
        }
        let index = ImageIndex(manifests: [
            entry(Platform(os: "linux", architecture: "amd64"), "amd64"),
            entry(Platform(os: "linux", architecture: "arm", variant: "v6"), "v6"),
            entry(Platform(os: "linux", architecture: "arm", variant: "v7"), "v7"),
        ])
        #expect(index.manifest(for: try Platform(parsing: "linux/arm/v7"))?.digest == .sha256(of: "v7"))
        #expect(index.manifest(for: try Platform(parsing: "linux/arm/v6"))?.digest == .sha256(of: "v6"))
        #expect(index.manifest(for: try Platform(parsing: "linux/x86_64"))?.digest == .sha256(of: "amd64"))
        #expect(index.manifest(for: try Platform(parsing: "linux/s390x")) == nil)
    }

    @Test func jsonUsesTheSpecKeys() throws {
        var platform = Platform(os: "windows", architecture: "amd64")
        platform.osVersion = "10.0.17763"
        platform.osFeatures = ["win32k"]
        let json = String(decoding: try CanonicalJSON.encode(platform), as: UTF8.self)
        #expect(json == #"{"architecture":"amd64","os":"windows","os.features":["win32k"],"os.version":"10.0.17763"}"#)
    }
}
