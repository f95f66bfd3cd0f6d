// `$NAME` and `${NAME<modifier>word}` substitutions, and the character classes they need.

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

extension WordProcessor {
    mutating func processName() -> String {
        var name = ""
        while let ch = peek {
            if name.isEmpty && ShellLexer.isDigit(ch) {
                while let digit = peek, ShellLexer.isDigit(digit) {
                    name.append(digit)
                    pos += 1
                }
                return name
            }
            if name.isEmpty && ShellLexer.isSpecialParameter(ch) {
                pos += 1
                return String(ch)
            }
            guard ch.isLetter || ShellLexer.isDigit(ch) || ch == "_" else { break }
            name.append(ch)
            pos += 1
        }
        return name
    }

    mutating func processDollar() throws -> String {
        pos += 1
        guard peek == "{" else {
            let name = processName()
            if name.isEmpty { return "$" }
            if let value = lookup(name) { return value }
            return lexer.skipUnsetEnvironment ? "$" + name : ""
        }
        pos += 1
        // Each nested `${` recurses once through here.
        depth += 1
        defer { depth -= 1 }
        guard depth <= ShellLexer.maximumNesting else { throw ShellLexer.Error.nestedTooDeep }
        guard let first = peek else { throw ShellLexer.Error.missingBrace }
        if first == "{" || first == "}" || first == ":" { throw ShellLexer.Error.badSubstitution }
        let name = processName()
        guard var modifier = peek else { throw ShellLexer.Error.missingBrace }
        pos += 1
        var spelled = String(modifier)
        var nullIsUnset = false
        switch modifier {
        case "}":
            if let value = lookup(name) { return value }
            return lexer.skipUnsetEnvironment ? "${\(name)}" : ""
        case "/":
            return try processReplacement(name: name)
        case ":":
            nullIsUnset = true
            guard let next = peek else { throw ShellLexer.Error.missingBrace }
            pos += 1
            modifier = next
            spelled.append(next)
        default:
            break
        }
        guard "+-?#%".contains(modifier) else { throw ShellLexer.Error.unsupportedModifier(spelled) }
        let rawPattern = modifier == "#" || modifier == "%"
        if nullIsUnset && rawPattern { throw ShellLexer.Error.unsupportedModifier(spelled) }
        var word: String
        do {
            word = try processUntil("}", rawEscapes: rawPattern).result
        } catch {
            if atEnd { throw ShellLexer.Error.missingBrace }
            throw error
        }
        let value = lookup(name)
        if lexer.skipUnsetEnvironment && value == nil { return "${\(name)\(spelled)\(word)}" }
        let empty = value == nil || (nullIsUnset && value == "")
        switch modifier {
        case "-":
            return empty ? word : (value ?? "")
        case "+":
            return empty ? "" : word
        case "?":
            guard let value else {
                throw ShellLexer.Error.unsetVariable(name: name, message: word.isEmpty ? "is not allowed to be unset" : word)
            }
            if nullIsUnset && value.isEmpty {
                throw ShellLexer.Error.unsetVariable(name: name, message: word.isEmpty ? "is not allowed to be empty" : word)
            }
            return value
        default:
            var longest = false
            if word.first == modifier {
                longest = true
                word.removeFirst()
            }
            let pattern = try ShellPattern(word)
            return modifier == "%"
                ? pattern.removingSuffix(from: value ?? "", longest: longest)
                : pattern.removingPrefix(from: value ?? "", longest: longest)
        }
    }

    /// `${NAME/pattern/replacement}` (first match) and `${NAME//pattern/replacement}` (all).
    mutating func processReplacement(name: String) throws -> String {
        let all = peek == "/"
        if all { pos += 1 }
        let pattern: String
        do {
            pattern = try processUntil("/", rawEscapes: true).result
        } catch {
            if atEnd { throw ShellLexer.Error.missingSlash }
            throw error
        }
        let replacement: String
        do {
            replacement = try processUntil("}", rawEscapes: true).result
        } catch {
            if atEnd { throw ShellLexer.Error.missingBrace }
            throw error
        }
        let value = lookup(name)
        if value == nil && lexer.skipUnsetEnvironment { return "${\(name)/\(pattern)/\(replacement)}" }
        return try ShellPattern(pattern).replacing(in: value ?? "", with: replacement, all: all, limit: limit)
    }
}
