// The RegistryOCI client against a live docker-registry where the shared fixtures cannot set
// the registry up (storage redirects) or where a client-internal behaviour is checked (one
// upload for concurrent pushes). Split from ClientUnitTests.swift to keep files short.
import Foundation
import PluginAPI
import PluginSupport
import TestSupport
import Testing

@testable import RegistryOCI

/// Blob downloads that the registry redirects to "object storage": docker-registry's `redirect`
/// storage middleware sends a 307 to another port, where a small static server (below) serves
/// the registry's own storage directory and records whether an Authorization header arrived.
@Suite(
    .serialized,
    .enabled(
        if: ExecutableLookup.available("docker-registry", "htpasswd", "python3") || TestPrivileges.isCI,
        "needs docker-registry, htpasswd (apache2-utils) and python3"))
struct RedirectedDownloads {
    static let storageServer = """
        import http.server, os, signal, sys
        signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
        root = sys.argv[2]
        class H(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *a, **k): super().__init__(*a, directory=root, **k)
            def log_message(self, fmt, *args):
                sys.stderr.write("%s authorization=%s\\n" % (self.path, "present" if self.headers.get("Authorization") else "absent"))
                sys.stderr.flush()
        http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
        """

    struct Setup {
        var dir: FixtureDirectory
        var registry: BackgroundProcess
        var storage: BackgroundProcess
        var host: String
        var client: OCIRegistryClient
        var log: LogCapture
        func stop() {
            // Short grace: the client's pooled keep-alive connections hold the registry's
            // graceful shutdown open, and nothing is left to flush.
            registry.stop(grace: 0.5)
            storage.stop(grace: 0.5)
            dir.remove()
        }
    }

    static func start() async throws -> Setup {
        let dir = try FixtureDirectory(prefix: "kiln-redirect")
        let (registryPort, storagePort) = (try LoopbackPort.free(), try LoopbackPort.free())
        let htpasswd = try await ProcessRunner.check("htpasswd", ["-Bbn", "alice", "redirect-pw-123"])
        _ = try dir.write(htpasswd.stdout, to: "htpasswd")
        _ = try dir.write(storageServer, to: "storage.py")
        _ = try dir.write(
            """
            version: 0.1
            log: { level: warn }
            storage: { filesystem: { rootdirectory: \(dir.file("data")) }, maintenance: { uploadpurging: { enabled: false } } }
            http: { addr: 127.0.0.1:\(registryPort), secret: kiln-test }
            auth: { htpasswd: { realm: kiln-test, path: \(dir.file("htpasswd")) } }
            middleware:
              storage:
                - name: redirect
                  options: { baseurl: "http://127.0.0.1:\(storagePort)/" }
            """, to: "config.yml")
        let auth = Data("alice:redirect-pw-123".utf8).base64EncodedString()
        _ = try dir.write(#"{"auths": {"127.0.0.1:\#(registryPort)": {"auth": "\#(auth)"}}}"#, to: "config.json")
        try FileManager.default.createDirectory(atPath: dir.file("data"), withIntermediateDirectories: true)
        let storage = try BackgroundProcess(
            name: "storage", executable: "python3", arguments: [dir.file("storage.py"), "\(storagePort)", dir.file("data")],
            outputPath: dir.file("storage.log"))
        let registry = try BackgroundProcess(
            name: "docker-registry", executable: "docker-registry", arguments: ["serve", dir.file("config.yml")],
            outputPath: dir.file("registry.log"))
        guard
            await BackgroundProcess.waitUntil(
                timeout: 20, { LoopbackPort.isListening(registryPort) && LoopbackPort.isListening(storagePort) })
        else {
            throw ServerStartError(name: "docker-registry with redirect storage", output: registry.outputTail() + storage.outputTail())
        }
        var options = RegistryOptions()
        let host = "127.0.0.1:\(registryPort)"
        options.insecureRegistries = [host]
        options.dockerConfigDirectory = dir.path
        let log = LogCapture()
        let client = OCIRegistryClient(options: options, tuning: Tuning(), environment: [:], log: log.log)
        return Setup(dir: dir, registry: registry, storage: storage, host: host, client: client, log: log)
    }

    /// Pushes one random blob and returns its descriptor.
    static func pushBlob(_ s: Setup, size: Int) async throws -> (Descriptor, ImageReference) {
        let bytes = (0..<size).map { _ in UInt8.random(in: 0...255) }
        let descriptor = Descriptor(mediaType: .ociLayerGzip, bytes: bytes)
        let path = s.dir.file("blob")
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let repo = try ImageReference(parsing: "\(s.host)/redirect/test:1")
        try await s.client.pushBlob(descriptor, from: path, to: repo, mountFrom: [])
        return (descriptor, repo)
    }

    @Test func redirectsAreFollowedWithoutCredentials() async throws {
        let s = try await Self.start()
        defer { s.stop() }
        let (descriptor, repo) = try await Self.pushBlob(s, size: 300_000)
        let out = s.dir.file("downloaded")
        try await s.client.fetchBlob(descriptor, from: repo, to: out)
        #expect(Digest.sha256(of: Array(try Data(contentsOf: URL(fileURLWithPath: out)))) == descriptor.digest)
        #expect(s.log.text.contains("/blobs/\(descriptor.digest) -> 307"))
        let storageLog = s.storage.output
        #expect(storageLog.contains("\(descriptor.digest.encoded)/data authorization=absent"), "storage saw: \(storageLog)")
        #expect(!storageLog.contains("authorization=present"))
        #expect(!s.log.text.contains("redirect-pw-123"))
    }

    @Test func aCorruptDownloadIsRemovedAndReported() async throws {
        let s = try await Self.start()
        defer { s.stop() }
        let (descriptor, repo) = try await Self.pushBlob(s, size: 100_000)
        // Corrupt the stored bytes (same size) behind the registry's back: only the client's
        // hashing can notice, since the storage server serves the file as it is.
        let hex = descriptor.digest.encoded
        let stored = s.dir.file("data/docker/registry/v2/blobs/sha256/\(hex.prefix(2))/\(hex)/data")
        var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: stored)))
        bytes[5000] ^= 0xff
        try Data(bytes).write(to: URL(fileURLWithPath: stored))
        let out = s.dir.file("corrupt")
        do {
            try await s.client.fetchBlob(descriptor, from: repo, to: out)
            Issue.record("a corrupt blob was accepted")
        } catch let e as RegistryError {
            #expect(e.description.contains("blob digest mismatch: expected \(descriptor.digest)"))
            #expect(!e.isTemporary)
        }
        #expect(!FileManager.default.fileExists(atPath: out))
    }
}

