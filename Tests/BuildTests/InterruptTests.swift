// SIGINT/SIGTERM in the middle of a build (during a RUN, a pull, a push): kiln kills the step's
// processes, removes its working directory and its step files, leaves no mount behind, says so
// in one line and exits 130/143. Each test gives kiln a --kaniko-dir and a TMPDIR of its own so
// "nothing left" is exact.
import Foundation
import TestSupport
import Testing

@Suite("Interrupted builds (SIGINT/SIGTERM)", .serialized)
struct InterruptTests {
    @Test("a signal during RUN sleep: the sleep is gone, no mount or directory left, 128 + the signal", arguments: [SIGTERM, SIGINT])
    func duringRun(_ sig: Int32) async throws {
        guard Self.isRoot() else { return }
        try await withRegistry(.plain) { registry in
            try await BaseImageFixture.shared.push(.busybox, to: registry)
            let work = try Scratch()
            defer { work.remove() }
            // A duration no other process on the machine has, to find this sleep in /proc.
            let seconds = Int.random(in: 4000...9000)
            try work.tree.write("context/Dockerfile", "FROM \(registry.host)/busybox:latest\nRUN echo started && sleep \(seconds)\n")
            let kiln = try BackgroundKiln(
                ["-c", work.tree.url("context"), "--oci-layout-path", work.tree.url("out")] + registry.kilnFlags, in: work)
            let sleeping = await BackgroundProcess.waitUntil(timeout: 180) { !Self.sleepers(seconds).isEmpty || !kiln.isRunning }
            try #require(sleeping && kiln.isRunning, "the RUN step never started: \(kiln.stderr)")
            kill(kiln.pid, sig)
            let status = try await kiln.wait(timeout: 60)
            #expect(status == 128 + sig, "\(kiln.stderr)")
            #expect(Self.sleepers(seconds).isEmpty, "the step's sleep outlived kiln")
            Self.killSleepers(seconds)
            Self.expectCleanedUp(kiln, work: work, signal: sig)
        }
    }

