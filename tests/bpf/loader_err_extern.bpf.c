/* Load error: a reference to an extern variable nobody defines. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

extern __u32 defined_elsewhere;

SEC("xdp")
int uses_extern(struct xdp_md *ctx)
{
    return defined_elsewhere ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
