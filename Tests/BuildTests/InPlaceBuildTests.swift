// --isolation none, kaniko's model: kiln runs as the container and builds in its own root.
// The test makes such a container: a private mount namespace with a root directory holding
// kiln, busybox, the build context, and read-only bind mounts of the host's /usr and the Swift
// runtime (mount points, which kiln must never snapshot, extract over or wipe).
import Foundation
import ImageStore
import TestSupport
import Testing

@Suite("In-place builds (--isolation none)", .serialized)
struct InPlaceBuildTests {
    @Test("multi-stage build in its own root: stages cleared between, mounts and ignored paths kept")
    func inPlace() async throws {
        guard getuid() == 0 else {
            if ProcessInfo.processInfo.environment["CI"] != nil { Issue.record("needs root (mount namespaces)") }
            return
        }
        let tree = try TemporaryTree()
        defer { tree.remove() }
        let root = try makeInPlaceContainer(in: tree, directories: ["workspace/ctx", "proc", "dev", "sys", "tmp"])
        _ = try tree.write("container/workspace/ctx/a.txt", "from stage one\n")
        _ = try tree.write("container/workspace/ctx/b.txt", "b\n")
        _ = try tree.write(
            "container/workspace/ctx/Dockerfile",
            """
            FROM scratch AS one
            COPY a.txt /stage1/a.txt
            RUN ["/busybox/sh", "-c", "echo one > /stage1/ran"]
            FROM scratch
            COPY --from=one /stage1/ /copied/
            COPY b.txt /b.txt
            RUN ["/busybox/sh", "-c", "test ! -e /stage1 && echo cleared > /ran.txt && ls /usr/bin/env > /saw-usr.txt"]
            """)
        let swiftRuntime = "/opt/swift"
        let script = """
            set -e
            R=\(root)
            mount --bind -o ro /usr $R/usr
            mount --bind -o ro \(swiftRuntime) $R/opt/swift
            mount --rbind /proc $R/proc
            mount --rbind /dev $R/dev
            mount --rbind /sys $R/sys
            chroot $R /kiln/kiln --isolation none -c /workspace/ctx --oci-layout-path /workspace/out \
              --ignore-path /workspace --ignore-path /busybox --reproducible
            """
        let r = try await ProcessRunner.run(
            "unshare", ["--mount", "--propagation", "private", "--fork", "/bin/bash", "-c", script], timeout: 300)
        #expect(r.exitCode == 0, "\(r)")

        let layout = root + "/workspace/out"
        try await ImageValidator.validate(layoutPath: layout, refName: "latest")
        let rootfs = try await LayoutBuild(result: r, layout: layout).unpack(into: tree)
        #expect(try String(contentsOfFile: rootfs + "/copied/a.txt", encoding: .utf8) == "from stage one\n")
        #expect(try String(contentsOfFile: rootfs + "/copied/ran", encoding: .utf8) == "one\n")
        #expect(try String(contentsOfFile: rootfs + "/ran.txt", encoding: .utf8) == "cleared\n")
        #expect(FileManager.default.fileExists(atPath: rootfs + "/saw-usr.txt"))
        // Mounted and ignored paths never reach the image; the first stage's files do not leak.
        for path in ["/usr", "/opt", "/kiln", "/busybox", "/workspace", "/proc", "/stage1"] {
            #expect(!FileManager.default.fileExists(atPath: rootfs + path), "\(path) leaked into the image")
        }
        // The container keeps what the build must not touch.
        #expect(FileManager.default.fileExists(atPath: root + "/kiln/kiln"))
        #expect(FileManager.default.fileExists(atPath: root + "/busybox/sh"))
    }
}
