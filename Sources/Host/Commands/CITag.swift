import ArgumentParser
import Builder
import CITag
import Diagnostics
import FoundationEssentials
import Glibc
import PluginSupport

/// `kiln ci-tag`: the tag this pipeline should push: `latest` on the default branch, the git tag
/// in a tag pipeline, else the commit SHA (GitLab CI and GitHub Actions).
struct CITagCommand: AsyncParsableCommand, KilnCommand {
    static let configuration = CommandConfiguration(
        commandName: "ci-tag",
        abstract: "Print the image tag for this CI pipeline: latest, the git tag, or the commit SHA.",
        discussion: """
            Reads GitLab CI's CI_COMMIT_TAG, CI_COMMIT_BRANCH, CI_DEFAULT_BRANCH and CI_COMMIT_SHA, or GitHub \
            Actions' GITHUB_REF_TYPE, GITHUB_REF_NAME, GITHUB_SHA and the default branch from the event file \
            at GITHUB_EVENT_PATH. Characters a tag may not hold become '-'. Exits 3 when no CI is detected.
            """)

    /// The exit status when neither GitLab CI nor GitHub Actions is detected, so a script can
    /// tell "not in CI" from a failure (1) and a usage error (2).
    static let noCIExitCode: Int32 = 3

    @Option(name: .customLong("format"), help: "plain (the tag) or dotenv (tag=…, for GitLab's artifacts:reports:dotenv).")
    var format = "plain"
    @Option(name: .customLong("default-branch"), help: "The default branch, instead of the CI's own.")
    var defaultBranch: String?
    @Flag(name: .customLong("short-sha"), help: "Use the commit's first 8 characters (GitLab's CI_COMMIT_SHORT_SHA).")
    var shortSHA = false

    func run() async throws { try await execute() }

    func execute() async throws {
        guard ["plain", "dotenv"].contains(format) else { throw KilnError.usage("--format must be plain or dotenv, not '\(format)'") }
        let env = ProcessInfo.processInfo.environment
        let event = env["GITHUB_EVENT_PATH"].flatMap { FileManager.default.contents(atPath: $0) }.map { [UInt8]($0) }
        let result: CITagResult
        do {
            result = try CITag.resolve(environment: env, githubEvent: event, defaultBranch: defaultBranch, shortSHA: shortSHA)
        } catch CITag.Error.noCI {
            writeAll(2, Array("kiln: error: \(CITag.Error.noCI)\n".utf8))
            throw ExitCode(Self.noCIExitCode)
        } catch let error as CITag.Error {
            throw KilnError(.failed, error.description)
        }
        print(format == "dotenv" ? "tag=\(result.tag)" : result.tag)
    }
}
