// COPY and ADD from the context into FROM-scratch images: Docker's destination rules, globs,
// ownership and modes, --parents, --exclude, ADD of local archives. Each case builds with the
// real kiln and reads the image back with umoci.
import Foundation
import TestSupport
import Testing

@Suite("COPY and ADD semantics", .serialized)
struct CopySemanticsTests {
    @Test("globs, multiple sources, trailing-slash destinations and directory contents")
    func destinations() async throws {
        let tree = try TemporaryTree()
        defer { tree.remove() }
        let ctx = try makeContext(
            ["a.txt": "a", "b.txt": "b", "c.md": "c", "dir/x": "x", "dir/sub/y": "y"],
            dockerfile: """
                FROM scratch
                COPY *.txt /glob/
                COPY a.txt /renamed
                COPY a.txt b.txt /multi/
                COPY dir /contents
                COPY dir/ /contents2/
                COPY a.txt /existing/
                COPY b.txt /existing
                WORKDIR /work
                COPY a.txt relative
                """, in: tree)
        let build = try await LayoutBuild.run(context: ctx, in: tree)
        #expect(build.result.exitCode == 0, "\(build.result)")
        let root = try await build.unpack(into: tree)
        for path in [
            "glob/a.txt", "glob/b.txt", "renamed", "multi/a.txt", "multi/b.txt", "contents/x", "contents/sub/y",
            "contents2/x", "contents2/sub/y", "existing/a.txt", "existing/b.txt", "work/relative",
        ] {
            #expect(FileManager.default.fileExists(atPath: root + "/" + path), "missing /\(path)")
        }
        #expect(!FileManager.default.fileExists(atPath: root + "/glob/c.md"))
        #expect(!FileManager.default.fileExists(atPath: root + "/contents/dir"))
        #expect(try String(contentsOfFile: root + "/renamed", encoding: .utf8) == "a")
    }

    @Test("ownership defaults to 0:0; --chown by name and number; --chmod octal and symbolic")
    func ownershipAndModes() async throws {
        let tree = try TemporaryTree()
        defer { tree.remove() }
        let ctx = try makeContext(
            [
                "passwd": "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n",
                "group": "root:x:0:\napp:x:1000:\nstaff:x:50:\n", "f": "f", "script": "#!/bin/sh\n",
            ],
            dockerfile: """
                FROM scratch
                COPY passwd group /etc/
                COPY --chown=app:staff f /named
                COPY --chown=1234:5678 f /numeric
                COPY --chown=app f /useronly
                COPY --chmod=0600 f /octal
                COPY --chmod=u+x,g-r script /symbolic
                COPY f /default
                """, in: tree)
        try FileManager.default.setAttributes([.posixPermissions: 0o666], ofItemAtPath: ctx + "/f")
        _ = chown(ctx + "/f", 4321, 4321)
        let build = try await LayoutBuild.run(context: ctx, in: tree)
        #expect(build.result.exitCode == 0, "\(build.result)")
        let root = try await build.unpack(into: tree)
        func owner(_ p: String) -> (UInt32, UInt32, UInt32)? {
            fileStat(root + p).map { ($0.st_uid, $0.st_gid, $0.st_mode & 0o7777) }
        }
        #expect(owner("/named")! == (1000, 50, 0o666))
        #expect(owner("/numeric")! == (1234, 5678, 0o666))
        #expect(owner("/useronly")! == (1000, 1000, 0o666))
        #expect(owner("/octal")!.2 == 0o600)
        #expect(owner("/symbolic")!.2 == 0o704)
        // Docker's default: 0:0 whatever the context file's owner.
        #expect(owner("/default")! == (0, 0, 0o666))
    }