@Suite(.enabled(if: ExecutableLookup.available("docker-registry") || TestPrivileges.isCI, "needs docker-registry"))
struct SharedUploads {
    /// Several images (or destinations) pushing one layer at once must upload it once.
    @Test func concurrentPushesOfOneBlobUploadOnce() async throws {
        try await withRegistry(.plain) { registry in
            let dir = try FixtureDirectory(prefix: "kiln-shared-upload")
            defer { dir.remove() }
            let bytes = (0..<200_000).map { _ in UInt8.random(in: 0...255) }
            let path = dir.file("layer")
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            let descriptor = Descriptor(mediaType: .ociLayerGzip, bytes: bytes)
            var options = RegistryOptions()
            options.insecureRegistries = [registry.host]
            let log = LogCapture()
            let client = OCIRegistryClient(options: options, tuning: Tuning(), environment: [:], log: log.log)
            let repo = try ImageReference(parsing: "\(registry.host)/shared/layer:1")
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<4 { group.addTask { try await client.pushBlob(descriptor, from: path, to: repo, mountFrom: []) } }
                try await group.waitForAll()
            }
            #expect(try await client.blobExists(descriptor.digest, in: repo))
            let uploads = log.lines.filter { $0.text.contains("oci: blob \(descriptor.digest) uploaded") }
            #expect(uploads.count == 1, "\(log.text)")
            let puts = await registry.settledAccessLog().filter { $0.method == "PUT" && $0.path.contains("/blobs/uploads/") }
            #expect(puts.count == 1, "\(puts)")
        }
    }

    /// As with kaniko, a registry on a loopback address needs no --insecure-registry: HTTPS is
    /// tried first, then plain HTTP.
    @Test func aLoopbackRegistryWorksOverPlainHTTPWithoutFlags() async throws {
        try await withRegistry(.plain) { registry in
            let dir = try FixtureDirectory(prefix: "kiln-loopback")
            defer { dir.remove() }
            let bytes = Array("loopback layer \(UUID())".utf8)
            try Data(bytes).write(to: URL(fileURLWithPath: dir.file("layer")))
            let descriptor = Descriptor(mediaType: .ociLayerGzip, bytes: bytes)
            let log = LogCapture()
            let client = OCIRegistryClient(options: RegistryOptions(), tuning: Tuning(), environment: [:], log: log.log)
            let repo = try ImageReference(parsing: "\(registry.host)/loopback/layer:1")
            try await client.pushBlob(descriptor, from: dir.file("layer"), to: repo, mountFrom: [])
            #expect(try await client.blobExists(descriptor.digest, in: repo))
            #expect(log.text.contains("oci: GET https://\(registry.host)/v2/ -> failed"))
            #expect(log.text.contains("using http://"))
            #expect(log.lines.filter { $0.text.contains("GET https://") }.count == 1, "one probe per host")
        }
    }
}

@Suite(.enabled(if: ExecutableLookup.available("docker-registry") || TestPrivileges.isCI, "needs docker-registry"))
struct OversizeDownloads {
    /// A server that sends more than the descriptor's size is cut off at that size: nothing
    /// past it reaches the disk, and the partial file is removed.
    @Test func aBlobLongerThanItsDescriptorIsCutOff() async throws {
        try await withRegistry(.plain) { registry in
            let dir = try FixtureDirectory(prefix: "kiln-oversize")
            defer { dir.remove() }
            let bytes = (0..<100_000).map { _ in UInt8.random(in: 0...255) }
            try Data(bytes).write(to: URL(fileURLWithPath: dir.file("layer")))
            let descriptor = Descriptor(mediaType: .ociLayerGzip, bytes: bytes)
            var options = RegistryOptions()
            options.insecureRegistries = [registry.host]
            let client = OCIRegistryClient(options: options, tuning: Tuning(), environment: [:], log: { _, _ in })
            let repo = try ImageReference(parsing: "\(registry.host)/oversize/layer:1")
            try await client.pushBlob(descriptor, from: dir.file("layer"), to: repo, mountFrom: [])
            var short = descriptor
            short.size -= 1000
            do {
                try await client.fetchBlob(short, from: repo, to: dir.file("out"))
                Issue.record("a blob longer than its descriptor was accepted")
            } catch let e as RegistryError {
                #expect(e.kind == .verification("the blob is larger than its descriptor's \(short.size) bytes"), "\(e)")
                #expect(!e.isTemporary)
            }
            #expect(!FileManager.default.fileExists(atPath: dir.file("out")))
        }
    }
}
