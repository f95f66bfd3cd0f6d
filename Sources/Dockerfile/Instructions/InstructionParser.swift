// One logical line → one typed `Instruction`: keyword, flags, arguments, heredoc bodies.

/// Parses instructions of one file; holds what every instruction needs to report locations.
struct InstructionParser {
    let fileName: String
    let escape: Character

    /// The text of one instruction being parsed and where its pieces came from.
    struct Context {
        let line: LogicalLine
        let chars: [Character]
        let keyword: String
        let keywordOffset: Int
        let argsStart: Int
        let flags: [FlagWord]
        let fileName: String

        var arguments: String { String(chars[argsStart...]).trimmingWhitespace() }
        var original: String { String(chars[keywordOffset...]).trimmingWhitespace() }

        func locate(_ offset: Int) -> SourceLocation {
            let position = line.position(of: offset)
            return SourceLocation(file: fileName, line: position.line, column: position.column, endLine: line.endLine)
        }

        var location: SourceLocation { locate(keywordOffset) }

        func error(_ message: String) -> DockerfileError { DockerfileError(message, at: location) }
    }

    /// Parses the instruction on `line`, reading heredoc bodies that follow it from `scanner`.
    func parse(_ line: LogicalLine, scanner: inout LineScanner) throws -> Instruction {
        var line = line
        let chars = Array(line.text)
        return try parse(chars: chars, from: 0, line: &line, scanner: &scanner)
    }

    private func parse(chars: [Character], from start: Int, line: inout LogicalLine, scanner: inout LineScanner) throws -> Instruction {
        var keywordStart = start
        while keywordStart < chars.count, chars[keywordStart].isWhitespace { keywordStart += 1 }
        var keywordEnd = keywordStart
        while keywordEnd < chars.count, !chars[keywordEnd].isWhitespace { keywordEnd += 1 }
        let written = String(chars[keywordStart..<keywordEnd])
        let keyword = written.uppercased()
        let (flags, argsStart) = Words.extractFlags(chars, from: keywordEnd, escape: escape)
        var context = Context(
            line: line, chars: chars, keyword: keyword, keywordOffset: keywordStart, argsStart: argsStart, flags: flags,
            fileName: fileName)
        guard Instruction.keywords.contains(keyword) else {
            throw DockerfileError(
                "unknown instruction '\(written)'", at: context.location,
                suggestion: Suggestion.nearest(to: written, in: Instruction.keywords))
        }
        if keyword == "ONBUILD" {
            return try parseOnbuild(context, line: &line, scanner: &scanner)
        }
        var heredocs: [Heredoc] = []
        if ["RUN", "COPY", "ADD"].contains(keyword), context.arguments.contains("<<"),
            case .notJSON = Words.jsonArray(context.arguments)
        {
            heredocs = try readHeredocs(context, scanner: &scanner)
            line.endLine = scanner.currentLine
            context = Context(
                line: line, chars: chars, keyword: keyword, keywordOffset: keywordStart, argsStart: argsStart,
                flags: flags, fileName: fileName)
        }
        return try build(context, heredocs: heredocs)
    }

    private func parseOnbuild(_ context: Context, line: inout LogicalLine, scanner: inout LineScanner) throws -> Instruction {
        _ = try FlagSet(context.flags, keyword: "ONBUILD", allowed: [], locate: context.locate)
        guard !context.arguments.isEmpty else { throw context.error("ONBUILD requires at least one argument") }
        let triggerWord = context.arguments.prefix(while: { !$0.isWhitespace }).uppercased()
        switch triggerWord {
        case "ONBUILD": throw context.error("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed")
        case "FROM", "MAINTAINER": throw context.error("\(triggerWord) isn't allowed as an ONBUILD trigger")
        default: break
        }
        let trigger = try parse(chars: context.chars, from: context.argsStart, line: &line, scanner: &scanner)
        var expression = context.arguments
        for heredoc in Self.heredocs(of: trigger) {
            expression += "\n" + heredoc.content + heredoc.name
        }
        let location = SourceLocation(
            file: fileName, line: context.location.line, column: context.location.column, endLine: line.endLine)
        return .onbuild(
            OnbuildInstruction(location: location, original: context.original, trigger: trigger, expression: expression))
    }

    static func heredocs(of instruction: Instruction) -> [Heredoc] {
        switch instruction {
        case .run(let run): return run.heredocs
        case .copy(let copy): return copy.sources.compactMap { if case .heredoc(let h) = $0 { h } else { nil } }
        case .add(let add): return add.sources.compactMap { if case .heredoc(let h) = $0 { h } else { nil } }
        default: return []
        }
    }

    /// Finds `<<EOF` words on the line (BuildKit lexes the line with raw quotes and escapes,
    /// then matches `^(\d*)<<(-?)\s*([^<]*)$`) and reads each body in order.
    private func readHeredocs(_ context: Context, scanner: inout LineScanner) throws -> [Heredoc] {
        var lexer = ShellLexer(escape: "\\")
        lexer.rawQuotes = true
        lexer.rawEscapes = true
        lexer.skipUnsetEnvironment = true
        let words = (try? lexer.expandWords(context.arguments, environment: [:])) ?? []
        var heredocs: [Heredoc] = []
        for word in words {
            guard var heredoc = try Self.heredocMarker(word, at: context.location) else { continue }
            guard let body = scanner.readHeredocBody(terminator: heredoc.name, stripTabs: heredoc.stripsTabs) else {
                throw DockerfileError(
                    "unterminated heredoc: no line '\(heredoc.name)' ends the heredoc started here", at: context.location)
            }
            heredoc.content = heredoc.stripsTabs ? Self.stripLeadingTabs(body) : body
            heredocs.append(heredoc)
        }
        return heredocs
    }

    /// Reads a heredoc marker word (`<<EOF`, `<<-"EOF"`, `3<<EOF`); `nil` when the word is not one.
    static func heredocMarker(_ word: String, at location: SourceLocation) throws -> Heredoc? {
        do {
            return try heredocMarker(word)
        } catch let error as ShellLexer.Error {
            throw DockerfileError("invalid heredoc marker '\(word.prefix(80))': \(error)", at: location)
        }
    }

    private static func heredocMarker(_ word: String) throws -> Heredoc? {
        var chars = word[...]
        let digits = chars.prefix(while: { $0.isASCII && $0.isNumber })
        chars = chars.dropFirst(digits.count)
        guard chars.hasPrefix("<<") else { return nil }
        chars = chars.dropFirst(2)
        let strips = chars.first == "-"
        if strips { chars = chars.dropFirst() }
        let rest = String(chars.drop(while: { $0.isWhitespace }))
        guard !rest.isEmpty, !rest.contains("<") else { return nil }
        var lexer = ShellLexer(escape: "\\")
        lexer.skipUnsetEnvironment = true
        let plain = try lexer.expandWords(rest, environment: [:])
        guard plain.count == 1 else { return nil }
        lexer.rawQuotes = true
        let raw = try lexer.expandWords(rest, environment: [:])
        func quotes(_ s: String) -> Int { s.filter { $0 == "'" || $0 == "\"" }.count }
        return Heredoc(
            name: plain[0], fileDescriptor: digits.isEmpty ? nil : Int(digits), content: "",
            expands: raw.count == 1 && quotes(raw[0]) == quotes(plain[0]), stripsTabs: strips)
    }

    static func stripLeadingTabs(_ text: String) -> String {
        var output = ""
        var atLineStart = true
        for ch in text {
            if atLineStart && ch == "\t" { continue }
            output.append(ch)
            atLineStart = ch == "\n"
        }
        return output
    }
}
