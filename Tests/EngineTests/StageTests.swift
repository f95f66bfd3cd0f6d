// Stages: multi-stage COPY --from, FROM <stage>, --target, --skip-unused-stages, bases pulled
// from (and images pushed to) the in-process registry, ONBUILD triggers.
import Builder
import Diagnostics
import Foundation
import PluginAPI
import TestSupport
import Testing

@Suite("Engine: stages and bases", .serialized)
struct StageTests {
    static let multistage = """
        FROM scratch AS builder
        COPY a.txt /out/a.txt
        FROM scratch AS unused
        COPY not-there /x
        FROM builder AS extended
        COPY b.txt /out/b.txt
        FROM scratch
        COPY --from=builder /out/a.txt /final.txt
        COPY --from=extended /out /copied/
        """

    func engine() throws -> Engine {
        let e = try Engine()
        try e.file("a.txt", "a\n")
        try e.file("b.txt", "b\n")
        return e
    }

    @Test("COPY --from a stage and FROM a stage; unused stages are skipped")
    func multiStage() async throws {
        let e = try engine()
        defer { e.remove() }
        let image = try await e.build(Self.multistage)
        #expect(image.layers.count == 2)
        #expect(image.layers[0]["final.txt"]?.text == "a\n")
        #expect(image.layers[1]["copied/a.txt"]?.text == "a\n" && image.layers[1]["copied/b.txt"]?.text == "b\n", "\(image.layers[1])")
    }

    @Test("--target builds up to the named stage, which inherits its base stage's layers")
    func target() async throws {
        let e = try engine()
        defer { e.remove() }
        let image = try await e.build(Self.multistage) { $0.source.target = "extended" }
        #expect(image.layers.count == 2)
        #expect(image.layers[0]["out/a.txt"] != nil && image.layers[1]["out/b.txt"] != nil)
    }

    @Test("--skip-unused-stages=false builds every stage up to the target, so a broken unused stage fails")
    func noSkip() async throws {
        let e = try engine()
        defer { e.remove() }
        let error = await #expect(throws: KilnError.self) {
            try await e.build(Self.multistage) { $0.source.skipUnusedStages = false }
        }
        #expect(error?.code == .notFound)
        #expect(
            error?.description.hasPrefix("Dockerfile:4:1: COPY/ADD source 'not-there' not found") == true, "\(String(describing: error))")
    }

    @Test("An image pushed to the in-process registry carries ONBUILD triggers that run in the child")
    func pushAndOnBuild() async throws {
        let e = try engine()
        defer { e.remove() }
        let destination = try ImageReference(parsing: "registry.test/team/base:1")
        let base = try await e.build("FROM scratch\nCOPY a.txt /base.txt\nONBUILD COPY b.txt /from-trigger\n") {
            $0.outputs.destinations = [destination]
        }
        let tag = try String(contentsOfFile: e.registry.root + "/registry.test/team/base/tags/1", encoding: .utf8)
        #expect(tag == base.result.digest.description)

        let child = try await e.build("FROM registry.test/team/base:1\nLABEL child=yes\n")
        #expect(child.entry("base.txt")?.text == "a\n")
        #expect(child.entry("from-trigger")?.text == "b\n")
        #expect(child.container.onBuild == nil, "triggers are not passed on")
        #expect(child.container.labels == ["child": "yes"])
    }

    @Test("Outputs: an OCI layout and digest files are written after the build")
    func layoutAndDigestFiles() async throws {
        let e = try engine()
        defer { e.remove() }
        let layout = e.tree.url("layout")
        let digestFile = e.tree.url("digest")
        let image = try await e.build("FROM scratch\nCOPY a.txt /\n") {
            $0.outputs.ociLayoutPath = layout
            $0.outputs.digestFile = digestFile
        }
        #expect(try String(contentsOfFile: digestFile, encoding: .utf8) == image.result.digest.description)
        let index = try String(contentsOfFile: layout + "/index.json", encoding: .utf8)
        #expect(index.contains(image.result.digest.encoded))
        #expect(FileManager.default.fileExists(atPath: layout + "/blobs/sha256/" + image.result.digest.encoded))
    }

    @Test("A base that is not in the registry: code notFound, the FROM line, the registry's answer as cause")
    func missingBase() async throws {
        let e = try engine()
        defer { e.remove() }
        let error = await #expect(throws: KilnError.self) { try await e.build("FROM scratch AS a\nFROM registry.test/nope:1\n") }
        #expect(error?.code == .notFound)
        #expect(error?.location?.line == 2)
        #expect(error?.cause != nil)
        #expect(
            error?.description
                == "Dockerfile:2:1: cannot pull registry.test/nope:1: registry.test/nope:1: manifest unknown: registry.test/nope:1",
            "\(String(describing: error))")
    }

    @Test("No registry client: a build that pulls fails with the Host's reason; one that does not, works")
    func noRegistry() async throws {
        let e = try engine()
        defer { e.remove() }
        let error = await #expect(throws: KilnError.self) {
            try await e.build("FROM registry.test/base:1\n", withRegistry: false)
        }
        #expect(error?.code == .notFound && error?.location?.line == 1, "\(String(describing: error))")
        #expect(error?.description.contains("no registry client is available") == true, "\(String(describing: error))")
        let scratch = try await e.build("FROM scratch\nCOPY a.txt /\n", withRegistry: false)
        #expect(scratch.layers.count == 1)
    }
}
