#ifndef KILN_RUNNER_CHILD_H
#define KILN_RUNNER_CHILD_H
// Internal to CRunner: helpers shared by the child-side files. Only async-signal-safe calls.
#include "include/kiln_runner.h"

/// The setup-error pipe's descriptor in the child after the descriptor shuffle.
#define KILN_ERROR_FD 3
/// The liveness pipe's read end in the child, closed once the parent-death signal is armed for good.
#define KILN_ALIVE_FD 4

/// Reports "<a><b><c>: errno" on the error pipe and exits with 127.
__attribute__((noreturn)) void kiln_child_fail(const char *a, const char *b, const char *c, int err);

/// Mounts /proc, /dev, /sys and the binds inside spec->root, then makes it the root
/// (pivot_root, or MS_MOVE + chroot when the host root cannot be pivoted away).
void kiln_child_setup_root(const struct kiln_run_spec *spec);

/// In place (`--isolation none`): makes the step's binds and tmpfs mounts at `/`, inside the
/// private mount namespace the step was cloned into.
void kiln_child_mount_in_place(const struct kiln_run_spec *spec);

/// Brings the loopback interface of a fresh network namespace up.
void kiln_child_loopback_up(void);

#endif
