// Decides the Authorization header for each request: learns each host's challenge once
// (`GET /v2/`), then sends Basic or a cached Bearer token for the request's scopes.
import HTTPTransport
import PluginAPI

/// Where a registry lives and how it is reached, for one direction (push or pull).
struct Endpoint: Sendable {
    /// The host as the user wrote it (`docker.io`, `127.0.0.1:5000`): keys options and credentials.
    var host: String
    var scheme: String
    var settings: ConnectionSettings

    /// `scheme://api-host`, without a trailing slash.
    var base: String { "\(scheme)://\(RegistryHost.apiHost(host))" }
}

actor Authenticator {
    enum HostAuth: Sendable {
        case anonymous
        case basic
        case bearer(realm: String, service: String?)
    }

    private struct CachedToken: Sendable {
        var value: Redacted<String>
        var expires: ContinuousClock.Instant
        /// Renew this long before expiry: 10 s, or a quarter of a short lifetime.
        var margin: Duration
    }

    let tokens: TokenClient
    private let lookup: CredentialLookup
    // Tasks, not values: concurrent requests to a new host share one ping, one credential
    // lookup and one token request instead of racing each other (actor reentrancy).
    private var hostAuth: [String: Task<HostAuth, Swift.Error>] = [:]
    private var credentials: [String: Task<CredentialLookup.Result, Never>] = [:]
    private var cache: [String: CachedToken] = [:]
    private var pendingTokens: [String: Task<FetchedToken, Swift.Error>] = [:]

    init(tokens: TokenClient, lookup: CredentialLookup) {
        self.tokens = tokens
        self.lookup = lookup
    }

    var configPath: String { lookup.configPath }

    /// The credential for `host` (looked up once; helpers run on a dedicated thread).
    func credential(for host: String) async -> CredentialLookup.Result {
        if let known = credentials[host] { return await known.value }
        let lookup = self.lookup
        let task = Task { (try? await BlockingThreads.shared.run { lookup.lookup(host: host) }) ?? CredentialLookup.Result() }
        credentials[host] = task
        return await task.value
    }

    /// The `Authorization` value for a request to `endpoint` needing `scopes`
    /// (`repository:a/b:pull,push`), or nil for anonymous access.
    func authorization(for endpoint: Endpoint, scopes: [String]) async throws -> Redacted<String>? {
        let auth = try await challenge(for: endpoint)
        return try await header(for: endpoint, auth: auth, scopes: scopes, fresh: false)
    }

    /// Called after a 401: adopts the challenge it carried, drops the cached token and returns a
    /// new header (nil when the registry's challenge cannot be answered).
    func reauthorize(for endpoint: Endpoint, scopes: [String], challengeHeader: String?) async throws -> Redacted<String>? {
        var wanted = scopes
        if let header = challengeHeader, let c = Self.pick(AuthChallenge.parse(header)) {
            let learnt = Self.hostAuth(from: c)
            hostAuth[endpoint.host] = Task { learnt }
            // Scopes the registry asked for go first: some token services read only the first.
            wanted = c.scopes + scopes.filter { !c.scopes.contains($0) }
        }
        let auth = try await challenge(for: endpoint)
        return try await header(for: endpoint, auth: auth, scopes: wanted, fresh: true, cacheAs: scopes)
    }

    private func header(
        for endpoint: Endpoint, auth: HostAuth, scopes: [String], fresh: Bool, cacheAs: [String]? = nil
    ) async throws -> Redacted<String>? {
        let found = await credential(for: endpoint.host)
        switch auth {
        case .anonymous:
            return nil
        case .basic:
            guard let (user, password) = found.credential?.basicPair else { return nil }
            return Redacted("Basic " + Base64.encode(Array("\(user):\(password)".utf8)))
        case .bearer(let realm, let service):
            if case .registryToken(let t)? = found.credential?.secret { return Redacted("Bearer " + t.value) }
            let key = endpoint.host + " " + (cacheAs ?? scopes).sorted().joined(separator: " ")
            if !fresh, let cached = cache[key], cached.expires > .now + cached.margin {
                return Redacted("Bearer " + cached.value.value)
            }
            let task: Task<FetchedToken, Swift.Error>
            if !fresh, let pending = pendingTokens[key] {
                task = pending
            } else {
                let tokens = self.tokens
                let credential = found.credential
                task = Task {
                    try await tokens.fetch(realm: realm, service: service, scopes: scopes, credential: credential, for: endpoint)
                }
                pendingTokens[key] = task
            }
            defer { pendingTokens[key] = nil }
            let token = try await task.value
            cache[key] = CachedToken(
                value: token.value, expires: .now + .seconds(token.lifetime), margin: .seconds(min(10, Double(token.lifetime) / 4)))
            return Redacted("Bearer " + token.value.value)
        }
    }

    /// The host's challenge, learnt from `GET /v2/` the first time.
    private func challenge(for endpoint: Endpoint) async throws -> HostAuth {
        if let known = hostAuth[endpoint.host] { return try await known.value }
        let tokens = self.tokens
        let task = Task { () throws -> HostAuth in
            let response = try await tokens.ping(endpoint)
            let header = response.headers.all("WWW-Authenticate").joined(separator: ", ")
            guard response.status == 401, let c = Self.pick(AuthChallenge.parse(header)) else { return .anonymous }
            return Self.hostAuth(from: c)
        }
        hostAuth[endpoint.host] = task
        do { return try await task.value } catch {
            hostAuth[endpoint.host] = nil  // a failed ping is not remembered: the next request tries again
            throw error
        }
    }

    /// Bearer is preferred over Basic when a registry offers both.
    private static func pick(_ challenges: [AuthChallenge]) -> AuthChallenge? {
        challenges.first { $0.scheme == "bearer" && $0.realm != nil } ?? challenges.first { $0.scheme == "basic" }
    }

    private static func hostAuth(from c: AuthChallenge) -> HostAuth {
        if c.scheme == "bearer", let realm = c.realm { return .bearer(realm: realm, service: c.service) }
        return c.scheme == "basic" ? .basic : .anonymous
    }
}
