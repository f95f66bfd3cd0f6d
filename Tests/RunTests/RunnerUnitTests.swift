// The Runner's pure pieces and extra binds: line splitting, the seccomp program, PATH and HOME
// defaults, a caller's bind mount.
import Foundation
import Glibc
import Testing

@testable import Runner

struct RunnerUnitTests {
    @Test func linesAreSplitAcrossChunksAndCutWhenTooLong() {
        var lines = OutputLines(limit: 8)
        var out: [String] = []
        for chunk in ["hel", "lo\nwor", "ld\n0123456789", "ab"] {
            out += Array(chunk.utf8).withUnsafeBytes { lines.feed($0) }
        }
        #expect(out == ["hello", "world", "01234567"])
        #expect(lines.finish() == "89ab")
        #expect(lines.finish() == nil)
    }

    @Test func theSeccompProgramBuilds() throws {
        let program = try SeccompFilter.program.get()
        #expect(!program.isEmpty)
        #expect(program.count % 8 == 0)  // struct sock_filter is 8 bytes
    }

    @Test func homeAndPathAreAddedOnlyWhenMissing() {
        #expect(Runner.stepEnvironment(["A=1"], home: "/root") == ["A=1", "HOME=/root", "PATH=\(Runner.defaultPath)"])
        #expect(Runner.stepEnvironment(["HOME=/x", "PATH=/bin"], home: "/root") == ["HOME=/x", "PATH=/bin"])
    }

    @Test(.enabled(if: Prerequisites.enabled))
    func aCallersBindIsMountedReadOnlyAndItsMountPointRemoved() async throws {
        try #require(Prerequisites.available, Prerequisites.missing)
        let root = try BusyboxRoot()
        defer { root.remove() }
        let data = root.path + "-data"
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: data) }
        try "from the host\n".write(toFile: data + "/note", atomically: false, encoding: .utf8)
        let spec = RunSpec(
            argv: ["/bin/sh", "-c", "cat /mnt/data/note; (touch /mnt/data/new) 2>/dev/null; echo touch=$?"],
            root: root.path, binds: [BindMount(source: data, destination: "/mnt/data")])
        let lines = Lines()
        let outcome = try await Runner.execute(spec, output: lines.sink)
        #expect(outcome.exitStatus == 0)
        #expect(lines.all == ["from the host", "touch=1"])
        #expect(outcome.createdForMount.contains("/mnt/data"))
        #expect(access(root.path + "/mnt/data", F_OK) != 0)
        #expect(access(data + "/new", F_OK) != 0)
    }
}