    @Test("its log's reader goes away mid-RUN (`kiln ... | head`): SIGPIPE cleans up as an interrupt does, 141")
    func logReaderGone() async throws {
        guard Self.isRoot() else { return }
        try await withRegistry(.plain) { registry in
            try await BaseImageFixture.shared.push(.busybox, to: registry)
            let work = try Scratch()
            defer { work.remove() }
            let seconds = Int.random(in: 4000...9000)
            // The reader quits at the step's first output line ("mark-42": the logged instruction
            // shows the unexpanded text); the next line is written to a pipe nobody reads.
            try work.tree.write(
                "context/Dockerfile",
                "FROM \(registry.host)/busybox:latest\nRUN echo mark-$((40+2)) && sleep 1 && echo more && sleep \(seconds)\n")
            let status = work.tree.url("status")
            let process = Process()
            // A session of its own: a kiln that never ends is killed with the whole pipeline.
            process.executableURL = URL(fileURLWithPath: try ExecutableLookup.require("setsid"))
            process.arguments =
                [
                    "/bin/bash", "-c", #""$@" 2>&1 >/dev/null | sed -n '/mark-42/q'; echo "${PIPESTATUS[0]}" >"$STATUS""#, "kiln",
                    try KilnCommand.binary(), "-c", work.tree.url("context"), "--oci-layout-path", work.tree.url("out"),
                    "--kaniko-dir", work.tree.url("kaniko"),
                ] + registry.kilnFlags
            var environment = ProcessInfo.processInfo.environment
            environment["TMPDIR"] = work.tree.url("tmp")
            environment["STATUS"] = status
            process.environment = environment
            process.standardInput = FileHandle.nullDevice
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            let ended = await BackgroundProcess.waitUntil(timeout: 180) { !process.isRunning }
            if !ended {
                kill(-process.processIdentifier, SIGKILL)
                Issue.record("kiln did not end within 180 s of its log's reader quitting")
            }
            process.waitUntilExit()
            #expect(Self.sleepers(seconds).isEmpty, "the step's sleep outlived kiln")
            Self.killSleepers(seconds)
            let code = (try? String(contentsOfFile: status, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(code == "141", "kiln's exit status (a shell says 141 for a death by SIGPIPE too)")
            let mounts = (try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? ""
            #expect(!mounts.contains(work.tree.path), "mounts left: \(mounts)")
            #expect(work.files(under: "kaniko").isEmpty, "the working directory is left: \(work.files(under: "kaniko").prefix(5))")
            #expect(work.files(under: "tmp").isEmpty, "temporary files are left")
        }
    }

    @Test("SIGTERM while a layer upload waits for the registry: 143, nothing left")
    func duringPush() async throws {
        guard Self.isRoot() else { return }
        try await withRegistry(.plain) { registry in
            try await BaseImageFixture.shared.push(.busybox, to: registry)
            // The registry gets the upload, the proxy holds its answer back: kiln is mid-push.
            let proxy = try await FaultProxyFixture(
                upstream: registry.host, rules: [.stall("PUT", path: "/blobs/uploads/", seconds: 120)])
            defer { proxy.stop() }
            let work = try Scratch()
            defer { work.remove() }
            try work.tree.write("context/Dockerfile", "FROM \(registry.host)/busybox:latest\nCOPY payload /payload\n")
            try Data((0..<(4 << 20)).map { _ in UInt8.random(in: 0...255) }).write(
                to: URL(fileURLWithPath: work.tree.url("context/payload")))
            // Pushing the base made uploads of its own.
            let uploads = { registry.accessLog().filter { $0.method == "PUT" && $0.isBlobUpload }.count }
            let before = await registry.settledAccessLog().filter { $0.method == "PUT" && $0.isBlobUpload }.count
            let kiln = try BackgroundKiln(
                ["-c", work.tree.url("context"), "-d", "\(proxy.host)/team/app:1", "--insecure-registry", proxy.host]
                    + registry.kilnFlags, in: work)
            let uploading = await BackgroundProcess.waitUntil(timeout: 180) { uploads() > before || !kiln.isRunning }
            try #require(uploading && kiln.isRunning, "the push never started: \(kiln.stderr)")
            kill(kiln.pid, SIGTERM)
            let status = try await kiln.wait(timeout: 60)
            #expect(status == 143, "\(kiln.stderr)")
            Self.expectCleanedUp(kiln, work: work, signal: SIGTERM)
            let manifest = try await ProcessRunner.run("skopeo", ["inspect", "--tls-verify=false", "docker://\(registry.host)/team/app:1"])
            #expect(!manifest.succeeded, "the interrupted push still tagged the image")
        }
    }

    @Test("SIGTERM while a base layer downloads: its partial blob is removed, 143")
    func duringPull() async throws {
        guard Self.isRoot() else { return }
        try await withRegistry(.plain) { registry in
            try await BaseImageFixture.shared.push(.busybox, to: registry)
            let proxy = try await FaultProxyFixture(
                upstream: registry.host, rules: [.stall("GET", path: "/blobs/sha256:", seconds: 120, afterBytes: 4096, times: 10)])
            defer { proxy.stop() }
            let work = try Scratch()
            defer { work.remove() }
            try work.tree.write("context/Dockerfile", "FROM \(proxy.host)/busybox:latest\nRUN true\n")
            let kiln = try BackgroundKiln(
                ["-c", work.tree.url("context"), "--oci-layout-path", work.tree.url("out"), "--insecure-registry", proxy.host], in: work)
            // downloads/ is made as the first blob (the config) is fetched; the layer's download
            // stalls after 4 KiB for far longer than the pause here.
            let downloading = await BackgroundProcess.waitUntil(timeout: 120) {
                work.files(under: "kaniko").contains { $0.hasSuffix("/downloads") } || !kiln.isRunning
            }
            try await Task.sleep(nanoseconds: 3_000_000_000)
            try #require(downloading && kiln.isRunning, "no download started: \(kiln.stderr)")
            kill(kiln.pid, SIGTERM)
            let status = try await kiln.wait(timeout: 60)
            #expect(status == 143, "\(kiln.stderr)")
            Self.expectCleanedUp(kiln, work: work, signal: SIGTERM)
        }
    }

    @Test("SIGTERM during an arm64 RUN under QEMU: binfmt_misc left as found, nothing else left, 143")
    func duringEmulatedRun() async throws {
        guard Self.isRoot() else { return }
        let before = EndToEnd.MultiArch.binfmtState()
        try await withRegistry(.plain) { registry in
            let work = try Scratch()
            defer { work.remove() }
            let base = try await EndToEnd.MultiArch.pushMultiArchBase(to: registry, work: work.tree)
            let seconds = Int.random(in: 4000...9000)
            // The exec form: busybox's shell runs applets through /proc/self/exe, which loses their
            // name under QEMU without binfmt's P flag.
            try work.tree.write("context/Dockerfile", "FROM \(base)\nRUN [\"/bin/sleep\", \"\(seconds)\"]\n")
            let kiln = try BackgroundKiln(
                ["-c", work.tree.url("context"), "--custom-platform", "linux/arm64", "--oci-layout-path", work.tree.url("out")]
                    + registry.kilnFlags, in: work)
            // Under QEMU the command line is the emulator's, then the step's.
            let sleeping = "sleep\0\(seconds)\0"
            let running = await BackgroundProcess.waitUntil(timeout: 300) { Self.processes(containing: sleeping) || !kiln.isRunning }
            try #require(running && kiln.isRunning, "the RUN step never started: \(kiln.stderr)")
            try await Task.sleep(nanoseconds: 500_000_000)
            #expect(EndToEnd.MultiArch.binfmtState() != before, "no emulator registered while the step runs")
            kill(kiln.pid, SIGTERM)
            let status = try await kiln.wait(timeout: 60)
            #expect(status == 143, "\(kiln.stderr)")
            #expect(!Self.processes(containing: sleeping), "the step's sleep outlived kiln")
            Self.expectCleanedUp(kiln, work: work, signal: SIGTERM)
        }
        #expect(EndToEnd.MultiArch.binfmtState() == before, "binfmt_misc was not left as found")
    }

    @Test("SIGTERM during an in-place RUN (--isolation none): the step's whole process group dies, 143")
    func duringInPlaceRun() async throws {
        guard Self.isRoot() else { return }
        let tree = try TemporaryTree()
        defer { tree.remove() }
        let root = try makeInPlaceContainer(in: tree, directories: ["workspace/ctx", "workspace/kaniko", "workspace/tmp", "proc", "dev"])
        let seconds = Int.random(in: 4000...9000)
        // One sleep in the background, one in the foreground: both in the step's process group.
        _ = try tree.write(
            "container/workspace/ctx/Dockerfile",
            "FROM scratch\nRUN [\"/busybox/sh\", \"-c\", \"sleep \(seconds) & sleep \(seconds)\"]\n")
        let script = """
            set -e
            R=\(root)
            mount --bind -o ro /usr $R/usr
            mount --bind -o ro /opt/swift $R/opt/swift
            mount --rbind /proc $R/proc
            mount --rbind /dev $R/dev
            exec chroot $R /kiln/kiln --isolation none -c /workspace/ctx --oci-layout-path /workspace/out \\
              --ignore-path /workspace --ignore-path /busybox --kaniko-dir /workspace/kaniko
            """
        let errorPath = tree.url("kiln.stderr")
        try createEmptyFile(errorPath)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try ExecutableLookup.require("unshare"))
        process.arguments = ["--mount", "--propagation", "private", "--fork", "/bin/bash", "-c", script]
        process.environment = ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "TMPDIR": "/workspace/tmp"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errorPath))
        try process.run()
        let stderr = { (try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? "" }
        let running = await BackgroundProcess.waitUntil(timeout: 120) {
            Self.sleepers(seconds).count == 2 || !process.isRunning
        }
        try #require(running && process.isRunning, "the RUN step never started: \(stderr())")
        // unshare --fork's child became kiln (bash and chroot exec'd it).
        let children =
            (try? String(contentsOfFile: "/proc/\(process.processIdentifier)/task/\(process.processIdentifier)/children", encoding: .utf8))
            ?? ""
        let kiln = try #require(children.split(separator: " ").first.flatMap { Int32($0) }, "kiln's pid")
        kill(kiln, SIGTERM)
        let ended = await BackgroundProcess.waitUntil(timeout: 60) { !process.isRunning }
        if !ended { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        #expect(process.terminationReason == .exit && process.terminationStatus == 143, "\(stderr())")
        #expect(Self.sleepers(seconds).isEmpty, "the step's sleeps outlived kiln")
        Self.killSleepers(seconds)
        #expect(stderr().split(separator: "\n").last == "kiln: interrupted (SIGTERM), cleaned up", "\(stderr())")
        let left = (FileManager.default.enumerator(atPath: root + "/workspace/kaniko")?.allObjects as? [String]) ?? []
        #expect(left.isEmpty, "the working directory is left: \(left.prefix(5))")
    }

    // MARK: - Checks

    static func isRoot() -> Bool {
        if getuid() == 0 { return true }
        if ProcessInfo.processInfo.environment["CI"] != nil { Issue.record("needs root (RUN's namespaces)") }
        return false
    }

    /// The one line, the last; no mount under the test's directory, an empty --kaniko-dir and
    /// TMPDIR.
    static func expectCleanedUp(_ kiln: BackgroundKiln, work: Scratch, signal sig: Int32, sourceLocation: SourceLocation = #_sourceLocation)
    {
        let name = sig == SIGINT ? "SIGINT" : "SIGTERM"
        let lines = kiln.stderr.split(separator: "\n")
        #expect(lines.last == "kiln: interrupted (\(name)), cleaned up", "\(kiln.stderr)", sourceLocation: sourceLocation)
        #expect(lines.filter { $0.contains("interrupted") }.count == 1, "\(kiln.stderr)", sourceLocation: sourceLocation)
        let mounts = (try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? ""
        #expect(!mounts.contains(work.tree.path), "mounts left: \(mounts)", sourceLocation: sourceLocation)
        #expect(work.files(under: "kaniko").isEmpty, "the working directory is left: \(kiln.stderr)", sourceLocation: sourceLocation)
        #expect(work.files(under: "tmp").isEmpty, "temporary files are left", sourceLocation: sourceLocation)
    }

    /// Whether a process's command line holds `fragment` (arguments end with NUL).
    static func processes(containing fragment: String) -> Bool {
        let wanted = Array(fragment.utf8)
        let pids = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return pids.contains { pid in
            guard pid.allSatisfy(\.isNumber), let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
            let bytes = Array(data)
            return bytes.count >= wanted.count
                && (0...(bytes.count - wanted.count)).contains { Array(bytes[$0..<($0 + wanted.count)]) == wanted }
        }
    }

    /// Leaves the machine as found when kiln did not (the test has failed already).
    static func killSleepers(_ seconds: Int) {
        for pid in sleepers(seconds).compactMap({ Int32($0) }) { kill(pid, SIGKILL) }
    }

    /// Processes whose command line is `sleep SECONDS`.
    static func sleepers(_ seconds: Int) -> [String] {
        let wanted = Array("sleep\0\(seconds)\0".utf8)
        let pids = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return pids.filter { pid in
            guard pid.allSatisfy(\.isNumber), let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
            return Array(data) == wanted
        }
    }
}

/// The test's directory: the build context, `kaniko` (kiln's --kaniko-dir), `tmp` (its TMPDIR).
struct Scratch {
    let tree: TemporaryTree

    init() throws {
        tree = try TemporaryTree()
        for d in ["context", "kaniko", "tmp"] { try tree.makeDirectory(d) }
    }

    /// Every path below `component` (empty when there is nothing, or no directory).
    func files(under component: String) -> [String] {
        (FileManager.default.enumerator(atPath: tree.url(component))?.allObjects as? [String]) ?? []
    }

    func remove() { tree.remove() }
}

/// kiln started in the background with --kaniko-dir and TMPDIR in the test's directory, its
/// output in files.
final class BackgroundKiln: @unchecked Sendable {
    private let process = Process()
    private let errorPath: String

    init(_ arguments: [String], in work: Scratch) throws {
        errorPath = work.tree.url("kiln.stderr")
        try createEmptyFile(errorPath)
        process.executableURL = URL(fileURLWithPath: try KilnCommand.binary())
        process.arguments = arguments + ["--kaniko-dir", work.tree.url("kaniko")]
        var environment = ProcessInfo.processInfo.environment
        environment["TMPDIR"] = work.tree.url("tmp")
        process.environment = environment
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errorPath))
        try process.run()
    }

    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning }
    var stderr: String { (try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? "" }

    /// Its exit status; a death by signal (the old, handler-less behaviour) is 1000 + the signal.
    func wait(timeout: Double) async throws -> Int32 {
        let ended = await BackgroundProcess.waitUntil(timeout: timeout) { !process.isRunning }
        if !ended {
            kill(pid, SIGKILL)
            process.waitUntilExit()
            Issue.record("kiln did not exit within \(timeout) s of the signal: \(stderr)")
        }
        return process.terminationReason == .exit ? process.terminationStatus : 1000 + process.terminationStatus
    }
}
