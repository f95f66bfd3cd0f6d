// The requests and responses the transport exchanges: plain values, no libcurl types.
import PluginAPI

enum HTTPMethod: String, Sendable {
    case get = "GET"
    case head = "HEAD"
    case post = "POST"
    case put = "PUT"
    case patch = "PATCH"
    case delete = "DELETE"
}

/// What a request sends. Files are streamed with pread; they are never loaded whole.
enum RequestBody: Sendable {
    case none
    case bytes([UInt8])
    case file(path: String, offset: Int64, length: Int64)

    var length: Int64 {
        switch self {
        case .none: return 0
        case .bytes(let b): return Int64(b.count)
        case .file(_, _, let length): return length
        }
    }
}

/// Where a successful (2xx) response body goes. Other responses are always kept in memory
/// (up to 64 KiB) so their `errors[]` body can be reported.
enum ResponseSink: Sendable {
    case memory(limit: Int)
    /// Written to `path` (created or truncated) while being hashed with SHA-256; a body longer
    /// than `limit` bytes is cut off (a server cannot fill the disk past the descriptor's size).
    /// With `resumeFrom` > 0 and a 206 answer, the body is appended after the first `resumeFrom`
    /// bytes already in `path`, which are hashed first (a 200 answer starts the file over).
    case file(path: String, limit: Int64?, resumeFrom: Int64 = 0)
}

/// TLS and protocol settings for one host, resolved from `RegistryOptions`.
struct ConnectionSettings: Sendable, Equatable {
    var verifyTLS = true
    var caFile: String?
    var clientCertificate: ClientCertificate?
}

struct HTTPRequest: Sendable {
    var method: HTTPMethod
    var url: String
    /// Header lines (`Name: value`), without `Authorization`.
    var headers: [String] = []
    /// `Authorization` value, kept apart so that it is never logged and never follows a
    /// redirect to another host.
    var authorization: Redacted<String>?
    var body: RequestBody = .none
    var sink: ResponseSink = .memory(limit: 4 << 20)
    var settings = ConnectionSettings()
    /// HTTP/1.1 for blob uploads: HTTP/2 flow control throttles large uploads (peers §5.4).
    var forceHTTP11 = false
}

/// Response header fields, names lower-cased; repeated fields keep every value.
struct HeaderFields: Sendable {
    private(set) var fields: [String: [String]] = [:]

    mutating func add(_ name: String, _ value: String) { fields[name.lowercased(), default: []].append(value) }
    subscript(_ name: String) -> String? { fields[name.lowercased()]?.first }
    func all(_ name: String) -> [String] { fields[name.lowercased()] ?? [] }
}

struct HTTPResponse: Sendable {
    var status: Int
    var headers = HeaderFields()
    /// The body for memory sinks and for every non-2xx response.
    var body: [UInt8] = []
    /// For file sinks on 2xx: SHA-256 and size of what was written.
    var fileDigest: Digest?
    var fileSize: Int64 = 0
    var bytesSent: Int64 = 0
    var bytesReceived: Int64 = 0
    var seconds: Double = 0

    var isSuccess: Bool { (200..<300).contains(status) }
    var isRedirect: Bool { [301, 302, 303, 307, 308].contains(status) }
}
