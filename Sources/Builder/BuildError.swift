/// A build failure the Host turns into a message and an exit code.
public struct BuildError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable, Equatable {
        /// The command line asks for something inconsistent (exit 2).
        case usage
        /// A RUN step exited with this status (kiln exits with it too).
        case runFailed(status: Int32)
        /// A feature whose backend arrives in a later release.
        case notAvailableYet
        /// Anything else that stops the build (exit 1).
        case failed
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public static func usage(_ message: String) -> BuildError { BuildError(.usage, message) }
    public static func failed(_ message: String) -> BuildError { BuildError(.failed, message) }
    public static func notAvailableYet(_ feature: String) -> BuildError {
        BuildError(.notAvailableYet, "\(feature) is not available yet in this kiln")
    }

    public var description: String { message }

    /// The process exit status for this failure.
    public var exitCode: Int32 {
        switch kind {
        case .usage: return 2
        case .runFailed(let status): return status == 0 ? 1 : status
        case .notAvailableYet, .failed: return 1
        }
    }
}
