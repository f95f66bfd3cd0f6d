// Physical lines → logical lines: comments dropped, continuations joined, heredoc bodies read.

/// One instruction's text after continuations are joined, with a map back to the source so a
/// word found at any offset can be reported at its own line and column.
struct LogicalLine {
    /// The joined text, escape characters of continuations removed, comment lines skipped.
    var text: String
    /// Start offsets (in `Character`s of `text`) of each physical piece and where it came from.
    var pieces: [(offset: Int, line: Int, column: Int)]
    var startLine: Int
    var endLine: Int

    /// The source position of the character at `offset` in `text`.
    func position(of offset: Int) -> (line: Int, column: Int) {
        var best = pieces[0]
        for piece in pieces where piece.offset <= offset { best = piece }
        return (best.line, best.column + (offset - best.offset))
    }
}

/// Reads a Dockerfile line by line with BuildKit's rules: directives only at the top, leading
/// whitespace and `#` comment lines ignored, a line ending in the escape character continues
/// on the next one (comment lines and blank lines inside a continuation are skipped).
struct LineScanner {
    let fileName: String
    private let lines: [String]
    /// Whether each physical line ended with a newline (heredoc bodies keep it).
    private let terminated: [Bool]
    private var next = 0
    private(set) var escape: Character = "\\"
    private(set) var directives: [ParserDirective] = []
    private var directiveScanner = DirectiveScanner()

    init(text: String, fileName: String, escape: Character = "\\") {
        self.fileName = fileName
        self.escape = escape
        var lines: [String] = []
        var terminated: [Bool] = []
        // Split on U+000A itself: Swift treats "\r\n" as one Character, so a Character split
        // would miss CRLF line ends.
        let scalars = text.unicodeScalars
        var start = scalars.startIndex
        while start < scalars.endIndex {
            if let newline = scalars[start...].firstIndex(of: "\n") {
                lines.append(String(scalars[start..<newline]))
                terminated.append(true)
                start = scalars.index(after: newline)
            } else {
                lines.append(String(scalars[start...]))
                terminated.append(false)
                start = scalars.endIndex
            }
        }
        if let first = lines.first, first.hasPrefix("\u{FEFF}") { lines[0] = String(first.dropFirst()) }
        self.lines = lines
        self.terminated = terminated
    }

    var lineCount: Int { lines.count }

    /// The next logical line, or `nil` at end of file.
    mutating func nextLogicalLine() throws -> LogicalLine? {
        while next < lines.count {
            let lineNumber = next + 1
            let raw = stripCR(lines[next])
            next += 1
            let stripped = String(raw.drop(while: { $0.isWhitespace }))
            let column = raw.count - stripped.count + 1
            let here = SourceLocation(file: fileName, line: lineNumber, column: column)
            if let directive = try directiveScanner.scan(stripped, location: here) {
                try apply(directive)
                continue
            }
            if stripped.hasPrefix("#") { continue }
            var (text, ended) = trimContinuation(stripped)
            if ended && text.isEmpty { continue }
            var logical = LogicalLine(text: text, pieces: [(0, lineNumber, column)], startLine: lineNumber, endLine: lineNumber)
            var count = text.count
            // Where the pending continuation's escape character sits, for the EOF diagnostic.
            var escapeAt = (line: lineNumber, column: column + text.count)
            while !ended && next < lines.count {
                let piece = stripCR(lines[next])
                next += 1
                if piece.drop(while: { $0.isWhitespace }).hasPrefix("#") { continue }
                if piece.allSatisfy({ $0.isWhitespace }) { continue }
                let (body, end) = trimContinuation(piece)
                logical.pieces.append((count, next, 1))
                logical.text += body
                count += body.count
                logical.endLine = next
                ended = end
                escapeAt = (next, 1 + body.count)
            }
            if !ended {
                // BuildKit silently accepts this; a file that ends inside a continuation is
                // almost always truncated, so kiln says so.
                throw DockerfileError(
                    "line continuation at end of file: line \(escapeAt.line) ends with '\(escape)' but no line follows; remove the '\(escape)' or add the missing line",
                    at: SourceLocation(file: fileName, line: escapeAt.line, column: escapeAt.column, endLine: lines.count))
            }
            return logical
        }
        return nil
    }

    /// Reads the body of one heredoc that starts on the line after the current position.
    /// Returns the body (each line with its newline) or `nil` when the file ends first.
    mutating func readHeredocBody(terminator: String, stripTabs: Bool) -> String? {
        var body = ""
        while next < lines.count {
            let line = lines[next]
            let hadNewline = terminated[next]
            next += 1
            var candidate = stripCR(line)
            if stripTabs { candidate = String(candidate.drop(while: { $0 == "\t" })) }
            if candidate == terminator { return body }
            body += line + (hadNewline ? "\n" : "")
        }
        return nil
    }

    /// The 1-based number of the last line consumed.
    var currentLine: Int { next }

    private mutating func apply(_ directive: ParserDirective) throws {
        if directive.name == "escape" {
            guard directive.value == "\\" || directive.value == "`" else {
                throw DockerfileError(
                    "invalid escape token '\(directive.value)' does not match ` or \\", at: directive.location)
            }
            escape = Character(directive.value)
        }
        directives.append(directive)
    }

    private func stripCR(_ line: String) -> String {
        line.hasSuffix("\r") ? String(line.dropLast()) : line
    }

    /// Removes a trailing escape character (and blanks after it) that marks a continuation;
    /// a doubled escape character at the end is literal, as in BuildKit's regular expression.
    private func trimContinuation(_ line: String) -> (String, ended: Bool) {
        var chars = Array(line)
        var end = chars.count
        while end > 0, chars[end - 1] == " " || chars[end - 1] == "\t" { end -= 1 }
        guard end > 0, chars[end - 1] == escape else { return (line, true) }
        if end >= 2, chars[end - 2] == escape { return (line, true) }
        chars.removeSubrange((end - 1)...)
        return (String(chars), false)
    }
}
