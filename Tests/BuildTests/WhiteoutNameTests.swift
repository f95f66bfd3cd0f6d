// A file named like a whiteout (`.wh.x`, `.wh..wh..opq`) would delete files of lower layers when
// the image is unpacked: kiln refuses to write one into a layer, from the context or from RUN.
import Foundation
import TestSupport
import Testing

@Suite("Whiteout names")
struct WhiteoutNameTests {
    @Test(arguments: [".wh.passwd", "sub/.wh..wh..opq"])
    func aContextFileNamedLikeAWhiteoutIsRefused(name: String) async throws {
        let tree = try TemporaryTree(prefix: "kiln-wh")
        defer { tree.remove() }
        let ctx = try makeContext([name: "x", "keep": "k"], dockerfile: "FROM scratch\nCOPY . /app/\n", in: tree)
        let r = try await KilnCommand.run(["-c", ctx, "--oci-layout-path", tree.url("out")])
        #expect(r.exitCode == 1, "\(r)")
        #expect(r.stderr.contains("Dockerfile:2:1") && r.stderr.contains("reserve for whiteouts"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: tree.url("out/index.json")), "no image is written")
    }

    @Test func aRunStepCreatingAWhiteoutNameIsRefused() async throws {
        try await withRegistry(.plain) { registry in
            let base = try await BaseImageFixture.shared.push(.busybox, to: registry)
            let tree = try TemporaryTree(prefix: "kiln-wh-run")
            defer { tree.remove() }
            let ctx = try makeContext([:], dockerfile: "FROM \(base)\nRUN touch /etc/.wh.passwd\n", in: tree)
            let r = try await KilnCommand.run(["-c", ctx, "--oci-layout-path", tree.url("out")])
            #expect(r.exitCode == 1, "\(r)")
            #expect(r.stderr.contains(".wh.passwd") && r.stderr.contains("reserve for whiteouts"), "\(r.stderr)")
        }
    }
}
