// The built-in example (examples/hello): a FROM-scratch, multi-stage build written to an OCI
// layout and read back by skopeo, umoci, podman and kiln's own validator.
import Foundation
import ImageStore
import PluginAPI
import TestSupport
import Testing

@Suite("Example build", .serialized)
struct ExampleBuildTests {
    @Test("the example builds, validates and reads back in skopeo and umoci")
    func exampleBuilds() async throws {
        let tree = try TemporaryTree()
        defer { tree.remove() }
        let build = try await LayoutBuild.run(context: Repo.helloExample, in: tree, ["--reproducible"])
        #expect(build.result.exitCode == 0, "\(build.result)")
        #expect(build.printedDigest.hasPrefix("sha256:"))

        try await ImageValidator.validate(layoutPath: build.layout, refName: "latest")
        let validate = try await KilnCommand.run(["validate", build.layout + ":latest"])
        #expect(validate.exitCode == 0, "\(validate)")

        let inspect = try await ProcessRunner.run("skopeo", ["inspect", "oci:\(build.layout):latest"])
        #expect(inspect.succeeded, "\(inspect)")
        #expect(inspect.stdout.contains(build.printedDigest))

        let rootfs = try await build.unpack(into: tree)
        #expect(try String(contentsOfFile: rootfs + "/app/motd", encoding: .utf8) == "hello from a kiln build stage\n")
        #expect(try String(contentsOfFile: rootfs + "/app/greeting.txt", encoding: .utf8) == "hello, world\n")
        #expect(FileManager.default.fileExists(atPath: rootfs + "/app/config/app.conf"))
        // .dockerignore: config/*.env and *.md never reach the image.
        #expect(!FileManager.default.fileExists(atPath: rootfs + "/app/config/local.env"))
        #expect(!FileManager.default.fileExists(atPath: rootfs + "/app/README.md"))
        let hello = try #require(fileStat(rootfs + "/app/bin/hello"))
        #expect(hello.st_uid == 1000 && hello.st_gid == 1000)
        #expect(hello.st_mode & 0o7777 == 0o755)
        let greeting = try #require(fileStat(rootfs + "/app/greeting.txt"))
        #expect(greeting.st_uid == 0 && greeting.st_mode & 0o7777 == 0o644)
    }

    @Test("the config says what the Dockerfile says")
    func configMatchesDockerfile() async throws {
        let tree = try TemporaryTree()
        defer { tree.remove() }
        let build = try await LayoutBuild.run(context: Repo.helloExample, in: tree, ["--label", "ci.job=42"])
        #expect(build.result.exitCode == 0, "\(build.result)")
        let image = try build.image()
        let c = try #require(image.config.config)
        #expect(c.env == ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "APP_HOME=/app"])
        #expect(c.workingDir == "/app")
        #expect(c.user == "1000:1000")
        #expect(c.exposedPorts?.keys.sorted() == ["8080/tcp"])
        #expect(c.volumes?.keys.sorted() == ["/app/data"])
        #expect(c.stopSignal == "SIGTERM")
        #expect(c.entrypoint == ["/app/bin/hello"])
        #expect(c.cmd == ["--greet"])
        #expect(c.healthcheck?.test == ["CMD", "/app/bin/hello", "--check"])
        #expect(c.healthcheck?.interval == 30_000_000_000)
        #expect(c.healthcheck?.timeout == 3_000_000_000)
        #expect(c.labels?["org.opencontainers.image.title"] == "kiln hello")
        #expect(c.labels?["ci.job"] == "42")
        #expect(image.config.os == "linux" && image.config.architecture == Platform.host.architecture)

        // One history entry per instruction of the final stage; layers only for WORKDIR and the two COPYs.
        let history = try #require(image.config.history)
        #expect(history.count == 12)
        #expect(history.filter { $0.emptyLayer != true }.count == image.manifest.layers.count)
        #expect(image.manifest.layers.count == 3)
        #expect(history.allSatisfy { $0.created != nil })
        #expect(history.map { $0.createdBy ?? "" }.contains("COPY --chown=1000:1000 --chmod=0755 hello.sh bin/hello"))
    }

    @Test("two --reproducible builds are byte-identical; SOURCE_DATE_EPOCH sets the dates")
    func reproducible() async throws {
        let tree = try TemporaryTree()
        defer { tree.remove() }
        let a = try await LayoutBuild.run(context: Repo.helloExample, in: tree, name: "a", ["--reproducible"])
        let b = try await LayoutBuild.run(context: Repo.helloExample, in: tree, name: "b", ["--reproducible"])
        #expect(a.result.exitCode == 0 && b.result.exitCode == 0)
        #expect(a.printedDigest == b.printedDigest)
        let diff = try await ProcessRunner.run("diff", ["-r", a.layout, b.layout])
        #expect(diff.exitCode == 0, "\(diff)")

        let epoch = try await LayoutBuild.run(
            context: Repo.helloExample, in: tree, name: "epoch", [],
            environment: ["SOURCE_DATE_EPOCH": "1700000000"])
        #expect(epoch.result.exitCode == 0, "\(epoch.result)")
        let image = try epoch.image()
        #expect(image.config.created == "2023-11-14T22:13:20Z")
        #expect(image.config.history?.allSatisfy { $0.created == "2023-11-14T22:13:20Z" } == true)
        let again = try await LayoutBuild.run(
            context: Repo.helloExample, in: tree, name: "epoch2", [],
            environment: ["SOURCE_DATE_EPOCH": "1700000000"])
        #expect(again.printedDigest == epoch.printedDigest)
        #expect(epoch.printedDigest != a.printedDigest)
    }

    @Test("--tar-path writes a docker-archive that skopeo and podman load")
    func tarball() async throws {
        let tree = try TemporaryTree()
        defer { tree.remove() }
        let tar = tree.url("hello.tar")
        let tag = "example.test/kiln/hello:tar-\(getpid())"
        let r = try await KilnCommand.run(["-c", Repo.helloExample, "--tar-path", tar, "-d", tag, "--no-push"])
        #expect(r.exitCode == 0, "\(r)")
        let inspect = try await ProcessRunner.run("skopeo", ["inspect", "docker-archive:\(tar)"])
        #expect(inspect.succeeded, "\(inspect)")
        #expect(inspect.stdout.contains("\"kiln hello\""))
        let load = try await ProcessRunner.run("podman", ["load", "-i", tar])
        #expect(load.succeeded, "\(load)")
        #expect((load.stdout + load.stderr).contains(tag))
        let config = try await ProcessRunner.run(
            "podman", ["image", "inspect", "--format", "{{.Config.WorkingDir}} {{.Config.User}}", tag])
        #expect(config.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "/app 1000:1000", "\(config)")
        _ = try await ProcessRunner.run("podman", ["rmi", "-f", tag])
    }

    @Test("--compression zstd writes zstd layers that validate")
    func zstd() async throws {
        let tree = try TemporaryTree()
        defer { tree.remove() }
        let build = try await LayoutBuild.run(context: Repo.helloExample, in: tree, ["--compression", "zstd", "--compression-level", "9"])
        #expect(build.result.exitCode == 0, "\(build.result)")
        let image = try build.image()
        #expect(image.manifest.layers.allSatisfy { $0.mediaType == .ociLayerZstd })
        try await ImageValidator.validate(layoutPath: build.layout, refName: "latest")
    }
}
