// The CA bundle kiln hands libcurl: each certificate once, and none at all when the environment
// only names what the system bundle already holds (as CI images that set SSL_CERT_FILE to the
// system bundle and SSL_CERT_DIR to /etc/ssl/certs do).
import Foundation
import HTTPTransport
import TestSupport
import Testing

@Suite struct TrustStoreBundleTests {
    static let system = "/etc/ssl/certs/ca-certificates.crt"

    static func certificateCount(_ bytes: [UInt8]) -> Int {
        String(decoding: bytes, as: UTF8.self).components(separatedBy: "-----BEGIN CERTIFICATE-----").count - 1
    }

    @Test(.enabled(if: FileManager.default.isReadableFile(atPath: system)))
    func anEnvironmentNamingOnlyTheSystemCertificatesAddsNoBundle() throws {
        let scratch = try FixtureDirectory(prefix: "kiln-trust-bundle")
        defer { scratch.remove() }
        // The system bundle and one of its certificates as a file of its own, as /etc/ssl/certs has.
        let text = try String(contentsOfFile: Self.system, encoding: .utf8)
        let first = try #require(text.range(of: "-----END CERTIFICATE-----"))
        try String(text[..<first.upperBound]).write(toFile: scratch.file("one.pem"), atomically: false, encoding: .utf8)
        let env = ["SSL_CERT_FILE": Self.system, "SSL_CERT_DIR": scratch.path]
        #expect(TrustStore.extraCertificateFiles(environment: env).count == 2)
        #expect(TrustStore.bundle(environment: env) == nil)
    }

    @Test(.enabled(if: FileManager.default.isReadableFile(atPath: system)))
    func aNewCertificateIsAddedOnceAfterTheSystemOnes() async throws {
        let scratch = try FixtureDirectory(prefix: "kiln-trust-bundle")
        defer { scratch.remove() }
        let ca = try await TestCertificateAuthority.make(in: scratch.path)
        try FileManager.default.createDirectory(atPath: scratch.file("dir"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: ca.caCertificate, toPath: scratch.file("dir/a.crt"))
        try FileManager.default.copyItem(atPath: ca.caCertificate, toPath: scratch.file("dir/b.crt"))
        try FileManager.default.copyItem(atPath: Self.system, toPath: scratch.file("dir/system.crt"))
        // A key in the directory is not a certificate.
        try FileManager.default.copyItem(atPath: ca.caKey, toPath: scratch.file("dir/ca.key"))
        let env = ["SSL_CERT_FILE": ca.caCertificate, "SSL_CERT_DIR": scratch.file("dir")]
        let bundle = try #require(TrustStore.bundle(environment: env))
        let systemCount = Self.certificateCount(Array(try Data(contentsOf: URL(fileURLWithPath: Self.system))))
        #expect(Self.certificateCount(bundle) == systemCount + 1)
        let pem = try String(contentsOfFile: ca.caCertificate, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(String(decoding: bundle, as: UTF8.self).hasSuffix(pem + "\n"))
        #expect(!String(decoding: bundle, as: UTF8.self).contains("PRIVATE KEY"))
    }
}
