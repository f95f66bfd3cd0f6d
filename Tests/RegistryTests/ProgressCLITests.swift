// What a CI log shows of a slow transfer (issue 9, item 4): the `kiln` binary pulling and
// pushing through a proxy that forwards bodies at 1–2 MiB/s prints a progress line per
// transfer at the interval it promises (1 s here, through `KILN_PROGRESS_INTERVAL`), with the
// blob's short digest, bytes done and total, and a rate; in JSON every line parses and progress
// lines carry those as fields; each step ends with its duration and the build with a summary
// naming the digest that was pushed.
import Foundation
import PluginAPI
import TestSupport
import Testing

extension RegistryIntegration {
    @Suite struct ProgressCLITests {
        static let environment: [String: String?] = [
            "DOCKER_CONFIG": RegistryPlugin.emptyDockerConfig, "KILN_REGISTRY_RETRY_DELAY": "0.05", "KILN_PROGRESS_INTERVAL": "1",
        ]

        /// `2026-12-04T18:40:49.672Z` → seconds.
        static func seconds(_ stamp: some StringProtocol) -> Double? {
            let f = ISO8601DateFormatter()
            f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            return f.date(from: String(stamp))?.timeIntervalSince1970
        }

        /// Gaps between consecutive times.
        static func gaps(_ times: [Double]) -> [Double] { zip(times.dropFirst(), times).map { $0 - $1 } }

        /// `1.0 MB`: the display's decimal units.
        static func megabytes(_ n: Int64) -> String { String(format: "%.1f MB", Double(n) / 1_000_000) }

