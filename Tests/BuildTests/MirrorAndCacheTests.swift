// Pull-side registry options through the CLI: --registry-map (mirrors tried first, then the
// original unless --skip-default-registry-fallback) and the base-image cache filled by
// `kiln warm`, used while the registry is down.
import Foundation
import TestSupport
import Testing

@Suite("Mirrors and the base-image cache", .serialized)
struct MirrorAndCacheTests {
    /// Builds the example and pushes it as `repo` to each registry.
    static func pushBase(_ repo: String, to registries: [RegistryFixture]) async throws {
        for r in registries {
            let push = try await KilnCommand.run([
                "-c", Repo.helloExample, "-d", "\(r.host)/\(repo)", "--insecure-registry", r.host, "--reproducible",
            ])
            #expect(push.exitCode == 0, "\(push)")
        }
    }

    static func childBuild(from base: String, in tree: TemporaryTree, _ extra: [String]) async throws -> ProcessResult {
        let ctx = try makeContext(["x": "x"], dockerfile: "FROM \(base)\nCOPY x /app/x\n", in: tree)
        return try await KilnCommand.run(
            ["-c", ctx, "--no-push", "--oci-layout-path", tree.url("out-" + UUID().uuidString.prefix(6))] + extra)
    }

    @Test("--registry-map pulls from the mirror; a dead mirror falls back unless told not to")
    func registryMap() async throws {
        let origin = try await RegistryFixture.start(.plain)
        defer { origin.stop() }
        let mirror = try await RegistryFixture.start(.plain)
        defer { mirror.stop() }
        let tree = try TemporaryTree()
        defer { tree.remove() }
        let insecure = ["--insecure-registry", origin.host, "--insecure-registry", mirror.host]

        // Only the mirror has it: the map finds it there.
        try await Self.pushBase("team/base:1", to: [mirror])
        let mapped = try await Self.childBuild(
            from: "\(origin.host)/team/base:1", in: tree,
            insecure + ["--registry-map", "\(origin.host)=\(mirror.host)"])
        #expect(mapped.exitCode == 0, "\(mapped)")
        let unmapped = try await Self.childBuild(from: "\(origin.host)/team/base:1", in: tree, insecure)
        #expect(unmapped.exitCode == 1)
        #expect(unmapped.stderr.contains("team/base"), "\(unmapped)")

        // The mirror is down: the origin serves, unless fallback is refused.
        try await Self.pushBase("team/base:1", to: [origin])
        let dead = "127.0.0.1:\(try LoopbackPort.free())"
        let fallback = try await Self.childBuild(
            from: "\(origin.host)/team/base:1", in: tree,
            insecure + ["--insecure-registry", dead, "--registry-map", "\(origin.host)=\(dead)"])
        #expect(fallback.exitCode == 0, "\(fallback)")
        let strict = try await Self.childBuild(
            from: "\(origin.host)/team/base:1", in: tree,
            insecure + [
                "--insecure-registry", dead, "--registry-map", "\(origin.host)=\(dead)",
                "--skip-default-registry-fallback",
            ])
        #expect(strict.exitCode == 1, "\(strict)")
        #expect(strict.stderr.contains(dead), "\(strict)")
    }

    @Test("kiln warm fills --cache-dir; a build then needs no registry")
    func warmAndCache() async throws {
        let registry = try await RegistryFixture.start(.plain)
        let tree = try TemporaryTree()
        defer { tree.remove() }
        try await Self.pushBase("team/cached:1", to: [registry])
        let cache = tree.url("cache")
        let warm = try await KilnCommand.run([
            "warm", "-i", "\(registry.host)/team/cached:1", "--cache-dir", cache,
            "--insecure-registry", registry.host,
        ])
        #expect(warm.exitCode == 0, "\(warm)")
        #expect(FileManager.default.fileExists(atPath: cache + "/index.json"))
        // --dockerfile: every FROM image (ARG-expanded, stage references and scratch skipped).
        _ = try tree.write(
            "warm.Dockerfile",
            """
            ARG REG
            FROM ${REG}/team/cached:1 AS one
            FROM one
            FROM scratch
            """)
        let fromFile = try await KilnCommand.run([
            "warm", "--dockerfile", tree.url("warm.Dockerfile"), "--build-arg", "REG=\(registry.host)",
            "--cache-dir", tree.url("cache2"), "--insecure-registry", registry.host,
        ])
        #expect(fromFile.exitCode == 0, "\(fromFile)")
        let index = try String(contentsOfFile: tree.url("cache2/index.json"), encoding: .utf8)
        #expect(index.contains("\(registry.host)/team/cached:1"), "\(index)")
        #expect(index.components(separatedBy: "org.opencontainers.image.ref.name").count == 2, "\(index)")
        let base = "\(registry.host)/team/cached:1"
        registry.stop()

        let cached = try await Self.childBuild(from: base, in: tree, ["--cache-dir", cache, "--insecure-registry", "127.0.0.1"])
        #expect(cached.exitCode == 0, "\(cached)")
        #expect(cached.stderr.contains("from the cache"), "\(cached)")
        // An expired entry is not used: with the registry down the build fails.
        let expired = try await Self.childBuild(from: base, in: tree, ["--cache-dir", cache, "--cache-ttl", "0s"])
        #expect(expired.exitCode == 1, "\(expired)")
    }

    @Test("a child image's base layers are mounted from the base's repository, not uploaded")
    func baseLayersAreMounted() async throws {
        let registry = try await RegistryFixture.start(.plain)
        defer { registry.stop() }
        let tree = try TemporaryTree()
        defer { tree.remove() }
        try await Self.pushBase("team/base:1", to: [registry])
        let before = await registry.settledAccessLog().count
        let ctx = try makeContext(["x": "x"], dockerfile: "FROM \(registry.host)/team/base:1\nCOPY x /app/x\n", in: tree)
        let child = try await KilnCommand.run(["-c", ctx, "-d", "\(registry.host)/team/child:1", "--insecure-registry", registry.host])
        #expect(child.exitCode == 0, "\(child)")
        let requests = await registry.settledAccessLog().dropFirst(before)
        // Three base layers mounted; only the new COPY layer and the config carry data.
        #expect(requests.filter { $0.method == "POST" && $0.path.contains("mount=") && $0.status == 201 }.count == 3, "\(requests)")
        #expect(requests.filter(\.carriesBlobData).count == 2, "\(requests)")
    }

    @Test("--kaniko-dir is kept after the build unless --cleanup")
    func workDirectory() async throws {
        let tree = try TemporaryTree()
        defer { tree.remove() }
        let kept = try await LayoutBuild.run(context: Repo.helloExample, in: tree, name: "a", ["--kaniko-dir", tree.url("work")])
        #expect(kept.result.exitCode == 0, "\(kept.result)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: tree.url("work")).contains { $0.hasPrefix("build-") })
        let cleaned = try await LayoutBuild.run(
            context: Repo.helloExample, in: tree, name: "b", ["--kaniko-dir", tree.url("work2"), "--cleanup"])
        #expect(cleaned.result.exitCode == 0, "\(cleaned.result)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: tree.url("work2")).isEmpty)
    }
}
