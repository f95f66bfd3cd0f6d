// Stages that do not depend on each other build at the same time (issue 10), as BuildKit builds
// them: their RUN steps meet at a barrier (Tests/Tools/barrier.py, which answers "alone" after
// its timeout, so a build in order fails instead of hanging), the image is the one the build in
// order makes, and a failing stage stops the others and leaves nothing behind.
import Foundation
import TestSupport
import Testing

@Suite("Stages build concurrently", .serialized)
struct StageConcurrencyTests {
    /// Two independent stages that each need the other running, and a final stage on both.
    static func meeting(_ base: String) -> String {
        """
        FROM \(base) AS left
        ARG BARRIER
        RUN wget -q -O /met "$BARRIER" && grep -qx together /met && echo left > /side
        FROM \(base) AS right
        ARG BARRIER
        RUN wget -q -O /met "$BARRIER" && grep -qx together /met && echo right > /side
        FROM \(base)
        COPY --from=left /side /left
        COPY --from=right /side /right
        """
    }

    @Test("two independent stages run at once (their RUN steps meet); --stage-jobs 1 builds them in order")
    func independentStagesMeet() async throws {
        try await withRegistry(.plain) { registry in
            let base = try await BaseImageFixture.shared.push(.busybox, to: registry)
            let tree = try TemporaryTree(prefix: "kiln-stages")
            defer { tree.remove() }
            let ctx = try makeContext([:], dockerfile: Self.meeting(base), in: tree)
            let barrier = try await BarrierFixture(parties: 2, timeout: 60)
            defer { barrier.stop() }
            let build = try await LayoutBuild.run(
                context: ctx, in: tree, ["--build-arg", "BARRIER=\(barrier.url)"], environment: ["KILN_STAGE_JOBS": "2"])
            try #require(build.result.exitCode == 0, "\(build.result)")
            #expect(build.result.stderr.contains("2 at once (--stage-jobs)"), "\(build.result.stderr)")
            let root = try await build.unpack(into: tree)
            #expect(try String(contentsOfFile: root + "/left", encoding: .utf8) == "left\n")
            #expect(try String(contentsOfFile: root + "/right", encoding: .utf8) == "right\n")

            // In order, each step waits alone: the barrier's timeout fails it.
            let lonely = try await BarrierFixture(parties: 2, timeout: 2)
            defer { lonely.stop() }
            let serial = try await LayoutBuild.run(
                context: ctx, in: tree, name: "serial", ["--build-arg", "BARRIER=\(lonely.url)", "--stage-jobs", "1"])
            #expect(serial.result.exitCode == 1, "the first stage's step met nobody: \(serial.result)")
            #expect(!serial.result.stderr.contains("--stage-jobs)"), "\(serial.result.stderr)")
        }
    }

