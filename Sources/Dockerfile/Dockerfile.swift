// The parsed file: directives, meta ARGs and stages. Entry point of the module.

/// A parsed Dockerfile. Nothing is expanded or executed; the builder expands each
/// instruction with `Instruction.expanded(environment:)` as it goes.
public struct Dockerfile: Sendable, Hashable {
    public var fileName: String
    /// Parser directives from the top of the file (`syntax`, `escape`, `check`), in order.
    public var directives: [ParserDirective]
    /// The escape character (`\` unless `# escape=` chose `` ` ``).
    public var escape: Character
    /// ARG instructions before the first FROM: the global scope, usable in FROM lines.
    public var metaArgs: [ArgInstruction]
    public var stages: [Stage]

    /// `instruction.expanded(environment:escape:)` with this file's escape character: the call
    /// the builder makes before dispatching each instruction.
    public func expand(_ instruction: Instruction, environment: [String: String]) throws -> Instruction {
        try instruction.expanded(environment: environment, escape: escape)
    }

    /// The value of a parser directive, `nil` when absent.
    public func directive(_ name: String) -> String? {
        directives.first { $0.name == name.lowercased() }?.value
    }

    /// Parses Dockerfile text.
    ///
    /// Throws `DockerfileError` (located at `fileName:line:column`) for unknown instructions or
    /// flags, malformed arguments, unterminated heredocs, a continuation at end of file with
    /// nothing before it, an instruction other than ARG before the first FROM, or a file with
    /// no stage.
    public static func parse(_ text: String, fileName: String = "Dockerfile") throws -> Dockerfile {
        var scanner = LineScanner(text: text, fileName: fileName)
        var metaArgs: [ArgInstruction] = []
        var stages: [Stage] = []
        var sawInstruction = false
        while let line = try scanner.nextLogicalLine() {
            sawInstruction = true
            let parser = InstructionParser(fileName: fileName, escape: scanner.escape)
            let instruction = try parser.parse(line, scanner: &scanner)
            switch instruction {
            case .from(let from):
                stages.append(Stage(index: stages.count, name: from.stageName, from: from, instructions: []))
            case .arg(let arg) where stages.isEmpty:
                metaArgs.append(arg)
            default:
                guard !stages.isEmpty else {
                    throw DockerfileError(
                        "\(instruction.keyword) instruction before the first FROM: only ARG may come before FROM (no build stage in current context)",
                        at: instruction.location)
                }
                stages[stages.count - 1].instructions.append(instruction)
            }
        }
        guard sawInstruction else {
            throw DockerfileError("file with no instructions", at: SourceLocation(file: fileName, line: max(scanner.lineCount, 1)))
        }
        guard !stages.isEmpty else {
            throw DockerfileError(
                "dockerfile contains no stages to build: add a FROM line",
                at: SourceLocation(file: fileName, line: max(scanner.lineCount, 1)))
        }
        try checkUniqueStageNames(stages)
        return Dockerfile(fileName: fileName, directives: scanner.directives, escape: scanner.escape, metaArgs: metaArgs, stages: stages)
    }

    /// The text of a Dockerfile read as bytes. BuildKit reads bytes and passes invalid UTF-8
    /// through, but kiln's instructions are Swift strings, which cannot carry it: rather than
    /// silently turning such a byte into U+FFFD (changing a RUN command), kiln refuses the file.
    /// - Throws: `DockerfileError` at `fileName:line:column` of the first byte that is not
    ///   UTF-8 (the column counts characters before it, from 1).
    public static func decode(_ bytes: [UInt8], fileName: String = "Dockerfile") throws -> String {
        if let text = String(validating: bytes, as: UTF8.self) { return text }
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        var line = 1
        var column = 1
        var offset = 0
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar):
                offset += UTF8.width(scalar)
                if scalar == "\n" {
                    line += 1
                    column = 1
                } else {
                    column += 1
                }
            case .emptyInput:
                return String(decoding: bytes, as: UTF8.self)
            case .error:
                let byte = offset < bytes.count ? bytes[offset] : 0
                let hex = String(byte, radix: 16, uppercase: true)
                throw DockerfileError(
                    "invalid UTF-8 (byte 0x\(hex.count == 1 ? "0" + hex : hex)): save the Dockerfile as UTF-8",
                    at: SourceLocation(file: fileName, line: line, column: column))
            }
        }
    }

    /// `parse(decode(bytes))`: a Dockerfile as read from disk.
    public static func parse(bytes: [UInt8], fileName: String = "Dockerfile") throws -> Dockerfile {
        try parse(decode(bytes, fileName: fileName), fileName: fileName)
    }

    private static func checkUniqueStageNames(_ stages: [Stage]) throws {
        var seen: [String: Stage] = [:]
        for stage in stages {
            guard let name = stage.name else { continue }
            if let earlier = seen[name] {
                throw DockerfileError(
                    "duplicate stage name \"\(name)\": already used by the stage at line \(earlier.from.location.line)",
                    at: stage.from.location)
            }
            seen[name] = stage
        }
    }
}

/// One build stage: a FROM line and the instructions up to the next FROM.
public struct Stage: Sendable, Hashable {
    /// Position among the file's stages, from 0 (what `COPY --from=0` names).
    public var index: Int
    /// The `AS` name, lower-cased.
    public var name: String?
    public var from: FromInstruction
    public var instructions: [Instruction]
}

extension Instruction {
    /// Parses one instruction written on its own, with any heredoc bodies that follow it:
    /// how the builder reads the ONBUILD triggers stored in a base image's config.
    /// - Throws: `DockerfileError` as `Dockerfile.parse` does; also when `text` holds no
    ///   instruction or more than one.
    public static func parse(_ text: String, fileName: String = "ONBUILD", escape: Character = "\\") throws -> Instruction {
        var scanner = LineScanner(text: text, fileName: fileName, escape: escape)
        guard let line = try scanner.nextLogicalLine() else {
            throw DockerfileError("empty instruction: expected a Dockerfile instruction", at: SourceLocation(file: fileName, line: 1))
        }
        let instruction = try InstructionParser(fileName: fileName, escape: scanner.escape).parse(line, scanner: &scanner)
        if let extra = try scanner.nextLogicalLine() {
            throw DockerfileError(
                "expected one instruction, found more", at: SourceLocation(file: fileName, line: extra.startLine))
        }
        return instruction
    }
}
