// The certificates TLS trusts: the system bundle plus what the environment adds, as kaniko's
// users expect: `SSL_CERT_FILE`, every file of each `SSL_CERT_DIR` directory, and kaniko's
// `/kaniko/ssl/certs`. (libcurl itself reads neither variable.)
import Foundation

public enum TrustStore {
    /// Where Debian (and most distributions) keep the system bundle.
    static let systemBundles = ["/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/cert.pem"]

    /// The extra certificate files the environment names, in order; empty when it names none.
    public static func extraCertificateFiles(environment: [String: String]) -> [String] {
        var files: [String] = []
        if let file = environment["SSL_CERT_FILE"], !file.isEmpty, FileManager.default.isReadableFile(atPath: file) { files.append(file) }
        var directories = (environment["SSL_CERT_DIR"] ?? "").split(separator: ":").map(String.init)
        directories.append("/kaniko/ssl/certs")
        for directory in directories where !directory.isEmpty {
            let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
            for name in names where !name.hasPrefix(".") {
                let path = directory + "/" + name
                var isDirectory: ObjCBool = false
                if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue, !files.contains(path) {
                    files.append(path)
                }
            }
        }
        return files
    }

    /// The system bundle followed by the certificates the extra files add, each certificate
    /// once; nil when the environment adds none the system bundle lacks (libcurl's own default
    /// then applies). Environments that point `SSL_CERT_FILE` at the system bundle and
    /// `SSL_CERT_DIR` at /etc/ssl/certs (common in CI images) would otherwise hand every
    /// connection the same certificates three times over.
    public static func bundle(environment: [String: String]) -> [UInt8]? {
        let extras = extraCertificateFiles(environment: environment)
        guard !extras.isEmpty else { return nil }
        let system = systemBundles.first { FileManager.default.isReadableFile(atPath: $0) }
        var seen = Set<String>()
        var out = ""
        var added = false
        for path in (system.map { [$0] } ?? []) + extras {
            guard let data = FileManager.default.contents(atPath: path) else { continue }
            // Only PEM certificates: a directory such as /etc/ssl/certs also holds keys.
            for certificate in pemCertificates(in: String(decoding: data, as: UTF8.self))
            where seen.insert(certificate.filter { !$0.isWhitespace }).inserted {
                out += certificate + "\n"
                if path != system { added = true }
            }
        }
        return added ? Array(out.utf8) : nil
    }

    static let begin = "-----BEGIN CERTIFICATE-----"
    static let end = "-----END CERTIFICATE-----"

    /// Each `BEGIN CERTIFICATE … END CERTIFICATE` block of `text`, markers included.
    static func pemCertificates(in text: String) -> [Substring] {
        var blocks: [Substring] = []
        var rest = text[...]
        while let start = rest.range(of: begin), let stop = rest[start.upperBound...].range(of: end) {
            blocks.append(rest[start.lowerBound..<stop.upperBound])
            rest = rest[stop.upperBound...]
        }
        return blocks
    }
}
