// The token-auth registry: anonymous tokens, Basic credentials for the GET flow, identity
// tokens for the OAuth2 POST flow, and a token that expires during a push.
import Foundation
import PluginAPI
import TestSupport
import Testing

extension RegistryIntegration {
    @Suite struct TokenAuthTests {
        static let user = "kiln-token"
        static let password = "Token-Pa55w0rd-41d2"
        static let identityToken = "identity-token-5b7e0c9a2f"

        /// `user` may push and pull anywhere; anonymous users may only pull `public/*`.
        static func configuration(expiresIn: Int = 300, compensateLeeway: Bool = false) -> TokenIssuerFixture.Configuration {
            TokenIssuerFixture.Configuration(
                users: [user: password], refreshTokens: [identityToken: user],
                grants: [
                    .init(account: user, name: "*", actions: ["pull", "push"]),
                    .init(account: "", name: "public/*", actions: ["pull"]),
                ],
                expiresIn: expiresIn, compensateLeeway: compensateLeeway)
        }

        static func credentials(_ registry: RegistryFixture, in scratch: FixtureDirectory) throws -> String {
            try DockerConfigFile.write([registry.host: .basic(user: user, password: password)], to: scratch.file("docker-basic"))
        }

        @Test func anonymousPullIsDeniedClearlyAndPublicPullWorks() async throws {
            let scratch = try FixtureDirectory(prefix: "kiln-token")
            defer { scratch.remove() }
            try await withRegistry(.token(Self.configuration())) { registry in
                let issuer = try #require(registry.tokenIssuer)
                let image = try await PushableImage.make(layerSizes: [20_000], in: scratch)
                let owner = try RegistryPlugin.client(
                    RegistryPlugin.options(for: registry, dockerConfig: try Self.credentials(registry, in: scratch)))
                let privateRef = ImageReference(registry: registry.host, repository: "team/private", tag: "v1")
                let publicRef = ImageReference(registry: registry.host, repository: "public/base", tag: "v1")
                try await image.push(with: owner, to: privateRef)
                try await image.push(with: owner, to: publicRef)

                let anonymous = try RegistryPlugin.client(RegistryPlugin.options(for: registry))
                // Closures stay outside #require/#expect: see CaughtFailure.
                let caught = await CaughtFailure.of { _ = try await anonymous.fetchManifest(privateRef, accept: MediaType.manifestAccept) }
                let denied = try #require(caught, "an anonymous token grants nothing on team/private")
                #expect(denied.status == 401 || denied.status == 403, "\(denied.text)")
                #expect(denied.text.contains(registry.host) && denied.text.contains("team/private"), "\(denied.text)")
                #expect(denied.text.lowercased().contains("auth") || denied.text.lowercased().contains("denied"), "\(denied.text)")
                #expect(issuer.issues().contains { $0.account == "" && $0.token != nil }, "the client asked for an anonymous token")

                let pulled = try await anonymous.fetchManifest(publicRef, accept: MediaType.manifestAccept)
                #expect(pulled.digest == image.manifestDigest)
                let pushDenied = await CaughtFailure.of { try await image.push(with: anonymous, to: publicRef.with(tag: "v2")) }
                #expect(pushDenied != nil, "anonymous users may not push to public/*")
                let checkDenied = await CaughtFailure.of { try await anonymous.checkPushPermission(publicRef) }
                #expect(checkDenied != nil, "the push-permission check must see that anonymous users cannot push")
            }
        }

        @Test func credentialsFromConfigJSONPushAndPull() async throws {
            let scratch = try FixtureDirectory(prefix: "kiln-token")
            defer { scratch.remove() }
            try await withRegistry(.token(Self.configuration())) { registry in
                let issuer = try #require(registry.tokenIssuer)
                let image = try await PushableImage.make(layerSizes: [60_000, 90_000], in: scratch)
                let client = try RegistryPlugin.client(
                    RegistryPlugin.options(for: registry, dockerConfig: try Self.credentials(registry, in: scratch)))
                let reference = ImageReference(registry: registry.host, repository: "team/app", tag: "v1")
                try await client.checkPushPermission(reference)
                #expect(try await image.push(with: client, to: reference) == image.manifestDigest)
                let seen = try await RegistryProbe.inspect(registry, "team/app:v1", creds: (Self.user, Self.password))
                #expect(seen.digest == image.manifestDigest.description)
                #expect(try await client.fetchManifest(reference, accept: MediaType.manifestAccept).bytes == image.manifest)
                let pushGrants = issuer.issues().filter {
                    $0.account == Self.user && ($0.scopes ?? []).contains("repository:team/app:pull,push")
                }
                #expect(!pushGrants.isEmpty, "\(issuer.issues().map(\.scopes))")
            }
        }

