// Variable expansion and quote removal with Docker's rules (BuildKit `shell/lex.go`): the pure
// unit that turns `${NAME:-default}` words into values, given an environment.

/// Expands one word (or splits a line into words) the way Docker expands instruction
/// arguments: `$V`, `${V}`, `${V:-w}`, `${V-w}`, `${V:+w}`, `${V+w}`, `${V:?m}`, `${V?m}`,
/// `${V#p}`, `${V##p}`, `${V%p}`, `${V%%p}`, `${V/p/r}`, `${V//p/r}`; single quotes keep text
/// literal, double quotes allow expansion, the escape character protects the next character.
///
/// Unset variables expand to the empty string. Positional and special parameters (`$1`, `$@`,
/// `$#`…) are never set. Errors are `ShellLexer.Error`.
public struct ShellLexer: Sendable {
    /// The Dockerfile's escape character (`\` or `` ` ``).
    public var escape: Character
    /// Keep quote characters in the result (used to find heredoc delimiters).
    var rawQuotes = false
    /// Keep escape characters in the result.
    var rawEscapes = false
    /// Treat quotes as ordinary characters (used for heredoc bodies).
    var skipProcessQuotes = false
    /// Leave references to unset variables as written.
    var skipUnsetEnvironment = false

    public init(escape: Character = "\\") {
        self.escape = escape
    }

    /// A lexer for heredoc bodies: quotes are text, `\` escapes, variables expand (BuildKit's
    /// `ExpandRaw` for `COPY <<EOF` with an unquoted delimiter).
    public static var heredocBody: ShellLexer {
        var lexer = ShellLexer(escape: "\\")
        lexer.skipProcessQuotes = true
        return lexer
    }

    /// How deeply `${…}` may nest inside a default, alternative, pattern or replacement word
    /// (`${A:-${B:-…}}`). BuildKit has no limit (Go stacks grow); kiln refuses deeper nesting
    /// with an error rather than exhausting the thread's stack.
    public static let maximumNesting = 100

    /// How many bytes (UTF-8) expansion may add to a word: an expanded word is at most this much
    /// longer than the text it came from. Without a cap, `ENV A=$A$A` repeated doubles a value
    /// per line; 1 MiB is eight times what Linux passes to a process as one argument or
    /// environment string (`MAX_ARG_STRLEN`, 128 KiB), so no working build needs more.
    public static let maximumGrowth = 1 << 20

    /// Expands `word` as a single word: whitespace, even unquoted, is kept.
    public func expandWord(_ word: String, environment: [String: String]) throws -> String {
        var processor = WordProcessor(lexer: self, text: word, environment: environment)
        return try processor.process().result
    }

    /// `expandWord` where `overlay` shadows `environment`: the names an ARG line declared so
    /// far, without copying the stage's whole environment for each of them.
    func expandWord(_ word: String, environment: [String: String], overlay: [String: String]) throws -> String {
        var processor = WordProcessor(lexer: self, text: word, environment: environment)
        processor.overlay = overlay
        return try processor.process().result
    }

    /// Expands `line` and splits it into words on unquoted whitespace (including whitespace
    /// that came out of an unquoted variable).
    public func expandWords(_ line: String, environment: [String: String]) throws -> [String] {
        var processor = WordProcessor(lexer: self, text: line, environment: environment)
        return try processor.process().words
    }

    /// Why a word could not be expanded.
    public enum Error: Swift.Error, Sendable, Hashable, CustomStringConvertible {
        case unterminatedQuote(Character)
        case missingBrace
        case missingSlash
        case badSubstitution
        case unexpectedEnd(lookingFor: Character)
        case unsupportedModifier(String)
        case unsetVariable(name: String, message: String)
        case invalidPattern(String, reason: String)
        /// `${…}` nested deeper than `ShellLexer.maximumNesting`.
        case nestedTooDeep
        /// The result would grow by more than `ShellLexer.maximumGrowth` bytes.
        case resultTooLong

        public var description: String {
            switch self {
            case .unterminatedQuote(let quote):
                return "unexpected end of statement while looking for matching \(quote == "'" ? "single" : "double")-quote"
            case .missingBrace: return "syntax error: missing '}'"
            case .missingSlash: return "syntax error: missing '/' in ${}"
            case .badSubstitution: return "syntax error: bad substitution"
            case .unexpectedEnd(let stop): return "unexpected end of statement while looking for matching \(stop)"
            case .unsupportedModifier(let modifier): return "unsupported modifier (\(modifier)) in substitution"
            case .unsetVariable(let name, let message): return "\(name): \(message)"
            case .invalidPattern(let pattern, let reason): return "invalid pattern (\(pattern)) in substitution: \(reason)"
            case .nestedTooDeep: return "substitutions nested more than \(ShellLexer.maximumNesting) deep"
            case .resultTooLong:
                return "the expanded text would be more than \(ShellLexer.maximumGrowth) bytes (1 MiB) longer than the text written"
            }
        }
    }
}

/// Accumulates words the way BuildKit's `wordsStruct` does: whitespace from literal text or
/// expansions splits, whitespace inside quotes does not, and empty words are dropped.
struct WordCollector {
    var buffer = ""
    var words: [String] = []
    var inWord = false

