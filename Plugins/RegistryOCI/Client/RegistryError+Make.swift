// Turning a failed exchange into a RegistryError with a hint the user can act on.
import CCurl
import FoundationEssentials
import Glibc
import HTTPTransport
import PluginAPI
import PluginSupport

/// What a request was about, for error messages.
struct RequestContext: Sendable {
    var endpoint: Endpoint
    var repository: String?
    var push: Bool
    /// The credential used (its description only) or nil for anonymous access.
    var credential: String? = nil
    /// Notes from the credential lookup (a failing helper, unreadable config).
    var credentialNotes: [String] = []
    var configPath = ""
    var retryFlag: String { push ? "--push-retry N" : "--image-download-retry N" }
}

extension RegistryError {
    static let temporaryCurlCodes: Set<UInt32> = [
        CURLE_COULDNT_CONNECT.rawValue, CURLE_OPERATION_TIMEDOUT.rawValue, CURLE_GOT_NOTHING.rawValue,
        CURLE_SEND_ERROR.rawValue, CURLE_RECV_ERROR.rawValue, CURLE_PARTIAL_FILE.rawValue,
        CURLE_HTTP2.rawValue, CURLE_HTTP2_STREAM.rawValue, CURLE_SEND_FAIL_REWIND.rawValue,
    ]

    static func transport(_ f: TransferFailure, method: HTTPMethod, url: String, context c: RequestContext) -> RegistryError {
        let host = URLParts(url)?.authority ?? c.endpoint.host
        let local = f.code == CURLE_READ_ERROR || f.code == CURLE_WRITE_ERROR || f.code == CURLE_ABORTED_BY_CALLBACK
        var e = RegistryError(
            kind: f.code == CURLE_FILESIZE_EXCEEDED
                ? .verification(f.message)
                : local ? .local(f.message) : .transport(code: Int(f.code.rawValue), message: f.message),
            statusCode: nil, method: method.rawValue, url: URLRedaction.redact(url), registry: c.endpoint.host,
            repository: c.repository, isTemporary: temporaryCurlCodes.contains(f.code.rawValue))
        let https = url.hasPrefix("https:")
        switch f.code {
        case CURLE_COULDNT_CONNECT:
            e.hint =
                "connection refused: is the registry running at \(URLParts(url)?.origin ?? host)?"
                + (https ? " use --insecure-registry \(host) for plain HTTP" : "")
        case CURLE_COULDNT_RESOLVE_HOST:
            e.hint = "cannot resolve \(host): check the registry name, DNS or proxy settings"
        case CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CACERT_BADFILE, CURLE_SSL_ISSUER_ERROR:
            e.hint = "TLS verification failed for \(host): pass --registry-certificate \(host)=ca.pem or --skip-tls-verify-registry \(host)"
        case CURLE_SSL_CONNECT_ERROR, CURLE_SSL_CERTPROBLEM:
            e.hint =
                "TLS handshake with \(host) failed: if it serves plain HTTP use --insecure-registry \(host);"
                + " if it requires a client certificate pass --registry-client-cert \(host)=cert.pem,key.pem"
        case CURLE_OPERATION_TIMEDOUT:
            e.hint = "the transfer stalled or the connection timed out: check the network, or retry with \(c.retryFlag)"
        case CURLE_GOT_NOTHING, CURLE_SEND_ERROR, CURLE_RECV_ERROR, CURLE_PARTIAL_FILE, CURLE_HTTP2, CURLE_HTTP2_STREAM,
            CURLE_SEND_FAIL_REWIND:
            e.hint = "the connection was reset: retry with \(c.retryFlag)"
        default: break
        }
        // A server that wants a client certificate ends the handshake with an alert, which
        // libcurl reports as a receive error: not a reset worth retrying.
        let lower = f.message.lowercased()
        if lower.contains("alert") && lower.contains("certificate") {
            e.isTemporary = false
            e.hint = "\(host) refused the TLS client certificate (or none was sent): pass --registry-client-cert \(host)=cert.pem,key.pem"
        }
        return e
    }

