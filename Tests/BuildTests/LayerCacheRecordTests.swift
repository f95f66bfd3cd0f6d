// The layer cache with --cache-dir: entries looked up or stored are recorded there, so a
// rebuild asks the cache repository nothing, and a hit's layer is downloaded only when an
// output or an extraction reads it. Real kiln, real registries (Debian's docker-registry).
import Foundation
import ImageStore
import PluginAPI
import TestSupport
import Testing

@Suite("Layer cache records in --cache-dir", .serialized)
struct LayerCacheRecordTests {
    typealias Setup = LayerCacheTests.Setup

    /// The request lines of a `-v debug` log that went to `host`'s repository `repository`.
    static func requests(_ log: String, _ method: String, _ host: String, _ what: String, repository: String = "cache") -> Int {
        log.split(separator: "\n").filter { $0.contains("\(method) http://\(host)/v2/\(repository)/\(what)/") }.count
    }

    /// The record files under `cacheDir` (one per entry).
    static func records(_ cacheDir: String) -> [String] {
        let root = cacheDir + "/cache-entries"
        let repos = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        return repos.flatMap { repo in
            ((try? FileManager.default.contentsOfDirectory(atPath: root + "/" + repo)) ?? []).filter { !$0.hasPrefix(".") }.map {
                root + "/" + repo + "/" + $0
            }
        }
    }

    /// Pushes `ctx`'s image to `destination` with the cache flags and `extra`.
    static func push(_ s: Setup, _ ctx: String, to destination: String, _ extra: [String]) async throws -> ProcessResult {
        let result = try await KilnCommand.run(
            ["--context", ctx, "-d", destination, "--insecure-registry", s.registry.host, "--build-arg", "PORT=\(s.port)"]
                + s.cacheFlags + extra)
        #expect(result.exitCode == 0, "\(result)")
        return result
    }

    /// Copies the pushed image into a layout with skopeo (which reads every blob) and validates it.
    static func checkComplete(_ reference: String, insecure: Bool = true, in tree: TemporaryTree) async throws {
        let layout = tree.url("copy-" + UUID().uuidString.prefix(6))
        let copy = try await ProcessRunner.run(
            "skopeo", ["copy", "--src-tls-verify=false", "docker://" + reference, "oci:" + layout + ":latest"])
        #expect(copy.succeeded, "\(copy)")
        let validate = try await KilnCommand.run(["validate", layout + ":latest"])
        #expect(validate.exitCode == 0, "\(validate)")
    }

    @Test("a rebuild with the same --cache-dir looks nothing up in the cache repository and makes the same image")
    func recordedHitsNeedNoLookup() async throws {
        let s = try await Setup.start()
        defer { s.stop() }
        let ctx = try makeContext(["a.txt": "a\n", "b.txt": "b\n"], dockerfile: LayerCacheTests.dockerfile(s), in: s.tree)
        let flags = s.cacheFlags + ["--cache-dir", s.tree.url("cache-dir"), "--reproducible", "-v", "debug"]
        let first = try await s.build(ctx, flags)
        // The three RUN entries, recorded once stored.
        #expect(Self.records(s.tree.url("cache-dir")).count == 3, "\(first.result)")
        let second = try await s.build(ctx, flags)
        #expect(s.calls("run1", "run2", "run3") == "1,1,1", "\(second.result)")
        #expect(second.result.stderr.components(separatedBy: "cache hit").count - 1 == 3, "\(second.result)")
        #expect(Self.requests(second.result.stderr, "GET", s.registry.host, "manifests") == 0, "\(second.result)")
        #expect(second.result.stderr.contains("read from its local record"), "\(second.result)")
        #expect(second.printedDigest == first.printedDigest)
        let validate = try await KilnCommand.run(["validate", second.layout + ":latest"])
        #expect(validate.exitCode == 0, "\(validate)")
    }

