/// Stores entries in the background, so a miss costs the build the step's own work and not the
/// upload; the build waits for them only at its end. `serial`: one after another (an OCI
/// layout's index is rewritten by each); else all at once (a registry's entries are separate
/// tags over content-addressed blobs, and each store is a chain of requests whose round trips
/// would otherwise add up after the push).
public actor CacheUploads {
    private let serial: Bool
    private var last: Task<Void, Never>?
    private var queued: [Task<Void, Never>] = []
    private var failures: [String] = []
    private var stored = 0

    public init(serial: Bool = true) {
        self.serial = serial
    }

    /// Queues `job`; its failure is kept for `finish()`, never thrown into the build.
    public func enqueue(_ what: String, _ job: @escaping @Sendable () async throws -> Void) {
        let previous = serial ? last : nil
        let task = Task {
            await previous?.value
            do {
                try await job()
                self.record(nil)
            } catch {
                self.record("storing \(what) in the cache failed: \(error)")
            }
        }
        last = task
        queued.append(task)
    }

    private func record(_ failure: String?) {
        if let failure { failures.append(failure) } else { stored += 1 }
    }

    /// Waits for every queued store (also those queued meanwhile); returns how many were stored
    /// and the failures.
    public func finish() async -> (stored: Int, failures: [String]) {
        var next = 0
        while next < queued.count {
            await queued[next].value
            next += 1
        }
        return (stored, failures)
    }
}
