// The layer cache end to end: the real kiln binary, a real registry (and an OCI layout) as the
// cache, the busybox base. Which RUN steps really ran is counted by a tiny HTTP server on
// 127.0.0.1 that each RUN calls with its own path (RUN shares the host's network).
import Foundation
import ImageStore
import PluginAPI
import TestSupport
import Testing

@Suite("Layer cache", .serialized)
struct LayerCacheTests {
    /// A registry with the busybox base, a counting server, and a context to build.
    struct Setup {
        let registry: RegistryFixture
        let server: BackgroundProcess
        let port: Int
        let tree: TemporaryTree
        let base: String

        static func start() async throws -> Setup {
            let registry = try await RegistryFixture.start(.plain)
            let base = try await BaseImageFixture.shared.push(.busybox, to: registry)
            let tree = try TemporaryTree(prefix: "kiln-cache")
            try tree.makeDirectory("www")
            let port = try LoopbackPort.free()
            let server = try BackgroundProcess(
                name: "http.server", executable: "python3",
                arguments: ["-u", "-m", "http.server", String(port), "--bind", "127.0.0.1", "--directory", tree.url("www")],
                outputPath: tree.url("http.log"))
            _ = await BackgroundProcess.waitUntil(timeout: 10) { LoopbackPort.isListening(port) }
            return Setup(registry: registry, server: server, port: port, tree: tree, base: base)
        }

        func stop() {
            server.stop()
            registry.stop()
            tree.remove()
        }

        /// How many times RUN steps called each `/name`, as `1,2,…`.
        func calls(_ names: String...) -> String {
            let log = server.output
            return names.map { "\(log.components(separatedBy: "\"GET /\($0) ").count - 1)" }.joined(separator: ",")
        }

        /// A RUN that reports itself to the server, then runs `command`.
        func run(_ name: String, _ command: String) -> String {
            "RUN wget -q -O /dev/null http://127.0.0.1:\(port)/\(name) || true; \(command)"
        }

        /// Builds `context` into a fresh layout with the cache flags and `extra`.
        func build(_ context: String, _ extra: [String]) async throws -> LayoutBuild {
            let build = try await LayoutBuild.run(
                context: context, in: tree, name: "out-" + UUID().uuidString.prefix(6),
                ["--no-push", "--insecure-registry", registry.host, "--build-arg", "PORT=\(port)"] + extra)
            #expect(build.result.exitCode == 0, "\(build.result)")
            return build
        }

