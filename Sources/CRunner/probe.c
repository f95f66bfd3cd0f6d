// Whether RUN can be isolated here: a forked child tries what the runner's child will do first.
// Only system calls run between fork and _exit, so the multi-threaded parent is safe to fork.
#define _GNU_SOURCE
#include "kiln_runner.h"

#include <sched.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <errno.h>
#include <unistd.h>

int kiln_can_isolate(void) {
    pid_t pid = fork();
    if (pid < 0) return 0;
    if (pid == 0) {
        if (unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS) != 0) _exit(1);
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) _exit(2);
        _exit(0);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) return 0;
    }
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}
