// Git build contexts and ADD of git repositories, against a local repository served by
// `git daemon` and by `git http-backend` (GitFixture): #branch:subdir, tags, commits, kaniko's
// --git branch=, credentials that never reach the output, --keep-git-dir and --checksum.
import Builder
import Foundation
import TestSupport
import Testing

@Suite("Git contexts and ADD of git repositories", .serialized)
struct GitContextTests {
    func text(_ path: String) -> String? { try? String(contentsOfFile: path, encoding: .utf8) }

    @Test("git:// context: #branch:subdir, a tag, a commit, and --git branch=")
    func gitDaemonContext() async throws {
        let tree = try TemporaryTree()
        defer { tree.remove() }
        let repo = try await GitFixture.make(in: tree)
        try await repo.withDaemon { url in
            let feature = try await LayoutBuild.run(context: url + "#feature:app", in: tree, name: "feature")
            #expect(feature.result.exitCode == 0, "\(feature.result)")
            let app = try await feature.unpack(into: tree)
            #expect(text(app + "/app/feature.txt") == "feature\n")
            #expect(text(app + "/app/Dockerfile") != nil)
            #expect(!FileManager.default.fileExists(atPath: app + "/app/.git"))
            #expect(!FileManager.default.fileExists(atPath: app + "/app/hello.txt"), "only the subdirectory is the context")

            let tag = try await LayoutBuild.run(context: url + "#v1", in: tree, name: "tag")
            #expect(tag.result.exitCode == 0, "\(tag.result)")
            let tagged = try await tag.unpack(into: tree)
            #expect(text(tagged + "/src/hello.txt") == "v1\n")
            #expect((fileStat(tagged + "/src/tool.sh")?.st_mode ?? 0) & 0o777 == 0o755)

            let commit = try await LayoutBuild.run(context: url + "#" + repo.v1Commit, in: tree, name: "commit")
            #expect(commit.result.exitCode == 0, "\(commit.result)")
            #expect(text(try await commit.unpack(into: tree) + "/src/hello.txt") == "v1\n")
            #expect(commit.result.stderr.contains(repo.v1Commit), "the log names the commit: \(commit.result)")

            let branch = try await LayoutBuild.run(context: url, in: tree, name: "branch", ["--git", "branch=feature,single-branch=true"])
            #expect(branch.result.exitCode == 0, "\(branch.result)")
            let b = try await branch.unpack(into: tree)
            #expect(text(b + "/src/app/feature.txt") == "feature\n")
            #expect(text(b + "/src/hello.txt") == "main\n")

            // BuildKit's query form, with the commit checked.
            let query = try await LayoutBuild.run(
                context: url + "?ref=feature&subdir=app&checksum=" + repo.featureCommit, in: tree, name: "query")
            #expect(query.result.exitCode == 0, "\(query.result)")
            #expect(text(try await query.unpack(into: tree) + "/app/feature.txt") == "feature\n")
            let wrong = try await LayoutBuild.run(context: url + "?ref=main&checksum=" + repo.v1Commit, in: tree, name: "wrong")
            #expect(wrong.result.exitCode != 0 && wrong.result.stderr.contains("checksum mismatch"), "\(wrong.result)")

            let missing = try await LayoutBuild.run(context: url + "#nosuchbranch", in: tree, name: "missing")
            #expect(missing.result.exitCode != 0)
            #expect(missing.result.stderr.contains("git fetch of") && missing.result.stderr.contains("nosuchbranch"), "\(missing.result)")
        }
    }

