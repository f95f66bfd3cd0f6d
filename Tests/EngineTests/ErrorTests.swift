// The error model end to end in the engine: each failure has a code (which decides the exit
// status), the Dockerfile location when an instruction failed, and the lower layer's error kept
// as its cause.
import Builder
import Diagnostics
import Dockerfile
import Foundation
import TestSupport
import Testing

@Suite("Engine: errors", .serialized)
struct ErrorTests {
    func failure(_ dockerfile: String, _ configure: (inout BuildOptions) -> Void = { _ in }, setup: (Engine) throws -> Void = { _ in })
        async throws -> KilnError?
    {
        let e = try Engine()
        defer { e.remove() }
        try setup(e)
        return await #expect(throws: KilnError.self) { try await e.build(dockerfile, configure) }
    }

    @Test("A parse error keeps the front end's DockerfileError (location, suggestion) as its cause")
    func parseError() async throws {
        let error = try await failure("FROM scratch\nCOPPY a /\n")
        let cause = try #require(error?.cause as? DockerfileError)
        #expect(cause.location?.line == 2 && cause.suggestion == "COPY")
        #expect(error?.code == .invalidInput && error?.exitCode == 1)
        #expect(error?.description == "Dockerfile:2:1: unknown instruction 'COPPY' (did you mean 'COPY'?)")
    }

    @Test("--target naming no stage is a usage error (exit 2) whatever its location")
    func unknownTarget() async throws {
        let error = try await failure("FROM scratch AS one\nENV A=1\n") { $0.source.target = "two" }
        #expect(error?.code == .usage && error?.exitCode == 2)
        #expect(error?.description.hasPrefix("target stage \"two\" could not be found") == true, "\(String(describing: error))")
    }

    @Test("A missing COPY source is notFound at the COPY's line")
    func missingSource() async throws {
        let error = try await failure("FROM scratch\nENV A=1\nCOPY nothing.txt /\n")
        #expect(error?.code == .notFound)
        #expect(
            error?.description
                == "Dockerfile:3:1: COPY/ADD source 'nothing.txt' not found in the build context (or excluded by .dockerignore)")
    }

    @Test("A failing system call is the cause: code from its errno, the instruction and location before it")
    func systemCallCause() async throws {
        let error = try await failure(
            "FROM scratch\nCOPY dangling /x\n",
            setup: { e in
                try e.tree.symlink("context/dangling", to: "no-such-target")
            })
        #expect(error?.code == .notFound)
        #expect(error?.location?.line == 2)
        #expect(error?.message == "COPY dangling /x")
        let text = error?.description ?? ""
        #expect(
            text.hasPrefix("Dockerfile:2:1: COPY dangling /x: stat ")
                && text.hasSuffix("no-such-target: ENOENT (No such file or directory)"),
            "\(text)")
    }

    @Test("Copying onto a file's path fails with the root's own error as the cause")
    func notADirectory() async throws {
        let error = try await failure("FROM scratch\nCOPY a.txt /a.txt\nCOPY a.txt /a.txt/b\n", setup: { e in try e.file("a.txt", "a\n") })
        #expect(error?.location?.line == 3)
        #expect(error?.description == "Dockerfile:3:1: COPY a.txt /a.txt/b: /a.txt in the build root is not a directory")
        #expect(error?.cause != nil && !(error?.cause is KilnError))
    }

    @Test(
        "Bad instruction arguments are invalidInput at their line",
        arguments: [
            ("FROM scratch\nEXPOSE 80/xyz\n", 2, "EXPOSE: invalid protocol 'xyz' in '80/xyz': use tcp, udp or sctp"),
            (
                "FROM scratch\nCOPY a.txt b.txt /dir\n", 2,
                "when using COPY with more than one source file, the destination must be a directory and end with a /"
            ),
            ("FROM scratch\nCOPY --chmod=abc a.txt /\n", 2, "invalid --chmod value 'abc': use octal (0755) or symbolic (u+x,go-w)"),
        ])
    func invalidArguments(dockerfile: String, line: Int, message: String) async throws {
        let error = try await failure(
            dockerfile,
            setup: { e in
                try e.file("a.txt", "a\n")
                try e.file("b.txt", "b\n")
            })
        #expect(error?.code == .invalidInput && error?.exitCode == 1)
        // Caught when parsing (the Dockerfile error, located, is the cause) or when executing.
        #expect((error?.location?.line ?? (error?.rootCause as? DockerfileError)?.location?.line) == line)
        #expect(error?.description == "Dockerfile:\(line):1: \(message)", "\(String(describing: error))")
    }

    @Test("Features not available yet say so, with their location")
    func notAvailableYet() async throws {
        let error = try await failure("FROM scratch\nRUN --security=insecure true\n")
        #expect(error?.code == .notAvailableYet && error?.exitCode == 1)
        #expect(error?.description == "Dockerfile:2:1: RUN --security=insecure is not available yet in this kiln")
    }

    @Test("The cause chain is walked innermost last")
    func chain() {
        struct Leaf: Error, CustomStringConvertible { var description: String { "open a.txt: permission denied" } }
        let inner = KilnError(.permission, "", cause: Leaf())
        let outer = KilnError(.failed, "COPY a.txt /", at: KilnError.Location(file: "Dockerfile", line: 7, column: 1), cause: inner)
        #expect(outer.description == "Dockerfile:7:1: COPY a.txt /: open a.txt: permission denied")
        #expect(outer.chain.count == 3 && outer.rootCause is Leaf)
        #expect(KilnError.wrapping(inner, "x").code == .permission)
    }
}
