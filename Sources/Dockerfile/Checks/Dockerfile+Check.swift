// Entry point of the build checks: runs every rule over a parsed file and applies the policy.

extension Dockerfile {
    /// Runs BuildKit's build checks (lint rules) over this file without building anything.
    ///
    /// - Parameters:
    ///   - buildArgs: the `--build-arg` values; `BUILDKIT_DOCKERFILE_CHECK` among them
    ///     overrides the file's `# check=` directive, as in BuildKit.
    ///   - policy: the command line's policy; when given it replaces both the directive and
    ///     the build-arg.
    ///   - source: the file's text. Needed by NoEmptyContinuation and by `# check=` comments
    ///     written just above one instruction (they add skips for that instruction only);
    ///     without it those two are not applied.
    ///   - baseEnvironment: the ENV names of base images, by the base reference as it reads
    ///     after ARG expansion (`alpine:3.20`). UndefinedVar needs them to know what a base
    ///     defines (BuildKit reads the pulled config); in a stage whose image base is not
    ///     listed here UndefinedVar is not reported, rather than warn about `$JAVA_HOME`.
    ///     `scratch` and earlier stages are always known.
    /// - Returns: the warnings the policy lets through, ordered by line; `failed` when the
    ///   policy says `error=true` and there is one.
    /// - Throws: `DockerfileError` when the `# check=` directive or the build-arg is not a
    ///   valid policy (BuildKit stops the build there too).
    public func check(
        buildArgs: [String: String] = [:], policy: CheckPolicy? = nil, source: String? = nil,
        baseEnvironment: [String: [String]] = [:]
    ) throws -> CheckReport {
        let policy = try policy ?? checkPolicy(buildArgs: buildArgs)
        var checker = Checker(file: self, buildArgs: buildArgs, baseEnvironment: baseEnvironment)
        checker.run()
        var found = checker.warnings
        var local: [Int: CheckPolicy] = [:]
        if let source {
            let lines = SourceLines(source)
            found += lines.emptyContinuations(in: self)
            local = lines.instructionPolicies(directiveLines: Set(directives.map(\.location.line)))
        }
        var seen: Set<CheckWarning> = []
        let kept = found.enumerated().filter { _, warning in
            let applying = local[warning.location.line].map { policy.merging($0) } ?? policy
            return applying.runs(warning.rule) && seen.insert(warning).inserted
        }
        let ordered = kept.sorted { a, b in
            (a.element.location.line, a.offset) < (b.element.location.line, b.offset)
        }.map(\.element)
        return CheckReport(warnings: ordered, policy: policy)
    }
}

/// What a stage knows when an instruction runs: its variables and what earlier instructions
/// (here or in the stage it is based on) have set.
struct StageScope {
    /// ENV and ARG values; names from a base image's config map to "".
    var environment: [String: String] = ["PATH": ""]
    /// `false` when the base is an image whose ENV names were not given: UndefinedVar is off.
    var environmentKnown = true
    /// ARG names declared (with or without a value): never reported as undefined.
    var declaredArguments: Set<String> = []
    /// A SHELL instruction ran: shell-form CMD/ENTRYPOINT are then deliberate.
    var shellSet = false
    /// A WORKDIR ran here or in the base stage: only the first relative one is reported.
    var workdirSet = false
}

/// Runs the rules; collects warnings in BuildKit's order (parse-time rules, whole-file
/// rules, then each stage's instructions).
struct Checker {
    let file: Dockerfile
    let buildArgs: [String: String]
    let baseEnvironment: [String: [String]]
    let lexer: ShellLexer
    var warnings: [CheckWarning] = []
    /// Each stage's scope after its last instruction, for stages based on it.
    var finalScopes: [Int: StageScope] = [:]

    init(file: Dockerfile, buildArgs: [String: String], baseEnvironment: [String: [String]]) {
        self.file = file
        self.buildArgs = buildArgs
        self.baseEnvironment = baseEnvironment
        self.lexer = ShellLexer(escape: file.escape)
    }

    mutating func warn(_ rule: CheckRule, _ message: String, at location: SourceLocation) {
        warnings.append(CheckWarning(rule, message, at: SourceLocation(file: location.file, line: location.line, column: location.column)))
    }

    mutating func run() {
        for stage in file.stages {
            checkFromWords(stage.from)
            for instruction in stage.instructions {
                if case .maintainer(let m) = instruction {
                    warn(.maintainerDeprecated, "Maintainer instruction is deprecated in favor of using label", at: m.location)
                }
            }
        }
        checkReservedNames()
        checkInstructionCasing()
        checkDefaultArgsInFrom()
        let global = globalEnvironment(withBuildArgs: true)
        for stage in file.stages {
            var scope = checkFrom(stage, global: global)
            var tracker = SingleUseTracker()
            for instruction in stage.instructions {
                check(instruction, scope: &scope, tracker: &tracker, global: global)
            }
            finalScopes[stage.index] = scope
        }
    }

    /// Expands `word`, reporting the variables it uses that the stage does not define
    /// (BuildKit's `reportUnmatchedVariables`). Returns the expansion, `nil` if it fails.
    @discardableResult
    mutating func expand(_ word: String, scope: StageScope, at location: SourceLocation, lexer custom: ShellLexer? = nil) -> String? {
        var processor = WordProcessor(lexer: custom ?? lexer, text: word, environment: scope.environment)
        let result = try? processor.process().result
        guard scope.environmentKnown else { return result }
        let options = scope.environment.keys.sorted()
        var reported: Set<String> = []
        for name in processor.unmatched
        where !scope.declaredArguments.contains(name) && !Self.notEnvironment.contains(name) && reported.insert(name).inserted {
            var message = "Usage of undefined variable '$\(name)'"
            if let match = Suggestion.nearest(to: name, in: options, caseSensitive: true) { message += " (did you mean $\(match)?)" }
            warn(.undefinedVar, message, at: location)
        }
        return result
    }

    /// BuildKit's arguments that never enter the environment, so never count as undefined.
    static let notEnvironment: Set<String> = ["BUILDKIT_SBOM_SCAN_CONTEXT", "BUILDKIT_SBOM_SCAN_STAGE"]

    /// The keyword as written in the file (`From`, `copy`).
    static func writtenKeyword(_ original: String) -> String {
        String(original.prefix(while: { !$0.isWhitespace }))
    }

    /// The argument text after the keyword and its `--flags`, as written.
    func writtenArguments(_ original: String) -> String {
        let chars = Array(original)
        let keywordEnd = chars.firstIndex(where: { $0.isWhitespace }) ?? chars.count
        let (_, start) = Words.extractFlags(chars, from: keywordEnd, escape: file.escape)
        return String(chars[start...]).trimmingWhitespace()
    }
}

/// Which of CMD, ENTRYPOINT and HEALTHCHECK a stage has used, and where.
struct SingleUseTracker {
    var last: [String: SourceLocation] = [:]
}
