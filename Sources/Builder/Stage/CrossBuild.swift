// RUN for another architecture than this machine's: decided for every stage before anything is
// pulled (a build that cannot run its steps fails in seconds, not after the pulls), then the
// cross-build backend (QEMU user mode through the CrossQEMU plugin) makes the binaries runnable
// and undoes what it did when the build ends.
import Diagnostics
import Dockerfile
import PluginAPI

/// The emulation a build set up, released once at the end (also on failure).
final class CrossBuildSessions: @unchecked Sendable {
    private var sessions: [CrossBuildSession] = []
    private let backend: (any CrossBuildBackend)?

    init(backend: (any CrossBuildBackend)?) { self.backend = backend }

    /// Makes every foreign platform a planned stage RUNs on runnable here, or throws saying what
    /// is missing. Stages without RUN need nothing (COPY and metadata never execute binaries).
    func prepare(_ session: BuildSession, mode: ExecutionOptions.CrossMode) async throws {
        var needed: [(Platform, Int)] = []
        for index in session.plan.stagesToBuild {
            let stage = session.dockerfile.stages[index]
            guard stage.instructions.contains(where: { if case .run = $0 { true } else { false } }) else { continue }
            let platform = session.platform(ofStage: index)
            guard Self.isForeign(platform), !needed.contains(where: { $0.0.matches(platform) }) else { continue }
            needed.append((platform, index))
        }
        for (platform, index) in needed {
            let location = session.dockerfile.stages[index].from.location.diagnostic
            let what = "stage \(index) runs RUN steps for \(platform) on this \(Platform.host) machine"
            if mode == .native {
                throw KilnError(.usage, "\(what), and --cross=native forbids emulation (use --cross=auto)", at: location)
            }
            guard let backend else {
                throw KilnError(
                    .notFound, "\(what), but no cross-build plugin is loaded: put libKilnPluginCrossQEMU.so next to kiln", at: location)
            }
            switch await backend.status(for: platform) {
            case .native:
                session.progress.recordRunnable(platform)
            case .unavailable(let reason):
                throw KilnError(.notFound, "\(what), which needs emulation: \(reason)", at: location)
            case .emulated(let interpreter):
                let prepared: CrossBuildSession
                do { prepared = try await backend.prepare(for: platform) } catch {
                    throw KilnError(.failed, "\(what): setting up \(interpreter)", at: location, cause: error)
                }
                sessions.append(prepared)
                session.progress.recordRunnable(platform)
                session.log.info("RUN for \(platform) runs under \(prepared.interpreter ?? interpreter) (QEMU user mode)")
            }
        }
    }

    /// Undoes every preparation (binfmt_misc entries and mounts the backend made).
    func release(log: BuildLog) async {
        guard let backend else { return }
        for prepared in sessions.reversed() {
            do { try await backend.release(prepared) } catch {
                log.warning("could not undo the emulation set up for \(prepared.platform): \(error)")
            }
        }
        sessions.removeAll()
    }

    /// True when `platform`'s binaries are not this machine's own.
    static func isForeign(_ platform: Platform) -> Bool {
        let p = platform.normalized
        let host = Platform.host.normalized
        return p.os != host.os || p.architecture != host.architecture
    }
}
