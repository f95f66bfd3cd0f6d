// The comparison set: each Dockerfile under Fixtures/ built by kiln (`--snapshot-mode full` and
// `time`) and by buildah must give the same files and config (ComparisonHarness.swift).
import Foundation
import PluginSupport
import TestSupport
import Testing

extension ComparisonCase {
    /// The busybox-based set; every case runs in both snapshot modes.
    static let busyboxSet: [ComparisonCase] = [
        ComparisonCase(name: "run-forms", buildArgs: ["FROM_CLI": "cli-value"]),
        ComparisonCase(
            name: "user",
            kilnChecks: { tree in
                // Not vacuous: USER app gets app's supplementary group from /etc/group.
                let id = ImageTree.sha256(of: "uid=1000(app) gid=1000(app) groups=1000(app),2000(extra)\n")
                return tree.entries["/out/id-app.txt"]?.sha256 == id ? [] : ["`id` as USER app did not list groups 1000(app),2000(extra)"]
            }),
        ComparisonCase(
            name: "workdir",
            kilnChecks: { tree in
                // Not vacuous: a WORKDIR made while USER app is in effect belongs to app.
                let dir = tree.entries["/work/app-made/deeper"]
                return dir?.uid == 1000 && dir?.kind == .directory
                    ? [] : ["/work/app-made/deeper: \(dir.map { "\($0)" } ?? "missing"), expected a directory owned by 1000"]
            }),
        ComparisonCase(name: "whiteouts"),
        ComparisonCase(name: "symlinks"),
        ComparisonCase(
            name: "hardlinks",
            exclusions: ["/h/a", "/h/b", "/h/c", "/h/d-later"].map {
                TreeExclusion(
                    $0, reason: "linked in step 1, re-linked and chmod'ed through one name later: overlay copy-up splits buildah's inode")
            },
            kilnChecks: hardLinked(["/h/a", "/h/b", "/h/c", "/h/d-later"], mode: 0o600)),
        ComparisonCase(name: "ownership"),
        ComparisonCase(name: "add-tar", prepare: { context in try await makeArchive(in: context) }),
        ComparisonCase(
            name: "multistage",
            exclusions: ["/copied/mid-tree/h1", "/copied/mid-tree/h2", "/copied/mid-tree/hd/h3"].map {
                TreeExclusion($0, reason: "stage mid chowns /tree/h1: overlay copy-up splits it from h2 and hd/h3 in buildah's stage")
            },
            kilnChecks: hardLinked(["/copied/mid-tree/h1", "/copied/mid-tree/h2", "/copied/mid-tree/hd/h3"], uid: 1000)),
        ComparisonCase(
            name: "inherit", derivedBase: .init(dockerfile: "base.Dockerfile", repository: "inherit-base"),
            kilnChecks: { tree in
                // Not vacuous: the trigger ran, as the base's user, in its WORKDIR, with its ENV.
                let made = tree.entries["/home/app/work/onbuild.txt"]
                let expected = ImageTree.sha256(of: "onbuild as app in /home/app/work with from-base\n")
                let child = ImageTree.sha256(of: "from-base set-by-trigger app /home/app/work\n")
                var problems: [String] = []
                if made?.sha256 != expected {
                    problems.append("ONBUILD RUN did not write onbuild.txt as expected: \(made.map { "\($0)" } ?? "missing")")
                }
                if tree.entries["/home/app/work/child.txt"]?.sha256 != child {
                    problems.append("child.txt does not show the inherited ENV/USER/WORKDIR")
                }
                if tree.config.volumes != ["/data"] { problems.append("VOLUME /data not inherited: \(tree.config.volumes)") }
                return problems
            }),
        ComparisonCase(
            name: "metadata",
            kilnChecks: { tree in
                // Not vacuous: the settings are there, not merely equally absent in both images.
                var expected = ImageSettings()
                // One ENV instruction expands with the values from before it: C sees no A yet.
                expected.env = tree.config.env.filter { $0.hasPrefix("PATH=") } + ["A=1", "B=two words", "C=-ref", "D=1"]
                expected.entrypoint = ["/bin/echo", "entry"]
                expected.cmd = ["cmd-arg"]
                expected.user = "1000:2000"
                expected.workingDir = "/srv"
                expected.exposedPorts = ["80/tcp", "8080/udp", "9000/tcp"]
                expected.volumes = ["/vol/a", "/vol/b", "/vol/c"]
                expected.labels = ["org.example.one": "1", "org.example.two": "two words"]
                expected.stopSignal = "SIGUSR1"
                expected.layerCount = tree.config.layerCount
                return tree.config == expected ? [] : ["config \(tree.config)\nexpected \(expected)"]
            }),
        // Same size, same mtime, new content: only a content snapshot can see it.
        ComparisonCase(name: "mtime-only", modes: [.full]),
        ComparisonCase(
            name: "run-mounts",
            exclusions: ["/mnt", "/var", "/var/cache"].map {
                TreeExclusion(
                    $0, reason: "buildah 1.28 keeps the parents it made for mount points; BuildKit and kiln remove them")
            },
            kilnChecks: { tree in
                ["/mnt", "/var/cache", "/scratch", "/srv/tools"].compactMap { tree.entries[$0] == nil ? nil : "\($0) is left in the image" }
            }),
    ]

    /// `archive.tar.gz` for the add-tar case, made with GNU tar so kiln's own tar code is not
    /// involved: owners 1234:5678, a 0750 directory, a symlink, a hard link and a setgid file.
    /// No `./` entry: what tar -x does to an existing destination directory is not the point.
    static func makeArchive(in context: String) async throws {
        let src = context + "/archive-src"
        try FileManager.default.createDirectory(atPath: src + "/top/inner", withIntermediateDirectories: true)
        try "one\n".write(toFile: src + "/top/one.txt", atomically: false, encoding: .utf8)
        try "inner\n".write(toFile: src + "/top/inner/two.txt", atomically: false, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: src + "/top/link", withDestinationPath: "one.txt")
        try FileManager.default.linkItem(atPath: src + "/top/one.txt", toPath: src + "/top/hard")
        try "root-level\n".write(toFile: src + "/root-level.txt", atomically: false, encoding: .utf8)
        try await ProcessRunner.check("chmod", ["0750", src + "/top/inner"])
        try await ProcessRunner.check("chmod", ["2755", src + "/top/inner/two.txt"])
        try await ProcessRunner.check(
            "tar",
            [
                "--sort=name", "--owner=1234", "--group=5678", "--numeric-owner",
                "-czf", context + "/archive.tar.gz", "-C", src, "top", "root-level.txt",
            ])
        try FileManager.default.removeItem(atPath: src)
    }
}

extension EndToEnd {
    @Suite struct Comparisons {
        @Test("kiln builds the same image as buildah", arguments: ComparisonCase.busyboxSet)
        func sameAsBuildah(_ c: ComparisonCase) async throws {
            let outcome = try await ComparisonRunner.run(c)
            for mode in c.modes {
                let diffs = outcome.differences[mode] ?? ["no kiln image for \(mode.rawValue)"]
                #expect(
                    diffs.isEmpty,
                    "\(c.name), --snapshot-mode \(mode.rawValue): \(diffs.count) difference(s)\n\(diffs.joined(separator: "\n"))")
                if let check = c.kilnChecks, let tree = outcome.kiln[mode] {
                    let problems = check(tree)
                    #expect(problems.isEmpty, "\(c.name), --snapshot-mode \(mode.rawValue): \(problems.joined(separator: "\n"))")
                }
            }
        }
    }
}
