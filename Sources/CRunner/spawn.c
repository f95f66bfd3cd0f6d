// Parent and child sides of kiln_spawn. The child is created with a raw clone(2): glibc's
// fork() would run atfork handlers and take locks another Swift thread may hold. From the
// clone on, the child only makes raw system calls; glibc's set*id wrappers are avoided because
// they broadcast to the parent's threads, which do not exist in the child.
#define _GNU_SOURCE 1
#include "child.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif

static size_t append(char *buf, size_t used, size_t cap, const char *s) {
    if (s == NULL) return used;
    while (*s != '\0' && used + 1 < cap) buf[used++] = *s++;
    buf[used] = '\0';
    return used;
}

void kiln_child_fail(const char *a, const char *b, const char *c, int err) {
    struct kiln_setup_error record;
    memset(&record, 0, sizeof(record));
    record.err = err;
    size_t used = append(record.step, 0, sizeof(record.step), a);
    used = append(record.step, used, sizeof(record.step), b);
    append(record.step, used, sizeof(record.step), c);
    (void)!write(KILN_ERROR_FD, &record, sizeof(record));
    _exit(127);
}

// Signal dispositions set to "ignore" survive execve (Swift ignores SIGPIPE), and the
// calling thread's mask is inherited: give the step a clean slate.
static void reset_signals(void) {
    struct sigaction dfl;
    memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < _NSIG; sig++) {
        if (sig != SIGKILL && sig != SIGSTOP) (void)sigaction(sig, &dfl, NULL);
    }
    sigset_t none;
    sigemptyset(&none);
    (void)sigprocmask(SIG_SETMASK, &none, NULL);
}

// stdin is /dev/null, stdout and stderr the output pipe, fd 3 the error pipe (close-on-exec),
// fd 4 the liveness pipe until the step's user is set, and nothing else of kiln's.
static void arrange_fds(int output_fd, int error_fd, int alive_fd) {
    int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    int out = fcntl(output_fd, F_DUPFD_CLOEXEC, 10);
    int err = fcntl(error_fd, F_DUPFD_CLOEXEC, 10);
    int alive = fcntl(alive_fd, F_DUPFD_CLOEXEC, 10);
    if (null_fd < 0 || out < 0 || err < 0 || alive < 0) _exit(126);
    if (dup2(err, KILN_ERROR_FD) < 0 || dup2(alive, KILN_ALIVE_FD) < 0) _exit(126);
    if (fcntl(KILN_ERROR_FD, F_SETFD, FD_CLOEXEC) < 0) kiln_child_fail("mark the error pipe close-on-exec", "", "", errno);
    if (dup2(null_fd, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0) kiln_child_fail("redirect stdio", "", "", errno);
    if (syscall(SYS_close_range, KILN_ALIVE_FD + 1, ~0U, 0) < 0) kiln_child_fail("close inherited descriptors", "", "", errno);
}

// Docker's default capability set without CAP_MKNOD and CAP_NET_RAW, as buildah and podman have
// it. Docker can keep CAP_MKNOD because its device cgroup refuses to open what a container
// creates; kiln has no device cgroup, so a node made in a step would open the host's disk or
// /dev/kvm. CAP_NET_RAW with the host's network (kiln's default) would let a step sniff and spoof
// the host's traffic. buildah also drops CAP_AUDIT_WRITE; kiln keeps it, because without it sudo
// in a step fails with "unable to send audit message". Everything else leaves the bounding set so
// a root step cannot regain it (CAP_SYS_ADMIN, CAP_NET_ADMIN, CAP_SYS_MODULE, CAP_SYS_TIME, ...).
static int kept_capability(int cap) {
    switch (cap) {
    case CAP_CHOWN: case CAP_DAC_OVERRIDE: case CAP_FOWNER: case CAP_FSETID: case CAP_KILL:
    case CAP_SETGID: case CAP_SETUID: case CAP_SETPCAP: case CAP_NET_BIND_SERVICE:
    case CAP_SYS_CHROOT: case CAP_AUDIT_WRITE: case CAP_SETFCAP:
        return 1;
    default:
        return 0;
    }
}

static void drop_capabilities(void) {
    for (int cap = 0; cap < 64; cap++) {
        if (kept_capability(cap)) continue;
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL) kiln_child_fail("drop a capability from the bounding set", "", "", errno);
    }
    struct __user_cap_header_struct header = { _LINUX_CAPABILITY_VERSION_3, 0 };
    struct __user_cap_data_struct data[2];
    memset(data, 0, sizeof(data));
    if (syscall(SYS_capget, &header, data) < 0) kiln_child_fail("read capabilities", "", "", errno);
    for (int i = 0; i < 2; i++) {
        unsigned int keep = 0;
        for (int bit = 0; bit < 32; bit++) {
            if (kept_capability(i * 32 + bit)) keep |= 1u << bit;
        }
        data[i].effective &= keep;
        data[i].permitted &= keep;
        data[i].inheritable &= keep;
    }
    if (syscall(SYS_capset, &header, data) < 0) kiln_child_fail("reduce capabilities", "", "", errno);
}