    @Test("with --reproducible, stages built at once make the image stages built in order make")
    func sameDigestAsInOrder() async throws {
        try await withRegistry(.plain) { registry in
            let base = try await BaseImageFixture.shared.push(.busybox, to: registry)
            let tree = try TemporaryTree(prefix: "kiln-stages")
            defer { tree.remove() }
            // Stages on the same base, a stage on a stage (its root frozen while another copies
            // from its base), a COPY --from and a RUN --mount=from.
            let dockerfile = """
                FROM \(base) AS a
                RUN mkdir -p /out && seq 1 500 > /out/a && echo changed >> /etc/passwd
                FROM \(base) AS b
                COPY x.txt /out/x
                RUN seq 1 300 | sed 's/^/b/' > /out/b && rm /etc/group
                FROM a AS c
                RUN cat /out/a | wc -l > /out/c
                FROM \(base) AS d
                COPY --from=a /out/a /d-from-a
                RUN --mount=from=b,target=/b cp /b/out/b /d-from-b
                FROM \(base)
                COPY --from=c /out /c/
                COPY --from=b /out /b/
                COPY --from=d /d-from-a /d-from-b /d/
                RUN ls -R /b /c /d > /listing
                """
            let ctx = try makeContext(["x.txt": "x\n"], dockerfile: dockerfile, in: tree)
            var digests: [String] = []
            for (n, jobs) in ["1", "4"].enumerated() {
                let build = try await LayoutBuild.run(
                    context: ctx, in: tree, name: "out\(n)", ["--reproducible"], environment: ["KILN_STAGE_JOBS": jobs])
                try #require(build.result.exitCode == 0, "\(build.result)")
                #expect(build.result.stderr.contains("--stage-jobs)") == (jobs != "1"), "\(build.result.stderr)")
                // Three stages on the base start at once (a fourth later): one extraction, overlay roots.
                let log = build.result.stderr
                #expect(log.components(separatedBy: "extracting 1 layer(s) of").count == 2, "the base is extracted once: \(log)")
                #expect(log.components(separatedBy: "an overlay over").count == 5, "\(log)")
                digests.append(build.printedDigest)
            }
            // With the layer cache: stored concurrently, then every step a hit (the roots filled
            // lazily, once, when a later stage reads them); the same image each time.
            for n in 0..<2 {
                let build = try await LayoutBuild.run(
                    context: ctx, in: tree, name: "cached\(n)", ["--reproducible", "--cache", "--cache-repo", "\(registry.host)/cache"],
                    environment: ["KILN_STAGE_JOBS": "4"])
                try #require(build.result.exitCode == 0, "\(build.result)")
                if n == 1 {
                    #expect(
                        !build.result.stderr.contains("cache miss") && build.result.stderr.contains("cache hit"), "\(build.result.stderr)")
                }
                digests.append(build.printedDigest)
            }
            #expect(digests.count == 4 && Set(digests).count == 1 && !digests[0].isEmpty, "\(digests)")
        }
    }

    @Test("a base's ONBUILD COPY --from waits for that stage, giving its slot up meanwhile (--stage-jobs 2 and 1)")
    func onBuildTriggerWaitsForItsStage() async throws {
        try await withRegistry(.plain) { registry in
            let base = try await BaseImageFixture.shared.push(.busybox, to: registry)
            let tree = try TemporaryTree(prefix: "kiln-stages")
            defer { tree.remove() }
            // Stage 2 reads stage 0 only through the trigger it inherits from stage 1: known when
            // stage 2 starts, while stage 0 may still be running. Stage 0 meets stage 3 at the
            // barrier: with two slots, stage 2 must give its slot up while it waits.
            let dockerfile = """
                FROM \(base) AS slow
                ARG BARRIER
                RUN wget -q -O /met "$BARRIER" && echo slow > /slow
                FROM \(base) AS parent
                ONBUILD COPY --from=slow /slow /from-trigger
                FROM parent AS child
                RUN cat /from-trigger > /seen
                FROM \(base) AS other
                ARG BARRIER
                RUN wget -q -O /met "$BARRIER"
                FROM child
                COPY --from=other /met /met
                """
            let ctx = try makeContext([:], dockerfile: dockerfile, in: tree)
            for (jobs, timeout, met) in [("2", 60.0, "together\n"), ("1", 1.0, "alone\n")] {
                let barrier = try await BarrierFixture(parties: 2, timeout: timeout)
                defer { barrier.stop() }
                let build = try await LayoutBuild.run(
                    context: ctx, in: tree, name: "out\(jobs)",
                    ["--skip-unused-stages=false", "--stage-jobs", jobs, "--build-arg", "BARRIER=\(barrier.url)"])
                try #require(build.result.exitCode == 0, "\(build.result)")
                let root = try await build.unpack(into: tree)
                #expect(try String(contentsOfFile: root + "/seen", encoding: .utf8) == "slow\n", "--stage-jobs \(jobs)")
                #expect(try String(contentsOfFile: root + "/met", encoding: .utf8) == met, "--stage-jobs \(jobs)")
            }
        }
    }

    @Test("a failing stage fails the build with its status; the stage running beside it is stopped, nothing is left")
    func failingStageStopsTheOther() async throws {
        try await withRegistry(.plain) { registry in
            let base = try await BaseImageFixture.shared.push(.busybox, to: registry)
            let tree = try TemporaryTree(prefix: "kiln-stages")
            defer { tree.remove() }
            let dockerfile = """
                FROM \(base) AS slow
                RUN sleep 1173
                FROM \(base) AS broken
                RUN sleep 1 && exit 7
                FROM \(base)
                COPY --from=slow /etc/hostname /slow
                COPY --from=broken /etc/hostname /broken
                """
            let ctx = try makeContext([:], dockerfile: dockerfile, in: tree)
            try tree.makeDirectory("tmp")
            let started = Date()
            let build = try await LayoutBuild.run(
                context: ctx, in: tree, [], environment: ["KILN_STAGE_JOBS": "2", "TMPDIR": tree.url("tmp")])
            #expect(build.result.exitCode == 7, "the failing RUN's own status: \(build.result)")
            #expect(build.result.stderr.contains("Dockerfile:4:1: RUN sleep 1 && exit 7"), "\(build.result.stderr)")
            #expect(Date().timeIntervalSince(started) < 120, "the slow stage was not waited for")
            let sleepers = try await ProcessRunner.run("pgrep", ["-f", "sleep 1173"])
            #expect(sleepers.stdout.isEmpty, "the slow stage's step was stopped: \(sleepers.stdout)")
            let mounts = try String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)
            #expect(!mounts.contains(tree.url("tmp")), "no overlay or step mount left: \(mounts)")
            let left = try FileManager.default.contentsOfDirectory(atPath: tree.url("tmp"))
            #expect(left.isEmpty, "no working directory or step files left: \(left)")
        }
    }
}
