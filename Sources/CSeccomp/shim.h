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
#endif
