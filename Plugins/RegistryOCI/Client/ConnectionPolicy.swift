// Per-host connection choices from RegistryOptions: scheme, TLS verification, CA, client cert.
import HTTPTransport
import PluginAPI

struct ConnectionPolicy: Sendable {
    var options: RegistryOptions
    /// The system CAs plus `SSL_CERT_FILE`/`SSL_CERT_DIR`/`/kaniko/ssl/certs`, when the
    /// environment adds any (`TrustStore`); nil leaves libcurl's default.
    var trustedBundle: [UInt8]? = nil

    /// The endpoint for `host` in one direction (`--insecure` applies to push, `--insecure-pull`
    /// to pull, `--insecure-registry` to both).
    func endpoint(_ host: String, push: Bool) -> Endpoint {
        let plain = options.usesPlainHTTP(host, push: push)
        return Endpoint(host: host, scheme: plain ? "http" : "https", settings: settings(host, push: push))
    }

    /// TLS settings for `host` (`host:port` entries win over `host` entries).
    func settings(_ host: String, push: Bool) -> ConnectionSettings {
        let name = URLParts("https://" + host)?.hostName ?? host
        var s = ConnectionSettings()
        s.verifyTLS = !(options.skipsTLSVerification(host, push: push) || options.skipsTLSVerification(name, push: push))
        s.caFile = options.certificates[host] ?? options.certificates[name]
        s.caBundle = trustedBundle
        s.clientCertificate = options.clientCertificates[host] ?? options.clientCertificates[name]
        return s
    }

    /// True for hosts that kaniko (go-containerregistry's `Registry.Scheme`) and docker treat as
    /// possibly plain HTTP without a flag: `localhost`, loopback and private (RFC 1918)
    /// addresses. They are tried over HTTPS first and fall back to HTTP.
    func mayFallBackToHTTP(_ host: String, push: Bool) -> Bool {
        guard !options.usesPlainHTTP(host, push: push) else { return false }
        let name = URLParts("https://" + host)?.hostName ?? host
        if name == "localhost" || name == "[::1]" { return true }
        let octets = name.split(separator: ".").compactMap { Int($0) }
        guard octets.count == 4, name.split(separator: ".").count == 4, octets.allSatisfy({ (0...255).contains($0) }) else { return false }
        switch (octets[0], octets[1]) {
        case (127, _), (10, _), (192, 168): return true
        case (172, let b): return (16...31).contains(b)
        default: return false
        }
    }

    /// True when the options name `host` (or its name without port) explicitly.
    func hasEntry(for host: String) -> Bool {
        let name = URLParts("https://" + host)?.hostName ?? host
        return [host, name].contains {
            options.certificates[$0] != nil || options.clientCertificates[$0] != nil
                || options.skipTLSVerifyRegistries.contains($0)
        }
    }

    /// Settings for a URL the registry sent us to. A token realm without its own entry shares
    /// the registry's TLS settings (private registries usually issue tokens under the same CA);
    /// a redirect target (object storage) gets its own entry or the system defaults, so a private
    /// CA or a skip-verify never spreads to a public host.
    func settings(forURL url: String, registry: Endpoint, inherit: Bool) -> ConnectionSettings {
        guard let parts = URLParts(url) else { return ConnectionSettings() }
        if parts.authority == registry.host.lowercased() { return registry.settings }
        if hasEntry(for: parts.authority) { return settings(parts.authority, push: false) }
        if inherit { return registry.settings }
        var s = ConnectionSettings()
        s.verifyTLS = !options.skipTLSVerify
        return s
    }
}
