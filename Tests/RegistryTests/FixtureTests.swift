// The test fixtures themselves, checked with skopeo and curl only (no kiln code), so a failure
// in the plugin tests can be trusted to be the plugin's.
import Foundation
import PluginAPI
import TestSupport
import Testing

extension RegistryIntegration {
    @Suite struct FixtureTests {
        static let user = "fixture-user"
        static let password = "fixture-Pa55-word"

        /// Copies a two-layer image from an OCI layout into the registry with skopeo.
        static func skopeoPush(
            _ registry: RegistryFixture, _ reference: String, scratch: FixtureDirectory,
            creds: (String, String)? = nil
        ) async throws -> TestImageLayout.Image {
            let layout = try TestImageLayout(path: scratch.file("layout"))
            let image = try await layout.addImage(
                tag: "t", layers: [["a.txt": Array("a\n".utf8)], ["b.txt": Array("b\n".utf8)]],
                scratch: scratch)
            try await ProcessRunner.check(
                "skopeo",
                ["copy"] + RegistryProbe.skopeoFlags(registry, prefix: "dest-", creds: creds)
                    + ["oci:\(layout.path):t", "docker://\(registry.host)/\(reference)"])
            return image
        }

        @Test func plainRegistryServesWhatSkopeoPushedAndStopsCleanly() async throws {
            let scratch = try FixtureDirectory(prefix: "kiln-fixture")
            defer { scratch.remove() }
            let registry = try await RegistryFixture.start(.plain)
            let image = try await Self.skopeoPush(registry, "fixture/plain:t", scratch: scratch)
            let seen = try await RegistryProbe.inspect(registry, "fixture/plain:t")
            #expect(seen.digest == image.manifestDigest.description)
            #expect(seen.layers == image.layers.map(\.digest.description))
            #expect(try await registry.skopeoDigest("fixture/plain", tag: "t") == image.manifestDigest.description)
            let log = await registry.settledAccessLog()
            #expect(log.contains { $0.method == "PUT" && $0.path.contains("/manifests/t") && $0.status == 201 }, "\(log)")
            #expect(await registry.blobUploadCount() >= 3, "two layers and a config were uploaded: \(log)")
            let dir = registry.directory.path
            registry.stop()
            #expect(!FileManager.default.fileExists(atPath: dir))
            #expect(!LoopbackPort.isListening(registry.port))
        }

        @Test func kilnCommandCapturesOutputAndExitCode() async throws {
            let help = try await KilnCommand.run(["--help"])
            #expect(help.exitCode == 0, "\(help)")
            #expect((help.stdout + help.stderr).lowercased().contains("usage"), "\(help)")
            let bad = try await KilnCommand.run(["--no-such-flag-for-kiln"])
            #expect(bad.exitCode != 0, "\(bad)")
            #expect(bad.stderr.contains("no-such-flag-for-kiln"), "the error names the flag: \(bad)")
        }

