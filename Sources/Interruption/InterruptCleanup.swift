// What SIGINT/SIGTERM must undo before kiln exits, and the thread that undoes it.
//
// The modules that make something outliving kiln register it here while it exists: the Runner
// the RUN processes it spawns, the builder its working directory, the host the cross-build
// backend's binfmt_misc registrations. The signal handler itself only writes the signal's number
// to a pipe (write(2) is async-signal-safe); a thread of ours reads it and does the work as
// ordinary code: kill the registered process groups and wait until they are reaped, run the
// registered release actions, detach the mounts under the registered directories and remove
// them, print one line and exit with 128 + the signal, as a shell reports it.
// SIGPIPE (kiln's log went to a pipe whose reader is gone, as in `kiln ... | head`) ends the
// build the same way: without a handler it killed kiln on the spot, with RUN processes, mounts
// and the working directory left behind.
import FoundationEssentials
import Glibc
import PluginSupport
import Synchronization

/// The process-wide record of what an interrupted build leaves behind, and its SIGINT/SIGTERM
/// handling. Everything here is thread-safe; nothing is done in signal context but a write(2).
public enum InterruptCleanup {
    /// A registration, handed back to `forget` when the thing it names is gone.
    public struct Token: Hashable, Sendable {
        fileprivate let id: UInt64
    }

    fileprivate struct Process {
        var pid: pid_t
        var group: Bool
    }

    fileprivate struct State: ~Copyable {
        var next: UInt64 = 1
        var processes: [UInt64: Process] = [:]
        var directories: [UInt64: String] = [:]
        var actions: [UInt64: @Sendable () -> Void] = [:]
        /// The signal being handled, 0 before any.
        var signal: Int32 = 0
        var installed = false

        mutating func token() -> Token {
            defer { next += 1 }
            return Token(id: next)
        }
    }

    fileprivate static let state = Mutex(State())

    /// How long the cleanup waits for killed RUN processes to be reaped (their mount namespaces
    /// end with them) before it removes the directories anyway.
    static let reapTimeout: Double = 10

    /// Kills `pid` with SIGKILL on an interrupt: its whole process group when `group` (a RUN in
    /// place), else the process alone (PID 1 of a RUN's namespaces: the kernel kills the rest).
    /// Call `forget` before reaping it, so that a recycled pid is never signalled. A process
    /// registered after the interrupt is killed at once.
    public static func killOnInterrupt(process pid: pid_t, group: Bool) -> Token {
        state.withLock { s in
            let token = s.token()
            s.processes[token.id] = Process(pid: pid, group: group)
            if s.signal != 0 { _ = kill(group ? -pid : pid, SIGKILL) }
            return token
        }
    }

    /// Removes `directory` and everything under it on an interrupt, after the processes are gone
    /// and the mounts under it are detached. The tree walk stays on the directory's file system.
    public static func removeOnInterrupt(_ directory: String) -> Token {
        state.withLock { s in
            let token = s.token()
            s.directories[token.id] = directory
            return token
        }
    }

    /// Runs `action` on an interrupt, on the cleanup thread, after the processes are gone (the
    /// cross-build backend's `releaseAll`).
    public static func runOnInterrupt(_ action: @escaping @Sendable () -> Void) -> Token {
        state.withLock { s in
            let token = s.token()
            s.actions[token.id] = action
            return token
        }
    }

    /// Drops a registration: the process was reaped, the directory removed, the action done.
    /// After an interrupt only processes are dropped: a build failing because its RUN was
    /// killed must not take its working directory out of the cleanup's hands.
    public static func forget(_ token: Token) {
        state.withLock { s in
            s.processes[token.id] = nil
            guard s.signal == 0 else { return }
            s.directories[token.id] = nil
            s.actions[token.id] = nil
        }
    }

    /// The signal being handled (SIGINT or SIGTERM), nil when no interrupt arrived.
    public static var interruptedBy: Int32? {
        state.withLock { $0.signal == 0 ? nil : $0.signal }
    }

