/* firewall: drops IPv4 traffic by source prefix and by destination port.
 *  - `blocked_sources` (LPM trie, key: prefix length + IPv4 source address in network order,
 *    value: rule id) drops any packet from a matching prefix.
 *  - `blocked_ports` (hash, key: struct port_key {protocol, port in host order}, value: rule id)
 *    drops TCP/UDP packets to a matching destination port.
 *  - `rule_hits` (per-CPU array of MAX_RULES counters) counts drops per rule id.
 *  - Everything else passes (XDP_PASS), including non-IPv4 traffic and IP fragments after the
 *    first (they carry no ports). Frames too short for their IPv4 header are dropped.
 */
#include "xdp_common.h"

#define MAX_RULES 64

struct lpm_v4_key {
    __u32 prefixlen;
    __u32 addr;
};

struct port_key {
    __u8 protocol;
    __u8 pad;
    __u16 port;
};

struct {
    __uint(type, BPF_MAP_TYPE_LPM_TRIE);
    __uint(max_entries, 1024);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __type(key, struct lpm_v4_key);
    __type(value, __u32);
} blocked_sources SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 1024);
    __type(key, struct port_key);
    __type(value, __u32);
} blocked_ports SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, MAX_RULES);
    __type(key, __u32);
    __type(value, __u64);
} rule_hits SEC(".maps");

static __always_inline int drop_by_rule(__u32 *rule)
{
    __u32 id = *rule;
    __u64 *hits = bpf_map_lookup_elem(&rule_hits, &id);
    if (hits)
        *hits += 1;
    return XDP_DROP;
}

SEC("xdp")
int xdp_firewall(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    void *l3;
    __be16 proto = parse_eth(data, data_end, &l3);
    if (proto != bpf_htons(ETH_P_IP))
        return proto ? XDP_PASS : XDP_DROP;

    struct iphdr *ip = l3;
    if (!HEADER_FITS(ip, data_end) || ip->ihl < 5)
        return XDP_DROP;

    struct lpm_v4_key source = {.prefixlen = 32, .addr = ip->saddr};
    __u32 *rule = bpf_map_lookup_elem(&blocked_sources, &source);
    if (rule)
        return drop_by_rule(rule);

    if (ip->frag_off & bpf_htons(0x1fff))
        return XDP_PASS;
    if (ip->protocol != IPPROTO_TCP && ip->protocol != IPPROTO_UDP)
        return XDP_PASS;
    /* Both TCP and UDP keep the destination port at offset 2 of their header. */
    __u8 *l4 = (__u8 *)ip + ip->ihl * 4;
    struct udphdr *ports = (void *)l4;
    if (!HEADER_FITS(ports, data_end))
        return XDP_PASS;
    struct port_key key = {.protocol = ip->protocol, .port = bpf_ntohs(ports->dest)};
    rule = bpf_map_lookup_elem(&blocked_ports, &key);
    if (rule)
        return drop_by_rule(rule);
    return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
