// Stage roots as overlays over a base extracted once per build (issue 10): two stages on one
// image extract it once, each sees only its own changes, a stage on a stage needs no copy, and
// nothing stays mounted afterwards.
import Foundation
import ImageStore
import TestSupport
import Testing

@Suite("Overlay roots", .serialized)
struct OverlayRootTests {
    @Test("two stages on one base: extracted once, separate changes, stage on stage, no mounts left", arguments: ["time", "full"])
    func stagesShareOneExtraction(mode: String) async throws {
        try await withRegistry(.plain) { registry in
            let base = try await BaseImageFixture.shared.push(.busybox, to: registry)
            let tree = try TemporaryTree(prefix: "kiln-overlay")
            defer { tree.remove() }
            let ctx = try makeContext(
                [:],
                dockerfile: """
                    FROM \(base) AS a
                    RUN echo a > /a && rm /etc/group && echo changed >> /etc/passwd
                    FROM a AS c
                    RUN cat /a > /c && test ! -e /etc/group
                    FROM \(base)
                    RUN test ! -e /a && test -e /etc/group && ! grep -q changed /etc/passwd && echo clean > /b
                    COPY --from=c /a /c /from-c/
                    """, in: tree)
            let work = tree.url("work")
            let build = try await LayoutBuild.run(
                context: ctx, in: tree, ["--kaniko-dir", work, "--snapshot-mode", mode, "-v", "debug"])
            try #require(build.result.exitCode == 0, "\(build.result)")
            let log = build.result.stderr
            #expect(log.components(separatedBy: "extracting 1 layer(s) of").count == 2, "the base is extracted once: \(log)")
            #expect(log.contains("an overlay over"), "\(log)")
            let mounts = try String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)
            #expect(!mounts.contains(work), "no overlay left mounted: \(mounts)")
            let root = try await build.unpack(into: tree)
            func read(_ p: String) -> String? { try? String(contentsOfFile: root + p, encoding: .utf8) }
            #expect(read("/b") == "clean\n", "the last stage saw none of stage a's changes")
            #expect(read("/from-c/a") == "a\n" && read("/from-c/c") == "a\n")
            #expect(read("/etc/group") != nil)
        }
    }

    @Test("--cache-dir keeps the base's files: a rebuild extracts nothing and never writes to them")
    func keptAcrossBuilds() async throws {
        try await withRegistry(.plain) { registry in
            let base = try await BaseImageFixture.shared.push(.busybox, to: registry)
            let tree = try TemporaryTree(prefix: "kiln-overlay")
            defer { tree.remove() }
            let ctx = try makeContext(
                [:], dockerfile: "FROM \(base)\nRUN echo changed >> /etc/passwd && rm /etc/group && echo new > /new\n", in: tree)
            let cache = tree.url("cache")
            var logs: [String] = []
            var diffIDs: [[String]] = []
            for n in 1...2 {
                let build = try await LayoutBuild.run(
                    context: ctx, in: tree, name: "o\(n)", ["--kaniko-dir", tree.url("work\(n)"), "--cache-dir", cache, "--reproducible"])
                try #require(build.result.exitCode == 0, "\(build.result)")
                logs.append(build.result.stderr)
                diffIDs.append(try build.image().config.rootfs.diffIDs.map(\.description))
                let root = try await build.unpack(into: tree)
                #expect((try? String(contentsOfFile: root + "/new", encoding: .utf8)) == "new\n")
                #expect(!FileManager.default.fileExists(atPath: root + "/etc/group"))
            }
            #expect(logs[0].contains("kept \(base)'s files in \(cache)/roots for later builds"), "\(logs[0])")
            #expect(logs[0].contains("extracting 1 layer(s) of"), "\(logs[0])")
            #expect(logs[1].contains("files are kept in \(cache)/roots: nothing to extract"), "\(logs[1])")
            #expect(!logs[1].contains("extracting"), "the rebuild extracts nothing: \(logs[1])")
            #expect(diffIDs[0] == diffIDs[1])
            // The kept files are the base's, untouched by either build's RUN.
            let kept = try FileManager.default.contentsOfDirectory(atPath: cache + "/roots")
            #expect(kept.count == 1 && !kept[0].hasPrefix("."), "\(kept)")
            let passwd = try String(contentsOfFile: cache + "/roots/" + kept[0] + "/etc/passwd", encoding: .utf8)
            #expect(!passwd.contains("changed"))
            #expect(FileManager.default.fileExists(atPath: cache + "/roots/" + kept[0] + "/etc/group"))
            let mounts = try String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)
            #expect(!mounts.contains(tree.url("work")), "no overlay left mounted")
        }
    }

    @Test("--cache-dir keeps what cache hits change: a later rebuild stacks it instead of extracting the hit layers")
    func cachedLayersKeptAcrossBuilds() async throws {
        try await withRegistry(.plain) { registry in
            let base = try await BaseImageFixture.shared.push(.busybox, to: registry)
            let tree = try TemporaryTree(prefix: "kiln-overlay")
            defer { tree.remove() }
            // The RUN steps hit the cache in builds 2 and 3; the COPY source changes each time, so
            // the COPY and the RUN after it need the root with the hit layers' files in it.
            let ctx = try makeContext(
                ["src.txt": "one\n"],
                dockerfile: """
                    FROM \(base)
                    RUN mkdir -p /gen && echo made > /gen/file && rm /etc/group && echo changed >> /etc/passwd
                    RUN rm -rf /gen && mkdir /gen && echo again > /gen/other
                    COPY src.txt /src.txt
                    RUN cat /gen/other /src.txt > /seen && test ! -e /gen/file && test ! -e /etc/group && grep -c changed /etc/passwd >> /seen
                    """, in: tree)
            let cache = tree.url("cache")
            var logs: [String] = []
            for (n, content) in ["one", "two", "three"].enumerated() {
                try (content + "\n").write(toFile: ctx + "/src.txt", atomically: false, encoding: .utf8)
                let build = try await LayoutBuild.run(
                    context: ctx, in: tree, name: "k\(n)",
                    ["--kaniko-dir", tree.url("work\(n)"), "--cache-dir", cache, "--cache", "--cache-repo", "oci:" + tree.url("layers")])
                try #require(build.result.exitCode == 0, "\(build.result)")
                logs.append(build.result.stderr)
                let root = try await build.unpack(into: tree)
                #expect((try? String(contentsOfFile: root + "/seen", encoding: .utf8)) == "again\n\(content)\n1\n", "build \(n + 1)")
            }
            #expect(logs[1].contains("kept the effect of stage 0's 2 cached layer(s) in \(cache)/roots for later builds"), "\(logs[1])")
            #expect(logs[2].contains("stage 0's 2 cached layer(s) are kept in \(cache)/roots: nothing to extract"), "\(logs[2])")
            #expect(!logs[2].contains("extracting"), "the third build extracts nothing: \(logs[2])")
            let kept = try FileManager.default.contentsOfDirectory(atPath: cache + "/roots").sorted()
            #expect(kept.count == 2 && kept.allSatisfy { !$0.hasPrefix(".") }, "the base's files and one kept upper: \(kept)")
            let mounts = try String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)
            #expect(!mounts.contains(tree.url("work")) && !mounts.contains(cache), "no overlay left mounted")
        }
    }

    /// Without `volatile`, unmounting an overlay root writes back every dirty page of the file
    /// system under it first (0.14 s of bench (ii)). The RUN step sees its root's mount options
    /// (Linux 6.x shows the option as `fsync=volatile`, 5.10 as `volatile`).
    @Test("a stage's root is a volatile overlay, and the availability probe leaves nothing in the work directory")
    func rootsAreVolatile() async throws {
        try await withRegistry(.plain) { registry in
            let base = try await BaseImageFixture.shared.push(.busybox, to: registry)
            let tree = try TemporaryTree(prefix: "kiln-overlay")
            defer { tree.remove() }
            let ctx = try makeContext([:], dockerfile: "FROM \(base)\nRUN cat /proc/self/mountinfo > /mountinfo\n", in: tree)
            let work = tree.url("work")
            let build = try await LayoutBuild.run(context: ctx, in: tree, ["--kaniko-dir", work])
            try #require(build.result.exitCode == 0, "\(build.result)")
            let root = try await build.unpack(into: tree)
            let mountinfo = try String(contentsOfFile: root + "/mountinfo", encoding: .utf8)
            // "id parent dev root mountpoint options ... - fstype source superoptions"
            let rootMount = mountinfo.split(separator: "\n").first { line in
                let fields = line.split(separator: " ")
                return fields.count > 4 && fields[4] == "/" && line.contains(" - overlay ")
            }
            let superOptions = rootMount?.components(separatedBy: " - ").last?.split(separator: " ").last ?? ""
            #expect(
                superOptions.split(separator: ",").contains { $0 == "volatile" || $0 == "fsync=volatile" },
                "the root's mount: \(rootMount ?? "none"); all: \(mountinfo)")
            let builds = try FileManager.default.contentsOfDirectory(atPath: work).filter { $0.hasPrefix("build-") }
            try #require(builds.count == 1, "\(builds)")
            let roots = try FileManager.default.contentsOfDirectory(atPath: work + "/" + builds[0] + "/roots")
            #expect(!roots.contains { $0.hasPrefix(".overlay-probe") }, "probe leftovers: \(roots)")
        }
    }
}
