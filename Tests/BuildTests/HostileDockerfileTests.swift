// Dockerfiles that used to kill kiln with a signal (issue 12, item 3) or fail without a line
// number (item 6), run through the real binary so a crash fails the test instead of the test
// process. Each must end with a located error and an ordinary exit code.
import Foundation
import TestSupport
import Testing

@Suite("Hostile Dockerfiles fail with a located error, never a signal", .serialized)
struct HostileDockerfileTests {
    static let cases: [(name: String, dockerfile: [UInt8], located: String)] = [
        (
            "${A:- nested 30,000 deep",
            Array(
                ("FROM scratch\nENV X=" + String(repeating: "${A:-", count: 30_000) + "x" + String(repeating: "}", count: 30_000) + "\n")
                    .utf8),
            "Dockerfile:2:1: ENV: failed to expand"
        ),
        (
            "CMD [ nested 50,000 deep",
            Array(("FROM scratch\nCMD " + String(repeating: "[", count: 50_000) + String(repeating: "]", count: 50_000) + "\n").utf8),
            "Dockerfile:2:1: CMD: JSON array nested deeper than 10000 levels"
        ),
        ("HEALTHCHECK --interval=2562048h", Array("FROM scratch\nHEALTHCHECK --interval=2562048h CMD true\n".utf8), "Dockerfile:2:13:"),
        (
            "HEALTHCHECK --start-interval=9223372037s", Array("FROM scratch\nHEALTHCHECK --start-interval=9223372037s CMD true\n".utf8),
            "Dockerfile:2:13:"
        ),
        (
            "tmpfs size=99999999999999999999p",
            Array("FROM scratch\nRUN --mount=type=tmpfs,target=/t,size=99999999999999999999p true\n".utf8), "Dockerfile:2:5:"
        ),
        ("STOPSIGNAL 99999999999999999999", Array("FROM scratch\nSTOPSIGNAL 99999999999999999999\n".utf8), "Dockerfile:2:1: STOPSIGNAL"),
        ("EXPOSE -1", Array("FROM scratch\nEXPOSE -1\n".utf8), "Dockerfile:2:1: EXPOSE"),
        ("invalid UTF-8", Array("FROM scratch\nLABEL a=b".utf8) + [0xFF] + Array("c\n".utf8), "Dockerfile:2:10: invalid UTF-8"),
    ]

    @Test(arguments: cases.indices)
    func failsWithLocatedError(index: Int) async throws {
        let (name, dockerfile, located) = Self.cases[index]
        let tree = try TemporaryTree()
        defer { tree.remove() }
        try tree.makeDirectory("ctx")
        _ = try tree.write("ctx/Dockerfile", dockerfile)
        let build = try await LayoutBuild.run(context: tree.url("ctx"), in: tree)
        // The log echoes each instruction; quote only the end of stderr.
        let tail = String(build.result.stderr.suffix(400))
        #expect(build.result.exitCode != 0 && build.result.exitCode < 128, "\(name): exit \(build.result.exitCode): \(tail)")
        #expect(build.result.stderr.contains(located), "\(name): \(tail)")
    }
}
