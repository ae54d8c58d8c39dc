/* live_abort: returns XDP_ABORTED for every frame (the live tests check it is counted,
 * dropped and reported). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_abort(struct xdp_md *ctx)
{
    return XDP_ABORTED;
}

char LICENSE[] SEC("license") = "GPL";
