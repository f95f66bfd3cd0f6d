// RUN in chroot mode against a real busybox root: output, status, USER, HOME, WORKDIR, ENV,
// namespaces, seccomp, capabilities, /sys, /etc files, background processes, cleanup.
import Foundation
import Glibc
import Runner
import Testing

/// Runs `script` with /bin/sh -c in a fresh busybox root.
func runScript(
    _ script: String, user: String = "", environment: [String] = [], workdir: String = "/",
    network: NetworkMode = .host, prepare: (BusyboxRoot) throws -> Void = { _ in },
    check: (BusyboxRoot) throws -> Void = { _ in }
) async throws -> (status: Int32, lines: [String], outcome: RunOutcome) {
    try #require(Prerequisites.available, Prerequisites.missing)
    let root = try BusyboxRoot()
    defer { root.remove() }
    try prepare(root)
    let lines = Lines()
    let spec = RunSpec(
        argv: ["/bin/sh", "-c", script], environment: environment, workingDirectory: workdir, user: user,
        root: root.path, hostname: "kiln-test", network: network)
    let outcome = try await Runner.execute(spec, output: lines.sink)
    try check(root)
    return (outcome.exitStatus, lines.all, outcome)
}

@Suite(.enabled(if: Prerequisites.enabled))
struct ChrootRunTests {
    @Test func streamsStdoutAndStderrLineByLine() async throws {
        let result = try await runScript("echo hello; echo oops >&2; printf 'no newline'")
        #expect(result.status == 0)
        #expect(result.lines == ["hello", "oops", "no newline"])
    }

    @Test(arguments: [(0, 0), (1, 1), (42, 42)])
    func returnsTheExitCode(code: Int32, expected: Int32) async throws {
        #expect(try await runScript("exit \(code)").status == expected)
    }

    /// The step is PID 1 of its namespace, so only SIGKILL from outside it (or a fault) can end it
    /// by a signal, as in `docker build`.
    @Test func aSignalDeathIs128PlusTheSignal() async throws {
        try #require(Prerequisites.available, Prerequisites.missing)
        let root = try BusyboxRoot()
        defer { root.remove() }
        let spec = RunSpec(argv: ["/bin/sh", "-c", "kill -9 $$; exec sleep 4246"], root: root.path)
        let step = Task { try await Runner.run(spec, output: { _ in }) }
        var pid: pid_t = 0
        for _ in 0..<100 where pid == 0 {
            try await Task.sleep(for: .milliseconds(50))
            pid = hostProcesses(matching: "sleep 4246").first.flatMap { pid_t($0.prefix { $0 != ":" }) } ?? 0
        }
        try #require(pid > 0, "the step never started")
        kill(pid, SIGKILL)
        #expect(try await step.value == 128 + 9)
    }

    @Test(arguments: [
        ("app", "1000 1000 1000 1001 /home/app"),
        ("1000:1000", "1000 1000 1000 /home/app"),
        ("app:extra", "1000 1001 1001 /home/app"),
        ("", "0 0 0 /root"),
        ("4242", "4242 0 0 /"),
    ])
    func runsAsTheResolvedUser(user: String, expected: String) async throws {
        let result = try await runScript("echo $(id -u) $(id -g) $(id -G) $HOME", user: user)
        #expect(result.lines == [expected])
    }

    @Test func environmentWorkdirAndDefaultPath() async throws {
        let result = try await runScript("echo $FOO; pwd; echo $PATH", environment: ["FOO=bar baz"], workdir: "/work")
        #expect(result.lines == ["bar baz", "/work", Runner.defaultPath])
    }

