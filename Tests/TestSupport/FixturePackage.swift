// Builds a SwiftPM package under Tests/Fixtures once per test process, so every test that needs
// an out-of-package plugin shares one build (a cold build takes a minute or two here).
import Foundation

/// Builds `Tests/Fixtures/<name>` with `swift build` and caches the result for the process.
///
/// The scratch path sits inside this build's own scratch directory
/// (`<.build-x>/kiln-fixtures/<name>`), so a second test run reuses the first one's build and
/// parallel helpers with other scratch paths never share a lock. Without that layout it falls
/// back to `<package root>/.build-fixtures/<name>`.
public actor FixturePackage {
    public static let shared = FixturePackage()

    private var builds: [String: Task<String, Swift.Error>] = [:]

    public enum Error: Swift.Error, CustomStringConvertible {
        case swiftNotFound
        case buildFailed(package: String, result: ChildProcess.Result)

        public var description: String {
            switch self {
            case .swiftNotFound:
                return "cannot build a fixture package: no `swift` on PATH or beside the toolchain's swiftc; run the tests with the Swift toolchain on PATH"
            case .buildFailed(let package, let result):
                return "building fixture package \(package) failed; fix it or build it by hand with `swift build --package-path \(package)`.\n\(result)"
            }
        }
    }

    /// The products directory of `Tests/Fixtures/<name>`, building it on first use.
    public func productsDirectory(of name: String) async throws -> String {
        if let task = builds[name] { return try await task.value }
        let task = Task { try await Self.build(name) }
        builds[name] = task
        return try await task.value
    }

    private static func build(_ name: String) async throws -> String {
        let package = BuildProducts.packageRoot + "/Tests/Fixtures/" + name
        let scratch = (BuildProducts.scratchDirectory.map { $0 + "/kiln-fixtures" } ?? BuildProducts.packageRoot + "/.build-fixtures") + "/" + name
        guard let swift = swiftExecutable() else { throw Error.swiftNotFound }
        // Same configuration as the running tests, so the fixture and the loaded libPluginAPI.so
        // come from the same kind of build.
        let configuration = (BuildProducts.directory as NSString).lastPathComponent == "release" ? "release" : "debug"
        let common = ["build", "--package-path", package, "--scratch-path", scratch, "-c", configuration]
        let result = try await ChildProcess.run(swift, common)
        guard result.exitCode == 0 else { throw Error.buildFailed(package: package, result: result) }
        let bin = try await ChildProcess.run(swift, common + ["--show-bin-path"])
        guard bin.exitCode == 0 else { throw Error.buildFailed(package: package, result: bin) }
        return bin.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// `swift` from PATH, else the one beside this toolchain's runtime (the test binary's
    /// RUNPATH points into the toolchain, but PATH is the reliable source under `swift test`).
    static func swiftExecutable() -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for dir in path.split(separator: ":") where FileManager.default.isExecutableFile(atPath: "\(dir)/swift") {
            return "\(dir)/swift"
        }
        return nil
    }
}

/// Runs a program to completion and captures its output (through files, so a chatty program
/// cannot block on a full pipe).
public enum ChildProcess {
    /// How a finished program ended and what it printed.
    public struct Result: Sendable, CustomStringConvertible {
        public var exitCode: Int32
        public var stdout: String
        public var stderr: String
        public var commandLine: String
        public var description: String { "`\(commandLine)` exited \(exitCode)\n--- stdout\n\(stdout)\n--- stderr\n\(stderr)" }
    }

    /// Runs `executable` (an absolute path) with `arguments`, without blocking a cooperative thread.
    public static func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil) async throws -> Result {
        let dir = try TemporaryTree(prefix: "kiln-child")
        defer { dir.remove() }
        let outPath = dir.url("stdout"), errPath = dir.url("stderr")
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        let out = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        let err = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        defer {
            try? out.close()
            try? err.close()
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        let code: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do { try process.run() } catch {
                process.terminationHandler = nil
                continuation.resume(throwing: error)
            }
        }
        return Result(
            exitCode: code, stdout: (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "",
            stderr: (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "",
            commandLine: ([executable] + arguments).joined(separator: " "))
    }
}
