// SIGINT/SIGTERM during a build: the Interruption module's thread kills the RUN processes, undoes
// the cross-build backend's binfmt_misc registrations (and its mount of binfmt_misc), detaches
// and removes the working directories, prints one line and exits 130/143 as a shell would
// report it. Only the backend is registered here; the runner and the builder register the rest.
import Interruption
import PluginAPI

enum SignalCleanup {
    /// Installs the handlers for a build that uses `backend`.
    static func install(releasing backend: (any CrossBuildBackend)?) {
        if let backend {
            // releaseAll() is idempotent and synchronous; the token lives as long as the process.
            _ = InterruptCleanup.runOnInterrupt { backend.releaseAll() }
        }
        InterruptCleanup.install()
    }
}