        @Test func identityTokenUsesTheOAuth2RefreshGrant() async throws {
            let scratch = try FixtureDirectory(prefix: "kiln-token")
            defer { scratch.remove() }
            try await withRegistry(.token(Self.configuration())) { registry in
                let issuer = try #require(registry.tokenIssuer)
                let config = try DockerConfigFile.write(
                    [registry.host: .identityToken(user: Self.user, token: Self.identityToken)],
                    to: scratch.file("docker-identity"))
                let image = try await PushableImage.make(layerSizes: [30_000], in: scratch)
                let client = try RegistryPlugin.client(RegistryPlugin.options(for: registry, dockerConfig: config))
                let reference = ImageReference(registry: registry.host, repository: "team/identity", tag: "v1")
                #expect(try await image.push(with: client, to: reference) == image.manifestDigest)
                #expect(
                    issuer.issues().contains { $0.grant == "refresh_token" && $0.account == Self.user && $0.token != nil },
                    "\(issuer.issues().map { "\($0.grant) \($0.account)" })")
            }
        }

        @Test func crossRepositoryMountAsksForPullOnTheSource() async throws {
            let scratch = try FixtureDirectory(prefix: "kiln-token")
            defer { scratch.remove() }
            try await withRegistry(.token(Self.configuration())) { registry in
                let issuer = try #require(registry.tokenIssuer)
                let image = try await PushableImage.make(layerSizes: [70_000], in: scratch)
                let options = RegistryPlugin.options(for: registry, dockerConfig: try Self.credentials(registry, in: scratch))
                let source = ImageReference(registry: registry.host, repository: "team/source", tag: "v1")
                let target = ImageReference(registry: registry.host, repository: "team/target", tag: "v1")
                try await image.push(with: try RegistryPlugin.client(options), to: source)
                let before = await registry.settledAccessLog().count
                try await image.push(with: try RegistryPlugin.client(options), to: target, mountFrom: [source])
                let log = Array(await registry.settledAccessLog().dropFirst(before))
                let mounts = log.filter { $0.method == "POST" && $0.path.contains("mount=") && $0.status == 201 }
                #expect(mounts.count == image.blobs.count, "each blob mounted (the token must carry pull on team/source): \(log)")
                #expect(log.filter(\.carriesBlobData).isEmpty, "mounted blobs are not uploaded: \(log)")
                let scopes = issuer.issues().flatMap { $0.scopes ?? [] }
                #expect(scopes.contains("repository:team/source:pull"), "\(scopes)")
                #expect(
                    try await RegistryProbe.inspect(registry, "team/target:v1", creds: (Self.user, Self.password)).digest
                        == image.manifestDigest.description)
            }
        }

        @Test func aTokenThatExpiresDuringThePushIsRenewed() async throws {
            let scratch = try FixtureDirectory(prefix: "kiln-token")
            defer { scratch.remove() }
            // Tokens live 2 s and the registry really refuses them after that (leeway compensated).
            try await withRegistry(.token(Self.configuration(expiresIn: 2, compensateLeeway: true))) { registry in
                let issuer = try #require(registry.tokenIssuer)
                let image = try await PushableImage.make(layerSizes: [40_000, 40_000], in: scratch)
                let client = try RegistryPlugin.client(
                    RegistryPlugin.options(for: registry, dockerConfig: try Self.credentials(registry, in: scratch)))
                let reference = ImageReference(registry: registry.host, repository: "team/slow", tag: "v1")
                try await client.pushBlob(image.layers[0], from: image.paths[image.layers[0].digest] ?? "", to: reference, mountFrom: [])
                let before = issuer.issues().filter { $0.token != nil }.count
                try await Task.sleep(nanoseconds: 3_000_000_000)
                try await client.pushBlob(image.layers[1], from: image.paths[image.layers[1].digest] ?? "", to: reference, mountFrom: [])
                try await client.pushBlob(image.config, from: image.paths[image.config.digest] ?? "", to: reference, mountFrom: [])
                #expect(try await client.pushManifest(image.manifest, mediaType: .ociManifest, to: reference) == image.manifestDigest)
                let after = issuer.issues().filter { $0.token != nil }.count
                #expect(after > before, "a new token must be fetched once the first expired")
                #expect(
                    try await RegistryProbe.inspect(registry, "team/slow:v1", creds: (Self.user, Self.password)).digest
                        == image.manifestDigest.description)
            }
        }
    }
}
