// Character classes the parameter scanner needs.

extension ShellLexer {
    /// Names that are never set in a Dockerfile but still parse as parameters (`$@`, `$#`…).
    static func isSpecialParameter(_ ch: Character) -> Bool {
        "@*#?-$!0".contains(ch)
    }

    /// Unicode decimal digits, as Go's `unicode.IsDigit`.
    static func isDigit(_ ch: Character) -> Bool {
        ch.unicodeScalars.count == 1 && ch.unicodeScalars.first?.properties.generalCategory == .decimalNumber
    }
}
