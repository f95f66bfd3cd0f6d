// The mtime race kaniko's README warns about: a file rewritten with the same size within one
// tick of the file system's clock keeps its mtime and ctime. On a file system with one-second
// timestamps (ext2 with 128-byte inodes, loop-mounted here) a step that rewrites a file the step
// before wrote in the same second must still be seen, in both snapshot modes.
import Foundation
import TestSupport
import Testing

@Suite("Racy timestamps", .serialized)
struct RacyTimestampTests {
    @Test("a same-size rewrite within one timestamp tick is in the layer", arguments: ["time", "full"])
    func sameSecondRewrite(mode: String) async throws {
        try await withRegistry(.plain) { registry in
            let base = try await BaseImageFixture.shared.push(.busybox, to: registry)
            let tree = try TemporaryTree(prefix: "kiln-racy")
            defer { tree.remove() }
            let image = tree.url("seconds.ext2")
            let mountPoint = tree.url("mnt")
            try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
            try await ProcessRunner.check("truncate", ["-s", "96M", image])
            try await ProcessRunner.check("mkfs.ext2", ["-q", "-F", "-I", "128", image])
            try await ProcessRunner.check("mount", ["-o", "loop", image, mountPoint])
            // -o loop sets autoclear: unmounting releases the loop device too.
            defer { _ = umount2(mountPoint, Int32(MNT_DETACH)) }
            let ctx = try makeContext(
                [:],
                dockerfile: """
                    FROM \(base)
                    RUN s=$(date +%s); while [ "$(date +%s)" = "$s" ]; do :; done; echo aaaa > /f; stat -c %Y /f > /first
                    RUN echo bbbb > /f; stat -c %Y /f > /second
                    """, in: tree)
            let build = try await LayoutBuild.run(
                context: ctx, in: tree, ["--snapshot-mode", mode, "--kaniko-dir", mountPoint + "/work"])
            try #require(build.result.exitCode == 0, "\(build.result)")
            let root = try await build.unpack(into: tree)
            func read(_ p: String) -> String? { try? String(contentsOfFile: root + p, encoding: .utf8) }
            #expect(read("/f") == "bbbb\n", "the second write is in the image (\(mode) mode)")
            // How: after step 1's snapshot kiln waits for the file system's next second, so the
            // rewrite carries a different mtime (on the old code both fell in one second).
            #expect(read("/first") != nil && read("/second") != nil && read("/first") != read("/second"))
        }
    }
}
