// `WWW-Authenticate` challenges (RFC 7235 §4.1 and the Docker token spec's use of them).

/// One challenge: a scheme (`bearer`, `basic`, lower-cased) and its auth-params (names
/// lower-cased, values unquoted).
struct AuthChallenge: Sendable, Equatable {
    var scheme: String
    var parameters: [String: String]

    var realm: String? { parameters["realm"] }
    var service: String? { parameters["service"] }
    /// Scopes the registry asked for (`scope` may hold several, space separated).
    var scopes: [String] { parameters["scope"].map { $0.split(separator: " ").map(String.init) } ?? [] }

    /// Parses a header value that may hold several challenges, e.g.
    /// `Bearer realm="https://a/token",service="reg",scope="repository:x:pull,push", Basic realm="r"`.
    /// Quoted strings may contain commas and escaped quotes. Malformed tails are ignored.
    static func parse(_ header: String) -> [AuthChallenge] {
        var scanner = Scanner(Array(header.unicodeScalars))
        var result: [AuthChallenge] = []
        while true {
            scanner.skip { $0 == " " || $0 == "\t" || $0 == "," }
            guard let scheme = scanner.token() else { break }
            var challenge = AuthChallenge(scheme: scheme.lowercased(), parameters: [:])
            // Parameters until a token that is not followed by `=` (the next scheme).
            while true {
                scanner.skip { $0 == " " || $0 == "\t" || $0 == "," }
                let mark = scanner.position
                guard let name = scanner.token() else { break }
                scanner.skip { $0 == " " || $0 == "\t" }
                guard scanner.consume("=") else {
                    scanner.position = mark
                    break
                }
                scanner.skip { $0 == " " || $0 == "\t" }
                let value = scanner.peek == "\"" ? scanner.quoted() : (scanner.token() ?? "")
                challenge.parameters[name.lowercased()] = value
            }
            result.append(challenge)
        }
        return result
    }
}

private struct Scanner {
    let chars: [Unicode.Scalar]
    var position = 0
    init(_ chars: [Unicode.Scalar]) { self.chars = chars }

    var peek: Unicode.Scalar? { position < chars.count ? chars[position] : nil }

    mutating func skip(while predicate: (Unicode.Scalar) -> Bool) {
        while let c = peek, predicate(c) { position += 1 }
    }

    mutating func consume(_ c: Unicode.Scalar) -> Bool {
        guard peek == c else { return false }
        position += 1
        return true
    }

    /// An RFC 7230 token (also accepts token68's `/` and `=`-free characters).
    mutating func token() -> String? {
        let start = position
        skip { c in
            c.isASCII && c.value > 32 && c.value < 127 && !"\"(),/:;<=>?@[\\]{}".unicodeScalars.contains(c)
                || c == "/" || c == ":"
        }
        guard position > start else { return nil }
        return String(String.UnicodeScalarView(chars[start..<position]))
    }

    mutating func quoted() -> String {
        position += 1  // opening quote
        var out = String.UnicodeScalarView()
        while let c = peek {
            position += 1
            if c == "\"" { break }
            if c == "\\", let next = peek {
                position += 1
                out.append(next)
            } else {
                out.append(c)
            }
        }
        return String(out)
    }
}
