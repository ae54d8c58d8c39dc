/* Private to src/helpers: helper functions shared between the table (helpers.c) and the
 * files implementing them. */
#ifndef XDPVM_HELPERS_IMPL_H
#define XDPVM_HELPERS_IMPL_H

#include "helpers.h"

#define HELPER_FN(name)                                                                   \
    uint64_t xdpvm_helper_##name(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4,      \
                                 uint64_t r5, struct xdpvm_run *run)

/* trace_printk.c */
HELPER_FN(trace_printk);

/* xdp.c */
HELPER_FN(redirect);
HELPER_FN(redirect_map);
HELPER_FN(xdp_adjust_head);
HELPER_FN(xdp_adjust_meta);
HELPER_FN(xdp_adjust_tail);
HELPER_FN(fib_lookup);
HELPER_FN(xdp_get_buff_len);
HELPER_FN(xdp_load_bytes);
HELPER_FN(xdp_store_bytes);

/* helpers.c */
HELPER_FN(csum_diff);

/* program_mem.c: reading memory a program points at beyond what the prototype covers.
 * read: all size bytes or false. string: the NUL-terminated string at addr, truncated to
 * fit buf with its NUL; "" when unreadable. Returns its length. */
bool helper_read_program(const struct xdpvm_run *run, uint64_t addr, void *buf, size_t size);
size_t helper_read_program_string(const struct xdpvm_run *run, uint64_t addr, char *buf, size_t size);

/* Helper results are negative errnos in a 64-bit register, as in the kernel. */
static inline uint64_t helper_err(int err) { return (uint64_t)(int64_t)err; }

#endif
