import Builder
import Diagnostics
import FoundationEssentials
import Glibc
import PluginSupport

/// The one place errors become text and exit codes: `kiln: error: ` and the cause chain
/// (`Dockerfile:7:1: COPY a.txt /: open a.txt: permission denied`); the exit code follows the
/// error's code (usage 2, a failing RUN its own status, anything else 1).
enum ErrorPresenter {
    /// The line printed on standard error and the exit status for `error`.
    static func present(_ error: any Error) -> (message: String, exitCode: Int32) {
        if let kiln = error as? KilnError {
            return ("kiln: error: \(kiln.description)", kiln.exitCode)
        }
        return ("kiln: error: \(KilnError.describe(error))", 1)
    }

    /// `--log-format json`: the final error is a JSON line like every other line.
    nonisolated(unsafe) static var json = false

    /// Prints `error` on standard error and returns the exit status.
    static func report(_ error: any Error) -> Int32 {
        let (message, code) = present(error)
        let line =
            json
            ? BuildLog.jsonLine(
                level: "error", message: message, extra: ["error": KilnError.describe(error), "exit_code": String(code)])
            : message
        writeAll(2, Array((line + "\n").utf8))
        return code
    }
}
