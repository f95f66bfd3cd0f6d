// kiln's one error model: every failure that reaches the user is a `KilnError` whose cause
// chain keeps the errors of lower modules (Dockerfile parse errors, registry failures, system
// calls) as they were thrown. Pure: no I/O, no other kiln module.

/// A failure with a closed code (which decides the exit status), a message, the underlying
/// error that caused it (kept, not turned into text) and, where there is one, the place in the
/// Dockerfile.
///
/// `description` is the whole chain, outermost first, joined by `: `:
/// `Dockerfile:7:1: COPY a.txt /: open a.txt: permission denied`.
public struct KilnError: Error, CustomStringConvertible {
    /// What kind of failure this is; the Host picks the exit status from it.
    public enum Code: Sendable, Hashable, CustomStringConvertible {
        /// The command line asks for something missing or inconsistent (exit 2).
        case usage
        /// Something named does not exist (a file, a stage, an image, a plugin).
        case notFound
        /// The operating system or a registry refused access.
        case permission
        /// A registry or server could not be reached or answered with an error.
        case network
        /// The Dockerfile, the context or an image is malformed or inconsistent.
        case invalidInput
        /// A RUN step exited with this status (kiln exits with it too).
        case runFailed(status: Int32)
        /// A feature whose backend arrives in a later release.
        case notAvailableYet
        /// Anything else that stops the build, e.g. a failing system call.
        case failed
        /// A bug in kiln: an invariant did not hold.
        case `internal`

        public var description: String {
            switch self {
            case .usage: return "usage"
            case .notFound: return "not found"
            case .permission: return "permission"
            case .network: return "network"
            case .invalidInput: return "invalid input"
            case .runFailed(let status): return "run failed (\(status))"
            case .notAvailableYet: return "not available yet"
            case .failed: return "failed"
            case .internal: return "internal"
            }
        }
    }

    /// A place in a Dockerfile (or another text file kiln reads), 1-based.
    public struct Location: Sendable, Hashable, CustomStringConvertible {
        /// The file's name as the user gave it (`Dockerfile`).
        public var file: String
        /// 1-based line.
        public var line: Int
        /// 1-based column.
        public var column: Int

        public init(file: String, line: Int, column: Int = 1) {
            self.file = file
            self.line = line
            self.column = column
        }

        /// `file:line:column`, the form editors and terminals turn into links.
        public var description: String { "\(file):\(line):\(column)" }
    }

    /// The kind of failure (decides the exit status).
    public var code: Code
    /// What failed, in the words of the layer that knew (may be empty when the cause says it all).
    public var message: String
    /// Where in the Dockerfile, when the failure belongs to an instruction.
    public var location: Location?
    /// The error this one wraps, as it was thrown.
    public var cause: (any Error)?

    /// - Parameters:
    ///   - code: the kind of failure.
    ///   - message: what failed; empty when `cause` says everything.
    ///   - location: the Dockerfile place, if any.
    ///   - cause: the lower-level error, kept as it is.
    public init(_ code: Code, _ message: String, at location: Location? = nil, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.location = location
        self.cause = cause
    }

    /// A command-line mistake (exit 2).
    public static func usage(_ message: String, cause: (any Error)? = nil) -> KilnError {
        KilnError(.usage, message, cause: cause)
    }

    /// A feature that is accepted but not implemented yet.
    public static func notAvailableYet(_ feature: String, at location: Location? = nil) -> KilnError {
        KilnError(.notAvailableYet, "\(feature) is not available yet in this kiln", at: location)
    }

    /// The chain of messages, outermost first: this error, then each cause in turn.
    public var description: String {
        var parts: [String] = []
        if let location { parts.append(location.description) }
        if !message.isEmpty { parts.append(message) }
        if let cause { parts.append(Self.describe(cause)) }
        return parts.joined(separator: ": ")
    }

    /// The errors this one wraps, innermost last (this error first).
    public var chain: [any Error] {
        var out: [any Error] = [self]
        var next = cause
        while let error = next {
            out.append(error)
            next = (error as? KilnError)?.cause
        }
        return out
    }

    /// The innermost cause (this error when it wraps nothing).
    public var rootCause: any Error { chain.last ?? self }

    /// The process exit status for this failure: usage 2, a failing RUN its own status, else 1.
    public var exitCode: Int32 {
        switch code {
        case .usage: return 2
        case .runFailed(let status): return status == 0 ? 1 : status
        default: return 1
        }
    }

    /// The text of any error: a `KilnError`'s chain, or the error's own description.
    public static func describe(_ error: any Error) -> String {
        if let kiln = error as? KilnError { return kiln.description }
        return String(describing: error)
    }
}

/// Errors of lower modules that know which `KilnError.Code` they amount to (a system call's
/// `EACCES` is `.permission`, `ENOENT` is `.notFound`).
public protocol DiagnosticCoded: Error {
    var diagnosticCode: KilnError.Code { get }
}

extension KilnError {
    /// Wraps `error` with a message and location; the code is the cause's own when it is a
    /// `KilnError` or `DiagnosticCoded`, else `fallback`.
    public static func wrapping(
        _ error: any Error, _ message: String = "", at location: Location? = nil, fallback: Code = .failed
    ) -> KilnError {
        KilnError(code(of: error) ?? fallback, message, at: location, cause: error)
    }

    /// The code an error carries, if it carries one.
    public static func code(of error: any Error) -> Code? {
        if let kiln = error as? KilnError { return kiln.code }
        if let coded = error as? any DiagnosticCoded { return coded.diagnosticCode }
        return nil
    }

    /// The code for a failed system call's errno.
    public static func code(errno: Int32) -> Code {
        switch errno {
        case 1, 13, 30: return .permission  // EPERM, EACCES, EROFS
        case 2: return .notFound  // ENOENT
        default: return .failed
        }
    }
}
