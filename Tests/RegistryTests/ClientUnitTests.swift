// Focused tests of the RegistryOCI client's pure parts: challenge parsing, credential lookup,
// URL handling, redaction, error messages. The integration tests drive the whole client
// against docker-registry; these pin down the rules behind it.
import Foundation
import PluginAPI
import TestSupport
import Testing

@testable import HTTPTransport
@testable import RegistryOCI

struct WWWAuthenticateParsing {
    // Cases from the Docker token spec (docs/spec/auth/token.md) and RFC 7235 §4.1.
    @Test func bearerWithScopeHoldingCommas() {
        let c = AuthChallenge.parse(
            #"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push""#)
        #expect(
            c == [
                AuthChallenge(
                    scheme: "bearer",
                    parameters: [
                        "realm": "https://auth.example/token", "service": "registry.example", "scope": "repository:a/b:pull,push",
                    ])
            ])
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
        let body = Array(
            #"{"errors":[{"code":"MANIFEST_BLOB_UNKNOWN","message":"blob unknown to registry","detail":"sha256:ab"},{"code":"DENIED","message":"no","detail":{"a/b":1}}]}"#
                .utf8)
        let entries = RegistryErrorEntry.parse(body)
        #expect(entries.map(\.code) == ["MANIFEST_BLOB_UNKNOWN", "DENIED"])
        #expect(entries[0].description == "MANIFEST_BLOB_UNKNOWN: blob unknown to registry (detail: sha256:ab)")
        #expect(entries[1].detail == #"{"a/b":1}"#)
        #expect(RegistryErrorEntry.parse(Array("<html>".utf8)).isEmpty)
    }

    @Test func immutableTagsAreFlagged() throws {
        let context = RequestContext(endpoint: Endpoint(host: "r", scheme: "https", settings: .init()), repository: "a", push: true)
        let body =
            #"{"errors":[{"code":"TAG_INVALID","message":"The image tag '1' already exists in the 'a' repository and cannot be overwritten because the repository is immutable."}]}"#
        let e = RegistryError.status(
            HTTPResponse(status: 400, body: Array(body.utf8)), method: .put, url: "https://r/v2/a/manifests/1", context: context)
        #expect(e.isImmutableTag)
        #expect((e as any RegistryFailure).isImmutableTag, "the host sees the flag through PluginAPI")
        #expect(!e.isTemporary)
        #expect(e.description.contains("--push-ignore-immutable-tag-errors"))
    }

    @Test func hintsForMissingCredentialsNameTheConfigFile() {
        var context = RequestContext(
            endpoint: Endpoint(host: "127.0.0.1:5443", scheme: "https", settings: .init()), repository: "a", push: true)
        context.configPath = "/root/.docker/config.json"
        let e = RegistryError.status(
            HTTPResponse(status: 401), method: .post, url: "https://127.0.0.1:5443/v2/a/blobs/uploads/", context: context)
        #expect(e.description.contains("authentication required: no credentials for 127.0.0.1:5443 in /root/.docker/config.json"))
    }

    @Test(arguments: [(429, true), (503, true), (500, true), (404, false), (401, false), (400, false)])
    func temporaryStatuses(_ status: Int, _ temporary: Bool) {
        let context = RequestContext(endpoint: Endpoint(host: "r", scheme: "https", settings: .init()), repository: "a", push: false)
        #expect(
            RegistryError.status(HTTPResponse(status: status), method: .get, url: "https://r/v2/", context: context).isTemporary
                == temporary)
    }

    @Test func aLostUploadSessionIsWorthARetry() {
        let context = RequestContext(endpoint: Endpoint(host: "r", scheme: "https", settings: .init()), repository: "a", push: true)
        let body = Array(#"{"errors":[{"code":"BLOB_UPLOAD_UNKNOWN","message":"blob upload unknown to registry"}]}"#.utf8)
        let e = RegistryError.status(
            HTTPResponse(status: 404, body: body), method: .patch, url: "https://r/v2/a/blobs/uploads/x", context: context)
        #expect(e.isTemporary)
        #expect(e.description.contains("--push-retry"))
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
        let (l, dir) = try Self.lookup(
            """
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
        _ = try bin.write(
            "docker-credential-kilntest",
            """
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
        let (l, dir) = try Self.lookup(
            #"{"credHelpers": {"helped.example": "kilntest"}, "credsStore": "kilntest", "auths": {"file.example": {"username": "f", "password": "fpw"}}}"#
        )
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

    // go-containerregistry's Registry.Scheme: loopback, localhost and RFC 1918 may be plain HTTP.
    @Test(arguments: [
        ("127.0.0.1:5000", true), ("localhost:5000", true), ("10.1.2.3", true), ("172.20.0.1:443", true),
        ("192.168.1.10:5000", true), ("172.32.0.1", false), ("registry.example", false), ("8.8.8.8:5000", false),
        ("127.example.com", false),
    ])
    func localAddressesMayFallBackToPlainHTTP(_ host: String, _ eligible: Bool) {
        #expect(ConnectionPolicy(options: RegistryOptions()).mayFallBackToHTTP(host, push: true) == eligible)
        var explicit = RegistryOptions()
        explicit.insecureRegistries = [host]
        #expect(!ConnectionPolicy(options: explicit).mayFallBackToHTTP(host, push: true), "already plain HTTP")
    }

    @Test func tuningFromOptionsAndEnvironment() {
        let t = Tuning(
            options: ["registry.chunk-size": "1024"], environment: ["KILN_REGISTRY_RETRY_DELAY": "0.5", "KILN_REGISTRY_STALL_TIMEOUT": "7"])
        #expect(t.chunkSize == 1024)
        #expect(t.retryDelay == 0.5)
        #expect(t.stallSeconds == 7)
        #expect(t.monolithicLimit == 16 << 20)
    }
}

struct Lanes {
    /// At most `blobLimit` blob transfers per host, and one more request (a manifest) may
    /// start while they all run.
    @Test func blobTransfersAreBoundedAndManifestsKeepASpareLane() async throws {
        let lanes = TransferLanes(blobLimit: 2)
        let gauge = Gauge()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<6 {
                group.addTask {
                    await lanes.acquire(.blob)
                    await gauge.enter(blob: true)
                    try await Task.sleep(for: .milliseconds(300))
                    await gauge.leave(blob: true)
                    await lanes.release(.blob)
                }
            }
            group.addTask {
                try await Task.sleep(for: .milliseconds(10))  // while two blobs are running
                let start = ContinuousClock.now
                await lanes.acquire(.metadata)
                await gauge.enter(blob: false)
                await gauge.noteManifestWait(ContinuousClock.now - start)
                await gauge.leave(blob: false)
                await lanes.release(.metadata)
            }
            try await group.waitForAll()
        }
        #expect(await gauge.maxBlobs == 2)
        #expect(await gauge.maxTotal == 3)
        #expect(await gauge.manifestWait < .milliseconds(200), "the manifest waited for a blob lane")
    }

    actor Gauge {
        var blobs = 0, total = 0, maxBlobs = 0, maxTotal = 0
        var manifestWait = Duration.zero
        func enter(blob: Bool) {
            total += 1
            if blob { blobs += 1 }
            maxBlobs = max(maxBlobs, blobs)
            maxTotal = max(maxTotal, total)
        }
        func leave(blob: Bool) {
            total -= 1
            if blob { blobs -= 1 }
        }
        func noteManifestWait(_ d: Duration) { manifestWait = d }
    }
}
