// What the kiln command does when a build cannot succeed: a failing RUN passes its exit code
// through and names its Dockerfile line; a daemon left by RUN is killed, not waited for; a
// missing base image is reported by its reference.
import Foundation
import TestSupport
import Testing

extension EndToEnd {
    @Suite struct FailurePaths {
        /// Builds Fixtures/`name` against a registry holding the busybox base.
        func build(_ name: String, timeout: Double = 300) async throws -> (ProcessResult, registry: String) {
            try await withRegistry(.plain) { registry in
                try await BaseImageFixture.shared.push(.busybox, to: registry)
                let work = try FixtureDirectory(prefix: "kiln-failure-\(name)")
                defer { work.remove() }
                let context = ComparisonRunner.fixtures + "/" + name
                let result = try await ComparisonRunner.kilnBuild(
                    context: context, reference: "\(registry.host)/\(name):latest", registry: registry,
                    buildArgs: ["REGISTRY": registry.host], work: work, timeout: timeout)
                return (result, registry.host)
            }
        }

        @Test("RUN exit 42: kiln exits 42 and names the Dockerfile line")
        func exitCodePropagates() async throws {
            let (r, _) = try await build("fail-exit-42")
            #expect(r.exitCode == 42, "\(r)")
            // Line 4 of the Dockerfile is `RUN exit 42`.
            #expect(r.stderr.contains("Dockerfile:4") || r.stderr.contains("line 4"), "stderr does not name line 4: \(r.stderr)")
            #expect(r.stderr.contains("exit 42"), "stderr does not quote the step: \(r.stderr)")
            #expect(!r.stdout.contains("never") && !r.stderr.contains("never"), "the step after the failing one ran")
        }

        @Test("a daemon left by RUN is killed before the snapshot, not waited for")
        func backgroundProcessKilled() async throws {
            let before = try await ProcessRunner.run("pgrep", ["-f", "sleep 1000"])
            try #require(before.exitCode == 1, "a 'sleep 1000' is already running on this machine: \(before.stdout)")
            let start = Date()
            var outcome: Result<ProcessResult, any Error>
            do { outcome = .success(try await build("background-process", timeout: 240).0) } catch { outcome = .failure(error) }
            let elapsed = Date().timeIntervalSince(start)
            let after = try await ProcessRunner.run("pgrep", ["-af", "sleep 1000"])
            // Leave the machine clean even when kiln did not.
            for line in after.stdout.split(separator: "\n") {
                if let pid = line.split(separator: " ").first.flatMap({ Int32($0) }) { kill(pid, SIGKILL) }
            }
            let r = try outcome.get()
            #expect(r.succeeded, "\(r)")
            #expect(elapsed < 120, "the build took \(Int(elapsed)) s: it waited for the background sleep")
            #expect(after.exitCode == 1, "the background sleep outlived the build: \(after.stdout)")
        }

        @Test("a missing base image: exit 1 and the reference in the message")
        func missingBase() async throws {
            let (r, registry) = try await build("missing-base")
            #expect(r.exitCode == 1, "\(r)")
            #expect(r.stderr.contains("\(registry)/does-not-exist:v1"), "stderr does not name the base image: \(r.stderr)")
        }
    }
}
