// docker `config.json` files with credentials, written into a temporary DOCKER_CONFIG directory.
import Foundation

/// Writes a docker `config.json` the way `docker login` leaves it.
public enum DockerConfigFile {
    /// What `auths[host]` holds.
    public enum Credential: Sendable {
        /// `auth`: base64 of `user:password`.
        case basic(user: String, password: String)
        /// `identitytoken`: an OAuth2 refresh token (sent with the POST token flow); docker
        /// keeps `auth` as base64 of `user:` beside it.
        case identityToken(user: String, token: String)
    }

    /// Writes `directory/config.json` with `auths` for each host and returns `directory`
    /// (the value for `$DOCKER_CONFIG` or `RegistryOptions.dockerConfigDirectory`).
    @discardableResult
    public static func write(_ auths: [String: Credential], to directory: String) throws -> String {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var entries: [String: [String: String]] = [:]
        for (host, credential) in auths {
            switch credential {
            case .basic(let user, let password):
                entries[host] = ["auth": basicAuth(user: user, password: password)]
            case .identityToken(let user, let token):
                entries[host] = ["auth": Data("\(user):".utf8).base64EncodedString(), "identitytoken": token]
            }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(["auths": entries]).write(to: URL(fileURLWithPath: directory + "/config.json"))
        return directory
    }

    /// base64 of `user:password`: the `auth` field, and a secret the tests look for in logs.
    public static func basicAuth(user: String, password: String) -> String {
        Data("\(user):\(password)".utf8).base64EncodedString()
    }
}
