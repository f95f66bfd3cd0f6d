// `kiln manifest push` end to end: two images kiln built for linux/amd64 and linux/arm64 in
// two repositories of a real registry, merged into one index in a third.
import Foundation
import ImageModel
import PluginAPI
import TestSupport
import Testing

extension ManifestIntegration {
    @Suite struct ManifestPushTests {
        /// Builds `app-amd64:v1` and `app-arm64:v1` and returns their digests by architecture.
        static func perArchImages(_ registry: RegistryFixture, in scratch: FixtureDirectory) async throws -> [String: String] {
            var digests: [String: String] = [:]
            for arch in ["amd64", "arm64"] {
                digests[arch] = try await ManifestHarness.buildImage(
                    registry.reference("team/app-\(arch)", tag: "v1"), platform: "linux/\(arch)", registry: registry, in: scratch)
            }
            return digests
        }

        @Test func fromArgsMergesImagesOfOtherRepositoriesByMounting() async throws {
            let scratch = try FixtureDirectory(prefix: "kiln-manifest")
            defer { scratch.remove() }
            try await withRegistry(.plain) { registry in
                let built = try await Self.perArchImages(registry, in: scratch)
                let uploadsBefore = await registry.blobUploadCount()
                let result = try await ManifestHarness.manifest(
                    [
                        "push", "from-args", "--platforms", "linux/amd64,linux/arm64", "--template", "\(registry.host)/team/app-ARCH:v1",
                        "--target", "\(registry.host)/team/app:v1", "--tags", "latest,stable",
                    ], registry: registry, in: scratch)
                try #require(result.succeeded, "\(result)")
                let (index, digest) = try await ManifestHarness.index(registry, "team/app:v1")
                #expect(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == digest.description)
                #expect(ManifestHarness.platforms(index) == ["linux/amd64", "linux/arm64"])
                #expect(index.manifests.map(\.digest.description) == [built["amd64"], built["arm64"]])
                // kiln writes OCI manifests, so the list follows them.
                #expect(index.mediaType == .ociIndex)
                for (entry, arch) in zip(index.manifests, ["amd64", "arm64"]) {
                    #expect(try await ManifestHarness.configPlatform(registry, "team/app", entry.digest) == "linux/\(arch)")
                }
                for tag in ["latest", "stable"] {
                    #expect(try await ManifestHarness.index(registry, "team/app:\(tag)").1 == digest, "tag \(tag)")
                }
                // Every blob reached team/app by a cross-repository mount: no bytes were uploaded.
                #expect(await registry.blobUploadCount() == uploadsBefore)
                let log = await registry.settledAccessLog()
                #expect(log.contains { $0.method == "POST" && $0.path.contains("mount=") }, "no mount request in \(log)")

                // --type docker gives a Docker manifest list of the same entries.
                let docker = try await ManifestHarness.manifest(
                    [
                        "push", "from-args", "--platforms", "linux/amd64,linux/arm64", "--template", "\(registry.host)/team/app-ARCH:v1",
                        "--target", "\(registry.host)/team/app:docker", "--type", "docker",
                    ], registry: registry, in: scratch)
                try #require(docker.succeeded, "\(docker)")
                let (list, _) = try await ManifestHarness.index(registry, "team/app:docker")
                #expect(list.mediaType == .dockerManifestList)
                #expect(list.manifests.map(\.digest) == index.manifests.map(\.digest))
            }
        }

        @Test func fromSpecGivesTheSameIndexAsFromArgs() async throws {
            let scratch = try FixtureDirectory(prefix: "kiln-manifest")
            defer { scratch.remove() }
            try await withRegistry(.plain) { registry in
                _ = try await Self.perArchImages(registry, in: scratch)
                let spec = try scratch.write(
                    """
                    image: \(registry.host)/team/app:spec
                    tags: [1, latest]
                    manifests:
                      - image: \(registry.host)/team/app-amd64:v1
                        platform:
                          architecture: amd64
                          os: linux
                      - image: \(registry.host)/team/app-arm64:v1
                        platform:
                          architecture: arm64
                          os: linux
                    """, to: "spec.yaml")
                let fromSpec = try await ManifestHarness.manifest(["push", "from-spec", spec], registry: registry, in: scratch)
                try #require(fromSpec.succeeded, "\(fromSpec)")
                let fromArgs = try await ManifestHarness.manifest(
                    [
                        "push", "from-args", "--platforms", "linux/amd64,linux/arm64", "--template", "\(registry.host)/team/app-ARCH:v1",
                        "--target", "\(registry.host)/team/app:args",
                    ], registry: registry, in: scratch)
                try #require(fromArgs.succeeded, "\(fromArgs)")
                #expect(fromSpec.stdout == fromArgs.stdout)
                let (index, digest) = try await ManifestHarness.index(registry, "team/app:spec")
                #expect(ManifestHarness.platforms(index) == ["linux/amd64", "linux/arm64"])
                #expect(try await ManifestHarness.index(registry, "team/app:1").1 == digest)
                #expect(try await ManifestHarness.index(registry, "team/app:latest").1 == digest)
            }
        }

