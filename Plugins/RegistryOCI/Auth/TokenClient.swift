// Token requests of the Docker token spec: GET with Basic or anonymous, and the OAuth2 POST
// (grant_type=refresh_token for identity tokens, grant_type=password as a fallback).
import FoundationEssentials
import HTTPTransport
import PluginAPI
import PluginSupport

struct FetchedToken: Sendable {
    var value: Redacted<String>
    /// Seconds the token may be used (`expires_in`, 60 when absent).
    var lifetime: Int
}

struct TokenClient: Sendable {
    let transport: CurlTransport
    let policy: ConnectionPolicy
    let configPath: String
    let clientID: String

    /// `GET /v2/`: 200 means no auth, 401 carries the challenge.
    func ping(_ endpoint: Endpoint) async throws -> HTTPResponse {
        let url = endpoint.base + "/v2/"
        let context = RequestContext(endpoint: endpoint, repository: nil, push: false, configPath: configPath)
        do {
            return try await transport.send(
                HTTPRequest(method: .get, url: url, settings: endpoint.settings), host: endpoint.host, lane: .metadata)
        } catch let f as TransferFailure {
            throw RegistryError.transport(f, method: .get, url: url, context: context)
        }
    }

    func fetch(realm: String, service: String?, scopes: [String], credential: Credential?, for endpoint: Endpoint) async throws
        -> FetchedToken
    {
        guard let realmParts = URLParts(realm), !realmParts.hostName.hasPrefix("169.254.") else {
            throw RegistryError(
                kind: .protocolViolation("the registry named an unusable token realm '\(URLRedaction.redact(realm))'"),
                registry: endpoint.host, isTemporary: false)
        }
        var context = RequestContext(endpoint: endpoint, repository: nil, push: false, configPath: configPath)
        context.credential = credential?.description
        if case .identityToken(let user, let token)? = credential?.secret {
            let form = [("grant_type", "refresh_token"), ("refresh_token", token.value), ("client_id", clientID)]
            let response = try await post(realm: realm, service: service, scopes: scopes, form: form, endpoint: endpoint, context: context)
            if response.status != 404 && response.status != 405 { return try parse(response, realm: realm, context: context) }
            // Not every token server implements OAuth2: fall back to GET with the token as password.
            let basic = Credential(secret: .password(username: user ?? "<token>", token), source: credential?.source ?? "")
            return try parse(
                try await get(realm: realm, service: service, scopes: scopes, credential: basic, endpoint: endpoint, context: context),
                realm: realm, context: context)
        }
        let response = try await get(
            realm: realm, service: service, scopes: scopes, credential: credential, endpoint: endpoint, context: context)
        if response.status == 404 || response.status == 405, case .password(let user, let password)? = credential?.secret {
            let form = [("grant_type", "password"), ("username", user), ("password", password.value), ("client_id", clientID)]
            let retry = try await post(realm: realm, service: service, scopes: scopes, form: form, endpoint: endpoint, context: context)
            return try parse(retry, realm: realm, context: context)
        }
        return try parse(response, realm: realm, context: context)
    }

    private func get(
        realm: String, service: String?, scopes: [String], credential: Credential?, endpoint: Endpoint, context: RequestContext
    ) async throws -> HTTPResponse {
        var url = realm
        if let service { url = URLs.appending(url, "service", service) }
        for scope in scopes { url = URLs.appending(url, "scope", scope) }
        var request = HTTPRequest(method: .get, url: url, settings: policy.settings(forURL: realm, registry: endpoint, inherit: true))
        if let (user, password) = credential?.basicPair {
            request.authorization = Redacted("Basic " + Base64.encode(Array("\(user):\(password)".utf8)))
        }
        return try await send(request, context: context)
    }

    private func post(
        realm: String, service: String?, scopes: [String], form: [(String, String)], endpoint: Endpoint, context: RequestContext
    ) async throws -> HTTPResponse {
        var pairs = form
        if let service { pairs.append(("service", service)) }
        if !scopes.isEmpty { pairs.append(("scope", scopes.joined(separator: " "))) }
        var request = HTTPRequest(method: .post, url: realm, settings: policy.settings(forURL: realm, registry: endpoint, inherit: true))
        request.headers = ["Content-Type: application/x-www-form-urlencoded"]
        request.body = .bytes(URLs.form(pairs))
        return try await send(request, context: context)
    }

    private func send(_ request: HTTPRequest, context: RequestContext) async throws -> HTTPResponse {
        let host = URLParts(request.url)?.authority ?? context.endpoint.host
        do {
            return try await transport.send(request, host: host, lane: .metadata)
        } catch let f as TransferFailure {
            throw RegistryError.transport(f, method: request.method, url: request.url, context: context)
        }
    }

    private func parse(_ response: HTTPResponse, realm: String, context: RequestContext) throws -> FetchedToken {
        guard response.isSuccess else {
            throw RegistryError.status(response, method: .get, url: realm, context: context)
        }
        guard let body = Self.decodeBody(response.body) else {
            throw RegistryError(
                kind: .protocolViolation("the token service at \(URLRedaction.redact(realm)) returned no token"),
                registry: context.endpoint.host, isTemporary: false)
        }
        SecretScrubber.shared.register(body.token)
        if let refresh = body.refreshToken { SecretScrubber.shared.register(refresh) }
        return FetchedToken(value: Redacted(body.token), lifetime: body.lifetime)
    }

    /// The fields of a token response body (`token` or `access_token`, `refresh_token`,
    /// `expires_in`); nil when it holds no token. Pure, so the fuzz tests can feed it anything.
    static func decodeBody(_ bytes: [UInt8]) -> (token: String, refreshToken: String?, lifetime: Int)? {
        guard let json = JSONValue.parse(bytes), let token = json["token"]?.string ?? json["access_token"]?.string, !token.isEmpty
        else { return nil }
        // The spec's default is 60 s when the field is missing; a shorter lifetime the service
        // states is respected, so a long build asks again instead of meeting a 401 mid-upload.
        // A number beyond Int (1e300) or not finite counts as missing rather than trapping.
        let seconds = json["expires_in"]?.number ?? 0
        let expires = seconds.isFinite && seconds >= 1 && seconds < Double(Int32.max) ? Int(seconds) : 0
        return (token, json["refresh_token"]?.string, expires > 0 ? expires : 60)
    }
}
