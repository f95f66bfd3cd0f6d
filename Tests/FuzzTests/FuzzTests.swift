// The fuzz targets: the Dockerfile parser and expander, the .dockerignore matcher, and the
// substitution patterns checked against a brute-force reference. No input may crash; every
// refusal must be the module's own error with a location (FuzzHarness.swift runs them).
import Foundation
import TestSupport
import Testing

@testable import Dockerfile

@Suite("Fuzzing (seeded, bounded)", .serialized)
struct FuzzTests {
    static let dockerfileTokens = [
        "${", "}", "${A:-", "${A/", "${A//a*b/x}", "${A%%*}", "${A#?}", "$A", "\"", "'", "\\", "\\\n", "`", "[", "]", "[\"", "\", ",
        "{", "<<EOF\n", "<<-\"EOF\"\n", "\nEOF\n", "\n", "\r\n", "#", "# escape=`\n", "# syntax=x\n", "=", " ", "\t", "FROM ",
        "FROM a AS b\n",
        "RUN ", "CMD ", "ENTRYPOINT ", "SHELL ", "ENV ", "ARG ", "LABEL ", "EXPOSE ", "STOPSIGNAL ", "USER ", "WORKDIR ",
        "VOLUME ", "COPY ", "ADD ", "ONBUILD ", "HEALTHCHECK ", "--interval=", "--retries=", "--start-interval=", "--mount=",
        "type=tmpfs,target=/t,size=", "type=cache,mode=", ",uid=", "--chown=", "--chmod=", "--from=", "--platform=", "--exclude=",
        "--network=", "--security=", "--", "CMD [", "\u{FEFF}", "é", "\u{0}", "\u{FFFF}",
    ]

    @Test("Dockerfile parser and expander")
    func dockerfile() {
        let (problems, runs) = fuzz(target: "dockerfile", tokens: Self.dockerfileTokens, Self.checkDockerfile)
        #expect(problems.isEmpty, "\(problems.count) of \(runs) inputs broke an invariant: \(problems.prefix(5))")
    }

    /// Parses, dumps and expands every instruction; refusals must be located DockerfileErrors.
    static func checkDockerfile(_ bytes: [UInt8]) -> String? {
        func located(_ body: () throws -> Void) -> String? {
            do {
                try body()
                return nil
            } catch let error as DockerfileError {
                return error.location == nil ? "error without a location: \(error.message.prefix(200))" : nil
            } catch {
                return "not a DockerfileError: \(type(of: error)) \(String(describing: error).prefix(200))"
            }
        }
        var file: Dockerfile?
        if let problem = located({ file = try Dockerfile.parse(bytes: bytes, fileName: "Dockerfile") }) { return problem }
        guard let file else { return nil }
        _ = file.dump
        var global: GlobalArguments?
        if let problem = located({
            global = try GlobalArguments(dockerfile: file, buildArgs: ["B": "b"], predefined: ["TARGETARCH": "amd64"])
        }) {
            return problem
        }
        guard let global else { return nil }
        for stage in file.stages {
            var arguments = StageArguments(global: global, buildArgs: ["B": "b"])
            var environment = ["A": "aaa", "E": "", "P": "80"]
            for instruction in [Instruction.from(stage.from)] + stage.instructions {
                if case .arg(let arg) = instruction {
                    var resolved: [ResolvedArgument] = []
                    if let problem = located({ resolved = try arguments.declare(arg, environment: environment) }) { return problem }
                    for argument in resolved { environment[argument.name] = argument.value }
                    continue
                }
                if case .onbuild(let onbuild) = instruction,
                    let problem = located({ _ = try Instruction.parse(onbuild.expression, escape: file.escape) })
                {
                    return "ONBUILD trigger: \(problem)"
                }
                if let problem = located({ _ = try file.expand(instruction, environment: environment) }) { return problem }
            }
            if let problem = located({
                _ = try file.requiredStages(forTarget: file.stages.count - 1, globalEnvironment: global.environment)
            }) {
                return problem
            }
        }
        return nil
    }

    static let ignoreTokens = [
        "*", "**", "**/", "/", "!", "?", "[", "]", "[^", "-", "\\", ".", "..", "./", "\n", "\n!", "#", " ", "a", "dir/", "é",
    ]

    @Test(".dockerignore matcher")
    func dockerignore() {
        let (problems, runs) = fuzz(target: "dockerignore", tokens: Self.ignoreTokens, Self.checkIgnore)
        #expect(problems.isEmpty, "\(problems.count) of \(runs) inputs broke an invariant: \(problems.prefix(5))")
    }

