// RUN --mount (bind, cache, tmpfs, secret, ssh) and RUN --network end to end: the real kiln
// builds on the busybox (or Debian) base pushed to a real registry; the image is unpacked with
// umoci and every blob of the layout is searched (decompressed) for what must never be there.
import Foundation
import Glibc
import TestSupport
import Testing

@Suite("RUN --mount and --network", .serialized, .enabled(if: Prerequisites.enabled))
struct RunMountBuildTests {
    struct Built {
        var result: ProcessResult
        var layout: String
        var output: String { result.stdout + result.stderr }
    }

    /// Builds `dockerfile(base)` with a context of `files` into a layout under `tree`.
    static func build(
        _ registry: RegistryFixture, base: String, in tree: TemporaryTree, name: String = "out", files: [String: String] = [:],
        dockerfile: String, _ arguments: [String] = [], environment: [String: String?] = [:]
    ) async throws -> Built {
        let ctx = tree.url("ctx-\(name)")
        try tree.makeDirectory("ctx-\(name)")
        _ = try tree.write("ctx-\(name)/Dockerfile", dockerfile)
        for (path, content) in files {
            let full = ctx + "/" + path
            try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            _ = try tree.write("ctx-\(name)/" + path, content)
        }
        let layout = tree.url(name)
        let result = try await KilnCommand.run(
            ["--context", ctx, "--oci-layout-path", layout, "--no-push", "--verbosity", "debug"] + registry.kilnFlags + arguments,
            environment: environment)
        return Built(result: result, layout: layout)
    }

    static func unpack(_ built: Built, in tree: TemporaryTree) async throws -> String {
        let bundle = tree.url("bundle-" + UUID().uuidString.prefix(8))
        let r = try await ProcessRunner.run("umoci", ["unpack", "--image", built.layout + ":latest", bundle])
        try #require(r.succeeded, "umoci unpack: \(r)")
        return bundle + "/rootfs"
    }

