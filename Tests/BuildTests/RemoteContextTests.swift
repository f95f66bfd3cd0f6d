// Contexts that are not a local directory: an http(s) tarball (gzip or plain), tar://stdin,
// tar://FILE with the Dockerfile inside, unknown schemes; and BuildKit's named contexts
// (--build-context name=DIR | docker-image://REF | oci-layout://PATH:TAG).
import Foundation
import ImageStore
import TestSupport
import Testing

@Suite("Remote and named build contexts", .serialized)
struct RemoteContextTests {
    func text(_ path: String) -> String? { try? String(contentsOfFile: path, encoding: .utf8) }

    /// A context directory with its Dockerfile, packed as `name` (`tar -czf` for .tar.gz).
    func packedContext(_ name: String, in tree: TemporaryTree) async throws -> String {
        let ctx = try makeContext(
            ["data/hello.txt": "from the tar\n"], dockerfile: "FROM scratch\nCOPY data/ /data/\nCOPY Dockerfile /\n", in: tree)
        _ = try tree.write(baseName(ctx) + "/run.sh", "#!/bin/sh\n", mode: 0o750)
        let flags = name.hasSuffix(".gz") ? "-czf" : "-cf"
        let r = try await ProcessRunner.run("tar", [flags, tree.url(name), "-C", ctx, "."])
        #expect(r.succeeded, "\(r)")
        return tree.url(name)
    }

    func baseName(_ ctx: String) -> String { String(ctx.split(separator: "/").last ?? "") }

    @Test("an http tarball context, gzip and plain; its Dockerfile is read from inside")
    func httpTarball() async throws {
        let tree = try TemporaryTree()
        defer { tree.remove() }
        try tree.makeDirectory("www")
        _ = try await packedContext("www/ctx.tar.gz", in: tree)
        _ = try await packedContext("www/ctx.tar", in: tree)
        _ = try tree.write("www/Dockerfile.txt", "FROM scratch\nLABEL from=url\n")
        try await AddURLTests.withServer(tree.url("www")) { port in
            for name in ["ctx.tar.gz", "ctx.tar"] {
                let build = try await LayoutBuild.run(context: "http://127.0.0.1:\(port)/\(name)", in: tree, name: "out-" + name)
                #expect(build.result.exitCode == 0, "\(build.result)")
                let root = try await build.unpack(into: tree)
                #expect(text(root + "/data/hello.txt") == "from the tar\n")
                #expect(text(root + "/Dockerfile")?.hasPrefix("FROM scratch") == true)
            }
            // A URL to a plain Dockerfile: that is the Dockerfile, with an empty context (BuildKit).
            let plain = try await LayoutBuild.run(context: "http://127.0.0.1:\(port)/Dockerfile.txt", in: tree, name: "plain")
            #expect(plain.result.exitCode == 0, "\(plain.result)")
            #expect(try ImageSettings.read(layout: plain.layout, tag: "latest").labels["from"] == "url")
            let missing = try await LayoutBuild.run(context: "http://127.0.0.1:\(port)/nope.tar.gz", in: tree, name: "missing")
            #expect(missing.result.exitCode != 0)
            #expect(missing.result.stderr.contains("HTTP 404") && missing.result.stderr.contains("nope.tar.gz"), "\(missing.result)")
        }
    }

    @Test("the user:password of an ADD URL or an http context never reaches the output")
    func urlCredentialsRedacted() async throws {
        let tree = try TemporaryTree()
        defer { tree.remove() }
        try tree.makeDirectory("www")
        _ = try tree.write("www/f", "content")
        let secret = "pa55-W0rd-xyz"
        try await AddURLTests.withServer(tree.url("www")) { port in
            let base = "http://alice:\(secret)@127.0.0.1:\(port)"
            let ctx = try makeContext([:], dockerfile: "FROM scratch\nADD \(base)/f /f\nADD \(base)/nope /x\n", in: tree)
            let add = try await LayoutBuild.run(context: ctx, in: tree, name: "add")
            #expect(add.result.exitCode == 1 && add.result.stderr.contains("HTTP 404"), "\(add.result)")
            #expect(add.result.stderr.contains("xxxxx@127.0.0.1"), "\(add.result)")
            #expect(!add.result.stderr.contains(secret) && !add.result.stdout.contains(secret), "\(add.result)")
            let context = try await LayoutBuild.run(context: base + "/nope.tar", in: tree, name: "ctx")
            #expect(context.result.exitCode != 0 && context.result.stderr.contains("HTTP 404"), "\(context.result)")
            #expect(!context.result.stderr.contains(secret), "\(context.result)")
        }
    }

    @Test("tar://stdin and tar://FILE take the Dockerfile from inside the tar")
    func tarContexts() async throws {
        let tree = try TemporaryTree()
        defer { tree.remove() }
        let tar = try await packedContext("ctx.tar.gz", in: tree)
        // Run from a directory without a Dockerfile: it must come from the tar.
        try tree.makeDirectory("cwd")
        let file = try await KilnCommand.run(
            ["--context", "tar://" + tar, "--oci-layout-path", tree.url("file-out")], currentDirectory: tree.url("cwd"))
        #expect(file.exitCode == 0, "\(file)")
        #expect(
            text(try await LayoutBuild(result: file, layout: tree.url("file-out")).unpack(into: tree) + "/data/hello.txt")
                == "from the tar\n")

        // `--check` fetches the context too, to read its Dockerfile.
        let check = try await KilnCommand.run(["--check", "--context", "tar://" + tar], currentDirectory: tree.url("cwd"))
        #expect(check.exitCode == 0 && check.stderr.contains("no warnings found"), "\(check)")

