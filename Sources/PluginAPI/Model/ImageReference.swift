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
        if registry == Self.defaultRegistry, !path.contains("/") { path = "library/" + path }
        try Self.validate(repository: path, in: text)
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
            guard let f = component.unicodeScalars.first, let l = component.unicodeScalars.last,
                f.properties.isAlphabetic || ("0"..."9").contains(f),
                l.properties.isAlphabetic || ("0"..."9").contains(l)
            else { throw ParseError.invalid(text, reason: "path component '\(component)' must start and end with a letter or digit") }
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
            if s.hasPrefix("library/") { s.removeFirst("library/".count) }
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
