// Work done once (issue 10): a tar already compressed in the build is not compressed again, and
// its blob is the one a single pass makes; the push overlaps the build; a push mounts only
// blobs the base image holds. The real kiln binary, Debian's docker-registry on 127.0.0.1 and
// the busybox base (whose RUN shares the host's network, so it can ask the registry itself).
import Foundation
import ImageStore
import PluginAPI
import TestSupport
import Testing

@Suite("Work done once", .serialized)
struct WorkDoneOnceTests {
    /// Text that barely compresses, the same on every run (a linear congruential generator).
    static func payload(bytes: Int, seed: UInt64) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        var state = seed
        var out = [UInt8](repeating: 0, count: bytes)
        for i in 0..<bytes {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            out[i] = i % 77 == 76 ? 10 : alphabet[Int(state >> 58)]
        }
        return String(decoding: out, as: UTF8.self)
    }

    static let data: [String: String] = [
        "data/a.txt": payload(bytes: 1_500_000, seed: 1), "data/sub/b.txt": payload(bytes: 700_000, seed: 2),
    ]

    @Test(
        "a COPY --from of files an earlier stage COPYed reuses that layer's blob; a layer written in two passes is the one-pass blob",
        arguments: ["gzip", "zstd"])
    func identicalCopyLayersAreCompressedOnce(_ compression: String) async throws {
        let tree = try TemporaryTree(prefix: "kiln-once")
        defer { tree.remove() }
        // Same names and sizes, other bytes: the same shape, so it is written in two passes too.
        var files = Self.data
        files["other/a.txt"] = Self.payload(bytes: 1_500_000, seed: 3)
        files["other/sub/b.txt"] = Self.payload(bytes: 700_000, seed: 4)
        let dockerfile = """
            FROM scratch AS build
            COPY data/ /data/
            FROM build
            COPY --from=build /data/ /data/
            COPY other/ /other/
            """
        let ctx = try makeContext(files, dockerfile: dockerfile, in: tree)
        let flags = ["--reproducible", "--no-push", "--compression", compression]
        let build = try await LayoutBuild.run(context: ctx, in: tree, name: "twice", flags + ["--verbosity", "debug"])
        #expect(build.result.exitCode == 0, "\(build.result)")
        let layers = try build.image().manifest.layers
        #expect(layers.count == 3)
        let diffIDs = try build.image().config.rootfs.diffIDs
        #expect(layers.count == 3 && layers[0].digest == layers[1].digest, "\(layers)")
        #expect(
            build.result.stderr.contains("layer \(diffIDs.first?.description ?? "?") already compressed in this build"),
            "\(build.result.stderr)")
        #expect(build.result.stderr.components(separatedBy: "already compressed in this build").count - 1 == 1)

        // Each layer on its own, written in one streaming pass by a build with nothing to reuse.
        for (source, index) in [("data", 0), ("other", 2)] {
            let single = try makeContext(files, dockerfile: "FROM scratch\nCOPY \(source)/ /\(source)/\n", in: tree)
            let alone = try await LayoutBuild.run(context: single, in: tree, name: "alone-\(source)", flags)
            #expect(alone.result.exitCode == 0, "\(alone.result)")
            #expect(try alone.image().manifest.layers.map(\.digest) == [layers[index].digest], "\(source)")
        }
    }

    /// A registry holding the busybox base, its layers' digests, and a context whose last step
    /// waits (up to 30 s) for the blob `--build-arg BLOB=` names in the repository `early`:
    /// it can only be there if the push started before the build ended. `BLOB=none` waits for
    /// nothing.
    struct Setup {
        let registry: RegistryFixture
        let baseLayers: [Digest]
        let tree: TemporaryTree
        let context: String

        static func start() async throws -> Setup {
            let registry = try await RegistryFixture.start(.plain)
            let base = try await BaseImageFixture.shared.push(.busybox, to: registry)
            let baseLayers = try OCILayoutReader(path: try await BaseImageFixture.shared.layout(.busybox)).image(refName: "latest")
                .manifest.layers.map(\.digest)
            let tree = try TemporaryTree(prefix: "kiln-early")
            let dockerfile = """
                FROM \(base)
                ARG BLOB=none
                COPY data/ /data/
                RUN if [ "$BLOB" = none ]; then exit 0; fi; i=0; while [ $i -lt 120 ]; do \
                  wget -q -O /dev/null "http://\(registry.host)/v2/early/blobs/$BLOB" && exit 0; sleep 0.25; i=$((i+1)); \
                done; echo "the layer was not in the registry before the last step ended"; exit 1
                """
            let context = try makeContext(WorkDoneOnceTests.data, dockerfile: dockerfile, in: tree)
            return Setup(registry: registry, baseLayers: baseLayers, tree: tree, context: context)
        }

        func stop() {
            registry.stop()
            tree.remove()
        }

        /// Builds (and pushes to `repository`, unless nil) with `extra` flags; returns the build
        /// and the registry requests it made.
        func build(pushingTo repository: String?, _ extra: [String] = []) async throws -> (LayoutBuild, [HTTPRequestRecord]) {
            let before = registry.accessLog().count
            let push = repository.map { ["--destination", registry.reference($0, tag: "v1")] } ?? ["--no-push"]
            let build = try await LayoutBuild.run(
                context: context, in: tree, name: "out-" + UUID().uuidString.prefix(6),
                ["--reproducible", "--verbosity", "debug"] + registry.kilnFlags + push + extra)
            #expect(build.result.exitCode == 0, "\(build.result)")
            return (build, Array(await registry.settledAccessLog().dropFirst(before)))
        }
    }

    @Test("the image's new layers reach the registry while the build still runs")
    func uploadsOverlapTheBuild() async throws {
        let s = try await Setup.start()
        defer { s.stop() }
        let (probe, _) = try await s.build(pushingTo: nil)
        let copied = try probe.image().manifest.layers[s.baseLayers.count].digest
        let (pushed, log) = try await s.build(pushingTo: "early", ["--build-arg", "BLOB=\(copied)"])
        #expect(
            log.contains { $0.method == "GET" && $0.path.hasSuffix("/v2/early/blobs/\(copied)") && $0.status == 200 },
            "the RUN step saw the blob: \(log)")
        #expect(log.contains { $0.method == "PUT" && $0.path.hasSuffix("/v2/early/manifests/v1") && $0.status == 201 }, "\(log)")
        #expect(pushed.printedDigest == (try OCILayoutReader(path: pushed.layout).image(refName: "v1").digest.description))
    }

    @Test("a push asks the registry to mount only the base image's layers, never a layer the build made or the config")
    func onlyTheBasesBlobsAreMounted() async throws {
        let s = try await Setup.start()
        defer { s.stop() }
        let (pushed, log) = try await s.build(pushingTo: "mounts")
        let mounts = log.filter { $0.method == "POST" && $0.path.contains("mount=") }
        #expect(mounts.count == s.baseLayers.count, "each base layer is mounted from the base's repository: \(log)")
        for mount in mounts {
            #expect(s.baseLayers.contains { mount.path.contains($0.encoded) }, "a mount of a blob the base does not hold: \(mount)")
        }
        // The one upload session cancelled is the permission check's: none for a failed mount.
        #expect(log.filter { $0.method == "DELETE" }.count == 1, "\(log)")
        let image = try OCILayoutReader(path: pushed.layout).image(refName: "v1")
        #expect(pushed.printedDigest == image.digest.description)
    }
}
