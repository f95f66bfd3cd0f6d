#ifndef KILN_ARCHIVE_SHIM_H
#define KILN_ARCHIVE_SHIM_H
#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>
// AE_IF* are cast-expression macros Swift cannot import.
static const unsigned int KILN_AE_IFREG = AE_IFREG;
static const unsigned int KILN_AE_IFDIR = AE_IFDIR;
static const unsigned int KILN_AE_IFLNK = AE_IFLNK;
static const unsigned int KILN_AE_IFCHR = AE_IFCHR;
static const unsigned int KILN_AE_IFBLK = AE_IFBLK;
static const unsigned int KILN_AE_IFIFO = AE_IFIFO;
static const unsigned int KILN_AE_IFSOCK = AE_IFSOCK;

// Linux calls the Archive module needs. Declared here rather than taken from CKilnSys: that
// shim defines _GNU_SOURCE, which changes libc structs (fd_set) and makes clang reject any
// Swift module importing it together with Glibc or Dispatch.
#include <errno.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>
/// openat2(2), kernel 5.6+. Returns -1 with errno on failure (ENOSYS on older kernels).
static inline int kiln_ar_openat2(int dirfd, const char *path, unsigned long long flags, unsigned long long mode, unsigned long long resolve) {
    struct open_how how = { .flags = flags, .mode = mode, .resolve = resolve };
    return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
}
static inline unsigned long long kiln_ar_resolve_in_root(void) { return RESOLVE_IN_ROOT; }
static inline unsigned long long kiln_ar_resolve_no_magiclinks(void) { return RESOLVE_NO_MAGICLINKS; }
static inline int kiln_ar_errno(void) { return errno; }
static inline unsigned int kiln_ar_major(unsigned long long dev) { return major(dev); }
static inline unsigned int kiln_ar_minor(unsigned long long dev) { return minor(dev); }
static inline unsigned long long kiln_ar_makedev(unsigned int ma, unsigned int mi) { return makedev(ma, mi); }

// zlib for the chunked, multi-threaded gzip writer (one gzip member, pigz's technique).
// deflateInit2 is a macro; the wrapper passes the version and struct size it expands to.
#include <zlib.h>
static inline int kiln_ar_deflate_init_raw(z_streamp strm, int level) {
    return deflateInit2(strm, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
}
#endif