        let kiln = try KilnCommand.binary()
        for (spec, out) in [("tar://stdin", "stdin-out"), ("-", "dash-out")] {
            let piped = try await ProcessRunner.run(
                "/bin/sh", ["-c", "exec \"$0\" --context \"$1\" --oci-layout-path \"$2\" < \"$3\"", kiln, spec, tree.url(out), tar],
                currentDirectory: tree.url("cwd"))
            #expect(piped.exitCode == 0, "\(spec): \(piped)")
            let root = try await LayoutBuild(result: piped, layout: tree.url(out)).unpack(into: tree)
            #expect(text(root + "/data/hello.txt") == "from the tar\n")
            let st = try #require(fileStat(root + "/Dockerfile"))
            #expect(st.st_mode & 0o777 == 0o644)
        }
    }

    @Test("an unknown scheme names the schemes kiln supports")
    func unknownScheme() async throws {
        for spec in ["s3://bucket/ctx.tar.gz", "gs://bucket/ctx.tar.gz", "azblob://acct/c/ctx.tar.gz"] {
            let r = try await KilnCommand.run(["--context", spec, "--no-push"])
            #expect(r.exitCode == 2, "\(r)")
            let scheme = String(spec.prefix(while: { $0 != ":" })) + "://"
            #expect(r.stderr.contains("does not support \(scheme) contexts") && r.stderr.contains("git://"), "\(r)")
            #expect(!r.stderr.contains("Dockerfile not found"), "\(r)")
        }
    }

    @Test("--git and --build-context refuse what they do not know with a usage error")
    func badFlags() async throws {
        let git = try await KilnCommand.run(["-c", Repo.helloExample, "--no-push", "--git", "depth=1"])
        #expect(git.exitCode == 2 && git.stderr.contains("--git has no option 'depth'"), "\(git)")
        let named = try await KilnCommand.run(["-c", Repo.helloExample, "--no-push", "--build-context", "noequals"])
        #expect(named.exitCode == 2 && named.stderr.contains("--build-context needs name=value"), "\(named)")
    }

    @Test("--build-context: a directory (also replacing a stage), docker-image:// and oci-layout://")
    func namedContexts() async throws {
        let tree = try TemporaryTree()
        defer { tree.remove() }
        try await withRegistry(.plain) { registry in
            // A base image in the registry and in an OCI layout.
            let baseCtx = try makeContext(["base.txt": "base\n"], dockerfile: "FROM scratch\nCOPY base.txt /\nENV FROM_BASE=1\n", in: tree)
            let push = try await KilnCommand.run(["-c", baseCtx, "-d", registry.reference("base", tag: "1")] + registry.kilnFlags)
            #expect(push.exitCode == 0, "\(push)")
            let layout = try await LayoutBuild.run(context: baseCtx, in: tree, name: "base-layout")
            #expect(layout.result.exitCode == 0, "\(layout.result)")

            try tree.makeDirectory("extra")
            _ = try tree.write("extra/data.txt", "extra\n", mode: 0o640)
            let ctx = try makeContext(
                ["local.txt": "local\n"],
                dockerfile: """
                    FROM scratch AS helper
                    COPY local.txt /helper
                    FROM 127.0.0.1:1/unreachable:never AS base
                    COPY --from=helper /helper /stage-was-built
                    FROM fromimage
                    COPY --from=extra data.txt /x/
                    COPY --from=lay base.txt /from-layout.txt
                    COPY --from=base . /base/
                    """, in: tree)
            let build = try await LayoutBuild.run(
                context: ctx, in: tree,
                [
                    "--build-context", "extra=" + tree.url("extra"),
                    "--build-context", "fromimage=docker-image://" + registry.reference("base", tag: "1"),
                    "--build-context", "lay=oci-layout://" + tree.url("base-layout") + ":latest",
                    "--build-context", "base=" + tree.url("extra"),
                ] + registry.kilnFlags)
            #expect(build.result.exitCode == 0, "\(build.result)")
            let root = try await build.unpack(into: tree)
            #expect(text(root + "/base.txt") == "base\n", "FROM fromimage used the registry image")
            #expect(text(root + "/x/data.txt") == "extra\n")
            #expect((fileStat(root + "/x/data.txt")?.st_mode ?? 0) & 0o777 == 0o640)
            #expect(text(root + "/from-layout.txt") == "base\n")
            #expect(text(root + "/base/data.txt") == "extra\n", "the named context replaces the stage 'base'")
            #expect(!FileManager.default.fileExists(atPath: root + "/base/stage-was-built"))
            #expect(!build.result.stderr.contains("unreachable"), "the replaced stage is not built: \(build.result)")
            let config = try ImageSettings.read(layout: build.layout, tag: "latest")
            #expect(config.env.contains("FROM_BASE=1"))

            // FROM an OCI layout by digest, and FROM a directory.
            let digest = try layout.image().digest.description
            let fromLayout = try makeContext([:], dockerfile: "FROM lay\nCOPY --from=dir data.txt /d/\n", in: tree)
            let second = try await LayoutBuild.run(
                context: fromLayout, in: tree, name: "second",
                ["--build-context", "lay=oci-layout://\(tree.url("base-layout"))@\(digest)", "--build-context", "dir=" + tree.url("extra")])
            #expect(second.result.exitCode == 0, "\(second.result)")
            let r2 = try await second.unpack(into: tree)
            #expect(text(r2 + "/base.txt") == "base\n" && text(r2 + "/d/data.txt") == "extra\n")

            let bad = try await LayoutBuild.run(context: fromLayout, in: tree, name: "bad", ["--build-context", "lay=s3://x/y"])
            #expect(bad.result.exitCode == 2 && bad.result.stderr.contains("docker-image://"), "\(bad.result)")
        }
    }
}