// The parent-death signal only fires for a death after it is armed, and a change of the
// effective uid or gid clears it. The parent holds the liveness pipe's only write end: a hang-up
// on the read end means kiln died before the signal was armed.
static void tie_to_parent(void) {
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0) kiln_child_fail("set the parent-death signal", "", "", errno);
    struct pollfd alive = { KILN_ALIVE_FD, POLLIN, 0 };
    if (poll(&alive, 1, 0) > 0 && (alive.revents & POLLHUP) != 0) _exit(126);
}

__attribute__((noreturn)) static void become_user_and_exec(const struct kiln_run_spec *spec) {
    if (syscall(SYS_setgroups, spec->ngroups, spec->groups) < 0) kiln_child_fail("setgroups", "", "", errno);
    if (syscall(SYS_setresgid, spec->gid, spec->gid, spec->gid) < 0) kiln_child_fail("setgid", "", "", errno);
    if (syscall(SYS_setresuid, spec->uid, spec->uid, spec->uid) < 0) kiln_child_fail("setuid", "", "", errno);
    tie_to_parent();  // again: the user change may have cleared it
    close(KILN_ALIVE_FD);
    if (chdir(spec->workdir) < 0) kiln_child_fail("chdir to the working directory ", spec->workdir, "", errno);
    // ETXTBSY: another thread of kiln may have been cloning while this file was open for
    // writing (extraction, a test's copy); that child closes the inherited descriptor within
    // microseconds, so a short retry is the fix (Go's os/exec hit the same race, golang#22315).
    for (int attempt = 0; attempt < 50; attempt++) {
        execve(spec->path, spec->argv, spec->envp);
        if (errno != ETXTBSY) break;
        struct timespec pause = { 0, 20 * 1000 * 1000 };
        nanosleep(&pause, NULL);
    }
    kiln_child_fail("execve ", spec->path, "", errno);
}

// The child is PID 1 of the step's namespaces: it sets the root up and then becomes the step, as
// in `docker build`. No process of kiln's stays in the namespace, so nothing there shows kiln's
// argv or environment (/proc/1/cmdline would, and flags can carry secrets). Its exit makes the
// kernel kill whatever the step left running.
__attribute__((noreturn)) static void isolated_main(const struct kiln_run_spec *spec) {
    if (spec->new_network) kiln_child_loopback_up();
    if (spec->hostname != NULL && sethostname(spec->hostname, strlen(spec->hostname)) < 0) kiln_child_fail("sethostname ", spec->hostname, "", errno);
    kiln_child_setup_root(spec);
    if (setsid() < 0) kiln_child_fail("setsid", "", "", errno);
    if (spec->bpf != NULL) {
        struct sock_fprog prog = {
            .len = (unsigned short)(spec->bpf_len / sizeof(struct sock_filter)),
            .filter = (struct sock_filter *)spec->bpf,
        };
        if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) < 0) kiln_child_fail("load the seccomp filter", "", "", errno);
    }
    drop_capabilities();
    become_user_and_exec(spec);
}

__attribute__((noreturn)) static void child_main(const struct kiln_run_spec *spec, int output_fd, int error_fd, int alive_fd) {
    reset_signals();
    arrange_fds(output_fd, error_fd, alive_fd);
    tie_to_parent();
    if (spec->isolated) isolated_main(spec);
    if (spec->new_network) kiln_child_loopback_up();
    if (spec->nbinds > 0) kiln_child_mount_in_place(spec);
    if (setpgid(0, 0) < 0) kiln_child_fail("setpgid", "", "", errno);
    become_user_and_exec(spec);
}

int kiln_spawn(const struct kiln_run_spec *spec, struct kiln_spawned *out) {
    int output[2], error[2], alive[2];
    if (pipe2(output, O_CLOEXEC) < 0) return errno;
    if (pipe2(error, O_CLOEXEC) < 0) {
        int e = errno;
        close(output[0]);
        close(output[1]);
        return e;
    }
    if (pipe2(alive, O_CLOEXEC) < 0) {
        int e = errno;
        close(output[0]);
        close(output[1]);
        close(error[0]);
        close(error[1]);
        return e;
    }
    unsigned long flags = SIGCHLD | CLONE_PIDFD;
    if (spec->isolated) flags |= CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS;
    // In place, RUN --mount gets a mount namespace of its own: its mounts vanish with the step.
    if (!spec->isolated && spec->nbinds > 0) flags |= CLONE_NEWNS;
    if (spec->new_network) flags |= CLONE_NEWNET;
    int pidfd = -1;
    // Raw clone: (flags, stack, parent_tid, ...). With CLONE_PIDFD the pidfd lands in
    // parent_tid, the third argument on every architecture kiln targets.
    long pid = syscall(SYS_clone, flags, 0, &pidfd, 0, 0);
    if (pid == 0) child_main(spec, output[1], error[1], alive[0]);
    int saved = errno;
    close(output[1]);
    close(error[1]);
    close(alive[0]);
    if (pid < 0) {
        close(output[0]);
        close(error[0]);
        close(alive[1]);
        return saved;
    }
    out->alive_fd = alive[1];
    out->pid = (pid_t)pid;
    out->pidfd = pidfd;
    out->error_fd = error[0];
    out->output_fd = output[0];
    return 0;
}

