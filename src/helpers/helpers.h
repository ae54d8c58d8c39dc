/* Kernel helper functions with kernel ids (enum bpf_func_id) and semantics, each with the
 * prototype the verifier checks calls against. XDP helpers work on struct xdpvm_xdp_buff
 * (runtime.h) through run->xdp. */
#ifndef XDPVM_HELPERS_H
#define XDPVM_HELPERS_H

#include "runtime/runtime.h"

/* The helper table for a program type (XDP gets the XDP helpers, every type the generic
 * ones). Tables are static and shared. */
const struct xdpvm_helper_table *xdpvm_helpers_for(enum xdpvm_prog_type type);

/* Name of a kernel helper id (for messages), even one we do not implement; NULL if unknown. */
const char *xdpvm_helper_kernel_name(uint32_t id);

/* User-supplied routing table for bpf_fib_lookup (documented in docs/HELPERS.md). */
struct xdpvm_fib_route {
    int family;             /* AF_INET or AF_INET6 */
    uint8_t prefix[16];     /* network byte order */
    uint8_t prefix_len;
    uint32_t ifindex;       /* egress interface */
    uint8_t smac[6], dmac[6];
};
void xdpvm_helpers_set_fib(const struct xdpvm_fib_route *routes, size_t count);

#endif
