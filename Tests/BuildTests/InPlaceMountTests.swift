// RUN --mount in place (--isolation none): the mounts are made at `/` in a mount namespace of the
// step's own and vanish with it; their mount points and the cache never reach a layer. As in
// InPlaceBuildTests, the "container" is a throwaway root in a private mount namespace.
import Foundation
import ImageStore
import TestSupport
import Testing

@Suite("RUN --mount in place (--isolation none)", .serialized)
struct InPlaceMountTests {
    @Test("cache, secret, tmpfs and bind mounts in place; a second build finds the cache")
    func mountsInPlace() async throws {
        guard getuid() == 0 else {
            if ProcessInfo.processInfo.environment["CI"] != nil { Issue.record("needs root (mount namespaces)") }
            return
        }
        let tree = try TemporaryTree()
        defer { tree.remove() }
        let root = try makeInPlaceContainer(in: tree, directories: ["workspace/ctx/data", "proc", "dev", "sys", "tmp"])
        let secret = "kiln-secret-" + String(UInt64.random(in: 1...UInt64.max), radix: 36)
        _ = try tree.write("container/workspace/token", secret)
        _ = try tree.write("container/workspace/ctx/data/file", "bound\n")
        _ = try tree.write(
            "container/workspace/ctx/Dockerfile",
            """
            FROM scratch
            RUN --mount=type=cache,target=/cache ["/busybox/sh", "-c", "echo hit >> /cache/log && wc -l < /cache/log > /count"]
            RUN --mount=type=secret,id=tok,env=TOK ["/busybox/sh", "-c", "test -n \\"$TOK\\" && echo ok > /secret-env"]
            RUN --mount=type=secret,id=tok ["/busybox/sh", "-c", "cat /run/secrets/tok > /dev/null && echo ok > /secret-file"]
            RUN --mount=type=tmpfs,target=/scratch ["/busybox/sh", "-c", "grep -q ' /scratch tmpfs ' /proc/mounts && echo ok > /tmpfs"]
            RUN --mount=type=bind,source=data,target=/mnt/data ["/busybox/sh", "-c", "cat /mnt/data/file > /bound"]
            RUN --network=none ["/busybox/sh", "-c", "wc -l < /proc/net/dev > /net-none"]
            RUN ["/busybox/sh", "-c", "test ! -e /mnt && test ! -e /scratch && test ! -e /run/secrets && echo clean > /after"]
            """)
        let flags =
            "--isolation none -c /workspace/ctx --ignore-path /workspace --ignore-path /busybox --reproducible "
            + "--run-cache-dir /var/cache/kiln-runs --secret id=tok,src=/workspace/token"
        let script = """
            set -e
            R=\(root)
            mount --bind -o ro /usr $R/usr
            mount --bind -o ro /opt/swift $R/opt/swift
            mount --rbind /proc $R/proc
            mount --rbind /dev $R/dev
            mount --rbind /sys $R/sys
            chroot $R /kiln/kiln \(flags) --oci-layout-path /workspace/out1
            chroot $R /kiln/kiln \(flags) --oci-layout-path /workspace/out2
            """
        let r = try await ProcessRunner.run(
            "unshare", ["--mount", "--propagation", "private", "--fork", "/bin/bash", "-c", script], timeout: 300)
        try #require(r.exitCode == 0, "\(r)")
        #expect(!(r.stdout + r.stderr).contains(secret))

        for (name, count) in [("out1", "1\n"), ("out2", "2\n")] {
            let layout = root + "/workspace/" + name
            try await ImageValidator.validate(layoutPath: layout, refName: "latest")
            let rootfs = try await LayoutBuild(result: r, layout: layout).unpack(into: tree)
            func read(_ p: String) -> String? { try? String(contentsOfFile: rootfs + p, encoding: .utf8) }
            #expect(read("/count") == count, "\(name)")
            for path in ["/secret-env", "/secret-file", "/tmpfs"] { #expect(read(path) == "ok\n", "\(name) \(path)") }
            #expect(read("/bound") == "bound\n")
            #expect(read("/after") == "clean\n")
            #expect(read("/net-none") == "3\n", "two header lines and lo")
            for path in ["/cache", "/mnt", "/scratch", "/run", "/workspace", "/var"] {
                #expect(!FileManager.default.fileExists(atPath: rootfs + path), "\(path) leaked into \(name)")
            }
            let grep = try await ProcessRunner.run(
                "/bin/sh",
                [
                    "-c",
                    "cd \"$1\" && for f in blobs/sha256/*; do gzip -dc \"$f\" 2>/dev/null || cat \"$f\"; done | grep -c -a -F -e \"$S\"",
                    "sh", layout,
                ],
                environment: ["S": secret, "PATH": "/usr/bin:/bin"])
            #expect(grep.stdout == "0\n", "\(name): \(grep)")
        }
        // The cache lives on in the container's own root (outside every snapshot).
        let entries = try FileManager.default.contentsOfDirectory(atPath: root + "/var/cache/kiln-runs")
        let logs = entries.compactMap { try? String(contentsOfFile: root + "/var/cache/kiln-runs/\($0)/data/log", encoding: .utf8) }
        #expect(logs == ["hit\nhit\n"], "\(entries)")
        // The container's own root is left as the mounts found it: no mount point is left behind.
        for path in ["/cache", "/mnt", "/scratch", "/run/secrets"] {
            #expect(!FileManager.default.fileExists(atPath: root + path), "\(path) left in the container")
        }
    }
}
