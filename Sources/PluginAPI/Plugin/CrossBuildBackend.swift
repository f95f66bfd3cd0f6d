// The cross-build contract: run foreign-architecture binaries during RUN.

/// Whether a platform's binaries can run on this machine.
public enum CrossBuildStatus: Sendable, Equatable {
    /// The host runs them natively.
    case native
    /// An emulator is available (`interpreter` is its path on the host).
    case emulated(interpreter: String)
    /// Nothing can run them; the reason says what to install or enable.
    case unavailable(reason: String)
}

/// An emulator registration made for a build, undone by `release`.
public struct CrossBuildSession: Sendable, Equatable {
    public var platform: Platform
    public var interpreter: String?
    /// binfmt_misc entries this session registered (and must unregister).
    public var registeredEntries: [String]
    public init(platform: Platform, interpreter: String?, registeredEntries: [String]) {
        self.platform = platform
        self.interpreter = interpreter
        self.registeredEntries = registeredEntries
    }
}

/// A backend that lets RUN execute binaries of another architecture (QEMU user mode).
public protocol CrossBuildBackend: PluginComponent {
    func status(for platform: Platform) async -> CrossBuildStatus
    /// Makes `platform`'s binaries runnable (registers binfmt_misc handlers if needed).
    func prepare(for platform: Platform) async throws -> CrossBuildSession
    /// Undoes what `prepare` registered.
    func release(_ session: CrossBuildSession) async throws
}

extension CrossBuildBackend {
    public var kind: PluginKind { .crossBuild }
}
