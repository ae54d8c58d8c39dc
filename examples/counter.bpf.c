/* counter: per-protocol packet and byte statistics. Every frame passes (XDP_PASS); the
 * per-CPU array `proto_stats` (indexed by enum proto_class) gets one packet and the frame's
 * length in bytes, and frames carrying one or more VLAN tags are also counted in
 * PROTO_VLAN_TAGGED. Frames whose headers are cut short count as PROTO_MALFORMED. */
#include "xdp_common.h"

enum proto_class {
    PROTO_ARP,
    PROTO_IPV4_TCP,
    PROTO_IPV4_UDP,
    PROTO_IPV4_ICMP,
    PROTO_IPV4_OTHER,
    PROTO_IPV6_TCP,
    PROTO_IPV6_UDP,
    PROTO_IPV6_ICMP,
    PROTO_IPV6_OTHER,
    PROTO_OTHER,
    PROTO_MALFORMED,
    PROTO_VLAN_TAGGED,
    PROTO_CLASS_COUNT,
};

struct counters {
    __u64 packets;
    __u64 bytes;
};

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, PROTO_CLASS_COUNT);
    __type(key, __u32);
    __type(value, struct counters);
} proto_stats SEC(".maps");

static __always_inline void count(__u32 class, __u64 bytes)
{
    struct counters *c = bpf_map_lookup_elem(&proto_stats, &class);
    if (c) {
        c->packets += 1;
        c->bytes += bytes;
    }
}

static __always_inline __u32 classify_l4(__u8 protocol, __u32 tcp, __u32 udp, __u32 icmp, __u32 other)
{
    if (protocol == IPPROTO_TCP)
        return tcp;
    if (protocol == IPPROTO_UDP)
        return udp;
    if (protocol == IPPROTO_ICMP || protocol == IPPROTO_ICMPV6)
        return icmp;
    return other;
}

SEC("xdp")
int xdp_counter(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    __u64 bytes = data_end - data;
    struct ethhdr *eth = data;
    void *l3;
    __be16 proto = parse_eth(data, data_end, &l3);
    if (!proto) {
        count(PROTO_MALFORMED, bytes);
        return XDP_PASS;
    }
    if (eth->h_proto == bpf_htons(ETH_P_8021Q) || eth->h_proto == bpf_htons(ETH_P_8021AD))
        count(PROTO_VLAN_TAGGED, bytes);

    __u32 class = PROTO_OTHER;
    if (proto == bpf_htons(ETH_P_ARP)) {
        class = PROTO_ARP;
    } else if (proto == bpf_htons(ETH_P_IP)) {
        struct iphdr *ip = l3;
        if (!HEADER_FITS(ip, data_end) || ip->version != 4 || ip->ihl < 5)
            class = PROTO_MALFORMED;
        else
            class = classify_l4(ip->protocol, PROTO_IPV4_TCP, PROTO_IPV4_UDP, PROTO_IPV4_ICMP,
                                PROTO_IPV4_OTHER);
    } else if (proto == bpf_htons(ETH_P_IPV6)) {
        struct ipv6hdr *ip6 = l3;
        if (!HEADER_FITS(ip6, data_end) || ip6->version != 6)
            class = PROTO_MALFORMED;
        else
            class = classify_l4(ip6->nexthdr, PROTO_IPV6_TCP, PROTO_IPV6_UDP, PROTO_IPV6_ICMP,
                                PROTO_IPV6_OTHER);
    }
    count(class, bytes);
    return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
