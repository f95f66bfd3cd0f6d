// Where credentials come from, in order (first hit wins):
//   1. KILN_REGISTRY_USERNAME / KILN_REGISTRY_PASSWORD, for the host(s) named in KILN_REGISTRY
//      (comma-separated). Without KILN_REGISTRY they are ignored: a password meant for one
//      registry must never be offered to every registry (mirrors, base-image hosts).
//   2. docker's config.json (RegistryOptions.dockerConfigDirectory, else $DOCKER_CONFIG, else
//      /kaniko/.docker when it holds one, as kaniko, else ~/.docker): `credHelpers[host]`, then an `auths` entry with credentials, then
//      `credsStore`. Helpers are `docker-credential-<name> get` with the server URL on stdin.
//   3. GitLab CI's CI_REGISTRY / CI_REGISTRY_USER / CI_REGISTRY_PASSWORD (as kaniko does).
// None found means anonymous access.
import FoundationEssentials
import HTTPTransport
import PluginSupport

struct CredentialLookup: Sendable {
    /// Directory holding config.json.
    var configDirectory: String
    var environment: [String: String]
    /// Seconds a credential helper may take before it is killed.
    var helperTimeout: Int64 = 60

    init(options configDirectory: String?, environment: [String: String]) {
        self.environment = environment
        if let dir = configDirectory ?? environment["DOCKER_CONFIG"], !dir.isEmpty {
            self.configDirectory = dir
        } else if FileManager.default.fileExists(atPath: Self.kanikoDirectory + "/config.json") {
            // Where kaniko's users' jobs write it (kaniko's default when DOCKER_CONFIG is unset).
            self.configDirectory = Self.kanikoDirectory
        } else {
            self.configDirectory = (environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? "/root") + "/.docker"
        }
    }

    static let kanikoDirectory = "/kaniko/.docker"

    var configPath: String { configDirectory + "/config.json" }

    /// What was found for a host, plus notes for the hint when nothing usable was found
    /// (a helper that failed, an unreadable config file).
    struct Result: Sendable {
        var credential: Credential?
        var notes: [String] = []
    }

    /// Looks up `host` (blocking: may run a credential helper).
    func lookup(host: String) -> Result {
        let key = RegistryHost.normalise(host)
        var result = Result()
        if let list = environment["KILN_REGISTRY"],
            list.split(separator: ",").contains(where: { RegistryHost.normalise(String($0).trimmed(" ")) == key }),
            let user = environment["KILN_REGISTRY_USERNAME"], let password = environment["KILN_REGISTRY_PASSWORD"]
        {
            result.credential = Credential(
                secret: .password(username: user, Redacted(password)), source: "KILN_REGISTRY_USERNAME/KILN_REGISTRY_PASSWORD")
            return result
        }
        fromConfig(key: key, host: host, into: &result)
        if result.credential == nil, let ci = environment["CI_REGISTRY"], RegistryHost.normalise(ci) == key,
            let user = environment["CI_REGISTRY_USER"], let password = environment["CI_REGISTRY_PASSWORD"]
        {
            result.credential = Credential(
                secret: .password(username: user, Redacted(password)), source: "CI_REGISTRY_USER/CI_REGISTRY_PASSWORD")
        }
        result.credential?.registerSecrets()
        return result
    }

    private func fromConfig(key: String, host: String, into result: inout Result) {
        guard let data = FileManager.default.contents(atPath: configPath) else { return }
        guard let config = JSONValue.parse(data)?.object else {
            result.notes.append("\(configPath) is not valid JSON")
            return
        }
        let helpers = config["credHelpers"]?.object?.compactMapValues(\.string) ?? [:]
        if let helper = helpers.first(where: { RegistryHost.normalise($0.key) == key })?.value {
            result.credential = runHelper(helper, host: host, notes: &result.notes)
            return
        }
        let auths = config["auths"]?.object?.compactMapValues(\.object) ?? [:]
        // An exact key wins over a normalised match (`https://h` and `h` may both be present).
        let entry = auths[host] ?? auths.first(where: { RegistryHost.normalise($0.key) == key })?.value
        if let entry, let credential = Self.parse(entry: entry, source: configPath) {
            result.credential = credential
            return
        }
        if let store = config["credsStore"]?.string, !store.isEmpty {
            result.credential = runHelper(store, host: host, notes: &result.notes)
        }
    }

    /// Parses one `auths` entry: `auth` (base64 user:pass), `username`/`password`,
    /// `identitytoken`, `registrytoken`. Returns nil for an entry with no credential (`{}`).
    static func parse(entry: [String: JSONValue], source: String) -> Credential? {
        var user = entry["username"]?.string
        var password = entry["password"]?.string
        if let auth = entry["auth"]?.string, !auth.isEmpty,
            let decoded = Data(base64Encoded: auth, options: .ignoreUnknownCharacters),
            let text = String(data: decoded, encoding: .utf8), let colon = text.firstIndex(of: ":")
        {
            user = String(text[..<colon])
            password = String(text[text.index(after: colon)...])
        }
        if let token = entry["identitytoken"]?.string, !token.isEmpty {
            return Credential(secret: .identityToken(username: user, Redacted(token)), source: source)
        }
        if let token = entry["registrytoken"]?.string, !token.isEmpty {
            return Credential(secret: .registryToken(Redacted(token)), source: source)
        }
        guard let user, !user.isEmpty, let password else { return nil }
        return Credential(secret: .password(username: user, Redacted(password)), source: source)
    }

    private func runHelper(_ name: String, host: String, notes: inout [String]) -> Credential? {
        let program = "docker-credential-" + name
        let output: SubprocessResult
        do {
            output = try Subprocess.run(
                program, arguments: ["get"], input: Array(RegistryHost.serverURL(host).utf8), timeoutSeconds: helperTimeout)
        } catch {
            notes.append("\(error) (named in \(configPath))")
            return nil
        }
        guard output.exitStatus == 0 else {
            let message = String(decoding: output.standardOutput + output.standardError, as: UTF8.self).trimmed(" \n")
            // "credentials not found in native keychain" is the helpers' way of saying "none".
            if !message.lowercased().contains("not found") {
                notes.append("\(program) get failed with status \(output.exitStatus): \(SecretScrubber.shared.scrub(message))")
            }
            return nil
        }
        guard let json = JSONValue.parse(output.standardOutput), let secret = json["Secret"]?.string, !secret.isEmpty
        else {
            notes.append("\(program) get printed no usable JSON")
            return nil
        }
        let user = json["Username"]?.string ?? ""
        let source = "\(program) (from \(configPath))"
        if user == "<token>" || user.isEmpty {
            return Credential(secret: .identityToken(username: nil, Redacted(secret)), source: source)
        }
        return Credential(secret: .password(username: user, Redacted(secret)), source: source)
    }
}