        @Test func tlsBasicRegistryNeedsItsCAAndThePassword() async throws {
            let scratch = try FixtureDirectory(prefix: "kiln-fixture")
            defer { scratch.remove() }
            try await withRegistry(.tlsBasic(users: [Self.user: Self.password])) { registry in
                let ca = try #require(registry.certificates).caCertificate
                let url = "\(registry.baseURL)/v2/"
                let untrusted = try await ProcessRunner.run("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", url])
                #expect(untrusted.exitCode == 60, "curl without the CA must fail verification: \(untrusted)")
                let anonymous = try await ProcessRunner.run("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", ca, url])
                #expect(anonymous.stdout == "401")
                let authed = try await ProcessRunner.run(
                    "curl",
                    [
                        "-s", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", ca,
                        "-u", "\(Self.user):\(Self.password)", url,
                    ])
                #expect(authed.stdout == "200")
                let image = try await Self.skopeoPush(registry, "fixture/basic:t", scratch: scratch, creds: (Self.user, Self.password))
                let seen = try await RegistryProbe.inspect(registry, "fixture/basic:t", creds: (Self.user, Self.password))
                #expect(seen.digest == image.manifestDigest.description)
                let wrong = try await ProcessRunner.run(
                    "skopeo",
                    ["inspect"] + RegistryProbe.skopeoFlags(registry, creds: (Self.user, "nope"))
                        + ["docker://\(registry.host)/fixture/basic:t"])
                #expect(!wrong.succeeded)
            }
        }

        @Test(arguments: [(TokenSigningKey.Algorithm.rs256, false), (.es256, true), (.es256, false)])
        func tokenRegistryAcceptsIssuedTokens(algorithm: TokenSigningKey.Algorithm, x5c: Bool) async throws {
            let scratch = try FixtureDirectory(prefix: "kiln-fixture")
            defer { scratch.remove() }
            let config = TokenIssuerFixture.Configuration(
                users: [Self.user: Self.password],
                grants: [.init(account: Self.user, name: "*", actions: ["pull", "push"])], algorithm: algorithm, x5c: x5c)
            try await withRegistry(.token(config)) { registry in
                let issuer = try #require(registry.tokenIssuer)
                let challenge = try await ProcessRunner.run("curl", ["-s", "-i", "\(registry.baseURL)/v2/"])
                #expect(challenge.stdout.contains("Bearer realm=\"\(issuer.realm)\",service=\"kiln-test-registry\""), "\(challenge)")
                let image = try await Self.skopeoPush(registry, "fixture/token:t", scratch: scratch, creds: (Self.user, Self.password))
                let seen = try await RegistryProbe.inspect(registry, "fixture/token:t", creds: (Self.user, Self.password))
                #expect(seen.digest == image.manifestDigest.description)
                #expect(issuer.issues().contains { $0.account == Self.user && $0.token != nil })
                let anonymous = try await ProcessRunner.run(
                    "skopeo", ["inspect", "--tls-verify=false", "docker://\(registry.host)/fixture/token:t"])
                #expect(!anonymous.succeeded, "an anonymous token grants nothing: \(anonymous)")
            }
        }

        @Test func tokenIssuerSpeaksTheOAuth2GrantsAndLeewayCompensationExpiresTokens() async throws {
            let config = TokenIssuerFixture.Configuration(
                users: [Self.user: Self.password], refreshTokens: ["seeded-refresh-token": Self.user],
                grants: [.init(account: Self.user, name: "*", actions: ["pull", "push"])], expiresIn: 2, compensateLeeway: true)
            try await withRegistry(.token(config)) { registry in
                let issuer = try #require(registry.tokenIssuer)
                func post(_ form: String) async throws -> [String: Any] {
                    let r = try await ProcessRunner.check("curl", ["-s", "-X", "POST", "--data", form, issuer.realm])
                    return try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any] ?? [:]
                }
                let scope = "repository:fixture/oauth:pull,push"
                let byPassword = try await post(
                    "grant_type=password&username=\(Self.user)&password=\(Self.password)"
                        + "&service=kiln-test-registry&scope=\(scope)&client_id=kiln&access_type=offline")
                let refresh = try #require(byPassword["refresh_token"] as? String)
                let byRefresh = try await post(
                    "grant_type=refresh_token&refresh_token=\(refresh)&service=kiln-test-registry&scope=\(scope)&client_id=kiln")
                let bySeed = try await post(
                    "grant_type=refresh_token&refresh_token=seeded-refresh-token&service=kiln-test-registry&scope=\(scope)")
                let token = try #require(byRefresh["access_token"] as? String)
                #expect(bySeed["access_token"] is String)
                let bad = try await ProcessRunner.run(
                    "curl",
                    [
                        "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST",
                        "--data", "grant_type=refresh_token&refresh_token=forged&service=kiln-test-registry", issuer.realm,
                    ])
                #expect(bad.stdout == "401")
                let url = "\(registry.baseURL)/v2/fixture/oauth/tags/list"
                let fresh = try await ProcessRunner.run(
                    "curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "-H", "Authorization: Bearer \(token)", url])
                #expect(fresh.stdout == "404", "a valid token reaches the (empty) repository")
                try await Task.sleep(nanoseconds: 3_000_000_000)
                let stale = try await ProcessRunner.run(
                    "curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "-H", "Authorization: Bearer \(token)", url])
                #expect(stale.stdout == "401", "the registry must refuse the token once expires_in has passed")
                #expect(Set(issuer.issues().map(\.grant)).isSuperset(of: ["password", "refresh_token"]))
            }
        }
    }
}
