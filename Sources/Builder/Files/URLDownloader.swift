import FoundationEssentials
import Glibc
import HTTPTransport
import PluginAPI
import PluginSupport

/// Downloads `ADD <url>` sources through the shared HTTP transport (the registry plugin's
/// libcurl client): redirects followed, an HTTP error status fails, the content is hashed
/// while it streams to disk, and `Last-Modified` is reported.
enum URLDownloader {
    struct Download {
        var path: String
        var digest: Digest
        /// Seconds since the epoch from `Last-Modified`, when the server sent it.
        var lastModified: Int64?
    }

    enum Error: Swift.Error, CustomStringConvertible {
        case http(url: String, status: Int)
        case transfer(url: String, reason: String)
        case checksum(url: String, expected: String, actual: Digest)
        var description: String {
            // A URL's user:password never reaches a message.
            switch redacted {
            case .http(let url, let status): return "ADD \(url): the server answered HTTP \(status)"
            case .transfer(let url, let reason): return "ADD \(url): download failed: \(reason)"
            case .checksum(let url, let expected, let actual):
                return "ADD \(url): checksum mismatch: expected \(expected), got \(actual)"
            }
        }

        private var redacted: Error {
            switch self {
            case .http(let url, let status): return .http(url: redactingURLCredentials(url), status: status)
            case .transfer(let url, let reason):
                return .transfer(url: redactingURLCredentials(url), reason: redactingURLCredentials(reason))
            case .checksum(let url, let expected, let actual):
                return .checksum(url: redactingURLCredentials(url), expected: expected, actual: actual)
            }
        }
    }

    /// Downloads `url` to `path` (created 0600 or truncated), following up to 10 redirects.
    static func fetch(_ url: String, to path: String, userAgent: String, log: @escaping @Sendable (LogLevel, String) -> Void)
        async throws -> Download
    {
        let transport = CurlTransport(limits: TransferLimits(userAgent: userAgent), blobLimit: 1, label: "add", log: log)
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw Error.transfer(url: url, reason: "cannot create \(path): \(String(cString: strerror(errno)))") }
        close(fd)
        var current = url
        for _ in 0...10 {
            let response: HTTPResponse
            do {
                response = try await transport.send(
                    HTTPRequest(method: .get, url: current, sink: .file(path: path, limit: nil)), host: host(of: current), lane: .blob)
            } catch let failure as TransferFailure {
                throw Error.transfer(url: url, reason: failure.message)
            }
            if response.isRedirect, let location = response.headers["Location"] {
                current = resolve(location, against: current)
                continue
            }
            guard response.isSuccess else { throw Error.http(url: url, status: response.status) }
            guard let digest = response.fileDigest else { throw Error.transfer(url: url, reason: "the body was not hashed") }
            return Download(path: path, digest: digest, lastModified: response.headers["Last-Modified"].flatMap(HTTPDate.seconds))
        }
        throw Error.transfer(url: url, reason: "more than 10 redirects")
    }

    /// `https://host:port/path` → `host:port` (the transport's pool and lane key).
    static func host(of url: String) -> String {
        guard let start = url.firstRange(of: "://")?.upperBound else { return url }
        let rest = url[start...]
        return String(rest[..<(rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? rest.endIndex)])
    }

    /// A `Location` header resolved against the URL that answered with it.
    static func resolve(_ location: String, against base: String) -> String {
        if location.contains("://") { return location }
        guard let start = base.firstRange(of: "://")?.upperBound else { return location }
        let authorityEnd = base[start...].firstIndex(of: "/") ?? base.endIndex
        if location.hasPrefix("/") { return String(base[..<authorityEnd]) + location }
        let directory = base[..<(base.lastIndex(of: "/").map { $0 > authorityEnd ? $0 : authorityEnd } ?? base.endIndex)]
        return directory + "/" + location
    }
}
