// Parser behaviour seen through the public API: locations, originals, payload fields,
// directives, error text; plus the module-purity rule.
import Dockerfile
import Foundation
import Testing

@Suite struct ParserTests {
    @Test func locationsAndOriginalsSpanContinuationsAndHeredocs() throws {
        let text = "FROM scratch\n\nRUN echo a \\\n    && echo b\nCOPY <<EOF /x\nbody\nEOF\n  USER  app  \n"
        let file = try Dockerfile.parse(text, fileName: "build/Dockerfile.dev")
        let run = file.stages[0].instructions[0]
        #expect(run.location == SourceLocation(file: "build/Dockerfile.dev", line: 3, column: 1, endLine: 4))
        #expect(run.original == "RUN echo a     && echo b")
        #expect(file.stages[0].instructions[1].location.endLine == 7)
        let user = file.stages[0].instructions[2]
        #expect(user.location.description == "build/Dockerfile.dev:8:3")
        #expect(user.original == "USER  app")
        #expect(user.keyword == "USER")
    }

    @Test func directivesAreReadOnlyAtTheTop() throws {
        let file = try Dockerfile.parse("#syntax = docker/dockerfile:1\n# ESCAPE=`\nFROM scratch\n# escape=\\\n", fileName: "Dockerfile")
        #expect(file.directive("syntax") == "docker/dockerfile:1")
        #expect(file.directive("ESCAPE") == "`")
        #expect(file.escape == "`")
        #expect(file.directive("check") == nil)
    }

    @Test func heredocPayloads() throws {
        let file = try Dockerfile.parse("FROM scratch\nRUN <<-'EOT' 5<<X python3\n\tprint(1)\n\tEOT\nx\nX\n", fileName: "Dockerfile")
        guard case .run(let run) = file.stages[0].instructions[0] else {
            Issue.record("not RUN")
            return
        }
        #expect(run.command == .shell("<<-'EOT' 5<<X python3"))
        #expect(
            run.heredocs == [
                Heredoc(name: "EOT", content: "print(1)\n", expands: false, stripsTabs: true),
                Heredoc(name: "X", fileDescriptor: 5, content: "x\n", expands: true, stripsTabs: false),
            ])
    }

    @Test func onbuildKeepsTheParsedTriggerAndItsExpression() throws {
        let file = try Dockerfile.parse("FROM scratch\nonbuild   COPY --chown=1 a /b\n", fileName: "Dockerfile")
        guard case .onbuild(let onbuild) = file.stages[0].instructions[0] else {
            Issue.record("not ONBUILD")
            return
        }
        #expect(onbuild.expression == "COPY --chown=1 a /b")
        guard case .copy(let copy) = onbuild.trigger else {
            Issue.record("trigger not COPY")
            return
        }
        #expect(copy.chown == "1")
        #expect(copy.location.column == 11)
    }

    @Test func storedTriggersParseOnTheirOwn() throws {
        let run = try Instruction.parse("RUN <<EOF\necho hi\nEOF")
        guard case .run(let payload) = run else {
            Issue.record("not RUN")
            return
        }
        #expect(payload.heredocs.first?.content == "echo hi\n")
        #expect(throws: DockerfileError.self) { try Instruction.parse("RUN a\nRUN b") }
        #expect(throws: DockerfileError.self) { try Instruction.parse("") }
        guard case .copy(let copy) = try Instruction.parse("COPY a`\n b c", escape: "`") else {
            Issue.record("not COPY")
            return
        }
        #expect(copy.destination == "c")
    }

    @Test func errorDescriptionFormat() {
        let error = DockerfileError(
            "unknown instruction 'COPPY'", at: SourceLocation(file: "Dockerfile", line: 3, column: 1), suggestion: "COPY")
        #expect(error.description == "Dockerfile:3:1: unknown instruction 'COPPY' (did you mean 'COPY'?)")
        #expect(DockerfileError("bad", at: nil).description == "bad")
    }

    @Test(arguments: [("FORM", "FROM"), ("WORKDIRR", "WORKDIR"), ("entrypont", "ENTRYPOINT"), ("lable", "LABEL"), ("XYZZY", nil)])
    func unknownKeywordsGetTheNearestSuggestion(word: String, suggestion: String?) {
        do {
            _ = try Dockerfile.parse("FROM scratch\n\(word) x\n", fileName: "Dockerfile")
            Issue.record("\(word) parsed")
        } catch let error as DockerfileError {
            #expect(error.suggestion == suggestion)
            #expect(error.location?.line == 2)
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func healthcheckConfigTest() throws {
        let file = try Dockerfile.parse("FROM scratch\nHEALTHCHECK --start-period=1m CMD [\"/ok\"]\n", fileName: "Dockerfile")
        guard case .healthcheck(let h) = file.stages[0].instructions[0], case .command(let c) = h.check else {
            Issue.record("not HEALTHCHECK CMD")
            return
        }
        #expect(c.test == ["CMD", "/ok"])
        #expect(c.startPeriod == 60_000_000_000)
        #expect(c.interval == nil)
    }

    /// The module is pure: Foundation only, so it never grows an I/O dependency.
    @Test func moduleImportsOnlyFoundation() throws {
        let sources = Self.sourcesDirectory()
        let files = ((try? FileManager.default.subpathsOfDirectory(atPath: sources.path)) ?? []).filter { $0.hasSuffix(".swift") }
        #expect(files.count > 10, "Dockerfile sources not found at \(sources.path)")
        for file in files {
            let text = try String(contentsOf: sources.appendingPathComponent(file), encoding: .utf8)
            for line in text.split(separator: "\n") where line.hasPrefix("import ") {
                #expect(line == "import Foundation", "\(file): \(line)")
            }
        }
    }

    static func sourcesDirectory(path: String = #filePath) -> URL {
        URL(fileURLWithPath: path).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Sources/Dockerfile").resolvingSymlinksInPath()
    }
}
