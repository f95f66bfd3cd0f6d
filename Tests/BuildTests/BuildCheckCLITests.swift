// BuildKit's build checks through the real `kiln`: warnings during a build, `--check` to only
// lint, and `# check=error=true` stopping the build.
import Foundation
import TestSupport
import Testing

@Suite("Build checks on the command line")
struct BuildCheckCLITests {
    static let flagged = "FROM scratch as base\nCOPY a /a\nCMD echo hi\n"

    @Test func checkOnlyPrintsTheWarningsAndFailsWithoutBuilding() async throws {
        let tree = try TemporaryTree(prefix: "kiln-check")
        defer { tree.remove() }
        let ctx = try makeContext(["a": "x"], dockerfile: Self.flagged, in: tree)
        let r = try await KilnCommand.run(["-c", ctx, "--check", "--oci-layout-path", tree.url("out")])
        #expect(r.exitCode == 1, "\(r)")
        #expect(r.stderr.contains("Dockerfile:1: FromAsCasing"), "\(r.stderr)")
        #expect(r.stderr.contains("Dockerfile:3: JSONArgsRecommended"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: tree.url("out")), "--check builds nothing")

        let clean = try makeContext(["a": "x"], dockerfile: "FROM scratch AS base\nCOPY a /a\nCMD [\"/a\"]\n", in: tree)
        let ok = try await KilnCommand.run(["-c", clean, "--check"])
        #expect(ok.exitCode == 0, "\(ok)")
        #expect(ok.stderr.contains("no warnings"), "\(ok.stderr)")
    }

    @Test func aBuildWarnsAndGoesOnUnlessTheDirectiveSaysError() async throws {
        let tree = try TemporaryTree(prefix: "kiln-check-build")
        defer { tree.remove() }
        let ctx = try makeContext(["a": "x"], dockerfile: Self.flagged, in: tree)
        let warned = try await KilnCommand.run(["-c", ctx, "--oci-layout-path", tree.url("out")])
        #expect(warned.exitCode == 0, "\(warned)")
        #expect(warned.stderr.contains("JSONArgsRecommended"), "\(warned.stderr)")

        let strict = try makeContext(["a": "x"], dockerfile: "# check=error=true\n" + Self.flagged, in: tree)
        let stopped = try await KilnCommand.run(["-c", strict, "--oci-layout-path", tree.url("strict")])
        #expect(stopped.exitCode == 1, "\(stopped)")
        #expect(stopped.stderr.contains("lint violation found for rules: FromAsCasing, JSONArgsRecommended"), "\(stopped.stderr)")
        #expect(!FileManager.default.fileExists(atPath: tree.url("strict")))

        let skipped = try makeContext(["a": "x"], dockerfile: "# check=skip=all\n" + Self.flagged, in: tree)
        let quiet = try await KilnCommand.run(["-c", skipped, "--oci-layout-path", tree.url("quiet")])
        #expect(quiet.exitCode == 0 && !quiet.stderr.contains("JSONArgsRecommended"), "\(quiet)")
    }
}
