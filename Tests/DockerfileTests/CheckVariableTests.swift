// Build checks about variables, FROM lines and continuations. Cases marked "BuildKit" are
// ported from moby/buildkit frontend/dockerfile/dockerfile_check_test.go.
import Dockerfile
import Testing

@Suite struct CheckVariableTests {
    static let undefinedVar: [CheckCase] = [
        CheckCase(
            name: "BuildKit testUnmatchedVars: declared without value", dockerfile: "\nFROM scratch\nARG foo\nCOPY Dockerfile${foo} .\n",
            expected: []),
        CheckCase(
            name: "BuildKit testUnmatchedVars: ARG of the base stage",
            dockerfile: "\nFROM alpine AS base\nARG foo=Dockerfile\nFROM base\nCOPY $foo .\n",
            expected: []),
        CheckCase(
            name: "BuildKit testUnmatchedVars: shell-form RUN is the shell's", dockerfile: "\nFROM alpine\nRUN echo $PATH $nothing\n",
            expected: []),
        CheckCase(
            name: "BuildKit testUnmatchedVars: used before the ARG", dockerfile: "\nFROM alpine\nCOPY $foo .\nARG foo=bar\nRUN echo $foo\n",
            expected: ["3 UndefinedVar: Usage of undefined variable '$foo'"]),
        CheckCase(
            name: "BuildKit testUnmatchedVars: suggestion",
            dockerfile: "\nFROM alpine\nARG DIR_BINARIES=binaries/\nARG DIR_ASSETS=assets/\nARG DIR_CONFIG=config/\nCOPY $DIR_ASSET .\n",
            expected: ["6 UndefinedVar: Usage of undefined variable '$DIR_ASSET' (did you mean $DIR_ASSETS?)"]),
        CheckCase(
            name: "BuildKit testUnmatchedVars: PATH typo", dockerfile: "\nFROM alpine\nENV PATH=$PAHT:/tmp/bin\n",
            expected: ["3 UndefinedVar: Usage of undefined variable '$PAHT' (did you mean $PATH?)"]),
        CheckCase(
            name: "BuildKit UndefinedVar docs: ARG default", dockerfile: "FROM alpine AS base\nARG VERSION=$foo\n",
            expected: ["2 UndefinedVar: Usage of undefined variable '$foo'"]),
        CheckCase(
            name: "a base image's ENV counts when known", dockerfile: "FROM python AS base\nARG VERSION=$PYTHON_VERSION\n", expected: [],
            baseEnvironment: ["python": ["PATH", "PYTHON_VERSION"]]),
        CheckCase(
            name: "an unknown base image: not reported", dockerfile: "FROM python\nCOPY $JAVA_HOME /x\n", expected: [], baseEnvironment: [:]
        ),
        CheckCase(
            name: "a default does not define the variable (BuildKit looks it up)", dockerfile: "FROM scratch\nWORKDIR /${DIR:-app}\n",
            expected: ["2 UndefinedVar: Usage of undefined variable '$DIR'"]),
        CheckCase(
            name: "ENV on one line does not see its own keys", dockerfile: "FROM scratch\nENV A=1 B=$A\nENV C=$A\n",
            expected: ["2 UndefinedVar: Usage of undefined variable '$A'"]),
        CheckCase(
            name: "mounts, USER, VOLUME and heredoc bodies are expanded",
            dockerfile:
                "FROM scratch\nRUN --mount=type=cache,target=/$M true\nUSER $U\nVOLUME $V\nCOPY <<EOF /f\n$H\nEOF\nCOPY <<'EOF' /g\n$Q\nEOF\n",
            expected: [
                "2 UndefinedVar: Usage of undefined variable '$M'", "3 UndefinedVar: Usage of undefined variable '$U'",
                "4 UndefinedVar: Usage of undefined variable '$V'", "5 UndefinedVar: Usage of undefined variable '$H'",
            ]),
    ]

