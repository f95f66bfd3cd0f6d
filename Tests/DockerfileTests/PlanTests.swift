// Build-plan helpers: stage references, the stages a target needs, ARG scopes, predefined ARGs.
import Dockerfile
import Testing

@Suite struct StagePlanTests {
    let file: Dockerfile

    init() throws {
        file = try Dockerfile.parse(
            """
            ARG BASE=alpine
            FROM $BASE AS Base
            FROM base AS deps
            FROM busybox AS tools
            FROM scratch AS unused
            FROM deps AS app
            COPY --from=0 /a /a
            RUN --mount=type=bind,from=TOOLS,target=/t true
            COPY --from=nginx:latest /etc/nginx /etc/nginx
            FROM alpine AS alpine

            """, fileName: "Dockerfile")
    }

    @Test func stageNamesAreCaseInsensitive() throws {
        #expect(file.stageIndex(named: "BASE") == 0)
        #expect(file.stageIndex(named: "nope") == nil)
        #expect(try file.targetStage(nil) == 5)
        #expect(try file.targetStage("App") == 4)
    }

    @Test func unknownTargetSuggestsTheNearestStage() {
        #expect(throws: DockerfileError("target stage \"ap\" could not be found", at: nil, suggestion: "app")) {
            try file.targetStage("ap")
        }
    }

    @Test func referencesResolveToEarlierStagesOrImages() throws {
        let here = file.stages[4].from.location
        #expect(file.resolveBase("base", inStage: 1) == .stage(0))
        #expect(file.resolveBase("alpine", inStage: 5) == .image("alpine"))
        #expect(file.resolveBase("alpine", inStage: 0) == .image("alpine"))
        #expect(file.resolveBase("deps", inStage: 0) == .image("deps"))
        #expect(try file.resolveSource("0", inStage: 4, location: here) == .stage(0))
        #expect(try file.resolveSource("TOOLS", inStage: 4, location: here) == .stage(2))
        #expect(try file.resolveSource("nginx:latest", inStage: 4, location: here) == .image("nginx:latest"))
        #expect(throws: DockerfileError.self) { try file.resolveSource("$X", inStage: 4, location: here) }
        #expect(throws: DockerfileError.self) { try file.resolveSource("9", inStage: 4, location: here) }
        #expect(throws: DockerfileError.self) { try file.resolveSource("app", inStage: 1, location: here) }
    }

    @Test func requiredStagesFollowFromCopyAndMountEdges() throws {
        #expect(try file.requiredStages(forTarget: 4, globalEnvironment: ["BASE": "alpine"]) == [0, 1, 2, 4])
        #expect(try file.requiredStages(forTarget: 3, globalEnvironment: [:]) == [3])
        #expect(try file.dependencies(ofStage: 1, globalEnvironment: [:]) == [0])
    }

    @Test func mountFromALaterStageIsAnError() throws {
        let f = try Dockerfile.parse("FROM scratch\nRUN --mount=from=later,target=/x true\nFROM scratch AS later\n", fileName: "Dockerfile")
        #expect(throws: DockerfileError.self) { try f.requiredStages(forTarget: 0, globalEnvironment: [:]) }
    }

    @Test func fromLineExpansionCanNameAStage() throws {
        let f = try Dockerfile.parse("ARG B=first\nFROM scratch AS first\nFROM $B\n", fileName: "Dockerfile")
        let global = try GlobalArguments(dockerfile: f, buildArgs: [:], predefined: [:])
        #expect(try f.requiredStages(forTarget: 1, globalEnvironment: global.environment) == [0, 1])
        let overridden = try GlobalArguments(dockerfile: f, buildArgs: ["B": "alpine"], predefined: [:])
        #expect(try f.requiredStages(forTarget: 1, globalEnvironment: overridden.environment) == [1])
    }
}

@Suite struct ArgumentScopeTests {
    let file: Dockerfile

    init() throws {
        file = try Dockerfile.parse(
            """
            ARG VERSION=1.0
            ARG IMAGE=alpine:${VERSION} UNSET
            ARG QUOTED="a b"
            FROM $IMAGE
            ARG VERSION
            ARG UNSET
            ARG LOCAL=${VERSION}-local
            ARG TARGETARCH
            ARG OVERRIDDEN=default

            """, fileName: "Dockerfile")
    }

    @Test func globalScopeExpandsInOrderAndBuildArgsWin() throws {
        let global = try GlobalArguments(
            dockerfile: file, buildArgs: ["VERSION": "2.0"], predefined: ["TARGETARCH": "arm64", "BUILDARCH": "amd64"])
        #expect(global.environment["VERSION"] == "2.0")
        #expect(global.environment["IMAGE"] == "alpine:2.0")
        #expect(global.environment["UNSET"] == nil)
        #expect(global.environment["QUOTED"] == "a b")
        #expect(global.environment["TARGETARCH"] == "arm64")
        let overridden = try GlobalArguments(dockerfile: file, buildArgs: ["TARGETARCH": "s390x"], predefined: ["TARGETARCH": "arm64"])
        #expect(overridden.environment["TARGETARCH"] == "s390x")
    }

