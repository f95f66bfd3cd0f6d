// The build plan: which stages to build, in which order, with the global ARGs resolved and each
// stage's base named. Pure: takes plain values (build args, target, platforms), never options of
// the engine.

/// Which stages to build, in which order, with the global ARG scope and each stage's base.
public struct BuildPlan: Sendable {
    /// Indices of the stages to build, ascending; the last one is the target.
    public var stagesToBuild: [Int]
    /// The stage `--target` names (the last stage by default).
    public var targetIndex: Int
    /// The global ARG scope (predefined platform ARGs, meta ARGs, `--build-arg` overrides).
    public var global: GlobalArguments
    /// `--build-arg` values, plus proxy variables taken from the environment.
    public var buildArgs: [String: String]
    /// The base each planned stage names after expansion, with the FROM's location.
    public var bases: [Int: Base]
    /// Stages a later stage builds on or copies from (their roots must stay complete).
    public var stagesUsedLater: Set<Int> = []
    /// `FROM --platform=…` of each planned stage that has one, expanded with the global ARGs
    /// (`$BUILDPLATFORM`, `$TARGETPLATFORM`); other stages build for the target platform.
    public var platforms: [Int: String] = [:]

    /// Where a stage starts.
    public enum Base: Sendable, Hashable {
        case scratch
        /// An earlier stage, by index.
        case stage(Int)
        /// An image to pull, as written after expansion (not yet parsed as a reference).
        case image(String)
    }

    /// What the plan is made from.
    public struct Input: Sendable {
        /// `--build-arg KEY=VALUE`, in order; a nil value (a bare `KEY` absent from the
        /// environment) is not set.
        public var buildArgs: [(String, String?)]
        /// `--target` (name or nil for the last stage).
        public var target: String?
        /// Only the stages the target needs (BuildKit's default), else every stage up to it.
        public var skipUnusedStages: Bool
        /// The platforms `TARGETPLATFORM` and `BUILDPLATFORM` describe (`os/arch[/variant]`).
        public var targetPlatform: String
        public var buildPlatform: String
        /// The environment proxy variables (`HTTP_PROXY`…) are taken from when not build args.
        public var environment: [String: String]

        public init(
            buildArgs: [(String, String?)] = [], target: String? = nil, skipUnusedStages: Bool = true,
            targetPlatform: String, buildPlatform: String, environment: [String: String] = [:]
        ) {
            self.buildArgs = buildArgs
            self.target = target
            self.skipUnusedStages = skipUnusedStages
            self.targetPlatform = targetPlatform
            self.buildPlatform = buildPlatform
            self.environment = environment
        }
    }

    /// Why a plan could not be made, and whether the command line or the Dockerfile is at fault.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public enum Origin: Sendable, Hashable {
            /// `--target`, `--custom-platform` name something the Dockerfile does not have.
            case commandLine
            /// The Dockerfile's own FROM lines and ARGs.
            case dockerfile
        }
        /// Who is at fault: the command line (a usage error) or the Dockerfile.
        public var origin: Origin
        /// The front end's diagnostic, with its location when it has one.
        public var error: DockerfileError
        public var description: String { error.description }
    }

    /// Plans `dockerfile` for `input`.
    /// - Throws: `BuildPlan.Failure` wrapping the `DockerfileError`.
    public init(dockerfile: Dockerfile, input: Input) throws {
        var buildArgs: [String: String] = [:]
        for (k, v) in input.buildArgs { if let v { buildArgs[k] = v } }
        for name in PredefinedArguments.proxyNames where buildArgs[name] == nil {
            if let v = input.environment[name] { buildArgs[name] = v }
        }
        self.buildArgs = buildArgs
        let predefined = try Self.commandLine {
            try PredefinedArguments.platform(target: input.targetPlatform, build: input.buildPlatform)
        }
        targetIndex = try Self.commandLine { try dockerfile.targetStage(input.target) }
        let targetIndex = targetIndex
        let global = try Self.dockerfile { try GlobalArguments(dockerfile: dockerfile, buildArgs: buildArgs, predefined: predefined) }
        self.global = global
        stagesToBuild = try Self.dockerfile {
            input.skipUnusedStages
                ? try dockerfile.requiredStages(forTarget: targetIndex, globalEnvironment: global.environment)
                : Array(0...targetIndex)
        }
        var bases: [Int: Base] = [:]
        var platforms: [Int: String] = [:]
        for index in stagesToBuild {
            let stage = dockerfile.stages[index]
            let expanded = try Self.dockerfile {
                try Instruction.from(stage.from).expanded(environment: global.environment, escape: dockerfile.escape)
            }
            guard case .from(let from) = expanded else { continue }
            if let platform = from.platform, !platform.isEmpty {
                _ = try Self.dockerfile {
                    do { return try PredefinedArguments.platform(target: platform, build: input.buildPlatform) } catch let error
                        as DockerfileError
                    {
                        throw DockerfileError(error.message, at: from.location)
                    }
                }
                platforms[index] = platform
            }
            switch dockerfile.resolveBase(from.image, inStage: index) {
            case .stage(let i): bases[index] = .stage(i)
            case .image(let name) where name.lowercased() == "scratch": bases[index] = .scratch
            case .image(let name): bases[index] = .image(name)
            }
        }
        self.bases = bases
        self.platforms = platforms
        var usedLater: Set<Int> = []
        for index in stagesToBuild {
            usedLater.formUnion(try Self.dockerfile { try dockerfile.dependencies(ofStage: index, globalEnvironment: global.environment) })
        }
        stagesUsedLater = usedLater
    }

    private static func commandLine<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let error as DockerfileError { throw Failure(origin: .commandLine, error: error) }
    }

    private static func dockerfile<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let error as DockerfileError { throw Failure(origin: .dockerfile, error: error) }
    }
}
