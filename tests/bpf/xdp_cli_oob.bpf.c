/* For the xdpvm run CLI test: an unsafe program (no verifier would accept it). Broadcast
 * frames (first byte 0xff) make it read 8 bytes far past the end of the packet frame, which
 * the checked interpreter stops as a run error; every other frame passes. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_cli_oob(struct xdp_md *ctx)
{
    unsigned char *data = (void *)(long)ctx->data;
    unsigned char *data_end = (void *)(long)ctx->data_end;
    if (data + 1 > data_end)
        return XDP_PASS;
    if (data[0] == 0xff) {
        volatile unsigned long *far = (void *)(data + 5000);
        return *far ? XDP_TX : XDP_DROP;
    }
    return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