    /// Unblocks SIGINT and SIGTERM on the calling thread (kiln's main thread, which waits for the
    /// build and so takes the signals; the cooperative pool's threads block them). A parent may
    /// start kiln with them blocked: a process inherits its spawning thread's mask, and a Swift
    /// or Go program spawns from threads that block signals.
    public static func acceptSignalsOnThisThread() {
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGINT)
        sigaddset(&signals, SIGTERM)
        pthread_sigmask(SIG_UNBLOCK, &signals, nil)
    }

    /// Installs the SIGINT and SIGTERM handlers and the cleanup thread; idempotent. From then on
    /// an interrupt ends the process with status 128 + the signal, after the cleanup; `exit()`
    /// called by another thread meanwhile waits for it (an atexit hook).
    public static func install() {
        let first = state.withLock { s in
            defer { s.installed = true }
            return !s.installed
        }
        guard first else { return }
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { return }
        let (reading, writing) = (fds[0], fds[1])
        _ = fcntl(reading, F_SETFD, FD_CLOEXEC)
        _ = fcntl(writing, F_SETFD, FD_CLOEXEC)
        // The handler never blocks; the cleanup thread waits on the reading end.
        _ = fcntl(writing, F_SETFL, O_NONBLOCK)
        signalPipe = writing
        startThread(named: "kiln-interrupt") { watch(reading) }
        atexit {
            // A build that fails because its RUN was killed must not exit before the cleanup:
            // the cleanup thread ends the process.
            if InterruptCleanup.interruptedBy != nil { while true { pause() } }
        }
        for sig in [SIGINT, SIGTERM, SIGPIPE] {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { received in
                var byte = UInt8(truncatingIfNeeded: received)
                // Non-blocking: a full pipe means the thread has this signal already.
                _ = write(signalPipe, &byte, 1)
            }
            action.sa_flags = SA_RESTART
            sigemptyset(&action.sa_mask)
            sigaction(sig, &action, nil)
        }
    }

    /// The cleanup thread: the first signal starts the cleanup, a second one exits at once.
    private static func watch(_ fd: Int32) {
        var byte: UInt8 = 0
        while read(fd, &byte, 1) != 1 {}
        let first = Int32(byte)
        startThread(named: "kiln-cleanup") { cleanUp(after: first) }
        // More writes to the closed pipe are no second interrupt.
        while read(fd, &byte, 1) != 1 || Int32(byte) == SIGPIPE {}
        say("kiln: interrupted again (\(name(of: Int32(byte)))), exiting without finishing the cleanup\n")
        _exit(128 + first)
    }

    /// Where the final line goes: the original standard error, kept before it is silenced.
    nonisolated(unsafe) private static var reportFD: Int32 = 2

    private static func cleanUp(after sig: Int32) -> Never {
        let processes = state.withLock { s in
            s.signal = sig
            // Under the lock: `forget` (called before reaping) cannot run in between, so no
            // recycled pid is hit.
            for p in s.processes.values { _ = kill(p.group ? -p.pid : p.pid, SIGKILL) }
            return s.processes.count
        }
        silenceOutput()
        if processes > 0 { waitForReaping() }
        let actions = state.withLock { Array($0.actions.values) }
        for action in actions { action() }
        var failures: [String] = []
        // Directories registered while this runs (a step that was starting) are taken too.
        var removed: Set<String> = []
        for _ in 0..<3 {
            let pending = state.withLock { Set($0.directories.values) }.subtracting(removed)
            if pending.isEmpty { break }
            for directory in pending.sorted(by: { $0.count > $1.count }) {
                if let failure = DirectoryRemoval.remove(directory) { failures.append(failure) }
                removed.insert(directory)
            }
        }
        let outcome = failures.isEmpty ? "cleaned up" : "cleanup incomplete: " + failures.joined(separator: "; ")
        say("kiln: interrupted (\(name(of: sig))), \(outcome)\n")
        _exit(128 + sig)
    }

    /// The build's other threads keep running until the process ends: a killed RUN fails its
    /// step and the error would be reported. Standard output and error go to /dev/null from here
    /// on, so the interrupt's line is the last one and the only one about it.
    private static func silenceOutput() {
        let saved = fcntl(2, F_DUPFD_CLOEXEC, 3)
        let null = open("/dev/null", O_WRONLY | O_CLOEXEC)
        guard saved >= 0, null >= 0 else { return }
        reportFD = saved
        _ = dup2(null, 1)
        _ = dup2(null, 2)
        close(null)
    }

    private static func waitForReaping() {
        let deadline = Date().addingTimeInterval(reapTimeout)
        while Date() < deadline {
            if state.withLock({ $0.processes.isEmpty }) { return }
            usleep(10_000)
        }
    }

    private static func say(_ text: String) {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let n = bytes.withUnsafeBytes { write(reportFD, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return }
            bytes = bytes.dropFirst(n)
        }
    }

    static func name(of sig: Int32) -> String {
        switch sig {
        case SIGINT: return "SIGINT"
        case SIGTERM: return "SIGTERM"
        case SIGPIPE: return "SIGPIPE"
        default: return "signal \(sig)"
        }
    }
}

/// The write end of the signal pipe, read by the handler: set once before the handlers exist.
nonisolated(unsafe) private var signalPipe: Int32 = -1