    @Test func execFormResolvesArgv0InTheRootsPath() async throws {
        try #require(Prerequisites.available, Prerequisites.missing)
        let root = try BusyboxRoot()
        defer { root.remove() }
        let lines = Lines()
        let status = try await Runner.run(RunSpec(argv: ["echo", "exec", "form"], root: root.path), output: lines.sink)
        #expect(status == 0)
        #expect(lines.all == ["exec form"])
        await #expect(throws: Runner.Error.commandNotFound("no-such-tool", searchPath: Runner.defaultPath, root: root.path)) {
            try await Runner.run(RunSpec(argv: ["no-such-tool"], root: root.path), output: lines.sink)
        }
    }

    @Test func seesOnlyItsOwnPIDNamespace() async throws {
        // A host process the step must not see.
        let hostSleep = Process()
        hostSleep.executableURL = URL(fileURLWithPath: "/bin/sleep")
        hostSleep.arguments = ["4244"]
        hostSleep.standardOutput = FileHandle.nullDevice
        hostSleep.standardError = FileHandle.nullDevice
        try hostSleep.run()
        // SIGKILL: the test runner's blocked signals are inherited, so SIGTERM may not land.
        defer {
            kill(hostSleep.processIdentifier, SIGKILL)
            hostSleep.waitUntilExit()
        }
        let result = try await runScript("echo $$; ls /proc | grep -E '^[0-9]+$' | wc -l; ps -o comm | grep -cx sleep")
        try #require(result.lines.count == 3)
        #expect(Int(result.lines[0]) ?? 0 == 1)  // the step is PID 1, as in `docker build`
        #expect(Int(result.lines[1]) ?? 99 <= 5)  // sh, ls, grep, wc and maybe a subshell
        #expect(result.lines[2] == "0")
    }

    @Test func hasItsOwnHostname() async throws {
        let result = try await runScript("hostname; cat /etc/hostname; grep -c kiln-test /etc/hosts")
        #expect(result.lines == ["kiln-test", "kiln-test", "1"])
    }

    @Test func seccompAndCapabilitiesAreDockersDefaultsWithoutMknodAndNetRaw() async throws {
        let result = try await runScript("grep -E '^(Seccomp|CapBnd|CapEff):' /proc/self/status | tr -s '\\t ' ' '")
        #expect(result.lines.contains("Seccomp: 2"))
        // Docker's default set (a80425fb) without CAP_MKNOD and CAP_NET_RAW.
        #expect(result.lines.contains("CapBnd: 00000000a00405fb"))
        #expect(result.lines.contains("CapEff: 00000000a00405fb"))
    }

    @Test func mountUnshareAndRebootAreDenied() async throws {
        // reboot(2) in a child PID namespace could only end that namespace, never the host.
        let result = try await runScript(
            """
            mount -t tmpfs x /mnt 2>/dev/null; echo mount=$?
            grep -c ' /mnt ' /proc/mounts
            unshare -U true 2>/dev/null; echo unshare=$?
            reboot -f 2>/dev/null; echo reboot=$?
            """)
        #expect(result.lines.first?.hasPrefix("mount=") == true && result.lines.first != "mount=0")
        #expect(result.lines.dropFirst().first == "0")
        #expect(result.lines.contains { $0.hasPrefix("unshare=") && $0 != "unshare=0" })
        #expect(result.lines.contains { $0.hasPrefix("reboot=") && $0 != "reboot=0" })
    }

    @Test func sysIsReadOnlyAndProcSysToo() async throws {
        let result = try await runScript(
            "grep -E ' /(sys|proc/sys) ' /proc/mounts | cut -d' ' -f2,4 | cut -d, -f1; touch /sys/x 2>/dev/null; echo touch=$?")
        #expect(result.lines.contains("/sys ro"))
        #expect(result.lines.contains("/proc/sys ro"))
        #expect(result.lines.last == "touch=1")
    }

    @Test func devIsMinimalAndUsable() async throws {
        let result = try await runScript("ls /dev | tr '\\n' ' '; echo; echo x > /dev/null && head -c 4 /dev/zero | wc -c")
        #expect(result.lines.first == "core fd full null ptmx pts random shm stderr stdin stdout tty urandom zero ")
        #expect(result.lines.last == "4")
    }

    @Test func etcFilesAreMountedAndRemovedAfterwards() async throws {
        let result = try await runScript("test -f /etc/resolv.conf && echo resolv; (echo x > /etc/hosts) 2>/dev/null; echo write=$?") {
            root in
            let listing = try root.listing()
            #expect(listing == ["bin", "etc", "home", "mnt", "tmp", "work", "etc/group", "etc/passwd"])
        }
        #expect(result.lines == ["resolv", "write=1"])
        #expect(Set(result.outcome.createdForMount) == ["/proc", "/dev", "/sys", "/etc/hosts", "/etc/resolv.conf", "/etc/hostname"])
        #expect(result.outcome.keptAfterRun.isEmpty)
    }

    @Test func backgroundProcessesDoNotOutliveTheStep() async throws {
        let clock = ContinuousClock()
        let start = clock.now
        let result = try await runScript("sleep 4242 & echo started")
        #expect(result.lines == ["started"])
        #expect(clock.now - start < .seconds(20))
        #expect(hostProcesses(matching: "sleep 4242").isEmpty)
    }

    @Test func mountsNeverAppearOnTheHostNorOutliveTheStep() async throws {
        try #require(Prerequisites.available, Prerequisites.missing)
        let root = try BusyboxRoot()
        defer { root.remove() }
        let spec = RunSpec(argv: ["/bin/sh", "-c", "grep -c ' /proc ' /proc/mounts; sleep 1"], root: root.path)
        let lines = Lines()
        let step = Task { try await Runner.run(spec, output: lines.sink) }
        var seenDuringStep: [String] = []
        for _ in 0..<8 {
            try await Task.sleep(for: .milliseconds(100))
            seenDuringStep += try hostMounts(under: root.path)
        }
        #expect(try await step.value == 0)
        #expect(lines.all == ["1"])  // the step had its /proc ...
        #expect(seenDuringStep.isEmpty)  // ... in its own mount namespace only
        #expect(try hostMounts(under: root.path).isEmpty)
    }

    @Test func cancellingTheTaskKillsTheStep() async throws {
        try #require(Prerequisites.available, Prerequisites.missing)
        let root = try BusyboxRoot()
        defer { root.remove() }
        let spec = RunSpec(argv: ["/bin/sh", "-c", "sleep 4245 & sleep 4245; echo unreachable"], root: root.path)
        let lines = Lines()
        let step = Task { try await Runner.run(spec, output: lines.sink) }
        try await Task.sleep(for: .milliseconds(500))
        step.cancel()
        await #expect(throws: CancellationError.self) { try await step.value }
        #expect(lines.all.isEmpty)
        #expect(hostProcesses(matching: "sleep 4245").isEmpty)
    }

    @Test func networkNoneHasOnlyLoopback() async throws {
        let result = try await runScript("ls /sys/class/net", network: .none)
        #expect(result.lines == ["lo"])
    }
}
