// Steps that cannot start fail with an error naming what failed, and leave the root clean.
import Foundation
import Glibc
import Runner
import Testing

@Suite(.enabled(if: Prerequisites.enabled))
struct SetupFailureTests {
    @Test func aMissingWorkdirIsAClearError() async throws {
        try #require(Prerequisites.available, Prerequisites.missing)
        let root = try BusyboxRoot()
        defer { root.remove() }
        let spec = RunSpec(argv: ["/bin/sh", "-c", "true"], workingDirectory: "/nope", root: root.path)
        await #expect(throws: Runner.Error.workingDirectoryMissing("/nope", root: root.path)) {
            try await Runner.run(spec, output: { _ in })
        }
    }

    @Test func anExecFailureInsideTheNamespaceNamesTheStep() async throws {
        try #require(Prerequisites.available, Prerequisites.missing)
        let root = try BusyboxRoot()
        defer { root.remove() }
        let spec = RunSpec(argv: ["/bin/missing"], root: root.path)
        await #expect(throws: Runner.Error.setup(step: "execve /bin/missing", errno: ENOENT)) {
            try await Runner.run(spec, output: { _ in })
        }
        #expect(try root.listing() == ["bin", "etc", "home", "mnt", "tmp", "work", "etc/group", "etc/passwd"])
    }

    @Test func aWorkdirTheUserCannotEnterFailsInTheChild() async throws {
        try #require(Prerequisites.available, Prerequisites.missing)
        let root = try BusyboxRoot()
        defer { root.remove() }
        try FileManager.default.createDirectory(atPath: "\(root.path)/private", withIntermediateDirectories: false)
        chmod("\(root.path)/private", 0o700)
        let spec = RunSpec(argv: ["/bin/sh", "-c", "true"], workingDirectory: "/private", user: "app", root: root.path)
        do {
            _ = try await Runner.run(spec, output: { _ in })
            Issue.record("expected a setup error")
        } catch let error as Runner.Error {
            #expect(error == .setup(step: "chdir to the working directory /private", errno: EACCES))
            #expect(error.description.contains("chdir to the working directory /private: EACCES"))
        }
    }

    @Test func anUnknownUserNamesTheFile() async throws {
        try #require(Prerequisites.available, Prerequisites.missing)
        let root = try BusyboxRoot()
        defer { root.remove() }
        let spec = RunSpec(argv: ["/bin/sh", "-c", "true"], user: "bob", root: root.path)
        do {
            _ = try await Runner.run(spec, output: { _ in })
            Issue.record("expected an unknown-user error")
        } catch let error as Runner.Error {
            #expect(error.description.contains("USER bob: no such user in /etc/passwd"))
        }
    }

    @Test func aHostileSymlinkedMountPointStaysInsideTheRoot() async throws {
        try #require(Prerequisites.available, Prerequisites.missing)
        let root = try BusyboxRoot()
        defer { root.remove() }
        // /etc/hostname -> /tmp/hijack: resolved inside the root it is <root>/tmp/hijack, which
        // does not exist, so nothing is created or mounted on the host's /tmp.
        try FileManager.default.createSymbolicLink(atPath: "\(root.path)/etc/hostname", withDestinationPath: "/tmp/hijack-\(getpid())")
        let status = try await Runner.run(RunSpec(argv: ["/bin/sh", "-c", "true"], root: root.path), output: { _ in })
        #expect(status == 0)
        #expect(access("/tmp/hijack-\(getpid())", F_OK) != 0)
    }
}
