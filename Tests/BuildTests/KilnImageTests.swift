// kiln's own image (scripts/image.sh → image/Dockerfile, built by kiln): it runs with no Swift
// toolchain on the machine, and it builds and pushes an image from inside an unprivileged podman
// container the way a GitLab job using kaniko's :debug image does.
import Foundation
import TestSupport
import Testing

extension EndToEnd {
    @Suite(.serialized) struct KilnImage {
        /// Builds the :debug image from this test run's own kiln (no second `swift build`).
        static func buildImage(in work: FixtureDirectory) async throws -> String {
            let tar = work.url("kiln.tar")
            let r = try await ProcessRunner.run(
                "bash", [BuildProducts.packageRoot + "/scripts/image.sh", tar, "--debug", "--bin", BuildProducts.directory],
                currentDirectory: BuildProducts.packageRoot, timeout: 900)
            try #require(r.succeeded, "scripts/image.sh failed: \(r)")
            return tar
        }

        /// Unpacks the docker-archive's layers into `work/rootfs` (umoci, through an OCI layout).
        static func unpack(_ tar: String, in work: FixtureDirectory) async throws -> String {
            try await ProcessRunner.check("skopeo", ["copy", "--quiet", "docker-archive:\(tar)", "oci:\(work.url("layout")):kiln"])
            try await ProcessRunner.check("umoci", ["unpack", "--image", "\(work.url("layout")):kiln", work.url("bundle")])
            return work.url("bundle/rootfs")
        }

        @Test("the image needs no toolchain: every library resolves inside it, RUNPATHs are $ORIGIN-relative")
        func selfContained() async throws {
            let work = try FixtureDirectory(prefix: "kiln-image")
            defer { work.remove() }
            let rootfs = try await Self.unpack(try await Self.buildImage(in: work), in: work)
            let loader = "/lib64/ld-linux-x86-64.so.2"
            let binaries =
                ["/kaniko/executor"]
                + ((try? FileManager.default.contentsOfDirectory(atPath: rootfs + "/kaniko/plugins")) ?? [])
                .map { "/kaniko/plugins/" + $0 }
            #expect(binaries.count == 6, "executor, four plugins and libKilnYAML.so: \(binaries)")
            for binary in binaries {
                // ldd inside the image: the loader resolves as it will at run time there.
                let listed = try await ProcessRunner.run("chroot", [rootfs, loader, "--list", binary])
                #expect(listed.succeeded, "\(listed)")
                #expect(!listed.stdout.contains("not found"), "\(binary): \(listed.stdout)")
                #expect(!listed.stdout.contains("/opt/swift"), "\(binary) still reaches the toolchain: \(listed.stdout)")
                #expect(
                    listed.stdout.contains("libswiftCore.so => /kaniko/lib/libswiftCore.so")
                        || listed.stdout.contains("libswiftCore.so => /kaniko/plugins/../lib/libswiftCore.so"),
                    "\(binary): \(listed.stdout)")
                let runpath = try await ProcessRunner.check("patchelf", ["--print-rpath", rootfs + binary])
                #expect(runpath.stdout.hasPrefix("$ORIGIN"), "\(binary) RUNPATH \(runpath.stdout)")
            }
            // The loader reads $ORIGIN for the main program from /proc/self/exe: run it with a /proc of
            // its own, in a mount namespace that takes the mount away when it ends.
            try FileManager.default.createDirectory(atPath: rootfs + "/proc", withIntermediateDirectories: true)
            let isolated = ["--mount", "--pid", "--fork", "--mount-proc=\(rootfs)/proc", "chroot", rootfs, "/kaniko/executor"]
            let version = try await ProcessRunner.run("unshare", isolated + ["version"])
            #expect(version.succeeded && version.stdout.contains("plugin API 3."), "\(version)")
            let plugins = try await ProcessRunner.run("unshare", isolated + ["plugins"])
            for name in ["SnapshotTime", "SnapshotFull", "RegistryOCI", "CrossQEMU"] {
                #expect(plugins.stdout.contains("/kaniko/plugins/libKilnPlugin\(name).so"), "\(plugins)")
            }
            #expect(FileManager.default.fileExists(atPath: rootfs + "/kaniko/ssl/certs/ca-certificates.crt"))

