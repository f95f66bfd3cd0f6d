// A plugin built against an older (or newer) copy of the contract is refused, with both versions
// named, in debug and in release builds. The plugin is built for real from Tests/Fixtures/StalePlugin
// against a copy of Sources/PluginAPI whose version was rewritten, as a third party's plugin built
// from an old kiln checkout would be.
//
// Before API 3 the version came from a default in a PluginAPI extension: a debug plugin read the
// *host's* constant through the loaded libPluginAPI.so and was accepted whatever it was built
// against. The version is now compiled into the plugin (`@_alwaysEmitIntoClient`).
import Foundation
import PluginAPI
import PluginHost
import TestSupport
import Testing

@Suite("Stale plugins", .serialized)
struct StalePluginTests {
    static let versionLine =
        "PluginAPIVersion(major: \(kilnPluginAPIVersion.major), minor: \(kilnPluginAPIVersion.minor), patch: \(kilnPluginAPIVersion.patch))"

    /// Builds the stale fixture against a copy of PluginAPI that declares `version`.
    static func buildStalePlugin(declaring version: PluginAPIVersion, configuration: String) async throws -> String {
        let root = BuildProducts.packageRoot
        let scratchBase = (BuildProducts.scratchDirectory ?? root + "/.build-fixtures") + "/kiln-fixtures"
        let work = "\(scratchBase)/stale-\(version)-src"
        try? FileManager.default.removeItem(atPath: work)
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: root + "/Sources/PluginAPI", toPath: work + "/PluginAPI")
        try FileManager.default.copyItem(atPath: root + "/Tests/Fixtures/StalePlugin", toPath: work + "/StalePlugin")
        let source = work + "/PluginAPI/Plugin/PluginModule.swift"
        let text = try String(contentsOfFile: source, encoding: .utf8)
        #expect(text.contains(versionLine), "PluginModule.swift no longer declares the version as \(versionLine)")
        let patched = text.replacingOccurrences(
            of: versionLine, with: "PluginAPIVersion(major: \(version.major), minor: \(version.minor), patch: \(version.patch))")
        try patched.write(toFile: source, atomically: false, encoding: .utf8)

        let swift = try #require(FixturePackage.swiftExecutable(), "no swift on PATH")
        let args = [
            "build", "--package-path", work + "/StalePlugin", "--scratch-path", "\(scratchBase)/stale-\(version)-\(configuration)",
            "-c", configuration,
        ]
        let built = try await ProcessRunner.run(swift, args, timeout: 900)
        try #require(built.exitCode == 0, "building the stale plugin failed:\n\(built)")
        let bin = try await ProcessRunner.run(swift, args + ["--show-bin-path"], timeout: 300)
        try #require(bin.exitCode == 0, "\(bin)")
        return bin.stdout.trimmingCharacters(in: .whitespacesAndNewlines) + "/libKilnPluginStale.so"
    }

    static func expectRefused(_ path: String, declaring version: PluginAPIVersion) throws {
        let error = #expect(throws: PluginLoadError.self) { try PluginLoader().load(path: path) }
        #expect(error == .apiMismatch(path: path, plugin: "Stale", found: version, expected: kilnPluginAPIVersion))
        let message = try #require(error?.description)
        for part in [path, "version \(version)", "version \(kilnPluginAPIVersion)", "rebuild"] {
            #expect(message.contains(part), "message \(message) lacks \(part)")
        }
    }

    @Test(arguments: ["debug", "release"])
    func aPluginBuiltAgainstAnOlderMajorIsRefused(configuration: String) async throws {
        let older = PluginAPIVersion(major: kilnPluginAPIVersion.major - 1, minor: 0, patch: 0)
        let path = try await Self.buildStalePlugin(declaring: older, configuration: configuration)
        try Self.expectRefused(path, declaring: older)
    }

    @Test func aPluginBuiltAgainstANewerMinorIsRefused() async throws {
        let newer = PluginAPIVersion(major: kilnPluginAPIVersion.major, minor: kilnPluginAPIVersion.minor + 1, patch: 0)
        let path = try await Self.buildStalePlugin(declaring: newer, configuration: "debug")
        try Self.expectRefused(path, declaring: newer)
    }

    @Test func aPluginBuiltAgainstThisContractLoads() async throws {
        let path = try await Self.buildStalePlugin(declaring: kilnPluginAPIVersion, configuration: "debug")
        let plugin = try PluginLoader().load(path: path)
        #expect(plugin.name == "Stale")
        #expect(plugin.apiVersion == kilnPluginAPIVersion)
    }
}
