// The stages of one build as a graph, for building those that do not depend on each other at
// the same time (as BuildKit does): a stage starts once the stages it names are finished
// (`FROM <stage>`, `COPY/ADD --from=<stage>`, `RUN --mount=from=<stage>`; an ONBUILD trigger's
// are waited for when the base is known), with at most `--stage-jobs` stages at once.
import Diagnostics
import Dockerfile
import Synchronization

/// Which planned stages each planned stage waits for.
struct StageGraph: Sendable {
    /// The stages to build, ascending.
    let stages: [Int]
    /// For each stage, the stages among `stages` it reads (always earlier ones).
    let dependencies: [Int: Set<Int>]
    /// The stages some stage starts `FROM`.
    let bases: Set<Int>

    /// Only earlier stages count: the planner resolves names to stages defined before, and a
    /// reference to a later one fails in the stage as it does when stages build in order.
    init(_ session: BuildSession, stages: [Int]) {
        self.stages = stages
        let dockerfile = session.dockerfile
        let wanted = Set(stages)
        var dependencies: [Int: Set<Int>] = [:]
        var bases: Set<Int> = []
        for index in stages {
            var uses =
                (try? dockerfile.dependencies(ofStage: index, globalEnvironment: session.plan.global.environment))
                // Cannot tell: wait for everything before it, as the sequential build does.
                ?? Set(stages.filter { $0 < index })
            if case .stage(let base) = session.bases[index] {
                uses.insert(base)
                bases.insert(base)
            }
            dependencies[index] = uses.filter { $0 < index && wanted.contains($0) }
        }
        self.dependencies = dependencies
        self.bases = bases
    }

    /// True when a stage to build starts `FROM` stage `index`.
    func isBase(_ index: Int) -> Bool { bases.contains(index) }

    /// True when some two stages could build at the same time (neither reads the other, even
    /// through a third).
    var hasIndependentStages: Bool {
        var reaches: [Int: Set<Int>] = [:]
        for index in stages {
            var all = dependencies[index] ?? []
            for d in dependencies[index] ?? [] { all.formUnion(reaches[d] ?? []) }
            reaches[index] = all
        }
        for (i, a) in stages.enumerated() {
            for b in stages[(i + 1)...] where !(reaches[b] ?? []).contains(a) { return true }
        }
        return false
    }
}

/// Stages finished so far, awaited by the stages that read them. Waiting is cancellable.
final class StageSignals: Sendable {
    private struct State {
        var done: Set<Int> = []
        var waiters: [UInt64: (stage: Int, continuation: CheckedContinuation<Void, any Error>)] = [:]
        var nextID: UInt64 = 0
    }

    private let state = Mutex(State())

    func isDone(_ index: Int) -> Bool { state.withLock { $0.done.contains(index) } }

    /// Marks `index` finished and wakes whoever waits for it.
    func finish(_ index: Int) {
        let woken = state.withLock { s in
            s.done.insert(index)
            let ids = s.waiters.filter { $0.value.stage == index }.map(\.key)
            return ids.compactMap { s.waiters.removeValue(forKey: $0)?.continuation }
        }
        for continuation in woken { continuation.resume() }
    }

    /// Returns once `index` is finished. Throws `CancellationError` when the task is cancelled.
    func wait(for index: Int) async throws {
        let id = state.withLock { s in
            s.nextID += 1
            return s.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                // Under the lock: the cancellation handler either ran before (the task is marked
                // cancelled) or finds the waiter registered.
                let now: Result<Void, any Error>? = state.withLock { s in
                    if s.done.contains(index) { return .success(()) }
                    if Task.isCancelled { return .failure(CancellationError()) }
                    s.waiters[id] = (index, continuation)
                    return nil
                }
                if let now { continuation.resume(with: now) }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id)?.continuation }?.resume(throwing: CancellationError())
        }
    }
}

