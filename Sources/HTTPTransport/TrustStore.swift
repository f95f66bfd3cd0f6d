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

    /// The system bundle followed by the extra files' PEM certificates, or nil when the
    /// environment adds nothing (libcurl's own default then applies).
    public static func bundle(environment: [String: String]) -> [UInt8]? {
        let extras = extraCertificateFiles(environment: environment)
        guard !extras.isEmpty else { return nil }
        var out: [UInt8] = []
        for path in (systemBundles.first { FileManager.default.isReadableFile(atPath: $0) }.map { [$0] } ?? []) + extras {
            guard let data = FileManager.default.contents(atPath: path) else { continue }
            let text = String(decoding: data, as: UTF8.self)
            // Only PEM certificates: a directory such as /etc/ssl/certs also holds hash links and keys.
            guard text.contains("-----BEGIN CERTIFICATE-----") else { continue }
            out += Array(data)
            if out.last != UInt8(ascii: "\n") { out.append(UInt8(ascii: "\n")) }
        }
        return out
    }
}
