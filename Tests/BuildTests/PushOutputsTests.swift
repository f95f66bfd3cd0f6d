// What a push leaves behind besides the image: several destinations sharing blobs, and the
// digest files CI jobs read (--digest-file, --image-name-with-digest-file,
// --image-name-tag-with-digest-file). Also --single-snapshot's one layer per stage.
import Foundation
import ImageStore
import TestSupport
import Testing

@Suite("Push outputs and single snapshots", .serialized)
struct PushOutputsTests {
    @Test("two destinations: blobs uploaded once, the second mounts; digest files name both")
    func severalDestinations() async throws {
        let registry = try await RegistryFixture.start(.plain)
        defer { registry.stop() }
        let tree = try TemporaryTree()
        defer { tree.remove() }
        let first = "\(registry.host)/team/app:1.0"
        let second = "\(registry.host)/other/app:latest"
        let r = try await KilnCommand.run([
            "-c", Repo.helloExample, "-d", first, "-d", second, "--insecure-registry", registry.host,
            "--digest-file", tree.url("digest"), "--image-name-with-digest-file", tree.url("names"),
            "--image-name-tag-with-digest-file", tree.url("tags"),
        ])
        #expect(r.exitCode == 0, "\(r)")
        let digest = try String(contentsOfFile: tree.url("digest"), encoding: .utf8)
        #expect(digest == r.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(
            try String(contentsOfFile: tree.url("names"), encoding: .utf8)
                == "\(registry.host)/team/app@\(digest)\n\(registry.host)/other/app@\(digest)\n")
        #expect(
            try String(contentsOfFile: tree.url("tags"), encoding: .utf8)
                == "\(registry.host)/team/app:1.0@\(digest)\n\(registry.host)/other/app:latest@\(digest)\n")
        let requests = await registry.settledAccessLog()
        // 3 layers + config go up once; the second repository mounts all four.
        #expect(requests.filter(\.carriesBlobData).count == 4, "\(requests)")
        #expect(requests.filter { $0.method == "POST" && $0.path.contains("mount=") && $0.status == 201 }.count == 4, "\(requests)")
        for ref in [first, second] {
            let inspect = try await ProcessRunner.run("skopeo", ["inspect", "--tls-verify=false", "docker://\(ref)"])
            #expect(inspect.succeeded && inspect.stdout.contains(digest), "\(inspect)")
        }
    }

    @Test("--single-snapshot makes one layer per stage with the same files")
    func singleSnapshot() async throws {
        let tree = try TemporaryTree()
        defer { tree.remove() }
        let normal = try await LayoutBuild.run(context: Repo.helloExample, in: tree, name: "normal")
        let single = try await LayoutBuild.run(context: Repo.helloExample, in: tree, name: "single", ["--single-snapshot"])
        #expect(normal.result.exitCode == 0 && single.result.exitCode == 0, "\(single.result)")
        #expect(try normal.image().manifest.layers.count == 3)
        let image = try single.image()
        #expect(image.manifest.layers.count == 1)
        #expect(image.config.history?.filter { $0.emptyLayer != true }.count == 1)
        try await ImageValidator.validate(layoutPath: single.layout, refName: "latest")
        let a = try await normal.unpack(into: tree)
        let b = try await single.unpack(into: tree)
        for path in ["/app/motd", "/app/greeting.txt", "/app/config/app.conf", "/app/bin/hello"] {
            #expect(FileManager.default.contentsEqual(atPath: a + path, andPath: b + path), "\(path)")
            #expect(fileStat(b + path)?.st_uid == fileStat(a + path)?.st_uid)
        }
    }
}
