// One .dockerignore pattern compiled the way moby's patternmatcher compiles it: Go
// `filepath.Match` syntax plus `**`, with its exact / prefix / suffix shortcuts.

/// A cleaned pattern and its matcher.
struct IgnorePattern: Sendable, Hashable {
    enum Token: Sendable, Hashable {
        case literal(Character)
        /// `*`: any run of characters except `/`.
        case star
        /// `?`: one character except `/`.
        case question
        /// `**` followed by more pattern: nothing, or anything ending in `/`.
        case anyDirectories
        /// `**` at the end after a wildcard: anything.
        case anything
        case characterClass(negated: Bool, ranges: [ClosedRange<Character>])
    }

    enum Kind: Sendable, Hashable {
        case exact
        /// `dir/**`: every path under the prefix.
        case prefix(String)
        /// `**/name`: every path ending so.
        case suffix(String)
        case wildcard
    }

    /// The pattern after cleaning, without `!`.
    let text: String
    let isException: Bool
    let tokens: [Token]
    let kind: Kind

    init(text: String, isException: Bool) throws {
        self.text = text
        self.isException = isException
        var tokens: [Token] = []
        var kind = Kind.exact
        let chars = Array(text)
        var i = 0
        var position = 0
        while i < chars.count {
            let ch = chars[i]
            i += 1
            defer { position += 1 }
            switch ch {
            case "*":
                if i < chars.count && chars[i] == "*" {
                    i += 1
                    if i < chars.count && chars[i] == "/" { i += 1 }
                    if i == chars.count {
                        if case .exact = kind {
                            kind = .prefix(String(text.dropLast(2)))
                        } else {
                            tokens.append(.anything)
                            kind = .wildcard
                        }
                    } else {
                        tokens.append(.anyDirectories)
                        kind = .wildcard
                    }
                    if position == 0 { kind = .suffix(String(text.dropFirst(2))) }
                } else {
                    tokens.append(.star)
                    kind = .wildcard
                }
            case "?":
                tokens.append(.question)
                kind = .wildcard
            case "\\":
                // Go's filepath.Match (run by patternmatcher as a syntax check) refuses a
                // trailing backslash.
                guard i < chars.count else { throw DockerIgnore.Error.badPattern(text) }
                tokens.append(.literal(chars[i]))
                i += 1
                // The text differs from what it matches, so compare through the tokens.
                if case .exact = kind { kind = .wildcard }
            case "[":
                let (token, next) = try Self.characterClass(chars, from: i, pattern: text)
                tokens.append(token)
                i = next
                kind = .wildcard
            default:
                tokens.append(.literal(ch))
            }
        }
        self.tokens = tokens
        self.kind = kind
    }

    /// Parses a `[...]` class whose `[` is just before `start`, with Go `filepath.Match`'s
    /// rules: `^` negates, `\\` escapes, `-` and `]` must be escaped unless they close a range
    /// or the class, the class must not be empty.
    private static func characterClass(_ chars: [Character], from start: Int, pattern: String) throws -> (Token, Int) {
        var i = start
        var negated = false
        if i < chars.count && chars[i] == "^" {
            negated = true
            i += 1
        }
        func escaped() throws -> Character {
            guard i < chars.count else { throw DockerIgnore.Error.badPattern(pattern) }
            var ch = chars[i]
            if ch == "-" || ch == "]" { throw DockerIgnore.Error.badPattern(pattern) }
            i += 1
            if ch == "\\" {
                guard i < chars.count else { throw DockerIgnore.Error.badPattern(pattern) }
                ch = chars[i]
                i += 1
            }
            return ch
        }
        var ranges: [ClosedRange<Character>] = []
        while true {
            if i < chars.count && chars[i] == "]" && !ranges.isEmpty { return (.characterClass(negated: negated, ranges: ranges), i + 1) }
            let low = try escaped()
            var high = low
            if i < chars.count && chars[i] == "-" {
                i += 1
                high = try escaped()
                guard low <= high else { throw DockerIgnore.Error.badPattern(pattern) }
            }
            ranges.append(low...high)
        }
    }

    /// Whether the pattern matches `path` itself (parents are the caller's business).
    func matches(_ path: String) -> Bool {
        switch kind {
        case .exact: return path == text
        case .prefix(let prefix): return path.hasPrefix(prefix)
        case .suffix(let suffix):
            if path.hasSuffix(suffix) { return true }
            return suffix.hasPrefix("/") && path == String(suffix.dropFirst())
        case .wildcard:
            return run(Array(path)).contains(State(index: tokens.count, inner: false))
        }
    }

    /// Whether some path starting with `prefix` could match (used to decide whether an
    /// excluded directory may hold re-included files).
    func couldMatch(below prefix: String) -> Bool {
        switch kind {
        case .exact: return text.hasPrefix(prefix)
        case .prefix(let start): return start.hasPrefix(prefix) || prefix.hasPrefix(start)
        case .suffix: return true
        case .wildcard: return !run(Array(prefix)).isEmpty
        }
    }

    struct State: Hashable {
        var index: Int
        var inner: Bool
    }

    /// Runs the pattern as an NFA over `input`; returns the live states at the end.
    private func run(_ input: [Character]) -> Set<State> {
        var states = closure([State(index: 0, inner: false)])
        for ch in input {
            var next: Set<State> = []
            for state in states where state.index < tokens.count {
                switch tokens[state.index] {
                case .literal(let literal): if ch == literal { next.insert(State(index: state.index + 1, inner: false)) }
                case .question: if ch != "/" { next.insert(State(index: state.index + 1, inner: false)) }
                case .characterClass(let negated, let ranges):
                    if ranges.contains(where: { $0.contains(ch) }) != negated { next.insert(State(index: state.index + 1, inner: false)) }
                case .star: if ch != "/" { next.insert(state) }
                case .anything: next.insert(state)
                case .anyDirectories:
                    next.insert(State(index: state.index, inner: true))
                    if ch == "/" { next.insert(State(index: state.index + 1, inner: false)) }
                }
            }
            states = closure(next)
            if states.isEmpty { break }
        }
        return states
    }

    private func closure(_ states: Set<State>) -> Set<State> {
        var result = states
        var pending = Array(states)
        while let state = pending.popLast() {
            guard !state.inner, state.index < tokens.count else { continue }
            switch tokens[state.index] {
            case .star, .anything, .anyDirectories:
                let skip = State(index: state.index + 1, inner: false)
                if result.insert(skip).inserted { pending.append(skip) }
            default: break
            }
        }
        return result
    }
}
