// URL building for the distribution API: registry Location headers are opaque, may be
// relative or absolute (even on another host), and their query strings must be kept.
import PluginSupport

/// The parts of an absolute `scheme://authority/path?query` URL that the client needs.
struct URLParts: Sendable, Equatable {
    var scheme: String
    /// `host[:port]`, without user-info.
    var authority: String
    /// Path and query, starting with `/` (or empty).
    var rest: String

    init?(_ url: String) {
        guard let sep = url.firstRange(of: "://") else { return nil }
        scheme = url[..<sep.lowerBound].lowercased()
        guard scheme == "http" || scheme == "https" else { return nil }
        let afterScheme = url[sep.upperBound...]
        let end = afterScheme.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? afterScheme.endIndex
        var authority = afterScheme[..<end]
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        guard !authority.isEmpty else { return nil }
        self.authority = authority.lowercased()
        var rest = String(afterScheme[end...])
        if let hash = rest.firstIndex(of: "#") { rest = String(rest[..<hash]) }
        self.rest = rest
    }

    /// The authority with the scheme's default port removed, for same-origin comparisons.
    var origin: String {
        let defaultPort = scheme == "https" ? ":443" : ":80"
        let host = authority.hasSuffix(defaultPort) ? String(authority.dropLast(defaultPort.count)) : authority
        return "\(scheme)://\(host)"
    }

    /// Host name without port (`[::1]` keeps its brackets).
    var hostName: String {
        if authority.hasPrefix("["), let close = authority.firstIndex(of: "]") { return String(authority[...close]) }
        return authority.split(separator: ":", maxSplits: 1).first.map(String.init) ?? authority
    }
}

enum URLs {
    /// Resolves a `Location` header against the URL of the request that returned it
    /// (RFC 3986 §5.2 for the cases registries produce: absolute, network-path, absolute-path,
    /// relative-path, query-only). The query string is kept as is.
    static func resolve(_ location: String, against base: String) -> String? {
        let location = location.trimmed(" \t\r\n")
        if URLParts(location) != nil { return location }
        guard let b = URLParts(base) else { return nil }
        if location.hasPrefix("//") { return b.scheme + ":" + location }
        if location.hasPrefix("/") { return "\(b.scheme)://\(b.authority)\(location)" }
        var basePath = b.rest
        if let q = basePath.firstIndex(of: "?") { basePath = String(basePath[..<q]) }
        if location.hasPrefix("?") { return "\(b.scheme)://\(b.authority)\(basePath)\(location)" }
        if location.isEmpty { return base }
        let directory = basePath.lastIndex(of: "/").map { String(basePath[...$0]) } ?? "/"
        return "\(b.scheme)://\(b.authority)\(directory)\(location)"
    }

    /// Appends `name=value` (value percent-encoded) to a URL that may already have a query.
    static func appending(_ url: String, _ name: String, _ value: String) -> String {
        url + (url.contains("?") ? "&" : "?") + name + "=" + percentEncode(value)
    }

    /// Percent-encodes everything but RFC 3986 unreserved characters and `:` (digests stay
    /// readable; `:` is allowed in a query).
    static func percentEncode(_ value: String) -> String {
        var out = ""
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"), UInt8(ascii: ":"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = Array("0123456789ABCDEF".unicodeScalars)
                out.unicodeScalars.append("%")
                out.unicodeScalars.append(hex[Int(byte >> 4)])
                out.unicodeScalars.append(hex[Int(byte & 15)])
            }
        }
        return out
    }

    /// `application/x-www-form-urlencoded` body from ordered pairs.
    static func form(_ pairs: [(String, String)]) -> [UInt8] {
        Array(pairs.map { percentEncode($0.0) + "=" + percentEncode($0.1) }.joined(separator: "&").utf8)
    }
}
