#ifndef KILN_SECCOMP_SHIM_H
#define KILN_SECCOMP_SHIM_H
#include <seccomp.h>
// SCMP_ACT_ERRNO is a function-like macro and seccomp_rule_add is variadic.
static inline uint32_t kiln_scmp_act_errno(uint16_t e) { return SCMP_ACT_ERRNO(e); }
static inline uint32_t kiln_scmp_act_allow(void) { return SCMP_ACT_ALLOW; }
static inline int kiln_seccomp_rule_add0(scmp_filter_ctx ctx, uint32_t action, int syscall) {
    return seccomp_rule_add(ctx, action, syscall, 0);
}
static inline int kiln_seccomp_rule_add1(scmp_filter_ctx ctx, uint32_t action, int syscall, unsigned int arg, enum scmp_compare op, scmp_datum_t datum, scmp_datum_t datum2) {
    struct scmp_arg_cmp cmp = { arg, op, datum, datum2 };
    return seccomp_rule_add_array(ctx, action, syscall, 1, &cmp);
}
// Runner: extra architectures (their macros are cast expressions) and a BPF export to memory.
#include <errno.h>
#include <sys/syscall.h>
#include <unistd.h>
static inline uint32_t kiln_scmp_arch_x86(void) { return SCMP_ARCH_X86; }
static inline uint32_t kiln_scmp_arch_x32(void) { return SCMP_ARCH_X32; }
static inline uint32_t kiln_scmp_arch_arm(void) { return SCMP_ARCH_ARM; }
/// Exports the filter's BPF program into a fresh memfd (offset at the end); -errno on failure.
static inline int kiln_seccomp_export_memfd(scmp_filter_ctx ctx) {
    int fd = (int)syscall(SYS_memfd_create, "kiln-seccomp", 1u /* MFD_CLOEXEC */);
    if (fd < 0) return -errno;
    int rc = seccomp_export_bpf(ctx, fd);
    if (rc < 0) { close(fd); return rc; }
    return fd;
}
#endif
