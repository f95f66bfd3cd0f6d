// `none` mode (kaniko's model): the host's root, the step's environment, user and workdir, its
// own process group, killed when the step ends.
import Foundation
import Glibc
import Runner
import Testing

@Suite(.enabled(if: getuid() == 0 || Prerequisites.inCI))
struct NoneModeTests {
    @Test func runsAHostCommandWithTheEnvironment() async throws {
        try #require(getuid() == 0, "needs root")
        let lines = Lines()
        let spec = RunSpec(
            argv: ["sh", "-c", "echo $GREETING; pwd; test \"$(cut -d' ' -f5 /proc/$$/stat)\" = $$ && echo own-group"],
            environment: ["GREETING=hello host"], workingDirectory: "/tmp", root: "/ignored", mode: .none)
        let status = try await Runner.run(spec, output: lines.sink)
        #expect(status == 0)
        #expect(lines.all == ["hello host", "/tmp", "own-group"])
    }

    @Test func dropsToTheUser() async throws {
        try #require(getuid() == 0, "needs root")
        let lines = Lines()
        let spec = RunSpec(argv: ["/bin/sh", "-c", "id -u; id -g; exit 3"], user: "4242:4343", root: "/", mode: .none)
        #expect(try await Runner.run(spec, output: lines.sink) == 3)
        #expect(lines.all == ["4242", "4343"])
    }

    @Test func killsTheProcessGroupWhenTheStepEnds() async throws {
        try #require(getuid() == 0, "needs root")
        let lines = Lines()
        let spec = RunSpec(argv: ["/bin/sh", "-c", "sleep 4243 & echo started"], root: "/", mode: .none)
        let clock = ContinuousClock()
        let start = clock.now
        #expect(try await Runner.run(spec, output: lines.sink) == 0)
        #expect(clock.now - start < .seconds(20))
        #expect(lines.all == ["started"])
        try await Task.sleep(for: .milliseconds(100))
        #expect(hostProcesses(matching: "sleep 4243").isEmpty)
    }
}