        @Test func aSlowPullPrintsALineEverySecondWithBytesAndRate() async throws {
            let scratch = try FixtureDirectory(prefix: "kiln-progress")
            defer { scratch.remove() }
            try await withRegistry(.plain) { registry in
                let image = try await PushableImage.make(layerSizes: [4 << 20], in: scratch)
                let direct = ImageReference(registry: registry.host, repository: "kiln/big", tag: "v1")
                try await image.push(with: try RegistryPlugin.client(RegistryPlugin.options(for: registry)), to: direct)
                let layer = image.layers[0]
                let proxy = try await FaultProxyFixture(
                    upstream: registry.host, rules: [.throttle("GET", path: layer.digest.encoded, bytesPerSecond: 1 << 20)])
                defer { proxy.stop() }
                let context = scratch.file("context")
                try FileManager.default.createDirectory(atPath: context, withIntermediateDirectories: true)
                try Data("FROM \(proxy.host)/kiln/big:v1\nENV A=1\n".utf8).write(to: URL(fileURLWithPath: context + "/Dockerfile"))
                let result = try await KilnCommand.run(
                    [
                        "--context", context, "--oci-layout-path", scratch.file("out"), "--insecure-registry", proxy.host,
                        "--log-timestamp",
                    ],
                    environment: Self.environment, currentDirectory: scratch.path)
                #expect(result.succeeded, "\(result)")
                let lines = result.stderr.split(separator: "\n")
                let short = "sha256:" + layer.digest.encoded.prefix(12)
                let total = Self.megabytes(layer.size)
                // `<time> INFO pulling sha256:0123456789ab 2.1 MB / 4.2 MB (50%), 1.0 MB/s`
                let pattern = try Regex(
                    #"(\S+) INFO pulling (sha256:[0-9a-f]{12}) ([0-9.]+ k?M?B) / ([0-9.]+ MB) \((\d+)%\), ([0-9.]+ k?M?B)/s"#)
                var times: [Double] = []
                var percents: [Int] = []
                for line in lines {
                    guard let m = try pattern.wholeMatch(in: String(line)) else { continue }
                    #expect(m.output[2].substring == short[...], "\(line)")
                    #expect(m.output[4].substring.map(String.init) == total, "\(line)")
                    times.append(Self.seconds(m.output[1].substring ?? "") ?? 0)
                    percents.append(Int(m.output[5].substring ?? "") ?? -1)
                }
                // About 4 s at 1 MiB/s: a line a second, each at least the interval after the last.
                #expect(times.count >= 2, "progress lines of the pull: \(result.stderr)")
                #expect(Self.gaps(times).allSatisfy { $0 >= 0.9 && $0 <= 4 }, "gaps \(Self.gaps(times)): \(result.stderr)")
                #expect(percents == percents.sorted() && percents.allSatisfy { (0...100).contains($0) }, "\(percents)")
                #expect(lines.contains { $0.contains("INFO pulled \(short) \(total) in ") }, "the end of the pull: \(result.stderr)")
                // The config blob is small: never followed. Extraction of 4 MB is fast: no line.
                let config = "sha256:" + image.config.digest.encoded.prefix(12)
                #expect(!result.stderr.contains(config), "\(result.stderr)")
                #expect(!result.stderr.contains("extracting sha256:"), "\(result.stderr)")
                #expect(lines.contains { $0.contains("INFO [1/1] STEP 1/1 done in ") }, "\(result.stderr)")
                let summary = lines.first { $0.contains("INFO built image sha256:") } ?? ""
                #expect(summary.contains("(1 layer, ") && summary.contains("to oci:\(scratch.file("out"))"), "\(result.stderr)")
                #expect(summary.contains(": pull ") && summary.contains(", extract ") && summary.contains(", write "), "\(summary)")
                #expect(summary.contains(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)), "\(summary) \(result.stdout)")
            }
        }

        @Test func aTerminalGetsOneStatusLineRedrawnInPlace() async throws {
            let scratch = try FixtureDirectory(prefix: "kiln-progress")
            defer { scratch.remove() }
            try await withRegistry(.plain) { registry in
                let image = try await PushableImage.make(layerSizes: [4 << 20], in: scratch)
                let direct = ImageReference(registry: registry.host, repository: "kiln/big", tag: "v1")
                try await image.push(with: try RegistryPlugin.client(RegistryPlugin.options(for: registry)), to: direct)
                let layer = image.layers[0]
                let proxy = try await FaultProxyFixture(
                    upstream: registry.host, rules: [.throttle("GET", path: layer.digest.encoded, bytesPerSecond: 2 << 20)])
                defer { proxy.stop() }
                let context = scratch.file("context")
                try FileManager.default.createDirectory(atPath: context, withIntermediateDirectories: true)
                try Data("FROM \(proxy.host)/kiln/big:v1\nENV A=1\n".utf8).write(to: URL(fileURLWithPath: context + "/Dockerfile"))
                // util-linux `script` gives kiln a terminal as standard error; its output is what the terminal got.
                let command = [
                    try KilnCommand.binary(), "--context", context, "--oci-layout-path", scratch.file("out"), "--insecure-registry",
                    proxy.host,
                ].joined(separator: " ")
                var environment = ProcessInfo.processInfo.environment
                environment["DOCKER_CONFIG"] = RegistryPlugin.emptyDockerConfig
                let result = try await ProcessRunner.run(
                    "script", ["-q", "-e", "-c", command, "/dev/null"], environment: environment, currentDirectory: scratch.path)
                #expect(result.succeeded, "\(result)")
                let short = "sha256:" + layer.digest.encoded.prefix(12)
                let screen = result.stdout
                #expect(screen.contains("\r\u{1B}[Kpulling \(short) "), "the status is redrawn in place: \(screen.debugDescription)")
                #expect(!screen.contains("INFO pulling") && !screen.contains("INFO pulled"), "no progress log lines: \(screen)")
                #expect(screen.contains("INFO built image sha256:"), "\(screen)")
                // Log lines start on a cleared line: none is glued to a status.
                let glued = screen.split(separator: "\n").filter {
                    $0.contains("INFO") && !$0.hasPrefix("INFO") && !$0.contains("\u{1B}[K")
                }
                #expect(glued.isEmpty, "\(glued)")
            }
        }

        @Test func aSlowPushInJSONHasProgressFieldsDurationsAndTheDigestInItsSummary() async throws {
            let scratch = try FixtureDirectory(prefix: "kiln-progress")
            defer { scratch.remove() }
            let context = scratch.file("context")
            try FileManager.default.createDirectory(atPath: context, withIntermediateDirectories: true)
            try Data("FROM scratch\nCOPY big.bin /big.bin\nENV A=1\n".utf8).write(to: URL(fileURLWithPath: context + "/Dockerfile"))
            try Data(TestImageLayout.randomBytes(12 << 20)).write(to: URL(fileURLWithPath: context + "/big.bin"))
            try await withRegistry(.plain) { registry in
                let proxy = try await FaultProxyFixture(
                    upstream: registry.host, rules: [.throttle("PATCH|PUT", path: "/blobs/uploads/", bytesPerSecond: 2 << 20)])
                defer { proxy.stop() }
                let digestFile = scratch.file("digest")
                let destination = "\(proxy.host)/kiln/pushed:v1"
                let result = try await KilnCommand.run(
                    [
                        "--context", context, "--destination", destination, "--insecure-registry", proxy.host, "--digest-file",
                        digestFile, "--log-format", "json",
                    ],
                    environment: Self.environment, currentDirectory: scratch.path)
                #expect(result.succeeded, "\(result)")
                var objects: [[String: Any]] = []
                for line in result.stderr.split(separator: "\n") {
                    let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
                    #expect(object != nil, "not a JSON object: \(line)")
                    if let object { objects.append(object) }
                }
                let progress = objects.filter { $0["progress"] as? String == "push" }
                let running = progress.filter { $0["finished"] as? Bool == false }
                // 12 MiB at 2 MiB/s: about 6 s, a line a second.
                #expect(running.count >= 3, "push progress lines: \(result.stderr)")
                for p in progress {
                    #expect((p["blob"] as? String)?.hasPrefix("sha256:") == true && (p["blob"] as? String)?.count == 19, "\(p)")
                    #expect(p["bytes"] is Int && p["total"] is Int && p["rate"] is Int && p["level"] as? String == "info", "\(p)")
                    #expect((p["total"] as? Int ?? 0) > 12 << 20, "\(p)")
                }
                let bytes = running.compactMap { $0["bytes"] as? Int }
                #expect(bytes == bytes.sorted() && bytes.count == running.count, "\(bytes)")
                let times = running.compactMap { ($0["time"] as? String).flatMap(Self.seconds) }
                #expect(Self.gaps(times).allSatisfy { $0 >= 0.9 && $0 <= 4 }, "gaps \(Self.gaps(times)): \(result.stderr)")
                let last = progress.last
                #expect(
                    last?["finished"] as? Bool == true && last?["bytes"] as? Int == last?["total"] as? Int, "\(String(describing: last))")

                let steps = objects.filter { ($0["msg"] as? String)?.contains(" done in ") == true }
                #expect(steps.count == 2 && steps.allSatisfy { $0["duration"] is Double || $0["duration"] is Int }, "\(steps)")
                #expect(steps.map { $0["step"] as? String } == ["1/2", "2/2"], "\(steps)")

                let pushed = try String(contentsOfFile: digestFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
                #expect(try await registry.skopeoDigest("kiln/pushed", tag: "v1") == pushed)
                let summary = objects.last { ($0["msg"] as? String)?.hasPrefix("built image ") == true }
                #expect(summary?["digest"] as? String == pushed, "\(String(describing: summary))")
                #expect(summary?["layers"] as? Int == 1 && (summary?["size"] as? Int ?? 0) > 12 << 20, "\(String(describing: summary))")
                #expect(summary?["destinations"] as? [String] == [destination], "\(String(describing: summary))")
                #expect((summary?["push_seconds"] as? Double ?? 0) >= 3, "a 12 MiB push at 2 MiB/s: \(String(describing: summary))")
                #expect(summary?["steps_seconds"] != nil && summary?["pull_seconds"] != nil, "\(String(describing: summary))")
            }
        }
    }
}