    @Test("--git recurse-submodules=true checks submodules out; without it they stay empty")
    func submodules() async throws {
        let tree = try TemporaryTree()
        defer { tree.remove() }
        let repo = try await GitFixture.make(in: tree)
        try await repo.withDaemon { url in
            // A superproject whose submodule is repo.git, served by the same daemon.
            let work = tree.url("super-work")
            try tree.makeDirectory("super-work")
            let config = ["-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "protocol.allow=always"]
            for args in [
                ["init", "-q", "-b", "main"], ["submodule", "add", "-q", url, "sub"], ["commit", "-q", "-m", "super"],
            ] {
                let r = try await ProcessRunner.run("git", ["-C", work] + config + args)
                #expect(r.succeeded, "\(r)")
            }
            _ = try tree.write("super-work/Dockerfile", "FROM scratch\nCOPY . /s/\n")
            for args in [["add", "Dockerfile"], ["commit", "-q", "-m", "dockerfile"]] {
                let r = try await ProcessRunner.run("git", ["-C", work] + config + args)
                #expect(r.succeeded, "\(r)")
            }
            let bare = try await ProcessRunner.run("git", ["clone", "-q", "--bare", work, repo.root + "/super.git"])
            #expect(bare.succeeded, "\(bare)")
            let superURL = url.replacingOccurrences(of: "/repo.git", with: "/super.git")
            let with = try await LayoutBuild.run(context: superURL, in: tree, name: "with", ["--git", "recurse-submodules=true"])
            #expect(with.result.exitCode == 0, "\(with.result)")
            #expect(text(try await with.unpack(into: tree) + "/s/sub/hello.txt") == "main\n")
            let without = try await LayoutBuild.run(context: superURL, in: tree, name: "without")
            #expect(without.result.exitCode == 0, "\(without.result)")
            #expect(text(try await without.unpack(into: tree) + "/s/sub/hello.txt") == nil)
        }
    }

    @Test("smart HTTP context with credentials in the URL: they work and never appear in the output")
    func httpContextWithCredentials() async throws {
        let tree = try TemporaryTree()
        defer { tree.remove() }
        let repo = try await GitFixture.make(in: tree)
        let password = "s3cret-Pa55word"
        try await repo.withHTTP(user: "alice", password: password) { url in
            let authed = url.replacingOccurrences(of: "http://", with: "http://alice:\(password)@")
            let ok = try await LayoutBuild.run(context: authed + "#main", in: tree, name: "ok")
            #expect(ok.result.exitCode == 0, "\(ok.result)")
            #expect(text(try await ok.unpack(into: tree) + "/src/hello.txt") == "main\n")
            #expect(!ok.result.stderr.contains(password) && !ok.result.stdout.contains(password))

            let wrong = url.replacingOccurrences(of: "http://", with: "http://alice:wrong-\(password)@")
            let denied = try await LayoutBuild.run(context: wrong + "#main", in: tree, name: "denied")
            #expect(denied.result.exitCode != 0)
            #expect(!denied.result.stderr.contains(password), "\(denied.result)")
            #expect(denied.result.stderr.contains("xxxxx@127.0.0.1"), "\(denied.result)")

            // kaniko's GIT_USERNAME / GIT_PASSWORD.
            let env = try await LayoutBuild.run(
                context: url, in: tree, name: "env", environment: ["GIT_USERNAME": "alice", "GIT_PASSWORD": password])
            #expect(env.result.exitCode == 0, "\(env.result)")
            #expect(!env.result.stderr.contains(password))
        }
    }

    @Test("ADD of a git repository: subdir, --keep-git-dir, --checksum")
    func addGit() async throws {
        let tree = try TemporaryTree()
        defer { tree.remove() }
        let repo = try await GitFixture.make(in: tree)
        try await repo.withDaemon { daemon in
            try await repo.withHTTP { http in
                let ctx = try makeContext(
                    [:],
                    dockerfile: """
                        FROM scratch
                        ADD \(daemon)#feature:app /a/
                        ADD --keep-git-dir \(http)#v1 /b
                        ADD --chown=7:8 --checksum=\(repo.mainCommit) \(http) /c/
                        ADD \(http)?tag=v1&keep-git-dir=true /q/
                        """, in: tree)
                let build = try await LayoutBuild.run(context: ctx, in: tree)
                #expect(build.result.exitCode == 0, "\(build.result)")
                let root = try await build.unpack(into: tree)
                #expect(text(root + "/a/feature.txt") == "feature\n")
                #expect(!FileManager.default.fileExists(atPath: root + "/a/.git"))
                #expect(text(root + "/b/hello.txt") == "v1\n")
                #expect(FileManager.default.fileExists(atPath: root + "/b/.git/HEAD"), "--keep-git-dir keeps .git")
                #expect((fileStat(root + "/b/tool.sh")?.st_mode ?? 0) & 0o777 == 0o755)
                #expect(text(root + "/c/hello.txt") == "main\n")
                let owned = try #require(fileStat(root + "/c/hello.txt"))
                #expect(owned.st_uid == 7 && owned.st_gid == 8)
                #expect(!FileManager.default.fileExists(atPath: root + "/c/.git"))
                #expect(text(root + "/q/hello.txt") == "v1\n")
                #expect(FileManager.default.fileExists(atPath: root + "/q/.git/HEAD"), "?keep-git-dir=true keeps .git")

                let bad = try makeContext([:], dockerfile: "FROM scratch\nADD --checksum=\(repo.v1Commit) \(http)#main /x/\n", in: tree)
                let mismatch = try await LayoutBuild.run(context: bad, in: tree, name: "bad")
                #expect(mismatch.result.exitCode != 0)
                #expect(
                    mismatch.result.stderr.contains("Dockerfile:2") && mismatch.result.stderr.contains("checksum mismatch")
                        && mismatch.result.stderr.contains(repo.v1Commit) && mismatch.result.stderr.contains(repo.mainCommit),
                    "\(mismatch.result)")
            }
        }
    }

