/* For the xdpvm run CLI test: prints each frame's length with bpf_printk and returns an
 * action chosen by the frame: shorter than 14 bytes -> 7 (not an XDP action), a first byte of
 * 0xff (broadcast) -> XDP_DROP, IPv6 -> XDP_TX, anything else -> XDP_PASS. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_cli_trace(struct xdp_md *ctx)
{
    unsigned char *data = (void *)(long)ctx->data;
    unsigned char *data_end = (void *)(long)ctx->data_end;
    long len = data_end - data;
    bpf_printk("frame of %ld bytes", len);
    if (data + 14 > data_end)
        return 7;
    if (data[0] == 0xff)
        return XDP_DROP;
    if (data[12] == 0x86 && data[13] == 0xdd)
        return XDP_TX;
    return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
