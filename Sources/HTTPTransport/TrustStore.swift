// The certificates TLS trusts: the system bundle plus what the environment adds, as kaniko's
// users expect: `SSL_CERT_FILE`, every file of each `SSL_CERT_DIR` directory, and kaniko's
// `/kaniko/ssl/certs`. (libcurl itself reads neither variable.)
import FoundationEssentials
import Glibc
import Synchronization

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
                var isDirectory = false
                if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory, !files.contains(path) {
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
        // Every registry client asks; the files are read once per process.
        if let known = built.withLock({ $0[extras] }) { return known }
        let system = systemBundles.first { FileManager.default.isReadableFile(atPath: $0) }
        var seen = Set<[UInt8]>()
        var out: [UInt8] = []
        var added = false
        for path in (system.map { [$0] } ?? []) + extras {
            guard let data = FileManager.default.contents(atPath: path) else { continue }
            // Only PEM certificates: a directory such as /etc/ssl/certs also holds keys.
            for certificate in pemCertificates(in: Array(data))
            where seen.insert(certificate.filter { $0 != 0x20 && $0 != 0x0a && $0 != 0x0d && $0 != 0x09 }).inserted {
                out += certificate
                out.append(0x0a)
                if path != system { added = true }
            }
        }
        let result = added ? out : nil
        built.withLock { $0[extras] = result }
        return result
    }

    private static let built = Mutex<[[String]: [UInt8]?]>([:])
    static let begin = Array("-----BEGIN CERTIFICATE-----".utf8)
    static let end = Array("-----END CERTIFICATE-----".utf8)

    /// Each `BEGIN CERTIFICATE … END CERTIFICATE` block of `bytes`, markers included.
    static func pemCertificates(in bytes: [UInt8]) -> [ArraySlice<UInt8>] {
        var blocks: [ArraySlice<UInt8>] = []
        bytes.withUnsafeBytes { all in
            var at = 0
            while let start = find(begin, in: all, from: at), let stop = find(end, in: all, from: start + begin.count) {
                blocks.append(bytes[start..<(stop + end.count)])
                at = stop + end.count
            }
        }
        return blocks
    }

    /// The offset of `needle` in `haystack` at or after `from` (memchr and memcmp: these files
    /// are hundreds of kilobytes).
    private static func find(_ needle: [UInt8], in haystack: UnsafeRawBufferPointer, from: Int) -> Int? {
        guard let base = haystack.baseAddress, let first = needle.first else { return nil }
        var at = from
        return needle.withUnsafeBytes { n -> Int? in
            guard let pattern = n.baseAddress else { return nil }
            while at + needle.count <= haystack.count {
                guard let hit = memchr(base + at, Int32(first), haystack.count - at) else { return nil }
                let offset = base.distance(to: UnsafeRawPointer(hit))
                guard offset + needle.count <= haystack.count else { return nil }
                if memcmp(base + offset, pattern, needle.count) == 0 { return offset }
                at = offset + 1
            }
            return nil
        }
    }
}
