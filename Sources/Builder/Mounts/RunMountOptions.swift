// What `RUN --mount` needs from the command line: secrets (`--secret`), ssh agent sockets
// (`--ssh`) and where cache mounts live (`--run-cache-dir`). The spellings are buildx's.
import FoundationEssentials
import Glibc

/// `--secret`, `--ssh` and `--run-cache-dir`, resolved.
public struct RunMountOptions: Sendable {
    /// Secrets by id (`--secret id=…`).
    public var secrets: [String: BuildSecret] = [:]
    /// Agent sockets by id (`--ssh default`, `--ssh id=/path/to/socket`).
    public var sshAgents: [String: String] = [:]
    /// `--run-cache-dir`: where `RUN --mount=type=cache` directories are kept between builds.
    /// nil: `<--kaniko-dir>/run-cache` when a working directory is named, else
    /// `/var/cache/kiln/run-cache`. Never kaniko's `--cache-dir` (base images).
    public var cacheDirectory: String?

    public init() {}

    /// Why a `--secret` or `--ssh` value cannot be used. The messages never hold a secret's value.
    public enum Error: Swift.Error, CustomStringConvertible, Equatable {
        case malformed(flag: String, reason: String)
        case unreadable(id: String, path: String, reason: String)
        case missingEnvironment(id: String, name: String)
        case noAgent

        public var description: String {
            switch self {
            case .malformed(let flag, let reason): return "--\(flag): \(reason)"
            case .unreadable(let id, let path, let reason): return "--secret id=\(id): cannot read \(path): \(reason)"
            case .missingEnvironment(let id, let name): return "--secret id=\(id): the environment variable \(name) is not set"
            case .noAgent: return "--ssh default: SSH_AUTH_SOCK is not set; name the socket (--ssh default=/path/to/agent.sock)"
            }
        }
    }

    /// Adds one `--secret` value: `id=ID[,src=PATH|,env=NAME][,type=file|env]`, or a bare `ID`
    /// (read from the environment variable of that name when set, else the file of that name),
    /// as buildx does.
    public mutating func addSecret(_ spec: String, environment: [String: String]) throws {
        var id = ""
        var path: String?
        var env: String?
        var type: String?
        for field in spec.split(separator: ",", omittingEmptySubsequences: false).map(String.init) {
            guard let eq = field.firstIndex(of: "=") else {
                if spec.contains(",") || field.isEmpty {
                    throw Error.malformed(flag: "secret", reason: "invalid field '\(field)' must be a key=value pair")
                }
                id = field
                continue
            }
            let value = String(field[field.index(after: eq)...])
            switch field[..<eq].lowercased() {
            case "type":
                guard value == "file" || value == "env" else {
                    throw Error.malformed(flag: "secret", reason: "unsupported secret type \"\(value)\"")
                }
                type = value
            case "id": id = value
            case "source", "src": path = value
            case "env": env = value
            default:
                throw Error.malformed(flag: "secret", reason: "unexpected key '\(field[..<eq])' in '\(field)'")
            }
        }
        guard !id.isEmpty else { throw Error.malformed(flag: "secret", reason: "id is required in '\(spec)'") }
        if type == "env" && env == nil {
            env = path ?? id
            path = nil
        }
        if path != nil && env != nil { throw Error.malformed(flag: "secret", reason: "cannot use both source and env for secret \(id)") }
        if path == nil && env == nil {
            if environment[id] != nil { env = id } else { path = id }
        }
        if let env {
            guard let value = environment[env] else { throw Error.missingEnvironment(id: id, name: env) }
            secrets[id] = BuildSecret(Array(value.utf8))
        } else if let path {
            do {
                secrets[id] = BuildSecret(Array(try Data(contentsOf: URL(fileURLWithPath: path))))
            } catch {
                throw Error.unreadable(id: id, path: path, reason: "\(error)")
            }
        }
    }

    /// Adds one `--ssh` value: `default` (the agent at `$SSH_AUTH_SOCK`), `ID=SOCKET[,SOCKET…]`
    /// (the first socket is used), or `ID` alone for `$SSH_AUTH_SOCK` under that id.
    public mutating func addSSH(_ spec: String, environment: [String: String]) throws {
        let eq = spec.firstIndex(of: "=")
        let id = String(eq.map { spec[..<$0] } ?? spec[...])
        guard !id.isEmpty, !id.contains(",") else { throw Error.malformed(flag: "ssh", reason: "invalid value '\(spec)'") }
        var socket = eq.map { String(spec[spec.index(after: $0)...].split(separator: ",").first ?? "") } ?? ""
        if socket.isEmpty {
            guard let agent = environment["SSH_AUTH_SOCK"], !agent.isEmpty else { throw Error.noAgent }
            socket = agent
        }
        sshAgents[id] = socket
    }
}

/// A secret's bytes. Its descriptions never show them, so a secret printed by mistake (a log
/// line, an error, a debugger dump of the options) says only that it is one.
public struct BuildSecret: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The value, exactly as read from the file or the environment.
    public let bytes: [UInt8]

    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    public var description: String { "<secret, \(bytes.count) bytes>" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: [:]) }
}
