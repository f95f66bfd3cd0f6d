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

    /// The pattern reversed, to match suffixes as prefixes of the reversed text.
    private init(tokens: [Token]) { self.tokens = tokens }

    /// Runs the pattern as an automaton (states are token indices; `*` loops) anchored at
    /// `start`: O(length × tokens), never per candidate start. Returns the shortest or the
    /// longest end offset of a match, `nil` when there is none.
    func matchEnd(in text: [Character], from start: Int, longest: Bool) -> Int? {
        var states = [Bool](repeating: false, count: tokens.count + 1)
        var live = closure(adding: 0, to: &states) ? 1 : 0
        var best: Int? = states[tokens.count] ? start : nil
        if best != nil && !longest { return best }
        var position = start
        var next = states
        while position < text.count && live > 0 {
            let ch = text[position]
            for i in next.indices { next[i] = false }
            live = 0
            for index in 0..<tokens.count where states[index] {
                switch tokens[index] {
                case .anyRun: if closure(adding: index, to: &next) { live += 1 }
                case .anyCharacter: if closure(adding: index + 1, to: &next) { live += 1 }
                case .literal(let literal): if literal == ch, closure(adding: index + 1, to: &next) { live += 1 }
                }
            }
            swap(&states, &next)
            position += 1
            if states[tokens.count] {
                best = position
                if !longest { return best }
            }
        }
        return best
    }

    /// Marks `index` and the states reachable from it without input (past `*`); true when
    /// something new was marked.
    private func closure(adding index: Int, to states: inout [Bool]) -> Bool {
        var added = false
        var i = index
        while i <= tokens.count, !states[i] {
            states[i] = true
            added = true
            guard i < tokens.count, tokens[i] == .anyRun else { break }
            i += 1
        }
        return added
    }

    /// The leftmost offset at or after `from` where a match starts: one pass that tracks, for
    /// each automaton state, the earliest start that reaches it.
    func leftmostStart(in text: [Character], from: Int) -> Int? {
        let accept = tokens.count
        var starts = [Int?](repeating: nil, count: tokens.count + 1)
        var found: Int?
        func add(_ index: Int, _ start: Int, _ set: inout [Int?]) {
            var i = index
            while i <= accept {
                if let existing = set[i], existing <= start { return }
                set[i] = start
                guard i < accept, tokens[i] == .anyRun else { return }
                i += 1
            }
        }
        var position = from
        while true {
            // A match may also start here, unless one starting earlier is already known.
            if found == nil { add(0, position, &starts) }
            if let start = starts[accept] { found = min(found ?? start, start) }
            // Stop once no live state started before the best match found.
            let pending = starts[..<accept].contains { start in start.map { $0 < (found ?? Int.max) } ?? false }
            if position >= text.count || (!pending && found != nil) { break }
            let ch = text[position]
            var next = [Int?](repeating: nil, count: tokens.count + 1)
            for index in 0..<accept {
                guard let start = starts[index] else { continue }
                if let known = found, start >= known { continue }
                switch tokens[index] {
                case .anyRun: add(index, start, &next)
                case .anyCharacter: add(index + 1, start, &next)
                case .literal(let literal): if literal == ch { add(index + 1, start, &next) }
                }
            }
            starts = next
            position += 1
        }
        return found
    }

    func removingPrefix(from value: String, longest: Bool) -> String {
        let text = Array(value)
        guard let end = matchEnd(in: text, from: 0, longest: longest) else { return value }
        return String(text[end...])
    }

    func removingSuffix(from value: String, longest: Bool) -> String {
        // A suffix of the text is a prefix of the reversed text matched by the reversed pattern.
        let reversed = Array(value.reversed())
        guard let length = ShellPattern(tokens: tokens.reversed()).matchEnd(in: reversed, from: 0, longest: longest) else {
            return value
        }
        return String(reversed[length...].reversed())
    }

    /// `${V/p/r}` and `${V//p/r}`: the leftmost match, extended as far as it goes, replaced;
    /// with `all`, each following non-overlapping match too. Throws
    /// `ShellLexer.Error.resultTooLong` once the output passes `limit` UTF-8 bytes.
    func replacing(in value: String, with replacement: String, all: Bool, limit: Int = Int.max) throws -> String {
        let text = Array(value)
        var output = ""
        var index = 0
        var previousEnd = -1
        while index <= text.count {
            guard let start = leftmostStart(in: text, from: index), let end = matchEnd(in: text, from: start, longest: true) else {
                break
            }
            // An empty match right after a previous match is not a new match (as Go's regexp).
            if end == start && start == previousEnd {
                if start < text.count { output.append(text[start]) }
                index = start + 1
                continue
            }
            output += String(text[index..<start])
            output += replacement
            if output.utf8.count > limit { throw ShellLexer.Error.resultTooLong }
            previousEnd = end
            if end > start {
                index = end
            } else {
                if start < text.count { output.append(text[start]) }
                index = start + 1
            }
            if !all { break }
        }
        if index < text.count { output += String(text[index...]) }
        if output.utf8.count > limit { throw ShellLexer.Error.resultTooLong }
        return output
    }
}