    @Test("git@host:repo (scp-like ssh) as a context and in ADD, through GIT_SSH_COMMAND")
    func scpLikeSSH() async throws {
        let tree = try TemporaryTree()
        defer { tree.remove() }
        let repo = try await GitFixture.make(in: tree)
        // A stand-in for ssh: drops the options and the host, runs git's command in the
        // repositories' directory (what sshd would do for git@host).
        let fakeSSH = try tree.write(
            "fake-ssh", "#!/bin/sh\nwhile [ $# -gt 1 ]; do shift; done\ncd '\(repo.root)' && exec sh -c \"$1\"\n", mode: 0o755)
        let env: [String: String?] = ["GIT_SSH_COMMAND": fakeSSH]
        let context = try await LayoutBuild.run(context: "git@git.example.invalid:repo.git#v1", in: tree, name: "ctx", environment: env)
        #expect(context.result.exitCode == 0, "\(context.result)")
        #expect(text(try await context.unpack(into: tree) + "/src/hello.txt") == "v1\n")
        let ctx = try makeContext([:], dockerfile: "FROM scratch\nADD git@git.example.invalid:repo.git#feature:app /a\n", in: tree)
        let add = try await LayoutBuild.run(context: ctx, in: tree, name: "add", environment: env)
        #expect(add.result.exitCode == 0, "\(add.result)")
        #expect(text(try await add.unpack(into: tree) + "/a/feature.txt") == "feature\n")
    }

    @Test("git URLs: what is git, the fragment, credentials kept out of names")
    func parsing() throws {
        #expect(GitSource.isGit("https://example.com/a/b.git#main:sub"))
        #expect(GitSource.isGit("git@github.com:org/repo.git"))
        #expect(GitSource.isGit("git://host/repo"))
        #expect(!GitSource.isGit("https://example.com/file.tar.gz"))
        #expect(!GitSource.isGit("github.com/org/repo"))
        let s = try #require(GitSource("https://u:pw123@example.com/r.git#v2:dir/sub"))
        #expect(s.remote == "https://example.com/r.git" && s.ref == "v2" && s.subdirectory == "dir/sub")
        #expect(s.displayName == "https://xxxxx@example.com/r.git#v2:dir/sub")
        let k = try #require(GitSource("git://host/r.git#refs/heads/x#abcdef1"))
        #expect(k.ref == "refs/heads/x" && k.commit == "abcdef1")
        let q = try #require(GitSource("https://h/r.git?tag=v1&subdir=app&keep-git-dir=true&checksum=ABCDEF1"))
        #expect(q.remote == "https://h/r.git" && q.ref == "v1" && q.subdirectory == "app")
        #expect(q.keepGitDirectory == true && q.checksum == "abcdef1" && q.submodules == nil)
        #expect(redactingURLCredentials("fatal: https://u:p@h/x failed") == "fatal: https://xxxxx@h/x failed")
    }
}
