// Parser directives: `# syntax=`, `# escape=`, `# check=` lines at the very top of a file.

/// One parser directive as written at the top of the Dockerfile.
public struct ParserDirective: Sendable, Hashable {
    /// Lower-cased name: `syntax`, `escape` or `check`.
    public var name: String
    public var value: String
    public var location: SourceLocation
}

/// Recognises directives the way BuildKit does: only before the first line that is not a
/// directive (a blank line, an ordinary comment, an unknown directive or an instruction ends
/// the header), each name at most once.
struct DirectiveScanner {
    static let known: Set<String> = ["syntax", "escape", "check"]
    private(set) var done = false
    private var seen: Set<String> = []

    /// Feeds one physical line (leading whitespace already removed). Returns the directive
    /// when the line is one, `nil` otherwise; throws on a repeated directive.
    mutating func scan(_ line: String, location: SourceLocation) throws -> ParserDirective? {
        if done { return nil }
        guard line.hasPrefix("#") else {
            done = true
            return nil
        }
        let body = line.dropFirst().drop(while: { $0.isWhitespace })
        guard let equals = body.firstIndex(of: "=") else {
            done = true
            return nil
        }
        let name = body[..<equals].trimmingTrailingWhitespace()
        let value = body[body.index(after: equals)...].drop(while: { $0.isWhitespace }).trimmingTrailingWhitespace()
        guard let first = name.first, first.isASCII, first.isLetter,
            name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }), !value.isEmpty
        else {
            done = true
            return nil
        }
        let key = name.lowercased()
        guard Self.known.contains(key) else {
            done = true
            return nil
        }
        guard seen.insert(key).inserted else {
            throw DockerfileError("only one \(key) parser directive can be used", at: location)
        }
        return ParserDirective(name: key, value: value, location: location)
    }
}

extension StringProtocol {
    func trimmingTrailingWhitespace() -> String {
        var end = endIndex
        while end > startIndex, self[index(before: end)].isWhitespace { end = index(before: end) }
        return String(self[startIndex..<end])
    }

    func trimmingWhitespace() -> String {
        String(drop(while: { $0.isWhitespace })).trimmingTrailingWhitespace()
    }
}
