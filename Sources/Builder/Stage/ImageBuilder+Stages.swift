// Building a session's stages: one after the other, or those that do not depend on each other
// at the same time (`StageGraph`), never more than `--stage-jobs` at once. In place there is one
// root, `/`, so stages always build in order.
import Diagnostics
import Dockerfile
import FoundationEssentials

extension ImageBuilder {
    /// Builds the session's planned stages (those in `only`, if given) that it has not built yet.
    /// With `first` (another platform's session that has built the stages they share), stages
    /// that do not depend on the target platform are taken from it instead of being built again.
    /// Returns the last stage's result. The first stage to fail stops the others (cancelled)
    /// and its error is thrown.
    func buildStages(_ session: BuildSession, only: Set<Int>? = nil, reusing first: BuildSession? = nil) async throws
        -> StageResult?
    {
        let stages = session.plan.stagesToBuild.filter { only?.contains($0) ?? true }
        let shared = first.map { session.platformIndependentStages(comparedWith: $0) } ?? []
        let jobs = session.inPlace ? 1 : max(1, options.execution.stageJobs ?? ProcessInfo.processInfo.activeProcessorCount)
        let graph = StageGraph(session, stages: stages)
        if jobs == 1 || !graph.hasIndependentStages {
            for index in stages {
                try Task.checkCancellation()
                try await buildStage(index, session, reusing: first, shared: shared) { _ in }
            }
        } else {
            session.log.info("stages that do not depend on each other build at the same time, \(jobs) at once (--stage-jobs)")
            try await buildConcurrently(graph, jobs: jobs, session, reusing: first, shared: shared)
        }
        return stages.last.flatMap { session.progress.finished[$0] }
    }

    /// Every stage waits for the stages it reads, then for a free slot. A stage whose base's
    /// ONBUILD triggers read other stages gives its slot up while it waits for them, so that
    /// the stages it waits for can run.
    private func buildConcurrently(
        _ graph: StageGraph, jobs: Int, _ session: BuildSession, reusing first: BuildSession?, shared: Set<Int>
    ) async throws {
        let signals = StageSignals()
        let slots = StageSlots(count: jobs)
        for index in graph.stages where session.progress.finished[index] != nil { signals.finish(index) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in graph.stages where !signals.isDone(index) {
                group.addTask {
                    for dependency in graph.dependencies[index] ?? [] { try await signals.wait(for: dependency) }
                    let slot = try await StageSlots.Held(slots)
                    defer { slot.release() }
                    try await buildStage(index, session, reusing: first, shared: shared) { needed in
                        let pending = needed.filter { graph.stages.contains($0) && !signals.isDone($0) }
                        guard !pending.isEmpty else { return }
                        slot.release()
                        for stage in pending.sorted() { try await signals.wait(for: stage) }
                        try await slot.reacquire()
                    }
                    // Stages FROM this one may start beside others that copy from it.
                    if graph.isBase(index) { try await BaseImages(session: session).settleAsBase(ofStage: index) }
                    signals.finish(index)
                }
            }
            // Not waitForAll(): it rethrows the first failure only once every stage has ended.
            // Leaving the group with it cancels the stages still running (their steps are killed).
            while try await group.next() != nil {}
        }
    }

    /// One stage: taken from `first` when shared with it, else from its base through its
    /// instructions. `awaitStages` returns once the given stages (read by the base's ONBUILD
    /// triggers) are finished.
    private func buildStage(
        _ index: Int, _ session: BuildSession, reusing first: BuildSession?, shared: Set<Int>,
        awaitStages: (Set<Int>) async throws -> Void
    ) async throws {
        let plan = session.plan
        let log = session.log
        let stage = session.dockerfile.stages[index]
        if session.progress.finished[index] != nil { return }
        if let first, shared.contains(index), let result = first.progress.finished[index] {
            try await first.cache?.awaitFetches(result.state.layers.map(\.descriptor.digest), in: first.store)
            for layer in result.state.layers {
                do { try await session.store.put(layer.descriptor.digest, from: first.store) } catch {
                    throw KilnError.wrapping(error, "sharing stage \(index)'s layers between platforms")
                }
            }
            log.info("\(stageLabel(index, plan)) FROM \(stage.from.image): built once for every platform (its FROM --platform is fixed)")
            session.progress.finish(stage: index, result)
            return
        }
        log.info("\(stageLabel(index, plan)) FROM \(stage.from.image)\(stage.name.map { " AS \($0)" } ?? "")")
        let (initial, root, triggers) = try await BaseImages(session: session).start(stage)
        if !triggers.isEmpty {
            try await awaitStages(StageGraph.stagesRead(by: triggers, inStage: index, dockerfile: session.dockerfile))
        }
        var state = initial
        for (k, v) in options.source.labels {
            var c = state.containerConfig
            c.labels = (c.labels ?? [:]).merging([k: v]) { $1 }
            state.config.config = c
        }
        let executor = StageExecutor(session: session, stage: stage, root: root, state: state)
        try await executor.run(triggers: triggers)
        session.progress.finish(stage: index, StageResult(state: executor.state, root: root))
    }
}
