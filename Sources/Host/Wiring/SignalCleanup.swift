// SIGINT/SIGTERM during a build: undo what outlives kiln (binfmt_misc registrations and mounts
// the cross-build backend made), print one line, and exit 130/143 as a shell would report it.
// RUN's processes die with kiln (the runner arms PR_SET_PDEATHSIG) and their mounts live in a
// mount namespace that dies with them.
import Foundation
import PluginAPI

enum SignalCleanup {
    /// The backend whose registrations a signal must undo. Written once before the handlers are
    /// installed and only read by them.
    nonisolated(unsafe) private static var backend: (any CrossBuildBackend)?

    /// Installs the handlers for a build that uses `backend`.
    static func install(releasing backend: (any CrossBuildBackend)?) {
        Self.backend = backend
        for sig in [SIGINT, SIGTERM] {
            signal(sig) { received in
                // Only async-signal-safe work: releaseAll() is documented as such; write(2) and _exit(2) are.
                SignalCleanup.backend?.releaseAll()
                let line: StaticString = "kiln: interrupted; emulator registrations undone\n"
                _ = line.withUTF8Buffer { write(2, $0.baseAddress, $0.count) }
                _exit(128 + received)
            }
        }
    }
}
