// Where bases come from: registry maps and mirrors, the base-image cache, COPY --from an image,
// FROM expanded with global ARGs. All against the in-process registry.
import Builder
import Diagnostics
import Foundation
import PluginAPI
import TestSupport
import Testing

@Suite("Engine: base images", .serialized)
struct BaseImageTests {
    /// A small base pushed to the in-process registry as `reference`, made by a build.
    func pushBase(_ e: Engine, as reference: String) async throws {
        try e.file("base.txt", "base\n")
        _ = try await e.build("FROM scratch\nCOPY base.txt /base.txt\nCMD [\"/base\"]\n") {
            $0.outputs.destinations = [try! ImageReference(parsing: reference)]
        }
    }

    @Test("--registry-map: a docker.io base is pulled from the mirror, keeping the repository under its prefix")
    func registryMap() async throws {
        let e = try Engine()
        defer { e.remove() }
        try await pushBase(e, as: "registry.test/mirror/library/tool:1")
        let image = try await e.build("FROM tool:1\n") {
            $0.baseImages.registryMaps = [("docker.io", "registry.test/mirror")]
        }
        #expect(image.entry("base.txt")?.text == "base\n")
        #expect(image.container.cmd == ["/base"])
    }

    @Test("--skip-default-registry-fallback: when every mirror fails, the original registry is not tried")
    func noFallback() async throws {
        let e = try Engine()
        defer { e.remove() }
        try await pushBase(e, as: "registry.test/team/tool:1")
        let mapped = try await e.build("FROM registry.test/team/tool:1\n") {
            $0.baseImages.registryMaps = [("registry.test", "registry.test/empty-mirror")]
        }
        #expect(mapped.entry("base.txt") != nil, "the fallback to the original registry failed")
        let error = await #expect(throws: KilnError.self) {
            try await e.build("FROM registry.test/team/tool:1\n") {
                $0.baseImages.registryMaps = [("registry.test", "registry.test/empty-mirror")]
                $0.baseImages.skipDefaultRegistryFallback = true
            }
        }
        #expect(
            error?.description.contains("registry.test/empty-mirror/team/tool:1: manifest unknown") == true, "\(String(describing: error))")
    }

    @Test("--cache-dir: the first build fills the cache, a later one needs no registry")
    func baseImageCache() async throws {
        let e = try Engine()
        defer { e.remove() }
        try await pushBase(e, as: "registry.test/team/tool:1")
        let cache = e.tree.url("cache")
        let first = try await e.build("FROM registry.test/team/tool:1\n") { $0.baseImages.cacheDirectory = cache }
        #expect(FileManager.default.fileExists(atPath: cache + "/index.json"))
        let second = try await e.build("FROM registry.test/team/tool:1\n", withRegistry: false) { $0.baseImages.cacheDirectory = cache }
        #expect(second.result.digest == first.result.digest)
    }

    @Test("COPY --from an image pulls it and copies from its root")
    func copyFromImage() async throws {
        let e = try Engine()
        defer { e.remove() }
        try await pushBase(e, as: "registry.test/team/tool:1")
        let image = try await e.build("FROM scratch\nCOPY --from=registry.test/team/tool:1 /base.txt /copied.txt\n")
        #expect(image.layers.count == 1)
        #expect(image.layers[0]["copied.txt"]?.text == "base\n")
    }

    @Test("FROM is expanded with global ARGs, overridden by build args")
    func globalArgInFrom() async throws {
        let e = try Engine()
        defer { e.remove() }
        try await pushBase(e, as: "registry.test/team/tool:2")
        let dockerfile = "ARG TAG=1\nFROM registry.test/team/tool:${TAG}\nARG TAG\nENV SEEN=$TAG\n"
        let error = await #expect(throws: KilnError.self) { try await e.build(dockerfile) }
        #expect(
            error?.description.contains("registry.test/team/tool:1") == true, "the default ARG was not used: \(String(describing: error))")
        let image = try await e.build(dockerfile) { $0.source.buildArgs = [("TAG", "2")] }
        #expect(image.entry("base.txt") != nil)
        #expect(image.container.env?.contains("SEEN=2") == true, "\(String(describing: image.container.env))")
    }
}
