// A TLS registry whose CA only SSL_CERT_DIR (or SSL_CERT_FILE) names: kiln trusts it, as kaniko's
// users expect from /kaniko/ssl/certs; without it the push fails on the certificate.
import Foundation
import TestSupport
import Testing

extension RegistryIntegration {
    @Suite struct TrustStoreCLI {
        @Test(arguments: ["SSL_CERT_DIR", "SSL_CERT_FILE"])
        func aRegistryTrustedThroughTheEnvironmentOnly(variable: String) async throws {
            let scratch = try FixtureDirectory(prefix: "kiln-trust")
            defer { scratch.remove() }
            try await withRegistry(.tlsBasic(users: [BasicAuthTests.user: BasicAuthTests.password])) { registry in
                let ca = try #require(registry.certificates?.caCertificate)
                try FileManager.default.createDirectory(atPath: scratch.file("certs"), withIntermediateDirectories: true)
                try FileManager.default.copyItem(atPath: ca, toPath: scratch.file("certs/test-ca.crt"))
                var env = try registry.dockerConfigEnvironment(
                    user: BasicAuthTests.user, password: BasicAuthTests.password, in: scratch.file("docker"))
                let destination = registry.reference("team/trusted", tag: "v1")
                let args = ["--context", CLIPushTests.helloContext, "--destination", destination]  // no --registry-certificate
                let untrusted = try await KilnCommand.run(args, environment: env, currentDirectory: scratch.path)
                #expect(!untrusted.succeeded, "the test CA is not trusted without the variable: \(untrusted)")
                env[variable] = variable == "SSL_CERT_DIR" ? scratch.file("certs") : scratch.file("certs/test-ca.crt")
                let trusted = try await KilnCommand.run(args, environment: env, currentDirectory: scratch.path)
                #expect(trusted.succeeded, "\(trusted)")
                #expect(
                    try await registry.skopeoDigest("team/trusted", tag: "v1", creds: (BasicAuthTests.user, BasicAuthTests.password))
                        .hasPrefix("sha256:"))
            }
        }
    }
}
