// A local git repository for the git context and ADD tests, served by `git daemon` (git://) and
// by `git http-backend` behind Tests/Tools/git-http.py (smart HTTP, optionally behind Basic auth).
import Foundation
import TestSupport
import Testing

/// `repo.git` (bare) under `root`: commit 1 (tag v1: hello.txt "v1", tool.sh 0755), commit 2 on
/// main (hello.txt "main"), branch `feature` adding `app/Dockerfile` and `app/feature.txt`.
struct GitFixture {
    let root: String
    let v1Commit: String
    let mainCommit: String
    let featureCommit: String

    static func make(in tree: TemporaryTree) async throws -> GitFixture {
        let work = tree.url("git-work")
        try tree.makeDirectory("git-work")
        try tree.makeDirectory("git-root")
        func git(_ args: String...) async throws -> String {
            let r = try await ProcessRunner.run(
                "git", ["-C", work, "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"] + args)
            #expect(r.succeeded, "git \(args): \(r)")
            return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        _ = try await git("init", "-q", "-b", "main")
        _ = try tree.write("git-work/Dockerfile", "FROM scratch\nCOPY . /src/\n")
        _ = try tree.write("git-work/hello.txt", "v1\n")
        _ = try tree.write("git-work/tool.sh", "#!/bin/sh\necho tool\n", mode: 0o755)
        _ = try await git("add", "-A")
        _ = try await git("commit", "-q", "-m", "one")
        _ = try await git("tag", "-a", "v1", "-m", "v1")
        let v1 = try await git("rev-parse", "HEAD")
        _ = try tree.write("git-work/hello.txt", "main\n")
        _ = try await git("commit", "-q", "-am", "two")
        let main = try await git("rev-parse", "HEAD")
        _ = try await git("checkout", "-q", "-b", "feature")
        try tree.makeDirectory("git-work/app")
        _ = try tree.write("git-work/app/Dockerfile", "FROM scratch\nCOPY . /app/\n")
        _ = try tree.write("git-work/app/feature.txt", "feature\n")
        _ = try await git("add", "-A")
        _ = try await git("commit", "-q", "-m", "three")
        let feature = try await git("rev-parse", "HEAD")
        _ = try await git("checkout", "-q", "main")
        let clone = try await ProcessRunner.run("git", ["clone", "-q", "--bare", work, tree.url("git-root/repo.git")])
        #expect(clone.succeeded, "\(clone)")
        return GitFixture(root: tree.url("git-root"), v1Commit: v1, mainCommit: main, featureCommit: feature)
    }

    /// `git daemon` on a free loopback port; the body gets `git://127.0.0.1:PORT/repo.git`.
    func withDaemon<T>(_ body: (String) async throws -> T) async throws -> T {
        let port = try LoopbackPort.free()
        // git-daemon itself, not the `git daemon` wrapper, so stopping it stops the server.
        let execPath = try await ProcessRunner.run("git", ["--exec-path"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let daemon = try BackgroundProcess(
            name: "git daemon", executable: execPath + "/git-daemon",
            arguments: [
                "--reuseaddr", "--export-all", "--base-path=" + root, "--listen=127.0.0.1", "--port=\(port)", root,
            ],
            outputPath: root + "/../git-daemon.log")
        defer { daemon.stop() }
        _ = await BackgroundProcess.waitUntil(timeout: 10) { LoopbackPort.isListening(port) }
        return try await body("git://127.0.0.1:\(port)/repo.git")
    }

    /// Smart HTTP on a free loopback port, optionally requiring `user:password`; the body gets
    /// `http://127.0.0.1:PORT/repo.git`.
    func withHTTP<T>(user: String? = nil, password: String? = nil, _ body: (String) async throws -> T) async throws -> T {
        let portFile = root + "/../git-http.port"
        try? FileManager.default.removeItem(atPath: portFile)
        var args = [TestTools.script("git-http.py"), "--root", root, "--port-file", portFile]
        if let user, let password { args += ["--user", user, "--password", password] }
        let server = try BackgroundProcess(
            name: "git-http", executable: TestTools.python, arguments: args, outputPath: root + "/../git-http.log")
        defer { server.stop() }
        _ = await BackgroundProcess.waitUntil(timeout: 10) { FileManager.default.fileExists(atPath: portFile) }
        let port = try String(contentsOfFile: portFile, encoding: .utf8)
        return try await body("http://127.0.0.1:\(port)/repo.git")
    }
}
