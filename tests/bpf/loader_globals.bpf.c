/* Global data: a .rodata knob set before load changes behaviour; .data and .bss counters and a
 * custom .data.* section are updated per packet. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

const volatile __u32 drop_longer_than = 0; /* 0: drop nothing */
const volatile __u32 length_bias = 0;

__u64 packets_seen = 100; /* .data: starts at 100 */
__u64 bytes_seen;         /* .bss */
__u32 last_length SEC(".data.extra") = 7;

SEC("xdp")
int globals(struct xdp_md *ctx)
{
    __u32 len = ctx->data_end - ctx->data + length_bias;
    packets_seen++;
    bytes_seen += len;
    last_length = len;
    if (drop_longer_than && len > drop_longer_than)
        return XDP_DROP;
    return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
