// Pushing and pulling through the fault proxy: with retries the transfer completes and every
// blob in the registry has the right digest; without, it fails clearly and leaves no manifest.
import Foundation
import PluginAPI
import PluginSupport
import TestSupport
import Testing

/// A named set of faults (named so test output says which one failed).
struct FaultScenario: Sendable, CustomTestStringConvertible {
    var name: String
    var rules: [FaultRule]
    /// Whether the push must fail when it may not retry (a stall only delays it).
    var failsWithoutRetry = true
    /// Words one of which the error must contain when it fails (the status, or the reset).
    var evidence: [String] = []
    /// Plugin tuning (`registry.*` options), e.g. to force PATCH uploads for small blobs.
    var tuning: [String: String] = [:]
    var testDescription: String { name }

    var pluginOptions: [String: String] { RegistryPlugin.fastRetries.merging(tuning) { $1 } }
    /// The plugin options with the default retries switched off (`registry.retries=0`), as
    /// `--push-retry 0` meant before transient failures were retried by default.
    var noRetries: [String: String] { pluginOptions.merging(["registry.retries": "0"]) { $1 } }

    static let streamed = ["registry.monolithic-limit": "65536"]
    static let chunked = ["registry.monolithic-limit": "65536", "registry.chunk-size": "262144"]
    static let resetEvidence = ["reset", "curl error", "connection", "Connection"]

    static let uploads = "/blobs/uploads/"

    static let push: [FaultScenario] = [
        FaultScenario(
            name: "reset mid-upload", rules: [.resetRequest("PATCH|PUT", path: uploads, afterBytes: 64 * 1024, times: 2)],
            evidence: resetEvidence),
        FaultScenario(
            name: "reset mid streamed PATCH", rules: [.resetRequest("PATCH", path: uploads, afterBytes: 200 * 1024)],
            evidence: resetEvidence, tuning: streamed),
        FaultScenario(
            name: "reset mid second chunk", rules: [.resetRequest("PATCH", path: uploads, afterBytes: 100 * 1024).skipping(1)],
            evidence: resetEvidence, tuning: chunked),
        FaultScenario(name: "503 on PATCH", rules: [.status(503, "PATCH", path: uploads)], evidence: ["503"], tuning: streamed),
        FaultScenario(name: "500 on upload start", rules: [.status(500, "POST", path: uploads)], evidence: ["500"]),
        FaultScenario(name: "502 on blob upload", rules: [.status(502, "PATCH|PUT", path: uploads)], evidence: ["502"]),
        FaultScenario(name: "503 on blob check", rules: [.status(503, "HEAD", path: "/blobs/sha256:", times: 2)], evidence: ["503"]),
        FaultScenario(name: "503 on manifest put", rules: [.status(503, "PUT", path: "/manifests/")], evidence: ["503"]),
        FaultScenario(
            name: "429 with Retry-After", rules: [.status(429, "POST|PATCH|PUT", path: uploads, retryAfter: 1)], evidence: ["429"]),
        FaultScenario(
            name: "stall before the upload answer", rules: [.stall("PATCH|PUT", path: uploads, seconds: 2)],
            failsWithoutRetry: false),
    ]

    /// Not in `pull`: a wrong hash is retried once only, so a blob corrupted twice is refused.
    static let corruptBlob = FaultScenario(
        name: "corrupted blob body", rules: [.corruptResponse(path: "/blobs/sha256:", offset: 1000, times: 2)],
        evidence: ["digest", "sha256"])

    static let pull: [FaultScenario] = [
        FaultScenario(name: "reset mid-download", rules: [.resetResponse("GET", path: "/blobs/sha256:", afterBytes: 100 * 1024, times: 2)]),
        FaultScenario(name: "503 on manifest get", rules: [.status(503, "GET", path: "/manifests/")]),
        FaultScenario(name: "429 on blob get", rules: [.status(429, "GET", path: "/blobs/sha256:", retryAfter: 1)]),
        FaultScenario(
            name: "stall mid-download", rules: [.stall("GET", path: "/blobs/sha256:", seconds: 2, afterBytes: 50 * 1024)],
            failsWithoutRetry: false),
    ]
}

extension RegistryIntegration {
    @Suite struct FaultInjectionTests {
        /// A plain registry with the fault proxy in front; `body` gets both.
        static func withProxy(_ scenario: FaultScenario, _ body: (RegistryFixture, FaultProxyFixture) async throws -> Void) async throws {
            try await withRegistry(.plain) { registry in
                let proxy = try await FaultProxyFixture(upstream: registry.host, rules: scenario.rules)
                defer { proxy.stop() }
                try await body(registry, proxy)
            }
        }

        static func proxyOptions(_ proxy: FaultProxyFixture, pushRetry: Int = 0, downloadRetry: Int = 0) -> RegistryOptions {
            var o = RegistryOptions()
            o.insecureRegistries = [proxy.host]
            o.dockerConfigDirectory = RegistryPlugin.emptyDockerConfig
            o.pushRetry = pushRetry
            o.downloadRetry = downloadRetry
            return o
        }

