// The requests and responses the transport exchanges: plain values, no libcurl types.
import PluginAPI

public enum HTTPMethod: String, Sendable {
    case get = "GET"
    case head = "HEAD"
    case post = "POST"
    case put = "PUT"
    case patch = "PATCH"
    case delete = "DELETE"
}

/// What a request sends. Files are streamed with pread; they are never loaded whole.
public enum RequestBody: Sendable {
    case none
    case bytes([UInt8])
    case file(path: String, offset: Int64, length: Int64)

    public var length: Int64 {
        switch self {
        case .none: return 0
        case .bytes(let b): return Int64(b.count)
        case .file(_, _, let length): return length
        }
    }
}

/// Where a successful (2xx) response body goes. Other responses are always kept in memory
/// (up to 64 KiB) so their `errors[]` body can be reported.
public enum ResponseSink: Sendable {
    case memory(limit: Int)
    /// Written to `path` (created or truncated) while being hashed with SHA-256; a body longer
    /// than `limit` bytes is cut off (a server cannot fill the disk past the descriptor's size).
    /// With `resumeFrom` > 0 and a 206 answer, the body is appended after the first `resumeFrom`
    /// bytes already in `path`, which are hashed first (a 200 answer starts the file over).
    case file(path: String, limit: Int64?, resumeFrom: Int64 = 0)
}

/// TLS and protocol settings for one host, resolved from `RegistryOptions`.
public struct ConnectionSettings: Sendable, Equatable {
    public var verifyTLS = true
    public var caFile: String?
    /// PEM certificates trusted instead of the system bundle file (the system bundle plus
    /// `SSL_CERT_FILE`, `SSL_CERT_DIR`…: see `TrustStore`); `caFile` wins when both are set.
    public var caBundle: [UInt8]?
    public var clientCertificate: ClientCertificate?

    public init(verifyTLS: Bool = true, caFile: String? = nil, clientCertificate: ClientCertificate? = nil) {
        self.verifyTLS = verifyTLS
        self.caFile = caFile
        self.clientCertificate = clientCertificate
    }
}

public struct HTTPRequest: Sendable {
    public var method: HTTPMethod
    public var url: String
    /// Header lines (`Name: value`), without `Authorization`.
    public var headers: [String] = []
    /// `Authorization` value, kept apart so that it is never logged and never follows a
    /// redirect to another host.
    public var authorization: Redacted<String>?
    public var body: RequestBody = .none
    public var sink: ResponseSink = .memory(limit: 4 << 20)
    public var settings = ConnectionSettings()
    /// HTTP/1.1 for blob uploads: HTTP/2 flow control throttles large uploads (peers §5.4).
    public var forceHTTP11 = false
    /// Told, from the transfer thread, how far the blob moves: for a file sink the bytes in the
    /// file (a resumed prefix included), for a file body the offset reached in the file. Not
    /// called for memory sinks and byte bodies.
    public var progress: (@Sendable (Int64) -> Void)?

    public init(
        method: HTTPMethod, url: String, headers: [String] = [], authorization: Redacted<String>? = nil, body: RequestBody = .none,
        sink: ResponseSink = .memory(limit: 4 << 20), settings: ConnectionSettings = ConnectionSettings(), forceHTTP11: Bool = false
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.authorization = authorization
        self.body = body
        self.sink = sink
        self.settings = settings
        self.forceHTTP11 = forceHTTP11
    }
}

/// Response header fields, names lower-cased; repeated fields keep every value.
public struct HeaderFields: Sendable {
    public init() {}

    private(set) var fields: [String: [String]] = [:]

    public mutating func add(_ name: String, _ value: String) { fields[name.lowercased(), default: []].append(value) }
    public subscript(_ name: String) -> String? { fields[name.lowercased()]?.first }
    public func all(_ name: String) -> [String] { fields[name.lowercased()] ?? [] }
}

public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers = HeaderFields()
    /// The body for memory sinks and for every non-2xx response.
    public var body: [UInt8] = []
    /// For file sinks on 2xx: SHA-256 and size of what was written.
    public var fileDigest: Digest?
    public var fileSize: Int64 = 0
    public var bytesSent: Int64 = 0
    public var bytesReceived: Int64 = 0
    public var seconds: Double = 0

    public var isSuccess: Bool { (200..<300).contains(status) }
    public var isRedirect: Bool { [301, 302, 303, 307, 308].contains(status) }

    public init(status: Int, headers: HeaderFields = HeaderFields(), body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }
}
