// Builds one Dockerfile of Fixtures/ with kiln (each snapshot mode) and with buildah, and
// compares what a container would see: files (type, mode, owner, content, link target, hard
// links, devices) and config. Like kaniko's integration tests against Docker, but buildah is the
// reference (research/kaniko.md §7.1) and umoci, not kiln, unpacks both images.
import Foundation
import TestSupport
import Testing

/// Every end-to-end suite of this file set runs inside this one, one test at a time: each test
/// starts its own registry, but buildah, kiln and podman each want both cores.
@Suite(.serialized, .enabled(if: EndToEndPrerequisites.met, EndToEndPrerequisites.message))
struct EndToEnd {}

enum EndToEndPrerequisites {
    static let programs = ["buildah", "podman", "umoci", "skopeo", "docker-registry", "debootstrap", "busybox"]
    /// Root (owners, mounts, chroot) and the programs, or CI, where a missing one must fail.
    static var met: Bool { TestPrivileges.rootOrCI && programs.allSatisfy { ExecutableLookup.available($0) } }
    static let message: Comment =
        "needs root and buildah, podman, umoci, skopeo, docker-registry, debootstrap, busybox-static (scripts/setup.sh --tests)"
}

/// A snapshot mode of kiln's `--snapshot-mode`.
enum SnapshotMode: String, Sendable, CaseIterable {
    case full, time
}

/// One Dockerfile of the comparison set and what it needs.
struct ComparisonCase: Sendable, CustomTestStringConvertible {
    /// The folder under Fixtures/ holding `Dockerfile` and the context.
    var name: String
    var bases: [BaseImage] = [.busybox]
    var buildArgs: [String: String] = [:]
    var modes: [SnapshotMode] = SnapshotMode.allCases
    /// Paths this case lets the tools differ on, each with its reason.
    var exclusions: [TreeExclusion] = []
    /// A Dockerfile in the fixture built first by buildah (docker format, so ONBUILD survives)
    /// and pushed as `<registry>/<repository>:latest`.
    var derivedBase: DerivedBase?
    /// Adds generated files to the copied context (e.g. a tarball with exact owners).
    var prepare: (@Sendable (String) async throws -> Void)?
    /// What kiln's image must hold at excluded paths (returns the problems found): excluded
    /// paths are checked against the Dockerfile's meaning instead of against buildah.
    var kilnChecks: (@Sendable (ImageTree) -> [String])?

    struct DerivedBase: Sendable {
        var dockerfile: String
        var repository: String
    }

    var testDescription: String { name }

    /// A check that `paths` are one inode in kiln's image (a hard-link group), with `mode` and
    /// `uid` when given.
    static func hardLinked(_ paths: [String], mode: UInt32? = nil, uid: UInt32? = nil) -> @Sendable (ImageTree) -> [String] {
        { tree in
            var problems: [String] = []
            let groups = Set(paths.map { tree.entries[$0]?.hardlinkGroup ?? "\($0) (not linked)" })
            if groups.count != 1 || groups.first?.hasSuffix("(not linked)") == true {
                problems.append("\(paths.joined(separator: ", ")) are not one hard-linked file: groups \(groups.sorted())")
            }
            for p in paths {
                guard let e = tree.entries[p] else {
                    problems.append("\(p) is missing")
                    continue
                }
                if let mode, e.mode != mode {
                    problems.append("\(p): mode \(String(e.mode, radix: 8)), expected \(String(mode, radix: 8))")
                }
                if let uid, e.uid != uid { problems.append("\(p): uid \(e.uid), expected \(uid)") }
            }
            return problems
        }
    }
}

/// What one comparison found, per kiln snapshot mode.
struct ComparisonOutcome {
    var buildah: ImageTree
    var kiln: [SnapshotMode: ImageTree]
    var differences: [SnapshotMode: [String]]
}

enum ComparisonRunner {
    static var fixtures: String { BuildProducts.packageRoot + "/Tests/BuildTests/Fixtures" }

    /// Label buildah adds to every image it commits (its own version): not part of the build.
    static let ignoredLabels: Set<String> = ["io.buildah.version"]

    /// Paths every comparison skips, each for a reason that holds for any Dockerfile.
    static let standardExclusions = ImageTree.mountPointExclusions

    /// Runs the case against a fresh registry and returns both tools' images and the
    /// differences. Throws when a tool fails to build.
    static func run(_ c: ComparisonCase) async throws -> ComparisonOutcome {
        try await withRegistry(.plain) { registry in
            let work = try FixtureDirectory(prefix: "kiln-compare-\(c.name)")
            defer { work.remove() }
            let context = work.file("context")
            try await ProcessRunner.check("cp", ["-a", fixtures + "/" + c.name, context])
            try await c.prepare?(context)
            for base in c.bases { try await BaseImageFixture.shared.push(base, to: registry) }
            let args = c.buildArgs.merging(["REGISTRY": registry.host]) { a, _ in a }

            let buildah = try Buildah()
            let buildahTree: ImageTree
            do {
                if let derived = c.derivedBase {
                    let tag = "localhost/\(derived.repository):latest"
                    try await buildah.bud(
                        context: context, dockerfile: context + "/" + derived.dockerfile, tag: tag,
                        buildArgs: args, format: "docker")
                    try await buildah.push(tag, to: "docker://\(registry.host)/\(derived.repository):latest")
                }
                let tag = "localhost/compare-\(c.name):latest"
                try await buildah.bud(context: context, dockerfile: context + "/Dockerfile", tag: tag, buildArgs: args)
                let layout = work.file("buildah-layout")
                try await buildah.push(tag, to: "oci:\(layout):image")
                buildahTree = try await ImageTree.load(layout: layout, tag: "image")
            } catch {
                await buildah.remove()
                throw error
            }
            await buildah.remove()

            var outcome = ComparisonOutcome(buildah: buildahTree, kiln: [:], differences: [:])
            for mode in c.modes {
                let reference = "\(registry.host)/compare-\(c.name)-\(mode.rawValue):latest"
                let result = try await kilnBuild(
                    context: context, reference: reference, registry: registry,
                    buildArgs: args, extra: ["--snapshot-mode", mode.rawValue], work: work)
                try #require(result.succeeded, "kiln --snapshot-mode \(mode.rawValue) failed to build \(c.name): \(result)")
                let tree = try await ImageTree.load(registry: reference)
                outcome.kiln[mode] = tree
                outcome.differences[mode] = tree.differences(
                    from: buildahTree, names: ("kiln", "buildah"),
                    excluding: standardExclusions + c.exclusions,
                    ignoringLabels: ignoredLabels)
            }
            return outcome
        }
    }

    /// `kiln -c CONTEXT -f CONTEXT/Dockerfile -d REFERENCE --insecure-registry HOST`, with its
    /// working directory under `work`.
    static func kilnBuild(
        context: String, dockerfile: String = "Dockerfile", reference: String, registry: RegistryFixture,
        buildArgs: [String: String], extra: [String] = [], work: FixtureDirectory,
        timeout: Double = 900
    ) async throws -> ProcessResult {
        let kilnDir = work.file("kiln-\(UUID().uuidString.prefix(8))")
        var args = [
            "-c", context, "-f", context + "/" + dockerfile, "-d", reference,
            "--insecure-registry", registry.host, "--kaniko-dir", kilnDir, "--cleanup",
        ]
        for (k, v) in buildArgs.sorted(by: { $0.key < $1.key }) { args += ["--build-arg", "\(k)=\(v)"] }
        return try await KilnCommand.run(args + extra, timeout: timeout)
    }
}
