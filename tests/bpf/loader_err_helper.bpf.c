/* Load error: a helper xdpvm does not provide (bpf_probe_read_kernel, id 113). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int reads_kernel(struct xdp_md *ctx)
{
    __u64 value = 0;
    bpf_probe_read_kernel(&value, sizeof(value), (void *)(long)ctx->data);
    return value ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
