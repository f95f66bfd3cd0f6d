// Build-check results: one warning per rule violation, and the report a check run returns.
// Rule names, messages and documentation URLs follow BuildKit's linter
// (frontend/dockerfile/linter/ruleset.go) so that `# check=skip=…` lists written for
// `docker build` work unchanged.

/// One build-check rule: BuildKit's name for it and its documentation page.
public struct CheckRule: Sendable, Hashable, CustomStringConvertible {
    /// BuildKit's rule name (`JSONArgsRecommended`), the word `# check=skip=` lists.
    public var name: String
    /// The rule's documentation page.
    public var url: String

    init(_ name: String, page: String) {
        self.name = name
        self.url = "https://docs.docker.com/go/dockerfile/rule/\(page)/"
    }

    public var description: String { name }

    static let stageNameCasing = CheckRule("StageNameCasing", page: "stage-name-casing")
    static let fromAsCasing = CheckRule("FromAsCasing", page: "from-as-casing")
    static let noEmptyContinuation = CheckRule("NoEmptyContinuation", page: "no-empty-continuation")
    static let consistentInstructionCasing = CheckRule("ConsistentInstructionCasing", page: "consistent-instruction-casing")
    static let reservedStageName = CheckRule("ReservedStageName", page: "reserved-stage-name")
    static let jsonArgsRecommended = CheckRule("JSONArgsRecommended", page: "json-args-recommended")
    static let maintainerDeprecated = CheckRule("MaintainerDeprecated", page: "maintainer-deprecated")
    static let undefinedArgInFrom = CheckRule("UndefinedArgInFrom", page: "undefined-arg-in-from")
    static let workdirRelativePath = CheckRule("WorkdirRelativePath", page: "workdir-relative-path")
    static let undefinedVar = CheckRule("UndefinedVar", page: "undefined-var")
    static let multipleInstructionsDisallowed = CheckRule("MultipleInstructionsDisallowed", page: "multiple-instructions-disallowed")
    static let legacyKeyValueFormat = CheckRule("LegacyKeyValueFormat", page: "legacy-key-value-format")
    static let redundantTargetPlatform = CheckRule("RedundantTargetPlatform", page: "redundant-target-platform")
    static let secretsUsedInArgOrEnv = CheckRule("SecretsUsedInArgOrEnv", page: "secrets-used-in-arg-or-env")
    static let invalidDefaultArgInFrom = CheckRule("InvalidDefaultArgInFrom", page: "invalid-default-arg-in-from")
    static let fromPlatformFlagConstDisallowed = CheckRule("FromPlatformFlagConstDisallowed", page: "from-platform-flag-const-disallowed")
    static let exposeProtoCasing = CheckRule("ExposeProtoCasing", page: "expose-proto-casing")
    static let exposeInvalidFormat = CheckRule("ExposeInvalidFormat", page: "expose-invalid-format")

    /// Every rule kiln checks, in BuildKit's order. (BuildKit's DuplicateStageName is a parse
    /// error in kiln; CopyIgnoredFile needs the build context and InvalidBaseImagePlatform the
    /// pulled base, so the builder would have to report those.)
    public static let all: [CheckRule] = [
        stageNameCasing, fromAsCasing, noEmptyContinuation, consistentInstructionCasing, reservedStageName,
        jsonArgsRecommended, maintainerDeprecated, undefinedArgInFrom, workdirRelativePath, undefinedVar,
        multipleInstructionsDisallowed, legacyKeyValueFormat, redundantTargetPlatform, secretsUsedInArgOrEnv,
        invalidDefaultArgInFrom, fromPlatformFlagConstDisallowed, exposeProtoCasing, exposeInvalidFormat,
    ]
}

/// A build-check warning: which rule, what it found, where.
///
/// The description reads `Dockerfile:7: JSONArgsRecommended: JSON arguments recommended for
/// ENTRYPOINT to prevent unintended behavior related to OS signals
/// (https://docs.docker.com/go/dockerfile/rule/json-args-recommended/)`.
public struct CheckWarning: Sendable, Hashable, CustomStringConvertible {
    /// BuildKit's rule name, e.g. `JSONArgsRecommended`.
    public var rule: String
    /// BuildKit's message for this violation.
    public var message: String
    /// The instruction the warning is about (for MultipleInstructionsDisallowed, the earlier
    /// instruction, the one that is ignored).
    public var location: SourceLocation
    /// The rule's documentation page.
    public var url: String

    public init(rule: String, message: String, location: SourceLocation, url: String) {
        self.rule = rule
        self.message = message
        self.location = location
        self.url = url
    }

    init(_ rule: CheckRule, _ message: String, at location: SourceLocation) {
        self.init(rule: rule.name, message: message, location: location, url: rule.url)
    }

    public var description: String { "\(location.file):\(location.line): \(rule): \(message) (\(url))" }
}

/// What a check run found.
public struct CheckReport: Sendable, Hashable {
    /// Warnings ordered by line, each reported once.
    public var warnings: [CheckWarning]
    /// The policy that applied (the command line's, or the file's `# check=` directive).
    public var policy: CheckPolicy

    public init(warnings: [CheckWarning], policy: CheckPolicy) {
        self.warnings = warnings
        self.policy = policy
    }

    /// `true` when the policy says `error=true` and at least one warning was reported: the
    /// build must stop.
    public var failed: Bool { policy.failOnWarning && !warnings.isEmpty }

    /// The error to stop the build with when `failed`: BuildKit's `lint violation found for
    /// rules: …`, located at the first warning.
    public var error: DockerfileError? {
        guard failed, let first = warnings.first else { return nil }
        var rules: [String] = []
        for warning in warnings where !rules.contains(warning.rule) { rules.append(warning.rule) }
        return DockerfileError("lint violation found for rules: \(rules.joined(separator: ", "))", at: first.location)
    }
}
