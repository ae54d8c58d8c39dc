/* Helpers driven by parameters from user space, for random differential runs against the
 * kernel (tests/test_helper_fuzz.c): packet adjustments with arbitrary offsets, csum_diff
 * on arbitrary sizes, data and seeds, trace_printk with arbitrary formats, redirects with
 * arbitrary keys and flags. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "results.h"

struct params {
    __s32 offsets[6];
    __u32 from_size, to_size, seed;
    __u8 from[64], to[64];
    __u64 args[3];
    char fmt[64];
    __u32 fmt_size;
};

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __type(key, __u32);
    __type(value, struct params);
    __uint(max_entries, 1);
} params SEC(".maps");

RESULTS_MAP(16)

struct {
    __uint(type, BPF_MAP_TYPE_DEVMAP);
    __type(key, __u32);
    __type(value, __u32);
    __uint(max_entries, 4);
} ports SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
    __type(key, __u32);
    __type(value, __u32);
    __uint(max_entries, 4);
} ports_hash SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_XSKMAP);
    __type(key, __u32);
    __type(value, __u32);
    __uint(max_entries, 4);
} xsks SEC(".maps");

static __always_inline struct params *get_params(void)
{
    __u32 zero = 0;
    return bpf_map_lookup_elem(&params, &zero);
}

/* offsets[i] applied with head, meta, tail, head, meta, tail; then the resulting layout. */
SEC("xdp")
int adjust_fuzz(struct xdp_md *ctx)
{
    struct params *p = get_params();
    if (!p)
        return XDP_ABORTED;
    put(0, bpf_xdp_adjust_head(ctx, p->offsets[0]));
    put(1, bpf_xdp_adjust_meta(ctx, p->offsets[1]));
    put(2, bpf_xdp_adjust_tail(ctx, p->offsets[2]));
    put(3, bpf_xdp_adjust_head(ctx, p->offsets[3]));
    put(4, bpf_xdp_adjust_meta(ctx, p->offsets[4]));
    put(5, bpf_xdp_adjust_tail(ctx, p->offsets[5]));
    put(6, (__s64)ctx->data_end - (__s64)ctx->data);
    put(7, (__s64)ctx->data - (__s64)ctx->data_meta);
    return XDP_PASS;
}

SEC("xdp")
int csum_fuzz(struct xdp_md *ctx)
{
    struct params *p = get_params();
    if (!p)
        return XDP_ABORTED;
    __u32 from_size = p->from_size & 63, to_size = p->to_size & 63;
    put(8, bpf_csum_diff((__be32 *)p->from, from_size, (__be32 *)p->to, to_size, p->seed));
    return XDP_PASS;
}

SEC("xdp")
int printk_fuzz(struct xdp_md *ctx)
{
    struct params *p = get_params();
    if (!p)
        return XDP_ABORTED;
    __u32 size = p->fmt_size;
    if (size < 1 || size > sizeof(p->fmt))
        return XDP_ABORTED;
    put(9, bpf_trace_printk(p->fmt, size, p->args[0], p->args[1], p->args[2]));
    return XDP_PASS;
}

/* redirect_map with a key from offsets[0] and flags from args[0]; redirect with ifindex
 * offsets[1] and flags args[1]. */
SEC("xdp")
int redirect_fuzz(struct xdp_md *ctx)
{
    struct params *p = get_params();
    if (!p)
        return XDP_ABORTED;
    __u32 key = (__u32)p->offsets[0];
    put(10, bpf_redirect_map(&ports, key, p->args[0]));
    put(11, bpf_redirect_map(&ports_hash, key, p->args[0]));
    put(12, bpf_redirect_map(&xsks, key, p->args[0]));
    put(13, bpf_redirect((__u32)p->offsets[1], p->args[1]));
    return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
