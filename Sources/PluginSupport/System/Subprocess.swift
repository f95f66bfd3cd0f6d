// Runs a program (a docker credential helper, git): posix_spawnp, input on stdin, both
// outputs collected.
import Glibc

public struct SubprocessResult: Sendable {
    public var exitStatus: Int32
    public var standardOutput: [UInt8]
    public var standardError: [UInt8]
}

public enum Subprocess {
    public enum Error: Swift.Error, CustomStringConvertible {
        case spawnFailed(String, errno: Int32)
        case pipeFailed(errno: Int32)
        public var description: String {
            switch self {
            case .spawnFailed(let name, let e):
                return "cannot run \(name): \(String(cString: strerror(e))) (is it installed and on PATH?)"
            case .pipeFailed(let e): return "cannot create a pipe: \(String(cString: strerror(e)))"
            }
        }
    }

    /// Runs `executable` (searched on PATH unless it holds a `/`) with `arguments` and
    /// `environment` (this process's when nil), writes `input` to its stdin and waits for it,
    /// killing it after `timeoutSeconds` (never when nil). Blocking: call it off the
    /// cooperative pool (`BlockingThreads`).
    public static func run(
        _ executable: String, arguments: [String], environment: [String: String]? = nil, input: [UInt8] = [],
        timeoutSeconds: Int64? = 60
    ) throws(Error) -> SubprocessResult {
        var inPipe: [Int32] = [-1, -1]
        var outPipe: [Int32] = [-1, -1]
        var errPipe: [Int32] = [-1, -1]
        for i in 0..<3 {
            var fds: [Int32] = [-1, -1]
            guard pipe(&fds) == 0 else { throw .pipeFailed(errno: errno) }
            // Close-on-exec so that helpers started by concurrent lookups do not inherit them;
            // dup2 clears the flag on the child's 0, 1, 2.
            for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
            if i == 0 { inPipe = fds } else if i == 1 { outPipe = fds } else { errPipe = fds }
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, inPipe[0], 0)
        posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        var pid: pid_t = 0
        let envp: [UnsafeMutablePointer<CChar>?]? = environment.map { $0.map { strdup("\($0.key)=\($0.value)") } + [nil] }
        defer { for p in envp ?? [] { free(p) } }
        let rc =
            envp.map { posix_spawnp(&pid, executable, &actions, nil, argv, $0) }
            ?? posix_spawnp(&pid, executable, &actions, nil, argv, environ)
        close(inPipe[0])
        close(outPipe[1])
        close(errPipe[1])
        guard rc == 0 else {
            close(inPipe[1])
            close(outPipe[0])
            close(errPipe[0])
            throw .spawnFailed(executable, errno: rc)
        }
        // The input is a server URL, far below the pipe buffer: write it whole, then close.
        // A helper that exits without reading would raise SIGPIPE and kill the whole process,
        // so the signal is blocked on this thread for the write and a pending one discarded.
        var pipeSignal = sigset_t()
        var previous = sigset_t()
        sigemptyset(&pipeSignal)
        sigaddset(&pipeSignal, SIGPIPE)
        pthread_sigmask(SIG_BLOCK, &pipeSignal, &previous)
        let written = input.isEmpty ? 0 : input.withUnsafeBytes { write(inPipe[1], $0.baseAddress, $0.count) }
        if written < 0 && errno == EPIPE {
            var none = timespec(tv_sec: 0, tv_nsec: 0)
            _ = sigtimedwait(&pipeSignal, nil, &none)
        }
        pthread_sigmask(SIG_SETMASK, &previous, nil)
        close(inPipe[1])
        var out: [UInt8] = []
        var err: [UInt8] = []
        var fds = [pollfd(fd: outPipe[0], events: Int16(POLLIN), revents: 0), pollfd(fd: errPipe[0], events: Int16(POLLIN), revents: 0)]
        var open = 2
        var buffer = [UInt8](repeating: 0, count: 16384)
        // A helper waiting for a keychain prompt nobody will answer must not hang the build.
        let deadline = timeoutSeconds.map { ContinuousClock.now + .seconds($0) }
        var timedOut = false
        while open > 0 {
            let left = deadline.map { $0 - ContinuousClock.now }
            let ready = poll(&fds, 2, left.map { Int32(max(0, min(Double(Int32.max), $0 / .milliseconds(1)))) } ?? -1)
            if ready == 0 {
                timedOut = true
                kill(pid, SIGKILL)
                break
            }
            if ready < 0 {
                if errno == EINTR { continue }
                break
            }
            for i in 0..<2 where fds[i].fd >= 0 && fds[i].revents != 0 {
                let n = buffer.withUnsafeMutableBytes { read(fds[i].fd, $0.baseAddress, $0.count) }
                if n > 0 {
                    if i == 0 { out += buffer[0..<n] } else { err += buffer[0..<n] }
                } else if n == 0 || errno != EINTR {
                    close(fds[i].fd)
                    fds[i].fd = -1
                    open -= 1
                }
            }
        }
        for f in fds where f.fd >= 0 { close(f.fd) }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let exited = (status & 0x7f) == 0
        if timedOut { err += Array("\n(killed after \(timeoutSeconds ?? 0) s without an answer)".utf8) }
        return SubprocessResult(exitStatus: exited ? (status >> 8) & 0xff : 128 + (status & 0x7f), standardOutput: out, standardError: err)
    }
}
