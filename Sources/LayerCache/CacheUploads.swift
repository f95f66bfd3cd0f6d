/// Stores entries in the background, one after another (an OCI layout's index is rewritten by
/// each), so a miss costs the build the step's own work and not the upload; the build waits
/// for the queue only at its end.
public actor CacheUploads {
    private var last: Task<Void, Never>?
    private var failures: [String] = []
    private var stored = 0

    public init() {}

    /// Queues `job`; its failure is kept for `finish()`, never thrown into the build.
    public func enqueue(_ what: String, _ job: @escaping @Sendable () async throws -> Void) {
        let previous = last
        last = Task {
            await previous?.value
            do {
                try await job()
                self.record(nil)
            } catch {
                self.record("storing \(what) in the cache failed: \(error)")
            }
        }
    }

    private func record(_ failure: String?) {
        if let failure { failures.append(failure) } else { stored += 1 }
    }

    /// Waits for every queued store; returns how many were stored and the failures.
    public func finish() async -> (stored: Int, failures: [String]) {
        while let task = last {
            await task.value
            if last == task { break }
        }
        return (stored, failures)
    }
}
