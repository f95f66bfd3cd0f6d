// Rules about FROM lines and stages: names, casing, ARGs in FROM, --platform (BuildKit
// instructions/parse.go and dockerfile2llb/validations.go).

extension Checker {
    /// StageNameCasing and FromAsCasing, read from the FROM line as written (the parser
    /// lower-cases stage names).
    mutating func checkFromWords(_ from: FromInstruction) {
        let keyword = Self.writtenKeyword(from.original)
        let words = Words.whitespaceSeparated(writtenArguments(from.original))
        guard words.count == 3 else { return }
        let (asWord, name) = (words[1], words[2])
        if name != name.lowercased() {
            warn(.stageNameCasing, "Stage name '\(name)' should be lowercase", at: from.location)
        }
        // A FROM keyword of mixed case is ConsistentInstructionCasing's business.
        let fromLower = keyword == keyword.lowercased()
        let fromUpper = keyword == keyword.uppercased()
        if (fromLower && asWord != asWord.lowercased()) || (!fromLower && fromUpper && asWord != asWord.uppercased()) {
            warn(.fromAsCasing, "'\(asWord)' and '\(keyword)' keywords' casing do not match", at: from.location)
        }
    }

    mutating func checkReservedNames() {
        for stage in file.stages {
            guard let name = stage.name, name == "scratch" || name == "context" else { continue }
            warn(.reservedStageName, "Stage name should not use the same name as reserved stage \"\(name)\"", at: stage.from.location)
        }
    }

    /// ConsistentInstructionCasing: each keyword of the stages (meta ARGs are not counted, as
    /// in BuildKit) must be all upper or all lower case, matching the majority; a tie counts
    /// as upper case.
    mutating func checkInstructionCasing() {
        var keywords: [(String, SourceLocation)] = []
        for stage in file.stages {
            keywords.append((Self.writtenKeyword(stage.from.original), stage.from.location))
            keywords += stage.instructions.map { (Self.writtenKeyword($0.original), $0.location) }
        }
        var lower = 0
        var upper = 0
        for (word, _) in keywords {
            if word == word.lowercased() {
                lower += 1
            } else if word == word.uppercased() {
                upper += 1
            }
        }
        let majorityLower = lower > upper
        for (word, location) in keywords {
            if majorityLower && word != word.lowercased() {
                warn(
                    .consistentInstructionCasing, "Command '\(word)' should match the case of the command majority (lowercase)",
                    at: location)
            } else if !majorityLower && word != word.uppercased() {
                warn(
                    .consistentInstructionCasing, "Command '\(word)' should match the case of the command majority (uppercase)",
                    at: location)
            }
        }
    }

    /// The predefined platform ARGs. The build's platform is not known here; the values only
    /// need to be plausible (RedundantTargetPlatform compares with TARGETPLATFORM's).
    static let predefined: [String: String] =
        (try? PredefinedArguments.platform(target: "linux/amd64", build: "linux/amd64")) ?? [:]

    /// The global scope: predefined ARGs and meta ARGs, with or without `--build-arg`s.
    /// `nil` when a meta ARG default does not expand (the build reports that).
    func globalEnvironment(withBuildArgs: Bool) -> [String: String]? {
        let global = try? GlobalArguments(dockerfile: file, buildArgs: withBuildArgs ? buildArgs : [:], predefined: Self.predefined)
        return global?.environment
    }

    /// InvalidDefaultArgInFrom: with only the meta ARGs' defaults (no `--build-arg`), each
    /// base must still be a valid image reference, so a build without arguments works.
    mutating func checkDefaultArgsInFrom() {
        guard let defaults = globalEnvironment(withBuildArgs: false) else { return }
        for stage in file.stages {
            guard let base = try? lexer.expandWord(stage.from.image, environment: defaults) else { continue }
            if !ImageName.isValid(base) {
                warn(
                    .invalidDefaultArgInFrom, "Default value for ARG \(stage.from.image) results in empty or invalid base image name",
                    at: stage.from.location)
            }
        }
    }

    /// UndefinedArgInFrom, RedundantTargetPlatform and FromPlatformFlagConstDisallowed for one
    /// FROM line; returns the scope the stage starts with.
    mutating func checkFrom(_ stage: Stage, global: [String: String]?) -> StageScope {
        let from = stage.from
        let environment = global ?? Self.predefined
        var declared = Set(Self.predefined.keys)
        for arg in file.metaArgs { declared.formUnion(arg.arguments.map(\.name)) }
        let options = declared.sorted()
        func undeclared(_ names: [String]) {
            var reported: Set<String> = []
            for name in names where !declared.contains(name) && reported.insert(name).inserted {
                var message = "FROM argument '\(name)' is not declared"
                if let match = Suggestion.nearest(to: name, in: options, caseSensitive: true) { message += " (did you mean \(match)?)" }
                warn(.undefinedArgInFrom, message, at: from.location)
            }
        }
        var image = WordProcessor(lexer: lexer, text: from.image, environment: environment)
        let base = try? image.process().result
        undeclared(image.unmatched)
        if let platform = from.platform {
            var processor = WordProcessor(lexer: lexer, text: platform, environment: environment)
            let result = try? processor.process().result
            undeclared(processor.unmatched)
            if let result {
                checkPlatform(platform, result: result, matched: processor.matched, unmatched: processor.unmatched, stage: stage)
            }
        }
        return startingScope(stage, base: base)
    }

    private mutating func checkPlatform(_ written: String, result: String, matched: [String], unmatched: [String], stage: Stage) {
        // Only `$TARGETPLATFORM` or `${TARGETPLATFORM}` alone gives exactly its value.
        if Set(matched) == ["TARGETPLATFORM"], unmatched.isEmpty, result == Self.predefined["TARGETPLATFORM"] {
            warn(
                .redundantTargetPlatform, "Setting platform to predefined \(written) in FROM is redundant as this is the default behavior",
                at: stage.from.location)
        }
        guard matched.isEmpty, unmatched.isEmpty, let platform = try? NormalizedPlatform(result) else { return }
        // A constant platform is fine in a stage whose name says which platform it is for.
        let name = stage.name ?? ""
        if name.contains(platform.os) || name.contains(platform.architecture) { return }
        warn(.fromPlatformFlagConstDisallowed, "FROM --platform flag should not use constant value \"\(result)\"", at: stage.from.location)
    }

    /// What the stage inherits: an earlier stage's final scope, nothing for `scratch`, the
    /// image's ENV names when the caller gave them, else an unknown environment.
    private func startingScope(_ stage: Stage, base: String?) -> StageScope {
        guard let base else { return StageScope(environmentKnown: false) }
        if case .stage(let parent) = file.resolveBase(base, inStage: stage.index) {
            return finalScopes[parent] ?? StageScope(environmentKnown: false)
        }
        var scope = StageScope()
        if base.lowercased() == "scratch" { return scope }
        guard let names = baseEnvironment[base] else {
            scope.environmentKnown = false
            return scope
        }
        for name in names { scope.environment[name] = "" }
        return scope
    }
}
