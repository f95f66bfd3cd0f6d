#ifndef KILN_SYS_SHIM_H
#define KILN_SYS_SHIM_H
// Linux system calls and headers the Glibc module does not expose to Swift.
// No _GNU_SOURCE here: it would change shared glibc headers and clash with the Glibc module.
#include <fts.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <sys/sysmacros.h>
#include <linux/openat2.h>
#include <unistd.h>
#include <fcntl.h>
#include <errno.h>
#include <malloc.h>

/// openat2(2), kernel 5.6+. Returns -1 with errno on failure (ENOSYS on older kernels).
static inline int kiln_openat2(int dirfd, const char *path, unsigned long long flags, unsigned long long mode, unsigned long long resolve) {
    struct open_how how = { .flags = flags, .mode = mode, .resolve = resolve };
    return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
}
static inline unsigned long long kiln_resolve_in_root(void) { return RESOLVE_IN_ROOT; }
static inline unsigned long long kiln_resolve_beneath(void) { return RESOLVE_BENEATH; }
static inline unsigned long long kiln_resolve_no_magiclinks(void) { return RESOLVE_NO_MAGICLINKS; }
static inline unsigned long long kiln_resolve_no_symlinks(void) { return RESOLVE_NO_SYMLINKS; }
static inline int kiln_errno(void) { return errno; }
/// glibc 2.32+ declares this only under _GNU_SOURCE; the symbol is always there.
const char *strerrorname_np(int errnum);
/// "ENOENT" for ENOENT; NULL for an unknown number.
static inline const char *kiln_errno_symbol(int err) { return strerrorname_np(err); }
/// copy_file_range(2) through syscall(2): the glibc wrapper needs _GNU_SOURCE.
static inline long kiln_copy_file_range(int in_fd, int out_fd, unsigned long len) {
    return syscall(SYS_copy_file_range, in_fd, (void *)0, out_fd, (void *)0, len, 0u);
}
static inline unsigned int kiln_major(unsigned long long dev) { return major(dev); }
static inline unsigned int kiln_minor(unsigned long long dev) { return minor(dev); }
static inline unsigned long long kiln_makedev(unsigned int ma, unsigned int mi) { return makedev(ma, mi); }
static inline int kiln_pivot_root(const char *new_root, const char *put_old) { return (int)syscall(SYS_pivot_root, new_root, put_old); }
/// mallopt(M_MMAP_THRESHOLD) and mallopt(M_ARENA_MAX); 1 when both were accepted.
static inline int kiln_tune_allocator(int mmap_threshold, int arena_max) {
    return mallopt(M_MMAP_THRESHOLD, mmap_threshold) == 1 && mallopt(M_ARENA_MAX, arena_max) == 1;
}
#endif
