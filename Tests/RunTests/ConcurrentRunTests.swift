// Several RUN steps started at the same time through the Runner, as concurrent stages and
// platforms do: each step must get exactly its own argv, environment and working directory.
// A multi-platform attempt once saw `/bin/sh: illegal option -q` and `can't open 'nc'` with two
// steps at once; this drives the spawn path hard with distinct command lines of different
// lengths so that any sharing of argv/env storage or process-wide state shows as a wrong line.
import Foundation
import Glibc
import Runner
import Testing

@Suite(.enabled(if: Prerequisites.enabled))
struct ConcurrentRunTests {
    /// What one step prints: its $0, its arguments, one variable, and its working directory.
    private static func spec(step: Int, round: Int, root: BusyboxRoot) -> (RunSpec, String) {
        let tag = "r\(round)s\(step)"
        // Different argument counts and lengths per step: a reused or freed array shows up as a
        // missing, extra or foreign word.
        let words = (0...(step % 4)).map { "\(tag)w\($0)" + String(repeating: "x", count: step * 7) }
        let workdir = step.isMultiple(of: 2) ? "/work" : "/tmp"
        let argv = ["/bin/sh", "-c", "echo \"$0|$*|$KILN_TAG|$(pwd)\"", tag] + words
        let spec = RunSpec(
            argv: argv, environment: ["KILN_TAG=env-\(tag)"], workingDirectory: workdir, root: root.path,
            hostname: "kiln-\(step)")
        return (spec, "\(tag)|\(words.joined(separator: " "))|env-\(tag)|\(workdir)")
    }

    @Test("steps started at once each get their own argv, environment and working directory")
    func concurrentStepsKeepTheirOwnArguments() async throws {
        try #require(Prerequisites.available, Prerequisites.missing)
        // One root per step, as concurrent stages have: steps sharing a root would also share
        // the mount points the Runner creates there and removes after each step.
        let steps = 6
        let roots = try (0..<steps).map { _ in try BusyboxRoot() }
        defer { for root in roots { root.remove() } }
        for round in 0..<40 {
            let results = try await withThrowingTaskGroup(of: (String, [String], Int32).self) { group in
                for step in 0..<steps {
                    let (spec, expected) = Self.spec(step: step, round: round, root: roots[step % roots.count])
                    group.addTask {
                        let lines = Lines()
                        let status = try await Runner.run(spec, output: lines.sink)
                        return (expected, lines.all, status)
                    }
                }
                var all: [(String, [String], Int32)] = []
                for try await result in group { all.append(result) }
                return all
            }
            for (expected, lines, status) in results {
                #expect(status == 0 && lines == [expected], "round \(round): expected \(expected), got \(lines) (\(status))")
            }
            try #require(results.allSatisfy { $0.2 == 0 && $0.1 == [$0.0] }, "round \(round) mixed up its steps")
        }
    }
}
