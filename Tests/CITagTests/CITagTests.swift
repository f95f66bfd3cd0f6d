// `kiln ci-tag`'s recipe over GitLab CI's and GitHub Actions' variables. The variables and their
// values in each row are the ones those systems document for that kind of pipeline
// (GitLab "Predefined CI/CD variables"; GitHub "Variables" and the push/pull_request payloads).
import CITag
import Foundation
import Testing

@Suite("ci-tag")
struct CITagTests {
    static let sha = "0123456789abcdef0123456789abcdef01234567"
    static let mainEvent = Array(#"{"ref":"refs/heads/x","repository":{"name":"app","default_branch":"main"}}"#.utf8)
    static let trunkEvent = Array(#"{"repository":{"default_branch":"trunk"}}"#.utf8)

    struct Row: CustomTestStringConvertible, Sendable {
        var name: String
        var env: [String: String]
        var event: [UInt8]? = nil
        var defaultBranch: String? = nil
        var short = false
        var tag: String
        var system: CISystem
        var reason: CITagReason
        var testDescription: String { name }
    }

    static let rows: [Row] = [
        // GitLab CI.
        Row(
            name: "gitlab default branch",
            env: ["GITLAB_CI": "true", "CI_COMMIT_BRANCH": "main", "CI_DEFAULT_BRANCH": "main", "CI_COMMIT_SHA": sha],
            tag: "latest", system: .gitlab, reason: .defaultBranch),
        Row(
            name: "gitlab feature branch",
            env: ["GITLAB_CI": "true", "CI_COMMIT_BRANCH": "feature/x", "CI_DEFAULT_BRANCH": "main", "CI_COMMIT_SHA": sha],
            tag: sha, system: .gitlab, reason: .commit),
        Row(
            name: "gitlab tag pipeline (no CI_COMMIT_BRANCH there)",
            env: ["GITLAB_CI": "true", "CI_COMMIT_TAG": "v1.2.3", "CI_DEFAULT_BRANCH": "main", "CI_COMMIT_SHA": sha],
            tag: "v1.2.3", system: .gitlab, reason: .gitTag),
        Row(
            name: "gitlab merge request pipeline (no CI_COMMIT_BRANCH)",
            env: ["GITLAB_CI": "true", "CI_DEFAULT_BRANCH": "main", "CI_COMMIT_SHA": sha, "CI_MERGE_REQUEST_IID": "7"],
            tag: sha, system: .gitlab, reason: .commit),
        Row(
            name: "gitlab tag with a slash and a plus is sanitised",
            env: ["GITLAB_CI": "true", "CI_COMMIT_TAG": "release/1.0+build.5", "CI_COMMIT_SHA": sha],
            tag: "release-1.0-build.5", system: .gitlab, reason: .gitTag),
        Row(
            name: "gitlab tag starting with a dot", env: ["CI_COMMIT_TAG": ".hidden", "CI_COMMIT_SHA": sha],
            tag: "_hidden", system: .gitlab, reason: .gitTag),
        Row(
            name: "gitlab --default-branch overrides",
            env: ["GITLAB_CI": "true", "CI_COMMIT_BRANCH": "develop", "CI_DEFAULT_BRANCH": "main", "CI_COMMIT_SHA": sha],
            defaultBranch: "develop", tag: "latest", system: .gitlab, reason: .defaultBranch),
        Row(
            name: "gitlab short sha",
            env: ["GITLAB_CI": "true", "CI_COMMIT_BRANCH": "fix", "CI_DEFAULT_BRANCH": "main", "CI_COMMIT_SHA": sha],
            short: true, tag: "01234567", system: .gitlab, reason: .commit),
        Row(
            name: "gitlab empty CI_COMMIT_TAG counts as unset",
            env: ["GITLAB_CI": "true", "CI_COMMIT_TAG": "", "CI_COMMIT_BRANCH": "main", "CI_DEFAULT_BRANCH": "main", "CI_COMMIT_SHA": sha],
            tag: "latest", system: .gitlab, reason: .defaultBranch),
        // GitHub Actions.
        Row(
            name: "github default branch",
            env: [
                "GITHUB_ACTIONS": "true", "GITHUB_REF_TYPE": "branch", "GITHUB_REF_NAME": "main", "GITHUB_SHA": sha,
                "GITHUB_EVENT_PATH": "/e.json",
            ],
            event: mainEvent, tag: "latest", system: .github, reason: .defaultBranch),
        Row(
            name: "github other branch",
            env: [
                "GITHUB_ACTIONS": "true", "GITHUB_REF_TYPE": "branch", "GITHUB_REF_NAME": "main", "GITHUB_SHA": sha,
                "GITHUB_EVENT_PATH": "/e.json",
            ],
            event: trunkEvent, tag: sha, system: .github, reason: .commit),
        Row(
            name: "github tag", env: ["GITHUB_ACTIONS": "true", "GITHUB_REF_TYPE": "tag", "GITHUB_REF_NAME": "v2.0.0", "GITHUB_SHA": sha],
            tag: "v2.0.0", system: .github, reason: .gitTag),
        Row(
            name: "github pull request (ref name 12/merge)",
            env: [
                "GITHUB_ACTIONS": "true", "GITHUB_REF_TYPE": "branch", "GITHUB_REF_NAME": "12/merge", "GITHUB_SHA": sha,
                "GITHUB_EVENT_PATH": "/e.json",
            ],
            event: mainEvent, tag: sha, system: .github, reason: .commit),
        Row(
            name: "github tag with unicode and spaces is sanitised",
            env: ["GITHUB_ACTIONS": "true", "GITHUB_REF_TYPE": "tag", "GITHUB_REF_NAME": "vé 1", "GITHUB_SHA": sha],
            tag: "v--1", system: .github, reason: .gitTag),
        Row(
            name: "github --default-branch without an event file",
            env: ["GITHUB_ACTIONS": "true", "GITHUB_REF_TYPE": "branch", "GITHUB_REF_NAME": "main", "GITHUB_SHA": sha],
            defaultBranch: "main", tag: "latest", system: .github, reason: .defaultBranch),
    ]

    @Test(arguments: rows)
    func tagFor(_ row: Row) throws {
        let result = try CITag.resolve(environment: row.env, githubEvent: row.event, defaultBranch: row.defaultBranch, shortSHA: row.short)
        #expect(result == CITagResult(tag: row.tag, system: row.system, reason: row.reason))
    }

    @Test func noCIIsAnError() {
        #expect(throws: CITag.Error.noCI) { try CITag.resolve(environment: ["HOME": "/root", "CI": "true"]) }
    }

    @Test func gitlabWithoutACommitIsAnError() {
        #expect(throws: CITag.Error.missingVariable(.gitlab, "CI_COMMIT_SHA")) {
            try CITag.resolve(environment: ["GITLAB_CI": "true", "CI_COMMIT_BRANCH": "x", "CI_DEFAULT_BRANCH": "main"])
        }
    }

    @Test func githubBranchWithoutEventSaysHowToFixIt() throws {
        let env = ["GITHUB_ACTIONS": "true", "GITHUB_REF_TYPE": "branch", "GITHUB_REF_NAME": "main", "GITHUB_SHA": Self.sha]
        let error = #expect(throws: CITag.Error.self) { try CITag.resolve(environment: env) }
        #expect(error?.description.contains("--default-branch") == true, "\(String(describing: error))")
        let withPath = env.merging(["GITHUB_EVENT_PATH": "/nowhere.json"]) { $1 }
        let unreadable = #expect(throws: CITag.Error.self) { try CITag.resolve(environment: withPath) }
        #expect(unreadable?.description.contains("/nowhere.json") == true)
        let noField = #expect(throws: CITag.Error.self) {
            try CITag.resolve(environment: withPath, githubEvent: Array(#"{"repository":{}}"#.utf8))
        }
        #expect(noField?.description.contains("repository.default_branch") == true)
    }

    /// distribution-spec's tag grammar, checked independently of `sanitize`'s own code.
    static func isTag(_ s: String) -> Bool {
        s.range(of: "^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$", options: .regularExpression) != nil
    }

    @Test(arguments: [
        ("v1.0", "v1.0"), ("feature/login", "feature-login"), ("-rc", "_rc"), ("a b\tc", "a-b-c"), ("UPPER_ok-1.2", "UPPER_ok-1.2"),
        ("ünï", "_n-"), (String(repeating: "x", count: 200), String(repeating: "x", count: 128)),
    ])
    func sanitize(_ input: String, _ expected: String) throws {
        let tag = try CITag.sanitize(input)
        #expect(tag == expected)
        #expect(Self.isTag(tag), "\(tag)")
    }

    @Test(arguments: ["", "///", "---", "ééé"])
    func namesWithNothingUsableAreRefused(_ name: String) {
        #expect(throws: CITag.Error.unusable(name)) { try CITag.sanitize(name) }
    }
}
