/* A program the kernel verifier rejects: it reads the packet without checking data_end. The
 * loader accepts it (it is a well-formed object); the verifiers must not. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int unchecked_read(struct xdp_md *ctx)
{
    unsigned char *data = (void *)(long)ctx->data;
    return data[20] == 0x45 ? XDP_DROP : XDP_PASS;
}

SEC("xdp")
int checked_read(struct xdp_md *ctx)
{
    unsigned char *data = (void *)(long)ctx->data;
    if ((void *)(data + 21) > (void *)(long)ctx->data_end)
        return XDP_ABORTED;
    return data[20] == 0x45 ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
