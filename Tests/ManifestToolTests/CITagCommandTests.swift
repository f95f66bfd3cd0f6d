// `kiln ci-tag` through the binary: the exit statuses the README promises and GitHub's event file.
import Foundation
import TestSupport
import Testing

@Suite("kiln ci-tag command")
struct CITagCommandTests {
    /// Every CI system's variables removed, so the machine running the tests does not leak in.
    static func clean(_ env: [String: String]) -> [String: String?] {
        var out: [String: String?] = [:]
        for key in ProcessInfo.processInfo.environment.keys where ["CI_", "GITLAB_", "GITHUB_"].contains(where: key.hasPrefix) {
            out[key] = .some(nil)
        }
        for (k, v) in env { out[k] = v }
        return out
    }

    @Test func noCIExitsThreeWithAMessage() async throws {
        let result = try await KilnCommand.run(["ci-tag"], environment: Self.clean([:]))
        #expect(result.exitCode == 3, "\(result)")
        #expect(result.stdout.isEmpty)
        #expect(result.stderr.contains("no CI detected"), "\(result.stderr)")
    }

    @Test func githubDefaultBranchFromTheEventFile() async throws {
        let scratch = try FixtureDirectory(prefix: "kiln-ci-tag")
        defer { scratch.remove() }
        let event = try scratch.write(#"{"repository":{"default_branch":"main"}}"#, to: "event.json")
        let base = ["GITHUB_ACTIONS": "true", "GITHUB_REF_TYPE": "branch", "GITHUB_SHA": "abc123", "GITHUB_EVENT_PATH": event]
        let main = try await KilnCommand.run(
            ["ci-tag", "--format", "dotenv"], environment: Self.clean(base.merging(["GITHUB_REF_NAME": "main"]) { $1 }))
        #expect(main.succeeded, "\(main)")
        #expect(main.stdout == "tag=latest\n")
        let other = try await KilnCommand.run(["ci-tag"], environment: Self.clean(base.merging(["GITHUB_REF_NAME": "dev"]) { $1 }))
        #expect(other.stdout == "abc123\n", "\(other)")
    }

    @Test func aBadFormatIsAUsageError() async throws {
        let result = try await KilnCommand.run(["ci-tag", "--format", "json"], environment: Self.clean(["CI_COMMIT_SHA": "abc"]))
        #expect(result.exitCode == 2, "\(result)")
        #expect(result.stderr.contains("--format must be plain or dotenv"))
    }
}
