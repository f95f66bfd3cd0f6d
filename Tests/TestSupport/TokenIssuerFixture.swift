// The token issuer (Tests/Tools/token-issuer.py) as a test fixture.
import Foundation

/// A running token issuer on 127.0.0.1 that signs JWTs for a distribution registry.
public final class TokenIssuerFixture: @unchecked Sendable {
    /// One ACL entry: `account` ("" = anonymous) may do `actions` on repositories matching the
    /// fnmatch pattern `name`.
    public struct Grant: Sendable, Codable {
        public var account: String
        public var name: String
        public var actions: [String]
        public init(account: String, name: String, actions: [String]) {
            self.account = account
            self.name = name
            self.actions = actions
        }
    }

    public struct Configuration: Sendable {
        /// user → password.
        public var users: [String: String]
        /// Refresh tokens known from the start (what a docker config `identitytoken` holds) → user.
        public var refreshTokens: [String: String]
        public var grants: [Grant]
        /// `expires_in` of every token, in seconds.
        public var expiresIn: Int
        /// Make the registry refuse a token as soon as `expiresIn` has passed (it otherwise
        /// allows 60 s of clock skew after `exp`).
        public var compensateLeeway: Bool
        public var algorithm: TokenSigningKey.Algorithm
        /// Identify the key by an `x5c` chain instead of a libtrust `kid`.
        public var x5c: Bool
        public var service: String
        public var issuer: String

        public init(
            users: [String: String], refreshTokens: [String: String] = [:], grants: [Grant],
            expiresIn: Int = 300, compensateLeeway: Bool = false, algorithm: TokenSigningKey.Algorithm = .rs256,
            x5c: Bool = false, service: String = "kiln-test-registry", issuer: String = "kiln-test-issuer"
        ) {
            self.users = users
            self.refreshTokens = refreshTokens
            self.grants = grants
            self.expiresIn = expiresIn
            self.compensateLeeway = compensateLeeway
            self.algorithm = algorithm
            self.x5c = x5c
            self.service = service
            self.issuer = issuer
        }
    }

    /// One line of the issuer's log: a token issued, or a request denied.
    public struct Issue: Sendable, Decodable {
        public var grant: String
        public var account: String
        public var scopes: [String]?
        public var token: String?
        public var refresh_token: String?
        public var denied: String?
    }

    public let configuration: Configuration
    public let port: Int
    public let signingKey: TokenSigningKey
    public let logPath: String
    private let process: BackgroundProcess

    /// The realm URL for the registry's `auth.token.realm`.
    public var realm: String { "http://127.0.0.1:\(port)/token" }

    /// Starts the issuer with its files under `directory`.
    public init(_ configuration: Configuration, in directory: String) async throws {
        self.configuration = configuration
        signingKey = try await TokenSigningKey.make(configuration.algorithm, in: directory)
        struct ACL: Encodable {
            var users: [String: String]
            var refresh_tokens: [String: String]
            var acl: [Grant]
        }
        let aclPath = directory + "/acl.json"
        try JSONEncoder().encode(
            ACL(
                users: configuration.users, refresh_tokens: configuration.refreshTokens,
                acl: configuration.grants)
        ).write(to: URL(fileURLWithPath: aclPath))
        logPath = directory + "/tokens.jsonl"
        let portFile = directory + "/issuer.port"
        var args = [
            TestTools.script("token-issuer.py"), "--key", signingKey.key, "--cert", signingKey.certificate,
            "--acl", aclPath, "--log", logPath, "--port-file", portFile,
            "--expires-in", String(configuration.expiresIn), "--alg", configuration.algorithm.rawValue,
            "--service", configuration.service, "--issuer", configuration.issuer,
        ]
        if configuration.x5c { args.append("--x5c") }
        if configuration.compensateLeeway { args.append("--compensate-leeway") }
        process = try BackgroundProcess(
            name: "token-issuer", executable: TestTools.python, arguments: args,
            outputPath: directory + "/issuer.out")
        do {
            port = try await LoopbackPort.read(portFile: portFile, from: process)
        } catch {
            process.stop()
            throw error
        }
    }

    /// Every issue and denial so far, in order.
    public func issues() -> [Issue] {
        guard let text = try? String(contentsOfFile: logPath, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { try? JSONDecoder().decode(Issue.self, from: Data($0.utf8)) }
    }

    /// Every access and refresh token issued so far: secrets that must never be logged.
    public func issuedSecrets() -> [String] {
        issues().flatMap { [$0.token, $0.refresh_token].compactMap { $0 } }
    }

    public func stop() { process.stop() }
}
