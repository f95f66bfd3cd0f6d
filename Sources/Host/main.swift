import ArgumentParser
import Diagnostics
import Foundation
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
        try await kilnCommand.execute()
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
    FileHandle.standardError.write(Data((Kiln.fullMessage(for: error) + "\n").utf8))
    exit(code == .validationFailure ? 2 : code.rawValue)
}