    /// How many times `needle` occurs in the layout's files, compressed blobs decompressed.
    static func occurrences(of needle: String, inLayout layout: String) async throws -> Int {
        let script = """
            cd "$1" && for f in index.json oci-layout blobs/sha256/*; do gzip -dc "$f" 2>/dev/null || cat "$f"; done | grep -c -a -F -e "$NEEDLE"
            """
        let r = try await ProcessRunner.run(
            "/bin/sh", ["-c", script, "sh", layout], environment: ["NEEDLE": needle, "PATH": "/usr/bin:/bin"])
        return Int(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
    }

    static func read(_ path: String) -> String? { try? String(contentsOfFile: path, encoding: .utf8) }

    @Test("cache: a second build finds what the first left; the cache is in no layer and its mount point is gone")
    func cacheMount() async throws {
        try #require(Prerequisites.available, Prerequisites.missing)
        let tree = try TemporaryTree()
        defer { tree.remove() }
        let cacheDir = tree.url("run-cache")
        let marker = "cache-marker-" + UUID().uuidString
        try await withRegistry(.plain) { registry in
            let base = try await BaseImageFixture.shared.push(.busybox, to: registry)
            let dockerfile = """
                FROM \(base)
                RUN --mount=type=cache,target=/var/cache/app echo \(marker.prefix(13))"$(echo \(marker.dropFirst(13)))" >> /var/cache/app/log && \
                    wc -l < /var/cache/app/log | tr -d ' ' > /count
                RUN --mount=type=cache,target=/c2,id=other,sharing=locked,uid=1000,mode=0700 stat -c '%u %a' /c2 > /owner
                """
            var counts: [String] = []
            for name in ["first", "second"] {
                let built = try await Self.build(
                    registry, base: base, in: tree, name: name, dockerfile: dockerfile, ["--run-cache-dir", cacheDir])
                try #require(built.result.exitCode == 0, "\(built.result)")
                let rootfs = try await Self.unpack(built, in: tree)
                counts.append(Self.read(rootfs + "/count") ?? "")
                #expect(Self.read(rootfs + "/owner") == "1000 700\n")
                // The mount point kiln made (/var/cache/app, /c2) is not left in the image.
                #expect(!FileManager.default.fileExists(atPath: rootfs + "/var/cache/app"))
                #expect(!FileManager.default.fileExists(atPath: rootfs + "/c2"))
                #expect(try await Self.occurrences(of: marker, inLayout: built.layout) == 0)
            }
            #expect(counts == ["1\n", "2\n"])
            let entries = try FileManager.default.contentsOfDirectory(atPath: cacheDir)
            #expect(entries.count == 2, "\(entries)")
            let logs = entries.compactMap { Self.read(cacheDir + "/" + $0 + "/data/log") }
            #expect(logs == ["\(marker)\n\(marker)\n"], "\(logs)")

            // Another holder of the cache (another kiln) makes sharing=private use a fresh one.
            let entry = try #require(entries.first { Self.read(cacheDir + "/" + $0 + "/data/log") != nil })
            let lock = open(cacheDir + "/" + entry + "/lock", O_RDWR)
            defer { close(lock) }
            try #require(flock(lock, LOCK_EX) == 0)
            let privateBuild = try await Self.build(
                registry, base: base, in: tree, name: "private",
                dockerfile:
                    "FROM \(base)\nRUN --mount=type=cache,target=/var/cache/app,sharing=private ls /var/cache/app | wc -l > /count\n",
                ["--run-cache-dir", cacheDir])
            try #require(privateBuild.result.exitCode == 0, "\(privateBuild.result)")
            #expect(Self.read(try await Self.unpack(privateBuild, in: tree) + "/count")?.trimmingCharacters(in: .whitespaces) == "0\n")
            #expect(Self.read(cacheDir + "/" + entry + "/data/log") == "\(marker)\n\(marker)\n")
        }
    }

    @Test("secret: file and env; never in the layout, the logs, or /proc/*/environ of a later step")
    func secretMount() async throws {
        try #require(Prerequisites.available, Prerequisites.missing)
        let tree = try TemporaryTree()
        defer { tree.remove() }
        let secret = "kiln-secret-" + String(UInt64.random(in: 1...UInt64.max), radix: 36)
        let secretFile = try tree.write("token.txt", secret)
        try await withRegistry(.plain) { registry in
            let base = try await BaseImageFixture.shared.push(.busybox, to: registry)
            let built = try await Self.build(
                registry, base: base, in: tree,
                dockerfile: """
                    FROM \(base)
                    RUN --mount=type=secret,id=tok cat /run/secrets/tok > /dev/null && stat -c '%a %u:%g' /run/secrets/tok > /file-mode
                    RUN --mount=type=secret,id=tok,env=TOK test -n "$TOK" && test ! -e /run/secrets/tok && echo env-ok > /env-ok
                    RUN --mount=type=secret,id=fromenv,target=/s/x,mode=0440,uid=1000,gid=2000 stat -c '%a %u:%g' /s/x > /custom-mode
                    RUN --mount=type=secret,id=absent cat /run/secrets/absent 2>/dev/null || echo skipped > /absent
                    RUN for f in /proc/[0-9]*/environ; do cat "$f"; echo; done > /environ-scan
                    """,
                ["--secret", "id=tok,src=\(secretFile)", "--secret", "id=fromenv,env=KILN_TEST_TOKEN"],
                environment: ["KILN_TEST_TOKEN": secret])
            try #require(built.result.exitCode == 0, "\(built.result)")
            let rootfs = try await Self.unpack(built, in: tree)
            #expect(Self.read(rootfs + "/file-mode") == "400 0:0\n")
            #expect(Self.read(rootfs + "/env-ok") == "env-ok\n")
            #expect(Self.read(rootfs + "/custom-mode") == "440 1000:2000\n")
            #expect(Self.read(rootfs + "/absent") == "skipped\n")
            #expect((Self.read(rootfs + "/environ-scan") ?? "").contains("PATH="))
            // Neither the mount points (/run/secrets, /s) nor the secret are anywhere.
            #expect(!FileManager.default.fileExists(atPath: rootfs + "/run/secrets"))
            #expect(!FileManager.default.fileExists(atPath: rootfs + "/s"))
            #expect(try await Self.occurrences(of: secret, inLayout: built.layout) == 0)
            #expect(try await Self.occurrences(of: "id=tok", inLayout: built.layout) > 0, "the history shows the RUN flags")
            #expect(try await Self.occurrences(of: "440 1000:2000", inLayout: built.layout) > 0, "the search reads compressed layers")
            #expect(!built.output.contains(secret))
            let shm = (try? FileManager.default.contentsOfDirectory(atPath: "/dev/shm")) ?? []
            #expect(!shm.contains { $0.hasPrefix("kiln-secret-") }, "\(shm)")

            let missing = try await Self.build(
                registry, base: base, in: tree, name: "missing",
                dockerfile: "FROM \(base)\nRUN --mount=type=secret,id=nope,required true\n")
            #expect(missing.result.exitCode == 1)
            #expect(
                missing.result.stderr.contains("Dockerfile:2:1") && missing.result.stderr.contains("secret nope: not found"),
                "\(missing.result)")
        }
    }

