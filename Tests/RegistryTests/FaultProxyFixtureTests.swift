// The fault proxy, checked with curl: each fault happens the configured number of times, then
// requests pass, and the log records what the client was answered.
import Foundation
import PluginAPI
import PluginSupport
import TestSupport
import Testing

extension RegistryIntegration {
    @Suite struct FaultProxyFixtureTests {
        @Test func injectsEachFaultThenPassesThrough() async throws {
            let scratch = try FixtureDirectory(prefix: "kiln-fixture")
            defer { scratch.remove() }
            try await withRegistry(.plain) { registry in
                let blob = TestImageLayout.randomBytes(300_000)
                let blobPath = try scratch.write("", to: "blob")
                try Data(blob).write(to: URL(fileURLWithPath: blobPath))
                let digest = Digest.sha256(of: blob)
                let proxy = try await FaultProxyFixture(
                    upstream: registry.host,
                    rules: [
                        .status(429, "GET", path: "^/v2/$", retryAfter: 1),
                        .status(503, "GET", path: "^/v2/$"),
                        .resetRequest("PATCH", path: "/blobs/uploads/", afterBytes: 1000),
                        .resetResponse(path: "/blobs/sha256:", afterBytes: 1000),
                        .stall(path: "/blobs/sha256:", seconds: 1.5, afterBytes: 100),
                    ])
                defer { proxy.stop() }
                let base = "http://\(proxy.host)"
                func curl(_ args: [String]) async throws -> ProcessResult {
                    try await ProcessRunner.run("curl", ["-s", "-S"] + args)
                }
                let first = try await curl(["-i", "\(base)/v2/"])
                #expect(first.stdout.hasPrefix("HTTP/1.1 429"), "\(first)")
                #expect(first.stdout.contains("Retry-After: 1"))
                #expect(try await curl(["-o", "/dev/null", "-w", "%{http_code}", "\(base)/v2/"]).stdout == "503")
                #expect(try await curl(["-o", "/dev/null", "-w", "%{http_code}", "\(base)/v2/"]).stdout == "200")

                // Upload: POST, a PATCH that is reset, the same PATCH again, PUT.
                let post = try await curl(["-i", "-X", "POST", "\(base)/v2/fx/blobs/uploads/"])
                let location = try #require(Self.header("Location", in: post.stdout))
                #expect(location.hasPrefix(base), "Location must point back at the proxy: \(location)")
                let octets = ["-H", "Content-Type: application/octet-stream", "--data-binary", "@\(blobPath)"]
                let reset = try await curl(["-X", "PATCH"] + octets + [location])
                #expect(reset.exitCode != 0, "the first PATCH must be reset: \(reset)")
                let patch = try await curl(["-i", "-X", "PATCH"] + octets + [location])
                let next = try #require(Self.header("Location", in: patch.stdout))
                let put = try await curl(["-o", "/dev/null", "-w", "%{http_code}", "-X", "PUT", next + "&digest=\(digest)"])
                #expect(put.stdout == "201")

                // Download: reset mid-body, then stalled, then clean.
                let url = "\(base)/v2/fx/blobs/\(digest)"
                let broken = try await curl(["-o", scratch.file("got1"), url])
                #expect(broken.exitCode != 0)
                let started = Date()
                let stalled = try await curl(["-o", scratch.file("got2"), url])
                #expect(stalled.succeeded && Date().timeIntervalSince(started) >= 1.4)
                #expect(try Digest.sha256(of: [UInt8](Data(contentsOf: URL(fileURLWithPath: scratch.file("got2"))))) == digest)

                let log = proxy.requests()
                #expect(
                    log.map(\.action) == [
                        "status", "status", "pass", "pass", "reset-request", "pass", "pass",
                        "reset-response", "stall",
                    ], "\(log)")
                #expect(log.filter { $0.action == "reset-request" || $0.action == "reset-response" }.allSatisfy { $0.status == 0 })
                #expect(log.last?.status == 200)
            }
        }

        static func header(_ name: String, in response: String) -> String? {
            for line in response.split(separator: "\r\n") where line.lowercased().hasPrefix(name.lowercased() + ":") {
                return line.dropFirst(name.count + 1).trimmingCharacters(in: .whitespaces)
            }
            return nil
        }
    }
}