        @Test(arguments: FaultScenario.push)
        func pushWithRetriesCompletesWithCorrectBlobs(_ scenario: FaultScenario) async throws {
            let scratch = try FixtureDirectory(prefix: "kiln-fault")
            defer { scratch.remove() }
            try await Self.withProxy(scenario) { registry, proxy in
                let image = try await PushableImage.make(layerSizes: [300_000, 1_200_000], in: scratch)
                let client = try RegistryPlugin.client(Self.proxyOptions(proxy, pushRetry: 3), pluginOptions: scenario.pluginOptions)
                let reference = ImageReference(registry: proxy.host, repository: "kiln/faulty", tag: "v1")
                let digest = try await image.push(with: client, to: reference)
                #expect(digest == image.manifestDigest)
                let seen = proxy.requests()
                #expect(seen.contains { $0.action != "pass" }, "the fault was never triggered: \(seen)")
                for blob in image.blobs {
                    let stored = try await RegistryProbe.blobDigest(registry, repository: "kiln/faulty", blob.digest, in: scratch)
                    #expect(stored == blob.digest, "\(scenario.name): blob \(blob.digest) stored as \(String(describing: stored))")
                }
                #expect(try await RegistryProbe.inspect(registry, "kiln/faulty:v1").digest == image.manifestDigest.description)
                if let limited = seen.firstIndex(where: { $0.status == 429 }), let t0 = seen[limited].time {
                    let next = seen[(limited + 1)...].first { $0.path.contains(FaultScenario.uploads) || $0.method == "HEAD" }
                    #expect((next?.time ?? 0) - t0 >= 0.9, "Retry-After: 1 must be honoured: \(seen)")
                }
            }
        }

        @Test(arguments: FaultScenario.push.filter(\.failsWithoutRetry))
        func pushWithoutRetriesFailsAndLeavesNoManifest(_ scenario: FaultScenario) async throws {
            let scratch = try FixtureDirectory(prefix: "kiln-fault")
            defer { scratch.remove() }
            try await Self.withProxy(scenario) { registry, proxy in
                let image = try await PushableImage.make(layerSizes: [300_000, 1_200_000], in: scratch)
                let client = try RegistryPlugin.client(Self.proxyOptions(proxy, pushRetry: 0), pluginOptions: scenario.noRetries)
                let reference = ImageReference(registry: proxy.host, repository: "kiln/faulty", tag: "v1")
                let caught = await CaughtFailure.of { try await image.push(with: client, to: reference) }
                let failure = try #require(caught, "\(scenario.name) must fail the push without retries")
                #expect(failure.text.contains(proxy.host), "the error names the registry: \(failure.text)")
                #expect(failure.isRegistryFailure, "\(failure.text)")
                #expect(failure.isTemporary, "a fault worth retrying must say so (the host suggests --push-retry): \(failure.text)")
                #expect(scenario.evidence.contains { failure.text.contains($0) }, "the error must say what happened: \(failure.text)")
                #expect(
                    try await RegistryProbe.manifestStatus(registry, repository: "kiln/faulty", reference: "v1") == "404",
                    "no manifest may exist after a failed push")
            }
        }

        @Test func pullRetriesACorruptBlobOnceThenRejectsItAndKeepsNoFile() async throws {
            let scratch = try FixtureDirectory(prefix: "kiln-fault")
            let scenario = FaultScenario.corruptBlob
            defer { scratch.remove() }
            try await Self.withProxy(scenario) { registry, proxy in
                let image = try await PushableImage.make(layerSizes: [200_000], in: scratch)
                let direct = ImageReference(registry: registry.host, repository: "kiln/pull", tag: "v1")
                try await image.push(with: try RegistryPlugin.client(RegistryPlugin.options(for: registry)), to: direct)
                let client = try RegistryPlugin.client(Self.proxyOptions(proxy, downloadRetry: 0), pluginOptions: scenario.pluginOptions)
                let reference = ImageReference(registry: proxy.host, repository: "kiln/pull", tag: "v1")
                let layer = try #require(image.layers.first)
                let path = scratch.file("corrupt")
                let caught = await CaughtFailure.of { try await client.fetchBlob(layer, from: reference, to: path) }
                let failure = try #require(caught, "a blob whose bytes do not match its digest must be refused")
                #expect(scenario.evidence.contains { failure.text.contains($0) }, "\(failure.text)")
                #expect(!FileManager.default.fileExists(atPath: path), "a refused download must leave no file")
                // Retried once (a bit may flip on the way), then refused: never retried forever.
                try await Task.sleep(for: .milliseconds(300))  // the proxy logs a request after answering it
                let gets = proxy.requests().filter { $0.method == "GET" && $0.path.contains(layer.digest.description) }
                #expect(gets.map(\.action) == ["corrupt-response", "corrupt-response"], "\(gets)")
            }
        }

        @Test(arguments: FaultScenario.pull)
        func pullWithRetriesVerifiesEveryBlob(_ scenario: FaultScenario) async throws {
            let scratch = try FixtureDirectory(prefix: "kiln-fault")
            defer { scratch.remove() }
            try await Self.withProxy(scenario) { registry, proxy in
                let image = try await PushableImage.make(layerSizes: [400_000, 900_000], in: scratch)
                let direct = ImageReference(registry: registry.host, repository: "kiln/pull", tag: "v1")
                try await image.push(with: try RegistryPlugin.client(RegistryPlugin.options(for: registry)), to: direct)

                let client = try RegistryPlugin.client(Self.proxyOptions(proxy, downloadRetry: 3))
                let reference = ImageReference(registry: proxy.host, repository: "kiln/pull", tag: "v1")
                let manifest = try await client.fetchManifest(reference, accept: MediaType.manifestAccept)
                #expect(manifest.digest == image.manifestDigest)
                for blob in image.blobs {
                    let path = scratch.file("got-\(blob.digest.encoded)")
                    try await client.fetchBlob(blob, from: reference, to: path)
                    #expect(Digest.sha256(of: try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))) == blob.digest)
                }
                #expect(proxy.requests().contains { $0.action != "pass" }, "the fault was never triggered")
            }
        }
    }
}
