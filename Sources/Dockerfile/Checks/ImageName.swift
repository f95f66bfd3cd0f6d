// Whether a FROM base reads as an image reference, with the grammar of the distribution
// reference package (`ParseNormalizedNamed`) that BuildKit's InvalidDefaultArgInFrom uses.
// The module is pure and cannot use the host's reference parser, so this is the grammar
// alone: `[domain[:port]/]path[:tag][@algorithm:hex]`.

enum ImageName {
    /// `true` when `text` parses as a normalized image reference (`alpine`, `alpine:3.20`,
    /// `localhost:5000/a/b@sha256:…`); `false` for `""`, `alpine:`, `Alpine`, `a//b`.
    static func isValid(_ text: String) -> Bool {
        var rest = Substring(text)
        if let at = rest.firstIndex(of: "@") {
            guard isDigest(rest[rest.index(after: at)...]) else { return false }
            rest = rest[..<at]
        }
        // A tag is after the last ':' that follows the last '/' (a ':' before it is a port).
        let lastSlash = rest.lastIndex(of: "/")
        if let colon = rest.lastIndex(of: ":"), lastSlash.map({ colon > $0 }) ?? true {
            guard isTag(rest[rest.index(after: colon)...]) else { return false }
            rest = rest[..<colon]
        }
        guard !rest.isEmpty, rest.count <= 255 else { return false }
        if rest.count == 64, rest.allSatisfy(\.isHexDigit) { return false }
        var components = rest.split(separator: "/", omittingEmptySubsequences: false)
        if components.count > 1, let first = components.first,
            first.contains(".") || first.contains(":") || first == "localhost" || first != first.lowercased()
        {
            guard isDomain(first) else { return false }
            components.removeFirst()
        }
        return components.allSatisfy(isPathComponent)
    }

    private static func isLowerAlphanumeric(_ ch: Character) -> Bool {
        ch.isASCII && (ch.isLowercase || ch.isNumber)
    }

    private static func isAlphanumeric(_ ch: Character) -> Bool {
        ch.isASCII && (ch.isLetter || ch.isNumber)
    }

    /// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`.
    static func isPathComponent(_ text: Substring) -> Bool {
        let chars = Array(text)
        guard let first = chars.first, let last = chars.last, isLowerAlphanumeric(first), isLowerAlphanumeric(last) else { return false }
        var index = 0
        while index < chars.count {
            if isLowerAlphanumeric(chars[index]) {
                index += 1
                continue
            }
            var separator = ""
            while index < chars.count, !isLowerAlphanumeric(chars[index]) {
                separator.append(chars[index])
                index += 1
            }
            let valid = separator == "." || separator == "_" || separator == "__" || separator.allSatisfy({ $0 == "-" })
            if !valid { return false }
        }
        return true
    }

    /// `host(.host)*(:port)?` with labels of letters, digits and inner '-', or `[ipv6](:port)?`.
    static func isDomain(_ text: Substring) -> Bool {
        var host = text
        if let colon = text.lastIndex(of: ":"), !text[colon...].contains("]") {
            let port = text[text.index(after: colon)...]
            guard !port.isEmpty, port.allSatisfy({ $0.isASCII && $0.isNumber }) else { return false }
            host = text[..<colon]
        }
        if host.hasPrefix("[") {
            return host.hasSuffix("]") && host.dropFirst().dropLast().allSatisfy({ $0.isHexDigit || $0 == ":" })
        }
        return host.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            guard let first = label.first, let last = label.last, isAlphanumeric(first), isAlphanumeric(last) else { return false }
            return label.allSatisfy { isAlphanumeric($0) || $0 == "-" }
        }
    }

    /// `[\w][\w.-]{0,127}`.
    static func isTag(_ text: Substring) -> Bool {
        func word(_ ch: Character) -> Bool { ch.isASCII && (ch.isLetter || ch.isNumber || ch == "_") }
        guard let first = text.first, word(first), text.count <= 128 else { return false }
        return text.allSatisfy { word($0) || $0 == "." || $0 == "-" }
    }

    /// `algorithm:hex`, the hex part at least 32 digits.
    static func isDigest(_ text: Substring) -> Bool {
        guard let colon = text.firstIndex(of: ":") else { return false }
        let algorithm = text[..<colon]
        let encoded = text[text.index(after: colon)...]
        guard let first = algorithm.first, first.isASCII, first.isLetter else { return false }
        let algorithmOK = algorithm.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_+.".contains($0)) }
        return algorithmOK && encoded.count >= 32 && encoded.allSatisfy(\.isHexDigit)
    }
}
