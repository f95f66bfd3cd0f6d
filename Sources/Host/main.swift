import ArgumentParser
import Builder
import Diagnostics
import FoundationEssentials
import Glibc
import Interruption
import PluginSupport
import SystemCalls

/// A kiln subcommand; `main` calls `execute()`.
protocol KilnCommand {
    func execute() async throws
}

// `kiln` with no subcommand behaves as kaniko's executor; `kiln build` is the same command.
// Errors are turned into messages and exit codes here (through ErrorPresenter) and nowhere
// else: a usage error exits 2, a build failure 1, a failing RUN with its own status.

// Before anything allocates much: see AllocatorTuning.
AllocatorTuning.apply()
// Before any thread is made: the main thread waits for the build (`waitFor`) and takes SIGINT
// and SIGTERM, even when the parent started kiln with them blocked.
InterruptCleanup.acceptSignalsOnThisThread()

let arguments = ManifestArguments.rewrite(KanikoCompatibility.rewrite(Array(CommandLine.arguments.dropFirst())))
// The final error follows --log-format too, even when the flags themselves do not parse.
ErrorPresenter.json =
    zip(arguments, arguments.dropFirst()).contains { $0 == "--log-format" && $1 == "json" }
    || arguments.contains("--log-format=json")
do {
    var command = try Kiln.parseAsRoot(arguments)
    // Calling `run()` through `any AsyncParsableCommand` picks the synchronous requirement (which
    // only prints help), so every command exposes `execute()` instead.
    if let kilnCommand = command as? KilnCommand {
        try waitFor { try await kilnCommand.execute() }
    } else {
        try command.run()
    }
    exit(0)
} catch let error as KilnError {
    exit(ErrorPresenter.report(error))
} catch let error as ExitCode {
    exit(error.rawValue)
} catch {
    let code = Kiln.exitCode(for: error)
    if code == .success {
        // --help and --version.
        print(Kiln.fullMessage(for: error))
        exit(0)
    }
    // ArgumentParser's own errors (usage, help) are rendered by ArgumentParser.
    if !String(reflecting: type(of: error)).hasPrefix("ArgumentParser.") {
        exit(ErrorPresenter.report(error))
    }
    BuildLog.standardError(Kiln.fullMessage(for: error))
    exit(code == .validationFailure ? 2 : code.rawValue)
}

/// Runs `body` on the cooperative pool and blocks the main thread until it ends. kiln's main is
/// synchronous on purpose: an async main hands the main thread to dispatch_main, and a library
/// linking Foundation that is opened later (a third-party plugin, libKilnYAML.so) binds the main
/// queue to CoreFoundation's run loop, which then nobody runs: the process hangs. Nothing in
/// kiln runs on the main actor.
func waitFor(_ body: sending @escaping () async throws -> Void) throws {
    final class Outcome: @unchecked Sendable {
        // @unchecked: written by the task before `finished`, read after it, under `condition`.
        let condition = Condition()
        var finished = false
        var error: (any Error)?
    }
    let outcome = Outcome()
    Task.detached {
        var failure: (any Error)?
        do { try await body() } catch { failure = error }
        outcome.condition.withLock {
            outcome.error = failure
            outcome.finished = true
            outcome.condition.signal()
        }
    }
    outcome.condition.lock()
    while !outcome.finished { outcome.condition.wait() }
    outcome.condition.unlock()
    if let error = outcome.error { throw error }
}
