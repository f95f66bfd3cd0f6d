// ARG scoping: the global scope (meta ARGs before the first FROM) and each stage's scope.

/// The global ARG scope: predefined platform arguments, then the meta ARGs before the first
/// FROM, each overridden by a `--build-arg` of the same name (BuildKit `buildMetaArgs`).
public struct GlobalArguments: Sendable, Hashable {
    /// Arguments with a value, for expanding FROM lines and for stages that re-declare them.
    public private(set) var environment: [String: String]

    /// - Parameters:
    ///   - buildArgs: `--build-arg` values (they also override predefined arguments).
    ///   - predefined: usually `PredefinedArguments.platform(target:build:)`.
    /// - Throws: `DockerfileError` at the ARG line when a default does not expand.
    public init(dockerfile: Dockerfile, buildArgs: [String: String], predefined: [String: String]) throws {
        var environment = predefined
        for (name, _) in predefined {
            if let override = buildArgs[name] { environment[name] = override }
        }
        let lexer = ShellLexer(escape: dockerfile.escape)
        for arg in dockerfile.metaArgs {
            for declaration in arg.arguments {
                let name = try expandArgumentName(declaration.name, lexer: lexer, environment: environment, at: arg.location)
                if let value = buildArgs[name] {
                    environment[name] = value
                } else if let value = declaration.defaultValue {
                    do {
                        environment[name] = try lexer.expandWord(value, environment: environment)
                    } catch let error as ShellLexer.Error {
                        throw DockerfileError("ARG \(name): \(error)", at: arg.location)
                    }
                }
            }
        }
        self.environment = environment
    }
}

/// One ARG after resolution.
public struct ResolvedArgument: Sendable, Hashable {
    public var name: String
    /// `nil` when declared without default, without `--build-arg` and absent from the global
    /// scope: the name is declared but unset.
    public var value: String?

    public init(name: String, value: String?) {
        self.name = name
        self.value = value
    }
}

/// The ARGs declared so far in one stage. Only declared arguments are visible to the stage;
/// proxy arguments are the exception (see `proxyEnvironment`).
///
/// Docker keeps ENV and ARG in one environment where the later assignment wins; the builder
/// should add each resolved value to the stage's expansion environment as it dispatches ARG.
/// Declaring costs O(names declared), whatever the number of earlier ARGs.
public struct StageArguments: Sendable, Hashable {
    public let global: GlobalArguments
    public let buildArgs: [String: String]
    /// Declarations in order; a re-declaration empties the earlier slot and appends.
    private var slots: [ResolvedArgument?] = []
    private var slotOfName: [String: Int] = [:]
    /// Declared arguments that have a value.
    public private(set) var values: [String: String] = [:]

    public init(global: GlobalArguments, buildArgs: [String: String]) {
        self.global = global
        self.buildArgs = buildArgs
    }

    /// Declared arguments in declaration order (a re-declaration replaces the earlier one).
    public var declared: [ResolvedArgument] { slots.compactMap { $0 } }

    /// Declares the names of an ARG instruction. A `--build-arg` wins; otherwise a default is
    /// expanded with `environment` (the stage's ENV and earlier ARGs); otherwise the global
    /// value is inherited (`ARG NAME` after a meta `ARG NAME=v`, or a predefined argument).
    /// - Returns: the resolved arguments, for the environment and the history line
    ///   (`ARG NAME=value`).
    public mutating func declare(_ arg: ArgInstruction, environment: [String: String], escape: Character = "\\") throws
        -> [ResolvedArgument]
    {
        var resolved: [ResolvedArgument] = []
        // Names declared earlier on this line; `environment` itself is never copied.
        var scope: [String: String] = [:]
        let lexer = ShellLexer(escape: escape)
        for declaration in arg.arguments {
            let name = try expandArgumentName(
                declaration.name, lexer: lexer, environment: environment, overlay: scope, at: arg.location)
            var value: String?
            if let override = buildArgs[name] {
                value = override
            } else if let defaultValue = declaration.defaultValue {
                do {
                    value = try lexer.expandWord(defaultValue, environment: environment, overlay: scope)
                } catch let error as ShellLexer.Error {
                    throw DockerfileError("ARG \(name): \(error)", at: arg.location)
                }
            } else {
                value = global.environment[name]
            }
            if let value { scope[name] = value }
            let argument = ResolvedArgument(name: name, value: value)
            if let earlier = slotOfName[name] { slots[earlier] = nil }
            slotOfName[name] = slots.count
            slots.append(argument)
            values[name] = value
            resolved.append(argument)
        }
        return resolved
    }

    /// Proxy `--build-arg`s this stage did not declare: RUN gets them in its environment, but
    /// they are not recorded in history or config.
    public var proxyEnvironment: [String: String] {
        buildArgs.filter { PredefinedArguments.isProxy($0.key) && slotOfName[$0.key] == nil }
    }

    public static func == (lhs: StageArguments, rhs: StageArguments) -> Bool {
        lhs.global == rhs.global && lhs.buildArgs == rhs.buildArgs && lhs.declared == rhs.declared
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(global)
        hasher.combine(buildArgs)
        hasher.combine(declared)
    }
}

/// An ARG's name is expanded too (`ARG ${prefix}_VERSION=1`, BuildKit); a name that expands to
/// nothing is an error at the ARG line.
func expandArgumentName(
    _ name: String, lexer: ShellLexer, environment: [String: String], overlay: [String: String] = [:], at location: SourceLocation
) throws -> String {
    guard name.contains("$") else { return name }
    let expanded: String
    do { expanded = try lexer.expandWord(name, environment: environment, overlay: overlay) } catch let error as ShellLexer.Error {
        throw DockerfileError("ARG \(name): \(error)", at: location)
    }
    guard !expanded.isEmpty else { throw DockerfileError("ARG \(name): the name expands to nothing", at: location) }
    return expanded
}

extension Dockerfile {
    /// `--build-arg` names that no ARG in the file declares (Docker warns "were not
    /// consumed"); predefined and proxy names never count as unused.
    public func unconsumedBuildArguments(_ buildArgs: [String: String]) -> [String] {
        var declared = Set(metaArgs.flatMap { $0.arguments.map(\.name) })
        for stage in stages {
            for case .arg(let arg) in stage.instructions { declared.formUnion(arg.arguments.map(\.name)) }
        }
        let predefined: Set<String> = [
            "TARGETPLATFORM", "TARGETOS", "TARGETARCH", "TARGETVARIANT", "BUILDPLATFORM", "BUILDOS", "BUILDARCH", "BUILDVARIANT",
        ]
        return buildArgs.keys.filter { !declared.contains($0) && !predefined.contains($0) && !PredefinedArguments.isProxy($0) }.sorted()
    }
}
