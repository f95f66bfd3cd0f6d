// Platform-aware builds on this amd64 machine: an arm64 build whose RUN steps run under QEMU user
// mode (the CrossQEMU plugin registers it with binfmt_misc and undoes it), the predefined
// platform ARGs, and a base that has no image for the requested platform refused by name.
import CrossQEMUBackend
import Foundation
import PluginAPI
import TestSupport
import Testing

extension EndToEnd {
    @Suite(.serialized) struct MultiArch {
        /// `REG/busybox-multi:latest`: a manifest list of the amd64 busybox base and an arm64 one
        /// made from Debian's busybox-static:arm64, merged with `kiln manifest`.
        static func pushMultiArchBase(to registry: RegistryFixture, work: FixtureDirectory) async throws -> String {
            let amd64 = try await BaseImageFixture.shared.layout(.busybox)
            try await ProcessRunner.check(
                "skopeo",
                ["copy", "--quiet", "--dest-tls-verify=false", "oci:\(amd64):latest", "docker://\(registry.host)/busybox-multi:amd64"])
            let rootfs = work.url("arm64-rootfs")
            try FileManager.default.createDirectory(atPath: rootfs, withIntermediateDirectories: true)
            try await ForeignBusybox.populate(rootfs, architecture: "arm64")
            chmod(rootfs, 0o755)
            let layout = work.url("arm64-layout")
            try await ProcessRunner.check("umoci", ["init", "--layout", layout])
            try await ProcessRunner.check("umoci", ["new", "--image", "\(layout):latest"])
            try await ProcessRunner.check("umoci", ["insert", "--image", "\(layout):latest", rootfs, "/"], timeout: 600)
            try await ProcessRunner.check(
                "umoci",
                [
                    "config", "--image", "\(layout):latest", "--architecture", "arm64", "--os", "linux",
                    "--config.env=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                ])
            try await ProcessRunner.check(
                "skopeo",
                ["copy", "--quiet", "--dest-tls-verify=false", "oci:\(layout):latest", "docker://\(registry.host)/busybox-multi:arm64"])
            let merged = try await KilnCommand.run([
                "manifest", "push", "from-args", "--platforms", "linux/amd64,linux/arm64",
                "--template", "\(registry.host)/busybox-multi:ARCH", "--target", "\(registry.host)/busybox-multi:latest",
            ])
            try #require(merged.succeeded, "kiln manifest: \(merged)")
            return "\(registry.host)/busybox-multi:latest"
        }

        /// binfmt_misc's mount and entries, to prove a build leaves them as it found them.
        static func binfmtState() -> String {
            let mounted = ((try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? "").contains(" binfmt_misc ")
            let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/sys/fs/binfmt_misc")) ?? []
            return "mounted=\(mounted) entries=\(entries.sorted())"
        }

        /// Unpacks `reference` from the registry and returns its root file system and config.
        static func unpack(_ reference: String, platform: String, into work: FixtureDirectory) async throws -> (
            rootfs: String, config: String
        ) {
            let arch = String(platform.split(separator: "/")[1])
            try await ProcessRunner.check(
                "skopeo",
                [
                    "copy", "--quiet", "--src-tls-verify=false", "--override-arch", arch, "docker://\(reference)",
                    "oci:\(work.url("out")):img",
                ])
            try await ProcessRunner.check("umoci", ["unpack", "--image", "\(work.url("out")):img", work.url("bundle")])
            let config = try await ProcessRunner.check(
                "skopeo", ["inspect", "--config", "--raw", "--tls-verify=false", "--override-arch", arch, "docker://\(reference)"])
            return (work.url("bundle/rootfs"), config.stdout)
        }

        /// In a fresh registry holding the multi-arch base: writes `dockerfile` as the context's
        /// Dockerfile and runs kiln with the context and `arguments`, `{base}`, `{registry}` and
        /// `{work}` replaced by the base's reference, the registry's host and the work directory;
        /// hands the result to `check`.
        static func build(
            _ prefix: String, dockerfile: String, arguments: [String],
            check: (RegistryFixture, ProcessResult, FixtureDirectory) async throws -> Void
        ) async throws {
            let work = try FixtureDirectory(prefix: prefix)
            defer { work.remove() }
            try await withRegistry(.plain) { registry in
                let base = try await Self.pushMultiArchBase(to: registry, work: work)
                try work.makeDirectory("context")
                func fill(_ text: String) -> String {
                    text.replacing("{base}", with: base).replacing("{registry}", with: registry.host).replacing("{work}", with: work.path)
                }
                try work.write("context/Dockerfile", fill(dockerfile))
                let r = try await KilnCommand.run(["--context", work.url("context")] + arguments.map(fill))
                try await check(registry, r, work)
            }
        }

        @Test("--custom-platform linux/arm64: RUN under QEMU says aarch64, TARGETARCH is arm64, the config says arm64")
        func arm64BuildRunsUnderQEMU() async throws {
            let before = Self.binfmtState()
            try await Self.build(
                "kiln-multiarch",
                dockerfile: "FROM {base}\nARG TARGETARCH\nARG TARGETPLATFORM\nARG BUILDARCH\n"
                    + "RUN uname -m > /arch && echo \"$TARGETARCH $TARGETPLATFORM $BUILDARCH\" > /args\n"
                    // busybox's shell runs an applet by executing /proc/self/exe with the
                    // applet's name as argv[0]: QEMU must be given argv[0] (binfmt's P flag).
                    + "RUN sleep 0 && echo abc | tr a-c x-z > /tr\n",
                arguments: ["--custom-platform", "linux/arm64", "--destination", "{registry}/team/app:arm64"]
            ) { registry, r, work in
                #expect(r.succeeded, "\(r)")
                #expect(r.stderr.contains("QEMU"), "the log names the emulation: \(r.stderr)")
                #expect(Self.binfmtState() == before, "binfmt_misc was not left as found")
                let image = try await Self.unpack("\(registry.host)/team/app:arm64", platform: "linux/arm64", into: work)
                #expect(try String(contentsOfFile: image.rootfs + "/arch", encoding: .utf8) == "aarch64\n")
                #expect(try String(contentsOfFile: image.rootfs + "/args", encoding: .utf8) == "arm64 linux/arm64 amd64\n")
                #expect(try String(contentsOfFile: image.rootfs + "/tr", encoding: .utf8) == "xyz\n")
                #expect(image.config.contains(#""architecture":"arm64""#), "\(image.config)")
            }
            #expect(Self.binfmtState() == before)
        }

        @Test("--cross=native refuses a foreign RUN before pulling; a base without the platform is named")
        func refusals() async throws {
            let work = try FixtureDirectory(prefix: "kiln-multiarch-refuse")
            defer { work.remove() }
            try await withRegistry(.plain) { registry in
                let amd64Only = try await BaseImageFixture.shared.push(.busybox, to: registry)
                try work.makeDirectory("context")
                try work.write("context/Dockerfile", "FROM \(amd64Only)\nRUN true\n")
                let relabel = try await KilnCommand.run([
                    "--context", work.url("context"), "--custom-platform", "linux/arm64", "--destination", "\(registry.host)/x:1",
                ])
                #expect(relabel.exitCode == 1, "\(relabel)")
                #expect(relabel.stderr.contains("has no image for linux/arm64"), "\(relabel.stderr)")
                #expect(relabel.stderr.contains("linux/amd64"), "the base's own platform is named: \(relabel.stderr)")
                let pushed = try await ProcessRunner.run(
                    "skopeo", ["inspect", "--raw", "--tls-verify=false", "docker://\(registry.host)/x:1"])
                #expect(!pushed.succeeded, "nothing may be pushed: \(pushed)")

                let native = try await KilnCommand.run([
                    "--context", work.url("context"), "--custom-platform", "linux/arm64", "--cross", "native", "--no-push",
                    "--oci-layout-path", work.url("out"),
                ])
                #expect(native.exitCode == 2, "\(native)")
                #expect(native.stderr.contains("--cross=native"), "\(native.stderr)")
                #expect(!native.stderr.contains("resolving"), "nothing is pulled before the refusal: \(native.stderr)")
            }
        }

        @Test("one invocation, two platforms: an index that skopeo and podman read, each entry built for its platform")
        func twoPlatformsInOneInvocation() async throws {
            let before = Self.binfmtState()
            try await Self.build(
                "kiln-multiarch-two",
                dockerfile: "FROM {base}\nARG TARGETARCH\nRUN uname -m > /arch && echo $TARGETARCH > /targetarch\n",
                arguments: [
                    "--custom-platform", "linux/amd64,linux/arm64", "--destination", "{registry}/team/app:multi",
                    "--oci-layout-path", "{work}/layout",
                ]
            ) { registry, r, work in
                let reference = "\(registry.host)/team/app:multi"
                try #require(r.succeeded, "\(r)")
                #expect(Self.binfmtState() == before, "binfmt_misc was not left as found")
                let raw = try await ProcessRunner.check("skopeo", ["inspect", "--raw", "--tls-verify=false", "docker://\(reference)"])
                let index = try JSONDecoder().decode(RawIndex.self, from: Data(raw.stdout.utf8))
                #expect(
                    index.manifests.map { "\($0.platform.os)/\($0.platform.architecture)" } == ["linux/amd64", "linux/arm64"],
                    "\(raw.stdout)")
                #expect(
                    r.stdout.contains(Digest.sha256(of: Array(raw.stdout.utf8)).description), "kiln prints the index digest: \(r.stdout)")
                for (platform, machine, arch) in [("linux/amd64", "x86_64", "amd64"), ("linux/arm64", "aarch64", "arm64")] {
                    let unpacked = try FixtureDirectory(prefix: "kiln-multiarch-\(arch)")
                    defer { unpacked.remove() }
                    let image = try await Self.unpack(reference, platform: platform, into: unpacked)
                    #expect(try String(contentsOfFile: image.rootfs + "/arch", encoding: .utf8) == machine + "\n")
                    #expect(try String(contentsOfFile: image.rootfs + "/targetarch", encoding: .utf8) == arch + "\n")
                    #expect(image.config.contains("\"architecture\":\"\(arch)\""), "\(image.config)")
                }
                let layoutIndex = try String(contentsOfFile: work.url("layout/index.json"), encoding: .utf8)
                #expect(layoutIndex.contains("application/vnd.oci.image.index.v1+json"), "the OCI layout holds the index: \(layoutIndex)")

                // podman pulls the arm64 entry and runs it (under QEMU, registered for the run only).
                let podman = try await Podman.make()
                let backend = QEMUUserBackend(log: { _, _ in })
                let session = try await backend.prepare(for: Platform(os: "linux", architecture: "arm64"))
                let run = try await podman.run(reference, ["uname", "-m"], options: ["--platform", "linux/arm64"])
                try await backend.release(session)
                await podman.remove()
                #expect(run.succeeded && run.stdout == "aarch64\n", "\(run)")
            }
            #expect(Self.binfmtState() == before)
        }

        @Test("--jobs 2 builds the platforms at once (their RUN steps meet at a barrier); --jobs 1 one after the other")
        func platformsBuildAtTheSameTime() async throws {
            let barrier = try await BarrierFixture(parties: 2, timeout: 60)
            defer { barrier.stop() }
            let lonely = try await BarrierFixture(parties: 2, timeout: 2)
            defer { lonely.stop() }
            try await Self.build(
                "kiln-multiarch-jobs",
                dockerfile: "FROM {base}\nARG BARRIER\nRUN wget -q -O /met \"$BARRIER\" && uname -m > /arch\n",
                arguments: [
                    "--custom-platform", "linux/amd64,linux/arm64", "--jobs", "2", "--build-arg", "BARRIER=\(barrier.url)",
                    "--destination", "{registry}/team/jobs:together",
                ]
            ) { registry, r, work in
                try #require(r.succeeded, "\(r)")
                #expect(r.stderr.contains("building 2 platforms, 2 at a time"), "\(r.stderr)")
                #expect(
                    r.stderr.contains("INFO [linux/arm64] ") && r.stderr.contains("INFO [linux/amd64] "),
                    "lines name their platform: \(r.stderr)")
                let serial = try await KilnCommand.run([
                    "--context", work.url("context"), "--custom-platform", "linux/amd64,linux/arm64", "--jobs", "1",
                    "--build-arg", "BARRIER=\(lonely.url)", "--destination", "\(registry.host)/team/jobs:serial",
                ])
                try #require(serial.succeeded, "\(serial)")
                for (tag, met) in [("together", "together\n"), ("serial", "alone\n")] {
                    for (platform, machine) in [("linux/amd64", "x86_64"), ("linux/arm64", "aarch64")] {
                        let unpacked = try FixtureDirectory(prefix: "kiln-multiarch-jobs-x")
                        defer { unpacked.remove() }
                        let image = try await Self.unpack("\(registry.host)/team/jobs:\(tag)", platform: platform, into: unpacked)
                        #expect(try String(contentsOfFile: image.rootfs + "/met", encoding: .utf8) == met, "\(tag) \(platform)")
                        #expect(try String(contentsOfFile: image.rootfs + "/arch", encoding: .utf8) == machine + "\n")
                    }
                }
            }
        }

