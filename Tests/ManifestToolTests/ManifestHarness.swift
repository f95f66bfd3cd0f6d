// Shared pieces of the `kiln manifest` end-to-end tests: per-platform images built by kiln
// itself (FROM scratch + COPY, so no RUN and no emulation), `kiln manifest` runs, and checks
// of the registry's content with skopeo.
import Foundation
import ImageModel
import PluginAPI
import PluginSupport
import TestSupport
import Testing

/// Every end-to-end manifest test runs in this suite, one at a time (each starts registries).
@Suite(
    .serialized,
    .enabled(
        if: ExecutableLookup.available("docker-registry", "skopeo", "curl", "openssl", "htpasswd"),
        "needs docker-registry, skopeo, curl, openssl, apache2-utils (see Tests/Tools/README.md)"))
struct ManifestIntegration {}

enum ManifestHarness {
    /// A DOCKER_CONFIG that does not exist: the machine's own credentials never reach a test.
    static let noDockerConfig = "/nonexistent/kiln-tests-no-docker-config"

    /// Builds a FROM-scratch image for `platform` whose one file says which platform it is,
    /// pushes it to `reference`, and returns the digest kiln reports.
    @discardableResult
    static func buildImage(
        _ reference: String, platform: String, registry: RegistryFixture, in scratch: FixtureDirectory,
        environment: [String: String?] = [:]
    ) async throws -> String {
        let name = platform.replacing("/", with: "-")
        let context = scratch.file("context-\(name)")
        try FileManager.default.createDirectory(atPath: context, withIntermediateDirectories: true)
        try "FROM scratch\nCOPY platform.txt /platform.txt\n".write(toFile: context + "/Dockerfile", atomically: false, encoding: .utf8)
        try "\(platform)\n".write(toFile: context + "/platform.txt", atomically: false, encoding: .utf8)
        let digestFile = scratch.file("digest-\(name)-\(reference.count)")
        let result = try await KilnCommand.run(
            [
                "--context", context, "--destination", reference, "--custom-platform", platform, "--digest-file", digestFile,
                "--reproducible",
            ] + registry.kilnFlags,
            environment: ["DOCKER_CONFIG": noDockerConfig].merging(environment) { $1 }, currentDirectory: scratch.path)
        try #require(result.succeeded, "building \(reference) for \(platform): \(result)")
        return try String(contentsOfFile: digestFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Runs `kiln manifest ARGS` with the flags that reach `registry`.
    static func manifest(
        _ args: [String], registry: RegistryFixture, environment: [String: String?] = [:], in scratch: FixtureDirectory
    ) async throws -> ProcessResult {
        try await KilnCommand.run(
            ["manifest"] + args + registry.kilnFlags, environment: ["DOCKER_CONFIG": noDockerConfig].merging(environment) { $1 },
            currentDirectory: scratch.path)
    }

    /// skopeo's flags to reach `registry`.
    static func skopeoFlags(_ registry: RegistryFixture, creds: (String, String)? = nil) -> [String] {
        var flags = registry.certificates.map { ["--cert-dir", $0.certDirectory] } ?? ["--tls-verify=false"]
        if let (u, p) = creds { flags += ["--creds", "\(u):\(p)"] }
        return flags
    }

    /// `skopeo inspect --raw` of `HOST/reference`: the bytes the registry serves.
    static func raw(_ registry: RegistryFixture, _ reference: String, creds: (String, String)? = nil) async throws -> [UInt8] {
        let r = try await ProcessRunner.check(
            "skopeo", ["inspect", "--raw"] + skopeoFlags(registry, creds: creds) + ["docker://\(registry.host)/\(reference)"])
        return Array(r.stdout.utf8)
    }

    /// The index at `HOST/reference`, read by skopeo, and its digest.
    static func index(_ registry: RegistryFixture, _ reference: String, creds: (String, String)? = nil) async throws -> (ImageIndex, Digest)
    {
        let bytes = try await raw(registry, reference, creds: creds)
        return (try CanonicalJSON.decode(ImageIndex.self, from: bytes), Digest.sha256(of: bytes))
    }

    /// The platform `skopeo inspect --config` reads from the image `HOST/repository@digest`:
    /// proves the child manifest and its config are in that repository.
    static func configPlatform(_ registry: RegistryFixture, _ repository: String, _ digest: Digest, creds: (String, String)? = nil)
        async throws -> String
    {
        let r = try await ProcessRunner.check(
            "skopeo", ["inspect", "--config"] + skopeoFlags(registry, creds: creds) + ["docker://\(registry.host)/\(repository)@\(digest)"])
        let config = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        return "\(config?["os"] as? String ?? "?")/\(config?["architecture"] as? String ?? "?")"
    }

    /// The platforms of an index's entries, in order (`os/arch[/variant]`).
    static func platforms(_ index: ImageIndex) -> [String] {
        index.manifests.map { $0.platform?.description ?? "none" }
    }
}
