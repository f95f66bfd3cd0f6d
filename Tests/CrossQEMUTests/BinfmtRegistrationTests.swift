// The QEMU backend against the real kernel: status, registration, RUN-like execution of arm64
// busybox in a chroot, release, existing registrations, and cleanup on SIGTERM and exit().
// Needs root (binfmt_misc), qemu-user-static and the network once (busybox-static:arm64 is
// cached under $KILN_TEST_CACHE). binfmt_misc is left exactly as found: every test compares
// the mount and the entry list before and after, and undoes anything left over.
import Foundation
import PluginAPI
import TestSupport
import Testing

@testable import CrossQEMUBackend

/// binfmt_misc as the machine had it: mounted or not, and the entry names.
struct BinfmtState: Equatable, CustomStringConvertible {
    var mounted: Bool
    var entries: [String]

    static func current() -> BinfmtState {
        let mounted = BinfmtMisc.isMounted()
        let names = mounted ? ((try? FileManager.default.contentsOfDirectory(atPath: BinfmtMisc.mountPoint)) ?? []) : []
        return BinfmtState(mounted: mounted, entries: names.filter { $0 != "register" && $0 != "status" }.sorted())
    }

    var description: String { "mounted=\(mounted) entries=\(entries)" }

    /// Removes kiln's entries and the test's, and unmounts if `original` was not mounted; then
    /// records a failure if the state still differs.
    func restore(removing extra: [String] = [], sourceLocation: SourceLocation = #_sourceLocation) {
        // What a failed test left in the process-wide record, so the next test starts clean.
        BinfmtCleanup.releaseAll()
        BinfmtCleanup.references.withLock { $0 = BinfmtCleanup.References() }
        let now = BinfmtState.current()
        if now.mounted {
            for name in now.entries where !entries.contains(name) && (name.hasPrefix("kiln-") || extra.contains(name)) {
                try? BinfmtMisc.writeCommand("-1", to: BinfmtMisc.mountPoint + "/" + name)
            }
            if !mounted { try? BinfmtMisc.unmount() }
        }
        let after = BinfmtState.current()
        #expect(after == self, "binfmt_misc not left as found: was \(self), now \(after)", sourceLocation: sourceLocation)
    }
}

@Suite(
    "CrossQEMU binfmt_misc registration (root)", .serialized, .enabled(if: getuid() == 0, "needs root to mount binfmt_misc and register"))
struct BinfmtRegistrationTests {
    static let arm64 = Platform(os: "linux", architecture: "arm64")
    let backend = QEMUUserBackend(log: { level, line in if level >= .info { print("[qemu] \(line)") } })

    /// A chroot-able arm64 busybox root from Debian's busybox-static:arm64.
    static func arm64Root() async throws -> TemporaryTree {
        let tree = try TemporaryTree(prefix: "kiln-arm64-root")
        try await ForeignBusybox.populate(tree.path, architecture: "arm64")
        return tree
    }

