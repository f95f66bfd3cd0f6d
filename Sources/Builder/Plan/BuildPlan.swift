import Dockerfile
import PluginAPI

/// Which stages to build, in which order, with the global ARGs resolved and each stage's base
/// named.
struct BuildPlan {
    /// Indices of the stages to build, ascending; the last one is the target.
    var stagesToBuild: [Int]
    var targetIndex: Int
    /// The global ARG scope (predefined platform ARGs, meta ARGs, `--build-arg` overrides).
    var global: GlobalArguments
    /// `--build-arg` values (a bare `KEY` absent from the environment is not set).
    var buildArgs: [String: String]
    /// The base each stage names after expansion.
    var bases: [Int: Base]
    /// Stages a later stage builds on or copies from (their roots must stay complete).
    var stagesUsedLater: Set<Int> = []

    enum Base: Equatable {
        case scratch
        case stage(Int)
        case image(ImageReference)
    }

    init(dockerfile: Dockerfile, options: BuildOptions) throws {
        var buildArgs: [String: String] = [:]
        for (k, v) in options.buildArgs { if let v { buildArgs[k] = v } }
        for name in PredefinedArguments.proxyNames where buildArgs[name] == nil {
            if let v = options.environment[name] { buildArgs[name] = v }
        }
        self.buildArgs = buildArgs
        do {
            let predefined = try PredefinedArguments.platform(target: options.targetPlatform.description, build: Platform.host.description)
            global = try GlobalArguments(dockerfile: dockerfile, buildArgs: buildArgs, predefined: predefined)
            targetIndex = try dockerfile.targetStage(options.target)
            stagesToBuild =
                options.skipUnusedStages
                ? try dockerfile.requiredStages(forTarget: targetIndex, globalEnvironment: global.environment)
                : Array(0...targetIndex)
            var bases: [Int: Base] = [:]
            for index in stagesToBuild {
                let stage = dockerfile.stages[index]
                guard
                    case .from(let from) = try Instruction.from(stage.from).expanded(
                        environment: global.environment, escape: dockerfile.escape)
                else {
                    continue
                }
                switch try dockerfile.resolveBase(from.image, inStage: index) {
                case .stage(let i):
                    bases[index] = .stage(i)
                case .image(let name) where name.lowercased() == "scratch":
                    bases[index] = .scratch
                case .image(let name):
                    do { bases[index] = .image(try ImageReference(parsing: name)) } catch {
                        throw DockerfileError("FROM \(name): \(error)", at: stage.from.location)
                    }
                }
            }
            self.bases = bases
            for index in stagesToBuild {
                stagesUsedLater.formUnion(try dockerfile.dependencies(ofStage: index, globalEnvironment: global.environment))
            }
        } catch let error as DockerfileError {
            throw error.location == nil ? BuildError.usage(error.description) : BuildError.failed(error.description)
        }
    }
}
