#ifndef KILN_RUNNER_H
#define KILN_RUNNER_H
// The child side of a RUN step. Forking a multi-threaded Swift process and running Swift in the
// child is unsafe, so everything between clone() and execve() lives here and uses raw system
// calls only (no malloc, no stdio, no glibc setxid broadcast).
#include <stddef.h>
#include <stdint.h>

/// A bind mount (or, with `tmpfs_options`, a fresh tmpfs) made inside the build root before the
/// step starts.
struct kiln_bind {
    /// Host path of the source (file or directory); unused for a tmpfs.
    const char *source;
    /// Path of the target inside the root, resolved in the root (it must already exist).
    const char *target;
    /// Remount the bind read-only.
    int readonly;
    /// Non-NULL: mount a tmpfs with these options (`size=…`) instead of binding `source`.
    const char *tmpfs_options;
};

/// Everything the child needs; all pointers stay valid until kiln_spawn returns.
struct kiln_run_spec {
    /// 1: fresh mount/PID/IPC/UTS namespaces, /proc, /dev, /sys, pivot_root, seccomp.
    /// 0: kaniko's model, run in place in a new process group.
    int isolated;
    /// A new network namespace with only `lo` up (either mode).
    int new_network;
    /// Host path of the build root (isolated only).
    const char *root;
    /// Executable to execve, as seen inside the root.
    const char *path;
    char *const *argv;
    char *const *envp;
    /// Working directory inside the root.
    const char *workdir;
    const char *hostname;
    uint32_t uid;
    uint32_t gid;
    const uint32_t *groups;
    size_t ngroups;
    /// Isolated: mounted inside the root. In place: mounted at `/` in a mount namespace of the
    /// step's own (`RUN --mount`), so they vanish with it.
    const struct kiln_bind *binds;
    size_t nbinds;
    /// A seccomp BPF program (struct sock_filter[]), or NULL for none.
    const void *bpf;
    size_t bpf_len;
};

/// What the parent gets back from kiln_spawn.
struct kiln_spawned {
    int32_t pid;
    /// A pidfd that becomes readable when the child exits.
    int pidfd;
    /// Read end of the setup-error pipe: EOF with no bytes means execve succeeded.
    int error_fd;
    /// Read end of the pipe carrying the step's stdout and stderr, interleaved.
    int output_fd;
    /// Write end of the liveness pipe: close it only after the child has been reaped.
    int alive_fd;
};

/// A setup failure as written by the child to the error pipe.
struct kiln_setup_error {
    int err;
    char step[1020];
};

/// Starts the step. Returns 0, or an errno value when the clone itself failed.
int kiln_spawn(const struct kiln_run_spec *spec, struct kiln_spawned *out);

/// O_PATH (Linux, every architecture kiln targets): Swift's Glibc module is built without
/// _GNU_SOURCE and does not export it.
static const int KILN_O_PATH = 010000000;

/// 1 when this process may give RUN its own mount, PID, IPC and UTS namespaces (a forked child
/// tries unshare(2) and a private remount of /), 0 when the kernel or a container refuses.
int kiln_can_isolate(void);

#endif
