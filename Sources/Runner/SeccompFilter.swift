// The seccomp filter of chroot-mode steps. Docker's default profile (moby/profiles
// seccomp/default.json) is an allow-list whose effect, for a container with Docker's default
// capabilities, is to deny the calls below; a build step needs everything else, so kiln states
// the denials directly: default allow, EPERM for these. Differences, on purpose: kiln also denies
// io_uring (moby's newer profiles do too), clock_adjtime and name_to_handle_at; it does not
// restrict personality(2) to Docker's five values (the flags it refuses, such as ASLR off, only
// weaken the calling process); and a system call newer than this libseccomp is allowed rather
// than refused. Built with libseccomp in the parent and exported as BPF, so the child only has
// to load it.
import CKilnSys
import CSeccomp
import Glibc
import SystemCalls

enum SeccompFilter {
    /// Calls that reach non-namespaced kernel state or widen the attack surface.
    static let denied: [String] = [
        // Mounts and the new mount API: the step must not reshape its filesystem view.
        "mount", "umount", "umount2", "pivot_root", "mount_setattr", "move_mount", "open_tree",
        "fsopen", "fsconfig", "fsmount", "fspick",
        // New namespaces (clone's flags are filtered below).
        "unshare", "setns",
        // Kernel modules, kexec, reboot, swap, accounting.
        "init_module", "finit_module", "delete_module", "create_module", "query_module",
        "get_kernel_syms", "kexec_load", "kexec_file_load", "reboot", "swapon", "swapoff", "acct",
        // Time is not namespaced.
        "settimeofday", "stime", "clock_settime", "clock_adjtime",
        // The kernel keyring is not namespaced.
        "keyctl", "add_key", "request_key",
        // Raw kernel interfaces: BPF, perf, userfaultfd (exploit primitive), io_uring (moby
        // denies it since 2023), port I/O, handles that bypass path checks.
        "bpf", "perf_event_open", "userfaultfd", "io_uring_setup", "io_uring_enter", "io_uring_register",
        "iopl", "ioperm", "open_by_handle_at", "name_to_handle_at", "lookup_dcookie",
        "fanotify_init", "quotactl", "quotactl_fd", "nfsservctl", "syslog", "vhangup",
        // Obsolete calls nobody needs.
        "sysfs", "_sysctl", "ustat", "uselib", "vm86", "vm86old",
        // Docker allows these only with CAP_SYS_PTRACE (kcmp, pidfd_getfd, process_madvise),
        // CAP_SYS_NICE (NUMA policy and page migration) or CAP_SYS_ADMIN (host and domain name).
        "kcmp", "pidfd_getfd", "process_madvise", "get_mempolicy", "mbind", "set_mempolicy",
        "set_mempolicy_home_node", "migrate_pages", "move_pages", "sethostname", "setdomainname",
    ]

    /// Socket families no step may open: AF_VSOCK (40) talks to the hypervisor or the host,
    /// whatever the network namespace (Docker denies it too).
    static let deniedSocketFamilies: [UInt64] = [40]

    /// clone(2) flags that create namespaces (CLONE_NEWTIME shares a bit with the exit signal in
    /// clone's flags word, so only unshare can take it, and unshare is denied outright).
    static let namespaceFlags: [UInt64] = [
        0x0002_0000,  // CLONE_NEWNS
        0x0200_0000,  // CLONE_NEWCGROUP
        0x0400_0000,  // CLONE_NEWUTS
        0x0800_0000,  // CLONE_NEWIPC
        0x1000_0000,  // CLONE_NEWUSER
        0x2000_0000,  // CLONE_NEWPID
        0x4000_0000,  // CLONE_NEWNET
    ]

    /// The compiled filter, built once per process.
    static let program: Result<[UInt8], SystemCallError> = Result { () throws(SystemCallError) in try build() }

    static func build() throws(SystemCallError) -> [UInt8] {
        guard let ctx = seccomp_init(kiln_scmp_act_allow()) else {
            throw SystemCallError(operation: "seccomp_init", errno: ENOMEM)
        }
        defer { seccomp_release(ctx) }
        // 32-bit and x32 system calls on x86_64 (and AArch32 on arm64) have their own numbers;
        // without these the denials could be bypassed by a 32-bit binary.
        #if arch(x86_64)
            for arch in [kiln_scmp_arch_x86(), kiln_scmp_arch_x32()] { try check("add an architecture", seccomp_arch_add(ctx, arch)) }
        #elseif arch(arm64)
            try check("add an architecture", seccomp_arch_add(ctx, kiln_scmp_arch_arm()))
        #endif
        let eperm = kiln_scmp_act_errno(UInt16(EPERM))
        for name in denied {
            let number = seccomp_syscall_resolve_name(name)
            guard number != __NR_SCMP_ERROR else { continue }  // unknown to this libseccomp
            try check("deny \(name)", kiln_seccomp_rule_add0(ctx, eperm, number))
        }
        let socket = seccomp_syscall_resolve_name("socket")
        for family in deniedSocketFamilies {
            try check("deny a socket family", kiln_seccomp_rule_add1(ctx, eperm, socket, 0, SCMP_CMP_EQ, family, 0))
        }
        let clone = seccomp_syscall_resolve_name("clone")
        for flag in namespaceFlags {
            try check("deny clone with namespace flags", kiln_seccomp_rule_add1(ctx, eperm, clone, 0, SCMP_CMP_MASKED_EQ, flag, flag))
        }
        // clone3 passes its flags in memory, out of the filter's reach: answer ENOSYS so libc
        // falls back to clone, whose flags are checked (Docker does the same).
        try check("deny clone3", kiln_seccomp_rule_add0(ctx, kiln_scmp_act_errno(UInt16(ENOSYS)), seccomp_syscall_resolve_name("clone3")))

        let fd = kiln_seccomp_export_memfd(ctx)
        try check("export the seccomp filter", fd)
        defer { close(fd) }
        let size = try sys("size the seccomp filter") { lseek(fd, 0, SEEK_END) }
        var bytes = [UInt8](repeating: 0, count: Int(size))
        let got = try sys("read the seccomp filter") { bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) } }
        guard got == bytes.count else { throw SystemCallError(operation: "read the seccomp filter (short read)", errno: EIO) }
        return bytes
    }

    /// libseccomp returns -errno.
    private static func check(_ operation: String, _ rc: Int32) throws(SystemCallError) {
        if rc < 0 && rc != -EEXIST { throw SystemCallError(operation: operation, errno: -rc) }
    }
}
