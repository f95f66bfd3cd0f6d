// The `# check=` policy, its command-line override and the warning format. Cases marked
// "BuildKit" are ported from moby/buildkit frontend/dockerfile/dockerfile_check_test.go
// (testRuleCheckOption) and linter/linter.go (ParseLintOptions).
import Dockerfile
import Testing

@Suite struct CheckPolicyTests {
    @Test func parsesSkipListsAndError() throws {
        let policy = try CheckPolicy(parsing: " skip = JSONArgsRecommended, StageNameCasing ; error=true")
        #expect(policy.skippedRules == ["JSONArgsRecommended", "StageNameCasing"])
        #expect(!policy.skipsAll)
        #expect(policy.failOnWarning)
        #expect(try CheckPolicy(parsing: "skip=all").skipsAll)
        #expect(try CheckPolicy(parsing: "") == CheckPolicy())
        #expect(try CheckPolicy(parsing: "error=0").failOnWarning == false)
        #expect(try CheckPolicy(parsing: "experimental=all;skip=all;error=T").failOnWarning)
    }

    @Test(arguments: [
        ("skip", "invalid check option \"skip\": expected skip=Rule1,Rule2, skip=all or error=true, separated by ';'"),
        ("error=yes", "invalid check option \"error=yes\": error= takes true or false"),
        ("skip=a;nonsense", "invalid check option \"nonsense\": expected skip=Rule1,Rule2, skip=all or error=true, separated by ';'"),
    ])
    func invalidPoliciesAreErrors(_ text: String, _ message: String) {
        #expect(throws: DockerfileError(message, at: nil)) { try CheckPolicy(parsing: text) }
    }

    @Test func misspeltOptionSuggestsTheNearest() {
        #expect(
            throws: DockerfileError(
                "invalid check option \"skp\": the options are skip, error and experimental", at: nil, suggestion: "skip")
        ) {
            try CheckPolicy(parsing: "skp=all")
        }
    }

    /// Go's SplitN(…, ";", 3): a fourth option stays in the third one's value, as in BuildKit.
    @Test func atMostThreeOptions() throws {
        #expect(try CheckPolicy(parsing: "skip=a;error=true;skip=b;error=false").skippedRules == ["a", "b;error=false"])
    }

    static let casingFile = "FROM scratch as base\ncopy Dockerfile .\n"

    /// BuildKit testRuleCheckOption: the directive, and the build-arg that replaces it.
    @Test(arguments: [
        ("#check=skip=all\n", [:], [String](), false),
        ("#check=skip=all;error=true\n", [:], [], false),
        ("#check=skip=ConsistentInstructionCasing,FromAsCasing\n", [:], [], false),
        ("#check=skip=ConsistentInstructionCasing\n", [:], ["FromAsCasing"], false),
        ("#check=skip=ConsistentInstructionCasing;error=true\n", [:], ["FromAsCasing"], true),
        ("#check=skip=all\n", ["BUILDKIT_DOCKERFILE_CHECK": "skip=ConsistentInstructionCasing;error=true"], ["FromAsCasing"], true),
        ("#check=error=true\n", ["BUILDKIT_DOCKERFILE_CHECK": "skip=all"], [], false),
        ("", [:], ["FromAsCasing", "ConsistentInstructionCasing"], false),
    ])
    func directiveAndBuildArg(_ header: String, _ buildArgs: [String: String], _ rules: [String], _ failed: Bool) throws {
        let text = header + Self.casingFile
        let report = try Dockerfile.parse(text).check(buildArgs: buildArgs, source: text)
        #expect(report.warnings.map(\.rule) == rules)
        #expect(report.failed == failed)
        #expect((report.error != nil) == failed)
    }

    @Test func commandLinePolicyWinsOverBoth() throws {
        let text = "#check=skip=all\n" + Self.casingFile
        let report = try Dockerfile.parse(text).check(
            buildArgs: ["BUILDKIT_DOCKERFILE_CHECK": "skip=all"], policy: CheckPolicy(skippedRules: ["FromAsCasing"]), source: text)
        #expect(report.warnings.map(\.rule) == ["ConsistentInstructionCasing"])
    }

    @Test func invalidDirectiveIsLocated() throws {
        let file = try Dockerfile.parse("# check=skip=all;eror=true\nFROM scratch\n")
        #expect(throws: DockerfileError.self) { try file.check() }
        do {
            _ = try file.check()
        } catch let error as DockerfileError {
            #expect(error.location?.line == 1)
            #expect(error.suggestion == "error")
        }
        #expect(throws: DockerfileError.self) { try file.check(buildArgs: ["BUILDKIT_DOCKERFILE_CHECK": "nonsense"]) }
    }

    /// A `# check=` comment right above an instruction adds skips for it alone.
    @Test func instructionLocalSkip() throws {
        let text = "FROM scratch\n# check=skip=JSONArgsRecommended\nCMD a\n\n# check=skip=all // why\nENTRYPOINT b\nCMD c\n"
        let report = try Dockerfile.parse(text).check(source: text)
        #expect(
            report.warnings.map(\.description) == [
                "Dockerfile:3: MultipleInstructionsDisallowed: Multiple CMD instructions should not be used in the same stage because only the last one will be used (https://docs.docker.com/go/dockerfile/rule/multiple-instructions-disallowed/)",
                "Dockerfile:7: JSONArgsRecommended: JSON arguments recommended for CMD to prevent unintended behavior related to OS signals (https://docs.docker.com/go/dockerfile/rule/json-args-recommended/)",
            ])
    }

    @Test func outputFormatAndFailure() throws {
        let text = "# check=error=true\nFROM scratch\nENTRYPOINT /app\nMAINTAINER me\n"
        let file = try Dockerfile.parse(text, fileName: "build/Dockerfile.app")
        let report = try file.check(source: text)
        #expect(
            report.warnings.map(\.description) == [
                "build/Dockerfile.app:3: JSONArgsRecommended: JSON arguments recommended for ENTRYPOINT to prevent unintended behavior related to OS signals (https://docs.docker.com/go/dockerfile/rule/json-args-recommended/)",
                "build/Dockerfile.app:4: MaintainerDeprecated: Maintainer instruction is deprecated in favor of using label (https://docs.docker.com/go/dockerfile/rule/maintainer-deprecated/)",
            ])
        #expect(report.failed)
        #expect(
            report.error?.description
                == "build/Dockerfile.app:3:1: lint violation found for rules: JSONArgsRecommended, MaintainerDeprecated")
        #expect(report.warnings.first?.url == "https://docs.docker.com/go/dockerfile/rule/json-args-recommended/")
    }

    @Test func everyRuleHasItsDocumentationPage() {
        #expect(CheckRule.all.count == 18)
        for rule in CheckRule.all {
            #expect(rule.url.hasPrefix("https://docs.docker.com/go/dockerfile/rule/") && rule.url.hasSuffix("/"))
        }
        #expect(CheckRule.all.map(\.name).contains("UndefinedVar"))
    }
}
