/* JIT micro-benchmark: the empty program (each executor's per-run cost; native: the loop). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int micro_empty_prog(struct xdp_md *ctx)
{
    return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
