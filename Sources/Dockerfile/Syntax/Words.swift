// Splitting an instruction's argument text: builder flags, quote-preserving words,
// whitespace-separated words and JSON arrays (BuildKit `split_command.go`, `line_parsers.go`).

/// A `--flag[=value]` word found before an instruction's arguments, with its offset in the
/// logical line.
struct FlagWord {
    var text: String
    var offset: Int
}

enum Words {
    /// Extracts leading `--flag` words starting at `start`; returns them and the offset where
    /// the arguments begin. Quotes group inside a flag value; `--` alone ends the flags.
    static func extractFlags(_ chars: [Character], from start: Int, escape: Character) -> (flags: [FlagWord], argsStart: Int) {
        var flags: [FlagWord] = []
        var pos = start
        var inWord = false
        var quote: Character?
        var word = ""
        var wordStart = start
        var blankOK = false
        while pos <= chars.count {
            let ch: Character? = pos < chars.count ? chars[pos] : nil
            if !inWord {
                guard let ch else { break }
                if ch.isWhitespace {
                    pos += 1
                    continue
                }
                if ch != "-" || pos + 1 == chars.count || chars[pos + 1] != "-" { return (flags, pos) }
                inWord = true
                wordStart = pos
            }
            guard var ch else {
                if word != "--" && (blankOK || !word.isEmpty) { flags.append(FlagWord(text: word, offset: wordStart)) }
                break
            }
            if let open = quote {
                if ch == open {
                    quote = nil
                } else {
                    if ch == escape {
                        if pos + 1 == chars.count {
                            quote = nil
                            pos += 1
                            continue
                        }
                        pos += 1
                        ch = chars[pos]
                    }
                    word.append(ch)
                }
                pos += 1
                continue
            }
            if ch.isWhitespace {
                inWord = false
                if word == "--" { return (flags, pos) }
                if blankOK || !word.isEmpty { flags.append(FlagWord(text: word, offset: wordStart)) }
                word = ""
                blankOK = false
                pos += 1
                continue
            }
            if ch == "'" || ch == "\"" {
                quote = ch
                blankOK = true
                pos += 1
                continue
            }
            if ch == escape {
                if pos + 1 == chars.count {
                    pos += 1
                    continue
                }
                pos += 1
                ch = chars[pos]
            }
            word.append(ch)
            pos += 1
        }
        return (flags, chars.count)
    }

    /// Splits on whitespace outside quotes, keeping the quotes and escapes in the words
    /// (ENV, LABEL and ARG arguments; quotes are removed later by expansion).
    static func quoted(_ text: String, escape: Character) -> [String] {
        var words: [String] = []
        var word = ""
        var blankOK = false
        var quote: Character?
        var chars = Array(text)[...]
        while let ch = chars.popFirst() {
            if let open = quote {
                word.append(ch)
                if ch == open {
                    quote = nil
                } else if ch == escape && open != "'" {
                    if let next = chars.popFirst() {
                        word.append(next)
                    } else {
                        word.removeLast()
                        quote = nil
                    }
                }
                continue
            }
            if ch.isWhitespace {
                if blankOK || !word.isEmpty { words.append(word) }
                word = ""
                blankOK = false
                continue
            }
            if ch == "'" || ch == "\"" {
                quote = ch
                blankOK = true
            }
            if ch == escape {
                guard let next = chars.popFirst() else { continue }
                word.append(ch)
                word.append(next)
                continue
            }
            word.append(ch)
        }
        if blankOK || !word.isEmpty { words.append(word) }
        return words
    }

    /// Splits on runs of blanks (BuildKit's `[\t\v\f\r ]+`).
    static func whitespaceSeparated(_ text: String, maxSplits: Int = Int.max) -> [String] {
        let trimmed = text.trimmingWhitespace()
        if trimmed.isEmpty { return [] }
        return trimmed.split(maxSplits: maxSplits, omittingEmptySubsequences: true, whereSeparator: { $0.isWhitespace }).enumerated().map {
            // With a split limit the last piece keeps its inner whitespace, as Go's Split(…, 2).
            $0.offset == maxSplits ? String($0.element).trimmingWhitespace() : String($0.element)
        }
    }

    enum JSONResult {
        case array([String])
        case notJSON
        case notStrings
        /// Nested deeper than Go's `encoding/json` reads (`JSONArray.maximumDepth`).
        case tooDeep
    }

    /// Reads `text` as a JSON array of strings. `notJSON` (the caller falls back to shell
    /// form) when it does not parse; `notStrings` when it is an array holding other values.
    static func jsonArray(_ text: String) -> JSONResult {
        switch JSONArray.parse(text) {
        case .strings(let strings): return .array(strings)
        case .notStrings: return .notStrings
        case .invalid: return .notJSON
        case .tooDeep: return .tooDeep
        }
    }
}
