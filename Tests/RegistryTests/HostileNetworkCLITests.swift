// The `kiln` binary with default flags through a hostile network (issue 12, item 10): a push
// through a proxy that answers 503 to every third request and drops every other upload
// mid-body succeeds and yields the same manifest digest as a direct push; a build whose base
// is pulled through a proxy that answers 503 to every third request and cuts every other blob
// download succeeds.
import Foundation
import PluginAPI
import TestSupport
import Testing

extension RegistryIntegration {
    @Suite struct HostileNetworkCLITests {
        /// Only the back-off is shortened (a test knob, not a flag): the retry counts are kiln's defaults.
        static let environment: [String: String?] = [
            "DOCKER_CONFIG": RegistryPlugin.emptyDockerConfig, "KILN_REGISTRY_RETRY_DELAY": "0.05",
        ]

        /// A FROM-scratch context with a 20 MiB layer (above the 16 MiB monolithic limit, so it
        /// is streamed with PATCH) and a small one.
        static func context(in scratch: FixtureDirectory) throws -> String {
            let dir = scratch.file("context")
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try Data("FROM scratch\nCOPY big.bin /big.bin\nCOPY small.txt /small.txt\n".utf8)
                .write(to: URL(fileURLWithPath: dir + "/Dockerfile"))
            try Data(TestImageLayout.randomBytes(20 << 20)).write(to: URL(fileURLWithPath: dir + "/big.bin"))
            try Data("small\n".utf8).write(to: URL(fileURLWithPath: dir + "/small.txt"))
            return dir
        }

        @Test func pushThroughAHostileProxyWithDefaultFlagsMatchesADirectPush() async throws {
            let scratch = try FixtureDirectory(prefix: "kiln-hostile")
            defer { scratch.remove() }
            let context = try Self.context(in: scratch)
            try await withRegistry(.plain) { registry in
                let proxy = try await FaultProxyFixture(
                    upstream: registry.host,
                    rules: [
                        .status(503, ".*", path: ".*").everyNth(3),
                        .resetRequest("PATCH|PUT", path: FaultScenario.uploads, afterBytes: 1 << 20).carryingABody().everyNth(2),
                    ])
                defer { proxy.stop() }
                func push(_ host: String, _ repository: String) async throws -> (ProcessResult, String) {
                    let digestFile = scratch.file("digest-\(repository.replacing("/", with: "-"))")
                    let result = try await KilnCommand.run(
                        [
                            "--context", context, "--reproducible", "--destination", "\(host)/\(repository):v1",
                            "--digest-file", digestFile, "--insecure-registry", host,
                        ],
                        environment: Self.environment, currentDirectory: scratch.path)
                    let digest = (try? String(contentsOfFile: digestFile, encoding: .utf8)) ?? ""
                    return (result, digest.trimmingCharacters(in: .whitespacesAndNewlines))
                }
                let (viaProxy, proxied) = try await push(proxy.host, "via/app")
                #expect(viaProxy.succeeded, "the push through the faulty proxy must succeed with default flags: \(viaProxy)")
                let (direct, directDigest) = try await push(registry.host, "direct/app")
                #expect(direct.succeeded, "\(direct)")
                #expect(proxied.hasPrefix("sha256:") && proxied == directDigest)
                #expect(try await registry.skopeoDigest("via/app", tag: "v1") == directDigest)
                let seen = proxy.requests()
                #expect(seen.contains { $0.status == 503 } && seen.contains { $0.action == "reset-request" }, "\(seen)")
                let output = viaProxy.stdout + viaProxy.stderr
                #expect(output.contains("retry 1 of 3"), "each retry is reported: \(output)")
            }
        }

        @Test func buildPullsItsBaseThroughAResettingProxyWithDefaultFlags() async throws {
            let scratch = try FixtureDirectory(prefix: "kiln-hostile")
            defer { scratch.remove() }
            try await withRegistry(.plain) { registry in
                let image = try await PushableImage.make(layerSizes: [600_000, 900_000], in: scratch)
                let direct = ImageReference(registry: registry.host, repository: "kiln/base", tag: "v1")
                try await image.push(with: try RegistryPlugin.client(RegistryPlugin.options(for: registry)), to: direct)
                let proxy = try await FaultProxyFixture(
                    upstream: registry.host,
                    rules: [
                        .status(503, ".*", path: ".*").everyNth(3),
                        .resetResponse("GET", path: image.layers.map(\.digest.encoded).joined(separator: "|"), afterBytes: 200_000)
                            .everyNth(2),
                    ])
                defer { proxy.stop() }
                let context = scratch.file("pull-context")
                try FileManager.default.createDirectory(atPath: context, withIntermediateDirectories: true)
                try Data("FROM \(proxy.host)/kiln/base:v1\nCOPY Dockerfile /copied\n".utf8)
                    .write(to: URL(fileURLWithPath: context + "/Dockerfile"))
                let result = try await KilnCommand.run(
                    [
                        "--context", context, "--no-push", "--oci-layout-path", scratch.file("out"), "--insecure-registry",
                        proxy.host,
                    ],
                    environment: Self.environment, currentDirectory: scratch.path)
                #expect(result.succeeded, "the pull through the resetting proxy must succeed with default flags: \(result)")
                let seen = proxy.requests()
                // status 0: the proxy cut a layer download mid-body.
                #expect(seen.contains { $0.action == "reset-response" && $0.status == 0 } && seen.contains { $0.status == 503 }, "\(seen)")
                #expect(FileManager.default.fileExists(atPath: scratch.file("out") + "/index.json"))
            }
        }

        /// An upload started during the build that fails is not the build's failure: the final
        /// push uploads that blob again. The proxy refuses the second upload session (the first is
        /// the permission check's) with a 403, which no retry repeats.
        @Test func aFailedEarlyUploadIsPushedAgainAtTheEnd() async throws {
            let scratch = try FixtureDirectory(prefix: "kiln-hostile")
            defer { scratch.remove() }
            let context = try Self.context(in: scratch)
            try await withRegistry(.plain) { registry in
                let proxy = try await FaultProxyFixture(
                    upstream: registry.host, rules: [.status(403, "POST", path: FaultScenario.uploads).skipping(1)])
                defer { proxy.stop() }
                let digestFile = scratch.file("digest")
                let result = try await KilnCommand.run(
                    [
                        "--context", context, "--reproducible", "--destination", "\(proxy.host)/early/app:v1", "--digest-file",
                        digestFile, "--insecure-registry", proxy.host, "--verbosity", "debug",
                    ],
                    environment: Self.environment, currentDirectory: scratch.path)
                #expect(result.succeeded, "\(result)")
                let seen = proxy.requests()
                #expect(seen.contains { $0.method == "POST" && $0.status == 403 }, "\(seen)")
                #expect(result.stderr.contains("(the push tries again)"), "\(result.stderr)")
                let digest = (try? String(contentsOfFile: digestFile, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
                #expect(try await registry.skopeoDigest("early/app", tag: "v1") == digest)
            }
        }
    }
}
