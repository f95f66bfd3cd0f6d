// Transient failures are retried without any flag, and an interrupted transfer goes on from
// where it stopped: an upload from the offset the registry acknowledged (distribution-spec
// "Resuming an upload"), a download with a Range request.
import Foundation
import PluginAPI
import PluginSupport
import TestSupport
import Testing

extension RegistryIntegration {
    @Suite struct ResumeTests {
        /// `--push-retry 0` and `--image-download-retry 0` (kaniko's defaults): one 503, one
        /// 429 or one reset must not fail the transfer.
        @Test(arguments: FaultScenario.push.filter(\.failsWithoutRetry))
        func pushWithDefaultOptionsSurvivesOneFault(_ scenario: FaultScenario) async throws {
            let scratch = try FixtureDirectory(prefix: "kiln-resume")
            defer { scratch.remove() }
            try await FaultInjectionTests.withProxy(scenario) { registry, proxy in
                let image = try await PushableImage.make(layerSizes: [300_000, 1_200_000], in: scratch)
                let log = LogCapture()
                let client = try RegistryPlugin.client(
                    FaultInjectionTests.proxyOptions(proxy), log: log, pluginOptions: scenario.pluginOptions)
                let reference = ImageReference(registry: proxy.host, repository: "kiln/defaults", tag: "v1")
                let caught = await CaughtFailure.of { try await image.push(with: client, to: reference) }
                #expect(caught == nil, "\(scenario.name) with default options: \(caught?.text ?? "")")
                #expect(proxy.requests().contains { $0.action != "pass" }, "the fault was never triggered")
                #expect(try await RegistryProbe.inspect(registry, "kiln/defaults:v1").digest == image.manifestDigest.description)
                let retries = log.lines.filter { $0.level == .warning && $0.text.contains("retry 1 of ") }
                #expect(!retries.isEmpty, "each retry is reported (what failed, attempt k of n, the wait): \(log.text)")
            }
        }

        @Test(arguments: FaultScenario.pull.filter(\.failsWithoutRetry))
        func pullWithDefaultOptionsSurvivesOneFault(_ scenario: FaultScenario) async throws {
            let scratch = try FixtureDirectory(prefix: "kiln-resume")
            defer { scratch.remove() }
            try await FaultInjectionTests.withProxy(scenario) { registry, proxy in
                let image = try await PushableImage.make(layerSizes: [400_000, 900_000], in: scratch)
                let direct = ImageReference(registry: registry.host, repository: "kiln/pull", tag: "v1")
                try await image.push(with: try RegistryPlugin.client(RegistryPlugin.options(for: registry)), to: direct)
                let client = try RegistryPlugin.client(FaultInjectionTests.proxyOptions(proxy))
                let reference = ImageReference(registry: proxy.host, repository: "kiln/pull", tag: "v1")
                let caught = await CaughtFailure.of {
                    _ = try await client.fetchManifest(reference, accept: MediaType.manifestAccept)
                    for blob in image.blobs {
                        try await client.fetchBlob(blob, from: reference, to: scratch.file("got-\(blob.digest.encoded)"))
                    }
                }
                #expect(caught == nil, "\(scenario.name) with default options: \(caught?.text ?? "")")
                #expect(proxy.requests().contains { $0.action != "pass" }, "the fault was never triggered")
            }
        }

        /// A chunked upload whose third chunk is cut goes on from the registry's `Range`: every
        /// byte of the layer crosses the proxy once (a restart would send the first chunks again).
        @Test func chunkedUploadResumesFromTheAcknowledgedOffset() async throws {
            let scratch = try FixtureDirectory(prefix: "kiln-resume")
            defer { scratch.remove() }
            let scenario = FaultScenario(
                name: "reset third chunk", rules: [.resetRequest("PATCH", path: FaultScenario.uploads, afterBytes: 100 * 1024).skipping(2)],
                tuning: FaultScenario.chunked)
            try await FaultInjectionTests.withProxy(scenario) { registry, proxy in
                let image = try await PushableImage.make(layerSizes: [1_200_000], in: scratch)
                let log = LogCapture()
                let client = try RegistryPlugin.client(
                    FaultInjectionTests.proxyOptions(proxy), log: log, pluginOptions: scenario.pluginOptions)
                let reference = ImageReference(registry: proxy.host, repository: "kiln/resume", tag: "v1")
                try await image.push(with: client, to: reference)
                let layer = try #require(image.layers.first)
                try await Task.sleep(for: .milliseconds(300))  // the proxy logs a request after answering it
                let seen = proxy.requests()
                let reset = try #require(seen.firstIndex { $0.action == "reset-request" }, "the fault was never triggered: \(seen)")
                let patched = seen.filter { $0.method == "PATCH" && $0.action == "pass" }.compactMap(\.requestBytes).reduce(0, +)
                #expect(patched == Int(layer.size), "bytes PATCHed \(patched) ≠ layer size \(layer.size): the upload restarted \(seen)")
                let status = seen[(reset + 1)...].first { $0.method == "GET" && $0.path.contains(FaultScenario.uploads) }
                #expect(status?.status == 204, "the client asks the session where it stands: \(seen)")
                #expect(log.text.contains("at byte 524288 of \(layer.size)"), "the resume is reported: \(log.text)")
                let stored = try await RegistryProbe.blobDigest(registry, repository: "kiln/resume", layer.digest, in: scratch)
                #expect(stored == layer.digest)
            }
        }

