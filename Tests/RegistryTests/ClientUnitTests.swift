// Focused tests of the RegistryOCI client's pure parts: challenge parsing, credential lookup,
// URL handling, redaction, error messages. The integration tests drive the whole client
// against docker-registry; these pin down the rules behind it.
import Foundation
import PluginAPI
@testable import RegistryOCI
import Testing
import TestSupport

struct WWWAuthenticateParsing {
    // Cases from the Docker token spec (docs/spec/auth/token.md) and RFC 7235 §4.1.
    @Test func bearerWithScopeHoldingCommas() {
        let c = AuthChallenge.parse(#"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push""#)
        #expect(c == [AuthChallenge(scheme: "bearer", parameters: [
            "realm": "https://auth.example/token", "service": "registry.example", "scope": "repository:a/b:pull,push",
        ])])
        #expect(c.first?.scopes == ["repository:a/b:pull,push"])
    }

    @Test func severalChallengesAndSpacing() {
        let c = AuthChallenge.parse(#"Basic realm="r1" , Bearer realm="https://t/x?a=1", service = svc, error="insufficient_scope""#)
        #expect(c.map(\.scheme) == ["basic", "bearer"])
        #expect(c[0].realm == "r1")
        #expect(c[1].realm == "https://t/x?a=1")
        #expect(c[1].service == "svc")
        #expect(c[1].parameters["error"] == "insufficient_scope")
    }

    @Test func escapedQuotesAndCase() {
        let c = AuthChallenge.parse(#"BEARER Realm="a \"quoted\" realm",Scope="repository:x:pull repository:y:pull""#)
        #expect(c.first?.scheme == "bearer")
        #expect(c.first?.realm == #"a "quoted" realm"#)
        #expect(c.first?.scopes == ["repository:x:pull", "repository:y:pull"])
    }

    @Test(arguments: ["", "   ", ",,"]) func emptyHeaders(_ header: String) {
        #expect(AuthChallenge.parse(header).isEmpty)
    }
}

struct LocationResolution {
    static let base = "https://reg.example:5000/v2/a/b/blobs/uploads/"

    @Test(arguments: [
        ("https://other.example/upload/1?_state=x&y=2", "https://other.example/upload/1?_state=x&y=2"),
        ("/v2/a/b/blobs/uploads/uuid?_state=abc", "https://reg.example:5000/v2/a/b/blobs/uploads/uuid?_state=abc"),
        ("uuid?_state=abc", "https://reg.example:5000/v2/a/b/blobs/uploads/uuid?_state=abc"),
        ("//cdn.example/x?sig=1", "https://cdn.example/x?sig=1"),
        ("?_state=q", "https://reg.example:5000/v2/a/b/blobs/uploads/?_state=q"),
    ])
    func resolves(_ location: String, _ expected: String) {
        #expect(URLs.resolve(location, against: Self.base) == expected)
    }

    @Test func appendingKeepsExistingQuery() {
        #expect(URLs.appending("http://h/u?_state=a", "digest", "sha256:ab") == "http://h/u?_state=a&digest=sha256:ab")
        #expect(URLs.appending("http://h/u", "from", "a/b") == "http://h/u?from=a%2Fb")
    }

    @Test func origins() {
        #expect(URLParts("https://h:443/x")?.origin == URLParts("https://h/y")?.origin)
        #expect(URLParts("https://h:5000/x")?.origin != URLParts("https://h/x")?.origin)
        #expect(URLParts("http://user:pw@h:1/x")?.authority == "h:1")
    }
}

struct Redaction {
    @Test func urlsLoseUserInfoAndSecretQueryValues() {
        let url = "https://user:pw@s3.example/bucket/blob?X-Amz-Signature=abc&digest=sha256:00&_state=zz"
        #expect(URLRedaction.redact(url) == "https://s3.example/bucket/blob?X-Amz-Signature=REDACTED&digest=sha256:00&_state=REDACTED")
        #expect(URLRedaction.redact("http://h/v2/") == "http://h/v2/")
    }

    @Test func redactedValuesNeverPrint() {
        let secret = Redacted("hunter2-password")
        #expect("\(secret)" == "<redacted>")
        #expect(String(reflecting: secret) == "<redacted>")
        var dumped = ""
        dump(secret, to: &dumped)
        #expect(!dumped.contains("hunter2"))
    }

    @Test func registeredSecretsAreScrubbedFromErrors() {
        let token = "tok-\(UUID().uuidString)"
        SecretScrubber.shared.register(token)
        let e = RegistryError(
            kind: .status, statusCode: 401, method: "GET", url: "http://h/v2/", registry: "h",
            errors: [RegistryErrorEntry(code: "UNAUTHORIZED", message: "bad token \(token)", detail: nil)], isTemporary: false)
        #expect(!e.description.contains(token))
        #expect(e.description.contains("<redacted>"))
    }
}

struct RegistryErrors {
    @Test func parsesTheErrorsBody() {
        let body = Array(#"{"errors":[{"code":"MANIFEST_BLOB_UNKNOWN","message":"blob unknown to registry","detail":"sha256:ab"},{"code":"DENIED","message":"no","detail":{"a/b":1}}]}"#.utf8)
        let entries = RegistryErrorEntry.parse(body)
        #expect(entries.map(\.code) == ["MANIFEST_BLOB_UNKNOWN", "DENIED"])
        #expect(entries[0].description == "MANIFEST_BLOB_UNKNOWN: blob unknown to registry (detail: sha256:ab)")
        #expect(entries[1].detail == #"{"a/b":1}"#)
        #expect(RegistryErrorEntry.parse(Array("<html>".utf8)).isEmpty)
    }

    @Test func immutableTagsAreFlagged() throws {
        let context = RequestContext(endpoint: Endpoint(host: "r", scheme: "https", settings: .init()), repository: "a", push: true)
        let body = #"{"errors":[{"code":"TAG_INVALID","message":"The image tag '1' already exists in the 'a' repository and cannot be overwritten because the repository is immutable."}]}"#
        let e = RegistryError.status(HTTPResponse(status: 400, body: Array(body.utf8)), method: .put, url: "https://r/v2/a/manifests/1", context: context)
        #expect(e.isImmutableTag)
        #expect((e as any RegistryFailure).isImmutableTag, "the host sees the flag through PluginAPI")
        #expect(!e.isTemporary)
        #expect(e.description.contains("--push-ignore-immutable-tag-errors"))
    }

    @Test func hintsForMissingCredentialsNameTheConfigFile() {
        var context = RequestContext(endpoint: Endpoint(host: "127.0.0.1:5443", scheme: "https", settings: .init()), repository: "a", push: true)
        context.configPath = "/root/.docker/config.json"
        let e = RegistryError.status(HTTPResponse(status: 401), method: .post, url: "https://127.0.0.1:5443/v2/a/blobs/uploads/", context: context)
        #expect(e.description.contains("authentication required: no credentials for 127.0.0.1:5443 in /root/.docker/config.json"))
    }

    @Test(arguments: [(429, true), (503, true), (500, true), (404, false), (401, false), (400, false)])
    func temporaryStatuses(_ status: Int, _ temporary: Bool) {
        let context = RequestContext(endpoint: Endpoint(host: "r", scheme: "https", settings: .init()), repository: "a", push: false)
        #expect(RegistryError.status(HTTPResponse(status: status), method: .get, url: "https://r/v2/", context: context).isTemporary == temporary)
    }

    @Test func retryAfter() {
        #expect(RegistryError.parseRetryAfter("3") == 3)
        #expect(RegistryError.parseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT") == 1)  // in the past
        let now = Date(timeIntervalSince1970: 1_445_412_470)  // 10 s before that date
        #expect(RegistryError.parseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT", now: now) == 10)
    }
}

/// Serialized: the helper tests put their helper directory on the process's PATH.
@Suite(.serialized) struct CredentialLookupTests {
    static func prependToPath(_ dir: String) {
        let current = getenv("PATH").map { String(cString: $0) } ?? "/usr/bin:/bin"
        setenv("PATH", dir + ":" + current, 1)
    }

    static func lookup(_ config: String, env: [String: String] = [:]) throws -> (CredentialLookup, TemporaryTree) {
        let dir = try TemporaryTree(prefix: "kiln-creds")
        _ = try dir.write("config.json", config)
        return (CredentialLookup(options: dir.path, environment: env), dir)
    }

    static func password(_ c: Credential?) -> String? {
        if case .password(let u, let p)? = c?.secret { return "\(u):\(p.value)" }
        return nil
    }

    @Test(arguments: [
        ("https://index.docker.io/v1/", "docker.io"), ("127.0.0.1:5000", "127.0.0.1:5000"),
        ("http://127.0.0.1:5000", "127.0.0.1:5000"), ("https://127.0.0.1:5000/v2/", "127.0.0.1:5000"),
        ("registry-1.docker.io", "docker.io"), ("Quay.IO", "quay.io"),
    ])
    func keysNormalise(_ key: String, _ host: String) {
        #expect(RegistryHost.normalise(key) == host)
    }

    @Test func authUsernamePasswordAndIdentityToken() throws {
        let auth = Data("alice:pa:ss".utf8).base64EncodedString()
        let (l, dir) = try Self.lookup("""
            {"auths": {"https://index.docker.io/v1/": {"auth": "\(auth)"},
                       "http://reg.example:5000": {"username": "bob", "password": "pw-bob"},
                       "id.example": {"identitytoken": "refresh-123"},
                       "empty.example": {}}}
            """)
        defer { dir.remove() }
        #expect(Self.password(l.lookup(host: "docker.io").credential) == "alice:pa:ss")
        #expect(Self.password(l.lookup(host: "reg.example:5000").credential) == "bob:pw-bob")
        if case .identityToken(_, let t)? = l.lookup(host: "id.example").credential?.secret {
            #expect(t.value == "refresh-123")
        } else {
            Issue.record("identitytoken not found")
        }
        #expect(l.lookup(host: "empty.example").credential == nil)
        #expect(l.lookup(host: "other.example").credential == nil)
        #expect(l.configPath == dir.path + "/config.json")
    }

    @Test func environmentCredentialsOnlyForTheNamedRegistry() throws {
        let env = ["KILN_REGISTRY": "ci.example, 127.0.0.1:5000", "KILN_REGISTRY_USERNAME": "ci", "KILN_REGISTRY_PASSWORD": "ci-pw"]
        let (l, dir) = try Self.lookup(#"{"auths": {"ci.example": {"username": "file", "password": "file-pw"}}}"#, env: env)
        defer { dir.remove() }
        #expect(Self.password(l.lookup(host: "ci.example").credential) == "ci:ci-pw")
        #expect(Self.password(l.lookup(host: "127.0.0.1:5000").credential) == "ci:ci-pw")
        #expect(l.lookup(host: "docker.io").credential == nil)
        let unnamed = CredentialLookup(options: dir.path, environment: ["KILN_REGISTRY_USERNAME": "ci", "KILN_REGISTRY_PASSWORD": "x"])
        #expect(Self.password(unnamed.lookup(host: "ci.example").credential) == "file:file-pw")
    }

    @Test func credentialHelpersRunWithTheServerURL() throws {
        // A helper speaking docker's protocol: reads the server URL on stdin, prints JSON.
        let bin = try TemporaryTree(prefix: "kiln-cred-helper")
        defer { bin.remove() }
        _ = try bin.write("docker-credential-kilntest", """
            #!/bin/sh
            read url
            [ "$1" = get ] || exit 3
            case "$url" in
              https://index.docker.io/v1/) echo '{"ServerURL":"x","Username":"hub","Secret":"hub-secret"}';;
              helped.example) echo '{"ServerURL":"x","Username":"<token>","Secret":"id-token"}';;
              *) echo "credentials not found in native keychain"; exit 1;;
            esac
            """, mode: 0o755)
        Self.prependToPath(bin.path)
        let (l, dir) = try Self.lookup(#"{"credHelpers": {"helped.example": "kilntest"}, "credsStore": "kilntest", "auths": {"file.example": {"username": "f", "password": "fpw"}}}"#)
        defer { dir.remove() }
        #expect(Self.password(l.lookup(host: "docker.io").credential) == "hub:hub-secret")
        if case .identityToken(_, let t)? = l.lookup(host: "helped.example").credential?.secret {
            #expect(t.value == "id-token")
        } else {
            Issue.record("helper identity token not found")
        }
        #expect(Self.password(l.lookup(host: "file.example").credential) == "f:fpw")
        let missing = l.lookup(host: "nothing.example")
        #expect(missing.credential == nil)
        #expect(missing.notes.isEmpty)  // "not found" is an answer, not a failure
        #expect(SecretScrubber.shared.scrub("x hub-secret y") == "x <redacted> y")
    }

    @Test func aHangingHelperIsKilledAndAQuittingOneIsSurvived() throws {
        let bin = try TemporaryTree(prefix: "kiln-cred-helper-bad")
        defer { bin.remove() }
        _ = try bin.write("docker-credential-kilnhang", "#!/bin/sh\nexec sleep 30\n", mode: 0o755)
        // Exits without reading stdin: writing the server URL must not kill us with SIGPIPE.
        _ = try bin.write("docker-credential-kilnquit", "#!/bin/sh\nexec 0<&-\nexit 1\n", mode: 0o755)
        Self.prependToPath(bin.path)
        var (l, dir) = try Self.lookup(#"{"credHelpers": {"hang.example": "kilnhang", "quit.example": "kilnquit"}}"#)
        defer { dir.remove() }
        l.helperTimeout = 1
        let start = ContinuousClock.now
        let hung = l.lookup(host: "hang.example")
        #expect(ContinuousClock.now - start < .seconds(10))
        #expect(hung.credential == nil)
        #expect(hung.notes.first?.contains("killed after 1 s") == true, "\(hung.notes)")
        for _ in 0..<20 { #expect(l.lookup(host: "quit.example").credential == nil) }
    }

    @Test func aMissingHelperIsReported() throws {
        let (l, dir) = try Self.lookup(#"{"credsStore": "kiln-no-such-helper"}"#)
        defer { dir.remove() }
        let r = l.lookup(host: "r.example")
        #expect(r.credential == nil)
        #expect(r.notes.first?.contains("docker-credential-kiln-no-such-helper") == true)
    }
}

struct ConnectionChoices {
    @Test func certificatesApplyToTheirHostOnly() {
        var o = RegistryOptions()
        o.certificates = ["a.example:5443": "/ca-a.pem", "b.example": "/ca-b.pem"]
        o.skipTLSVerifyRegistries = ["c.example"]
        o.insecureRegistries = ["d.example:5000"]
        let p = ConnectionPolicy(options: o)
        #expect(p.settings("a.example:5443", push: true).caFile == "/ca-a.pem")
        #expect(p.settings("a.example", push: true).caFile == nil)
        #expect(p.settings("b.example:8443", push: false).caFile == "/ca-b.pem")
        #expect(p.settings("c.example", push: true).verifyTLS == false)
        #expect(p.settings("a.example:5443", push: true).verifyTLS)
        #expect(p.endpoint("d.example:5000", push: true).base == "http://d.example:5000")
        #expect(p.endpoint("docker.io", push: false).base == "https://registry-1.docker.io")
        // A redirect to storage never inherits the registry's CA; a token realm does.
        let registry = p.endpoint("a.example:5443", push: true)
        #expect(p.settings(forURL: "https://storage.example/x", registry: registry, inherit: false).caFile == nil)
        #expect(p.settings(forURL: "https://auth.example/token", registry: registry, inherit: true).caFile == "/ca-a.pem")
    }

    @Test func tuningFromOptionsAndEnvironment() {
        let t = Tuning(options: ["registry.chunk-size": "1024"], environment: ["KILN_REGISTRY_RETRY_DELAY": "0.5", "KILN_REGISTRY_STALL_TIMEOUT": "7"])
        #expect(t.chunkSize == 1024)
        #expect(t.retryDelay == 0.5)
        #expect(t.stallSeconds == 7)
        #expect(t.monolithicLimit == 16 << 20)
    }
}

/// Blob downloads that the registry redirects to "object storage": docker-registry's `redirect`
/// storage middleware sends a 307 to another port, where a small static server (below) serves
/// the registry's own storage directory and records whether an Authorization header arrived.
@Suite(.serialized, .enabled(
    if: ExecutableLookup.available("docker-registry", "htpasswd", "python3") || TestPrivileges.isCI,
    "needs docker-registry, htpasswd (apache2-utils) and python3"))
struct RedirectedDownloads {
    static let storageServer = """
        import http.server, sys
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
            registry.stop()
            storage.stop()
            dir.remove()
        }
    }

    static func start() async throws -> Setup {
        let dir = try FixtureDirectory(prefix: "kiln-redirect")
        let (registryPort, storagePort) = (try LoopbackPort.free(), try LoopbackPort.free())
        let htpasswd = try await ProcessRunner.check("htpasswd", ["-Bbn", "alice", "redirect-pw-123"])
        _ = try dir.write(htpasswd.stdout, to: "htpasswd")
        _ = try dir.write(storageServer, to: "storage.py")
        _ = try dir.write("""
            version: 0.1
            log: { level: warn }
            storage: { filesystem: { rootdirectory: \(dir.file("data")) } }
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
        guard await BackgroundProcess.waitUntil(timeout: 20, { LoopbackPort.isListening(registryPort) && LoopbackPort.isListening(storagePort) }) else {
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
}
