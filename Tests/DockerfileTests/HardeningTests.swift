import Testing

// Inputs that used to crash the front end or take super-linear time (issue 12, items 3, 5, 6):
// each must now give a located error, or the right answer, without a signal. The crash cases
// were seen to kill the process on the old code (SIGSEGV, SIGILL); see also
// BuildTests/HostileDockerfileTests, which runs them through the kiln binary.
@testable import Dockerfile

@Suite struct HardeningTests {
    /// Expands the first instruction of the first stage.
    func expandFirst(_ text: String, _ environment: [String: String] = [:]) throws -> Instruction {
        let file = try Dockerfile.parse(text)
        return try file.expand(file.stages[0].instructions[0], environment: environment)
    }

    func error(_ body: () throws -> Any) -> DockerfileError? {
        do {
            _ = try body()
            return nil
        } catch let error as DockerfileError {
            return error
        } catch {
            Issue.record("not a DockerfileError: \(error)")
            return nil
        }
    }

    @Test func deeplyNestedSubstitutionIsALocatedError() throws {
        let deep = String(repeating: "${A:-", count: 30_000) + "x" + String(repeating: "}", count: 30_000)
        let failure = error { try expandFirst("FROM scratch\nENV X=\(deep)\n") }
        #expect(failure?.location?.description == "Dockerfile:2:1")
        #expect(failure?.message.contains("nested more than 100 deep") == true)
        // The same text as an ARG default (expanded by StageArguments) and a heredoc marker.
        let file = try Dockerfile.parse("FROM scratch\nARG X=\(deep)\n")
        guard case .arg(let arg) = file.stages[0].instructions[0] else { return }
        var scope = StageArguments(global: try GlobalArguments(dockerfile: file, buildArgs: [:], predefined: [:]), buildArgs: [:])
        #expect(error { try scope.declare(arg, environment: [:]) }?.location?.line == 2)
        // Shallow nesting still works.
        let shallow = String(repeating: "${A:-", count: 100) + "x" + String(repeating: "}", count: 100)
        guard case .env(let env) = try expandFirst("FROM scratch\nENV X=\(shallow)\n") else { return }
        #expect(env.pairs.first?.value == "x")
    }

    @Test func deeplyNestedJSONIsALocatedError() throws {
        let deep = String(repeating: "[", count: 50_000) + String(repeating: "]", count: 50_000)
        for keyword in ["CMD", "ENTRYPOINT", "RUN", "SHELL", "VOLUME", "COPY"] {
            let failure = error { try Dockerfile.parse("FROM scratch\n\(keyword) \(deep)\n") }
            #expect(failure?.location?.description == "Dockerfile:2:1", "\(keyword)")
            #expect(failure?.message.contains("nested deeper than 10000 levels") == true, "\(keyword): \(String(describing: failure))")
        }
        // Within Go's limit the array is valid JSON, just not of strings (BuildKit's error).
        let fits = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        #expect(error { try Dockerfile.parse("FROM scratch\nCMD \(fits)\n") }?.message.contains("comprised of strings only") == true)
        #expect(JSONArray.parse(#"["a", {"k": [1, {"x": null}]}, true]"#) == .notStrings)
        #expect(JSONArray.parse(#"["a", {"k": [1, {"x": nul}]}]"#) == .invalid)
        #expect(JSONArray.parse(#"[ "a" , "b\u00e9" ]"#) == .strings(["a", "bé"]))
    }

