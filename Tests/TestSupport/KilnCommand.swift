// Running the `kiln` executable from the build products directory, for end-to-end tests.
import Foundation

/// The built `kiln` binary and a way to run it with captured output.
public enum KilnCommand {
    public enum Error: Swift.Error, CustomStringConvertible {
        case binaryMissing([String])
        public var description: String {
            switch self {
            case .binaryMissing(let tried):
                return "the kiln binary was not found (tried \(tried.joined(separator: ", "))): "
                    + "build it first (`swift build`), or set KILN_BINARY to its path"
            }
        }
    }

    /// The directory holding the test bundle, which SwiftPM also builds `kiln` and the plugin
    /// libraries into.
    public static var productsDirectory: String? {
        guard let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") else { return nil }
        return (exe as NSString).deletingLastPathComponent
    }

    /// `$KILN_BINARY`, else `kiln` in the products directory.
    public static func binary() throws -> String {
        var tried: [String] = []
        if let env = ProcessInfo.processInfo.environment["KILN_BINARY"] {
            if FileManager.default.isExecutableFile(atPath: env) { return env }
            tried.append(env)
        }
        if let dir = productsDirectory {
            let p = dir + "/kiln"
            if FileManager.default.isExecutableFile(atPath: p) { return p }
            tried.append(p)
        }
        throw Error.binaryMissing(tried)
    }

    /// Runs `kiln arguments…` and returns its exit code and output. `environment` entries are
    /// added to (and override) this process's environment; a `nil` value removes a variable.
    public static func run(
        _ arguments: [String], environment: [String: String?] = [:], currentDirectory: String? = nil,
        input: String? = nil, timeout: Double = 600
    ) async throws -> ProcessResult {
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        return try await ProcessRunner.run(
            try binary(), arguments, environment: env,
            currentDirectory: currentDirectory, input: input, timeout: timeout)
    }
}
