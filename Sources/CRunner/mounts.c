// The build root's mounts, made by PID 1 of the step's namespaces. Every target is opened with
// openat2(RESOLVE_IN_ROOT) and mounted through its /proc/self/fd path, so a symlink planted by a
// hostile image (`/proc -> /`, `/etc -> /host/etc`) resolves inside the root, never on the host.
// All of this lives in the child's private mount namespace and vanishes with it.
#define _GNU_SOURCE 1
#include "child.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

struct fd_path {
    char text[32];
};

static struct fd_path fd_path(int fd) {
    struct fd_path p;
    char digits[12];
    int n = 0;
    unsigned int v = (unsigned int)fd;
    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0 && n < 11);
    const char *prefix = "/proc/self/fd/";
    size_t i = 0;
    for (; prefix[i] != '\0'; i++) p.text[i] = prefix[i];
    while (n > 0) p.text[i++] = digits[--n];
    p.text[i] = '\0';
    return p;
}

static const char *root_path;

static int open_in_root(int rootfd, const char *path, int flags) {
    struct open_how how;
    memset(&how, 0, sizeof(how));
    how.flags = (unsigned long long)(flags | O_CLOEXEC);
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
    return (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
}

static int must_open(int rootfd, const char *path, int flags) {
    int fd = open_in_root(rootfd, path, flags);
    if (fd < 0) kiln_child_fail("open mount point ", path, root_path, errno);
    return fd;
}

static void mount_at(int rootfd, const char *target, const char *source, const char *type, unsigned long flags, const char *data) {
    int fd = must_open(rootfd, target, O_PATH | O_DIRECTORY);
    if (mount(source, fd_path(fd).text, type, flags, data) < 0) kiln_child_fail("mount ", target, root_path, errno);
    close(fd);
}

// A bind mount's read-only flag needs a second, remounting call on the new mount itself.
static void remount_readonly(int rootfd, const char *target) {
    int fd = must_open(rootfd, target, O_PATH);
    unsigned long flags = MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV;
    if (mount(NULL, fd_path(fd).text, NULL, flags, NULL) < 0) kiln_child_fail("remount read-only ", target, root_path, errno);
    close(fd);
}

#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif

// struct mount_attr of Linux 5.12, spelled out: older C libraries do not declare it.
struct kiln_mount_attr {
    uint64_t attr_set;
    uint64_t attr_clr;
    uint64_t propagation;
    uint64_t userns_fd;
};

// Device nodes on the mount at `fd` (and, where the kernel can, every mount below it) stop
// opening: an image or a bind source may ship `/tmp/sda` as block 8:0, and only kiln's own /dev
// may hold working devices. A plain remount (before Linux 5.12) would reset the mount's other
// flags, so they are read back and kept.
static void forbid_devices(int fd, const char *target) {
    struct kiln_mount_attr attr = { 0x4 /* MOUNT_ATTR_NODEV */, 0, 0, 0 };
    if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) == 0) return;
    if (errno != ENOSYS) kiln_child_fail("make device nodes unusable under ", target, root_path, errno);
    struct statfs st;
    if (fstatfs(fd, &st) < 0) kiln_child_fail("statfs ", target, root_path, errno);
    static const unsigned long kept[][2] = {
        { ST_RDONLY, MS_RDONLY }, { ST_NOSUID, MS_NOSUID }, { ST_NOEXEC, MS_NOEXEC }, { ST_NOATIME, MS_NOATIME },
        { ST_NODIRATIME, MS_NODIRATIME }, { ST_RELATIME, MS_RELATIME },
    };
    unsigned long flags = MS_BIND | MS_REMOUNT | MS_NODEV;
    for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++) {
        if (((unsigned long)st.f_flags & kept[i][0]) != 0) flags |= kept[i][1];
    }
    if (mount(NULL, fd_path(fd).text, NULL, flags, NULL) < 0) kiln_child_fail("remount nodev ", target, root_path, errno);
}

static void bind_at(int rootfd, const char *target, const char *source) {
    int fd = must_open(rootfd, target, O_PATH);
    if (mount(source, fd_path(fd).text, NULL, MS_BIND | MS_REC, NULL) < 0) kiln_child_fail("bind-mount ", target, root_path, errno);
    close(fd);
}

