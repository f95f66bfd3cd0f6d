// Stage references (`FROM <stage>`, `COPY --from=`, `RUN --mount=from=`) and the set of stages
// a target needs.

/// What a stage reference names.
public enum StageReference: Sendable, Hashable {
    /// An earlier stage of this Dockerfile, by index.
    case stage(Int)
    /// An image reference (or `scratch`) to pull.
    case image(String)
}

extension Dockerfile {
    /// The index of the stage called `name` (case-insensitive), `nil` when there is none.
    public func stageIndex(named name: String) -> Int? {
        let lower = name.lowercased()
        return stages.first { $0.name == lower }?.index
    }

    /// The stage to build: `--target` by name (case-insensitive) or the last stage.
    /// - Throws: `DockerfileError` naming the target, with the nearest stage name.
    public func targetStage(_ target: String?) throws -> Int {
        guard let target, !target.isEmpty else { return stages.count - 1 }
        if let index = stageIndex(named: target) { return index }
        throw DockerfileError(
            "target stage \"\(target)\" could not be found", at: nil,
            suggestion: Suggestion.nearest(to: target, in: stages.compactMap(\.name)))
    }

    /// Resolves the expanded base of `FROM` in stage `index`: the name of an *earlier* stage
    /// (case-insensitive) is that stage; anything else, including the name of a later stage or
    /// of this one (`FROM alpine AS alpine`), is an image, as in BuildKit.
    public func resolveBase(_ image: String, inStage index: Int) -> StageReference {
        let lower = image.lowercased()
        if let stage = stages[..<index].last(where: { $0.name == lower }) { return .stage(stage.index) }
        return .image(image)
    }

    /// Resolves `COPY --from=` or `RUN --mount=from=` in stage `index`: a stage name or a stage
    /// number (earlier stages only), otherwise an image reference. Variables are refused, as
    /// BuildKit does.
    public func resolveSource(_ from: String, inStage index: Int, location: SourceLocation) throws -> StageReference {
        if from.contains("$") {
            throw DockerfileError(
                "variable expansion is not supported for --from, define a new stage with FROM using ARG from global scope as a workaround",
                at: location)
        }
        return try resolve(from, inStage: index, allowIndex: true, location: location)
    }

    private func resolve(_ reference: String, inStage index: Int, allowIndex: Bool, location: SourceLocation) throws -> StageReference {
        if let named = stageIndex(named: reference) {
            guard named < index else {
                throw DockerfileError(
                    "stage \"\(reference)\" is used before it is defined: it must come before the stage that uses it", at: location)
            }
            return .stage(named)
        }
        if allowIndex, let number = Int(reference), reference.allSatisfy(\.isNumber) {
            guard number < stages.count else { throw DockerfileError("invalid stage index \(number)", at: location) }
            guard number < index else {
                throw DockerfileError(
                    "stage \(number) is used before it is defined: it must come before the stage that uses it", at: location)
            }
            return .stage(number)
        }
        return .image(reference)
    }

    /// The stages stage `index` depends on directly: its FROM base, `COPY --from` and
    /// `RUN --mount=from=` sources that name stages.
    /// - Parameter globalEnvironment: `GlobalArguments.environment`, to expand FROM lines.
    public func dependencies(ofStage index: Int, globalEnvironment: [String: String]) throws -> Set<Int> {
        let stage = stages[index]
        var result: Set<Int> = []
        guard case .from(let from) = try Instruction.from(stage.from).expanded(environment: globalEnvironment, escape: escape) else {
            return result
        }
        if case .stage(let base) = resolveBase(from.image, inStage: index) { result.insert(base) }
        for instruction in stage.instructions {
            switch instruction {
            case .copy(let copy):
                if let source = copy.from, case .stage(let other) = try resolveSource(source, inStage: index, location: copy.location) {
                    result.insert(other)
                }
            case .run(let run):
                for mount in run.mounts {
                    if let source = mount.from, case .stage(let other) = try resolveSource(source, inStage: index, location: run.location) {
                        result.insert(other)
                    }
                }
            default: break
            }
        }
        return result
    }

    /// The stages needed to build `target`, ascending: the target and everything it depends
    /// on transitively. With `--skip-unused-stages` only these are built; without it, every
    /// stage up to the target.
    public func requiredStages(forTarget target: Int, globalEnvironment: [String: String]) throws -> [Int] {
        var needed: Set<Int> = [target]
        var queue = [target]
        while let next = queue.popLast() {
            for dependency in try dependencies(ofStage: next, globalEnvironment: globalEnvironment) where needed.insert(dependency).inserted
            {
                queue.append(dependency)
            }
        }
        return needed.sorted()
    }
}
