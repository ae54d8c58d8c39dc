/* lb: a layer-4 load balancer for IPv4 and IPv6 TCP/UDP traffic to a virtual IP.
 *  - `lb_config` (array, 1 entry): the VIPs (IPv4 in network order, IPv6), an optional
 *    destination port (host order, 0 = any) and the number of backends in use.
 *  - `backends` (array of MAX_BACKENDS): MAC, IPv4 and IPv6 address of each backend.
 *  - A packet to the VIP is assigned a backend by a hash of its 5-tuple (the same flow always
 *    reaches the same backend), its destination MAC and IP are rewritten (source MAC becomes the
 *    old destination MAC), the IPv4 header checksum and the TCP/UDP checksum are updated
 *    incrementally (IPv6 through bpf_csum_diff), and it is sent out with XDP_TX.
 *  - Anything else, or no backends configured: XDP_PASS untouched. Truncated headers: XDP_DROP.
 */
#include "xdp_common.h"

#define MAX_BACKENDS 16

struct lb_config {
    __u32 vip4;
    __u8 vip6[16];
    __u16 port;
    __u16 reserved;
    __u32 backend_count;
};

struct backend {
    __u8 mac[ETH_ALEN];
    __u16 reserved;
    __u32 ip4;
    __u8 ip6[16];
};

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct lb_config);
} lb_config SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, MAX_BACKENDS);
    __type(key, __u32);
    __type(value, struct backend);
} backends SEC(".maps");

static __always_inline __u32 mix(__u32 h)
{
    h ^= h >> 16;
    h *= 0x7feb352d;
    h ^= h >> 15;
    h *= 0x846ca68b;
    h ^= h >> 16;
    return h;
}

/* The first four bytes of TCP and UDP headers are the ports; the checksum offset differs. */
struct l4_ports {
    __be16 source;
    __be16 dest;
};

static __always_inline __u16 *l4_checksum(void *l4, __u8 protocol, void *data_end)
{
    if (protocol == IPPROTO_TCP) {
        struct tcphdr *tcp = l4;
        return HEADER_FITS(tcp, data_end) ? &tcp->check : NULL;
    }
    struct udphdr *udp = l4;
    if (!HEADER_FITS(udp, data_end) || udp->check == 0) /* IPv4 UDP without checksum */
        return NULL;
    return &udp->check;
}

static __always_inline struct backend *pick_backend(struct lb_config *config, __u32 hash)
{
    __u32 count = config->backend_count;
    if (count == 0 || count > MAX_BACKENDS)
        return NULL;
    __u32 index = hash % count;
    return bpf_map_lookup_elem(&backends, &index);
}

static __always_inline void rewrite_macs(struct ethhdr *eth, struct backend *backend)
{
    __builtin_memcpy(eth->h_source, eth->h_dest, ETH_ALEN);
    __builtin_memcpy(eth->h_dest, backend->mac, ETH_ALEN);
}

static __always_inline int balance_v4(struct ethhdr *eth, struct iphdr *ip, void *data_end,
                                      struct lb_config *config)
{
    if (ip->daddr != config->vip4 || ip->ihl != 5)
        return XDP_PASS;
    if (ip->protocol != IPPROTO_TCP && ip->protocol != IPPROTO_UDP)
        return XDP_PASS;
    struct l4_ports *ports = (void *)(ip + 1);
    if (!HEADER_FITS(ports, data_end))
        return XDP_DROP;
    if (config->port && ports->dest != bpf_htons(config->port))
        return XDP_PASS;
    __u32 hash = mix(ip->saddr ^ mix(ip->daddr ^ mix(((__u32)ports->source << 16 | ports->dest) ^ ip->protocol)));
    struct backend *backend = pick_backend(config, hash);
    if (!backend)
        return XDP_PASS;

    __u16 *check = l4_checksum(ports, ip->protocol, data_end);
    __u32 old_daddr = ip->daddr, new_daddr = backend->ip4;
    if (check) {
        __u16 updated = csum_replace32(*check, old_daddr, new_daddr);
        *check = (ip->protocol == IPPROTO_UDP && updated == 0) ? 0xffff : updated;
    }
    ip->check = csum_replace32(ip->check, old_daddr, new_daddr);
    ip->daddr = new_daddr;
    rewrite_macs(eth, backend);
    return XDP_TX;
}

static __always_inline int balance_v6(struct ethhdr *eth, struct ipv6hdr *ip6, void *data_end,
                                      struct lb_config *config)
{
    if (__builtin_memcmp(&ip6->daddr, config->vip6, 16) != 0)
        return XDP_PASS;
    if (ip6->nexthdr != IPPROTO_TCP && ip6->nexthdr != IPPROTO_UDP)
        return XDP_PASS;
    struct l4_ports *ports = (void *)(ip6 + 1);
    if (!HEADER_FITS(ports, data_end))
        return XDP_DROP;
    if (config->port && ports->dest != bpf_htons(config->port))
        return XDP_PASS;
    __u32 hash = ((__u32)ports->source << 16 | ports->dest) ^ ip6->nexthdr;
#pragma unroll
    for (int i = 0; i < 4; i++)
        hash = mix(hash ^ ip6->saddr.in6_u.u6_addr32[i] ^ ip6->daddr.in6_u.u6_addr32[i]);
    struct backend *backend = pick_backend(config, hash);
    if (!backend)
        return XDP_PASS;

    __be32 old_daddr[4], new_daddr[4];
    __builtin_memcpy(old_daddr, &ip6->daddr, 16);
    __builtin_memcpy(new_daddr, backend->ip6, 16);
    __u16 *check = ip6->nexthdr == IPPROTO_TCP ? l4_checksum(ports, IPPROTO_TCP, data_end)
                                               : l4_checksum(ports, IPPROTO_UDP, data_end);
    if (check) {
        __s64 sum = bpf_csum_diff(old_daddr, 16, new_daddr, 16, (__u16)~*check);
        if (sum < 0)
            return XDP_ABORTED;
        __u16 updated = (__u16)~csum_fold32((__u32)sum);
        *check = (ip6->nexthdr == IPPROTO_UDP && updated == 0) ? 0xffff : updated;
    }
    __builtin_memcpy(&ip6->daddr, new_daddr, 16);
    rewrite_macs(eth, backend);
    return XDP_TX;
}

SEC("xdp")
int xdp_lb(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    if (!HEADER_FITS(eth, data_end))
        return XDP_DROP;
    __u32 zero = 0;
    struct lb_config *config = bpf_map_lookup_elem(&lb_config, &zero);
    if (!config)
        return XDP_ABORTED;

    if (eth->h_proto == bpf_htons(ETH_P_IP)) {
        struct iphdr *ip = (void *)(eth + 1);
        if (!HEADER_FITS(ip, data_end))
            return XDP_DROP;
        return balance_v4(eth, ip, data_end, config);
    }
    if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
        struct ipv6hdr *ip6 = (void *)(eth + 1);
        if (!HEADER_FITS(ip6, data_end))
            return XDP_DROP;
        return balance_v6(eth, ip6, data_end, config);
    }
    return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
