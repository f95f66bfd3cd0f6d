// The `kiln` command end to end (issue 12): a RUN step cannot read kiln's command line or
// environment (item 9), and a kept --kaniko-dir does not let another local user reach the build
// roots and the base image's setuid-root programs in them (item 2).
import Foundation
import Glibc
import TestSupport
import Testing

@Suite(.enabled(if: Prerequisites.enabled))
struct KilnBuildIsolationTests {
    /// Half of a secret at a time, so that no command line in the step holds it whole.
    static let secretHalves = ("kiln-secret-", String(UInt64.random(in: 1...UInt64.max), radix: 36))
    static var secret: String { secretHalves.0 + secretHalves.1 }

    /// Builds `dockerfile` on the busybox base with `arguments`; returns kiln's result.
    func build(_ dockerfile: (String) -> String, in tree: TemporaryTree, _ arguments: [String], environment: [String: String?] = [:])
        async throws -> ProcessResult
    {
        try await withRegistry(.plain) { registry in
            let base = try await BaseImageFixture.shared.push(.busybox, to: registry)
            try tree.makeDirectory("ctx")
            _ = try tree.write("ctx/Dockerfile", dockerfile(base))
            return try await KilnCommand.run(
                ["--context", tree.url("ctx"), "--no-push"] + registry.kilnFlags + arguments, environment: environment)
        }
    }

    @Test func runSeesNeitherKilnsArgumentsNorItsEnvironment() async throws {
        try #require(Prerequisites.available, Prerequisites.missing)
        let tree = try TemporaryTree()
        defer { tree.remove() }
        let (a, b) = Self.secretHalves
        let result = try await build(
            { base in
                """
                FROM \(base)
                RUN for f in /proc/[0-9]*/cmdline /proc/[0-9]*/environ; do cat $f; echo; done > /tmp/all 2>/dev/null; \
                    echo "scanned=$(grep -c sh /tmp/all) hits=$(tr '\\0' '\\n' < /tmp/all | grep -c "\(a)""\(b)")"
                """
            }, in: tree,
            ["--label", "secret=\(Self.secret)", "--build-arg", "UNDECLARED=\(Self.secret)", "--cleanup"],
            environment: ["KILN_TEST_SECRET": Self.secret])
        #expect(result.exitCode == 0, "\(result)")
        let output = result.stdout + result.stderr
        #expect(output.contains("hits=0"), "\(output)")
        #expect(!output.contains("scanned=0"), "\(output)")
    }

    @Test func aKeptKanikoDirIsPrivateToRoot() async throws {
        try #require(Prerequisites.available, Prerequisites.missing)
        try #require(access("/usr/bin/setpriv", X_OK) == 0, "needs setpriv (util-linux)")
        let tree = try TemporaryTree()
        defer { tree.remove() }
        chmod(tree.path, 0o755)  // mkdtemp's 0700 would hide everything from the other user anyway
        let kanikoDir = tree.url("kaniko/dir")
        let result = try await build(
            { base in "FROM \(base)\nRUN cp /bin/busybox /suid-root && chmod 4755 /suid-root\n" }, in: tree,
            ["--kaniko-dir", kanikoDir])
        #expect(result.exitCode == 0, "\(result)")

        let builds = try FileManager.default.contentsOfDirectory(atPath: kanikoDir).filter { $0.hasPrefix("build-") }
        let work = kanikoDir + "/" + (try #require(builds.first))
        let roots = try FileManager.default.contentsOfDirectory(atPath: work + "/roots")
        let setuid = try #require(
            roots.map { "\(work)/roots/\($0)/suid-root" }.first { FileManager.default.fileExists(atPath: $0) }, "\(roots)")
        for directory in [tree.url("kaniko"), kanikoDir, work, work + "/roots"] {
            var st = stat()
            try #require(stat(directory, &st) == 0)
            #expect(st.st_mode & 0o777 == 0o700, "\(directory) is \(String(st.st_mode & 0o777, radix: 8))")
        }
        // The other user reaches the directory above the kaniko dir, so only kiln's modes stop it.
        #expect(try await asNobody("test -x \(tree.path) && echo reached").stdout == "reached\n")
        let attempt = try await asNobody("test -e \(setuid) && echo reached; \(setuid) id -u")
        #expect(!attempt.stdout.contains("reached"), "\(attempt)")
        #expect(!attempt.succeeded, "\(attempt)")
    }

    private func asNobody(_ script: String) async throws -> ProcessResult {
        try await ProcessRunner.run("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "/bin/sh", "-c", script])
    }
}
