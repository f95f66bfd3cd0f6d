// Registry failures a user can act on: what was asked, what the registry said, what to try.
import FoundationEssentials
import HTTPTransport
import PluginAPI
import PluginSupport

/// One entry of a registry's `{"errors":[{code, message, detail}]}` body.
public struct RegistryErrorEntry: Sendable, Equatable, CustomStringConvertible {
    public var code: String
    public var message: String
    /// `detail` rendered as compact JSON (it may be any JSON value).
    public var detail: String?

    public var description: String {
        var s = code
        if !message.isEmpty { s += ": " + message }
        if let detail, !detail.isEmpty, detail != "null" { s += " (detail: \(detail))" }
        return s
    }

    /// Parses an error body; returns [] when the body is not the OCI error JSON.
    static func parse(_ body: [UInt8]) -> [RegistryErrorEntry] {
        guard let errors = JSONValue.parse(body)?["errors"]?.array else { return [] }
        return errors.compactMap { entry in
            guard case .object = entry else { return nil }
            var detail: String?
            switch entry["detail"] {
            case .string(let s): detail = s
            case .array, .object: detail = entry["detail"]?.serialized
            default: break
            }
            return RegistryErrorEntry(
                code: entry["code"]?.string ?? "UNKNOWN", message: entry["message"]?.string ?? "", detail: detail)
        }
    }
}

/// A failed registry operation. Its text never contains credentials: URLs are redacted and
/// the whole description passes through the secret scrubber.
public struct RegistryError: RegistryFailure {
    public enum Kind: Sendable, Equatable {
        /// The registry answered with an unexpected HTTP status.
        case status
        /// No HTTP answer: connection, TLS, time-out, reset (libcurl's code and text).
        case transport(code: Int, message: String)
        /// A downloaded blob or manifest is not what its digest or size says.
        case verification(String)
        /// The registry's answer cannot be used (missing Location, bad JSON, unknown type).
        case protocolViolation(String)
        /// Local files (reading a blob to push, writing a download).
        case local(String)
    }

    public var kind: Kind
    public var statusCode: Int?
    /// HTTP method and redacted URL of the failing request.
    public var method: String?
    public var url: String?
    public var registry: String
    public var repository: String?
    /// The registry's `errors[]` body.
    public var errors: [RegistryErrorEntry] = []
    /// What the user can try.
    public var hint: String?
    /// Seconds the registry asked us to wait (`Retry-After`).
    public var retryAfter: Double?
    public var isTemporary: Bool
    /// The registry refused to overwrite an immutable tag (`--push-ignore-immutable-tag-errors`).
    public var isImmutableTag = false

    public var description: String {
        var s = ""
        if let method, let url { s = "\(method) \(url): " }
        switch kind {
        case .status:
            s += "HTTP \(statusCode ?? 0)"
            if !errors.isEmpty { s += ": " + errors.map(\.description).joined(separator: "; ") }
        case .transport(let code, let message): s += "\(message) (curl error \(code))"
        case .verification(let m), .protocolViolation(let m), .local(let m): s += m
        }
        s += " [registry \(registry)"
        if let repository { s += ", repository \(repository)" }
        s += "]"
        if let hint { s += "\nhint: " + hint }
        return SecretScrubber.shared.scrub(s)
    }

    /// The registry error codes in the body, e.g. `["MANIFEST_BLOB_UNKNOWN"]`.
    public var codes: [String] { errors.map(\.code) }

    static let temporaryStatuses: Set<Int> = [408, 425, 429, 500, 502, 503, 504]

    /// Known tag-immutability messages (Artifact Registry, ECR, Harbor and others).
    static func looksImmutable(_ entries: [RegistryErrorEntry], body: [UInt8]) -> Bool {
        let text =
            (entries.map { "\($0.message) \($0.detail ?? "")" }.joined(separator: " ")
            + " " + String(decoding: body.prefix(4096), as: UTF8.self)).lowercased()
        return text.contains("immutab") || text.contains("cannot be overwritten")
    }
}