            // The image's root is a jail that is no container (no /.dockerenv, a cgroup namespace of
            // its own): building in place there is refused unless --force, and nothing is written.
            try FileManager.default.createDirectory(atPath: rootfs + "/ctx", withIntermediateDirectories: true)
            try "FROM scratch\nCOPY a /a\n".write(toFile: rootfs + "/ctx/Dockerfile", atomically: false, encoding: .utf8)
            try "a\n".write(toFile: rootfs + "/ctx/a", atomically: false, encoding: .utf8)
            let before = try FileManager.default.subpathsOfDirectory(atPath: rootfs).sorted()
            let jail = ["--mount", "--pid", "--cgroup", "--fork", "--mount-proc=\(rootfs)/proc"]
            let build = ["/kaniko/executor", "-c", "/ctx", "--no-push", "--oci-layout-path", "/ctx/out"]
            let env = ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root"]
            let inPlace = try await ProcessRunner.run(
                "unshare", jail + ["chroot", rootfs] + build + ["--isolation", "none"], environment: env)
            #expect(inPlace.exitCode == 2, "\(inPlace)")
            #expect(inPlace.stderr.contains("nothing says this is a container") && inPlace.stderr.contains("--force"), "\(inPlace.stderr)")
            let noNamespaces = try await ProcessRunner.run(
                "unshare", jail + ["setpriv", "--bounding-set=-sys_admin", "chroot", rootfs] + build, environment: env)
            #expect(noNamespaces.exitCode == 2, "\(noNamespaces)")
            #expect(noNamespaces.stderr.contains("this is not a container"), "\(noNamespaces.stderr)")
            #expect(try FileManager.default.subpathsOfDirectory(atPath: rootfs).sorted() == before, "the jail's / was touched")
            #expect(FileManager.default.fileExists(atPath: rootfs + "/busybox/sh"))
        }

        @Test("a GitLab-style job in unprivileged podman: config.json written by the script, a Dockerfile with RUN, pushed")
        func gitLabJobInPodman() async throws {
            let work = try FixtureDirectory(prefix: "kiln-image-job")
            defer { work.remove() }
            let tar = try await Self.buildImage(in: work)
            try await withRegistry(.plain) { registry in
                try await BaseImageFixture.shared.push(.busybox, to: registry)
                try work.makeDirectory("context")
                try work.write(
                    "context/Dockerfile", "FROM \(registry.host)/busybox:latest\nRUN echo built-inside > /made-by-run\nCOPY note /note\n")
                try work.write("context/note", "from the context\n")
                let podman = try await Podman.make()
                defer { Task { await podman.remove() } }
                let destination = "\(registry.host)/team/app:ci"
                // What a job's `script:` does with kaniko's :debug image.
                let script = """
                    mkdir -p /kaniko/.docker
                    echo '{"auths":{"\(registry.host)":{"auth":"dXNlcjpwYXNz"}}}' > /kaniko/.docker/config.json
                    /kaniko/executor --context /workspace --dockerfile /workspace/Dockerfile --destination \(destination)
                    """
                let version = try await podman.run("docker-archive:\(tar)", ["version"])
                #expect(version.succeeded && version.stdout.contains("plugin API 3."), "the image's entrypoint: \(version)")
                let job = try await podman.run(
                    "docker-archive:\(tar)", ["/busybox/sh", "-c", script],
                    options: ["--entrypoint", "", "-v", "\(work.url("context")):/workspace"])
                #expect(job.succeeded, "the job failed: \(job)")
                #expect(job.stderr.contains("RUN runs in place"), "the default isolation says it chose in place: \(job.stderr)")
                let unpacked = try FixtureDirectory(prefix: "kiln-image-pushed")
                defer { unpacked.remove() }
                try await ProcessRunner.check(
                    "skopeo", ["copy", "--quiet", "--src-tls-verify=false", "docker://\(destination)", "oci:\(unpacked.url("layout")):app"])
                try await ProcessRunner.check("umoci", ["unpack", "--image", "\(unpacked.url("layout")):app", unpacked.url("bundle")])
                let made = try String(contentsOfFile: unpacked.url("bundle/rootfs/made-by-run"), encoding: .utf8)
                #expect(made == "built-inside\n")
                let note = try String(contentsOfFile: unpacked.url("bundle/rootfs/note"), encoding: .utf8)
                #expect(note == "from the context\n")
                #expect(
                    !FileManager.default.fileExists(atPath: unpacked.url("bundle/rootfs/kaniko")), "kiln's own files leaked into the image")
            }
        }
    }
}
