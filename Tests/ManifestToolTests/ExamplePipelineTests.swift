// examples/gitlab-ci.yml, run as GitLab would: its jobs' scripts in stage order, matrix jobs
// once per combination, the tag job's dotenv report passed on, with GitLab's predefined
// variables set and a local registry as the project's registry.
import Foundation
import PluginAPI
import TestSupport
import Testing
import Yams

/// A GitLab CI file, read with the few rules examples/gitlab-ci.yml uses.
struct GitLabPipeline {
    struct Job {
        var name: String
        var stage: String
        var variables: [(String, String)]
        var rules: [String]
        var matrix: [[(String, String)]]
        var script: [String]
    }

    var stages: [String]
    var variables: [(String, String)]
    /// Jobs in file order (a mapping's order is kept by Yams' node API).
    var jobs: [Job]

    enum Error: Swift.Error, CustomStringConvertible {
        case unsupported(String)
        var description: String {
            switch self {
            case .unsupported(let what): return "this test does not understand \(what)"
            }
        }
    }

    init(yaml: String) throws {
        guard let root = try Yams.compose(yaml: yaml)?.mapping else { throw Error.unsupported("a file that is not a mapping") }
        stages = root["stages"]?.sequence?.compactMap(\.string) ?? ["build", "test", "deploy"]
        variables = Self.pairs(root["variables"])
        jobs = []
        for (key, value) in root {
            guard let name = key.string, !name.hasPrefix("."), !["stages", "variables", "default", "workflow", "include"].contains(name),
                let job = value.mapping
            else { continue }
            var matrix: [[(String, String)]] = []
            for combination in job["parallel"]?.mapping?["matrix"]?.sequence ?? [] {
                // Each entry is a mapping of variable → list of values; its cartesian product.
                var product: [[(String, String)]] = [[]]
                for (k, v) in combination.mapping ?? [:] {
                    let values = v.sequence?.compactMap(\.string) ?? [v.string ?? ""]
                    product = product.flatMap { base in values.map { base + [(k.string ?? "", $0)] } }
                }
                matrix += product
            }
            if matrix.isEmpty { matrix = [[]] }
            jobs.append(
                Job(
                    name: name, stage: job["stage"]?.string ?? "test", variables: Self.pairs(job["variables"]),
                    rules: (job["rules"]?.sequence ?? []).compactMap { $0.mapping?["if"]?.string },
                    matrix: matrix, script: job["script"]?.sequence?.compactMap(\.string) ?? []))
        }
    }

    static func pairs(_ node: Node?) -> [(String, String)] {
        (node?.mapping ?? [:]).map { ($0.key.string ?? "", $0.value.string ?? "") }
    }

    /// `rules: - if: $VAR == "value"` (or `!=`): the only rule form the example uses.
    static func ruleHolds(_ rule: String, _ values: [String: String]) throws -> Bool {
        for op in ["==", "!="] {
            let parts = rule.components(separatedBy: " \(op) ")
            guard parts.count == 2, parts[0].hasPrefix("$"), parts[1].hasPrefix("\""), parts[1].hasSuffix("\"") else { continue }
            let actual = values[String(parts[0].dropFirst())] ?? ""
            let wanted = String(parts[1].dropFirst().dropLast())
            return op == "==" ? actual == wanted : actual != wanted
        }
        throw Error.unsupported("the rule `\(rule)`")
    }

    /// The jobs that run for these variables, in stage order (file order within a stage).
    func selected(_ values: [String: String]) throws -> [Job] {
        var out: [Job] = []
        for stage in stages {
            for job in jobs where job.stage == stage {
                let all = values.merging(variables) { old, _ in old }
                if try job.rules.isEmpty || job.rules.contains(where: { try Self.ruleHolds($0, all) }) { out.append(job) }
            }
        }
        return out
    }
}

extension ManifestIntegration {
    @Suite struct ExamplePipelineTests {
        static let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("examples/gitlab-ci.yml").path

        /// This process's environment without any CI system's variables (the tests may run in CI).
        static var inherited: [String: String] {
            ProcessInfo.processInfo.environment.filter { k, _ in !["CI_", "GITLAB_", "GITHUB_"].contains { k.hasPrefix($0) } }
        }

