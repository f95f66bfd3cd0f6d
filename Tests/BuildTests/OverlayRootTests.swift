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
}
