// Instructions that change only the image config (and WORKDIR, which also makes a layer).
import Builder
import Foundation
import PluginAPI
import TestSupport
import Testing

@Suite("Engine: config instructions", .serialized)
struct MetadataInstructionTests {
    @Test("ENV, ARG, LABEL, USER, WORKDIR, EXPOSE, VOLUME, SHELL, ENTRYPOINT, CMD, HEALTHCHECK, STOPSIGNAL, ONBUILD")
    func everyConfigInstruction() async throws {
        let e = try Engine()
        defer { e.remove() }
        let image = try await e.build(
            """
            FROM scratch
            ENV A=1 B="two words"
            ARG VERSION=1.2
            LABEL org.version=$VERSION team=kiln
            USER 1000:1000
            WORKDIR /srv/app
            EXPOSE 80 8000-8001/udp
            VOLUME ["/data", "/cache"]
            SHELL ["/bin/sh", "-ec"]
            ENTRYPOINT ["/bin/app"]
            CMD serve --now
            HEALTHCHECK --interval=30s --retries=3 CMD wget -q localhost
            STOPSIGNAL SIGTERM
            ONBUILD RUN echo child
            """
        ) { $0.source.labels = [("from.cli", "yes")] }
        let c = image.container
        #expect(c.env == ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "A=1", "B=two words"])
        #expect(c.labels == ["org.version": "1.2", "team": "kiln", "from.cli": "yes"])
        #expect(c.user == "1000:1000")
        #expect(c.workingDir == "/srv/app")
        #expect(Set((c.exposedPorts ?? [:]).keys) == ["80/tcp", "8000/udp", "8001/udp"])
        #expect(Set((c.volumes ?? [:]).keys) == ["/data", "/cache"])
        #expect(c.shell == ["/bin/sh", "-ec"])
        #expect(c.entrypoint == ["/bin/app"])
        #expect(c.cmd == ["/bin/sh", "-ec", "serve --now"])
        #expect(c.healthcheck?.test == ["CMD-SHELL", "wget -q localhost"])
        #expect(c.healthcheck?.interval == 30_000_000_000 && c.healthcheck?.retries == 3)
        #expect(c.stopSignal == "SIGTERM")
        #expect(c.onBuild == ["RUN echo child"])
        // One history entry per instruction; only WORKDIR (which created directories) made a layer.
        #expect(image.history.count == 13)
        #expect(image.history.filter { $0.emptyLayer != true }.map(\.createdBy) == ["WORKDIR /srv/app"])
        #expect(image.layers.count == 1)
        // WORKDIR creates the directory owned by the stage's USER.
        let app = try #require(image.layers[0]["srv/app"], "\(image.layers[0])")
        #expect(app.kind == .directory && app.uid == 1000 && app.gid == 1000)
        #expect(image.config.os == "linux" && image.config.architecture == Platform.host.architecture)
    }

    @Test("Fixed timestamps: the same build twice gives the same digest, with times at the epoch")
    func reproducible() async throws {
        let e = try Engine()
        defer { e.remove() }
        try e.file("a.txt", "a\n")
        let dockerfile = "FROM scratch\nCOPY a.txt /\nENV X=1\n"
        let first = try await e.build(dockerfile) { $0.layers.timestamps = .fixed(0) }
        try e.file("a.txt", "a\n")  // a new mtime: a fixed timestamp must hide it
        let second = try await e.build(dockerfile) { $0.layers.timestamps = .fixed(0) }
        #expect(first.result.digest == second.result.digest)
        #expect(second.config.created == "1970-01-01T00:00:00Z")
        #expect(second.entry("a.txt")?.mtime == 0)
        let epoch = try await e.build(dockerfile) { $0.layers.timestamps = .fixed(86400) }
        #expect(epoch.result.digest != first.result.digest && epoch.config.created == "1970-01-02T00:00:00Z")
    }

    @Test("--compression zstd writes zstd layers with the zstd media type")
    func zstdLayers() async throws {
        let e = try Engine()
        defer { e.remove() }
        try e.file("a.txt", "a\n")
        let image = try await e.build("FROM scratch\nCOPY a.txt /\n") { $0.layers.compression = .zstd }
        #expect(image.result.image.manifest.layers.map(\.mediaType.rawValue) == ["application/vnd.oci.image.layer.v1.tar+zstd"])
        #expect(image.entry("a.txt")?.text == "a\n")
    }
}
