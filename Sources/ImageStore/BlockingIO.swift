import Dispatch

/// Runs blocking work (file copies, hashing, libarchive) on threads of its own, so that a long
/// read never starves Swift's cooperative pool (STYLE.md § Concurrency and I/O).
enum BlockingIO {
    private static let queue = DispatchQueue(label: "kiln.imagestore.blocking-io", attributes: .concurrent)

    static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try body() }) }
        }
    }
}