    @Test func healthcheckDurationsThatOverflowAreLocatedErrors() throws {
        let interval = error { try Dockerfile.parse("FROM scratch\nHEALTHCHECK --interval=2562048h CMD true\n") }
        #expect(
            interval?.description
                == "Dockerfile:2:13: invalid duration '2562048h' for --interval: use a number with a unit, like 30s or 1m30s")
        let start = error { try Dockerfile.parse("FROM scratch\nHEALTHCHECK --start-interval=9223372037s CMD true\n") }
        #expect(start?.location?.description == "Dockerfile:2:13")
        let file = try Dockerfile.parse("FROM scratch\nHEALTHCHECK --interval=2562047h --timeout=1.5s CMD true\n")
        guard case .healthcheck(let check) = file.stages[0].instructions[0], case .command(let command) = check.check else {
            Issue.record("not a HEALTHCHECK CMD")
            return
        }
        #expect(command.interval == Int64(9_223_369_200_000_000_000))
        #expect(command.timeout == 1_500_000_000)
    }

    /// Go's `time.ParseDuration` table (src/time/time_test.go, parseDurationTests and
    /// parseDurationErrorTests), nanoseconds; nil = error.
    @Test(
        arguments: [
            ("0", 0), ("5s", 5_000_000_000), ("30s", 30_000_000_000), ("1478s", 1_478_000_000_000), ("-5s", -5_000_000_000),
            ("+5s", 5_000_000_000), ("-0", 0), ("+0", 0), ("5.0s", 5_000_000_000), ("5.6s", 5_600_000_000), ("5.s", 5_000_000_000),
            (".5s", 500_000_000), ("1.0s", 1_000_000_000), ("1.00s", 1_000_000_000), ("1.004s", 1_004_000_000),
            ("1.0040s", 1_004_000_000), ("100.00100s", 100_001_000_000), ("10ns", 10), ("11us", 11_000), ("12µs", 12_000),
            ("12μs", 12_000), ("13ms", 13_000_000), ("14s", 14_000_000_000), ("15m", 900_000_000_000), ("16h", 57_600_000_000_000),
            ("3h30m", 12_600_000_000_000), ("10.5s4m", 250_500_000_000), ("-2m3.4s", -123_400_000_000),
            ("1h2m3s4ms5us6ns", 3_723_004_005_006), ("39h9m14.425s", 140_954_425_000_000), ("52763797000ns", 52_763_797_000),
            ("0.3333333333333333333h", 1_200_000_000_000), ("9007199254740993ns", 9_007_199_254_740_993),
            ("9223372036854775807ns", Int64.max), ("9223372036854775.807us", Int64.max), ("9223372036s854ms775us807ns", Int64.max),
            ("-9223372036854775808ns", Int64.min), ("-9223372036854775.808us", Int64.min), ("0.100000000000000000000h", 360_000_000_000),
            ("0.830103483285477580700h", 2_988_372_539_827),
            ("", nil), ("3", nil), ("-", nil), ("s", nil), (".", nil), ("-.", nil), (".s", nil), ("+.s", nil), ("1d", nil),
            ("9223372036854775808ns", nil), ("9223372036854775.808us", nil), ("9223372036854ms775us808ns", nil),
            ("-9223372036854775809ns", nil), ("2562048h", nil), ("9223372037s", nil), ("99999999999999999999h", nil),
        ] as [(String, Int64?)])
    func goParseDuration(text: String, nanoseconds: Int64?) {
        #expect(GoDuration.nanoseconds(text) == nanoseconds, "\(text)")
    }

    @Test(arguments: [
        (
            "STOPSIGNAL 99999999999999999999",
            "Dockerfile:2:1: STOPSIGNAL: invalid signal '99999999999999999999': signal numbers are 1 to 64"
        ),
        ("STOPSIGNAL 0", "Dockerfile:2:1: STOPSIGNAL: invalid signal '0': signal numbers are 1 to 64"),
        ("STOPSIGNAL 65", "Dockerfile:2:1: STOPSIGNAL: invalid signal '65': signal numbers are 1 to 64"),
        (
            "STOPSIGNAL SIGBOGUS",
            "Dockerfile:2:1: STOPSIGNAL: invalid signal 'SIGBOGUS': use a signal name like SIGTERM or a number from 1 to 64"
        ),
        ("EXPOSE -1", "Dockerfile:2:1: EXPOSE: invalid port '-1': ports are whole numbers from 0 to 65535"),
        ("EXPOSE 80 65536", "Dockerfile:2:1: EXPOSE: invalid port '65536': ports are whole numbers from 0 to 65535"),
        ("EXPOSE +80", "Dockerfile:2:1: EXPOSE: invalid port '+80': ports are whole numbers from 0 to 65535"),
        ("EXPOSE 90-80", "Dockerfile:2:1: EXPOSE: invalid port range '90-80': 80 is below 90"),
        ("EXPOSE 80/http", "Dockerfile:2:1: EXPOSE: invalid protocol 'http' in '80/http': use tcp, udp or sctp"),
        ("EXPOSE 1-2-3", "Dockerfile:2:1: EXPOSE: invalid port range '1-2-3': use LOW-HIGH"),
        (
            "RUN --mount=type=tmpfs,target=/t,size=99999999999999999999p true",
            "Dockerfile:2:5: invalid value for size: 99999999999999999999p"
        ),
    ])
    func numbersOutOfRangeAreLocatedErrors(line: String, message: String) {
        #expect(error { try Dockerfile.parse("FROM scratch\n\(line)\n") }?.description == message)
    }

    @Test(arguments: [
        "STOPSIGNAL SIGTERM", "STOPSIGNAL term", "STOPSIGNAL 9", "STOPSIGNAL 64", "STOPSIGNAL SIGRTMIN+3", "STOPSIGNAL $SIG",
        "EXPOSE 0 65535 80/UDP 8000-8002/tcp 53/sctp 81/", "EXPOSE $PORT", "EXPOSE \"80\"",
        "RUN --mount=type=tmpfs,target=/t,size=64m true",
    ])
    func numbersInRangeParse(line: String) throws {
        _ = try Dockerfile.parse("FROM scratch\n\(line)\n")
    }

    @Test func numbersFromVariablesAreCheckedWhenExpanded() throws {
        #expect(
            error { try expandFirst("FROM scratch\nEXPOSE $P\n", ["P": "-1"]) }?.description.hasPrefix(
                "Dockerfile:2:1: EXPOSE: invalid port") == true)
        #expect(error { try expandFirst("FROM scratch\nSTOPSIGNAL $S\n", ["S": "99999999999999999999"]) }?.location?.line == 2)
        guard case .expose(let expose) = try expandFirst("FROM scratch\nEXPOSE $P\n", ["P": "8080/udp"]) else { return }
        #expect(expose.ports == ["8080/udp"])
    }

    @Test func patternReplacementOnALargeValueIsRight() throws {
        let value = String(repeating: "a", count: 200_000)
        #expect(try ShellLexer().expandWord("${A//a*b/x}", environment: ["A": value]) == value)
        #expect(try ShellLexer().expandWord("${A//a*b/x}", environment: ["A": value + "b" + value]) == "x" + value)
        #expect(try ShellLexer().expandWord("${A//ab/x}", environment: ["A": String(repeating: "ab", count: 100_000)]).count == 100_000)
        #expect(try ShellLexer().expandWord("${A%%a*}", environment: ["A": "b" + value]) == "b")
        #expect(try ShellLexer().expandWord("${A%a*}", environment: ["A": "b" + value]) == "b" + value.dropLast())
        #expect(try ShellLexer().expandWord("${A##*a}", environment: ["A": value + "b"]) == "b")
        #expect(try ShellLexer().expandWord("${A#*a}", environment: ["A": value + "b"]).count == 200_000)
    }

    @Test func expansionResultsAreCapped() throws {
        let half = String(repeating: "x", count: 600_000)
        #expect(throws: ShellLexer.Error.resultTooLong) { try ShellLexer().expandWord("$A$A", environment: ["A": half]) }
        #expect(throws: ShellLexer.Error.resultTooLong) { try ShellLexer().expandWord("\"$A$A\"", environment: ["A": half]) }
        // Replacing each of many characters with a long string.
        let many = String(repeating: "y", count: 10_000)
        #expect(throws: ShellLexer.Error.resultTooLong) {
            try ShellLexer().expandWord("${A//?/$B}", environment: ["A": many, "B": String(repeating: "z", count: 200)])
        }
        // Up to the cap is fine; the error is located at the instruction.
        #expect(try ShellLexer().expandWord("$A", environment: ["A": half]).count == 600_000)
        let failure = error { try expandFirst("FROM scratch\nLABEL l=$A$A\n", ["A": half]) }
        #expect(failure?.location?.description == "Dockerfile:2:1")
        #expect(failure?.message.contains("1 MiB") == true)
        #expect((failure?.message.count ?? 0) < 400)
    }

    @Test func manyArgumentsKeepTheirOrderAndValues() throws {
        let lines = (0..<20_000).map { "ARG A\($0)=v\($0)" }.joined(separator: "\n")
        let file = try Dockerfile.parse("FROM scratch\n\(lines)\nARG A5=again A20000=${A19999}-next\n")
        var scope = StageArguments(global: try GlobalArguments(dockerfile: file, buildArgs: [:], predefined: [:]), buildArgs: [:])
        var environment: [String: String] = [:]
        for case .arg(let arg) in file.stages[0].instructions {
            for resolved in try scope.declare(arg, environment: environment) { environment[resolved.name] = resolved.value }
        }
        #expect(scope.values.count == 20_001)
        #expect(scope.values["A20000"] == "v19999-next")
        #expect(scope.declared.suffix(2).map(\.name) == ["A5", "A20000"])
        #expect(scope.declared.count == 20_001)
    }

    @Test func invalidUTF8IsALocatedError() throws {
        let bytes = Array("FROM scratch\nLABEL a=b".utf8) + [0xFF] + Array("c\n".utf8)
        let failure = error { try Dockerfile.parse(bytes: bytes, fileName: "Dockerfile") }
        #expect(failure?.description == "Dockerfile:2:10: invalid UTF-8 (byte 0xFF): save the Dockerfile as UTF-8")
        #expect(try Dockerfile.parse(bytes: Array("FROM scratch\nLABEL a=é\n".utf8)).stages.count == 1)
    }
}