        @Test("one platform's failing RUN fails the build with its status, names the platform and stops the others")
        func onePlatformFailsTheBuild() async throws {
            try await Self.build(
                "kiln-multiarch-fail",
                dockerfile: "FROM {base}\nARG TARGETARCH\nRUN if [ $TARGETARCH = arm64 ]; then exit 7; else sleep 1171; fi\n",
                arguments: ["--custom-platform", "linux/amd64,linux/arm64", "--jobs", "2", "--destination", "{registry}/team/fail:1"]
            ) { registry, r, _ in
                #expect(r.exitCode == 7, "a failing RUN's own status: \(r)")
                #expect(r.stderr.contains("building for linux/arm64: Dockerfile:3:1: RUN"), "\(r.stderr)")
                let sleepers = try await ProcessRunner.run("pgrep", ["-f", "sleep 1171"])
                #expect(sleepers.stdout.isEmpty, "the amd64 step was stopped: \(sleepers.stdout)")
                let tags = try await ProcessRunner.run(
                    "skopeo", ["list-tags", "--tls-verify=false", "docker://\(registry.host)/team/fail"])
                #expect(!tags.stdout.contains("\"1\""), "nothing was pushed: \(tags.stdout)")
            }
        }

        @Test("a stage on FROM --platform=$BUILDPLATFORM is built once and shared by every platform's image")
        func buildPlatformStagesAreBuiltOnce() async throws {
            try await Self.build(
                "kiln-multiarch-once",
                dockerfile: "FROM --platform=$BUILDPLATFORM {base} AS tools\n"
                    + "RUN uname -m > /built-on && cat /proc/sys/kernel/random/uuid > /stamp\n"
                    + "FROM {base}\nCOPY --from=tools /built-on /stamp /\n",
                arguments: ["--custom-platform", "linux/amd64,linux/arm64", "--destination", "{registry}/team/once:1"]
            ) { registry, r, _ in
                let reference = "\(registry.host)/team/once:1"
                try #require(r.succeeded, "\(r)")
                #expect(r.stderr.components(separatedBy: "built once for every platform").count == 2, "shared once, for arm64: \(r.stderr)")
                var stamps: [String] = []
                for platform in ["linux/amd64", "linux/arm64"] {
                    let unpacked = try FixtureDirectory(prefix: "kiln-multiarch-once-x")
                    defer { unpacked.remove() }
                    let image = try await Self.unpack(reference, platform: platform, into: unpacked)
                    #expect(
                        try String(contentsOfFile: image.rootfs + "/built-on", encoding: .utf8) == "x86_64\n", "built on the build platform"
                    )
                    stamps.append(try String(contentsOfFile: image.rootfs + "/stamp", encoding: .utf8))
                }
                #expect(stamps.count == 2 && stamps[0] == stamps[1], "one build of the stage, not two: \(stamps)")
            }
        }
    }
}

/// The parts of an image index the test reads.
private struct RawIndex: Decodable {
    struct Entry: Decodable {
        struct Platform: Decodable {
            var os: String
            var architecture: String
        }
        var platform: Platform
    }
    var manifests: [Entry]
}
