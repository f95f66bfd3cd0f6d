// The RegistryClient over libcurl: one exchange (auth, re-auth on 401, redirects without
// credentials across hosts) and the retry loop; pull and push live in their own files.
import FoundationEssentials
import Glibc
import HTTPTransport
import PluginAPI
import PluginSupport
import Synchronization

/// Client of the OCI distribution API (component `oci` of the RegistryOCI plugin).
final class OCIRegistryClient: RegistryClient {
    let name = "oci"
    let options: RegistryOptions
    let tuning: Tuning
    let policy: ConnectionPolicy
    let transport: CurlTransport
    let auth: Authenticator
    let ledger = PushLedger()
    let shownWarnings = Mutex<Set<String>>([])
    let blobPushes = Mutex<[String: Task<Void, Swift.Error>]>([:])
    /// Schemes learnt for local and private hosts (`endpoint(_:push:)`).
    let schemes = Mutex<[String: Task<String, Never>]>([:])
    let log: @Sendable (LogLevel, String) -> Void

    init(options: RegistryOptions, tuning: Tuning, environment: [String: String], log: @escaping @Sendable (LogLevel, String) -> Void) {
        // Every line passes the scrubber: a secret that slipped into a message is removed here.
        let safeLog: @Sendable (LogLevel, String) -> Void = { level, text in log(level, SecretScrubber.shared.scrub(text)) }
        self.options = options
        self.tuning = tuning
        self.log = safeLog
        self.policy = ConnectionPolicy(options: options, trustedBundle: TrustStore.bundle(environment: environment))
        var limits = TransferLimits()
        limits.userAgent = options.userAgent
        limits.stallSeconds = tuning.stallSeconds
        limits.connectTimeoutSeconds = tuning.connectTimeoutSeconds
        self.transport = CurlTransport(limits: limits, blobLimit: options.parallelTransfers, log: safeLog)
        let lookup = CredentialLookup(options: options.dockerConfigDirectory, environment: environment)
        let tokens = TokenClient(transport: transport, policy: policy, configPath: lookup.configPath, clientID: "kiln")
        self.auth = Authenticator(tokens: tokens, lookup: lookup)
    }

    /// The endpoint for `host`; for local and private addresses (see
    /// `ConnectionPolicy.mayFallBackToHTTP`) the scheme is learnt once: HTTPS when it answers,
    /// else plain HTTP when that answers like a registry.
    func endpoint(_ host: String, push: Bool) async -> Endpoint {
        var e = policy.endpoint(host, push: push)
        guard policy.mayFallBackToHTTP(host, push: push) else { return e }
        // One probe per host, shared by concurrent first requests.
        let secure = e
        let probe = schemes.withLock { known -> Task<String, Never> in
            if let task = known[host] { return task }
            let task = Task { await self.probeScheme(secure) }
            known[host] = task
            return task
        }
        e.scheme = await probe.value
        return e
    }

    private func probeScheme(_ e: Endpoint) async -> String {
        do {
            _ = try await transport.send(
                HTTPRequest(method: .get, url: e.base + "/v2/", settings: e.settings), host: e.host, lane: .metadata)
            return "https"
        } catch {
            // No HTTPS answer. Plain HTTP counts only if it answers like a registry, not with
            // Go's "Client sent an HTTP request to an HTTPS server" (then the TLS error, with
            // its hint, is the useful one).
            var plain = e
            plain.scheme = "http"
            guard let r = try? await transport.send(HTTPRequest(method: .get, url: plain.base + "/v2/"), host: e.host, lane: .metadata),
                r.status == 200 || r.status == 401
            else { return "https" }
            log(.debug, "oci: \(e.host) does not answer HTTPS but answers HTTP; using http:// (local or private address)")
            return "http"
        }
    }

    static func scopes(_ repository: String, push: Bool) -> [String] {
        ["repository:\(repository):\(push ? "pull,push" : "pull")"]
    }

    func context(_ endpoint: Endpoint, _ repository: String?, push: Bool) async -> RequestContext {
        let found = await auth.credential(for: endpoint.host)
        var c = RequestContext(endpoint: endpoint, repository: repository, push: push)
        c.credential = found.credential?.description
        c.credentialNotes = found.notes
        c.configPath = await auth.configPath
        return c
    }

