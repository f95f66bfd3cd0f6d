// Images kiln built, run by podman (runc): the container sees the ENTRYPOINT, CMD, USER (with
// supplementary groups), WORKDIR and ENV the Dockerfile set, and a Debian image runs the program
// apt installed.
import Foundation
import TestSupport
import Testing

extension EndToEnd {
    @Suite struct PodmanRun {
        /// Builds Fixtures/`name` with kiln, pushes it to `registry` and returns its reference.
        func kilnImage(_ name: String, base: BaseImage, registry: RegistryFixture) async throws -> String {
            try await BaseImageFixture.shared.push(base, to: registry)
            let work = try FixtureDirectory(prefix: "kiln-podman-\(name)")
            defer { work.remove() }
            let reference = "\(registry.host)/\(name):latest"
            let r = try await ComparisonRunner.kilnBuild(
                context: ComparisonRunner.fixtures + "/" + name, reference: reference,
                registry: registry, buildArgs: ["REGISTRY": registry.host], work: work)
            try #require(r.succeeded, "kiln failed to build \(name): \(r)")
            return reference
        }

        /// Runs `body` with a podman whose store is removed afterwards, whatever `body` does.
        func withPodman(_ body: (Podman) async throws -> Void) async throws {
            let podman = try await Podman.make()
            do { try await body(podman) } catch {
                await podman.remove()
                throw error
            }
            await podman.remove()
        }

        @Test("ENTRYPOINT, CMD, USER, WORKDIR and ENV as the container sees them")
        func busyboxSettings() async throws {
            try await withRegistry(.plain) { registry in
                let image = try await kilnImage("podman-busybox", base: .busybox, registry: registry)
                try await withPodman { podman in
                    let first = try await podman.run(image)
                    #expect(first.succeeded, "\(first)")
                    #expect(
                        first.stdout == """
                            hello-from-env
                            uid=1000(app) gid=1000(app) groups=1000(app),2000(extra)
                            /home/app/site
                            content
                            args: default-arg

                            """, "\(first)")
                    let overridden = try await podman.run(image, ["from", "cli"])
                    #expect(overridden.stdout.hasSuffix("args: from cli\n"), "arguments do not replace CMD: \(overridden)")
                }
            }
        }

        @Test("FROM debian + apt-get install hello: the image runs hello")
        func bookwormHello() async throws {
            try await withRegistry(.plain) { registry in
                let image = try await kilnImage("podman-bookworm", base: .bookworm, registry: registry)
                try await withPodman { podman in
                    let hello = try await podman.run(image)
                    #expect(hello.succeeded, "\(hello)")
                    #expect(hello.stdout == "Hello, world!\n", "\(hello)")
                    let status = try await podman.run(image, ["dpkg-query", "-W", "-f=${Status}", "hello"])
                    #expect(status.stdout == "install ok installed", "\(status)")
                }
            }
        }
    }
}
