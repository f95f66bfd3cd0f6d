// Rules where BuildKit's images differ from the legacy builder's (and did from kiln's): each
// builds a small Dockerfile with the real kiln and reads the image back with umoci.
import Foundation
import ImageStore
import TestSupport
import Testing

@Suite("BuildKit semantics", .serialized)
struct BuildKitSemanticsTests {
    @Test("COPY --parents keeps the source path; a /./ pivot keeps only what follows it")
    func parentsPivot() async throws {
        let tree = try TemporaryTree()
        defer { tree.remove() }
        let ctx = try makeContext(
            ["x/y/a.txt": "a", "x/y/b.txt": "b", "x/z.txt": "z", "x/y/sub/c.txt": "c"],
            dockerfile: """
                FROM scratch
                COPY --parents ./x/./y/*.txt /pivot/
                COPY --parents x/./y/sub /dir/
                COPY --parents x/y/a.txt /whole/
                """, in: tree)
        let build = try await LayoutBuild.run(context: ctx, in: tree)
        try #require(build.result.exitCode == 0, "\(build.result)")
        let root = try await build.unpack(into: tree)
        let exists = { (p: String) in FileManager.default.fileExists(atPath: root + p) }
        #expect(exists("/pivot/y/a.txt") && exists("/pivot/y/b.txt"), "after the pivot")
        #expect(!exists("/pivot/x") && !exists("/pivot/a.txt"), "nothing before the pivot, nothing flattened")
        #expect(exists("/dir/y/sub/c.txt") && !exists("/dir/x"))
        #expect(exists("/whole/x/y/a.txt"))
    }

    @Test("--chown=UID gives GID=UID without a passwd lookup; a name gives its primary group; WORKDIR under USER alike")
    func chownNumberAndName() async throws {
        let tree = try TemporaryTree()
        defer { tree.remove() }
        let ctx = try makeContext(
            [
                "passwd": "root:x:0:0:root:/root:/bin/sh\napp:x:1000:50::/home/app:/bin/sh\n",
                "group": "root:x:0:\nstaff:x:50:\n", "f": "f",
            ],
            dockerfile: """
                FROM scratch
                COPY passwd group /etc/
                COPY --chown=1000 f /by-number
                COPY --chown=app f /by-name
                COPY --chown=4242 f /unknown-number
                COPY --chown=4242:7 f /both
                USER 4242
                WORKDIR /w-number
                USER app
                WORKDIR /w-name
                """, in: tree)
        let build = try await LayoutBuild.run(context: ctx, in: tree)
        try #require(build.result.exitCode == 0, "\(build.result)")
        let root = try await build.unpack(into: tree)
        func owner(_ p: String) -> String { fileStat(root + p).map { "\($0.st_uid):\($0.st_gid)" } ?? "missing" }
        #expect(owner("/by-number") == "1000:1000", "a bare number is never looked up")
        #expect(owner("/by-name") == "1000:50", "the name's primary group")
        #expect(owner("/unknown-number") == "4242:4242")
        #expect(owner("/both") == "4242:7")
        #expect(owner("/w-number") == "4242:4242")
        #expect(owner("/w-name") == "1000:50")
    }

    @Test("a source that is a symlink is copied as its target's content under the link's name")
    func symlinkSourceKeepsItsName() async throws {
        let tree = try TemporaryTree()
        defer { tree.remove() }
        let ctx = try makeContext(
            ["a/target.txt": "content"],
            dockerfile: """
                FROM scratch AS s
                COPY a /a/
                FROM scratch
                COPY --from=s /a/link /from-stage/
                COPY link-top /from-context/
                """, in: tree)
        try FileManager.default.createSymbolicLink(atPath: ctx + "/a/link", withDestinationPath: "target.txt")
        try FileManager.default.createSymbolicLink(atPath: ctx + "/link-top", withDestinationPath: "a/target.txt")
        let build = try await LayoutBuild.run(context: ctx, in: tree)
        try #require(build.result.exitCode == 0, "\(build.result)")
        let root = try await build.unpack(into: tree)
        for path in ["/from-stage/link", "/from-context/link-top"] {
            let st = try #require(fileStat(root + path), "\(path) is missing")
            #expect(st.st_mode & S_IFMT == S_IFREG, "\(path) is a regular file")
            #expect(try String(contentsOfFile: root + path, encoding: .utf8) == "content")
        }
        #expect(!FileManager.default.fileExists(atPath: root + "/from-stage/target.txt"))
    }

    @Test("an empty wildcard copies nothing; a missing plain source and an empty source are errors")
    func emptySources() async throws {
        let tree = try TemporaryTree()
        defer { tree.remove() }
        let ok = try makeContext(
            ["a.txt": "a"], dockerfile: "FROM scratch\nCOPY *.nothing /w/\nCOPY a.txt /w/\n", in: tree)
        let build = try await LayoutBuild.run(context: ok, in: tree)
        #expect(build.result.exitCode == 0, "an empty wildcard is not an error: \(build.result)")
        let missing = try makeContext(["a.txt": "a"], dockerfile: "FROM scratch\nCOPY nothing.txt /w/\n", in: tree)
        let r1 = try await LayoutBuild.run(context: missing, in: tree, name: "out-missing")
        #expect(r1.result.exitCode == 1 && r1.result.stderr.contains("Dockerfile:2"), "\(r1.result)")
        #expect(r1.result.stderr.contains("'nothing.txt' not found"), "\(r1.result.stderr)")
        let empty = try makeContext(["a.txt": "a"], dockerfile: "FROM scratch\nARG EMPTY\nCOPY \"${EMPTY}\" /w/\n", in: tree)
        let r2 = try await LayoutBuild.run(context: empty, in: tree, name: "out-empty")
        #expect(r2.result.exitCode == 1, "never the whole context: \(r2.result)")
        #expect(r2.result.stderr.contains("Dockerfile:3") && r2.result.stderr.contains("source is empty"), "\(r2.result.stderr)")
    }

