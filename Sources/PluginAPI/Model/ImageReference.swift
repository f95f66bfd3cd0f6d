// Mirrors the distribution reference grammar (distribution/reference/regexp.go) with Docker's
// defaults: no registry means docker.io, a one-component docker.io path gets `library/`.

/// An image reference `[registry/]repository[:tag][@digest]`.
public struct ImageReference: Hashable, Sendable, CustomStringConvertible, Codable {
    public static let defaultRegistry = "docker.io"
    public static let defaultTag = "latest"

    /// Registry host (with port), e.g. `docker.io`, `127.0.0.1:5000`.
    public var registry: String
    /// Repository path inside the registry, e.g. `library/debian`.
    public var repository: String
    public var tag: String?
    public var digest: Digest?

    public init(registry: String, repository: String, tag: String? = nil, digest: Digest? = nil) {
        self.registry = registry
        self.repository = repository
        self.tag = tag
        self.digest = digest
    }

    public enum ParseError: Error, CustomStringConvertible, Equatable {
        case empty
        case invalid(String, reason: String)
        public var description: String {
            switch self {
            case .empty: return "invalid image reference: empty"
            case .invalid(let s, let reason): return "invalid image reference '\(s)': \(reason)"
            }
        }
    }

    /// Parses a reference. Throws `ParseError` for upper-case repositories, bad tags, bad digests.
    public init(parsing text: String) throws {
        guard !text.isEmpty else { throw ParseError.empty }
        var rest = Substring(text)
        var digest: Digest?
        if let at = rest.firstIndex(of: "@") {
            do { digest = try Digest(parsing: String(rest[rest.index(after: at)...])) } catch {
                throw ParseError.invalid(text, reason: "\(error)")
            }
            rest = rest[..<at]
        }
        var tag: String?
        if let colon = rest.lastIndex(of: ":"), !rest[colon...].contains("/") {
            tag = String(rest[rest.index(after: colon)...])
            rest = rest[..<colon]
        }
        var registry = Self.defaultRegistry
        var path = String(rest)
        if let slash = rest.firstIndex(of: "/") {
            let first = rest[..<slash]
            if first.contains(".") || first.contains(":") || first == "localhost" || first.contains(where: \.isUppercase) {
                registry = String(first)
                path = String(rest[rest.index(after: slash)...])
            }
        }
        if registry == "index.docker.io" || registry == "registry-1.docker.io" { registry = Self.defaultRegistry }
        guard Self.isValidDomain(registry) else {
            throw ParseError.invalid(
                text, reason: "registry '\(registry)' is not a host name, IPv4 or [IPv6] address with an optional :port")
        }
        // A bare 64-hex name would be mistaken for an image ID (distribution/reference normalize.go).
        if registry == Self.defaultRegistry, rest == path, path.utf8.count == 64,
            path.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) })
        {
            throw ParseError.invalid(text, reason: "a 64-character hexadecimal name is an image ID, not a repository")
        }
        if registry == Self.defaultRegistry, !path.contains("/") { path = "library/" + path }
        try Self.validate(repository: path, in: text)
        guard registry.utf8.count + 1 + path.utf8.count <= 255 else {
            throw ParseError.invalid(text, reason: "the name \(registry)/\(path) is longer than 255 characters")
        }
        if let t = tag {
            guard Self.isValidTag(t) else {
                throw ParseError.invalid(text, reason: "tag '\(t)' must match [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
            }
        }
        self.init(registry: registry, repository: path, tag: tag, digest: digest)
    }

    static func isValidTag(_ t: String) -> Bool {
        guard let first = t.unicodeScalars.first, t.utf8.count <= 128 else { return false }
        func word(_ c: Unicode.Scalar) -> Bool { c.isASCII && (c.properties.isAlphabetic || ("0"..."9").contains(c) || c == "_") }
        return word(first) && t.unicodeScalars.allSatisfy { word($0) || $0 == "." || $0 == "-" }
    }

    static func validate(repository: String, in text: String) throws {
        guard !repository.isEmpty else { throw ParseError.invalid(text, reason: "repository is empty") }
        for component in repository.split(separator: "/", omittingEmptySubsequences: false) {
            guard !component.isEmpty else { throw ParseError.invalid(text, reason: "empty path component") }
            let ok = component.unicodeScalars.allSatisfy {
                ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "." || $0 == "_" || $0 == "-"
            }
            guard ok else {
                throw ParseError.invalid(text, reason: "repository '\(repository)' must be lower-case letters, digits and separators")
            }
            guard isValidPathComponent(component) else {
                throw ParseError.invalid(
                    text, reason: "path component '\(component)' must be letters or digits joined by '.', '_', '__' or dashes")
            }
        }
    }

    /// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*` (distribution/reference regexp.go `pathComponent`).
    static func isValidPathComponent(_ component: Substring) -> Bool {
        let s = Array(component.utf8)
        func alnum(_ b: UInt8) -> Bool { (b >= 97 && b <= 122) || (b >= 48 && b <= 57) }
        guard let first = s.first, alnum(first) else { return false }
        var i = 0
        while i < s.count {
            if alnum(s[i]) {
                i += 1
                continue
            }
            var j = i + 1
            switch s[i] {
            case UInt8(ascii: "."): break
            case UInt8(ascii: "_"): if j < s.count, s[j] == UInt8(ascii: "_") { j += 1 }
            case UInt8(ascii: "-"): while j < s.count, s[j] == UInt8(ascii: "-") { j += 1 }
            default: return false
            }
            guard j < s.count, alnum(s[j]) else { return false }
            i = j
        }
        return true
    }

    /// `host[:port]` where host is a DNS name (components `[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?`
    /// joined by dots) or a bracketed IPv6 address (distribution/reference regexp.go `domainAndPort`).
    static func isValidDomain(_ domain: String) -> Bool {
        func alnum(_ b: UInt8) -> Bool { (b >= 97 && b <= 122) || (b >= 65 && b <= 90) || (b >= 48 && b <= 57) }
        func hexOrColon(_ b: UInt8) -> Bool {
            (b >= 48 && b <= 58) || (b >= 97 && b <= 102) || (b >= 65 && b <= 70)
        }
        var host = Substring(domain)
        var port: Substring?
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { return false }
            let inner = host[host.index(after: host.startIndex)..<close]
            guard !inner.isEmpty, inner.utf8.allSatisfy(hexOrColon) else { return false }
            let after = host[host.index(after: close)...]
            if !after.isEmpty {
                guard after.first == ":" else { return false }
                port = after.dropFirst()
            }
            host = ""
        } else if let colon = host.firstIndex(of: ":") {
            port = host[host.index(after: colon)...]
            host = host[..<colon]
            guard !host.isEmpty else { return false }
        }
        if let port, port.isEmpty || !port.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) { return false }
        if host.isEmpty { return domain.hasPrefix("[") }
        return host.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            let b = Array(label.utf8)
            guard let f = b.first, let l = b.last, alnum(f), alnum(l) else { return false }
            return b.allSatisfy { alnum($0) || $0 == UInt8(ascii: "-") }
        }
    }

    /// Tag or digest to put in a manifest URL (digest wins), `latest` when neither is given.
    public var manifestReference: String { digest?.description ?? tag ?? Self.defaultTag }

    /// `registry/repository`, the name without tag or digest.
    public var name: String { "\(registry)/\(repository)" }

    /// The same repository at another tag or digest.
    public func with(tag: String? = nil, digest: Digest? = nil) -> ImageReference {
        ImageReference(registry: registry, repository: repository, tag: tag, digest: digest)
    }

    public var description: String {
        var s = name
        if let tag { s += ":" + tag }
        if let digest { s += "@" + digest.description }
        return s
    }

    /// The short form Docker prints (`debian:12` for `docker.io/library/debian:12`).
    public var familiarDescription: String {
        var s = description
        if registry == Self.defaultRegistry {
            s.removeFirst(registry.count + 1)
            // Only official images lose `library/` (`docker.io/library/foo/bar` stays as is).
            if repository.hasPrefix("library/"), !repository.dropFirst("library/".count).contains("/") {
                s.removeFirst("library/".count)
            }
        }
        return s
    }

    public init(from decoder: Decoder) throws {
        try self.init(parsing: try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}