/// At most `count` stages building at once, granted first come, first served.
final class StageSlots: Sendable {
    private struct State {
        var free: Int
        var queue: [(id: UInt64, continuation: CheckedContinuation<Void, any Error>)] = []
        var nextID: UInt64 = 0
    }

    private let state: Mutex<State>

    init(count: Int) { state = Mutex(State(free: max(1, count))) }

    /// Takes a slot, waiting for one if none is free; every successful call is paired with
    /// `release()`. Throws `CancellationError` (holding nothing) when cancelled while waiting.
    func acquire() async throws {
        let id = state.withLock { s in
            s.nextID += 1
            return s.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let now: Result<Void, any Error>? = state.withLock { s in
                    if Task.isCancelled { return .failure(CancellationError()) }
                    if s.free > 0 {
                        s.free -= 1
                        return .success(())
                    }
                    s.queue.append((id, continuation))
                    return nil
                }
                if let now { continuation.resume(with: now) }
            }
        } onCancel: {
            let waiting = state.withLock { s in
                s.queue.firstIndex { $0.id == id }.map { s.queue.remove(at: $0).continuation }
            }
            waiting?.resume(throwing: CancellationError())
        }
    }

    /// Gives the slot to the longest waiter, or back to the pool.
    func release() {
        let next = state.withLock { s -> CheckedContinuation<Void, any Error>? in
            if s.queue.isEmpty {
                s.free += 1
                return nil
            }
            return s.queue.removeFirst().continuation
        }
        next?.resume()
    }
}

extension StageSlots {
    /// One stage's slot: released at most once however the stage ends, and given up while the
    /// stage waits for others.
    final class Held: Sendable {
        private let slots: StageSlots
        private let held = Mutex(false)

        init(_ slots: StageSlots) async throws {
            self.slots = slots
            try await slots.acquire()
            held.withLock { $0 = true }
        }

        func release() {
            if held.withLock({ h in
                defer { h = false }
                return h
            }) {
                slots.release()
            }
        }

        func reacquire() async throws {
            try await slots.acquire()
            held.withLock { $0 = true }
        }
    }
}

/// Work that several concurrent stages may ask for at once (a base image's files extracted once,
/// a finished stage's root completed): the first caller runs it, the others wait for its outcome.
/// Only work in progress is shared; once done, callers see its result on disk and skip it.
actor InFlightWork {
    static let shared = InFlightWork()

    private var running: [String: Task<any Sendable, any Error>] = [:]

    /// Runs `body` unless work under `key` is running, in which case waits for that and returns
    /// its result. Cancelling a caller cancels the shared work (a build cancels all of its
    /// stages together).
    func run<T: Sendable>(_ key: String, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        let task: Task<any Sendable, any Error>
        if let running = running[key] {
            task = running
        } else {
            task = Task { try await body() }
            running[key] = task
        }
        defer { if running[key] == task { running[key] = nil } }
        let value = try await withTaskCancellationHandler {
            try await task.value
        } onCancel: {
            task.cancel()
        }
        guard let result = value as? T else { throw KilnError(.internal, "work \(key) returned another type") }
        return result
    }
}

extension StageGraph {
    /// The earlier stages that `instructions` (a base's ONBUILD triggers) read in stage `index`.
    /// What does not resolve is left to the instruction itself to report.
    static func stagesRead(by instructions: [Instruction], inStage index: Int, dockerfile: Dockerfile) -> Set<Int> {
        var sources: [(String, SourceLocation)] = []
        for instruction in instructions {
            switch instruction {
            case .copy(let copy): if let from = copy.from { sources.append((from, copy.location)) }
            case .run(let run): sources += run.mounts.compactMap { m in m.from.map { ($0, run.location) } }
            default: break
            }
        }
        var result: Set<Int> = []
        for (from, location) in sources {
            if case .stage(let i) = try? dockerfile.resolveSource(from, inStage: index, location: location), i < index { result.insert(i) }
        }
        return result
    }
}
