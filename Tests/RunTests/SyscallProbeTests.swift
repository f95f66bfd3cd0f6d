// What the kernel answers a chroot-mode step for the calls kiln's seccomp filter and capability
// set decide: a small static C probe (built here with the system's C compiler) makes each call
// inside a busybox root and prints its errno. This is the table of the capability set and filter
// against Docker's default, checked rather than asserted.
import Foundation
import Glibc
import Runner
import TestSupport
import Testing

@Suite(.enabled(if: Prerequisites.enabled))
struct SyscallProbeTests {
    static let compiler: String? = ["/usr/bin/cc", "/usr/bin/gcc", "/usr/bin/clang"].first { (path: String) in access(path, X_OK) == 0 }

    /// Each line: `name errno-name` after one call with harmless arguments.
    static let probe = #"""
        #define _GNU_SOURCE
        #include <errno.h>
        #include <fcntl.h>
        #include <linux/kcmp.h>
        #include <sched.h>
        #include <stdio.h>
        #include <string.h>
        #include <sys/mount.h>
        #include <sys/personality.h>
        #include <sys/socket.h>
        #include <sys/stat.h>
        #include <sys/sysmacros.h>
        #include <sys/syscall.h>
        #include <unistd.h>
        static void report(const char *name, long rc) {
            printf("%s %s\n", name, rc < 0 ? strerrorname_np(errno) : "ok");
        }
        int main(void) {
            report("mknod-char", mknod("/tmp/probe-node", S_IFCHR | 0600, makedev(1, 3)));
            report("mknod-fifo", mknod("/tmp/probe-fifo", S_IFIFO | 0600, 0));
            report("socket-packet", socket(AF_PACKET, SOCK_RAW, 0));
            report("socket-vsock", socket(40, SOCK_STREAM, 0));
            report("socket-inet", socket(AF_INET, SOCK_STREAM, 0));
            report("mount", mount("none", "/mnt", "tmpfs", 0, NULL));
            report("unshare-user", unshare(CLONE_NEWUSER));
            report("clone3", syscall(SYS_clone3, NULL, 0));
            report("keyctl", syscall(SYS_keyctl, 0, 0, 0, 0, 0));
            report("bpf", syscall(SYS_bpf, 0, NULL, 0));
            report("userfaultfd", syscall(SYS_userfaultfd, 0));
            report("io_uring_setup", syscall(SYS_io_uring_setup, 1, NULL));
            report("kcmp", syscall(SYS_kcmp, getpid(), getpid(), KCMP_VM, 0, 0));
            report("get_mempolicy", syscall(SYS_get_mempolicy, NULL, NULL, 0, NULL, 0));
            report("sethostname", sethostname("x", 1));
            report("chroot", chroot("/"));
            report("personality-query", personality(0xffffffff));
            report("setuid", setuid(0));
            return 0;
        }
        """#

    @Test(.enabled(if: SyscallProbeTests.compiler != nil, "needs a C compiler with a static libc (build-essential)"))
    func theKernelAnswersAsTheTableSays() async throws {
        try #require(Prerequisites.available, Prerequisites.missing)
        let compiler = try #require(Self.compiler)
        let root = try BusyboxRoot()
        defer { root.remove() }
        try Self.probe.write(toFile: root.path + "/probe.c", atomically: false, encoding: .utf8)
        let cc = try await ProcessRunner.run(compiler, ["-static", "-O1", "-o", root.path + "/probe", root.path + "/probe.c"])
        try #require(cc.succeeded, "\(cc)")
        let lines = Lines()
        let status = try await Runner.run(RunSpec(argv: ["/probe"], root: root.path), output: lines.sink)
        #expect(status == 0)
        let answers = Dictionary(
            uniqueKeysWithValues: lines.all.map { line in
                let parts = line.split(separator: " ", maxSplits: 1).map(String.init)
                return (parts[0], parts.count > 1 ? parts[1] : "")
            })
        #expect(
            answers == [
                "mknod-char": "EPERM",  // no CAP_MKNOD (Docker: allowed, its device cgroup refuses the open)
                "mknod-fifo": "ok",
                "socket-packet": "EPERM",  // no CAP_NET_RAW (Docker: allowed)
                "socket-vsock": "EPERM",  // seccomp, as Docker
                "socket-inet": "ok",
                "mount": "EPERM",
                "unshare-user": "EPERM",
                "clone3": "ENOSYS",  // so that libc falls back to clone, whose flags are filtered
                "keyctl": "EPERM",
                "bpf": "EPERM",
                "userfaultfd": "EPERM",
                "io_uring_setup": "EPERM",
                "kcmp": "EPERM",
                "get_mempolicy": "EPERM",
                "sethostname": "EPERM",
                "chroot": "ok",  // CAP_SYS_CHROOT, as Docker
                "personality-query": "ok",
                "setuid": "ok",
            ], "\(lines.all)")
    }
}
