// The process side of a step: build the C plan, clone on a dedicated thread (the child's
// parent-death signal follows the thread that cloned it, so that thread must outlive the child),
// stream output until the child exits, reap it, kill what it left, read the setup-error pipe.
import CRunner
import FoundationEssentials
import Glibc
import Interruption
import PluginSupport
import Synchronization

/// Everything the child needs, already resolved.
struct ChildPlan: Sendable {
    struct Bind: Sendable {
        var source: String
        var target: String
        var readOnly: Bool
        /// Non-nil: a tmpfs with these mount options instead of a bind of `source`.
        var tmpfsOptions: String? = nil
    }

    var isolated: Bool
    var newNetwork: Bool
    var root: String
    var path: String
    var argv: [String]
    var environment: [String]
    var workdir: String
    var hostname: String
    var uid: UInt32
    var gid: UInt32
    var groups: [UInt32]
    var binds: [Bind]
    var bpf: [UInt8]?
}

/// Lets task cancellation and an interrupt (SIGINT/SIGTERM) kill a running child: its pid is
/// kept until it is reaped.
final class ChildHandle: Sendable {
    private let state = Mutex<(pid: pid_t, group: Bool, cancelled: Bool)>((0, false, false))
    private let interrupt = Mutex<InterruptCleanup.Token?>(nil)

    var cancelled: Bool { state.withLock { $0.cancelled } }

    func started(_ pid: pid_t, group: Bool) {
        state.withLock { s in
            s.pid = pid
            s.group = group
            if s.cancelled { _ = kill(group ? -pid : pid, SIGKILL) }
        }
        interrupt.withLock { $0 = InterruptCleanup.killOnInterrupt(process: pid, group: group) }
    }

    /// Called before the child is reaped, so a recycled pid is never signalled.
    func exiting() {
        state.withLock { $0.pid = 0 }
        interrupt.withLock { token in
            if let token { InterruptCleanup.forget(token) }
            token = nil
        }
    }

    func cancel() {
        state.withLock { s in
            s.cancelled = true
            // Killing PID 1 of the step's namespace kills the whole namespace.
            if s.pid > 0 { _ = kill(s.group ? -s.pid : s.pid, SIGKILL) }
        }
    }
}