    @Test("bind: from the context (read-only, .dockerignore applies), from a stage, rw writes discarded")
    func bindMount() async throws {
        try #require(Prerequisites.available, Prerequisites.missing)
        let tree = try TemporaryTree()
        defer { tree.remove() }
        try await withRegistry(.plain) { registry in
            let base = try await BaseImageFixture.shared.push(.busybox, to: registry)
            let built = try await Self.build(
                registry, base: base, in: tree,
                files: ["data/file": "original\n", "data/hidden": "h\n", ".dockerignore": "data/hidden\n"],
                dockerfile: """
                    FROM \(base) AS tools
                    RUN mkdir /tools && echo tool > /tools/t
                    FROM \(base)
                    RUN --mount=type=bind,source=data,target=/mnt/ctx cat /mnt/ctx/file > /from-ctx && \
                        (test -e /mnt/ctx/hidden && echo visible || echo ignored) > /ignored && \
                        (touch /mnt/ctx/new 2>/dev/null && echo writable || echo read-only) > /ro
                    RUN --mount=from=tools,source=/tools,target=/mnt/tools cat /mnt/tools/t > /from-stage
                    RUN --mount=from=\(base),source=/bin,target=/mnt/bin /mnt/bin/busybox echo from-image > /from-image
                    RUN --mount=type=cache,id=seeded,target=/mnt/seeded,from=tools,source=/tools cat /mnt/seeded/t > /seeded
                    RUN --mount=type=bind,source=data/file,target=/one-file,rw echo changed > /one-file && cat /one-file > /rw-saw
                    RUN cat /one-file > /after 2>&1 || echo absent > /after
                    """, ["--run-cache-dir", tree.url("run-cache")])
            try #require(built.result.exitCode == 0, "\(built.result)")
            let rootfs = try await Self.unpack(built, in: tree)
            #expect(Self.read(rootfs + "/from-ctx") == "original\n")
            #expect(Self.read(rootfs + "/ignored") == "ignored\n")
            #expect(Self.read(rootfs + "/ro") == "read-only\n")
            #expect(Self.read(rootfs + "/from-stage") == "tool\n")
            #expect(Self.read(rootfs + "/from-image") == "from-image\n")
            #expect(Self.read(rootfs + "/seeded") == "tool\n", "a new cache starts as a copy of from/source")
            #expect(Self.read(rootfs + "/rw-saw") == "changed\n")
            #expect(Self.read(rootfs + "/after") == "absent\n")
            #expect(!FileManager.default.fileExists(atPath: rootfs + "/mnt"))
            #expect(Self.read(tree.url("ctx-out/data/file")) == "original\n", "the context is never written")
        }
    }

