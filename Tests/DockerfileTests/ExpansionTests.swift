import Testing

// Variable expansion: BuildKit's lexer tables (LexTables.swift) and which instruction fields
// get expanded.
@testable import Dockerfile

@Suite struct LexerTableTests {
    @Test("envVarTest", arguments: LexTables.envVarTest)
    func envVarTest(input: String, expected: String?) {
        let result = Result { try ShellLexer().expandWord(input, environment: LexTables.environment) }
        switch (result, expected) {
        case (.success(let value), let expected?): #expect(value == expected, "\(input)")
        case (.failure, nil): break
        case (.success(let value), nil): Issue.record("\(input): expected an error, got \(value)")
        case (.failure(let error), let expected?): Issue.record("\(input): expected \(expected), got \(error)")
        }
    }

    @Test("wordsTest", arguments: LexTables.wordsTest)
    func wordsTest(_ row: LexTables.WordsCase) {
        let result = Result { try ShellLexer().expandWords(row.input, environment: row.environment) }
        switch (result, row.words) {
        case (.success(let words), let expected?): #expect(words == expected, "\(row.input)")
        case (.failure, nil): break
        default: Issue.record("\(row.input): got \(result), expected \(String(describing: row.words))")
        }
    }

    /// TestProcessWithMatches (lex_test.go): modifiers, patterns and replacement.
    @Test(arguments: [
        ("${FOO-aaa} ${BAR-bbb} ${BAZ-ccc}", ["FOO": "xxx", "BAR": ""], "xxx  ccc"),
        ("${FOO:-aaa} ${BAR:-bbb} ${BAZ:-ccc}", ["FOO": "xxx", "BAR": ""], "xxx bbb ccc"),
        ("${FOO:-}", ["FOO": "xxx"], "xxx"),
        ("${FOO:-}", [:], ""),
        ("${FOO+aaa} ${BAR+bbb} ${BAZ+ccc}", ["FOO": "xxx", "BAR": ""], "aaa bbb "),
        ("${FOO:+aaa} ${BAR:+bbb} ${BAZ:+ccc}", ["FOO": "xxx", "BAR": ""], "aaa  "),
        ("${FOO?aaa}", ["FOO": "xxx"], "xxx"),
        ("${BAR?bbb}", ["BAR": ""], ""),
        ("${FOO:?aaa}", ["FOO": "xxx"], "xxx"),
        (#"${FOO#()[]{\}^$.\*\?|\\}"#, ["FOO": #"()[]{}^$.*?|\x"#], "x"),
        (#"${FOO%%\**}"#, ["FOO": "xx**"], "xx"),
        ("${FOO#*x*y}", ["FOO": "xxyy"], "y"),
        ("${FOO#*}", ["FOO": "xxyy"], "xxyy"),
        ("${FOO#$BAR}", ["FOO": "xxyy", "BAR": "x"], "xyy"),
        ("${FOO#$BAR}", ["FOO": "xxyy", "BAR": ""], "xxyy"),
        ("${FOO#}", ["FOO": "xxyy"], "xxyy"),
        ("${FOO##*x}", ["FOO": "xxyy"], "yy"),
        ("${FOO##}", ["FOO": "xxyy"], "xxyy"),
        (#"${FOO#?\?}"#, ["FOO": "???y"], "?y"),
        ("${ABC:-.}${FOO%x}${ABC:-.}", ["FOO": "xxyy"], ".xxyy."),
        (#"${FOO%%\**\*}"#, ["FOO": "a***yy*"], "a"),
        ("${FOO%}", ["FOO": "xxyy"], "xxyy"),
        ("${FOO%%$BAR}", ["FOO": "xxyy", "BAR": ""], "xxyy"),
        ("${FOO%y*}", ["FOO": "xxyy"], "xxy"),
        ("${FOO%%y*}", ["FOO": "xxyy"], "xx"),
        ("${FOO/$NEEDLE/.} - ${FOO//$NEEDLE/.}", ["FOO": "/foo*/*/*.txt", "NEEDLE": #"\*/"#], "/foo.*/*.txt - /foo..*.txt"),
        ("${FOO/$NEEDLE/} - ${FOO//$NEEDLE/}", ["FOO": "/tmp/tmp/bar.txt", "NEEDLE": "/tmp"], "/tmp/bar.txt - /bar.txt"),
        (
            "${FOO/$NEEDLE/$REPLACEMENT} - ${FOO//$NEEDLE/$REPLACEMENT}", ["FOO": "/a/foo/b/c.txt", "NEEDLE": "/?/", "REPLACEMENT": "/"],
            "/foo/b/c.txt - /foo/c.txt"
        ),
        ("${FOO/$NEEDLE/$REPLACEMENT}", ["FOO": "http://google.de", "NEEDLE": "http://", "REPLACEMENT": "https://"], "https://google.de"),
        (#"${FOO//\//\/}"#, ["FOO": "/tmp/foo.txt"], #"\/tmp\/foo.txt"#),
        ("${FOO/$BAR/ww}", ["FOO": "xxyy", "BAR": ""], "wwxxyy"),
        ("${FOO///}", ["FOO": "xxyy"], "xxyy"),
        ("${FOO///}", [:], ""),
    ])
    func processWithMatches(input: String, environment: [String: String], expected: String) throws {
        #expect(try ShellLexer().expandWord(input, environment: environment) == expected)
    }

    @Test(arguments: [
        "${BAZ?ccc}", "${BAR:?bbb}", "${BAZ:?ccc}", "${BAZ:?}", "${FOO=:aaa}", "${FOO=}", "${FOO:#}", "${FOO:##}",
        "${FOO:%}", "${FOO:%%}", "${FOO//ww}", "${FOO//}",
    ])
    func processWithMatchesErrors(input: String) {
        #expect(throws: ShellLexer.Error.self) {
            try ShellLexer().expandWord(input, environment: ["FOO": "xxx", "BAR": ""])
        }
    }

    /// TestShellParserMandatoryEnvVars: the `?` message is itself expanded.
    @Test func mandatoryMessagesExpand() throws {
        let lexer = ShellLexer()
        #expect(try lexer.expandWord("${VAR:?message here$ARG}", environment: ["VAR": "plain", "ARG": "x"]) == "plain")
        #expect(throws: ShellLexer.Error.unsetVariable(name: "VAR", message: "message herex")) {
            try lexer.expandWord("${VAR:?message here$ARG}", environment: ["VAR": "", "ARG": "x"])
        }
        #expect(try lexer.expandWord("${VAR?message here$ARG}", environment: ["VAR": "", "ARG": "x"]) == "")
        #expect(throws: ShellLexer.Error.unsetVariable(name: "VAR", message: "message herex")) {
            try lexer.expandWord("${VAR?message here$ARG}", environment: ["ARG": "x"])
        }
    }

    @Test func backtickEscape() throws {
        let lexer = ShellLexer(escape: "`")
        #expect(try lexer.expandWord(#"C:\path\$X"#, environment: ["X": "x"]) == #"C:\path\x"#)
        #expect(try lexer.expandWord("a`$X", environment: ["X": "x"]) == "a$X")
    }

    @Test func errorMessagesReadWell() {
        #expect(ShellLexer.Error.unsupportedModifier(":=").description == "unsupported modifier (:=) in substitution")
        #expect(ShellLexer.Error.unterminatedQuote("'").description.contains("single-quote"))
    }
}
