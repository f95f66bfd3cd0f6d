import PluginSupport

/// A git repository named as a build context or an ADD source, with BuildKit's rules for what
/// is git (`git://`, `ssh://`, `git@host:…`, an `http(s)://` URL whose path ends in `.git`) and
/// for the fragment (`#ref:subdir`), plus kaniko's `#ref#commit`.
public struct GitSource: Sendable, Hashable {
    /// The clone URL, without fragment and without credentials.
    public var remote: String
    /// Branch, tag, commit or full ref name (`refs/heads/x`); nil for the remote's HEAD.
    public var ref: String?
    /// The directory inside the repository to use (BuildKit's `:subdir`).
    public var subdirectory: String?
    /// kaniko's `git://…#ref#commit`: the commit to check out after fetching `ref`.
    public var commit: String?
    /// BuildKit's query form (`?ref=…&subdir=…&checksum=…&keep-git-dir=…&submodules=…`):
    /// the commit the ref must resolve to, and the two switches when given.
    public var checksum: String?
    /// `keep-git-dir=`: keep `.git` in what is copied.
    public var keepGitDirectory: Bool?
    /// `submodules=`: check submodules out (nil: the caller's default).
    public var submodules: Bool?
    /// `user[:password]` taken out of the URL; never logged.
    var credentials: (user: String, password: String?)?

    /// Equal when every part is, credentials included (a tuple cannot synthesise this).
    public static func == (a: GitSource, b: GitSource) -> Bool {
        a.remote == b.remote && a.ref == b.ref && a.subdirectory == b.subdirectory && a.commit == b.commit
            && a.checksum == b.checksum && a.keepGitDirectory == b.keepGitDirectory && a.submodules == b.submodules
            && a.credentials?.user == b.credentials?.user && a.credentials?.password == b.credentials?.password
    }

    /// Hashes the parts that are not secret.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(remote)
        hasher.combine(ref)
        hasher.combine(subdirectory)
        hasher.combine(commit)
    }

    /// Whether `text` names a git repository by BuildKit's rules (a bare `github.com/…` is not:
    /// it cannot be told from a local path).
    public static func isGit(_ text: String) -> Bool {
        let base = text.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? text
        if base.hasPrefix("git://") || base.hasPrefix("ssh://") || base.hasPrefix("git@") { return true }
        if base.hasPrefix("http://") || base.hasPrefix("https://") {
            let path = base.split(separator: "?", maxSplits: 1).first.map(String.init) ?? base
            return path.hasSuffix(".git") || path.hasSuffix(".git/")
        }
        return false
    }

    /// Parses a git URL; nil when `text` is not one (`isGit`).
    public init?(_ text: String) {
        guard Self.isGit(text) else { return nil }
        var base = text
        var fragment: String?
        if let hash = text.firstIndex(of: "#") {
            base = String(text[..<hash])
            fragment = String(text[text.index(after: hash)...])
        }
        var query: Substring?
        if base.contains("://"), let mark = base.firstIndex(of: "?") {
            query = base[base.index(after: mark)...]
            base = String(base[..<mark])
        }
        (remote, credentials) = Self.splitCredentials(base)
        if let query { applyQuery(query) }
        guard let fragment, !fragment.isEmpty else { return }
        if let second = fragment.firstIndex(of: "#") {
            // kaniko: `#refs/heads/branch#<commit>`.
            ref = String(fragment[..<second])
            let c = String(fragment[fragment.index(after: second)...])
            commit = c.isEmpty ? nil : c
        } else if let colon = fragment.firstIndex(of: ":") {
            ref = String(fragment[..<colon])
            let sub = String(fragment[fragment.index(after: colon)...])
            subdirectory = sub.isEmpty ? nil : sub
        } else {
            ref = fragment
        }
        if ref?.isEmpty == true { ref = nil }
    }

    /// BuildKit's query parameters; unknown ones are ignored, as BuildKit ignores them.
    private mutating func applyQuery(_ query: Substring) {
        for item in query.split(separator: "&") {
            let pair = item.split(separator: "=", maxSplits: 1).map { String($0).percentDecoded ?? String($0) }
            let value = pair.count > 1 ? pair[1] : ""
            switch pair[0] {
            case "ref", "branch", "tag": ref = value.isEmpty ? nil : value
            case "subdir": subdirectory = value.isEmpty ? nil : value
            case "checksum", "commit": checksum = value.isEmpty ? nil : value.lowercased()
            case "keep-git-dir": keepGitDirectory = ["", "1", "true"].contains(value.lowercased())
            case "submodules": submodules = ["", "1", "true"].contains(value.lowercased())
            default: break
            }
        }
    }

    /// `scheme://user:pass@host/…` → (`scheme://host/…`, credentials). scp-like `git@host:path`
    /// keeps its user: it is the ssh login, not a secret.
    static func splitCredentials(_ url: String) -> (String, (user: String, password: String?)?) {
        guard let schemeEnd = url.firstRange(of: "://") else { return (url, nil) }
        let rest = url[schemeEnd.upperBound...]
        let authorityEnd = rest.firstIndex(of: "/") ?? rest.endIndex
        guard let at = rest[..<authorityEnd].lastIndex(of: "@") else { return (url, nil) }
        let info = rest[..<at]
        let stripped = String(url[..<schemeEnd.upperBound]) + rest[rest.index(after: at)...]
        // ssh://git@host/… keeps its login user, as scp-like URLs do.
        if url.hasPrefix("ssh://") && !info.contains(":") { return (url, nil) }
        if let colon = info.firstIndex(of: ":") {
            return (
                stripped,
                (String(info[..<colon]).percentDecoded ?? "", String(info[info.index(after: colon)...]).percentDecoded)
            )
        }
        return (stripped, (String(info).percentDecoded ?? String(info), nil))
    }

    /// The URL as it may appear in logs and errors: credentials never do.
    public var displayName: String {
        var text = remote
        if credentials != nil, let schemeEnd = remote.firstRange(of: "://") {
            text = String(remote[..<schemeEnd.upperBound]) + "xxxxx@" + remote[schemeEnd.upperBound...]
        }
        if let ref { text += "#" + ref }
        if let subdirectory { text += (ref == nil ? "#:" : ":") + subdirectory }
        if let commit { text += "#" + commit }
        return text
    }

    /// Whether `ref` looks like a commit ID (7 to 40 hex digits; 64 for SHA-256 repositories).
    static func isCommitID(_ text: String) -> Bool {
        (7...64).contains(text.count) && text.allSatisfy { $0.isHexDigit && !$0.isUppercase }
    }
}

/// Redacts `scheme://user:password@` from any URL inside `text` (error messages, git's stderr).
public func redactingURLCredentials(_ text: String) -> String {
    var out = ""
    var rest = Substring(text)
    while let scheme = rest.firstRange(of: "://") {
        out += rest[..<scheme.upperBound]
        rest = rest[scheme.upperBound...]
        let end = rest.firstIndex(where: { $0 == "/" || $0 == " " || $0 == "'" || $0 == "\"" || $0 == "\n" }) ?? rest.endIndex
        if let at = rest[..<end].lastIndex(of: "@") {
            out += "xxxxx@"
            rest = rest[rest.index(after: at)...]
        }
    }
    return out + rest
}
