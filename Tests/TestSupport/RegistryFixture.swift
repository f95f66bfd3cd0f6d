// Debian's `docker-registry` (distribution 2.8) on 127.0.0.1, started and stopped by a test.
import Foundation

/// A registry a test started on a free loopback port. Stop it with `stop()` (or use
/// `withRegistry`); stopping also stops its token issuer and removes its directory.
public final class RegistryFixture: @unchecked Sendable {
    /// How the registry is set up.
    public enum Setup: Sendable {
        /// Plain HTTP, no authentication.
        case plain
        /// TLS with a CA made for the test, and htpasswd Basic authentication.
        case tlsBasic(users: [String: String])
        /// Plain HTTP with token authentication by a token issuer started for the test.
        case token(TokenIssuerFixture.Configuration)
    }

    public let setup: Setup
    /// `127.0.0.1:PORT`: the registry part of image references.
    public let host: String
    public let port: Int
    public let directory: FixtureDirectory
    /// Set for `.tlsBasic`.
    public let certificates: TestCertificateAuthority?
    /// Set for `.token`.
    public let tokenIssuer: TokenIssuerFixture?
    private let process: BackgroundProcess

    public var usesTLS: Bool { certificates != nil }
    public var baseURL: String { "\(usesTLS ? "https" : "http")://\(host)" }
    /// The registry's log (stderr), including its access log.
    public var logPath: String { process.outputPath }

    /// Starts a registry; retries with another port when the chosen one was taken meanwhile.
    public static func start(_ setup: Setup) async throws -> RegistryFixture {
        let dir = try FixtureDirectory(prefix: "kiln-registry")
        do {
            var certificates: TestCertificateAuthority?
            var issuer: TokenIssuerFixture?
            var auth = ""
            switch setup {
            case .plain:
                break
            case .tlsBasic(let users):
                certificates = try await TestCertificateAuthority.make(in: dir.path)
                try await HtpasswdFile.write(users: users, to: dir.file("htpasswd"))
                auth = "auth:\n  htpasswd:\n    realm: kiln-test\n    path: \(dir.file("htpasswd"))\n"
            case .token(let configuration):
                let issuerDir = dir.file("issuer")
                try FileManager.default.createDirectory(atPath: issuerDir, withIntermediateDirectories: true)
                let started = try await TokenIssuerFixture(configuration, in: issuerDir)
                issuer = started
                auth = """
                    auth:
                      token:
                        realm: \(started.realm)
                        service: \(configuration.service)
                        issuer: \(configuration.issuer)
                        rootcertbundle: \(started.signingKey.certificate)

                    """
            }
            var lastError: (any Error)?
            for attempt in 1...5 {
                let port = try LoopbackPort.free()
                let config = try dir.write(
                    configYAML(port: port, dir: dir, certificates: certificates, auth: auth),
                    to: "config.yml")
                let process = try BackgroundProcess(
                    name: "docker-registry", executable: "docker-registry", arguments: ["serve", config],
                    outputPath: dir.file("registry-\(attempt).log"))
                do {
                    try await waitReady(process, port: port, certificates: certificates)
                    return RegistryFixture(
                        setup: setup, port: port, directory: dir, certificates: certificates,
                        tokenIssuer: issuer, process: process)
                } catch {
                    process.stop()
                    lastError = error
                    guard process.output.contains("address already in use") else { break }
                }
            }
            issuer?.stop()
            throw lastError ?? ServerStartError(name: "docker-registry", output: "")
        } catch {
            dir.remove()
            throw error
        }
    }

    private init(
        setup: Setup, port: Int, directory: FixtureDirectory, certificates: TestCertificateAuthority?,
        tokenIssuer: TokenIssuerFixture?, process: BackgroundProcess
    ) {
        self.setup = setup
        self.port = port
        self.host = "127.0.0.1:\(port)"
        self.directory = directory
        self.certificates = certificates
        self.tokenIssuer = tokenIssuer
        self.process = process
    }

    private static func configYAML(
        port: Int, dir: FixtureDirectory, certificates: TestCertificateAuthority?,
        auth: String
    ) -> String {
        var tls = ""
        if let c = certificates {
            tls = "  tls:\n    certificate: \(c.serverCertificate)\n    key: \(c.serverKey)\n"
        }
        // Upload purging off: it only adds start-up work. Deletes on, so tests can clean up.
        return """
            version: 0.1
            log:
              level: info
              accesslog:
                disabled: false
            storage:
              filesystem:
                rootdirectory: \(dir.file("data"))
              delete:
                enabled: true
              maintenance:
                uploadpurging:
                  enabled: false
            http:
              addr: 127.0.0.1:\(port)
              secret: kiln-test-upload-state-secret
            \(tls)\(auth)
            """
    }

    /// Waits for the port to accept connections, then for `/v2/` to answer 200 or 401.
    private static func waitReady(_ process: BackgroundProcess, port: Int, certificates: TestCertificateAuthority?) async throws {
        let listening = await BackgroundProcess.waitUntil(timeout: 20) { !process.isRunning || LoopbackPort.isListening(port) }
        guard listening, process.isRunning else {
            throw ServerStartError(name: "docker-registry on port \(port)", output: process.outputTail())
        }
        let scheme = certificates == nil ? "http" : "https"
        var args = ["-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "5"]
        if let c = certificates { args += ["--cacert", c.caCertificate] }
        let r = try await ProcessRunner.run("curl", args + ["\(scheme)://127.0.0.1:\(port)/v2/"])
        guard r.stdout == "200" || r.stdout == "401" else {
            throw ServerStartError(
                name: "docker-registry on port \(port) (GET /v2/ gave '\(r.stdout)', curl: \(r.stderr))",
                output: process.outputTail())
        }
    }

    /// Stops the registry (SIGTERM, then SIGKILL) and its token issuer, and removes its files.
    /// Idempotent; also done when the fixture is released, for tests that threw before `stop`.
    public func stop() {
        process.stop()
        tokenIssuer?.stop()
        directory.remove()
    }

    deinit { stop() }

    /// The registry's access log so far: one entry per request it answered.
    public func accessLog() -> [HTTPRequestRecord] {
        HTTPRequestRecord.parseAccessLog((try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "")
    }

    /// The access log once it stopped growing (the registry writes a line after answering, so
    /// the last request of a client may not be logged the instant the client returns).
    public func settledAccessLog() async -> [HTTPRequestRecord] {
        var last = -1
        for _ in 0..<20 {
            let now = accessLog()
            if now.count == last { return now }
            last = now.count
            try? await Task.sleep(nanoseconds: 100_000_000)
        }
        return accessLog()
    }

    /// The end of the registry's own log, for failure messages.
    public func logTail(_ lines: Int = 30) -> String { process.outputTail(lines) }
}

/// Starts a registry, runs `body`, and stops the registry however `body` ends.
public func withRegistry<T>(_ setup: RegistryFixture.Setup, _ body: (RegistryFixture) async throws -> T) async throws -> T {
    let registry = try await RegistryFixture.start(setup)
    defer { registry.stop() }
    return try await body(registry)
}
