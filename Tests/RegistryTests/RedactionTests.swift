// No credential or token ever reaches a log line or an error message, at any verbosity.
import Foundation
import PluginAPI
import TestSupport
import Testing

extension RegistryIntegration {
    @Suite struct RedactionTests {
        /// Runs `body`, keeping the text of any error it throws (successes add nothing).
        static func collect(_ errors: inout [String], _ body: () async throws -> Void) async {
            do { try await body() } catch {
                errors.append("\(error)")
                errors.append(String(reflecting: error))
                if let f = error as? any RegistryFailure { errors.append(f.description) }
            }
        }

        @Test func noSecretInAnyLogLineOrError() async throws {
            let scratch = try FixtureDirectory(prefix: "kiln-redaction")
            defer { scratch.remove() }
            let log = LogCapture()
            var errors: [String] = []
            var secrets = [
                BasicAuthTests.password, TokenAuthTests.password, TokenAuthTests.identityToken,
                DockerConfigFile.basicAuth(user: BasicAuthTests.user, password: BasicAuthTests.password),
                DockerConfigFile.basicAuth(user: TokenAuthTests.user, password: TokenAuthTests.password),
            ]
            let wrong = "Wrong-Redaction-Pa55-8d0f"
            secrets += [
                wrong, DockerConfigFile.basicAuth(user: BasicAuthTests.user, password: wrong),
                DockerConfigFile.basicAuth(user: TokenAuthTests.user, password: wrong),
            ]
            let image = try await PushableImage.make(layerSizes: [30_000, 200_000], in: scratch)

            // Basic auth over TLS: a push and pull with the password, then a wrong password.
            try await withRegistry(.tlsBasic(users: [BasicAuthTests.user: BasicAuthTests.password])) { registry in
                let reference = ImageReference(registry: registry.host, repository: "kiln/redact", tag: "v1")
                let good = RegistryPlugin.options(for: registry, dockerConfig: try BasicAuthTests.dockerConfig(registry, in: scratch))
                let client = try RegistryPlugin.client(good, log: log)
                await Self.collect(&errors) { try await image.push(with: client, to: reference) }
                await Self.collect(&errors) { _ = try await client.fetchManifest(reference, accept: MediaType.manifestAccept) }
                let bad = RegistryPlugin.options(
                    for: registry, dockerConfig: try BasicAuthTests.dockerConfig(registry, password: wrong, in: scratch))
                let badClient = try RegistryPlugin.client(bad, log: log)
                await Self.collect(&errors) { _ = try await badClient.fetchManifest(reference, accept: MediaType.manifestAccept) }
                await Self.collect(&errors) { try await image.push(with: badClient, to: reference.with(tag: "v2")) }
            }

            // Tokens: GET flow with a password, POST flow with an identity token, a token that
            // expires mid-push, a wrong password, and an anonymous token that is refused.
            try await withRegistry(.token(TokenAuthTests.configuration(expiresIn: 2, compensateLeeway: true))) { registry in
                let issuer = try #require(registry.tokenIssuer)
                let reference = ImageReference(registry: registry.host, repository: "team/redact", tag: "v1")
                let basic = try RegistryPlugin.client(
                    RegistryPlugin.options(for: registry, dockerConfig: try TokenAuthTests.credentials(registry, in: scratch)), log: log)
                await Self.collect(&errors) { try await image.push(with: basic, to: reference) }
                try await Task.sleep(nanoseconds: 2_500_000_000)
                await Self.collect(&errors) { _ = try await basic.fetchManifest(reference, accept: MediaType.manifestAccept) }
                let identity = try DockerConfigFile.write(
                    [registry.host: .identityToken(user: TokenAuthTests.user, token: TokenAuthTests.identityToken)],
                    to: scratch.file("docker-identity"))
                let viaRefresh = try RegistryPlugin.client(RegistryPlugin.options(for: registry, dockerConfig: identity), log: log)
                await Self.collect(&errors) { try await image.push(with: viaRefresh, to: reference.with(tag: "v2")) }
                let wrongConfig = try DockerConfigFile.write(
                    [registry.host: .basic(user: TokenAuthTests.user, password: wrong)],
                    to: scratch.file("docker-wrong"))
                let wrongClient = try RegistryPlugin.client(RegistryPlugin.options(for: registry, dockerConfig: wrongConfig), log: log)
                await Self.collect(&errors) { _ = try await wrongClient.fetchManifest(reference, accept: MediaType.manifestAccept) }
                let anonymous = try RegistryPlugin.client(RegistryPlugin.options(for: registry), log: log)
                await Self.collect(&errors) { _ = try await anonymous.fetchManifest(reference, accept: MediaType.manifestAccept) }
                secrets += issuer.issuedSecrets()
                #expect(issuer.issuedSecrets().count >= 3, "the scenario must have issued tokens: \(issuer.issues().count)")
            }

            #expect(errors.count >= 3, "the failing steps must have failed: \(errors)")
            #expect(log.lines.count >= 20, "the plugin logs each request at debug level: \(log.lines.count) lines")
            let everything = log.text + "\n" + errors.joined(separator: "\n")
            for secret in Set(secrets) where !secret.isEmpty {
                #expect(!everything.contains(secret), "a secret leaked (\(secret.prefix(6))…)")
                // JWTs leak by their signature part alone as well.
                if let signature = secret.split(separator: ".").last, secret.split(separator: ".").count == 3 {
                    #expect(!everything.contains(signature), "a token signature leaked")
                }
            }
            #expect(!everything.contains("Authorization: Basic") && !everything.contains("Authorization: Bearer ey"))
        }
    }
}
