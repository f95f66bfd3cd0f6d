// The pure planner (Dockerfile/Plan/BuildPlan.swift): plain values in, stages and bases out.
import Dockerfile
import Testing

@Suite("Planner")
struct PlannerTests {
    static let dockerfile = """
        ARG BASE=alpine:3
        FROM ${BASE} AS base
        FROM scratch AS tools
        FROM base AS build
        COPY --from=tools /t /t
        FROM scratch AS unrelated
        FROM build
        """

    func plan(_ input: BuildPlan.Input) throws -> BuildPlan {
        try BuildPlan(dockerfile: try Dockerfile.parse(Self.dockerfile, fileName: "Dockerfile"), input: input)
    }

    @Test("Only the stages the target needs, each base resolved; stages used later are known")
    func requiredStages() throws {
        let p = try plan(BuildPlan.Input(targetPlatform: "linux/amd64", buildPlatform: "linux/amd64"))
        #expect(p.stagesToBuild == [0, 1, 2, 4])
        #expect(p.targetIndex == 4)
        #expect(p.bases[0] == .image("alpine:3") && p.bases[1] == .scratch && p.bases[2] == .stage(0) && p.bases[4] == .stage(2))
        #expect(p.stagesUsedLater == [0, 1, 2])
    }

    @Test("Build args reach FROM; without skipping, every stage up to the target is planned")
    func buildArgsAndNoSkip() throws {
        let p = try plan(
            BuildPlan.Input(
                buildArgs: [("BASE", "debian:12"), ("UNSET", nil)], target: "unrelated", skipUnusedStages: false,
                targetPlatform: "linux/arm64", buildPlatform: "linux/amd64", environment: ["HTTP_PROXY": "http://proxy"]))
        #expect(p.stagesToBuild == [0, 1, 2, 3])
        #expect(p.bases[0] == .image("debian:12"))
        #expect(p.buildArgs == ["BASE": "debian:12", "HTTP_PROXY": "http://proxy"])
        #expect(p.global.environment["TARGETARCH"] == "arm64" && p.global.environment["BUILDARCH"] == "amd64")
    }

    @Test("A --target the Dockerfile lacks is the command line's fault, with the nearest stage name")
    func unknownTarget() throws {
        #expect {
            try plan(BuildPlan.Input(target: "buld", targetPlatform: "linux/amd64", buildPlatform: "linux/amd64"))
        } throws: { error in
            guard let failure = error as? BuildPlan.Failure else { return false }
            return failure.origin == .commandLine && failure.error.suggestion == "build"
        }
    }
}