    @Test func statusBeforePrepare() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: "/usr/bin/qemu-aarch64-static"), "apt-get install qemu-user-static")
        let before = BinfmtState.current()
        defer { before.restore() }

        #expect(await backend.status(for: Self.arm64) == .emulated(interpreter: "/usr/bin/qemu-aarch64-static"))
        #expect(await backend.status(for: Platform(os: "linux", architecture: "amd64")) == .native)
        guard case .unavailable(let unknown) = await backend.status(for: Platform(os: "linux", architecture: "z80")) else {
            Issue.record("linux/z80 should be unavailable")
            return
        }
        #expect(unknown.contains("linux/arm64"), "the reason lists what kiln can emulate: \(unknown)")

        // No emulator where kiln looks: the reason names the package that provides it.
        let empty = try TemporaryTree(prefix: "kiln-no-qemu")
        defer { empty.remove() }
        let bare = QEMUUserBackend(log: { _, _ in }, interpreterDirectories: [empty.path])
        guard case .unavailable(let missing) = await bare.status(for: Self.arm64) else {
            Issue.record("arm64 without qemu-aarch64-static should be unavailable")
            return
        }
        #expect(missing.contains("qemu-aarch64-static is not installed") && missing.hasSuffix(": apt-get install qemu-user-static"))
        await #expect(throws: QEMUError.self) { _ = try await bare.prepare(for: Self.arm64) }
        #expect(BinfmtState.current() == before, "status and a refused prepare change nothing")
    }

    @Test func prepareRunsArm64BusyboxAndReleaseRestores() async throws {
        let root = try await Self.arm64Root()
        defer { root.remove() }
        let before = BinfmtState.current()
        defer { before.restore() }

        // Without emulation the kernel refuses the binary: what RUN would hit.
        let refused = try await ProcessRunner.run("chroot", [root.path, "/bin/busybox", "uname", "-m"])
        #expect(!refused.succeeded)

        let session = try await backend.prepare(for: Self.arm64)
        #expect(session.registeredEntries == ["kiln-qemu-aarch64"])
        #expect(session.mountedBinfmtMisc == !before.mounted)
        let entry = try #require(BinfmtMisc.readEntries().first { $0.name == "kiln-qemu-aarch64" })
        #expect(entry.flags.contains("F") && entry.enabled && entry.interpreter == "/usr/bin/qemu-aarch64-static")
        #expect(ExecProbe.kernelExecutes(.aarch64), "the exec probe sees the registration")

        let r = try await ProcessRunner.run("chroot", [root.path, "/bin/busybox", "uname", "-m"])
        #expect(r.succeeded && r.stdout == "aarch64\n", "\(r)")

        try await backend.release(session)
        #expect(BinfmtState.current() == before)
        #expect(!ExecProbe.kernelExecutes(.aarch64), "nothing runs arm64 binaries any more")
        try await backend.release(session)  // a second release finds nothing to do
        #expect(BinfmtState.current() == before)
    }

    @Test func concurrentSessionsShareOneEntryUntilTheLastRelease() async throws {
        let before = BinfmtState.current()
        defer { before.restore() }
        let a = try await backend.prepare(for: Self.arm64)
        let b = try await backend.prepare(for: Self.arm64)
        #expect(a.registeredEntries == ["kiln-qemu-aarch64"] && b.registeredEntries == ["kiln-qemu-aarch64"])
        try await backend.release(a)
        #expect(BinfmtState.current().entries.contains("kiln-qemu-aarch64"), "b still needs it")
        try await backend.release(b)
        #expect(BinfmtState.current() == before)
    }

    /// Somebody's registration with F (here: the test's, under its own name) is used as it is.
    @Test func existingRegistrationIsUsedAndLeft() async throws {
        let before = BinfmtState.current()
        let mine = "qemu-aarch64-by-test"
        defer { before.restore(removing: [mine]) }
        if !before.mounted { try BinfmtMisc.mount() }
        let line = QEMUArchitecture.aarch64.registrationLine(interpreter: "/usr/bin/qemu-aarch64-static")
            .replacingOccurrences(of: ":kiln-qemu-aarch64:", with: ":\(mine):")
        try BinfmtMisc.writeCommand(line, to: BinfmtMisc.mountPoint + "/register")
        let withMine = BinfmtState.current()

        #expect(await backend.status(for: Self.arm64) == .emulated(interpreter: "/usr/bin/qemu-aarch64-static"))
        let session = try await backend.prepare(for: Self.arm64)
        #expect(session.registeredEntries.isEmpty && !session.mountedBinfmtMisc)
        #expect(BinfmtState.current() == withMine, "prepare registered nothing")
        try await backend.release(session)
        #expect(BinfmtState.current() == withMine, "release left the existing entry and the mount")
    }

    @Test func releaseAllUndoesEverySessionAndLaterReleasesDoNothing() async throws {
        let before = BinfmtState.current()
        defer { before.restore() }
        let arm = try await backend.prepare(for: Self.arm64)
        let riscv = try await backend.prepare(for: Platform(os: "linux", architecture: "riscv64"))
        #expect(Set(BinfmtState.current().entries).isSuperset(of: ["kiln-qemu-aarch64", "kiln-qemu-riscv64"]))
        backend.releaseAll()
        #expect(BinfmtState.current() == before)
        try await backend.release(arm)
        try await backend.release(riscv)
        #expect(BinfmtState.current() == before)
    }

    /// A process that prepared and is then SIGTERM'd (its handler calls releaseAll, as kiln's
    /// must), or that calls exit() without releasing (the plugin's atexit hook), leaves nothing.
    @Test(arguments: ["signal", "exit"])
    func aHostThatEndsAbruptlyLeavesNothing(mode: String) async throws {
        let helper = BuildProducts.directory + "/QEMUCleanupHelper"
        try #require(FileManager.default.isExecutableFile(atPath: helper), "build with `swift build --build-tests` first")
        let before = BinfmtState.current()
        defer { before.restore() }
        let out = try TemporaryTree(prefix: "kiln-qemu-helper")
        defer { out.remove() }
        let process = try BackgroundProcess(
            name: "QEMUCleanupHelper", executable: helper, arguments: [BuildProducts.plugin("CrossQEMU"), "linux/arm64", mode],
            outputPath: out.url("output"))
        defer { process.stop() }

        let deadline = Date().addingTimeInterval(60)
        while !process.output.contains("ready"), process.isRunning, Date() < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(process.output.contains("ready [\"kiln-qemu-aarch64\"]"), "\(process.outputTail())")
        if mode == "signal" {
            #expect(BinfmtState.current().entries.contains("kiln-qemu-aarch64"))
            process.stop(grace: 10)
            #expect(process.output.contains("released on SIGTERM"), "\(process.outputTail())")
        } else {
            while process.isRunning, Date() < deadline { try await Task.sleep(for: .milliseconds(20)) }
        }
        #expect(!process.isRunning)
        #expect(BinfmtState.current() == before, "the helper left \(BinfmtState.current())")
    }

    /// An unprivileged CI job: binfmt_misc not mounted in its container, no CAP_SYS_ADMIN, and
    /// the runner's host registered QEMU with F. The helper runs in a mount namespace of its own
    /// without binfmt_misc and without CAP_SYS_ADMIN; the test plays the host.
    @Test func unprivilegedJobUsesTheHostsRegistrationOrSaysHowToMakeOne() async throws {
        let helper = BuildProducts.directory + "/QEMUCleanupHelper"
        try #require(FileManager.default.isExecutableFile(atPath: helper), "build with `swift build --build-tests` first")
        let before = BinfmtState.current()
        let hosts = "qemu-aarch64-by-host"
        defer { before.restore(removing: [hosts]) }
        if !before.mounted { try BinfmtMisc.mount() }
        let line = QEMUArchitecture.aarch64.registrationLine(interpreter: "/usr/bin/qemu-aarch64-static")
            .replacingOccurrences(of: ":kiln-qemu-aarch64:", with: ":\(hosts):")
        try BinfmtMisc.writeCommand(line, to: BinfmtMisc.mountPoint + "/register")
        let withHosts = BinfmtState.current()

        func runUnprivileged() async throws -> ProcessResult {
            let script =
                "umount \(BinfmtMisc.mountPoint) && exec setpriv --bounding-set=-sys_admin \(helper) \(BuildProducts.plugin("CrossQEMU")) linux/arm64 status"
            let r = try await ProcessRunner.run("unshare", ["--mount", "--propagation", "private", "sh", "-c", script])
            #expect(r.succeeded, "\(r)")
            return r
        }
        let seen = try await runUnprivileged()
        #expect(
            seen.stdout.contains("status: emulated(interpreter: \"a binfmt_misc handler registered outside this container\")"), "\(seen)")
        #expect(seen.stdout.contains("prepared: entries=[] mounted=false"), "\(seen)")
        #expect(BinfmtState.current() == withHosts)

        try BinfmtMisc.writeCommand("-1", to: BinfmtMisc.mountPoint + "/" + hosts)
        let none = try await runUnprivileged()
        #expect(none.stdout.contains("status: unavailable"), "\(none)")
        #expect(none.stdout.contains("tonistiigi/binfmt --install arm64"), "\(none)")
        #expect(none.stdout.contains("prepare failed: cannot run linux/arm64 binaries"), "\(none)")
    }

    /// Not asserted (speed goals live in bench/): the cost of emulation on a shell loop.
    @Test func measureNativeAgainstEmulatedBusybox() async throws {
        let arm = try await Self.arm64Root()
        defer { arm.remove() }
        let native = try TemporaryTree(prefix: "kiln-amd64-root")
        defer { native.remove() }
        try native.makeDirectory("bin")
        try FileManager.default.copyItem(atPath: "/bin/busybox", toPath: native.url("bin/busybox"))
        let before = BinfmtState.current()
        defer { before.restore() }
        let session = try await backend.prepare(for: Self.arm64)

        let loop = "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; echo $i"
        func time(_ root: String) async throws -> Double {
            let start = ContinuousClock.now
            let r = try await ProcessRunner.run("chroot", [root, "/bin/busybox", "sh", "-c", loop])
            #expect(r.stdout == "20000\n", "\(r)")
            let d = ContinuousClock.now - start
            return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
        }
        var n: [Double] = []
        var q: [Double] = []
        for _ in 0..<3 {
            n.append(try await time(native.path))
            q.append(try await time(arm.path))
        }
        try await backend.release(session)
        print(
            "busybox sh loop of 20000: native amd64 \(n.map { String(format: "%.3f", $0) }) s, "
                + "arm64 under QEMU \(q.map { String(format: "%.3f", $0) }) s (best ratio \(String(format: "%.1f", q.min()! / n.min()!))×)")
    }
}