    /// Sends `request` to the registry: adds the Authorization header for `scopes` (only to the
    /// registry's own origin), answers one 401 with a fresh token, and follows redirects for
    /// GET and HEAD (to object storage, with that host's own TLS settings and no credentials).
    /// Returns the final response, whatever its status, and the URL that produced it.
    func exchange(
        _ request: HTTPRequest, endpoint: Endpoint, repository: String?, scopes: [String], push: Bool, lane: Lane
    ) async throws -> (response: HTTPResponse, url: String) {
        var authorization = try await auth.authorization(for: endpoint, scopes: scopes)
        var current = request
        var reauthorized = false
        for _ in 0..<10 {
            let sameOrigin = URLParts(current.url)?.origin == URLParts(endpoint.base)?.origin
            current.authorization = sameOrigin ? authorization : nil
            current.settings = sameOrigin ? endpoint.settings : policy.settings(forURL: current.url, registry: endpoint, inherit: false)
            let host = URLParts(current.url)?.authority ?? endpoint.host
            let response: HTTPResponse
            do {
                response = try await transport.send(current, host: host, lane: lane)
            } catch let f as TransferFailure {
                throw RegistryError.transport(
                    f, method: current.method, url: current.url, context: await context(endpoint, repository, push: push))
            }
            reportWarnings(response)
            if response.status == 401, sameOrigin, !reauthorized {
                reauthorized = true
                let challenge = response.headers.all("WWW-Authenticate").joined(separator: ", ")
                let fresh = try await auth.reauthorize(for: endpoint, scopes: scopes, challengeHeader: challenge.isEmpty ? nil : challenge)
                if fresh != nil || authorization != nil {
                    authorization = fresh
                    continue
                }
            }
            if response.isRedirect, current.method == .get || current.method == .head,
                let location = response.headers["Location"], let next = URLs.resolve(location, against: current.url)
            {
                current.url = next
                continue
            }
            return (response, current.url)
        }
        throw RegistryError(
            kind: .protocolViolation("too many redirects"), method: request.method.rawValue,
            url: URLRedaction.redact(request.url), registry: endpoint.host, repository: repository, isTemporary: false)
    }

    /// Shows the registry's `Warning: 299 - "text"` headers (distribution-spec), once each.
    func reportWarnings(_ response: HTTPResponse) {
        for value in response.headers.all("Warning") where value.hasPrefix("299 ") {
            guard let open = value.firstIndex(of: "\""), let close = value.lastIndex(of: "\""), open < close else { continue }
            let text = String(value[value.index(after: open)..<close])
            if shownWarnings.withLock({ $0.insert(text).inserted }) { log(.warning, "oci: registry warning: \(text)") }
        }
    }

    /// Retries a failing push (or pull) request gets: the default (`Tuning.retries`), or the
    /// kaniko flag's count when that is higher.
    func retries(push: Bool) -> Int { max(tuning.retries, push ? options.pushRetry : options.downloadRetry) }

    /// Runs `body` up to `retries + 1` times while it fails with a temporary error, waiting as
    /// `backoff` says between attempts.
    func retrying<T: Sendable>(_ retries: Int, _ what: String, _ body: (Int) async throws -> T) async throws -> T {
        var attempt = 0
        while true {
            do {
                return try await body(attempt)
            } catch let e as RegistryError where e.isTemporary && attempt < retries {
                attempt += 1
                try await backoff(after: e, attempt: attempt, of: retries, what)
            }
        }
    }

    /// Logs a retry (what failed, attempt k of n, the wait) and waits `retryDelay · 2^(step-1)`
    /// seconds (`step` is k unless given) or the registry's Retry-After, whichever is longer,
    /// never more than `maxRetryDelay`.
    func backoff(after e: RegistryError, attempt: Int, of retries: Int, _ what: String, step: Int? = nil) async throws {
        let backoff = tuning.retryDelay * pow(2, Double((step ?? attempt) - 1))
        let delay = min(tuning.maxRetryDelay, max(backoff, e.retryAfter ?? 0))
        let request = e.method.map { " (\($0) \(e.url ?? ""))" } ?? ""
        log(
            .warning,
            "oci: \(what) failed: \(e.kindSummary)\(request); retry \(attempt) of \(retries) in \(String(cFormat: "%.1f", delay)) s")
        try await Task.sleep(for: .seconds(delay))
    }
}

extension RegistryError {
    /// True for a download whose bytes hash to another digest than asked for.
    var isDigestMismatch: Bool {
        if case .verification(let m) = kind { return m.hasPrefix("blob digest mismatch") }
        return false
    }

    /// A short reason for a retry line.
    var kindSummary: String {
        switch kind {
        case .status: return "HTTP \(statusCode ?? 0)"
        case .transport(let code, let message): return "\(message), curl error \(code)"
        case .verification(let m), .protocolViolation(let m), .local(let m): return m
        }
    }
}