extension Runner {
    static func spawnAndWait(_ plan: ChildPlan, output: @escaping @Sendable (String) -> Void) async throws -> Int32 {
        let handle = ChildHandle()
        let result: Result<Int32, Error> = await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                startThread(named: "kiln-run") {
                    continuation.resume(returning: spawnAndWaitBlocking(plan, handle: handle, output: output))
                }
            }
        } onCancel: {
            handle.cancel()
        }
        if handle.cancelled { throw CancellationError() }
        return try result.get()
    }

    private static func spawnAndWaitBlocking(_ plan: ChildPlan, handle: ChildHandle, output: (String) -> Void) -> Result<Int32, Error> {
        var spawned = kiln_spawned()
        let rc = withChildSpec(plan) { spec in kiln_spawn(spec, &spawned) }
        if rc != 0 { return .failure(.spawn(errno: rc)) }
        handle.started(spawned.pid, group: !plan.isolated)
        defer {
            close(spawned.pidfd)
            close(spawned.output_fd)
            close(spawned.error_fd)
            close(spawned.alive_fd)
        }
        var lines = OutputLines()
        var buffer = [UInt8](repeating: 0, count: 65536)
        enum ReadResult { case data, again, end }
        func drain() -> ReadResult {
            let count = buffer.withUnsafeMutableBytes { read(spawned.output_fd, $0.baseAddress, $0.count) }
            if count > 0 {
                buffer.withUnsafeBytes { lines.feed(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }.forEach(output)
                return .data
            }
            if count < 0 && errno == EINTR { return .data }
            return count < 0 && errno == EAGAIN ? .again : .end
        }
        var fds = [
            pollfd(fd: spawned.output_fd, events: Int16(POLLIN), revents: 0), pollfd(fd: spawned.pidfd, events: Int16(POLLIN), revents: 0),
        ]
        while true {
            if poll(&fds, 2, -1) < 0 {
                if errno == EINTR { continue }
                break
            }
            if fds[0].revents != 0 && drain() == .end { fds[0].fd = -1 }
            if fds[1].revents != 0 { break }
        }
        handle.exiting()
        var status: Int32 = 0
        while waitpid(spawned.pid, &status, 0) < 0 && errno == EINTR {}
        // A chroot-mode step's namespace died with its PID 1; in `none` mode the group must go.
        if !plan.isolated { _ = kill(-spawned.pid, SIGKILL) }
        // What is left in the pipe; a daemon that escaped the group must not keep us waiting.
        _ = fcntl(spawned.output_fd, F_SETFL, O_NONBLOCK)
        while fds[0].fd >= 0 && drain() == .data {}
        if let last = lines.finish() { output(last) }
        if let failure = readSetupError(spawned.error_fd) { return .failure(failure) }
        let exited = status & 0x7f == 0
        return .success(exited ? (status >> 8) & 0xff : 128 + (status & 0x7f))
    }

    private static func readSetupError(_ fd: Int32) -> Error? {
        _ = fcntl(fd, F_SETFL, O_NONBLOCK)
        var record = kiln_setup_error()
        let size = MemoryLayout<kiln_setup_error>.size
        let count = withUnsafeMutableBytes(of: &record) { read(fd, $0.baseAddress, size) }
        guard count == size else { return nil }
        let step = withUnsafeBytes(of: record.step) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        return .setup(step: step, errno: record.err)
    }

    /// Lends `body` a kiln_run_spec whose C strings live for the duration of the call.
    private static func withChildSpec(_ plan: ChildPlan, _ body: (UnsafePointer<kiln_run_spec>) -> Int32) -> Int32 {
        var owned: [UnsafeMutablePointer<CChar>?] = []
        defer { for p in owned { free(p) } }
        func c(_ s: String) -> UnsafeMutablePointer<CChar>? {
            let p = strdup(s)
            owned.append(p)
            return p
        }
        let argv = plan.argv.map(c) + [nil]
        let envp = plan.environment.map(c) + [nil]
        let binds = plan.binds.map {
            kiln_bind(
                source: c($0.source), target: c($0.target), readonly: $0.readOnly ? 1 : 0,
                tmpfs_options: $0.tmpfsOptions.map { UnsafePointer(c($0)) } ?? nil)
        }
        var spec = kiln_run_spec()
        spec.isolated = plan.isolated ? 1 : 0
        spec.new_network = plan.newNetwork ? 1 : 0
        spec.root = UnsafePointer(c(plan.root))
        spec.path = UnsafePointer(c(plan.path))
        spec.workdir = UnsafePointer(c(plan.workdir))
        spec.hostname = UnsafePointer(c(plan.hostname))
        spec.uid = plan.uid
        spec.gid = plan.gid
        let bpf = plan.bpf ?? []
        return argv.withUnsafeBufferPointer { argvBuffer in
            envp.withUnsafeBufferPointer { envpBuffer in
                plan.groups.withUnsafeBufferPointer { groupsBuffer in
                    binds.withUnsafeBufferPointer { bindsBuffer in
                        bpf.withUnsafeBytes { bpfBytes in
                            spec.argv = argvBuffer.baseAddress
                            spec.envp = envpBuffer.baseAddress
                            spec.groups = groupsBuffer.baseAddress
                            spec.ngroups = groupsBuffer.count
                            spec.binds = bindsBuffer.baseAddress
                            spec.nbinds = bindsBuffer.count
                            spec.bpf = plan.bpf == nil ? nil : bpfBytes.baseAddress
                            spec.bpf_len = bpfBytes.count
                            return body(&spec)
                        }
                    }
                }
            }
        }
    }
}