    @Test func stageArgumentsInheritOverrideAndExpand() throws {
        let global = try GlobalArguments(dockerfile: file, buildArgs: [:], predefined: ["TARGETARCH": "arm64"])
        var scope = StageArguments(global: global, buildArgs: ["OVERRIDDEN": "cli", "HTTP_PROXY": "http://proxy:3128"])
        var env: [String: String] = ["PATH": "/bin"]
        var resolved: [ResolvedArgument] = []
        for case .arg(let arg) in file.stages[0].instructions {
            for argument in try scope.declare(arg, environment: env) {
                resolved.append(argument)
                if let value = argument.value { env[argument.name] = value }
            }
        }
        #expect(
            resolved == [
                ResolvedArgument(name: "VERSION", value: "1.0"),
                ResolvedArgument(name: "UNSET", value: nil),
                ResolvedArgument(name: "LOCAL", value: "1.0-local"),
                ResolvedArgument(name: "TARGETARCH", value: "arm64"),
                ResolvedArgument(name: "OVERRIDDEN", value: "cli"),
            ])
        #expect(scope.values == ["VERSION": "1.0", "LOCAL": "1.0-local", "TARGETARCH": "arm64", "OVERRIDDEN": "cli"])
        #expect(scope.proxyEnvironment == ["HTTP_PROXY": "http://proxy:3128"])
    }

    @Test func undeclaredArgumentsAreInvisibleButDeclaredProxiesLeaveTheProxySet() throws {
        let f = try Dockerfile.parse("FROM scratch\nARG HTTP_PROXY\n", fileName: "Dockerfile")
        let global = try GlobalArguments(dockerfile: f, buildArgs: [:], predefined: [:])
        var scope = StageArguments(global: global, buildArgs: ["HTTP_PROXY": "p", "no_proxy": "localhost", "SECRET": "x"])
        #expect(scope.values.isEmpty)
        #expect(scope.proxyEnvironment == ["HTTP_PROXY": "p", "no_proxy": "localhost"])
        guard case .arg(let arg) = f.stages[0].instructions[0] else { return }
        _ = try scope.declare(arg, environment: [:])
        #expect(scope.values == ["HTTP_PROXY": "p"])
        #expect(scope.proxyEnvironment == ["no_proxy": "localhost"])
        #expect(f.unconsumedBuildArguments(["SECRET": "x", "HTTP_PROXY": "p", "ftp_proxy": "f", "TARGETOS": "linux"]) == ["SECRET"])
    }
}

@Suite struct PredefinedArgumentTests {
    @Test(arguments: [
        ("linux/arm64/v8", "linux/arm64", "linux", "arm64", ""),
        ("linux/amd64", "linux/amd64", "linux", "amd64", ""),
        ("linux/arm/v7", "linux/arm/v7", "linux", "arm", "v7"),
        ("linux/arm", "linux/arm/v7", "linux", "arm", "v7"),
        ("linux/armel", "linux/arm/v6", "linux", "arm", "v6"),
        ("linux/aarch64", "linux/arm64", "linux", "arm64", ""),
        ("Linux/X86_64", "linux/amd64", "linux", "amd64", ""),
        ("linux/386", "linux/386", "linux", "386", ""),
        ("linux/riscv64", "linux/riscv64", "linux", "riscv64", ""),
        ("linux/arm64/v9", "linux/arm64/v9", "linux", "arm64", "v9"),
    ])
    func platformArguments(platform: String, formatted: String, os: String, arch: String, variant: String) throws {
        let args = try PredefinedArguments.platform(target: platform, build: "linux/amd64")
        #expect(args["TARGETPLATFORM"] == formatted)
        #expect(args["TARGETOS"] == os)
        #expect(args["TARGETARCH"] == arch)
        #expect(args["TARGETVARIANT"] == variant)
        #expect(args["BUILDPLATFORM"] == "linux/amd64")
        #expect(args["BUILDOS"] == "linux")
        #expect(args["BUILDARCH"] == "amd64")
        #expect(args["BUILDVARIANT"] == "")
        #expect(args.count == 8)
    }

    @Test(arguments: ["linux", "", "/amd64", "linux//", "a/b/c/d"])
    func malformedPlatformsAreRefused(platform: String) {
        #expect(throws: DockerfileError.self) { try PredefinedArguments.platform(target: platform, build: "linux/amd64") }
    }

    @Test func proxyFamily() {
        for name in [
            "HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY", "ftp_proxy", "NO_PROXY", "no_proxy", "ALL_PROXY",
            "all_proxy",
        ] {
            #expect(PredefinedArguments.isProxy(name))
        }
        #expect(!PredefinedArguments.isProxy("Http_Proxy"))
        #expect(PredefinedArguments.proxyNames.count == 10)
    }
}
