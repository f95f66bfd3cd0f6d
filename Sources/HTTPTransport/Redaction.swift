// The one place that keeps secrets out of log lines and error messages.
import Synchronization

/// A secret value. Printing, interpolating or dumping it shows `<redacted>`; only `.value`
/// reaches the secret, and only the transport and the token client read it.
public struct Redacted<Value: Sendable>: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public let value: Value
    public init(_ value: Value) { self.value = value }
    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }
    public var customMirror: Mirror { Mirror(self, children: []) }
}

/// Removes secrets from text bound for a log line or an error message. Every credential and
/// token the plugin learns is registered here, so even a registry that echoes a token back in
/// an error body cannot make it reach the user's log.
public final class SecretScrubber: Sendable {
    public static let shared = SecretScrubber()
    private let secrets = Mutex<Set<String>>([])

    /// Secrets shorter than this are not scrubbed: replacing every "ab" would garble messages,
    /// and such values are never logged in the first place.
    public static let minimumLength = 4

    public func register(_ secret: String) {
        guard secret.count >= Self.minimumLength else { return }
        secrets.withLock { _ = $0.insert(secret) }
    }

    public func scrub(_ text: String) -> String {
        let known = secrets.withLock { $0 }
        guard !known.isEmpty else { return text }
        var out = text
        // Longest first, so a secret that contains another is removed whole.
        for secret in known.sorted(by: { $0.count > $1.count }) where out.contains(secret) {
            out = out.replacing(secret, with: "<redacted>")
        }
        return out
    }
}

public enum URLRedaction {
    /// Query parameters whose values are safe and useful in a log line. Every other value
    /// (upload `_state`, signed storage URLs' `X-Amz-Signature`, tokens) becomes `REDACTED`.
    public static let visibleParameters: Set<String> = ["digest", "mount", "from", "n", "last", "service", "scope", "tag"]

    /// The URL without user-info and without secret query values.
    public static func redact(_ url: String) -> String {
        var text = Substring(url)
        var prefix = ""
        if let schemeEnd = text.firstRange(of: "://") {
            prefix = String(text[..<schemeEnd.upperBound])
            text = text[schemeEnd.upperBound...]
            let authorityEnd = text.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? text.endIndex
            if let at = text[..<authorityEnd].lastIndex(of: "@") { text = text[text.index(after: at)...] }
        }
        guard let q = text.firstIndex(of: "?") else { return prefix + text }
        let path = text[..<q]
        var query = text[text.index(after: q)...]
        if let hash = query.firstIndex(of: "#") { query = query[..<hash] }
        let parts = query.split(separator: "&", omittingEmptySubsequences: false).map { pair -> String in
            guard let eq = pair.firstIndex(of: "=") else { return String(pair) }
            let name = pair[..<eq]
            return visibleParameters.contains(String(name)) ? String(pair) : name + "=REDACTED"
        }
        return prefix + path + "?" + parts.joined(separator: "&")
    }
}