        /// Runs the pipeline's selected jobs with `ci` (GitLab's predefined variables); returns
        /// each job's output. A job that fails fails the test.
        static func run(_ pipeline: GitLabPipeline, ci: [String: String], project: String) async throws -> [String: String] {
            var dotenv: [String: String] = [:]
            var outputs: [String: String] = [:]
            let kiln = try KilnCommand.binary()
            for job in try pipeline.selected(ci) {
                for combination in job.matrix {
                    // GitLab's order: predefined, then file variables, then matrix and dotenv values.
                    var script = "set -e\n"
                    for (k, v) in pipeline.variables + job.variables + combination { script += "export \(k)=\"\(v)\"\n" }
                    for (k, v) in dotenv { script += "export \(k)='\(v)'\n" }
                    script += job.script.joined(separator: "\n") + "\n"
                    var env = ci
                    env["PATH"] =
                        (kiln as NSString).deletingLastPathComponent + ":"
                        + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
                    env["DOCKER_CONFIG"] = ManifestHarness.noDockerConfig
                    let name = job.name + combination.map { " \($0.1)" }.joined()
                    let result = try await ProcessRunner.run(
                        "sh", ["-c", script], environment: Self.inherited.merging(env) { $1 },
                        currentDirectory: project, timeout: 300)
                    try #require(result.succeeded, "job \(name): \(result)")
                    outputs[name] = result.stdout
                }
                // artifacts:reports:dotenv: KEY=VALUE lines for the jobs of later stages.
                if let text = try? String(contentsOfFile: project + "/tag.env", encoding: .utf8), job.name == "tag" {
                    for line in text.split(separator: "\n") {
                        guard let eq = line.firstIndex(of: "=") else { continue }
                        dotenv[String(line[..<eq])] = String(line[line.index(after: eq)...])
                    }
                }
            }
            return outputs
        }

        @Test func tagBuildAndMergeJobsPushAMultiArchImage() async throws {
            let pipeline = try GitLabPipeline(yaml: String(contentsOfFile: Self.file, encoding: .utf8))
            #expect(pipeline.stages == ["tag", "build", "merge"])
            let scratch = try FixtureDirectory(prefix: "kiln-pipeline")
            defer { scratch.remove() }
            let project = scratch.file("project")
            try FileManager.default.createDirectory(atPath: project, withIntermediateDirectories: true)
            _ = try scratch.write("FROM scratch\nCOPY hello.txt /hello.txt\n", to: "project/Dockerfile")
            _ = try scratch.write("hello\n", to: "project/hello.txt")

            try await withRegistry(.plain) { registry in
                let base = [
                    "GITLAB_CI": "true", "CI": "true", "CI_PROJECT_DIR": project, "CI_REGISTRY": registry.host,
                    "CI_REGISTRY_IMAGE": "\(registry.host)/group/project", "CI_REGISTRY_USER": "gitlab-ci-token",
                    "CI_REGISTRY_PASSWORD": "unused-by-a-plain-registry", "CI_DEFAULT_BRANCH": "main",
                    "CI_COMMIT_SHA": "0123456789abcdef0123456789abcdef01234567",
                ]
                // A pipeline on the default branch, then a tag pipeline.
                for (extra, tag) in [(["CI_COMMIT_BRANCH": "main"], "latest"), (["CI_COMMIT_TAG": "v1.0"], "v1.0")] {
                    let ci = base.merging(extra) { $1 }
                    let jobs = try pipeline.selected(ci).map(\.name)
                    #expect(jobs == ["tag", "build", "merge"])
                    let outputs = try await Self.run(pipeline, ci: ci, project: project)
                    #expect(outputs["tag"]?.contains("tag=\(tag)") == true, "\(outputs)")
                    let (index, digest) = try await ManifestHarness.index(registry, "group/project:\(tag)")
                    #expect(ManifestHarness.platforms(index) == ["linux/amd64", "linux/arm64"])
                    for (entry, arch) in zip(index.manifests, ["amd64", "arm64"]) {
                        #expect(try await ManifestHarness.configPlatform(registry, "group/project", entry.digest) == "linux/\(arch)")
                    }
                    // The merge job's inspect prints the table of what it pushed.
                    #expect(outputs["merge"]?.contains("Digest:    \(digest)") == true, "\(outputs["merge"] ?? "")")
                }
            }
        }

        @Test func qemuModeRunsOneTwoPlatformBuildAndNoMerge() throws {
            let pipeline = try GitLabPipeline(yaml: String(contentsOfFile: Self.file, encoding: .utf8))
            let jobs = try pipeline.selected(["BUILD_MODE": "qemu"])
            #expect(jobs.map(\.name) == ["tag", "build-qemu"])
            let script = jobs.last?.script.joined(separator: "\n") ?? ""
            #expect(script.contains("--custom-platform linux/amd64,linux/arm64"))
            #expect(script.contains("--destination \"$IMAGE:$tag\""))
        }
    }
}