    @Test("a record older than --cache-ttl is not a hit; a corrupt record is ignored and replaced")
    func expiredAndCorruptRecords() async throws {
        let s = try await Setup.start()
        defer { s.stop() }
        let ctx = try makeContext(["a.txt": "a\n", "b.txt": "b\n"], dockerfile: LayerCacheTests.dockerfile(s), in: s.tree)
        let cacheDir = s.tree.url("cache-dir")
        let flags = s.cacheFlags + ["--cache-dir", cacheDir, "-v", "debug"]
        _ = try await s.build(ctx, flags)
        let files = Self.records(cacheDir)
        try #require(files.count == 3)

        // Records claiming an old creation time: not hits; the registry's fresh entries are, and
        // replace them.
        struct Record: Codable { var created: Int64 }
        for file in files {
            let text = try String(contentsOfFile: file, encoding: .utf8)
            let created = try JSONDecoder().decode(Record.self, from: Data(text.utf8)).created
            try text.replacingOccurrences(of: "\"created\":\(created)", with: "\"created\":1000000000")
                .write(toFile: file, atomically: false, encoding: .utf8)
        }
        let old = try await s.build(ctx, flags + ["--cache-ttl", "1h"])
        #expect(s.calls("run1", "run2", "run3") == "1,1,1", "\(old.result)")
        #expect(Self.requests(old.result.stderr, "GET", s.registry.host, "manifests") == 3, "\(old.result)")
        for file in files {
            let record = try JSONDecoder().decode(Record.self, from: Data(contentsOf: URL(fileURLWithPath: file)))
            #expect(record.created > 1_000_000_000, "\(file)")
        }

        // Garbage in every record: looked up in the registry again, no failure, records rewritten.
        for file in files { try "{not json".write(toFile: file, atomically: false, encoding: .utf8) }
        let corrupt = try await s.build(ctx, flags)
        #expect(s.calls("run1", "run2", "run3") == "1,1,1", "\(corrupt.result)")
        #expect(corrupt.result.stderr.components(separatedBy: "cache hit").count - 1 == 3, "\(corrupt.result)")
        #expect(Self.requests(corrupt.result.stderr, "GET", s.registry.host, "manifests") == 3, "\(corrupt.result)")
        for file in files { #expect((try? JSONDecoder().decode(Record.self, from: Data(contentsOf: URL(fileURLWithPath: file)))) != nil) }

        // Expired both here and in the registry: a miss, the steps run.
        try await Task.sleep(nanoseconds: 2_100_000_000)
        let expired = try await s.build(ctx, flags + ["--cache-ttl", "1s"])
        #expect(s.calls("run1", "run2", "run3") == "2,2,2", "\(expired.result)")
        #expect(expired.result.stderr.contains("cache miss (expired"), "\(expired.result)")
    }

    @Test("a warm push whose destination holds every layer downloads no cached layer and asks the cache nothing")
    func warmPushDownloadsNothing() async throws {
        let s = try await Setup.start()
        defer { s.stop() }
        let ctx = try makeContext(["a.txt": "a\n", "b.txt": "b\n"], dockerfile: LayerCacheTests.dockerfile(s), in: s.tree)
        let flags = ["--cache-dir", s.tree.url("cache-dir"), "--cache-copy-layers", "--reproducible", "-v", "debug"]
        let first = try await Self.push(s, ctx, to: s.registry.reference("app", tag: "1"), flags)
        let second = try await Self.push(s, ctx, to: s.registry.reference("app", tag: "2"), flags)
        let log = second.stderr
        #expect(s.calls("run1", "run2", "run3") == "1,1,1", "\(second)")
        #expect(log.components(separatedBy: "cache hit").count - 1 == 5, "\(second)")
        #expect(Self.requests(log, "GET", s.registry.host, "manifests") == 0, "\(second)")
        #expect(Self.requests(log, "GET", s.registry.host, "blobs") == 0, "no cached layer downloaded: \(second)")
        #expect(log.contains("5 cached layer(s) not downloaded"), "\(second)")
        // The permission check overlaps the push, but the manifest waits for it.
        let confirmed = log.range(of: "push permission for \(s.registry.host)/app confirmed")
        let manifest = log.range(of: "PUT http://\(s.registry.host)/v2/app/manifests/2")
        #expect(confirmed != nil && manifest != nil && confirmed!.lowerBound < manifest!.lowerBound, "\(second)")
        #expect(second.stdout == first.stdout, "the same image")
        try await Self.checkComplete(s.registry.reference("app", tag: "2"), in: s.tree)
    }

    @Test("a destination without a hit's layer still gets the whole image: downloaded when no mount can bring it")
    func destinationWithoutTheLayer() async throws {
        let s = try await Setup.start()
        defer { s.stop() }
        let other = try await RegistryFixture.start(.plain)
        defer { other.stop() }
        let ctx = try makeContext(["a.txt": "a\n", "b.txt": "b\n"], dockerfile: LayerCacheTests.dockerfile(s), in: s.tree)
        let flags = ["--cache-dir", s.tree.url("cache-dir"), "--cache-copy-layers", "--reproducible", "-v", "debug"]
        let first = try await Self.push(s, ctx, to: s.registry.reference("app", tag: "1"), flags)
        // Another registry: no mount from the cache repository is possible, the layers come from it.
        let elsewhere = try await Self.push(s, ctx, to: other.reference("app", tag: "1"), flags + ["--insecure-registry", other.host])
        #expect(s.calls("run1", "run2", "run3") == "1,1,1", "\(elsewhere)")
        #expect(Self.requests(elsewhere.stderr, "GET", s.registry.host, "manifests") == 0, "\(elsewhere)")
        #expect(Self.requests(elsewhere.stderr, "GET", s.registry.host, "blobs") == 5, "\(elsewhere)")
        #expect(elsewhere.stdout == first.stdout, "the same image")
        try await Self.checkComplete(other.reference("app", tag: "1"), in: s.tree)

        // The cache repository lost the layers (its records here still name them): the mounts
        // into a new repository fail, so do the downloads, and the build runs again without them.
        let base = "http://\(s.registry.host)/v2/cache"
        let tags = try await ProcessRunner.check("curl", ["-sf", base + "/tags/list"])
        struct Tags: Decodable { var tags: [String] }
        struct Manifest: Decodable {
            struct Layer: Decodable { var digest: String }
            var layers: [Layer]
        }
        for tag in try JSONDecoder().decode(Tags.self, from: Data(tags.stdout.utf8)).tags {
            let m = try await ProcessRunner.check(
                "curl", ["-sf", "-H", "Accept: application/vnd.oci.image.manifest.v1+json", base + "/manifests/" + tag])
            for layer in try JSONDecoder().decode(Manifest.self, from: Data(m.stdout.utf8)).layers {
                _ = try await ProcessRunner.run("curl", ["-sf", "-X", "DELETE", base + "/blobs/" + layer.digest])
            }
        }
        let fresh = try await Self.push(s, ctx, to: s.registry.reference("fresh", tag: "1"), flags)
        #expect(fresh.stderr.contains("read from its local record"), "\(fresh)")
        #expect(fresh.stderr.components(separatedBy: "building again without the cache entries").count == 2, "\(fresh)")
        #expect(s.calls("run1", "run2", "run3") == "2,2,2", "\(fresh)")
        #expect(fresh.stdout == first.stdout, "the same image")
        try await Self.checkComplete(s.registry.reference("fresh", tag: "1"), in: s.tree)
    }
}
