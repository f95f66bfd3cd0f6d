import Diagnostics
import FoundationEssentials
import Glibc
import PluginSupport

/// Checks a `GitSource` out with the system `git`: a shallow fetch of the one ref (a branch, a
/// tag, a commit ID, or the remote's HEAD), falling back to a full fetch when the server refuses
/// to hand out a commit by its ID. Credentials from the URL or kaniko's `GIT_USERNAME`,
/// `GIT_PASSWORD`, `GIT_TOKEN` reach git through a credential helper reading the child's
/// environment: never its arguments, never a log line.
public struct GitCheckout: Sendable {
    /// kaniko's `--git` options.
    public struct Options: Sendable, Hashable {
        /// `branch=`: the ref to fetch when the URL names none.
        public var branch: String?
        /// `single-branch=`: accepted; kiln always fetches only the ref it needs.
        public var singleBranch = false
        /// `recurse-submodules=`: also check out submodules (ADD of a git source always does, as BuildKit).
        public var recurseSubmodules = false
        /// `insecure-skip-tls=`: do not verify the server's certificate.
        public var insecureSkipTLS = false

        public init() {}

        /// Parses `--git` values: `key=value` pairs, comma-separated, repeatable.
        public init(parsing values: [String]) throws {
            for value in values {
                for pair in value.split(separator: ",") {
                    let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
                    let key = parts[0].trimmed()
                    let text = parts.count > 1 ? parts[1] : ""
                    func flag() throws -> Bool {
                        switch text.lowercased() {
                        case "true", "1", "": return true
                        case "false", "0": return false
                        default: throw KilnError.usage("--git \(key)= must be true or false, not '\(text)'")
                        }
                    }
                    switch key {
                    case "branch": branch = text.isEmpty ? nil : text
                    case "single-branch": singleBranch = try flag()
                    case "recurse-submodules": recurseSubmodules = try flag()
                    case "insecure-skip-tls": insecureSkipTLS = try flag()
                    default:
                        throw KilnError.usage(
                            "--git has no option '\(key)' (it takes branch=, single-branch=, recurse-submodules=, insecure-skip-tls=)")
                    }
                }
            }
        }
    }

    /// Why a checkout failed; git's own words (credentials removed) are kept.
    public enum Error: Swift.Error, CustomStringConvertible {
        case gitMissing
        case failed(source: String, step: String, output: String)
        case subdirectory(source: String, path: String)
        case checksum(source: String, expected: String, actual: String)

        public var description: String {
            switch self {
            case .gitMissing: return "git sources need the git program, which is not on PATH (install git)"
            case .failed(let source, let step, let output):
                let detail = output.trimmed(" \t\n\r")
                return "git \(step) of \(source) failed" + (detail.isEmpty ? "" : ": " + detail)
            case .subdirectory(let source, let path): return "\(source): the repository has no directory '\(path)'"
            case .checksum(let source, let expected, let actual):
                return "\(source): checksum mismatch: expected commit \(expected), checked out \(actual)"
            }
        }
    }

    /// What to check out.
    public let source: GitSource
    /// kaniko's `--git` options.
    public var options: Options
    /// The process environment (kaniko's `GIT_*` credentials, `GIT_PULL_METHOD`, proxies).
    public var environment: [String: String]

    public init(source: GitSource, options: Options = Options(), environment: [String: String]) {
        self.source = source
        self.options = options
        self.environment = environment
    }

    /// Clones into `directory` (created) and returns the commit checked out.
    public func checkout(into directory: String) throws -> String {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let url = remoteURL
        try run(["init", "-q", directory], step: "init")
        try run(["-C", directory, "remote", "add", "origin", url], step: "init")
        let ref = source.ref ?? options.branch
        let wanted = ref ?? "HEAD"
        var target = "FETCH_HEAD"
        do {
            try run(fetchArguments(directory) + ["origin", wanted], step: "fetch")
        } catch {
            // A server may refuse a commit ID (or a short one cannot be fetched): fetch everything.
            guard let ref, GitSource.isCommitID(ref) else { throw error }
            try run(
                ["-C", directory] + tlsArguments + ["fetch", "-q", "--tags", "origin", "+refs/heads/*:refs/remotes/origin/*"],
                step: "fetch")
            target = ref
        }
        if let commit = source.commit {
            // kaniko's `#ref#commit`: the commit must be in what was fetched; deepen when shallow.
            if (try? run(["-C", directory, "cat-file", "-e", commit + "^{commit}"], step: "checkout")) == nil {
                try run(["-C", directory] + tlsArguments + ["fetch", "-q", "--unshallow", "origin", wanted], step: "fetch")
            }
            target = commit
        }
        try run(["-C", directory, "-c", "advice.detachedHead=false", "checkout", "-q", "--detach", target + "^{commit}"], step: "checkout")
        if source.submodules ?? options.recurseSubmodules {
            try run(
                ["-C", directory] + tlsArguments + ["submodule", "update", "-q", "--init", "--recursive", "--depth", "1"],
                step: "submodule update")
        }
        let head = try run(["-C", directory, "rev-parse", "HEAD"], step: "rev-parse").trimmed(" \t\n\r")
        if let expected = source.checksum, !GitSource.isCommitID(expected) || !head.hasPrefix(expected) {
            throw Error.checksum(source: source.displayName, expected: expected, actual: head)
        }
        return head
    }