// A caller's bind (a build context, a cache, a secret): no device in it may open either. A tmpfs
// (`RUN --mount=type=tmpfs`) holds no devices to begin with, and mknod is not permitted.
static void bind_without_devices(int rootfd, const char *target, const char *source, int readonly) {
    bind_at(rootfd, target, source);
    int fd = must_open(rootfd, target, O_PATH);
    forbid_devices(fd, target);
    close(fd);
    if (readonly) remount_readonly(rootfd, target);
}

// A target below another RUN --mount (a cache inside a tmpfs) did not exist when kiln made the
// mount points in the image: it is made now, in the mount above it, as the source's kind.
static void make_missing_target(int rootfd, const struct kiln_bind *b) {
    int probe = open_in_root(rootfd, b->target, O_PATH);
    if (probe >= 0) {
        close(probe);
        return;
    }
    if (errno != ENOENT) return;  // must_open reports it
    static char parent[4096];
    size_t len = strlen(b->target);
    if (len >= sizeof(parent)) return;
    memcpy(parent, b->target, len + 1);
    char *slash = strrchr(parent, '/');
    if (slash == NULL || slash[1] == '\0') return;
    const char *leaf = slash + 1;
    char leaf_copy[256];
    if (strlen(leaf) >= sizeof(leaf_copy)) return;
    memcpy(leaf_copy, leaf, strlen(leaf) + 1);
    if (slash == parent) slash[1] = '\0'; else slash[0] = '\0';
    int dir = must_open(rootfd, parent, O_PATH | O_DIRECTORY);
    struct stat st;
    int is_dir = b->tmpfs_options != NULL || (stat(b->source, &st) == 0 && S_ISDIR(st.st_mode));
    int made = is_dir ? mkdirat(dir, leaf_copy, 0755) : openat(dir, leaf_copy, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (made < 0) kiln_child_fail("create the mount point ", b->target, root_path, errno);
    if (!is_dir) close(made);
    close(dir);
}

static void make_step_mount(int rootfd, const struct kiln_bind *b) {
    make_missing_target(rootfd, b);
    if (b->tmpfs_options != NULL) {
        mount_at(rootfd, b->target, "tmpfs", "tmpfs", MS_NOSUID | MS_NODEV, b->tmpfs_options);
    } else {
        bind_without_devices(rootfd, b->target, b->source, b->readonly);
    }
}

// A minimal /dev on a tmpfs, as Docker makes it: the harmless host devices bound in, the usual
// symlinks, a private devpts and a /dev/shm. It is the only mount where device nodes open.
static void populate_dev(int rootfd) {
    static const char *const devices[] = { "null", "zero", "full", "random", "urandom", "tty" };
    static const char *const links[][2] = {
        { "/proc/self/fd", "fd" }, { "/proc/self/fd/0", "stdin" }, { "/proc/self/fd/1", "stdout" },
        { "/proc/self/fd/2", "stderr" }, { "pts/ptmx", "ptmx" }, { "/proc/kcore", "core" },
    };
    mount_at(rootfd, "/dev", "tmpfs", "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k");
    int dev = must_open(rootfd, "/dev", O_PATH | O_DIRECTORY);
    for (size_t i = 0; i < sizeof(devices) / sizeof(devices[0]); i++) {
        char host[32] = "/dev/";
        strncat(host, devices[i], sizeof(host) - 6);
        if (access(host, F_OK) != 0) continue;  // a minimal host /dev (kiln in a container)
        int fd = openat(dev, devices[i], O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0666);
        if (fd < 0) kiln_child_fail("create /dev/", devices[i], root_path, errno);
        close(fd);
        bind_at(rootfd, host, host);
    }
    for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
        if (symlinkat(links[i][0], dev, links[i][1]) < 0) kiln_child_fail("symlink /dev/", links[i][1], root_path, errno);
    }
    if (mkdirat(dev, "pts", 0755) < 0 || mkdirat(dev, "shm", 01777) < 0) kiln_child_fail("create /dev/pts and /dev/shm", "", root_path, errno);
    close(dev);
    mount_at(rootfd, "/dev/pts", "devpts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620,gid=5");
    mount_at(rootfd, "/dev/shm", "shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=65536k");
}