        @Test func ignoreMissingSkipsAnAbsentSourceAndWithoutItTheSourceIsNamed() async throws {
            let scratch = try FixtureDirectory(prefix: "kiln-manifest")
            defer { scratch.remove() }
            try await withRegistry(.plain) { registry in
                _ = try await Self.perArchImages(registry, in: scratch)
                let args = [
                    "push", "from-args", "--platforms", "linux/amd64,linux/s390x,linux/arm64", "--template",
                    "\(registry.host)/team/app-ARCH:v1", "--target", "\(registry.host)/team/app:v1",
                ]
                let strict = try await ManifestHarness.manifest(args, registry: registry, in: scratch)
                #expect(strict.exitCode == 1, "\(strict)")
                #expect(strict.stderr.contains("\(registry.host)/team/app-s390x:v1 does not exist"), "\(strict.stderr)")
                #expect(strict.stderr.contains("--ignore-missing"))

                let lenient = try await ManifestHarness.manifest(args + ["--ignore-missing"], registry: registry, in: scratch)
                try #require(lenient.succeeded, "\(lenient)")
                #expect(lenient.stderr.contains("app-s390x:v1 does not exist; left out"), "\(lenient.stderr)")
                let (index, _) = try await ManifestHarness.index(registry, "team/app:v1")
                #expect(ManifestHarness.platforms(index) == ["linux/amd64", "linux/arm64"])

                let none = try await ManifestHarness.manifest(
                    [
                        "push", "from-args", "--platforms", "linux/s390x", "--template", "\(registry.host)/team/app-ARCH:v1",
                        "--target", "\(registry.host)/team/app:none", "--ignore-missing",
                    ], registry: registry, in: scratch)
                #expect(none.exitCode == 1)
                #expect(none.stderr.contains("every source image is missing"), "\(none.stderr)")
            }
        }

        @Test func aPlatformThatContradictsTheConfigIsRefused() async throws {
            let scratch = try FixtureDirectory(prefix: "kiln-manifest")
            defer { scratch.remove() }
            try await withRegistry(.plain) { registry in
                _ = try await Self.perArchImages(registry, in: scratch)
                // The template ignores ARCH: the amd64 image would be published as arm64.
                let result = try await ManifestHarness.manifest(
                    [
                        "push", "from-args", "--platforms", "linux/arm64", "--template", "\(registry.host)/team/app-amd64:v1",
                        "--target", "\(registry.host)/team/app:wrong",
                    ], registry: registry, in: scratch)
                #expect(result.exitCode == 1, "\(result)")
                #expect(result.stderr.contains("was given as linux/arm64, but its config says linux/amd64"), "\(result.stderr)")
                let status = try await ProcessRunner.run(
                    "curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "\(registry.baseURL)/v2/team/app/manifests/wrong"])
                #expect(status.stdout == "404", "nothing may be pushed")
            }
        }

        @Test func basicAuthRegistryWithUsernameAndPassword() async throws {
            let scratch = try FixtureDirectory(prefix: "kiln-manifest")
            defer { scratch.remove() }
            let (user, password) = ("kiln-manifest", "Manifest-Pa55-9c1e")
            try await withRegistry(.tlsBasic(users: [user: password])) { registry in
                let env = try registry.dockerConfigEnvironment(user: user, password: password, in: scratch.file("docker"))
                for arch in ["amd64", "arm64"] {
                    try await ManifestHarness.buildImage(
                        registry.reference("team/app-\(arch)", tag: "v1"), platform: "linux/\(arch)", registry: registry, in: scratch,
                        environment: env)
                }
                let args = [
                    "push", "from-args", "--platforms", "linux/amd64,linux/arm64", "--template", "\(registry.host)/team/app-ARCH:v1",
                    "--target", "\(registry.host)/team/app:v1",
                ]
                let anonymous = try await ManifestHarness.manifest(args, registry: registry, in: scratch)
                #expect(anonymous.exitCode == 1, "\(anonymous)")
                #expect(anonymous.stderr.contains("401") || anonymous.stderr.lowercased().contains("unauthorized"), "\(anonymous.stderr)")

                let result = try await ManifestHarness.manifest(
                    ["--username", user, "--password", password] + args, registry: registry, in: scratch)
                try #require(result.succeeded, "\(result)")
                #expect(!result.stderr.contains(password))
                let (index, digest) = try await ManifestHarness.index(registry, "team/app:v1", creds: (user, password))
                #expect(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == digest.description)
                #expect(ManifestHarness.platforms(index) == ["linux/amd64", "linux/arm64"])

                // --docker-cfg: manifest-tool's way to name the config.json directory.
                let configDirectory = try #require(env["DOCKER_CONFIG"] ?? nil)
                let fromConfig = try await ManifestHarness.manifest(
                    ["--docker-cfg", configDirectory] + args.dropLast() + ["\(registry.host)/team/app:cfg"], registry: registry, in: scratch
                )
                try #require(fromConfig.succeeded, "\(fromConfig)")
                #expect(fromConfig.stdout == result.stdout)

                // manifest-tool's order: credentials before `push`, --type before `from-args`.
                let toolOrder = try await KilnCommand.run(
                    ["manifest", "--username", user, "--password", password, "push", "--type", "docker", "from-args"]
                        + args.dropFirst(2).dropLast() + ["\(registry.host)/team/app:list"]
                        + registry.kilnFlags,
                    environment: ["DOCKER_CONFIG": ManifestHarness.noDockerConfig], currentDirectory: scratch.path)
                try #require(toolOrder.succeeded, "\(toolOrder)")
                let (list, _) = try await ManifestHarness.index(registry, "team/app:list", creds: (user, password))
                #expect(list.mediaType == .dockerManifestList)
            }
        }
    }
}
