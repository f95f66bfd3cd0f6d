// The cross-build contract: run foreign-architecture binaries during RUN.
//
// The host's order of calls, for each target platform whose stages have RUN steps:
//   1. `status(for:)` before any layer is pulled; `.unavailable(reason:)` ends the build with
//      the reason (it names what is missing and the one command that provides it);
//   2. `prepare(for:)` (throws with the same kind of message when it cannot);
//   3. the RUN steps;
//   4. `release(_:)`, exactly once per session, also when the build failed;
//   and from the host's SIGINT/SIGTERM handler (and before any other abrupt exit):
//   `releaseAll()`, which is synchronous and safe to call from a signal handler.

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
    /// The backend mounted binfmt_misc for this session (and unmounts it on release, once no
    /// other session of the process needs it).
    public var mountedBinfmtMisc: Bool

    public init(platform: Platform, interpreter: String?, registeredEntries: [String], mountedBinfmtMisc: Bool = false) {
        self.platform = platform
        self.interpreter = interpreter
        self.registeredEntries = registeredEntries
        self.mountedBinfmtMisc = mountedBinfmtMisc
    }
}

/// A backend that lets RUN execute binaries of another architecture (QEMU user mode).
public protocol CrossBuildBackend: PluginComponent {
    /// Whether `platform`'s binaries can run here; no side effects.
    func status(for platform: Platform) async -> CrossBuildStatus
    /// Makes `platform`'s binaries runnable (registers binfmt_misc handlers if needed).
    func prepare(for platform: Platform) async throws -> CrossBuildSession
    /// Undoes what `prepare` registered or mounted.
    func release(_ session: CrossBuildSession) async throws
    /// Undoes everything every session of this process still holds, synchronously, without
    /// allocating or taking locks: what a SIGINT/SIGTERM handler or an exit path calls.
    /// Idempotent; later `release` calls for those sessions do nothing.
    func releaseAll()
}

extension CrossBuildBackend {
    public var kind: PluginKind { .crossBuild }
    /// Backends that register nothing have nothing to undo.
    public func releaseAll() {}
}
