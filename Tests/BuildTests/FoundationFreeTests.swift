// kiln and its plugins link FoundationEssentials, not Foundation: Foundation's libraries
// (libFoundation, FoundationInternationalization, the ICU data) cost every process about 7 MB of
// resident memory. Only reading a YAML file opens them, through libKilnYAML.so.
import Foundation
import TestSupport
import Testing

@Suite("Foundation stays out")
struct FoundationFreeTests {
    /// The libraries the dynamic loader opened while `kiln arguments…` ran (LD_DEBUG=libs).
    static func loadedLibraries(_ arguments: [String]) async throws -> (result: ProcessResult, libraries: Set<String>) {
        let r = try await KilnCommand.run(arguments, environment: ["LD_DEBUG": "libs"])
        var libraries = Set<String>()
        for line in r.stderr.split(separator: "\n") where line.contains("calling init: ") {
            let path = line.split(separator: " ").last.map(String.init) ?? ""
            libraries.insert(String(path.split(separator: "/").last ?? ""))
        }
        return (r, libraries)
    }

    @Test("a build loads every plugin and none of Foundation's libraries")
    func buildLoadsNoFoundation() async throws {
        let work = try FixtureDirectory(prefix: "kiln-foundation")
        defer { work.remove() }
        try "FROM scratch\nCOPY a /a\n".write(toFile: work.url("Dockerfile"), atomically: true, encoding: .utf8)
        try "a\n".write(toFile: work.url("a"), atomically: true, encoding: .utf8)
        let (r, libraries) = try await Self.loadedLibraries([
            "-c", work.path, "--no-push", "--tar-path", work.url("image.tar"), "--kaniko-dir", work.url("kaniko"),
        ])
        #expect(r.succeeded, "\(r)")
        #expect(FileManager.default.fileExists(atPath: work.url("image.tar")))
        // The check can see what it claims: the plugins and FoundationEssentials are listed.
        for name in ["libFoundationEssentials.so", "libKilnPluginRegistryOCI.so", "libKilnPluginSnapshotFull.so"] {
            #expect(libraries.contains(name), "\(name) not in \(libraries.sorted())")
        }
        for name in ["libFoundation.so", "libFoundationInternationalization.so", "lib_FoundationICU.so", "libKilnYAML.so"] {
            #expect(!libraries.contains(name), "\(name) was loaded: \(libraries.sorted())")
        }
    }

    @Test("a YAML spec opens libKilnYAML.so, and its parse error names the file")
    func yamlOpensTheLibrary() async throws {
        let work = try FixtureDirectory(prefix: "kiln-yaml")
        defer { work.remove() }
        let spec = work.url("spec.yaml")
        try "image: 127.0.0.1:9/x:1\nmanifests: [1, 2\n".write(toFile: spec, atomically: true, encoding: .utf8)
        let (r, libraries) = try await Self.loadedLibraries(["manifest", "push", "from-spec", spec])
        #expect(r.exitCode == 2, "\(r)")
        // The parser's position, said once.
        #expect(r.stderr.contains("spec.yaml: 3:1: error: parser: while parsing a flow sequence in line 2, column 12"), "\(r)")
        #expect(r.stderr.components(separatedBy: "while parsing").count == 2, "\(r)")
        #expect(libraries.contains("libKilnYAML.so"), "\(libraries.sorted())")
        #expect(libraries.contains("libFoundation.so"), "\(libraries.sorted())")
    }
}
