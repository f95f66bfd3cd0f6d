import Foundation
import ImageModel
import PluginAPI
import PluginSupport
import Testing

/// Canonical JSON is what makes digests reproducible: these tests pin the exact bytes.
@Suite struct CanonicalJSONTests {
    static func sampleConfig() -> ImageConfig {
        var container = ContainerConfig()
        container.env = ["PATH=/usr/bin:/bin"]
        container.exposedPorts = ["8080/tcp": EmptyObject(), "53/udp": EmptyObject()]
        container.labels = ["b": "2", "a": "1", "url": "https://example.com/x"]
        container.workingDir = "/app"
        var config = ImageConfig(
            platform: Platform(os: "linux", architecture: "arm64"), config: container,
            rootfs: RootFS(diffIDs: [.sha256(of: "layer")]),
            history: [
                History(created: "2024-01-02T03:04:05Z", createdBy: "COPY . /app"),
                History(createdBy: "ENV A=1", emptyLayer: true),
            ])
        config.created = "2024-01-02T03:04:05Z"
        return config
    }

    @Test func configBytesArePinned() throws {
        let json = String(decoding: try CanonicalJSON.encode(Self.sampleConfig()), as: UTF8.self)
        let diffID = Digest.sha256(of: "layer")
        #expect(
            json == """
                {"architecture":"arm64","config":{"Env":["PATH=/usr/bin:/bin"],"ExposedPorts":{"53/udp":{},"8080/tcp":{}},\
                "Labels":{"a":"1","b":"2","url":"https://example.com/x"},"WorkingDir":"/app"},"created":"2024-01-02T03:04:05Z",\
                "history":[{"created":"2024-01-02T03:04:05Z","created_by":"COPY . /app"},{"created_by":"ENV A=1","empty_layer":true}],\
                "os":"linux","rootfs":{"diff_ids":["\(diffID)"],"type":"layers"}}
                """)
    }

    @Test func encodingIsStableAcrossRoundTrips() throws {
        let bytes = try CanonicalJSON.encode(Self.sampleConfig())
        for _ in 0..<20 { #expect(try CanonicalJSON.encode(Self.sampleConfig()) == bytes) }
        let decoded = try CanonicalJSON.decode(ImageConfig.self, from: bytes)
        #expect(decoded == Self.sampleConfig())
        #expect(try CanonicalJSON.encode(decoded) == bytes)
    }

    @Test func manifestBytesArePinned() throws {
        let config = Descriptor(mediaType: .ociConfig, bytes: Array("{}".utf8))
        let layer = Descriptor(mediaType: .ociLayerGzip, digest: .sha256(of: "l"), size: 42)
        let manifest = Manifest(
            config: config, layers: [layer], annotations: [AnnotationKey.created: "2024-01-02T03:04:05Z"])
        let json = String(decoding: try CanonicalJSON.encode(manifest), as: UTF8.self)
        #expect(
            json == """
                {"annotations":{"org.opencontainers.image.created":"2024-01-02T03:04:05Z"},\
                "config":{"digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",\
                "mediaType":"application/vnd.oci.image.config.v1+json","size":2},\
                "layers":[{"digest":"\(Digest.sha256(of: "l"))","mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","size":42}],\
                "mediaType":"application/vnd.oci.image.manifest.v1+json","schemaVersion":2}
                """)
    }

    @Test func unknownFieldsAreIgnoredWhenReading() throws {
        let text =
            #"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]},"container":"abc","docker_version":"20.10"}"#
        let config = try CanonicalJSON.decode(ImageConfig.self, from: Array(text.utf8))
        #expect(config.platform == Platform(os: "linux", architecture: "amd64"))
        #expect(config.rootfs.diffIDs.isEmpty)
    }

    @Test(arguments: [
        (Int64(0), "1970-01-01T00:00:00Z"),
        (1_700_000_000, "2023-11-14T22:13:20Z"),
        (951_782_400, "2000-02-29T00:00:00Z"),
        (-1, "1969-12-31T23:59:59Z"),
    ])
    func rfc3339(seconds: Int64, text: String) {
        #expect(Timestamp.rfc3339(seconds: seconds) == text)
    }
}
