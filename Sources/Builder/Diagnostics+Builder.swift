import Diagnostics
import Dockerfile
import PluginAPI

extension SourceLocation {
    /// This location in the error model's terms.
    var diagnostic: KilnError.Location { KilnError.Location(file: file, line: line, column: column) }
}

extension KilnError {
    /// A failure of the instruction at `location`, wrapping `cause` (code taken from the cause
    /// when it has one: a registry failure is `.network`, a system call's errno decides).
    static func at(_ location: SourceLocation, _ message: String, cause: any Error, fallback: Code = .failed) -> KilnError {
        KilnError(code(of: cause) ?? registryCode(cause) ?? fallback, message, at: location.diagnostic, cause: cause)
    }

    /// A failure of the instruction at `location` with no lower-level cause.
    static func at(_ location: SourceLocation, _ code: Code, _ message: String) -> KilnError {
        KilnError(code, message, at: location.diagnostic)
    }

    /// A Dockerfile error (parse, expansion, ARG scope) as a failure of the build: the
    /// Dockerfile error is the cause and carries its own location.
    public static func dockerfile(_ error: DockerfileError) -> KilnError {
        KilnError(.invalidInput, "", cause: error)
    }

    static func registryCode(_ error: any Error) -> Code? {
        guard let failure = error as? any RegistryFailure else { return nil }
        if failure.statusCode == 401 || failure.statusCode == 403 { return .permission }
        if failure.statusCode == 404 { return .notFound }
        return .network
    }
}