// Like Docker: host-wide knobs under /proc are read-only, kernel memory and timing leaks masked.
static void restrict_proc(int rootfd) {
    static const char *const readonly[] = { "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger" };
    static const char *const masked[] = {
        "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
        "/proc/sched_debug", "/proc/acpi", "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap",
    };
    for (size_t i = 0; i < sizeof(readonly) / sizeof(readonly[0]); i++) {
        int fd = open_in_root(rootfd, readonly[i], O_PATH);
        if (fd < 0) continue;  // not every kernel has every entry
        struct fd_path p = fd_path(fd);
        if (mount(p.text, p.text, NULL, MS_BIND | MS_REC, NULL) < 0) kiln_child_fail("bind-mount ", readonly[i], root_path, errno);
        close(fd);
        remount_readonly(rootfd, readonly[i]);
    }
    for (size_t i = 0; i < sizeof(masked) / sizeof(masked[0]); i++) {
        int fd = open_in_root(rootfd, masked[i], O_PATH);
        if (fd < 0) continue;
        struct stat st;
        if (fstat(fd, &st) < 0) kiln_child_fail("stat ", masked[i], root_path, errno);
        int failed = S_ISDIR(st.st_mode)
            ? mount("tmpfs", fd_path(fd).text, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=0")
            : mount("/dev/null", fd_path(fd).text, NULL, MS_BIND, NULL);
        if (failed < 0) kiln_child_fail("mask ", masked[i], root_path, errno);
        close(fd);
    }
}

// pivot_root(".", ".") stacks the old root on the new one; detaching it leaves nothing of the
// host reachable, unlike chroot, which a root step with CAP_SYS_CHROOT can walk out of.
static void enter_root(int rootfd) {
    if (fchdir(rootfd) < 0) kiln_child_fail("chdir to the root", "", root_path, errno);
    if (syscall(SYS_pivot_root, ".", ".") == 0) {
        if (umount2(".", MNT_DETACH) < 0) kiln_child_fail("detach the host root", "", root_path, errno);
    } else if (errno == EINVAL) {
        // The host root is an initramfs (rootfs), which cannot be pivoted away.
        if (mount(".", "/", NULL, MS_MOVE, NULL) < 0) kiln_child_fail("move the root onto /", "", root_path, errno);
        if (chroot(".") < 0) kiln_child_fail("chroot", "", root_path, errno);
    } else {
        kiln_child_fail("pivot_root", "", root_path, errno);
    }
    if (chdir("/") < 0) kiln_child_fail("chdir /", "", root_path, errno);
}

void kiln_child_setup_root(const struct kiln_run_spec *spec) {
    static char suffix[4096];
    size_t n = 0;
    const char *in = " in ";
    for (size_t i = 0; in[i] != '\0'; i++) suffix[n++] = in[i];
    for (size_t i = 0; spec->root[i] != '\0' && n + 1 < sizeof(suffix); i++) suffix[n++] = spec->root[i];
    suffix[n] = '\0';
    root_path = suffix;

    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) kiln_child_fail("make the mount namespace private", "", "", errno);
    // pivot_root needs the new root to be a mount point.
    if (mount(spec->root, spec->root, NULL, MS_BIND | MS_REC, NULL) < 0) kiln_child_fail("bind-mount the root onto itself", "", root_path, errno);
    int rootfd = open(spec->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0) kiln_child_fail("open the root", "", root_path, errno);
    // Before /dev is mounted: its tmpfs is a mount of its own and keeps working devices.
    forbid_devices(rootfd, "/");

    mount_at(rootfd, "/proc", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
    populate_dev(rootfd);
    mount_at(rootfd, "/sys", "sysfs", "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
    restrict_proc(rootfd);
    for (size_t i = 0; i < spec->nbinds; i++) make_step_mount(rootfd, &spec->binds[i]);
    enter_root(rootfd);
    close(rootfd);
}

void kiln_child_mount_in_place(const struct kiln_run_spec *spec) {
    root_path = " in /";
    // The namespace is the step's own (CLONE_NEWNS); private, so nothing propagates to the host.
    // EINVAL: `/` is a chroot's directory, not a mount point; whoever made the chroot chose its
    // propagation (a container runtime makes it private).
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 && errno != EINVAL) {
        kiln_child_fail("make the mount namespace private", "", "", errno);
    }
    int rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0) kiln_child_fail("open /", "", "", errno);
    for (size_t i = 0; i < spec->nbinds; i++) make_step_mount(rootfd, &spec->binds[i]);
    close(rootfd);
}

void kiln_child_loopback_up(void) {
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) kiln_child_fail("open a socket to configure lo", "", "", errno);
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    memcpy(ifr.ifr_name, "lo", 3);
    if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) kiln_child_fail("read the flags of lo", "", "", errno);
    ifr.ifr_flags |= IFF_UP;
    if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) kiln_child_fail("bring lo up", "", "", errno);
    close(s);
}
