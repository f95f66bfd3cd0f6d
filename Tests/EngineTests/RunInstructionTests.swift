// RUN driven in-process on the busybox base (needs root: namespaces and chroot), with each of
// the real snapshot plugins.
import Builder
import Diagnostics
import Foundation
import TestSupport
import Testing

@Suite("Engine: RUN", .serialized, .enabled(if: getuid() == 0, "RUN needs root (namespaces, chroot)"))
struct RunInstructionTests {
    @Test("RUN's additions, changes and deletions become one layer (whiteouts for deletions)", arguments: ["SnapshotFull", "SnapshotTime"])
    func runLayer(snapshot: String) async throws {
        let e = try Engine()
        defer { e.remove() }
        let base = try await e.busybox()
        let image = try await e.build(
            """
            FROM \(base)
            RUN echo hi > /created && rm /srv/gone.txt && echo changed > /srv/keep.txt
            """, snapshot: snapshot)
        let layer = image.lastLayer
        #expect(layer["created"]?.text == "hi\n", "\(layer)")
        #expect(layer["srv/.wh.gone.txt"] != nil, "\(layer)")
        #expect(layer["srv/keep.txt"]?.text == "changed\n")
        #expect(!layer.paths.contains("srv/data/a.txt"), "an unchanged file is in the layer: \(layer)")
        #expect(image.history.last?.createdBy == "RUN echo hi > /created && rm /srv/gone.txt && echo changed > /srv/keep.txt")
    }

    @Test("RUN sees ENV, ARG, WORKDIR and USER")
    func runEnvironment() async throws {
        let e = try Engine()
        defer { e.remove() }
        let base = try await e.busybox()
        let image = try await e.build(
            """
            FROM \(base)
            ENV GREETING=hello
            ARG V=1
            WORKDIR /w
            USER app
            RUN echo "$GREETING $V $(pwd) $(id -u)" > /tmp/out
            """
        ) { $0.source.buildArgs = [("V", "2")] }
        let out = try #require(image.lastLayer["tmp/out"], "\(image.lastLayer)")
        #expect(out.text == "hello 2 /w 1000\n")
        #expect(out.uid == 1000)
        #expect(image.container.cmd == ["sh"], "the base image's CMD is inherited")
    }

    @Test("--single-snapshot: RUN and COPY of a stage make one layer")
    func singleSnapshot() async throws {
        let e = try Engine()
        defer { e.remove() }
        let base = try await e.busybox()
        try e.file("c.txt", "c\n")
        let plain = try await e.build("FROM \(base)\nRUN touch /a\nRUN touch /b\nCOPY c.txt /c\n")
        let single = try await e.build("FROM \(base)\nRUN touch /a\nRUN touch /b\nCOPY c.txt /c\n") { $0.layers.singleSnapshot = true }
        #expect(single.layers.count == plain.layers.count - 2)
        #expect(Set(["a", "b", "c"]).isSubset(of: Set(single.lastLayer.paths)), "\(single.lastLayer)")
    }

    @Test("A failing RUN stops the build with its exit status and the step's location")
    func runFailure() async throws {
        let e = try Engine()
        defer { e.remove() }
        let base = try await e.busybox()
        let error = await #expect(throws: KilnError.self) {
            try await e.build("FROM \(base)\nENV X=1\nRUN exit 3\nRUN touch /never\n")
        }
        #expect(error?.code == .runFailed(status: 3))
        #expect(error?.exitCode == 3)
        #expect(error?.location == KilnError.Location(file: "Dockerfile", line: 3, column: 1))
        #expect(error?.description == "Dockerfile:3:1: RUN exit 3 returned a non-zero code: 3")
    }

    @Test("ENTRYPOINT clears the CMD inherited from the base; FROM an image keeps its layers")
    func entrypointClearsBaseCmd() async throws {
        let e = try Engine()
        defer { e.remove() }
        let base = try await e.busybox()
        let image = try await e.build("FROM \(base)\nENTRYPOINT [\"/bin/echo\"]\n")
        #expect(image.container.entrypoint == ["/bin/echo"])
        #expect(image.container.cmd == nil)
        #expect(image.layers.count >= 1 && image.entry("bin/busybox") != nil)
    }
}
