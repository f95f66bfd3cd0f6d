// The glob patterns of `${V#p}`, `${V%p}` and `${V/p/r}`: `*` (any run), `?` (one character),
// `\*`, `\?`, `\\` (literal), `\}` and `\/` (the brace or slash itself).

/// A parsed substitution pattern; matching follows the shell: `#`/`%` remove the shortest
/// (or with `##`/`%%` the longest) matching prefix/suffix, `/` replaces the leftmost longest
/// match.
struct ShellPattern {
    enum Token: Equatable {
        case anyRun
        case anyCharacter
        case literal(Character)
    }

    let tokens: [Token]

    init(_ pattern: String) throws {
        var tokens: [Token] = []
        var iterator = Array(pattern).makeIterator()
        while let ch = iterator.next() {
            switch ch {
            case "*": tokens.append(.anyRun)
            case "?": tokens.append(.anyCharacter)
            case "\\":
                guard let next = iterator.next() else {
                    throw ShellLexer.Error.invalidPattern(pattern, reason: "a trailing '\\' escapes nothing")
                }
                guard "*?\\}/".contains(next) else {
                    throw ShellLexer.Error.invalidPattern(pattern, reason: "invalid escape '\\\(next)'")
                }
                tokens.append(.literal(next))
            default: tokens.append(.literal(ch))
            }
        }
        self.tokens = tokens
    }

    /// Every end offset at which the pattern, anchored at `start`, matches `text`.
    func matchEnds(in text: [Character], from start: Int) -> Set<Int> {
        var positions: Set<Int> = [start]
        for token in tokens {
            var nextPositions: Set<Int> = []
            switch token {
            case .anyRun:
                if let low = positions.min() { nextPositions = Set(low...text.count) }
            case .anyCharacter:
                for p in positions where p < text.count { nextPositions.insert(p + 1) }
            case .literal(let ch):
                for p in positions where p < text.count && text[p] == ch { nextPositions.insert(p + 1) }
            }
            positions = nextPositions
            if positions.isEmpty { break }
        }
        return positions
    }

    func removingPrefix(from value: String, longest: Bool) -> String {
        let text = Array(value)
        let ends = matchEnds(in: text, from: 0)
        guard let end = longest ? ends.max() : ends.min() else { return value }
        return String(text[end...])
    }

    func removingSuffix(from value: String, longest: Bool) -> String {
        let text = Array(value)
        let starts = (0...text.count).filter { matchEnds(in: text, from: $0).contains(text.count) }
        guard let start = longest ? starts.min() : starts.max() else { return value }
        return String(text[..<start])
    }

    func replacing(in value: String, with replacement: String, all: Bool) -> String {
        let text = Array(value)
        var output = ""
        var index = 0
        var previousEnd = -1
        var replaced = false
        while index <= text.count {
            let end = (all || !replaced) ? matchEnds(in: text, from: index).max() : nil
            // An empty match right after a previous match is not a new match (as Go's regexp).
            if let end, !(end == index && index == previousEnd) {
                output += replacement
                replaced = true
                previousEnd = end
                if end > index {
                    index = end
                    continue
                }
            }
            if index < text.count { output.append(text[index]) }
            index += 1
        }
        return output
    }
}
