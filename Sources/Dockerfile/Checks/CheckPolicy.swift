// Which checks run and whether a warning fails the build: the `# check=` directive's value
// (BuildKit `linter.ParseLintOptions`), also accepted from the command line.

/// Which build checks run and whether warnings fail the build.
///
/// Written `skip=Rule1,Rule2;error=true`, `skip=all` or `experimental=Rule` (BuildKit's
/// grammar: at most three `key=value` options separated by `;`, blanks around words ignored).
public struct CheckPolicy: Sendable, Hashable {
    /// Rule names not to run (unknown names are accepted and ignore nothing, as in BuildKit).
    public var skippedRules: Set<String>
    /// `skip=all`: no rule runs.
    public var skipsAll: Bool
    /// `error=true`: a build with warnings fails.
    public var failOnWarning: Bool
    /// `experimental=…`: rules BuildKit marks experimental to enable. kiln has no experimental
    /// rule yet; the names are kept so the option is accepted.
    public var experimentalRules: Set<String>

    public init(skippedRules: Set<String> = [], skipsAll: Bool = false, failOnWarning: Bool = false, experimentalRules: Set<String> = []) {
        self.skippedRules = skippedRules
        self.skipsAll = skipsAll
        self.failOnWarning = failOnWarning
        self.experimentalRules = experimentalRules
    }

    /// The build-argument that overrides the file's `# check=` directive, as in BuildKit
    /// (`--build-arg BUILDKIT_DOCKERFILE_CHECK=skip=all`).
    public static let buildArgument = "BUILDKIT_DOCKERFILE_CHECK"

    /// Parses a directive value such as `skip=JSONArgsRecommended,StageNameCasing;error=true`.
    /// An empty value is the default policy (every rule, warnings only).
    /// - Throws: `DockerfileError` (without location) for an option other than `skip`,
    ///   `error` or `experimental`, a part without `=`, or an `error=` that is not a boolean.
    public init(parsing text: String) throws {
        self.init()
        let trimmed = text.trimmingWhitespace()
        if trimmed.isEmpty { return }
        // Go's SplitN(…, 3): a third part keeps any further `;`, and then fails as a value.
        for part in trimmed.split(separator: ";", maxSplits: 2, omittingEmptySubsequences: false) {
            guard let equals = part.firstIndex(of: "=") else {
                throw DockerfileError(
                    "invalid check option \"\(part)\": expected skip=Rule1,Rule2, skip=all or error=true, separated by ';'", at: nil)
            }
            let key = part[..<equals].trimmingWhitespace()
            let value = part[part.index(after: equals)...].trimmingWhitespace()
            switch key {
            case "skip":
                if value == "all" {
                    skipsAll = true
                } else {
                    skippedRules.formUnion(value.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingWhitespace() })
                }
            case "experimental":
                experimentalRules.formUnion(value.split(separator: ",").map { $0.trimmingWhitespace() })
            case "error":
                guard let flag = Self.goBool(value) else {
                    throw DockerfileError("invalid check option \"\(part)\": error= takes true or false", at: nil)
                }
                failOnWarning = flag
            default:
                throw DockerfileError(
                    "invalid check option \"\(key)\": the options are skip, error and experimental", at: nil,
                    suggestion: Suggestion.nearest(to: key, in: ["skip", "error", "experimental"]))
            }
        }
    }

    /// Whether `rule` runs under this policy.
    public func runs(_ rule: String) -> Bool { !skipsAll && !skippedRules.contains(rule) }

    /// This policy with another's skips and `error=true` added (how BuildKit merges a
    /// `# check=` comment written just above one instruction).
    func merging(_ other: CheckPolicy) -> CheckPolicy {
        var merged = self
        merged.skipsAll = skipsAll || other.skipsAll
        merged.skippedRules.formUnion(other.skippedRules)
        merged.experimentalRules.formUnion(other.experimentalRules)
        return merged
    }

    /// Go's `strconv.ParseBool`.
    static func goBool(_ text: String) -> Bool? {
        switch text {
        case "1", "t", "T", "true", "TRUE", "True": true
        case "0", "f", "F", "false", "FALSE", "False": false
        default: nil
        }
    }
}

extension Dockerfile {
    /// The policy a build applies: `BUILDKIT_DOCKERFILE_CHECK` from `buildArgs` when present
    /// (it replaces the directive, as in BuildKit), else the file's `# check=` directive, else
    /// the default (every rule, warnings only).
    /// - Throws: `DockerfileError` when the value is not a valid policy; for the directive,
    ///   located at its line.
    public func checkPolicy(buildArgs: [String: String] = [:]) throws -> CheckPolicy {
        if let value = buildArgs[CheckPolicy.buildArgument] {
            do {
                return try CheckPolicy(parsing: value)
            } catch var error as DockerfileError {
                error.message = "build-arg \(CheckPolicy.buildArgument): " + error.message
                throw error
            }
        }
        guard let directive = directives.first(where: { $0.name == "check" }) else { return CheckPolicy() }
        do {
            return try CheckPolicy(parsing: directive.value)
        } catch var error as DockerfileError {
            error.location = directive.location
            throw error
        }
    }
}