    @Test("tmpfs: a tmpfs at the target, gone after the step; --network=none has only lo and no host port")
    func tmpfsAndNetwork() async throws {
        try #require(Prerequisites.available, Prerequisites.missing)
        let tree = try TemporaryTree()
        defer { tree.remove() }
        try await withRegistry(.plain) { registry in
            let base = try await BaseImageFixture.shared.push(.busybox, to: registry)
            let port = registry.host.split(separator: ":").last.map(String.init) ?? ""
            let probe = "(nc -w 3 127.0.0.1 \(port) < /dev/null && echo connected || echo failed)"
            let built = try await Self.build(
                registry, base: base, in: tree,
                dockerfile: """
                    FROM \(base)
                    RUN --mount=type=tmpfs,target=/scratch,size=1m echo x > /scratch/f && grep ' /scratch tmpfs ' /proc/mounts | grep -c size=1024k > /tmpfs
                    RUN --mount=type=cache,target=/scratch/deps,id=nested --mount=type=tmpfs,target=/scratch \
                        echo nested > /scratch/deps/f
                    RUN ls /scratch > /after 2>&1 || echo absent > /after
                    RUN --network=none ls /sys/class/net > /net-none && \(probe) > /connect-none
                    RUN --network=default \(probe) > /connect-default
                    RUN --network=host ls /sys/class/net | wc -l > /net-host
                    """, ["--run-cache-dir", tree.url("run-cache")])
            try #require(built.result.exitCode == 0, "\(built.result)")
            let rootfs = try await Self.unpack(built, in: tree)
            #expect(Self.read(rootfs + "/tmpfs") == "1\n")
            #expect(Self.read(rootfs + "/after") == "absent\n")
            let caches = (try? FileManager.default.contentsOfDirectory(atPath: tree.url("run-cache"))) ?? []
            let nested = caches.compactMap { Self.read(tree.url("run-cache/\($0)/data/f")) }
            #expect(nested == ["nested\n"], "a cache inside a tmpfs, whatever their order: \(caches)")
            #expect(!FileManager.default.fileExists(atPath: rootfs + "/scratch"))
            #expect(Self.read(rootfs + "/net-none") == "lo\n")
            #expect(Self.read(rootfs + "/connect-none") == "failed\n")
            #expect(Self.read(rootfs + "/connect-default") == "connected\n")
            #expect((Int(Self.read(rootfs + "/net-host")?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 0) > 1)
        }
    }

