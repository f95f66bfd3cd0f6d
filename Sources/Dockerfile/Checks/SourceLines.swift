// Checks that need the file's text, which the parsed file does not keep: blank lines inside
// a continuation (NoEmptyContinuation) and `# check=` comments just above one instruction.

/// The physical lines of a Dockerfile, numbered from 1 as `SourceLocation` numbers them.
struct SourceLines {
    let lines: [String]

    init(_ text: String) {
        // Split on U+000A as the scanner does; a trailing '\r' is blank-space to these checks.
        lines = text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).map { String(String.UnicodeScalarView($0)) }
    }

    func line(_ number: Int) -> String? { number >= 1 && number <= lines.count ? lines[number - 1] : nil }

    static func isBlank(_ line: String) -> Bool { line.allSatisfy(\.isWhitespace) }
    static func isComment(_ line: String) -> Bool { line.drop(while: \.isWhitespace).hasPrefix("#") }

    /// NoEmptyContinuation: an instruction whose continuation lines include a blank one,
    /// reported once at the line where the instruction ends (as BuildKit's parser does).
    func emptyContinuations(in file: Dockerfile) -> [CheckWarning] {
        var starts = file.metaArgs.map(\.location)
        for stage in file.stages { starts += [stage.from.location] + stage.instructions.map(\.location) }
        var warnings: [CheckWarning] = []
        for start in starts {
            guard var current = line(start.line) else { continue }
            var number = start.line
            var sawBlank = false
            while continues(current, escape: file.escape), let next = line(number + 1) {
                number += 1
                current = next
                // Comment and blank lines are skipped; the continuation goes on after them.
                if Self.isComment(next) || Self.isBlank(next) {
                    sawBlank = sawBlank || Self.isBlank(next)
                    current = String(file.escape)
                }
            }
            if sawBlank {
                warnings.append(
                    CheckWarning(.noEmptyContinuation, "Empty continuation line", at: SourceLocation(file: file.fileName, line: number)))
            }
        }
        return warnings
    }

    /// Whether `line` ends with the escape character (blanks after it allowed), and that
    /// character is not itself escaped.
    private func continues(_ line: String, escape: Character) -> Bool {
        var chars = Array(line)
        while let last = chars.last, last == " " || last == "\t" || last == "\r" { chars.removeLast() }
        guard chars.last == escape else { return false }
        return chars.count < 2 || chars[chars.count - 2] != escape
    }

    /// `# check=` comments in the block of comment lines right above an instruction: the
    /// policy they add for the instruction on the next line, keyed by that line. Only the
    /// first word of the value counts (`# check=skip=all // why` is `skip=all`), and an
    /// invalid value is ignored, as in BuildKit.
    /// - Parameter directiveLines: the file's parser directives, which are not such comments.
    func instructionPolicies(directiveLines: Set<Int>) -> [Int: CheckPolicy] {
        var policies: [Int: CheckPolicy] = [:]
        var pending: [CheckPolicy] = []
        for (index, text) in lines.enumerated() where !directiveLines.contains(index + 1) {
            if Self.isComment(text) {
                if let policy = Self.checkComment(text) { pending.append(policy) }
                continue
            }
            if !Self.isBlank(text), let first = pending.first {
                policies[index + 1] = pending.dropFirst().reduce(first) { $0.merging($1) }
            }
            pending = []
        }
        return policies
    }

    private static func checkComment(_ line: String) -> CheckPolicy? {
        let body = line.drop(while: \.isWhitespace).dropFirst().drop(while: \.isWhitespace)
        guard let equals = body.firstIndex(of: "="), body[..<equals].trimmingWhitespace().lowercased() == "check" else { return nil }
        let value = body[body.index(after: equals)...].drop(while: \.isWhitespace)
        return try? CheckPolicy(parsing: String(value.prefix(while: { $0 != " " })))
    }
}