    static let from: [CheckCase] = [
        CheckCase(
            name: "BuildKit testUndeclaredArg: meta ARG", dockerfile: "\nARG base=scratch\nFROM $base\nCOPY Dockerfile .\n", expected: []),
        CheckCase(name: "BuildKit testUndeclaredArg: predefined", dockerfile: "\nFROM --platform=$BUILDPLATFORM scratch\n", expected: []),
        CheckCase(name: "BuildKit testUndeclaredArg: declared, no value", dockerfile: "\nARG DEBUG\nFROM scratch${DEBUG}\n", expected: []),
        CheckCase(
            name: "BuildKit testUndeclaredArg: misspelt predefined", dockerfile: "\nFROM --platform=$BULIDPLATFORM scratch\n",
            expected: ["2 UndefinedArgInFrom: FROM argument 'BULIDPLATFORM' is not declared (did you mean BUILDPLATFORM?)"]),
        CheckCase(
            name: "BuildKit testUndeclaredArg: misspelt meta ARG",
            dockerfile: "\nARG MY_OS=linux\nARG MY_ARCH=amd64\nFROM --platform=linux/${MYARCH} busybox\n",
            expected: ["4 UndefinedArgInFrom: FROM argument 'MYARCH' is not declared (did you mean MY_ARCH?)"]),
        CheckCase(
            name: "BuildKit testUndeclaredArg: no suggestion", dockerfile: "\nARG tag=latest\nFROM busybox:${tag}${version} AS b\n",
            expected: ["3 UndefinedArgInFrom: FROM argument 'version' is not declared"]),
        CheckCase(
            name: "BuildKit testInvalidDefaultArgInFrom: empty tag", dockerfile: "\nARG VERSION\nFROM busybox:$VERSION\n",
            expected: ["3 InvalidDefaultArgInFrom: Default value for ARG busybox:$VERSION results in empty or invalid base image name"],
            buildArgs: ["VERSION": "latest"]),
        CheckCase(
            name: "BuildKit testInvalidDefaultArgInFrom: empty image", dockerfile: "\nARG IMAGE\nFROM $IMAGE\n",
            expected: ["3 InvalidDefaultArgInFrom: Default value for ARG $IMAGE results in empty or invalid base image name"],
            buildArgs: ["IMAGE": "busybox:latest"]),
        CheckCase(
            name: "BuildKit testInvalidDefaultArgInFrom: default ends in ':'", dockerfile: "\nARG SFX=\"box:\"\nFROM busy${SFX}\n",
            expected: ["3 InvalidDefaultArgInFrom: Default value for ARG busy${SFX} results in empty or invalid base image name"],
            buildArgs: ["SFX": "box:latest"]),
        CheckCase(
            name: "BuildKit testInvalidDefaultArgInFrom: valid default", dockerfile: "\nARG VERSION=\"latest\"\nFROM busybox:${VERSION}\n",
            expected: []),
        CheckCase(
            name: "BuildKit testInvalidDefaultArgInFrom: empty variant",
            dockerfile: "\nARG BUSYBOX_VARIANT\nFROM busybox:stable${BUSYBOX_VARIANT}\n",
            expected: [], buildArgs: ["BUSYBOX_VARIANT": "-musl"]),
        CheckCase(
            name: "BuildKit testRedundantTargetPlatform", dockerfile: "\nFROM --platform=$TARGETPLATFORM scratch\n",
            expected: [
                "2 RedundantTargetPlatform: Setting platform to predefined $TARGETPLATFORM in FROM is redundant as this is the default behavior"
            ]),
        CheckCase(
            name: "BuildKit testRedundantTargetPlatform: braces", dockerfile: "\nFROM --platform=${TARGETPLATFORM} scratch\n",
            expected: [
                "2 RedundantTargetPlatform: Setting platform to predefined ${TARGETPLATFORM} in FROM is redundant as this is the default behavior"
            ]),
        CheckCase(name: "BUILDPLATFORM is not redundant", dockerfile: "FROM --platform=$BUILDPLATFORM scratch\n", expected: []),
        CheckCase(
            name: "BuildKit testFromPlatformFlagConstDisallowed", dockerfile: "\nFROM --platform=linux/amd64 scratch\n",
            expected: ["2 FromPlatformFlagConstDisallowed: FROM --platform flag should not use constant value \"linux/amd64\""]),
        CheckCase(
            name: "BuildKit testFromPlatformFlagConstDisallowed: stage named for the arch",
            dockerfile: "\nFROM --platform=linux/amd64 scratch AS my_amd64_stage\n", expected: []),
        CheckCase(
            name: "BuildKit testFromPlatformFlagConstDisallowed: stage named for the OS",
            dockerfile: "\nFROM --platform=linux/amd64 scratch AS linux\n", expected: []),
    ]

    static let continuations: [CheckCase] = [
        CheckCase(
            name: "BuildKit testNoEmptyContinuation",
            dockerfile: "\nFROM scratch\n# warning: empty continuation line\nCOPY Dockerfile \\\n\n.\nCOPY Dockerfile \\\n.\n",
            expected: ["6 NoEmptyContinuation: Empty continuation line"]),
        CheckCase(
            name: "a comment inside a continuation is not empty", dockerfile: "FROM scratch\nCOPY a \\\n# note\n  b\n", expected: []),
        CheckCase(
            name: "backtick escape", dockerfile: "# escape=`\nFROM scratch\nCOPY a `\n\n  b\n",
            expected: ["5 NoEmptyContinuation: Empty continuation line"]),
    ]

    @Test(arguments: undefinedVar + from + continuations)
    func rule(_ c: CheckCase) throws {
        #expect(try c.run() == c.expected)
    }

    @Test func emptyContinuationNeedsTheSource() throws {
        let file = try Dockerfile.parse("FROM scratch\nCOPY a \\\n\n  b\n")
        #expect(try file.check().warnings.isEmpty)
    }
}

/// Every parser golden file (testfiles/*/Dockerfile) goes through the checks: no crash, known
/// rules only, each warning on a line of the file, nothing under `skip=all`.
@Suite struct CheckGoldenFileTests {
    @Test(arguments: Golden.cases("testfiles"))
    func checksRunOverGoldenFile(name: String) throws {
        let text = try Golden.bundled("testfiles", name, "Dockerfile")
        let file = try Dockerfile.parse(text)
        let lineCount = text.split(separator: "\n", omittingEmptySubsequences: false).count
        let known = Set(CheckRule.all.map(\.name))
        guard let report = try? file.check(source: text) else {
            #expect(file.directive("check") != nil, "only an invalid # check= directive may stop the checks")
            return
        }
        for warning in report.warnings {
            #expect(known.contains(warning.rule))
            #expect((1...lineCount).contains(warning.location.line), "\(warning)")
        }
        #expect(try file.check(policy: CheckPolicy(skipsAll: true), source: text).warnings.isEmpty)
    }
}