        var cacheFlags: [String] { ["--cache", "--cache-repo", "\(registry.host)/cache"] }
    }

    static func dockerfile(_ s: Setup) -> String {
        """
        FROM \(s.base)
        ARG PORT
        COPY a.txt /a.txt
        \(s.run("run1", "cat /a.txt > /r1.txt"))
        COPY b.txt /b.txt
        \(s.run("run2", "cat /b.txt /r1.txt > /r2.txt"))
        ENV STAGE=late
        \(s.run("run3", "echo $STAGE > /r3.txt"))
        """
    }

    static func diffIDs(_ build: LayoutBuild) throws -> [Digest] { try build.image().config.rootfs.diffIDs }

    @Test("a second build runs no RUN step and makes the same layers; changing a COPY source rebuilds from that COPY on")
    func registryCache() async throws {
        let s = try await Setup.start()
        defer { s.stop() }
        let ctx = try makeContext(["a.txt": "a\n", "b.txt": "b\n"], dockerfile: Self.dockerfile(s), in: s.tree)

        let first = try await s.build(ctx, s.cacheFlags)
        #expect(s.calls("run1", "run2", "run3") == "1,1,1", "\(s.server.output)")
        #expect(first.result.stderr.components(separatedBy: "cache miss (no entry)").count - 1 == 3, "\(first.result)")

        let second = try await s.build(ctx, s.cacheFlags)
        #expect(s.calls("run1", "run2", "run3") == "1,1,1", "\(second.result)")
        #expect(second.result.stderr.components(separatedBy: "cache hit").count - 1 == 3, "\(second.result)")
        #expect(try Self.diffIDs(second) == Self.diffIDs(first))
        let validate = try await KilnCommand.run(["validate", second.layout + ":latest"])
        #expect(validate.exitCode == 0, "\(validate)")
        let root = try await second.unpack(into: s.tree)
        #expect(try String(contentsOfFile: root + "/r2.txt", encoding: .utf8) == "b\na\n")
        #expect(try String(contentsOfFile: root + "/r3.txt", encoding: .utf8) == "late\n")

        // Only a.txt's mtime changes: keys cover content, not times, so every RUN still hits.
        var times = [timespec(tv_sec: 1_600_000_000, tv_nsec: 0), timespec(tv_sec: 1_600_000_000, tv_nsec: 0)]
        #expect(utimensat(AT_FDCWD, ctx + "/a.txt", &times, 0) == 0)
        // (In kaniko's spelling, as CI job lines have it.)
        let touched = try await s.build(ctx, ["--cache=true", "--cache-repo=\(s.registry.host)/cache"])
        #expect(s.calls("run1", "run2", "run3") == "1,1,1", "\(touched.result)")
        // Its COPY layer records the new mtime; run1's layer is the cached one.
        let (f1, t1) = (try Self.diffIDs(first), try Self.diffIDs(touched))
        #expect(t1.count == f1.count && t1[f1.count - 5] != f1[f1.count - 5] && t1[f1.count - 4] == f1[f1.count - 4])

        // Only b.txt changes: run1 still hits, run2 and run3 run again.
        _ = try s.tree.write(String(ctx.dropFirst(s.tree.path.count + 1)) + "/b.txt", "b changed\n")
        let third = try await s.build(ctx, s.cacheFlags)
        #expect(s.calls("run1", "run2", "run3") == "1,2,2", "\(third.result)")
        let root3 = try await third.unpack(into: s.tree)
        // run2 ran on the root with run1's layer from the cache in it.
        #expect(try String(contentsOfFile: root3 + "/r2.txt", encoding: .utf8) == "b changed\na\n")
        let (f, t) = (try Self.diffIDs(touched), try Self.diffIDs(third))
        #expect(t.count == f.count && Array(t.prefix(f.count - 3)) == Array(f.prefix(f.count - 3)))
        #expect(zip(t.suffix(3), f.suffix(3)).allSatisfy { $0 != $1 })

        // Without --cache nothing is looked up.
        _ = try await s.build(ctx, [])
        #expect(s.calls("run1", "run2", "run3") == "2,3,3")
    }

    @Test("an ARG change misses the RUN that sees it; an identical layer lets the steps after it hit (--reproducible)")
    func argChangeAndLayerChain() async throws {
        let s = try await Setup.start()
        defer { s.stop() }
        let dockerfile = """
            FROM \(s.base)
            ARG PORT
            \(s.run("early", "echo early > /early.txt"))
            ARG FLAVOR=plain
            \(s.run("flavor", "echo same > /same.txt"))
            \(s.run("after", "echo after > /after.txt"))
            """
        let ctx = try makeContext([:], dockerfile: dockerfile, in: s.tree)
        let flags = s.cacheFlags + ["--reproducible"]
        _ = try await s.build(ctx, flags + ["--build-arg", "FLAVOR=a"])
        let b = try await s.build(ctx, flags + ["--build-arg", "FLAVOR=b"])
        // `early` does not see FLAVOR and hits; `flavor` and `after` have it in their environment.
        #expect(s.calls("early", "flavor", "after") == "1,2,2", "\(b.result)")
        // A RUN that does not see the ARG but follows one that does: the chain is on the layer.
        let chained = """
            FROM \(s.base)
            ARG PORT
            \(s.run("c1", "echo c1 > /c1.txt"))
            ENV MARK=1
            \(s.run("c2", "echo c2 > /c2.txt"))
            """
        let ctx2 = try makeContext([:], dockerfile: chained, in: s.tree)
        _ = try await s.build(ctx2, flags)
        // Same steps, but c1's command text differs while writing the same layer.
        let variant = chained.replacingOccurrences(of: "echo c1 > /c1.txt", with: "echo c1 >/c1.txt")
        let ctx3 = try makeContext([:], dockerfile: variant, in: s.tree)
        let v = try await s.build(ctx3, flags)
        #expect(s.calls("c1", "c2") == "2,1", "\(v.result)")
    }

    @Test("multi-stage: a stage served wholly from the cache still gives COPY --from its files")
    func multiStage() async throws {
        let s = try await Setup.start()
        defer { s.stop() }
        let dockerfile = """
            FROM \(s.base) AS build
            ARG PORT
            \(s.run("m1", "echo built > /out.txt"))
            FROM \(s.base)
            ARG PORT
            COPY --from=build /out.txt /out.txt
            \(s.run("m2", "cat /out.txt > /final.txt"))
            """
        let ctx = try makeContext([:], dockerfile: dockerfile, in: s.tree)
        let first = try await s.build(ctx, s.cacheFlags)
        let second = try await s.build(ctx, s.cacheFlags)
        #expect(s.calls("m1", "m2") == "1,1", "\(second.result)")
        #expect(try Self.diffIDs(second) == Self.diffIDs(first))
        let root = try await second.unpack(into: s.tree)
        #expect(try String(contentsOfFile: root + "/final.txt", encoding: .utf8) == "built\n")
        // With --cache-copy-layers, COPY --from is keyed by the stage's chain (so m2, after it,
        // runs once more): once stored, a rebuild extracts neither stage's files.
        let stored = try await s.build(ctx, s.cacheFlags + ["--cache-copy-layers"])
        let lazy = try await s.build(ctx, s.cacheFlags + ["--cache-copy-layers"])
        #expect(s.calls("m1", "m2") == "1,2", "\(lazy.result)")
        #expect(!lazy.result.stderr.contains("extracting"), "\(lazy.result)")
        #expect(try Self.diffIDs(lazy) == Self.diffIDs(stored))
        let lazyRoot = try await lazy.unpack(into: s.tree)
        #expect(try String(contentsOfFile: lazyRoot + "/final.txt", encoding: .utf8) == "built\n")

        // An undeclared proxy build arg reaches RUN's environment but not the keys (Docker's rule).
        let proxied = try await s.build(ctx, s.cacheFlags + ["--build-arg", "https_proxy=http://proxy.invalid:3128"])
        #expect(proxied.result.stderr.components(separatedBy: "cache hit").count - 1 == 2, "\(proxied.result)")
    }

    @Test("an entry whose layer blob was deleted from the registry is a warning and a miss")
    func deletedBlob() async throws {
        let s = try await Setup.start()
        defer { s.stop() }
        let ctx = try makeContext(["a.txt": "a\n", "b.txt": "b\n"], dockerfile: Self.dockerfile(s), in: s.tree)
        _ = try await s.build(ctx, s.cacheFlags)
        let base = "http://\(s.registry.host)/v2/cache"
        let tags = try await ProcessRunner.check("curl", ["-sf", base + "/tags/list"])
        struct Tags: Decodable { var tags: [String] }
        struct Manifest: Decodable {
            struct Layer: Decodable { var digest: String }
            var layers: [Layer]
        }
        var deleted = 0
        for tag in try JSONDecoder().decode(Tags.self, from: Data(tags.stdout.utf8)).tags {
            let m = try await ProcessRunner.check(
                "curl", ["-sf", "-H", "Accept: application/vnd.oci.image.manifest.v1+json", base + "/manifests/" + tag])
            for layer in try JSONDecoder().decode(Manifest.self, from: Data(m.stdout.utf8)).layers {
                let r = try await ProcessRunner.run("curl", ["-sf", "-X", "DELETE", base + "/blobs/" + layer.digest])
                if r.succeeded { deleted += 1 }
            }
        }
        #expect(deleted == 3)
        let again = try await s.build(ctx, s.cacheFlags)
        #expect(s.calls("run1", "run2", "run3") == "2,2,2", "\(again.result)")
        #expect(again.result.stderr.contains("unreadable"), "\(again.result)")
        // The hits were taken on their lookups; the failed downloads sent the build round once more.
        #expect(again.result.stderr.components(separatedBy: "building again without the cache entries").count == 2, "\(again.result)")
        #expect(again.result.stderr.contains("WARN "), "\(again.result)")
        let validate = try await KilnCommand.run(["validate", again.layout + ":latest"])
        #expect(validate.exitCode == 0, "\(validate)")
    }

    @Test("a hit is one manifest request; its layer downloads in the background, its config is never fetched")
    func hitsCostOneLookup() async throws {
        let s = try await Setup.start()
        defer { s.stop() }
        let ctx = try makeContext(["a.txt": "a\n", "b.txt": "b\n"], dockerfile: Self.dockerfile(s), in: s.tree)
        _ = try await s.build(ctx, s.cacheFlags)
        let second = try await s.build(ctx, s.cacheFlags + ["-v", "debug"])
        #expect(s.calls("run1", "run2", "run3") == "1,1,1", "\(second.result)")
        let requests = second.result.stderr.split(separator: "\n").filter { $0.contains("/v2/cache/") }
        func count(_ what: String) -> Int { requests.filter { $0.contains(what) }.count }
        #expect(count("GET http://\(s.registry.host)/v2/cache/manifests/") == 3, "\(requests)")
        #expect(count("HEAD http://\(s.registry.host)/v2/cache/blobs/") == 0, "\(requests)")
        // The three layers and nothing else: the entries' configs stay unread.
        #expect(count("GET http://\(s.registry.host)/v2/cache/blobs/") == 3, "\(requests)")
        let root = try await second.unpack(into: s.tree)
        #expect(try String(contentsOfFile: root + "/r2.txt", encoding: .utf8) == "b\na\n")
    }

    @Test("two platforms whose hits name one layer blob each get it in their own store")
    func platformsShareAHitLayer() async throws {
        let s = try await Setup.start()
        defer { s.stop() }
        // FROM scratch: the COPY layers are the same blobs for both platforms (under different
        // keys); the --chown COPY needs the root, so each platform extracts the first hit.
        let dockerfile = """
            FROM scratch
            COPY a.txt /a.txt
            COPY --chown=0:0 b.txt /b.txt
            """
        let ctx = try makeContext(["a.txt": "a\n", "b.txt": "b\n"], dockerfile: dockerfile, in: s.tree)
        let flags =
            s.cacheFlags + ["--cache-copy-layers", "--reproducible", "--custom-platform", "linux/amd64", "--custom-platform", "linux/386"]
        let first = try await s.build(ctx, flags)
        let second = try await s.build(ctx, flags)
        #expect(second.result.stderr.components(separatedBy: "cache hit").count - 1 == 4, "\(second.result)")
        #expect(second.printedDigest == first.printedDigest, "\(second.result)")
        let validate = try await KilnCommand.run(["validate", second.layout + ":latest"])
        #expect(validate.exitCode == 0, "\(validate)")
    }

    @Test("a new layer pushed to a destination on the cache's registry is mounted into the cache, not uploaded again")
    func storedLayersMountedFromTheDestination() async throws {
        let s = try await Setup.start()
        defer { s.stop() }
        let ctx = try makeContext(["a.txt": "a\n", "b.txt": "b\n"], dockerfile: Self.dockerfile(s), in: s.tree)
        let host = s.registry.host
        let push = try await KilnCommand.run(
            ["--context", ctx, "-d", s.registry.reference("app", tag: "1"), "--insecure-registry", host, "--build-arg", "PORT=\(s.port)"]
                + s.cacheFlags + ["-v", "debug"])
        #expect(push.exitCode == 0, "\(push)")
        let log = push.stderr
        // Three RUN layers: each mounted from the destination; only the entries' configs uploaded.
        #expect(log.components(separatedBy: "mounted from \(host)/app into \(host)/cache").count - 1 == 3, "\(push)")
        #expect(log.components(separatedBy: "uploaded to \(host)/cache (").count - 1 == 3, "\(push)")
        #expect(log.contains("stored 3 cache entries"), "\(push)")
        // The entries are whole: a build into a layout downloads their layers from the cache.
        let again = try await s.build(ctx, s.cacheFlags)
        #expect(again.result.stderr.components(separatedBy: "cache hit").count - 1 == 3, "\(again.result)")
        #expect(!again.result.stderr.contains("building again"), "\(again.result)")
        #expect(s.calls("run1", "run2", "run3") == "1,1,1", "\(again.result)")
        let validate = try await KilnCommand.run(["validate", again.layout + ":latest"])
        #expect(validate.exitCode == 0, "\(validate)")
    }

    @Test("an unreachable cache registry: warnings, every step runs, the build succeeds")
    func unreachableCache() async throws {
        let s = try await Setup.start()
        defer { s.stop() }
        let ctx = try makeContext(["a.txt": "a\n", "b.txt": "b\n"], dockerfile: Self.dockerfile(s), in: s.tree)
        let dead = "127.0.0.1:\(try LoopbackPort.free())"
        let build = try await s.build(ctx, ["--cache", "--cache-repo", dead + "/cache", "--insecure-registry", dead])
        #expect(s.calls("run1", "run2", "run3") == "1,1,1", "\(build.result)")
        // The first lookup finds it unreachable; later steps do not wait for retries again.
        #expect(build.result.stderr.components(separatedBy: "cache miss (the cache is unreachable)").count - 1 == 3, "\(build.result)")
        #expect(build.result.stderr.components(separatedBy: "is unreachable (").count - 1 == 1, "\(build.result)")
        #expect(!build.result.stderr.contains("storing the layer of"), "\(build.result)")
    }

    @Test("oci: cache directory, --no-push-cache, --cache-ttl expiry, --cache-copy-layers")
    func layoutCacheTTLAndNoPush() async throws {
        let s = try await Setup.start()
        defer { s.stop() }
        let ctx = try makeContext(["a.txt": "a\n", "b.txt": "b\n"], dockerfile: Self.dockerfile(s), in: s.tree)
        let dir = s.tree.url("layer-cache")
        let flags = ["--cache", "--cache-repo", "oci:" + dir]

        _ = try await s.build(ctx, flags + ["--no-push-cache"])
        #expect(!FileManager.default.fileExists(atPath: dir + "/index.json"))
        let stored = try await s.build(ctx, flags + ["--cache-copy-layers"])
        #expect(s.calls("run1", "run2", "run3") == "2,2,2")
        let index = try OCILayoutReader(path: dir).index()
        #expect(index.manifests.count == 5)  // three RUN and two COPY entries

        let hit = try await s.build(ctx, flags + ["--cache-copy-layers"])
        #expect(s.calls("run1", "run2", "run3") == "2,2,2", "\(hit.result)")
        #expect(hit.result.stderr.components(separatedBy: "cache hit").count - 1 == 5, "\(hit.result)")
        // Every step hit, COPY keyed by its sources: neither the base nor any layer was extracted.
        #expect(!hit.result.stderr.contains("extracting"), "\(hit.result)")
        #expect(try Self.diffIDs(hit) == Self.diffIDs(stored))
        let validate = try await KilnCommand.run(["validate", hit.layout + ":latest"])
        #expect(validate.exitCode == 0, "\(validate)")

        try await Task.sleep(nanoseconds: 2_100_000_000)
        let expired = try await s.build(ctx, flags + ["--cache-ttl", "1s"])
        #expect(s.calls("run1", "run2", "run3") == "3,3,3", "\(expired.result)")
        #expect(expired.result.stderr.contains("cache miss (expired"), "\(expired.result)")
    }
}
