// Build checks, one table per rule. Cases marked "BuildKit" are ported from moby/buildkit
// frontend/dockerfile/dockerfile_check_test.go (the Dockerfile, rule, line and message that
// BuildKit expects); the others are kiln's own. Each case lists every warning the file gives,
// written "LINE Rule: message", so a rule that fires where it should not fails too.
import Dockerfile
import Testing

struct CheckCase: CustomTestStringConvertible, Sendable {
    var name: String
    var dockerfile: String
    var expected: [String]
    var buildArgs: [String: String] = [:]
    /// Base images' ENV names; alpine and busybox define PATH only.
    var baseEnvironment: [String: [String]] = ["alpine": ["PATH"], "busybox": ["PATH"]]

    var testDescription: String { name }

    func run() throws -> [String] {
        let file = try Dockerfile.parse(dockerfile)
        let report = try file.check(buildArgs: buildArgs, source: dockerfile, baseEnvironment: baseEnvironment)
        return report.warnings.map { "\($0.location.line) \($0.rule): \($0.message)" }
    }
}

@Suite struct CheckRuleTests {
    static let stageNames: [CheckCase] = [
        CheckCase(
            name: "BuildKit testStageName: upper-case stage name, 'as' not matching 'FROM'",
            dockerfile:
                "\n# warning: stage name should be lowercase\n#\nFROM scratch AS BadStageName\n\n#\nFROM scratch as base2\n\nFROM scratch AS base3\n",
            expected: [
                "4 StageNameCasing: Stage name 'BadStageName' should be lowercase",
                "7 FromAsCasing: 'as' and 'FROM' keywords' casing do not match",
            ]),
        CheckCase(
            name: "BuildKit testStageName: 'AS' not matching 'from'",
            dockerfile: "\n#\nfrom scratch AS base\n\nfrom scratch as base2\n",
            expected: ["3 FromAsCasing: 'AS' and 'from' keywords' casing do not match"]),
        CheckCase(
            name: "BuildKit testReservedStageName",
            dockerfile: "\nFROM scratch AS scratch\nFROM scratch AS context\n",
            expected: [
                "2 ReservedStageName: Stage name should not use the same name as reserved stage \"scratch\"",
                "3 ReservedStageName: Stage name should not use the same name as reserved stage \"context\"",
            ]),
        CheckCase(
            name: "BuildKit testReservedStageName: reserved base, plain names", dockerfile: "\nFROM scratch\nFROM scratch AS a\n",
            expected: []),
    ]

    static let casing: [CheckCase] = [
        CheckCase(
            name: "BuildKit: mixed-case From",
            dockerfile: "\n#\n#\nFrom scratch as base\nFROM scratch AS base2\n",
            expected: ["4 ConsistentInstructionCasing: Command 'From' should match the case of the command majority (uppercase)"]),
        CheckCase(
            name: "BuildKit: lower copy among upper",
            dockerfile: "\nFROM scratch\n# warning\ncopy Dockerfile /foo\nCOPY Dockerfile /bar\n",
            expected: ["4 ConsistentInstructionCasing: Command 'copy' should match the case of the command majority (uppercase)"]),
        CheckCase(
            name: "BuildKit: frOM among lower",
            dockerfile: "\n#\n#\nfrOM scratch as base\nfrom scratch as base2\n",
            expected: ["4 ConsistentInstructionCasing: Command 'frOM' should match the case of the command majority (lowercase)"]),
        CheckCase(
            name: "BuildKit: upper FROM among lower copy",
            dockerfile: "\n#\n#\nFROM scratch\ncopy Dockerfile /foo\ncopy Dockerfile /bar\ncopy Dockerfile /baz\n",
            expected: ["4 ConsistentInstructionCasing: Command 'FROM' should match the case of the command majority (lowercase)"]),
        CheckCase(name: "BuildKit: all lower", dockerfile: "\nfrom scratch\ncopy Dockerfile /foo\ncopy Dockerfile /bar\n", expected: []),
        CheckCase(name: "BuildKit: heredoc body is not an instruction", dockerfile: "\nFROM alpine\nRUN <<'EOT'\nenv\nEOT\n", expected: []),
    ]

