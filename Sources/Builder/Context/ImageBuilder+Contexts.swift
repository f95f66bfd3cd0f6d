import Diagnostics
import Dockerfile
import FoundationEssentials

extension ImageBuilder {
    /// The source options with a remote context and remote named contexts fetched into
    /// `workDirectory` (directories from then on).
    static func resolveContexts(_ options: BuildOptions, workDirectory: String, log: BuildLog) async throws -> SourceOptions {
        do {
            var source = try await RemoteContext.resolve(
                options.source, git: options.source.git, workDirectory: workDirectory, userAgent: options.execution.userAgent, log: log)
            if !source.namedContexts.isEmpty {
                source.namedContexts = try await NamedContext.resolveAll(
                    source, workDirectory: workDirectory, userAgent: options.execution.userAgent, log: log)
            }
            return source
        } catch {
            throw KilnError.wrapping(error, fallback: .invalidInput)
        }
    }

    /// Drops the stages a named context replaces (BuildKit never builds them), and the stages
    /// only they needed. The target is always built.
    static func skipOverriddenStages(_ plan: inout BuildPlan, _ dockerfile: Dockerfile, _ source: SourceOptions) throws {
        guard !source.namedContexts.isEmpty else { return }
        let overridden = Set(
            plan.stagesToBuild.filter { i in
                i != plan.targetIndex && dockerfile.stages[i].name.map { NamedContext.lookup($0, in: source.namedContexts) != nil } == true
            })
        guard !overridden.isEmpty else { return }
        var needed: Set<Int> = [plan.targetIndex]
        if !source.skipUnusedStages { needed.formUnion(plan.stagesToBuild.filter { !overridden.contains($0) }) }
        var queue = Array(needed)
        while let i = queue.popLast() {
            let uses: Set<Int>
            do { uses = try dockerfile.dependencies(ofStage: i, globalEnvironment: plan.global.environment) } catch {
                throw KilnError.wrapping(error, fallback: .invalidInput)
            }
            // A stage a named context replaces is not built: what only it used is skipped too.
            for d in uses where !overridden.contains(d) && !needed.contains(d) {
                needed.insert(d)
                queue.append(d)
            }
        }
        plan.stagesToBuild = plan.stagesToBuild.filter { needed.contains($0) }
    }

    /// The named context standing in for a stage's base (`FROM name`), if any: a stage of that
    /// name or an image written that way (BuildKit lets a named context replace either).
    static func namedContext(for base: BuildPlan.Base, _ dockerfile: Dockerfile, _ source: SourceOptions) -> (String, NamedContext)? {
        guard !source.namedContexts.isEmpty else { return nil }
        let name: String
        switch base {
        case .scratch: return nil
        case .image(let image): name = image
        case .stage(let i):
            guard let stageName = dockerfile.stages[i].name else { return nil }
            name = stageName
        }
        return NamedContext.lookup(name, in: source.namedContexts).map { (name, $0) }
    }
}

extension ImageBuilder {
    /// `check()` for any context: a git, http(s) or tar context is fetched first (into a
    /// working directory removed afterwards) so its Dockerfile can be read.
    /// - Throws: `KilnError` when the context cannot be fetched or the Dockerfile read or parsed.
    public func checkFetchingContext() async throws -> CheckReport {
        guard RemoteContext.isRemote(options.source.context) else { return try check() }
        let (workDirectory, owned) = try makeWorkDirectory()
        defer {
            if owned || options.execution.cleanup { try? removeTree(workDirectory) }
        }
        var builder = self
        builder.options.source = try await Self.resolveContexts(options, workDirectory: workDirectory, log: log)
        return try builder.check()
    }
}
