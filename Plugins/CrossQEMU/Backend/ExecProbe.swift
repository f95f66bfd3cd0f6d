// Whether the kernel runs an architecture's executables here, found by trying: the way to see a
// registration made on the host from inside a container where binfmt_misc is not mounted and
// cannot be (an unprivileged CI job), so its entries cannot be read.
import FoundationEssentials
import Glibc

enum ExecProbe {
    /// True when exec(2) of a file starting with `arch`'s ELF header starts a process (some
    /// binfmt_misc handler took it); false when the kernel answers ENOEXEC or the probe cannot
    /// be run. The file is not a real program: the emulator that takes it exits with an error,
    /// which does not matter; only whether exec succeeded does.
    ///
    /// It cannot tell a registration with the F flag from one without whose interpreter happens
    /// to exist in this root; in a container the host's usual registration (F, interpreter on
    /// the host only) is the one that passes.
    static func kernelExecutes(_ arch: QEMUArchitecture) -> Bool {
        let header = arch.probeHeaders[0]
        for dir in candidateDirectories() {
            var template = Array((dir + "/kiln-qemu-probe.XXXXXX").utf8CString)
            let fd = template.withUnsafeMutableBufferPointer { b in b.baseAddress.map { mkstemp($0) } ?? -1 }
            guard fd >= 0 else { continue }
            let path = String(cString: template)
            defer { unlink(path) }
            let wrote = header.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            fchmod(fd, 0o700)
            close(fd)
            guard wrote == header.count else { continue }
            switch spawn(path) {
            case 0: return true
            case EACCES, EPERM: continue  // a noexec file system: try the next directory
            default: return false
            }
        }
        return false
    }

    /// Writable places that may allow exec, $TMPDIR first.
    private static func candidateDirectories() -> [String] {
        var out: [String] = []
        if let t = ProcessInfo.processInfo.environment["TMPDIR"], !t.isEmpty { out.append(t) }
        return out + ["/tmp", "/var/tmp", "/dev/shm", "/run"]
    }

    /// posix_spawn's result (0, or the errno of the failed exec), reaping the child.
    private static func spawn(_ path: String) -> Int32 {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for target: Int32 in [0, 1, 2] {
            posix_spawn_file_actions_addopen(&actions, target, "/dev/null", target == 0 ? O_RDONLY : O_WRONLY, 0)
        }
        var pid: pid_t = 0
        let argv: [UnsafeMutablePointer<CChar>?] = [strdup(path), nil]
        defer { for p in argv { free(p) } }
        let envp: [UnsafeMutablePointer<CChar>?] = [nil]
        let rc = posix_spawn(&pid, path, &actions, nil, argv, envp)
        if rc == 0 {
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0, errno == EINTR {}
        }
        return rc
    }
}