    mutating func add(_ ch: Character) {
        if ch.isWhitespace {
            if inWord && !buffer.isEmpty {
                words.append(buffer)
                buffer = ""
                inWord = false
            }
        } else {
            addRaw(ch)
        }
    }

    mutating func addRaw(_ ch: Character) {
        buffer.append(ch)
        inWord = true
    }

    mutating func add(_ text: String) { for ch in text { add(ch) } }

    mutating func addRaw(_ text: String) {
        buffer += text
        inWord = true
    }

    mutating func finish() -> [String] {
        if !buffer.isEmpty { words.append(buffer) }
        return words
    }
}

/// The scanning state for one expansion.
struct WordProcessor {
    let lexer: ShellLexer
    let chars: [Character]
    let environment: [String: String]
    /// Names that shadow `environment` (see `ShellLexer.expandWord(_:environment:overlay:)`).
    var overlay: [String: String] = [:]
    var pos = 0
    var rawEscapes: Bool
    /// Current `${…}` nesting.
    var depth = 0
    /// The longest result allowed, in UTF-8 bytes.
    let limit: Int

    init(lexer: ShellLexer, text: String, environment: [String: String]) {
        self.lexer = lexer
        self.chars = Array(text)
        self.environment = environment
        self.rawEscapes = lexer.rawEscapes
        self.limit = text.utf8.count + ShellLexer.maximumGrowth
    }

    /// Throws once a (partial) result passes the size cap.
    func check(_ text: String) throws {
        if text.utf8.count > limit { throw ShellLexer.Error.resultTooLong }
    }

    var atEnd: Bool { pos >= chars.count }
    var peek: Character? { pos < chars.count ? chars[pos] : nil }

    mutating func process() throws -> (result: String, words: [String]) {
        try processUntil(nil, rawEscapes: rawEscapes)
    }

    mutating func processUntil(_ stop: Character?, rawEscapes raw: Bool) throws -> (result: String, words: [String]) {
        let saved = rawEscapes
        rawEscapes = raw
        defer { rawEscapes = saved }
        var result = ""
        var words = WordCollector()
        while let ch = peek {
            if let stop, ch == stop {
                pos += 1
                return (result, words.finish())
            }
            if ch == "$" {
                let value = try processDollar()
                result += value
                try check(result)
                words.add(value)
            } else if ch == "<" {
                let value = processPossibleHeredoc()
                result += value
                words.addRaw(value)
            } else if !lexer.skipProcessQuotes && ch == "'" {
                let value = try processSingleQuote()
                result += value
                words.addRaw(value)
            } else if !lexer.skipProcessQuotes && ch == "\"" {
                let value = try processDoubleQuote()
                result += value
                words.addRaw(value)
            } else {
                pos += 1
                if ch == lexer.escape {
                    if rawEscapes {
                        words.addRaw(ch)
                        result.append(ch)
                    }
                    // A trailing escape character is dropped.
                    guard let escaped = peek else { break }
                    pos += 1
                    words.addRaw(escaped)
                    result.append(escaped)
                } else {
                    words.add(ch)
                    result.append(ch)
                }
            }
        }
        if let stop { throw ShellLexer.Error.unexpectedEnd(lookingFor: stop) }
        return (result, words.finish())
    }

    mutating func processSingleQuote() throws -> String {
        pos += 1
        var result = lexer.rawQuotes ? "'" : ""
        while true {
            guard let ch = peek else { throw ShellLexer.Error.unterminatedQuote("'") }
            pos += 1
            if ch == "'" {
                if lexer.rawQuotes { result.append(ch) }
                return result
            }
            result.append(ch)
        }
    }

    mutating func processDoubleQuote() throws -> String {
        pos += 1
        var result = lexer.rawQuotes ? "\"" : ""
        while true {
            guard var ch = peek else { throw ShellLexer.Error.unterminatedQuote("\"") }
            if ch == "\"" {
                pos += 1
                if lexer.rawQuotes { result.append(ch) }
                return result
            }
            if ch == "$" {
                result += try processDollar()
                try check(result)
                continue
            }
            pos += 1
            if ch == lexer.escape {
                if rawEscapes { result.append(ch) }
                guard let next = peek else { continue }
                // Inside double quotes the escape character only protects `"`, `$` and itself.
                if next == "\"" || next == "$" || next == lexer.escape {
                    ch = next
                    pos += 1
                }
            }
            result.append(ch)
        }
    }

    mutating func processPossibleHeredoc() -> String {
        pos += 1
        guard peek == "<" else { return "<" }
        pos += 1
        var result = "<<"
        while let ch = peek, ch == " " || ch == "\t" || ch == "\r" {
            result.append(ch)
            pos += 1
        }
        return result
    }

    /// Names looked up that were set / unset, in order (read by the build checks).
    var matched: [String] = []
    var unmatched: [String] = []

    mutating func lookup(_ name: String) -> String? {
        let value = overlay[name] ?? environment[name]
        if value == nil { unmatched.append(name) } else { matched.append(name) }
        return value
    }
}
