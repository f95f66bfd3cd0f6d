// Dedicated threads for blocking work (curl_easy_perform, credential helpers), so a stalled
// transfer never occupies one of the few threads of Swift's cooperative pool.
import FoundationEssentials
import PluginSupport

/// A small pool of dedicated threads. Workers are made on demand and leave after a minute idle,
/// so a process that stops using the registry keeps no threads.
public final class BlockingThreads: @unchecked Sendable {
    // @unchecked: every mutable field is guarded by `condition`.
    private let condition = Condition()
    private var jobs: [@Sendable () -> Void] = []
    private var idleWorkers = 0
    private var workers = 0

    public static let shared = BlockingThreads()

    /// Runs `body` on a dedicated thread and returns its result to the caller's task.
    public func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, Swift.Error>) in
            submit { continuation.resume(with: Result { try body() }) }
        }
    }

    private func submit(_ job: @escaping @Sendable () -> Void) {
        condition.lock()
        jobs.append(job)
        // Every queued job needs a worker: idle ones waking up, or a new thread.
        if jobs.count > idleWorkers {
            workers += 1
            startThread(named: "kiln-registry-io", stackSize: 1 << 20) { [self] in work() }
        } else {
            condition.signal()
        }
        condition.unlock()
    }

    private func work() {
        condition.lock()
        while true {
            if jobs.isEmpty {
                idleWorkers += 1
                let signalled = condition.wait(seconds: 60)
                idleWorkers -= 1
                if !signalled && jobs.isEmpty {
                    workers -= 1
                    condition.unlock()
                    return
                }
                continue
            }
            let job = jobs.removeFirst()
            condition.unlock()
            job()
            condition.lock()
        }
    }
}