        /// A download cut after 300 kB goes on with `Range: bytes=N-`: the second request brings
        /// only the rest (the bytes the reset lost in flight included), and the file has the
        /// right digest.
        @Test func interruptedDownloadResumesWithRange() async throws {
            let scratch = try FixtureDirectory(prefix: "kiln-resume")
            defer { scratch.remove() }
            let scenario = FaultScenario(
                name: "reset mid-download", rules: [.resetResponse("GET", path: "/blobs/sha256:", afterBytes: 300_000)])
            try await FaultInjectionTests.withProxy(scenario) { registry, proxy in
                let image = try await PushableImage.make(layerSizes: [900_000], in: scratch)
                let direct = ImageReference(registry: registry.host, repository: "kiln/pull", tag: "v1")
                try await image.push(with: try RegistryPlugin.client(RegistryPlugin.options(for: registry)), to: direct)
                let log = LogCapture()
                let client = try RegistryPlugin.client(FaultInjectionTests.proxyOptions(proxy), log: log)
                let reference = ImageReference(registry: proxy.host, repository: "kiln/pull", tag: "v1")
                let layer = try #require(image.layers.first)
                let path = scratch.file("layer")
                try await client.fetchBlob(layer, from: reference, to: path)
                #expect(Digest.sha256(of: try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))) == layer.digest)
                try await Task.sleep(for: .milliseconds(300))  // the proxy logs a request after answering it
                let gets = proxy.requests().filter { $0.method == "GET" && $0.path.contains(layer.digest.description) }
                #expect(gets.map(\.action) == ["reset-response", "pass"], "\(gets)")
                #expect(log.text.contains("resuming the download of blob \(layer.digest) at byte"), "\(log.text)")
                let second = gets.last?.responseBytes ?? 0
                #expect(second > 0 && second < Int(layer.size) - 50_000, "the retry fetched \(second) of \(layer.size) bytes: it restarted")
            }
        }
        /// Five 503s in a row outlast the default three retries; `--push-retry 5` outlasts them.
        @Test func pushRetryRaisesTheDefaultCount() async throws {
            let scratch = try FixtureDirectory(prefix: "kiln-resume")
            defer { scratch.remove() }
            let scenario = FaultScenario(name: "five 503s", rules: [.status(503, "PUT", path: "/manifests/", times: 5)])
            try await FaultInjectionTests.withProxy(scenario) { registry, proxy in
                let image = try await PushableImage.make(layerSizes: [20_000], in: scratch)
                let reference = ImageReference(registry: proxy.host, repository: "kiln/raised", tag: "v1")
                let byDefault = try RegistryPlugin.client(FaultInjectionTests.proxyOptions(proxy))
                let caught = await CaughtFailure.of { try await image.push(with: byDefault, to: reference) }
                #expect(caught?.status == 503, "three retries cannot outlast five 503s: \(caught?.text ?? "it succeeded")")
                try await Task.sleep(for: .milliseconds(300))  // the proxy logs a request after answering it
                let puts = proxy.requests().filter { $0.method == "PUT" && $0.path.contains("/manifests/") }
                #expect(puts.count == 4, "1 attempt + 3 retries: \(puts)")
                let raised = try RegistryPlugin.client(FaultInjectionTests.proxyOptions(proxy, pushRetry: 5))
                #expect(try await image.push(with: raised, to: reference) == image.manifestDigest)
            }
        }

        /// 401/403/404 are answers, not accidents: one request, no retry.
        @Test(arguments: [401, 403, 404])
        func permanentErrorsAreNotRetried(_ status: Int) async throws {
            let scratch = try FixtureDirectory(prefix: "kiln-resume")
            defer { scratch.remove() }
            let scenario = FaultScenario(
                name: "\(status) on upload start", rules: [.status(status, "POST", path: FaultScenario.uploads, times: 10)])
            try await FaultInjectionTests.withProxy(scenario) { registry, proxy in
                let image = try await PushableImage.make(layerSizes: [20_000], in: scratch)
                let reference = ImageReference(registry: proxy.host, repository: "kiln/denied", tag: "v1")
                let client = try RegistryPlugin.client(FaultInjectionTests.proxyOptions(proxy, pushRetry: 3))
                let caught = await CaughtFailure.of { try await image.push(with: client, to: reference) }
                #expect(caught?.status == status, "\(caught?.text ?? "it succeeded")")
                try await Task.sleep(for: .milliseconds(300))  // the proxy logs a request after answering it
                let posts = proxy.requests().filter { $0.method == "POST" }
                #expect(posts.count == 1, "a \(status) must not be retried: \(posts)")
            }
        }
    }
}
