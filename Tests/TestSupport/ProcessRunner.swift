// Running external programs from tests: one-shot commands whose output is captured, and
// long-running servers (registries, proxies, token issuers) stopped with SIGTERM then SIGKILL.
import Foundation

/// What a finished command printed and how it ended.
public struct ProcessResult: Sendable, CustomStringConvertible {
    public var exitCode: Int32
    public var stdout: String
    public var stderr: String
    /// The command line, for failure messages.
    public var commandLine: String

    public var succeeded: Bool { exitCode == 0 }

    public var description: String {
        "`\(commandLine)` exited \(exitCode)\n--- stdout\n\(stdout)\n--- stderr\n\(stderr)"
    }
}

/// Runs programs to completion with captured output.
public enum ProcessRunner {
    public enum Error: Swift.Error, CustomStringConvertible {
        case notFound(String)
        case timedOut(String, seconds: Double)
        case failed(ProcessResult)

        public var description: String {
            switch self {
            case .notFound(let name):
                return "program '\(name)' not found on PATH: install it (see Tests/Tools/README.md for the apt packages)"
            case .timedOut(let cmd, let s):
                return "`\(cmd)` did not finish within \(s) s and was killed"
            case .failed(let r):
                return "command failed: \(r)"
            }
        }
    }

    /// Runs `executable` (a path, or a name looked up on PATH) and waits for it. Output goes
    /// through files, so a chatty program can never block on a full pipe.
    public static func run(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil,
        currentDirectory: String? = nil, input: String? = nil, timeout: Double = 300
    ) async throws -> ProcessResult {
        let path = try ExecutableLookup.require(executable)
        let dir = try FixtureDirectory(prefix: "kiln-run")
        defer { dir.remove() }
        let outPath = dir.path + "/stdout"
        let errPath = dir.path + "/stderr"
        try createEmptyFile(outPath)
        try createEmptyFile(errPath)
        let out = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        let err = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        defer {
            try? out.close()
            try? err.close()
        }

        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        if let environment { process.environment = environment }
        if let currentDirectory { process.currentDirectoryURL = URL(fileURLWithPath: currentDirectory) }
        process.standardOutput = out
        process.standardError = err
        let stdin = Pipe()
        process.standardInput = input == nil ? FileHandle.nullDevice : stdin
        let commandLine = ([executable] + arguments).joined(separator: " ")

        let code: Int32 = try await withCheckedThrowingContinuation { continuation in
            let once = ResumeOnce(continuation)
            process.terminationHandler = { p in once.resume(.success(p.terminationStatus)) }
            do { try process.run() } catch {
                once.resume(.failure(error))
                return
            }
            if let input {
                stdin.fileHandleForWriting.write(Data(input.utf8))
                try? stdin.fileHandleForWriting.close()
            }
            let pid = process.processIdentifier
            DispatchQueue.global().asyncAfter(deadline: .now() + timeout) {
                guard process.isRunning else { return }
                kill(pid, SIGKILL)
                once.resume(.failure(Error.timedOut(commandLine, seconds: timeout)))
            }
        }
        return ProcessResult(
            exitCode: code, stdout: (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "",
            stderr: (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "", commandLine: commandLine)
    }

    /// Like `run`, but throws `Error.failed` (with the whole output) unless the exit code is 0.
    @discardableResult
    public static func check(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil,
        currentDirectory: String? = nil, input: String? = nil, timeout: Double = 300
    ) async throws -> ProcessResult {
        let r = try await run(
            executable, arguments, environment: environment, currentDirectory: currentDirectory,
            input: input, timeout: timeout)
        guard r.succeeded else { throw Error.failed(r) }
        return r
    }
}

/// Resumes a continuation at most once (termination and time-out race).
private final class ResumeOnce<T: Sendable>: @unchecked Sendable {
    private var continuation: CheckedContinuation<T, any Swift.Error>?
    private let lock = NSLock()
    init(_ c: CheckedContinuation<T, any Swift.Error>) { continuation = c }
    func resume(_ result: Result<T, any Swift.Error>) {
        lock.lock()
        let c = continuation
        continuation = nil
        lock.unlock()
        c?.resume(with: result)
    }
}

/// Finds programs on PATH, and says whether a test may skip when they are missing.
public enum ExecutableLookup {
    /// The absolute path of `name` (returned as is when it contains a slash and exists).
    public static func find(_ name: String) -> String? {
        if name.contains("/") { return FileManager.default.isExecutableFile(atPath: name) ? name : nil }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        let dirs = path.split(separator: ":").map(String.init) + ["/usr/sbin", "/sbin"]
        return dirs.map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Like `find`, but throws `ProcessRunner.Error.notFound` (which names the package to install).
    public static func require(_ name: String) throws -> String {
        guard let p = find(name) else { throw ProcessRunner.Error.notFound(name) }
        return p
    }

    /// True on CI (`CI=true`), where nothing may skip: a missing program must fail the test.
    public static var isCI: Bool {
        let v = ProcessInfo.processInfo.environment["CI"]?.lowercased()
        return v == "true" || v == "1"
    }

    /// For `.enabled(if:)`: true when every program exists, or on CI (so the test runs and fails
    /// with `ProcessRunner.Error.notFound` naming what to install).
    public static func available(_ names: String...) -> Bool {
        isCI || names.allSatisfy { find($0) != nil }
    }
}
