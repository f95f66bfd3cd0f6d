// Registry credentials and where they came from.
import FoundationEssentials
import HTTPTransport

/// A credential for one registry host. The secret parts are `Redacted`; `source` says where
/// it was found (a path, a helper name or an environment variable — never the secret).
struct Credential: Sendable, CustomStringConvertible {
    enum Secret: Sendable {
        /// User name and password (or personal access token): Basic, or GET token requests.
        case password(username: String, Redacted<String>)
        /// An OAuth2 refresh token from `docker login` (`identitytoken`, helper user `<token>`).
        case identityToken(username: String?, Redacted<String>)
        /// A bearer token to send as is (`registrytoken`).
        case registryToken(Redacted<String>)
    }

    var secret: Secret
    var source: String

    var description: String {
        switch secret {
        case .password(let user, _): return "password for \(user) from \(source)"
        case .identityToken: return "identity token from \(source)"
        case .registryToken: return "registry token from \(source)"
        }
    }

    /// `user:password` for a Basic header, when the credential has one.
    var basicPair: (String, String)? {
        switch secret {
        case .password(let user, let password): return (user, password.value)
        case .identityToken(let user, let token): return (user ?? "<token>", token.value)
        case .registryToken: return nil
        }
    }

    /// Registers every secret part with the scrubber (called as soon as it is read).
    func registerSecrets() {
        switch secret {
        case .password(_, let p): SecretScrubber.shared.register(p.value)
        case .identityToken(_, let t), .registryToken(let t): SecretScrubber.shared.register(t.value)
        }
        if let (user, password) = basicPair {
            SecretScrubber.shared.register(Base64.encode(Array("\(user):\(password)".utf8)))
        }
    }
}

/// Host names as docker's config.json keys them.
enum RegistryHost {
    /// `https://index.docker.io/v1/` → `docker.io`; `http://h:5000/x` → `h:5000`; lower-cased.
    static func normalise(_ key: String) -> String {
        var s = Substring(key.lowercased())
        for scheme in ["https://", "http://"] where s.hasPrefix(scheme) { s = s.dropFirst(scheme.count) }
        if let slash = s.firstIndex(of: "/") { s = s[..<slash] }
        switch s {
        case "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com": return "docker.io"
        default: return String(s)
        }
    }

    /// The server URL docker stores and passes to credential helpers for `host`.
    static func serverURL(_ host: String) -> String {
        normalise(host) == "docker.io" ? "https://index.docker.io/v1/" : host
    }

    /// Where the HTTP API of `host` lives (Docker Hub serves it on another name).
    static func apiHost(_ host: String) -> String {
        host == "docker.io" ? "registry-1.docker.io" : host
    }
}

enum Base64 {
    static func encode(_ bytes: [UInt8]) -> String { Data(bytes).base64EncodedString() }
}
