// Long-running helper processes for tests (registries, proxies, token issuers) and the
// temporary directories they live in.
import Foundation

/// A server a test started. `stop()` sends SIGTERM, waits, then SIGKILLs; it is idempotent, and
/// `deinit` stops a process a test forgot.
public final class BackgroundProcess: @unchecked Sendable {
    public let name: String
    /// Where its stdout and stderr go (one file, in order of writing).
    public let outputPath: String
    private let process: Process
    private let lock = NSLock()
    private var stopped = false

    /// Starts `executable` with its output appended to `outputPath`.
    public init(
        name: String, executable: String, arguments: [String], outputPath: String,
        environment: [String: String]? = nil, currentDirectory: String? = nil
    ) throws {
        self.name = name
        self.outputPath = outputPath
        try createEmptyFile(outputPath)
        let out = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
        let p = Process()
        p.executableURL = URL(fileURLWithPath: try ExecutableLookup.require(executable))
        p.arguments = arguments
        if let environment { p.environment = environment }
        if let currentDirectory { p.currentDirectoryURL = URL(fileURLWithPath: currentDirectory) }
        p.standardOutput = out
        p.standardError = out
        p.standardInput = FileHandle.nullDevice
        try p.run()
        try? out.close()
        self.process = p
    }

    /// The process id (for logs; stop it with `stop()`, never by name).
    public var pid: Int32 { process.processIdentifier }
    public var isRunning: Bool { process.isRunning }

    /// Everything it printed so far.
    public var output: String { (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" }

    /// The last `n` lines of its output, for error messages.
    public func outputTail(_ n: Int = 20) -> String {
        output.split(separator: "\n", omittingEmptySubsequences: false).suffix(n).joined(separator: "\n")
    }

    /// SIGTERM, up to `grace` seconds to exit, then SIGKILL; waits for the exit either way.
    public func stop(grace: Double = 5) {
        lock.lock()
        let already = stopped
        stopped = true
        lock.unlock()
        guard !already else { return }
        let pid = process.processIdentifier
        guard process.isRunning else { return }
        kill(pid, SIGTERM)
        let deadline = Date().addingTimeInterval(grace)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning {
            kill(pid, SIGKILL)
            while process.isRunning { usleep(10_000) }
        }
    }

    deinit { stop(grace: 2) }
}

/// The registry fixtures' name for a temporary directory: the same type as `TemporaryTree`.
public typealias FixtureDirectory = TemporaryTree

extension TemporaryTree {
    /// `path/component`.
    public func file(_ component: String) -> String { url(component) }

    /// Writes `text` to `path/component` and returns that path.
    public func write(_ text: String, to component: String) throws -> String {
        let p = file(component)
        try writeReplacing(text, to: p)
        return p
    }
}

extension BackgroundProcess {
    /// Waits for a condition, polling; returns false on time-out.
    public static func waitUntil(timeout: Double, interval: Double = 0.05, _ condition: () -> Bool) async -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition() { return true }
            try? await Task.sleep(nanoseconds: UInt64(interval * 1e9))
        }
        return condition()
    }
}

/// Writes `text` to `path` through a temporary file beside it and a rename. (Foundation's
/// `atomically: true` leaves a `TemporaryDirectory.*` in /tmp behind on every call.)
public func writeReplacing(_ text: String, to path: String) throws {
    let temporary = path + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    try Data(text.utf8).write(to: URL(fileURLWithPath: temporary))
    guard rename(temporary, path) == 0 else {
        unlink(temporary)
        throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
    }
}

/// Creates (or truncates) an empty file with open(2). Foundation's `createFile` writes through a
/// `TemporaryDirectory.*` in /tmp that it never removes.
public func createEmptyFile(_ path: String) throws {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path]) }
    close(fd)
}
