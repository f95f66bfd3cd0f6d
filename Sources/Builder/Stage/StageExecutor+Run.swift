import Diagnostics
import Dockerfile
import FoundationEssentials
import PluginAPI
import PluginSupport
import Runner

extension StageExecutor {
    func execute(_ run: RunInstruction) async throws {
        if run.security == .insecure {
            throw KilnError.notAvailableYet("RUN --security=insecure", at: run.location.diagnostic)
        }
        try checkPlatformRuns(run)
        try makeRunCacheRootInPlace()
        let strategy = session.snapshotStrategy
        let ignore = snapshotIgnoreList
        let rootPath = root.path
        // The state RUN's changes are measured against: taken once, refreshed after COPY/WORKDIR.
        if !singleSnapshot {
            if state.snapshot == nil {
                state.snapshot = try await snapshotting { try await strategy.capture(root: rootPath, ignoring: ignore) }
            } else if state.snapshotStale, let previous = state.snapshot {
                state.snapshot = try await snapshotting { try await strategy.changes(root: rootPath, since: previous, ignoring: ignore).1 }
            }
            state.snapshotStale = false
        }
        _ = try makeWorkingDirectory()

        // Mount sources (secrets included) exist only while the step runs.
        let mounts = try await prepareMounts(run)
        defer { mounts.release() }
        let spec = RunSpec(
            argv: argv(for: run), environment: state.runEnvironment + mounts.environment, workingDirectory: state.workingDirectory,
            user: state.user, root: root.path, hostname: "kiln",
            mode: session.inPlace ? .none : .chroot,
            network: run.network == RunInstruction.NetworkMode.none ? .none : .host, mounts: mounts.mounts)
        let prefix = "\(stageLabel) RUN"
        let sink = log
        let outcome: RunOutcome
        do {
            outcome = try await Runner.execute(spec) { line in sink.info("\(prefix) | \(line)") }
        } catch {
            throw KilnError.at(run.location, "RUN could not start", cause: error)
        }
        mounts.release()
        guard outcome.exitStatus == 0 else {
            throw KilnError.at(
                run.location, .runFailed(status: outcome.exitStatus), "\(run.original) returned a non-zero code: \(outcome.exitStatus)")
        }
        if singleSnapshot {
            addHistory(run.original)
        } else if let previous = state.snapshot {
            try await snapshotLayer(since: previous, createdBy: run.original)
        }
    }

    /// Shell form through SHELL; heredocs handed to the shell with the command, except a RUN that
    /// is only a heredoc, whose body is the script.
    func argv(for run: RunInstruction) -> [String] {
        switch run.command {
        case .exec(let args):
            return args
        case .shell(let line):
            if run.heredocs.isEmpty { return state.shell + [line] }
            let trimmed = line.trimmed()
            if run.heredocs.count == 1, trimmed.hasPrefix("<<"), !trimmed.contains(" ") {
                return state.shell + [run.heredocs[0].content]
            }
            var script = line + "\n"
            for h in run.heredocs { script += h.content + h.name + "\n" }
            return state.shell + [script]
        }
    }

    /// RUN executes binaries of the stage's platform: natively, or under the emulation the build
    /// set up before it started (`CrossBuildSessions`). A foreign step that was not foreseen (an
    /// ONBUILD trigger of the base) fails here with a clear message, never "exec format error".
    func checkPlatformRuns(_ run: RunInstruction) throws {
        let platform = session.platform(ofStage: stage.index)
        guard CrossBuildSessions.isForeign(platform), !session.progress.runnablePlatforms.contains(where: { $0.matches(platform) })
        else { return }
        throw KilnError(
            .notFound, "RUN for \(platform) on this \(Platform.host) machine: no emulation was set up for it (see --cross)",
            at: run.location.diagnostic)
    }
}
