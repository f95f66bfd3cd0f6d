// The command line: exit codes, error messages that name file:line:column, and flags whose
// backend is not there yet saying so instead of being ignored.
import Foundation
import TestSupport
import Testing

@Suite("Command line")
struct CLITests {
    @Test(
        "usage errors exit 2",
        arguments: [
            ["--no-such-flag"],
            ["--snapshot-mode", "fast"],
            ["--compression", "lz4"],
            ["--custom-platform", "linux"],
            ["--label", "novalue"],
            ["-f", "/nonexistent/Dockerfile"],
        ])
    func usageErrors(_ args: [String]) async throws {
        let r = try await KilnCommand.run(["-c", Repo.helloExample] + args)
        #expect(r.exitCode == 2, "\(r)")
        #expect(!r.stderr.isEmpty)
    }

    @Test("a Dockerfile error names file:line:column and suggests the near word")
    func dockerfileErrors() async throws {
        let tree = try TemporaryTree()
        defer { tree.remove() }
        let ctx = try makeContext([:], dockerfile: "FROM scratch\nENV A=1\nCOPPY a /b\n", in: tree)
        let r = try await KilnCommand.run(["-c", ctx, "--oci-layout-path", tree.url("o")])
        #expect(r.exitCode == 1)
        #expect(r.stderr.contains("Dockerfile:3:1: unknown instruction 'COPPY' (did you mean 'COPY'?)"), "\(r)")
        #expect(!FileManager.default.fileExists(atPath: tree.url("o")))
    }

    @Test("a failing system call is printed as a chain: location, instruction, the call's own error")
    func causeChain() async throws {
        let tree = try TemporaryTree()
        defer { tree.remove() }
        let ctx = try makeContext([:], dockerfile: "FROM scratch\nCOPY dangling /x\n", in: tree)
        try FileManager.default.createSymbolicLink(atPath: ctx + "/dangling", withDestinationPath: "no-such-target")
        let r = try await KilnCommand.run(["-c", ctx, "--oci-layout-path", tree.url("o")])
        #expect(r.exitCode == 1, "\(r)")
        let line = r.stderr.split(separator: "\n").last.map(String.init) ?? ""
        #expect(line.hasPrefix("kiln: error: Dockerfile:2:1: COPY dangling /x: stat "), "\(r)")
        #expect(line.hasSuffix("/no-such-target: ENOENT (No such file or directory)"), "\(r)")
    }

    @Test("--cache without --cache-repo or a destination is a usage error (kaniko's rule)")
    func cacheNeedsRepository() async throws {
        let r = try await KilnCommand.run(["-c", Repo.helloExample, "--no-push", "--cache"])
        #expect(r.exitCode != 0 && r.exitCode != 1, "\(r)")
        #expect(r.stderr.contains("--cache needs --cache-repo"), "\(r)")
    }

    @Test("--stage-jobs and KILN_STAGE_JOBS take 1 or more; anything else is a usage error")
    func stageJobsMustBePositive() async throws {
        let flag = try await KilnCommand.run(["-c", Repo.helloExample, "--no-push", "--stage-jobs", "0"])
        #expect(flag.exitCode != 0 && flag.exitCode != 1, "\(flag)")
        #expect(flag.stderr.contains("--stage-jobs (KILN_STAGE_JOBS) must be 1 or more, not '0'"), "\(flag)")
        let env = try await KilnCommand.run(["-c", Repo.helloExample, "--no-push"], environment: ["KILN_STAGE_JOBS": "many"])
        #expect(env.exitCode != 0 && env.exitCode != 1, "\(env)")
        #expect(env.stderr.contains("not 'many'"), "\(env)")
    }

    @Test("kaniko spellings: --flag=false, deprecated camelCase names, kiln build == kiln")
    func kanikoCompatibility() async throws {
        let tree = try TemporaryTree()
        defer { tree.remove() }
        let a = try await KilnCommand.run([
            "--context=\(Repo.helloExample)", "--snapshotMode=time", "--reproducible=true",
            "--no-push=false", "--oci-layout-path=\(tree.url("a"))",
        ])
        #expect(a.exitCode == 0, "\(a)")
        let b = try await KilnCommand.run(["build", "-c", Repo.helloExample, "--reproducible", "--oci-layout-path", tree.url("b")])
        #expect(b.exitCode == 0, "\(b)")
        #expect(a.stdout == b.stdout)
    }

    @Test("kiln plugins lists the four in-tree plugins")
    func plugins() async throws {
        let r = try await KilnCommand.run(["plugins"])
        #expect(r.exitCode == 0, "\(r)")
        for (name, kind) in [
            ("SnapshotTime", "snapshot"), ("SnapshotFull", "snapshot"), ("RegistryOCI", "registry"), ("CrossQEMU", "cross-build"),
        ] {
            #expect(
                r.stdout.split(separator: "\n").contains { $0.hasPrefix(name) && $0.contains(kind) && $0.contains(".so") }, "\(name)\n\(r)")
        }
    }

    @Test("--custom-platform sets the image's platform; a foreign RUN that may not be emulated is refused at its FROM")
    func customPlatform() async throws {
        let tree = try TemporaryTree()
        defer { tree.remove() }
        let copyOnly = try await LayoutBuild.run(context: Repo.helloExample, in: tree, ["--custom-platform", "linux/arm64/v8"])
        #expect(copyOnly.result.exitCode == 0, "\(copyOnly.result)")
        let image = try copyOnly.image()
        #expect(image.config.architecture == "arm64" && image.config.os == "linux")
        let ctx = try makeContext([:], dockerfile: "FROM scratch\nRUN [\"/bin/true\"]\n", in: tree)
        let foreign = try await KilnCommand.run([
            "-c", ctx, "--custom-platform", "linux/s390x", "--cross", "native", "--oci-layout-path", tree.url("x"),
        ])
        #expect(foreign.exitCode == 2, "\(foreign)")
        #expect(foreign.stderr.contains("Dockerfile:1") && foreign.stderr.contains("--cross=native"), "\(foreign)")
    }
}