    @Test("--parents keeps source paths; --exclude drops matches; .dockerignore applies to nested files")
    func parentsAndExcludes() async throws {
        let tree = try TemporaryTree()
        defer { tree.remove() }
        let ctx = try makeContext(
            [
                "src/a/one.go": "1", "src/b/two.go": "2", "src/b/two_test.go": "t", "logs/x.log": "l", "keep/x.log": "k",
                ".dockerignore": "logs\n**/*.log\n!keep/x.log\n",
            ],
            dockerfile: """
                FROM scratch
                COPY --parents src/*/*.go /parents/
                COPY --exclude=*_test.go src/b/ /excluded/
                COPY . /all/
                """, in: tree)
        let build = try await LayoutBuild.run(context: ctx, in: tree)
        #expect(build.result.exitCode == 0, "\(build.result)")
        let root = try await build.unpack(into: tree)
        let exists = { (p: String) in FileManager.default.fileExists(atPath: root + p) }
        #expect(exists("/parents/src/a/one.go") && exists("/parents/src/b/two.go") && exists("/parents/src/b/two_test.go"))
        #expect(exists("/excluded/two.go") && !exists("/excluded/two_test.go"))
        #expect(exists("/all/src/a/one.go") && exists("/all/keep/x.log"))
        #expect(!exists("/all/logs") && !exists("/all/logs/x.log"))
    }

    @Test("ADD unpacks local tar archives (gzip, xz, zstd) and copies other files")
    func addArchives() async throws {
        let tree = try TemporaryTree()
        defer { tree.remove() }
        let ctx = try makeContext(
            ["payload/inner/file.txt": "inside", "plain.txt": "plain"],
            dockerfile: """
                FROM scratch
                ADD app.tar.gz /gz/
                ADD app.tar.xz /xz
                ADD app.tar.zst /zst/
                ADD plain.txt /plain.txt
                ADD --chown=7:8 app.tar.gz /owned/
                """, in: tree)
        for (flag, name) in [("-z", "app.tar.gz"), ("-J", "app.tar.xz"), ("--zstd", "app.tar.zst")] {
            let r = try await ProcessRunner.run("tar", ["-C", ctx + "/payload", flag, "-cf", ctx + "/" + name, "inner"])
            #expect(r.succeeded, "\(r)")
        }
        let build = try await LayoutBuild.run(context: ctx, in: tree)
        #expect(build.result.exitCode == 0, "\(build.result)")
        let root = try await build.unpack(into: tree)
        for dir in ["gz", "xz", "zst"] {
            #expect(try String(contentsOfFile: "\(root)/\(dir)/inner/file.txt", encoding: .utf8) == "inside")
        }
        #expect(try String(contentsOfFile: root + "/plain.txt", encoding: .utf8) == "plain")
        let owned = try #require(fileStat(root + "/owned/inner/file.txt"))
        #expect(owned.st_uid == 7 && owned.st_gid == 8)
    }

    @Test("multi-stage: --target, unused stages, COPY --from by name and index, build args")
    func stages() async throws {
        let tree = try TemporaryTree()
        defer { tree.remove() }
        let ctx = try makeContext(
            ["f": "f"],
            dockerfile: """
                ARG BASE=scratch
                FROM ${BASE} AS first
                ARG WHO=nobody
                COPY <<EOF /who
                ${WHO}
                EOF
                FROM scratch AS broken
                COPY does-not-exist /x
                FROM scratch AS final
                COPY --from=first /who /from-name
                COPY --from=0 /who /from-index
                FROM final AS later
                COPY f /later
                """, in: tree)
        // --skip-unused-stages=false builds every stage up to the target (kaniko's old default),
        // so the broken stage fails the build; by default only what the target needs is built.
        let all = try await LayoutBuild.run(context: ctx, in: tree, name: "all", ["--target", "final", "--skip-unused-stages=false"])
        #expect(all.result.exitCode == 1)
        #expect(all.result.stderr.contains("Dockerfile:8"), "\(all.result)")
        #expect(all.result.stderr.contains("does-not-exist"))

        let skip = try await LayoutBuild.run(
            context: ctx, in: tree, name: "skip",
            ["--target", "FINAL", "--build-arg", "WHO=kiln", "--build-arg", "UNUSED=1"])
        #expect(skip.result.exitCode == 0, "\(skip.result)")
        #expect(skip.result.stderr.contains("UNUSED"))
        let root = try await skip.unpack(into: tree)
        #expect(try String(contentsOfFile: root + "/from-name", encoding: .utf8) == "kiln\n")
        #expect(try String(contentsOfFile: root + "/from-index", encoding: .utf8) == "kiln\n")
        #expect(!FileManager.default.fileExists(atPath: root + "/later"))
    }
}