    @Test(
        "bad mounts fail at their line with BuildKit's words",
        arguments: [
            ("RUN --mount=type=tmpfs,target=/ true", #"invalid mount target "/""#),
            ("RUN --mount=source=nope,target=/x true", #"mount source "nope" not found in the build context"#),
            ("RUN --mount=type=ssh,required true", #"no SSH key "default" forwarded from the client"#),
            ("RUN --mount=type=cache,target=/c,sharing=lockd true", #"unsupported sharing value "lockd" (did you mean 'locked'?)"#),
        ])
    func badMounts(line: String, message: String) async throws {
        let tree = try TemporaryTree()
        defer { tree.remove() }
        try tree.makeDirectory("ctx")
        _ = try tree.write("ctx/Dockerfile", "FROM scratch\n\(line)\n")
        let r = try await KilnCommand.run(["--context", tree.url("ctx"), "--oci-layout-path", tree.url("out"), "--no-push"])
        #expect(r.exitCode == 1, "\(r)")
        #expect(r.stderr.contains("Dockerfile:2:") && r.stderr.contains(message), "\(r.stderr)")
    }

    @Test("a bad --secret or --ssh is a usage error (exit 2) that names the flag, never a value")
    func badFlags() async throws {
        let tree = try TemporaryTree()
        defer { tree.remove() }
        try tree.makeDirectory("ctx")
        _ = try tree.write("ctx/Dockerfile", "FROM scratch\n")
        let base = ["--context", tree.url("ctx"), "--oci-layout-path", tree.url("out"), "--no-push"]
        let secret = try await KilnCommand.run(base + ["--secret", "id=a,src=/nonexistent/kiln-secret"])
        #expect(secret.exitCode == 2 && secret.stderr.contains("--secret id=a: cannot read /nonexistent/kiln-secret"), "\(secret)")
        let ssh = try await KilnCommand.run(base + ["--ssh", "default"], environment: ["SSH_AUTH_SOCK": nil])
        #expect(ssh.exitCode == 2 && ssh.stderr.contains("SSH_AUTH_SOCK is not set"), "\(ssh)")
    }

    @Test("ssh: a real ssh-agent answers through the forwarded socket (SSH_AUTH_SOCK set inside RUN)")
    func sshMount() async throws {
        try #require(Prerequisites.available, Prerequisites.missing)
        try #require(access("/usr/bin/ssh-agent", X_OK) == 0, "needs ssh-agent (openssh-client)")
        let tree = try TemporaryTree()
        defer { tree.remove() }
        let socket = tree.url("agent.sock")
        let agent = try BackgroundProcess(
            name: "ssh-agent", executable: "/usr/bin/ssh-agent", arguments: ["-D", "-a", socket], outputPath: tree.url("agent.log"))
        defer { agent.stop() }
        for _ in 0..<100 where access(socket, F_OK) != 0 { try await Task.sleep(for: .milliseconds(50)) }
        try #require(access(socket, F_OK) == 0, "ssh-agent did not make its socket: \(agent.outputTail())")
        // REQUEST_IDENTITIES (11) answered by IDENTITIES_ANSWER (12), with perl-base's sockets.
        let ask =
            #"perl -MIO::Socket::UNIX -e '$s = IO::Socket::UNIX->new(Peer => $ENV{SSH_AUTH_SOCK}) or die "connect: $!"; print $s pack("NC", 1, 11); read($s, $b, 5) == 5 or die "short"; print "answer=", (unpack("NC", $b))[1], "\n"'"#
        try await withRegistry(.plain) { registry in
            let base = try await BaseImageFixture.shared.push(.bookworm, to: registry)
            let built = try await Self.build(
                registry, base: base, in: tree,
                dockerfile: """
                    FROM \(base)
                    RUN --mount=type=ssh echo "$SSH_AUTH_SOCK" > /sock && \(ask) > /answer
                    RUN --mount=type=ssh,id=other,target=/agent.sock SSH_AUTH_SOCK=/agent.sock \(ask) > /answer-other
                    RUN (test -z "$SSH_AUTH_SOCK" && echo unset || echo set) > /leftover; test -e /run/buildkit || echo gone >> /leftover
                    RUN --mount=type=ssh stat -c '%a %u:%g' "$SSH_AUTH_SOCK" > /sock-mode
                    USER 1000
                    RUN --mount=type=ssh,uid=1000,mode=0600 \(ask) > /tmp/answer-user
                    RUN --mount=type=ssh (\(ask) 2>/dev/null || echo refused) > /tmp/refused
                    """,
                ["--ssh", "default", "--ssh", "other=\(socket)"], environment: ["SSH_AUTH_SOCK": socket])
            try #require(built.result.exitCode == 0, "\(built.result)")
            let rootfs = try await Self.unpack(built, in: tree)
            #expect(Self.read(rootfs + "/sock") == "/run/buildkit/ssh_agent.0\n")
            #expect(Self.read(rootfs + "/answer") == "answer=12\n")
            #expect(Self.read(rootfs + "/answer-other") == "answer=12\n")
            #expect(Self.read(rootfs + "/leftover") == "unset\ngone\n")
            #expect(Self.read(rootfs + "/sock-mode") == "600 0:0\n", "BuildKit's defaults")
            #expect(Self.read(rootfs + "/tmp/answer-user") == "answer=12\n", "uid=1000 lets USER 1000 in")
            #expect(Self.read(rootfs + "/tmp/refused") == "refused\n", "the default 0600 root socket keeps USER 1000 out")
            #expect(!FileManager.default.fileExists(atPath: rootfs + "/agent.sock"))
        }
    }
}
