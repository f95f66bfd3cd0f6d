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
        let root = try Self.makeContainer(in: tree)
        _ = try tree.write(
            "container/workspace/ctx/Dockerfile",
            """
            FROM scratch AS one
            COPY a.txt /stage1/a.txt
            RUN ["/busybox/sh", "-c", "echo one > /stage1/ran"]
            FROM scratch AS two
            RUN ["/busybox/sh", "-c", "mkdir /stage2 && test ! -e /stage1 && echo two > /stage2/ran"]
            FROM scratch
            COPY --from=one /stage1/ /copied/
            COPY --from=two /stage2/ran /two-ran
            COPY b.txt /b.txt
            RUN ["/busybox/sh", "-c", "test ! -e /stage1 && echo cleared > /ran.txt && ls /usr/bin/env > /saw-usr.txt"]
            """)
        let r = try await Self.runInContainer(
            root,
            """
            KILN_STAGE_JOBS=4 chroot $R /kiln/kiln --isolation none -c /workspace/ctx --oci-layout-path /workspace/out \
              --ignore-path /workspace --ignore-path /busybox --reproducible
            """)
        #expect(r.exitCode == 0, "\(r)")
        #expect(
            !r.stderr.contains("(--stage-jobs)") && r.stderr.contains("clearing / for the next stage"),
            "one root, `/`: independent stages still build in order: \(r)")

        let layout = root + "/workspace/out"
        try await ImageValidator.validate(layoutPath: layout, refName: "latest")
        let rootfs = try await LayoutBuild(result: r, layout: layout).unpack(into: tree)
        #expect(try String(contentsOfFile: rootfs + "/copied/a.txt", encoding: .utf8) == "from stage one\n")
        #expect(try String(contentsOfFile: rootfs + "/copied/ran", encoding: .utf8) == "one\n")
        #expect(try String(contentsOfFile: rootfs + "/two-ran", encoding: .utf8) == "two\n")
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

    @Test("the layer cache in place: a second build in the same container runs no RUN step")
    func inPlaceCache() async throws {
        guard getuid() == 0 else {
            if ProcessInfo.processInfo.environment["CI"] != nil { Issue.record("needs root (mount namespaces)") }
            return
        }
        let tree = try TemporaryTree()
        defer { tree.remove() }
        let root = try Self.makeContainer(in: tree)
        // /workspace is ignored: RUN appends to a file there that the test reads.
        _ = try tree.write(
            "container/workspace/ctx/Dockerfile",
            """
            FROM scratch AS one
            COPY a.txt /stage1/a.txt
            RUN ["/busybox/sh", "-c", "echo one > /stage1/ran && echo run1 >> /workspace/count"]
            FROM scratch
            COPY --from=one /stage1/ /copied/
            RUN ["/busybox/sh", "-c", "cat /copied/ran > /final.txt && echo run2 >> /workspace/count"]
            """)
        let build = { (n: Int) in
            """
            chroot $R /kiln/kiln --isolation none -c /workspace/ctx --oci-layout-path /workspace/out\(n) \
              --ignore-path /workspace --ignore-path /busybox --cache --cache-copy-layers --cache-repo oci:/workspace/cache 2>$R/workspace/log\(n)
            """
        }
        // Clearing / between stages drops the container's /lib → usr/lib links and /.dockerenv
        // (kiln, like kaniko, runs once per container): put them back for the second run.
        let relink = ["lib", "lib64", "bin", "sbin"].map { "ln -sfn usr/\($0) $R/\($0)" }.joined(separator: "\n")
        let r = try await Self.runInContainer(root, [build(1), relink, ": > $R/.dockerenv", build(2)].joined(separator: "\n"))
        let log2 = (try? String(contentsOfFile: root + "/workspace/log2", encoding: .utf8)) ?? ""
        #expect(r.exitCode == 0, "\(r)\n\(log2)")
        #expect(try String(contentsOfFile: root + "/workspace/count", encoding: .utf8) == "run1\nrun2\n", "\(log2)")
        #expect(log2.components(separatedBy: "cache hit").count - 1 == 4, "\(log2)")
        let first = try OCILayoutReader(path: root + "/workspace/out1").image(refName: "latest")
        let second = try OCILayoutReader(path: root + "/workspace/out2").image(refName: "latest")
        #expect(second.config.rootfs.diffIDs == first.config.rootfs.diffIDs)
        try await ImageValidator.validate(layoutPath: root + "/workspace/out2", refName: "latest")
        let rootfs = try await LayoutBuild(result: r, layout: root + "/workspace/out2").unpack(into: tree)
        #expect(try String(contentsOfFile: rootfs + "/final.txt", encoding: .utf8) == "one\n")
    }

    /// The throwaway container with a context holding a.txt and b.txt.
    static func makeContainer(in tree: TemporaryTree) throws -> String {
        let root = try makeInPlaceContainer(in: tree, directories: ["workspace/ctx", "proc", "dev", "sys", "tmp"])
        _ = try tree.write("container/workspace/ctx/a.txt", "from stage one\n")
        _ = try tree.write("container/workspace/ctx/b.txt", "b\n")
        return root
    }

    /// Runs `commands` (kiln command lines inside the container) in a private mount namespace
    /// with the host's /usr and Swift runtime bound read-only, as a container runtime would.
    static func runInContainer(_ root: String, _ commands: String) async throws -> ProcessResult {
        let script = """
            set -e
            R=\(root)
            mount --bind -o ro /usr $R/usr
            mount --bind -o ro /opt/swift $R/opt/swift
            mount --rbind /proc $R/proc
            mount --rbind /dev $R/dev
            mount --rbind /sys $R/sys
            \(commands)
            """
        return try await ProcessRunner.run(
            "unshare", ["--mount", "--propagation", "private", "--fork", "/bin/bash", "-c", script], timeout: 300)
    }
}