    @Test("ARG names are expanded, in the global scope and in a stage, and --build-arg sets the expanded name")
    func argNamesExpand() async throws {
        let tree = try TemporaryTree()
        defer { tree.remove() }
        let ctx = try makeContext(
            [:],
            dockerfile: """
                ARG prefix=APP
                ARG ${prefix}_GLOBAL=g
                FROM scratch
                ARG prefix
                ARG APP_GLOBAL
                ARG ${prefix}_VERSION=1.2
                ENV V=$APP_VERSION G=$APP_GLOBAL
                """, in: tree)
        let build = try await LayoutBuild.run(context: ctx, in: tree)
        try #require(build.result.exitCode == 0, "\(build.result)")
        #expect(try build.image().config.config?.env?.contains("V=1.2") == true)
        #expect(try build.image().config.config?.env?.contains("G=g") == true)
        let overridden = try await LayoutBuild.run(context: ctx, in: tree, name: "out2", ["--build-arg", "APP_VERSION=9"])
        try #require(overridden.result.exitCode == 0, "\(overridden.result)")
        #expect(try overridden.image().config.config?.env?.contains("V=9") == true)
    }

    @Test("--chmod applies to the directories a COPY creates")
    func chmodOnCreatedDirectories() async throws {
        let tree = try TemporaryTree()
        defer { tree.remove() }
        let ctx = try makeContext(
            ["f": "f"], dockerfile: "FROM scratch\nCOPY f /existing/\nCOPY --chmod=0750 f /existing/new/deeper/\n", in: tree)
        let build = try await LayoutBuild.run(context: ctx, in: tree)
        try #require(build.result.exitCode == 0, "\(build.result)")
        let root = try await build.unpack(into: tree)
        func mode(_ p: String) -> UInt32? { fileStat(root + p).map { UInt32($0.st_mode & 0o7777) } }
        #expect(mode("/existing/new") == 0o750 && mode("/existing/new/deeper") == 0o750, "created by the COPY")
        #expect(mode("/existing") == 0o755, "an existing directory keeps its mode")
        #expect(mode("/existing/new/deeper/f") == 0o750)
    }

    @Test("VOLUME makes its directory (0755, root) and what a later RUN writes there is kept")
    func volumeDirectory() async throws {
        try await withRegistry(.plain) { registry in
            let base = try await BaseImageFixture.shared.push(.busybox, to: registry)
            let tree = try TemporaryTree(prefix: "kiln-bk-vol")
            defer { tree.remove() }
            let ctx = try makeContext(
                [:],
                dockerfile: """
                    FROM \(base)
                    VOLUME /data /srv/new-volume
                    RUN echo kept > /data/f && ls -ld /srv/new-volume > /srv/listing
                    """, in: tree)
            let build = try await LayoutBuild.run(context: ctx, in: tree)
            try #require(build.result.exitCode == 0, "\(build.result)")
            let root = try await build.unpack(into: tree)
            func read(_ p: String) -> String? { try? String(contentsOfFile: root + p, encoding: .utf8) }
            #expect(read("/data/f") == "kept\n", "written under a volume, kept")
            #expect(read("/srv/listing")?.hasPrefix("drwxr-xr-x") == true, "made 0755: \(read("/srv/listing") ?? "-")")
            #expect(try build.image().config.config?.volumes?.keys.sorted() == ["/data", "/srv/new-volume"])
        }
    }

    @Test(
        "in an isolated root, what an archive puts under /proc /sys /dev /run is image content; a step's /dev is not",
        arguments: [[], ["--single-snapshot"], ["--snapshot-mode", "full"]])
    func kernelDirectoriesKeepImageContent(arguments: [String]) async throws {
        try await withRegistry(.plain) { registry in
            let base = try await BaseImageFixture.shared.push(.busybox, to: registry)
            let tree = try TemporaryTree(prefix: "kiln-bk-sys")
            defer { tree.remove() }
            let ctx = try makeContext(
                [
                    "payload/sys/fs/x": "sys", "payload/proc/x": "proc", "payload/dev/x": "dev", "payload/run/x": "run",
                    "payload/etc/hostname": "from-archive",
                ],
                dockerfile: """
                    FROM \(base)
                    ADD payload.tar /
                    RUN echo run > /run/made && echo gone > /dev/made-in-step && cat /etc/hostname > /seen-hostname
                    """, in: tree)
            let tar = try await ProcessRunner.run("tar", ["-C", ctx + "/payload", "-cf", ctx + "/payload.tar", "."])
            try #require(tar.succeeded, "\(tar)")
            let build = try await LayoutBuild.run(context: ctx, in: tree, arguments)
            try #require(build.result.exitCode == 0, "\(build.result)")
            let root = try await build.unpack(into: tree)
            func read(_ p: String) -> String? { try? String(contentsOfFile: root + p, encoding: .utf8) }
            for (path, content) in [("/sys/fs/x", "sys"), ("/proc/x", "proc"), ("/dev/x", "dev"), ("/run/x", "run")] {
                #expect(read(path) == content, "\(path) from the archive is image content")
            }
            #expect(read("/run/made") == "run\n", "a step's /run is the image's")
            #expect(read("/dev/made-in-step") == nil, "a step's /dev is kiln's own")
            #expect(read("/etc/hostname") == "from-archive", "the archive's /etc/hostname stays in the image")
            #expect(read("/seen-hostname") != "from-archive", "the step saw kiln's generated hostname file")
        }
    }
}