    /// The clone URL; kaniko's `GIT_PULL_METHOD=http|https` turns `git://host/repo` into that scheme.
    var remoteURL: String {
        if source.remote.hasPrefix("git://"), let method = environment["GIT_PULL_METHOD"], ["http", "https"].contains(method) {
            return method + "://" + source.remote.dropFirst("git://".count)
        }
        return source.remote
    }

    func fetchArguments(_ directory: String) -> [String] {
        ["-C", directory] + tlsArguments + ["fetch", "-q", "--depth", "1", "--no-tags"]
    }

    var tlsArguments: [String] { options.insecureSkipTLS ? ["-c", "http.sslVerify=false"] : [] }

    /// Username and password for an http(s) remote: the URL's, else kaniko's variables.
    var credentials: (user: String, password: String)? {
        if let c = source.credentials { return (c.user, c.password ?? "") }
        if let token = environment["GIT_TOKEN"], !token.isEmpty { return (environment["GIT_USERNAME"] ?? "git", token) }
        if let user = environment["GIT_USERNAME"], let password = environment["GIT_PASSWORD"] { return (user, password) }
        return nil
    }

    var secrets: [String] {
        guard let c = credentials else { return [] }
        return [c.password, c.user].filter { $0.count >= 3 }
    }

    /// Runs git; returns its standard output. The error carries its standard error, redacted.
    @discardableResult
    func run(_ arguments: [String], step: String) throws -> String {
        guard let git = Self.gitPath(environment) else { throw Error.gitMissing }
        var env = environment
        env["GIT_TERMINAL_PROMPT"] = "0"
        env["GIT_ASKPASS"] = nil
        env["SSH_ASKPASS"] = nil
        if env["GIT_SSH_COMMAND"] == nil && env["GIT_SSH"] == nil { env["GIT_SSH_COMMAND"] = "ssh -o BatchMode=yes" }
        var args = arguments
        if let c = credentials, remoteURL.hasPrefix("http") {
            env["KILN_GIT_USERNAME"] = c.user
            env["KILN_GIT_PASSWORD"] = c.password
            let helper =
                "!f() { test \"$1\" = get && printf 'username=%s\\npassword=%s\\n' \"$KILN_GIT_USERNAME\" \"$KILN_GIT_PASSWORD\"; }; f"
            args = ["-c", "credential.helper=", "-c", "credential.helper=" + helper] + args
        }
        let result: SubprocessResult
        do { result = try Subprocess.run(git, arguments: args, environment: env, timeoutSeconds: nil) } catch {
            throw Error.gitMissing
        }
        guard result.exitStatus == 0 else {
            var text = redactingURLCredentials(String(decoding: result.standardError, as: UTF8.self))
            for secret in secrets { text = text.replacing(secret, with: "xxxxx") }
            throw Error.failed(source: source.displayName, step: step, output: text)
        }
        return String(decoding: result.standardOutput, as: UTF8.self)
    }

    static func gitPath(_ environment: [String: String]) -> String? {
        let path = environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for dir in path.split(separator: ":") where access(dir + "/git", X_OK) == 0 { return dir + "/git" }
        return access("/usr/bin/git", X_OK) == 0 ? "/usr/bin/git" : nil
    }

    /// The checked-out tree as a context: `subdirectory` (which must exist inside it) without
    /// `.git` unless `keepGitDirectory`.
    public static func contextDirectory(of checkout: String, source: GitSource, keepGitDirectory: Bool) throws -> String {
        if !keepGitDirectory { try? removeTree(checkout + "/.git") }
        guard let sub = source.subdirectory else { return checkout }
        let clean = BuildRoot.components(sub)
        guard !clean.isEmpty else { return checkout }
        let path = checkout + "/" + clean.joined(separator: "/")
        // The subdirectory must be a real directory of the checkout, not a symlink out of it.
        var st = stat()
        var prefix = checkout
        for component in clean {
            prefix += "/" + component
            guard lstat(prefix, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR else {
                throw Error.subdirectory(source: source.displayName, path: sub)
            }
        }
        return path
    }
}

extension GitCheckout.Error: DiagnosticCoded {
    public var diagnosticCode: KilnError.Code {
        switch self {
        case .gitMissing: return .notFound
        case .failed: return .network
        case .subdirectory: return .notFound
        case .checksum: return .invalidInput
        }
    }
}
