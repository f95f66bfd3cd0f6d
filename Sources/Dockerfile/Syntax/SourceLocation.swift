// Where a piece of a Dockerfile came from, and the one error type the front end throws.

/// A position in a Dockerfile: the file name, the 1-based line and column where a construct
/// starts, and the line where it ends (continuations and heredocs span several lines).
public struct SourceLocation: Sendable, Hashable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int
    public var endLine: Int

    public init(file: String, line: Int, column: Int = 1, endLine: Int? = nil) {
        self.file = file
        self.line = line
        self.column = column
        self.endLine = endLine ?? line
    }

    /// `file:line:column`, the form editors and terminals turn into links.
    public var description: String { "\(file):\(line):\(column)" }
}

/// A diagnostic about a Dockerfile: what is wrong, where, and the nearest valid word when the
/// problem is a typo.
///
/// The description reads `Dockerfile:3:1: unknown instruction 'COPPY' (did you mean 'COPY'?)`.
public struct DockerfileError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Where the problem is; `nil` only for problems that have no place in a file
    /// (for example a malformed `--build-arg` value).
    public var location: SourceLocation?
    public var message: String
    /// The valid word closest to the one written, when there is one within edit distance 2.
    public var suggestion: String?

    public init(_ message: String, at location: SourceLocation?, suggestion: String? = nil) {
        self.message = message
        self.location = location
        self.suggestion = suggestion
    }

    public var description: String {
        var text = location.map { "\($0): " } ?? ""
        text += message
        if let suggestion { text += " (did you mean '\(suggestion)'?)" }
        return text
    }
}

/// Finds the candidate nearest to a misspelt word, as BuildKit's `suggest` package does:
/// Levenshtein distance below 3, ties going to the first candidate.
enum Suggestion {
    static func nearest(to word: String, in candidates: [String], caseSensitive: Bool = false) -> String? {
        // No keyword is this long; comparing a huge word would cost length × keyword time.
        guard word.utf8.count <= 64 else { return nil }
        let needle = caseSensitive ? word : word.lowercased()
        var best: String?
        var bestDistance = 3
        for candidate in candidates {
            let option = caseSensitive ? candidate : candidate.lowercased()
            if option == needle { return nil }
            let distance = levenshtein(Array(needle), Array(option))
            if distance < bestDistance {
                best = candidate
                bestDistance = distance
            }
        }
        return best
    }

    static func levenshtein(_ a: [Character], _ b: [Character]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}
