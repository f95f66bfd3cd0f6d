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
        case buildFailed(package: String, result: ProcessResult)

        public var description: String {
            switch self {
            case .swiftNotFound:
                return
                    "cannot build a fixture package: no `swift` on PATH or beside the toolchain's swiftc; run the tests with the Swift toolchain on PATH"
            case .buildFailed(let package, let result):
                return
                    "building fixture package \(package) failed; fix it or build it by hand with `swift build --package-path \(package)`.\n\(result)"
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
        let scratch =
            (BuildProducts.scratchDirectory.map { $0 + "/kiln-fixtures" } ?? BuildProducts.packageRoot + "/.build-fixtures") + "/" + name
        guard let swift = swiftExecutable() else { throw Error.swiftNotFound }
        // Same configuration as the running tests, so the fixture and the loaded libPluginAPI.so
        // come from the same kind of build.
        let configuration = (BuildProducts.directory as NSString).lastPathComponent == "release" ? "release" : "debug"
        let common = ["build", "--package-path", package, "--scratch-path", scratch, "-c", configuration]
        let result = try await ProcessRunner.run(swift, common, timeout: 900)
        guard result.exitCode == 0 else { throw Error.buildFailed(package: package, result: result) }
        let bin = try await ProcessRunner.run(swift, common + ["--show-bin-path"], timeout: 300)
        guard bin.exitCode == 0 else { throw Error.buildFailed(package: package, result: bin) }
        return bin.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// `swift` from PATH, else the one beside this toolchain's runtime (the test binary's
    /// RUNPATH points into the toolchain, but PATH is the reliable source under `swift test`).
    public static func swiftExecutable() -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for dir in path.split(separator: ":") where FileManager.default.isExecutableFile(atPath: "\(dir)/swift") {
            return "\(dir)/swift"
        }
        return nil
    }
}
