/* macswap: a reflector. Swaps the Ethernet source and destination addresses and sends the
 * frame back out of the port it came in on (XDP_TX). Frames shorter than an Ethernet header
 * are dropped. */
#include "xdp_common.h"

SEC("xdp")
int xdp_macswap(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    if (!HEADER_FITS(eth, data_end))
        return XDP_DROP;
    __u8 tmp[ETH_ALEN];
    __builtin_memcpy(tmp, eth->h_dest, ETH_ALEN);
    __builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
    __builtin_memcpy(eth->h_source, tmp, ETH_ALEN);
    return XDP_TX;
}

char LICENSE[] SEC("license") = "GPL";