    static let commands: [CheckCase] = [
        CheckCase(
            name: "BuildKit testJSONArgsRecommended: CMD",
            dockerfile: "\nFROM scratch\nCMD mycommand\n",
            expected: ["3 JSONArgsRecommended: JSON arguments recommended for CMD to prevent unintended behavior related to OS signals"]),
        CheckCase(
            name: "BuildKit testJSONArgsRecommended: ENTRYPOINT",
            dockerfile: "\nFROM scratch\nENTRYPOINT mycommand\n",
            expected: [
                "3 JSONArgsRecommended: JSON arguments recommended for ENTRYPOINT to prevent unintended behavior related to OS signals"
            ]),
        CheckCase(
            name: "BuildKit testJSONArgsRecommended: SHELL in the stage",
            dockerfile: "\nFROM scratch\nSHELL [\"/usr/bin/customshell\"]\nCMD mycommand\n", expected: []),
        CheckCase(
            name: "BuildKit testJSONArgsRecommended: SHELL in the base stage",
            dockerfile: "\nFROM scratch AS base\nSHELL [\"/usr/bin/customshell\"]\nFROM base\nENTRYPOINT mycommand\n", expected: []),
        CheckCase(name: "JSON form is fine", dockerfile: "FROM scratch\nCMD [\"a\"]\nENTRYPOINT [\"b\"]\n", expected: []),
        CheckCase(
            name: "BuildKit testMaintainerDeprecated",
            dockerfile: "\nFROM scratch\nMAINTAINER me@example.org\n",
            expected: ["3 MaintainerDeprecated: Maintainer instruction is deprecated in favor of using label"]),
        CheckCase(
            name: "BuildKit testMaintainerDeprecated: label instead",
            dockerfile: "\nFROM scratch\nLABEL org.opencontainers.image.authors=\"me@example.org\"\n", expected: []),
        CheckCase(
            name: "BuildKit testMultipleInstructionsDisallowed: the earlier one is reported",
            dockerfile: """

                FROM scratch
                ENTRYPOINT ["/myapp"]
                CMD ["/myapp"]
                HEALTHCHECK CMD ["/myapp"]
                COPY <<EOF /a.txt
                Hello, World!
                EOF
                ENTRYPOINT ["/myotherapp"]
                CMD ["/myotherapp"]
                HEALTHCHECK CMD ["/myotherapp"]

                """,
            expected: [
                "3 MultipleInstructionsDisallowed: Multiple ENTRYPOINT instructions should not be used in the same stage because only the last one will be used",
                "4 MultipleInstructionsDisallowed: Multiple CMD instructions should not be used in the same stage because only the last one will be used",
                "5 MultipleInstructionsDisallowed: Multiple HEALTHCHECK instructions should not be used in the same stage because only the last one will be used",
            ]),
        CheckCase(
            name: "BuildKit testMultipleInstructionsDisallowed: one per stage",
            dockerfile: "\nFROM scratch AS a\nENTRYPOINT [\"/myapp\"]\nCMD [\"/myapp\"]\nFROM a AS b\nENTRYPOINT [\"/b\"]\nCMD [\"/b\"]\n",
            expected: []),
        CheckCase(
            name: "BuildKit testWorkdirRelativePath",
            dockerfile: "\nFROM scratch\nWORKDIR app/\n",
            expected: ["3 WorkdirRelativePath: Relative workdir \"app/\" can have unexpected results if the base image changes"]),
        CheckCase(
            name: "BuildKit testWorkdirRelativePath: absolute in the base stage",
            dockerfile: "\nFROM scratch AS a\nWORKDIR /app\nFROM a AS b\nWORKDIR subdir/\n", expected: []),
        CheckCase(
            name: "only the first relative WORKDIR", dockerfile: "FROM scratch\nWORKDIR a\nWORKDIR b\n",
            expected: ["2 WorkdirRelativePath: Relative workdir \"a\" can have unexpected results if the base image changes"]),
        CheckCase(
            name: "BuildKit testLegacyKeyValueFormat",
            dockerfile: "\nFROM scratch\nENV testkey value\nLABEL key value\n",
            expected: [
                "3 LegacyKeyValueFormat: \"ENV key=value\" should be used instead of legacy \"ENV key value\" format",
                "4 LegacyKeyValueFormat: \"LABEL key=value\" should be used instead of legacy \"LABEL key value\" format",
            ]),
        CheckCase(
            name: "BuildKit testLegacyKeyValueFormat: key=value", dockerfile: "\nFROM scratch\nENV testkey=value\nLABEL key=value\n",
            expected: []),
        CheckCase(
            name: "EXPOSE protocol casing and host mapping",
            dockerfile: "FROM scratch\nEXPOSE 80/TCP 8080:80 53/udp\n",
            expected: [
                "2 ExposeProtoCasing: Defined protocol '80/TCP' in EXPOSE instruction should be lowercase",
                "2 ExposeInvalidFormat: EXPOSE instruction should not define an IP address or host-port mapping, found '8080:80'",
            ]),
    ]

    static let secrets: [CheckCase] = [
        CheckCase(
            name: "BuildKit testSecretsUsedInArgOrEnv",
            dockerfile: """
                FROM scratch
                ARG SECRET_PASSPHRASE
                ENV SUPER_Secret=foo
                ENV password=bar secret=baz
                ARG super_duper_secret_token=foo auth=bar
                ENV apikey=bar sunflower=foo
                ENV git_key=
                ENV PUBLIC_KEY=
                ARG public_token
                ARG SECRET_PASSPHRASE_FILE
                ENV password_file=bar secret_File=baz
                ARG AUTH_MODULE_VERSION
                # check=skip=SecretsUsedInArgOrEnv // allow secret in environment
                ENV password=bar
                # check=skip=all // is local to only this instruction
                ARG alternate_password

                """,
            expected: [
                "2 SecretsUsedInArgOrEnv: Do not use ARG or ENV instructions for sensitive data (ARG \"SECRET_PASSPHRASE\")",
                "3 SecretsUsedInArgOrEnv: Do not use ARG or ENV instructions for sensitive data (ENV \"SUPER_Secret\")",
                "4 SecretsUsedInArgOrEnv: Do not use ARG or ENV instructions for sensitive data (ENV \"password\")",
                "4 SecretsUsedInArgOrEnv: Do not use ARG or ENV instructions for sensitive data (ENV \"secret\")",
                "5 SecretsUsedInArgOrEnv: Do not use ARG or ENV instructions for sensitive data (ARG \"super_duper_secret_token\")",
                "5 SecretsUsedInArgOrEnv: Do not use ARG or ENV instructions for sensitive data (ARG \"auth\")",
                "6 SecretsUsedInArgOrEnv: Do not use ARG or ENV instructions for sensitive data (ENV \"apikey\")",
                "7 SecretsUsedInArgOrEnv: Do not use ARG or ENV instructions for sensitive data (ENV \"git_key\")",
            ])
    ]

    @Test(arguments: stageNames + casing + commands + secrets)
    func rule(_ c: CheckCase) throws {
        #expect(try c.run() == c.expected)
    }
}
