/* For test_xdp: moves the packet boundaries as the packet's first 8 bytes ask and reports the
 * helper's result. Byte 0: 1 = bpf_xdp_adjust_head, 2 = bpf_xdp_adjust_tail,
 * 3 = bpf_xdp_adjust_meta, 4 = adjust_meta(-8) then adjust_head (the metadata moves with the
 * data); bytes 4..7: the delta (little-endian s32). Returns XDP_PASS when the (last) helper
 * succeeded, XDP_DROP when it failed; last_rc keeps its return value. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

long last_rc;

SEC("xdp")
int xdp_adjust(struct xdp_md *ctx)
{
    unsigned char *data = (void *)(long)ctx->data;
    unsigned char *data_end = (void *)(long)ctx->data_end;
    if (data + 8 > data_end)
        return XDP_ABORTED;
    unsigned char op = data[0];
    int delta = *(int *)(data + 4);
    long rc = -1;
    if (op == 1)
        rc = bpf_xdp_adjust_head(ctx, delta);
    else if (op == 2)
        rc = bpf_xdp_adjust_tail(ctx, delta);
    else if (op == 3)
        rc = bpf_xdp_adjust_meta(ctx, delta);
    else if (op == 4) {
        rc = bpf_xdp_adjust_meta(ctx, -8);
        if (rc == 0)
            rc = bpf_xdp_adjust_head(ctx, delta);
    }
    last_rc = rc;
    return rc == 0 ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
