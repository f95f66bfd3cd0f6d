// Key material made by the tests with the `openssl` and `htpasswd` command-line tools.
import Foundation

/// A self-signed CA and a server certificate for 127.0.0.1 it signed, in one directory.
public struct TestCertificateAuthority: Sendable {
    /// The CA certificate (PEM): what a client trusts.
    public var caCertificate: String
    public var caKey: String
    /// The server's certificate (SAN IP:127.0.0.1 and DNS:localhost) and key.
    public var serverCertificate: String
    public var serverKey: String
    /// A directory holding only `ca.crt`, in the layout skopeo's `--cert-dir` expects.
    public var certDirectory: String

    /// Makes the CA and server certificate under `directory` (valid for two days).
    public static func make(in directory: String) async throws -> TestCertificateAuthority {
        let ca = directory + "/ca.crt"
        let caKey = directory + "/ca.key"
        let cert = directory + "/server.crt"
        let key = directory + "/server.key"
        let csr = directory + "/server.csr"
        let ext = directory + "/server.ext"
        try await ProcessRunner.check(
            "openssl",
            [
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", caKey, "-out", ca, "-days", "2", "-subj", "/CN=kiln test CA",
                "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            ])
        try await ProcessRunner.check(
            "openssl",
            [
                "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", key, "-out", csr, "-subj", "/CN=127.0.0.1",
            ])
        try """
        subjectAltName=IP:127.0.0.1,DNS:localhost
        basicConstraints=CA:FALSE
        keyUsage=critical,digitalSignature,keyEncipherment
        extendedKeyUsage=serverAuth

        """.write(toFile: ext, atomically: false, encoding: .utf8)
        try await ProcessRunner.check(
            "openssl",
            [
                "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", caKey, "-CAcreateserial",
                "-out", cert, "-days", "2", "-extfile", ext,
            ])
        let certDir = directory + "/certs.d"
        try FileManager.default.createDirectory(atPath: certDir, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: ca, toPath: certDir + "/ca.crt")
        return TestCertificateAuthority(
            caCertificate: ca, caKey: caKey, serverCertificate: cert, serverKey: key,
            certDirectory: certDir)
    }
}

/// A token issuer's signing key and its self-signed certificate (the registry's rootcertbundle).
public struct TokenSigningKey: Sendable {
    public enum Algorithm: String, Sendable {
        case rs256 = "RS256"
        case es256 = "ES256"
    }
    public var algorithm: Algorithm
    public var key: String
    public var certificate: String

    public static func make(_ algorithm: Algorithm, in directory: String) async throws -> TokenSigningKey {
        let key = directory + "/issuer.key"
        let cert = directory + "/issuer.crt"
        let keyArgs =
            algorithm == .rs256
            ? ["-newkey", "rsa:2048"] : ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]
        try await ProcessRunner.check(
            "openssl",
            ["req", "-x509"] + keyArgs + [
                "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=kiln-test-issuer",
            ])
        return TokenSigningKey(algorithm: algorithm, key: key, certificate: cert)
    }
}

/// An htpasswd file with bcrypt hashes (the only kind distribution accepts), made by
/// `htpasswd -B` from apache2-utils; passwords go through stdin, never the command line.
public enum HtpasswdFile {
    public static func write(users: [String: String], to path: String) async throws {
        var lines: [String] = []
        for (user, password) in users.sorted(by: { $0.key < $1.key }) {
            let r = try await ProcessRunner.check("htpasswd", ["-B", "-i", "-n", user], input: password)
            lines.append(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        try writeReplacing((lines.joined(separator: "\n") + "\n"), to: path)
    }
}