    /// Compiles the patterns and matches paths made from them. A directory the walk may skip
    /// must have every path below it excluded (else files vanish, issue 12 item 4).
    static func checkIgnore(_ bytes: [UInt8]) -> String? {
        let text = String(decoding: bytes, as: UTF8.self)
        guard let ignore = try? DockerIgnore(text: text) else { return nil }
        var paths: Set<String> = ["a", "dir", "dir/keep", "dir/sub", "dir/sub/x", "x.o", "keep.o", "build/x", ".foo", "a/b/c"]
        // A few hundred patterns are plenty to exercise the matcher; more only costs time.
        for pattern in ignore.patterns.prefix(200) {
            let plain = pattern.drop(while: { $0 == "!" })
            let made = plain.replacingOccurrences(of: "**", with: "q/r").replacingOccurrences(of: "*", with: "s")
                .replacingOccurrences(of: "?", with: "t").filter { !"[]^\\".contains($0) }
            if !made.isEmpty && made.count < 200 {
                paths.insert(String(made))
                paths.insert(made + "/child")
                paths.insert(made + "/deep/er")
            }
        }
        // Thousands of patterns (a long repeated token) are matched on a few paths only.
        for path in ignore.patterns.count > 1_000 ? Array(paths.sorted().prefix(10)) : paths.sorted() {
            let excluded = ignore.excludes(path, isDirectory: false)
            let components = path.split(separator: "/")
            for depth in 1..<max(components.count, 1) {
                let directory = components[..<depth].joined(separator: "/")
                if ignore.canSkipDirectory(directory) && !excluded {
                    return "directory '\(directory)' is skipped but '\(path)' below it is not excluded"
                }
            }
        }
        for component in paths.flatMap({ $0.split(separator: "/") }).prefix(50) {
            if let pattern = try? PathPattern(String(component)) { _ = pattern.matches(String(component)) }
        }
        return nil
    }

    /// Patterns and values over a tiny alphabet, compared with a brute-force matcher.
    @Test("substitution patterns agree with a brute-force reference")
    func shellPatterns() throws {
        var rng = SplitMix64(state: FuzzPaths.seed)
        let deadline = Date().addingTimeInterval(min(FuzzPaths.seconds, 10))
        var count = 0
        while count < 20_000 && Date() < deadline {
            let pattern = String((0..<rng.below(5)).map { _ in Array("ab*?")[rng.below(4)] })
            let value = String((0..<rng.below(7)).map { _ in Array("ab")[rng.below(2)] })
            let compiled = try ShellPattern(pattern)
            for longest in [false, true] {
                #expect(
                    compiled.removingPrefix(from: value, longest: longest) == Reference.prefix(pattern, value, longest),
                    "\(pattern) \(value)")
                #expect(
                    compiled.removingSuffix(from: value, longest: longest) == Reference.suffix(pattern, value, longest),
                    "\(pattern) \(value)")
            }
            for all in [false, true] {
                #expect(
                    try compiled.replacing(in: value, with: "X", all: all) == Reference.replace(pattern, value, all),
                    "\(pattern) \(value) \(all)")
            }
            count += 1
        }
    }
}

/// The obvious, slow definitions: what `ShellPattern` must compute.
enum Reference {
    static func matches(_ pattern: [Character], _ text: [Character]) -> Bool {
        guard let first = pattern.first else { return text.isEmpty }
        let rest = Array(pattern.dropFirst())
        switch first {
        case "*": return (0...text.count).contains { matches(rest, Array(text[$0...])) }
        case "?": return !text.isEmpty && matches(rest, Array(text.dropFirst()))
        default: return text.first == first && matches(rest, Array(text.dropFirst()))
        }
    }

    static func prefix(_ pattern: String, _ value: String, _ longest: Bool) -> String {
        let p = Array(pattern)
        let t = Array(value)
        let ends = (0...t.count).filter { matches(p, Array(t[..<$0])) }
        guard let end = longest ? ends.max() : ends.min() else { return value }
        return String(t[end...])
    }

    static func suffix(_ pattern: String, _ value: String, _ longest: Bool) -> String {
        let p = Array(pattern)
        let t = Array(value)
        let starts = (0...t.count).filter { matches(p, Array(t[$0...])) }
        guard let start = longest ? starts.min() : starts.max() else { return value }
        return String(t[..<start])
    }

    /// Leftmost start, longest match there; with `all`, repeated after each match, an empty
    /// match right after a match not counting (Go's regexp rule).
    static func replace(_ pattern: String, _ value: String, _ all: Bool) -> String {
        let p = Array(pattern)
        let t = Array(value)
        var output = ""
        var index = 0
        var previousEnd = -1
        var replaced = false
        while index <= t.count {
            let end = (all || !replaced) ? (index...t.count).filter { matches(p, Array(t[index..<$0])) }.max() : nil
            if let end, !(end == index && index == previousEnd) {
                output += "X"
                replaced = true
                previousEnd = end
                if end > index {
                    index = end
                    continue
                }
            }
            if index < t.count { output.append(t[index]) }
            index += 1
        }
        return output
    }
}