    static func status(_ r: HTTPResponse, method: HTTPMethod, url: String, context c: RequestContext) -> RegistryError {
        let entries = RegistryErrorEntry.parse(r.body)
        var e = RegistryError(
            kind: .status, statusCode: r.status, method: method.rawValue, url: URLRedaction.redact(url),
            registry: c.endpoint.host, repository: c.repository, errors: entries,
            isTemporary: temporaryStatuses.contains(r.status))
        if entries.isEmpty, !r.body.isEmpty {
            // Not the OCI error JSON (a proxy's HTML page, a plain-text message): keep a short excerpt.
            let text = String(decoding: r.body.prefix(300), as: UTF8.self).split(whereSeparator: \.isNewline).joined(separator: " ")
            e.errors = [RegistryErrorEntry(code: "HTTP_\(r.status)", message: text, detail: nil)]
        }
        e.retryAfter = r.headers["Retry-After"].flatMap { parseRetryAfter($0) }
        let codes = Set(entries.map(\.code))
        let verb = c.push ? "push to" : "pull from"
        let repo = c.repository ?? "this repository"
        switch r.status {
        case 401:
            if let credential = c.credential {
                e.hint = "the registry rejected the \(credential): check the user name and password or token"
            } else {
                let notes = c.credentialNotes.isEmpty ? "" : "; " + c.credentialNotes.joined(separator: "; ")
                e.hint =
                    "authentication required: no credentials for \(c.endpoint.host) in \(c.configPath)"
                    + " (run `docker login \(c.endpoint.host)`, or set KILN_REGISTRY=\(c.endpoint.host) with"
                    + " KILN_REGISTRY_USERNAME and KILN_REGISTRY_PASSWORD)" + notes
            }
        case 403:
            e.hint =
                c.credential.map { "the \($0) is not allowed to \(verb) \(repo)" }
                ?? "anonymous access may not \(verb) \(repo): log in with `docker login \(c.endpoint.host)`"
        case 404 where codes.contains("NAME_UNKNOWN") || codes.contains("MANIFEST_UNKNOWN"):
            e.hint = "\(repo) or the requested tag does not exist in \(c.endpoint.host): check the image reference"
        case 429:
            e.hint = "the registry is rate limiting requests: retry later or with \(c.retryFlag)"
        case 500...599:
            e.hint = "the registry failed: retry with \(c.retryFlag)"
        case 400 where String(decoding: r.body, as: UTF8.self).contains("HTTPS"):
            e.hint = "\(c.endpoint.host) serves HTTPS: remove it from --insecure-registry / --insecure"
        default: break
        }
        if codes.contains("BLOB_UPLOAD_UNKNOWN") {
            // The session expired or was lost (a registry restart): a fresh session may succeed.
            e.isTemporary = true
            e.hint = "the registry lost the upload session: retry with \(c.retryFlag)"
        }
        if codes.contains("DIGEST_INVALID") {
            e.hint = "the uploaded bytes do not match the digest: the local blob file changed or is corrupt"
        }
        if codes.contains("MANIFEST_BLOB_UNKNOWN") {
            e.hint = "the registry lacks a blob the manifest names: push every layer and the config first"
        }
        if method == .put, url.contains("/manifests/"), (400..<500).contains(r.status), looksImmutable(entries, body: r.body) {
            e.isImmutableTag = true
            e.hint =
                "the tag is immutable in this repository: push another tag, or pass --push-ignore-immutable-tag-errors to treat this as success"
        }
        return e
    }

    /// `Retry-After` in seconds: delta-seconds, or an HTTP date (RFC 9110 §10.2.3) measured
    /// from `now`. A date in the past or an unreadable value counts as 1 s, never as 0.
    static func parseRetryAfter(_ value: String, now: Date = Date()) -> Double? {
        let text = value.trimmed(" ")
        if let seconds = Double(text), seconds >= 0 { return seconds }
        guard !text.isEmpty else { return nil }
        guard let seconds = HTTPDate.seconds(text) else { return 1 }
        return max(1, Date(timeIntervalSince1970: Double(seconds)).timeIntervalSince(now))
    }
}
