// End to end through the `kiln` binary: build examples/hello (FROM scratch) and push it to each
// registry set-up, then check the result with skopeo and podman.
import Foundation
import ImageModel
import PluginAPI
import TestSupport
import Testing

extension RegistryIntegration {
    @Suite struct CLIPushTests {
        /// `examples/hello` in this checkout.
        static let helloContext = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("examples/hello").path

        /// Runs `kiln --context examples/hello --destination REF --digest-file …` against `registry`
        /// and returns the result and the digest kiln wrote.
        static func build(
            to registry: RegistryFixture, _ repository: String, tag: String, in scratch: FixtureDirectory,
            extra: [String] = [], environment: [String: String?] = [:]
        ) async throws -> (ProcessResult, String) {
            let digestFile = scratch.file("digest-\(repository.replacing("/", with: "-"))-\(tag)")
            let result = try await KilnCommand.run(
                ["--context", helloContext, "--destination", registry.reference(repository, tag: tag), "--digest-file", digestFile]
                    + registry.kilnFlags + extra,
                environment: ["DOCKER_CONFIG": RegistryPlugin.emptyDockerConfig].merging(environment) { $1 },
                currentDirectory: scratch.path)
            let digest = (try? String(contentsOfFile: digestFile, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            return (result, digest)
        }

        @Test func buildPushesAnImageSkopeoAndPodmanPullAndASecondPushUploadsNothing() async throws {
            let scratch = try FixtureDirectory(prefix: "kiln-cli")
            defer { scratch.remove() }
            try await withRegistry(.plain) { registry in
                // --reproducible: the same image both times (otherwise timestamps change every blob).
                let (first, digest) = try await Self.build(to: registry, "hello", tag: "v1", in: scratch, extra: ["--reproducible"])
                #expect(first.succeeded, "\(first)")
                #expect(digest.hasPrefix("sha256:"), "--digest-file: '\(digest)'")
                #expect(try await registry.skopeoDigest("hello", tag: "v1") == digest)
                let layout = scratch.file("copied")
                try await ProcessRunner.check(
                    "skopeo",
                    [
                        "copy", "--src-tls-verify=false", "docker://\(registry.reference("hello", tag: "v1"))",
                        "oci:\(layout):v1",
                    ])
                let index = try JSONDecoder().decode(ImageIndex.self, from: Data(contentsOf: URL(fileURLWithPath: layout + "/index.json")))
                #expect(index.manifests.map(\.digest.description) == [digest])

                let uploadsBefore = await registry.blobUploadCount()
                #expect(uploadsBefore >= 2, "the first push uploads the layers and the config")
                let (second, again) = try await Self.build(to: registry, "hello", tag: "v2", in: scratch, extra: ["--reproducible"])
                #expect(second.succeeded, "\(second)")
                #expect(again == digest, "a reproducible build pushes the same manifest")
                let uploadsAfter = await registry.blobUploadCount()
                let log = await registry.settledAccessLog()
                #expect(uploadsAfter == uploadsBefore, "the second push must upload no blob: \(log)")
                #expect(try await registry.skopeoDigest("hello", tag: "v2") == again)

                if ExecutableLookup.find("podman") != nil || ExecutableLookup.isCI {
                    let name = registry.reference("hello", tag: "v1")
                    let pull = try await ProcessRunner.run("podman", ["pull", "--tls-verify=false", name], timeout: 120)
                    #expect(pull.succeeded, "\(pull)")
                    _ = try? await ProcessRunner.run("podman", ["rmi", "--force", name])
                }
            }
        }

        @Test(arguments: ["tls+basic", "token"])
        func buildPushesWithCredentialsFromConfigJSON(_ setup: String) async throws {
            let scratch = try FixtureDirectory(prefix: "kiln-cli")
            defer { scratch.remove() }
            let (user, password) =
                setup == "token" ? (TokenAuthTests.user, TokenAuthTests.password) : (BasicAuthTests.user, BasicAuthTests.password)
            let fixture: RegistryFixture.Setup =
                setup == "token" ? .token(TokenAuthTests.configuration()) : .tlsBasic(users: [user: password])
            try await withRegistry(fixture) { registry in
                let env = try registry.dockerConfigEnvironment(user: user, password: password, in: scratch.file("docker"))
                let (result, digest) = try await Self.build(
                    to: registry, "team/hello", tag: "v1", in: scratch,
                    extra: ["--verbosity", "trace"], environment: env)
                #expect(result.succeeded, "\(result)")
                #expect(try await registry.skopeoDigest("team/hello", tag: "v1", creds: (user, password)) == digest)

                // The most verbose log holds no credential and no token.
                var secrets = [password, DockerConfigFile.basicAuth(user: user, password: password)]
                secrets += registry.tokenIssuer?.issuedSecrets() ?? []
                let output = result.stdout + result.stderr
                #expect(output.contains("oci:"), "trace output includes the registry client's request lines")
                for secret in secrets { #expect(!output.contains(secret), "a secret leaked (\(secret.prefix(6))…)") }

                // A wrong password fails the build with a message naming the registry, and no secret.
                let wrong = "Wrong-CLI-Pa55-2b8e"
                let badEnv = try registry.dockerConfigEnvironment(user: user, password: wrong, in: scratch.file("docker-wrong"))
                let (bad, _) = try await Self.build(
                    to: registry, "team/hello", tag: "v2", in: scratch, extra: ["--verbosity", "trace"],
                    environment: badEnv)
                #expect(!bad.succeeded)
                #expect((bad.stdout + bad.stderr).contains(registry.host), "\(bad)")
                for secret in [wrong, DockerConfigFile.basicAuth(user: user, password: wrong)]
                    + (registry.tokenIssuer?.issuedSecrets() ?? [])
                {
                    #expect(!(bad.stdout + bad.stderr).contains(secret), "a secret leaked in the failed build's output")
                }
            }
        }
    }
}
