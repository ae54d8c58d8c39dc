/* router: an IPv4 forwarding step.
 *  - Non-IPv4 frames and frames too short to hold their headers: XDP_PASS (the stack decides).
 *  - IPv4 with a bad version or header length: XDP_DROP.
 *  - TTL <= 1: XDP_DROP (the kernel stack would send ICMP time exceeded; we count it).
 *  - Next hop: the `next_hops` hash, keyed by destination address (network order), falling back
 *    to the entry at key 0.0.0.0 (default route). No entry: XDP_PASS, packet untouched.
 *  - With a next hop: TTL decremented with an RFC 1624 incremental checksum update, MACs
 *    rewritten from the entry; sent back out with XDP_TX when the entry's ifindex is 0 or the
 *    ingress port, otherwise XDP_REDIRECT through the `tx_ports` devmap.
 *  - `stats` (per-CPU array, indexed by action) counts packets per action.
 */
#include "xdp_common.h"

struct next_hop {
    __u8 dmac[ETH_ALEN];
    __u8 smac[ETH_ALEN];
    __u32 ifindex;
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 1024);
    __type(key, __u32);
    __type(value, struct next_hop);
} next_hops SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_DEVMAP);
    __uint(max_entries, 64);
    __type(key, __u32);
    __type(value, __u32);
} tx_ports SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, XDP_REDIRECT + 1);
    __type(key, __u32);
    __type(value, __u64);
} stats SEC(".maps");

static __always_inline int count(int action)
{
    __u32 key = action;
    __u64 *counter = bpf_map_lookup_elem(&stats, &key);
    if (counter)
        *counter += 1;
    return action;
}

SEC("xdp")
int xdp_router(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    if (!HEADER_FITS(eth, data_end) || eth->h_proto != bpf_htons(ETH_P_IP))
        return count(XDP_PASS);

    struct iphdr *ip = (void *)(eth + 1);
    if (!HEADER_FITS(ip, data_end))
        return count(XDP_PASS);
    if (ip->version != 4 || ip->ihl < 5)
        return count(XDP_DROP);
    if (ip->ttl <= 1)
        return count(XDP_DROP);

    __u32 daddr = ip->daddr;
    struct next_hop *hop = bpf_map_lookup_elem(&next_hops, &daddr);
    if (!hop) {
        __u32 default_route = 0;
        hop = bpf_map_lookup_elem(&next_hops, &default_route);
        if (!hop)
            return count(XDP_PASS);
    }

    /* TTL shares a 16-bit checksum word with the protocol field. */
    __u16 old_word = *(__u16 *)&ip->ttl;
    ip->ttl -= 1;
    __u16 new_word = *(__u16 *)&ip->ttl;
    ip->check = csum_replace16(ip->check, old_word, new_word);

    __builtin_memcpy(eth->h_dest, hop->dmac, ETH_ALEN);
    __builtin_memcpy(eth->h_source, hop->smac, ETH_ALEN);

    if (hop->ifindex == 0 || hop->ifindex == ctx->ingress_ifindex)
        return count(XDP_TX);
    return count(bpf_redirect_map(&tx_ports, hop->ifindex, XDP_DROP));
}

char LICENSE[] SEC("license") = "GPL";
