// The TLS + htpasswd registry: credentials from a docker config.json, the CA per registry.
import Foundation
import PluginAPI
import PluginSupport
import TestSupport
import Testing

extension RegistryIntegration {
    @Suite struct BasicAuthTests {
        static let user = "kiln-basic"
        static let password = "Basic-Pa55w0rd-7f3a"

        /// A DOCKER_CONFIG under `scratch` holding `password` for `registry`.
        static func dockerConfig(_ registry: RegistryFixture, password: String = password, in scratch: FixtureDirectory) throws -> String {
            try DockerConfigFile.write(
                [registry.host: .basic(user: user, password: password)], to: scratch.file("docker-\(password.count)"))
        }

        @Test func pushAndPullWithConfigJSONCredentials() async throws {
            let scratch = try FixtureDirectory(prefix: "kiln-basic")
            defer { scratch.remove() }
            try await withRegistry(.tlsBasic(users: [Self.user: Self.password])) { registry in
                let image = try await PushableImage.make(layerSizes: [120_000], in: scratch)
                let options = RegistryPlugin.options(for: registry, dockerConfig: try Self.dockerConfig(registry, in: scratch))
                let client = try RegistryPlugin.client(options)
                let reference = ImageReference(registry: registry.host, repository: "kiln/basic", tag: "v1")
                try await client.checkPushPermission(reference)
                #expect(try await image.push(with: client, to: reference) == image.manifestDigest)
                let seen = try await RegistryProbe.inspect(registry, "kiln/basic:v1", creds: (Self.user, Self.password))
                #expect(seen.digest == image.manifestDigest.description)
                let fetched = try await client.fetchManifest(reference, accept: MediaType.manifestAccept)
                #expect(fetched.bytes == image.manifest)
            }
        }

        @Test func wrongPasswordGivesAClearErrorWithoutTheSecret() async throws {
            let scratch = try FixtureDirectory(prefix: "kiln-basic")
            defer { scratch.remove() }
            let wrong = "Wrong-Pa55w0rd-9c1e"
            try await withRegistry(.tlsBasic(users: [Self.user: Self.password])) { registry in
                let image = try await PushableImage.make(layerSizes: [10_000], in: scratch)
                let options = RegistryPlugin.options(
                    for: registry, dockerConfig: try Self.dockerConfig(registry, password: wrong, in: scratch))
                let log = LogCapture()
                let client = try RegistryPlugin.client(options, log: log)
                let reference = ImageReference(registry: registry.host, repository: "kiln/basic", tag: "v1")
                let pushFailure = await CaughtFailure.of { try await image.push(with: client, to: reference) }
                let pullFailure = await CaughtFailure.of { _ = try await client.fetchManifest(reference, accept: MediaType.manifestAccept) }
                for failure in [pushFailure, pullFailure] {
                    let f = try #require(failure, "a wrong password must fail")
                    #expect(f.status == 401, "\(f.text)")
                    #expect(!f.isTemporary, "retrying a wrong password cannot help: \(f.text)")
                    #expect(f.text.contains(registry.host), "the error names the registry: \(f.text)")
                    let lower = f.text.lowercased()
                    #expect(lower.contains("password") || lower.contains("auth") || lower.contains("credential"), "\(f.text)")
                    for secret in [wrong, DockerConfigFile.basicAuth(user: Self.user, password: wrong)] {
                        #expect(!f.text.contains(secret) && !log.text.contains(secret), "secret leaked: \(f.text)")
                    }
                }
                #expect(
                    try await RegistryProbe.manifestStatusWithCredentials(
                        registry, "kiln/basic", "v1", user: Self.user, password: Self.password) == "404")
            }
        }

        @Test func missingCredentialsSayWhereTheyWereLookedFor() async throws {
            try await withRegistry(.tlsBasic(users: [Self.user: Self.password])) { registry in
                let client = try RegistryPlugin.client(RegistryPlugin.options(for: registry))
                let reference = ImageReference(registry: registry.host, repository: "kiln/basic", tag: "v1")
                // Closures stay outside #require/#expect: see CaughtFailure.
                let caught = await CaughtFailure.of { _ = try await client.fetchManifest(reference, accept: MediaType.manifestAccept) }
                let f = try #require(caught)
                #expect(f.status == 401, "\(f.text)")
                #expect(f.text.contains(registry.host), "\(f.text)")
                #expect(
                    f.text.contains("config.json") || f.text.lowercased().contains("credential"),
                    "the hint says where to put credentials: \(f.text)")
            }
        }

        @Test func tlsIsVerifiedWithEachRegistrysOwnCA() async throws {
            let scratch = try FixtureDirectory(prefix: "kiln-basic")
            defer { scratch.remove() }
            try await withRegistry(.tlsBasic(users: [Self.user: Self.password])) { registry in
                let config = try Self.dockerConfig(registry, in: scratch)
                let reference = ImageReference(registry: registry.host, repository: "kiln/tls", tag: "v1")
                let ca = try #require(registry.certificates).caCertificate

                // No CA: the system store does not know the test CA.
                var untrusted = RegistryPlugin.options(for: registry, dockerConfig: config)
                untrusted.certificates = [:]
                let caughtNoCA = await CaughtFailure.of {
                    _ = try await RegistryPlugin.client(untrusted).blobExists(Digest.sha256(of: "x"), in: reference)
                }
                let noCA = try #require(caughtNoCA)
                #expect(noCA.status == nil, "a TLS failure has no HTTP status: \(noCA.text)")
                #expect(
                    noCA.text.lowercased().contains("certificate") || noCA.text.contains("SSL") || noCA.text.contains("TLS"), "\(noCA.text)"
                )

                // The CA given for another registry does not apply to this one.
                var elsewhere = untrusted
                elsewhere.certificates = ["127.0.0.1:1": ca]
                let caughtElsewhere = await CaughtFailure.of {
                    _ = try await RegistryPlugin.client(elsewhere).blobExists(Digest.sha256(of: "x"), in: reference)
                }
                #expect(caughtElsewhere != nil, "a CA given for another registry must not be trusted here")

                // Its own CA, or skipping verification for this host only, works.
                let trusted = RegistryPlugin.options(for: registry, dockerConfig: config)
                #expect(try await RegistryPlugin.client(trusted).blobExists(Digest.sha256(of: "x"), in: reference) == false)
                var skip = untrusted
                skip.skipTLSVerifyRegistries = [registry.host]
                #expect(try await RegistryPlugin.client(skip).blobExists(Digest.sha256(of: "x"), in: reference) == false)
            }
        }
    }
}

extension RegistryProbe {
    /// GET on a manifest of a TLS + Basic registry with the right credentials (curl `-u` reads
    /// them from its argument list, acceptable for a test password).
    static func manifestStatusWithCredentials(
        _ registry: RegistryFixture, _ repository: String, _ reference: String,
        user: String, password: String
    ) async throws -> String {
        var args = [
            "-s", "-o", "/dev/null", "-w", "%{http_code}", "-u", "\(user):\(password)",
            "-H", "Accept: \(MediaType.manifestAccept.map(\.rawValue).joined(separator: ","))",
        ]
        if let c = registry.certificates { args += ["--cacert", c.caCertificate] }
        return try await ProcessRunner.run("curl", args + ["\(registry.baseURL)/v2/\(repository)/manifests/\(reference)"]).stdout
    }
}
