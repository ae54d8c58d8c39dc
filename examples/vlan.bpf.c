/* vlan: 802.1Q tag handling driven by the `vlan_rules` hash (key: VLAN id in host order,
 * value: struct vlan_rule).
 *  - Tagged frame, rule for its VID with new_vid == 0: pop the tag (bpf_xdp_adjust_head +4).
 *  - Tagged frame, rule with new_vid != 0: rewrite the VID in place, keeping PCP and DEI.
 *  - Untagged frame, rule at key 0 with new_vid != 0: push a tag with that VID (PCP 0),
 *    bpf_xdp_adjust_head -4.
 *  - Changed frames go back out with XDP_TX; frames without a rule: XDP_PASS untouched;
 *    frames too short for their headers: XDP_DROP.
 */
#include "xdp_common.h"

#define VLAN_VID_MASK 0x0fff

struct vlan_rule {
    __u16 new_vid;
    __u16 reserved;
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 4096);
    __type(key, __u16);
    __type(value, struct vlan_rule);
} vlan_rules SEC(".maps");

struct mac_pair {
    __u8 addrs[2 * ETH_ALEN];
};

static __always_inline int pop_tag(struct xdp_md *ctx, struct mac_pair *macs)
{
    if (bpf_xdp_adjust_head(ctx, (int)sizeof(struct vlan_hdr)))
        return XDP_DROP;
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    if (!HEADER_FITS(eth, data_end))
        return XDP_DROP;
    __builtin_memcpy(eth, macs, sizeof(*macs));
    return XDP_TX;
}

static __always_inline int push_tag(struct xdp_md *ctx, struct mac_pair *macs, __u16 vid)
{
    if (bpf_xdp_adjust_head(ctx, -(int)sizeof(struct vlan_hdr)))
        return XDP_DROP;
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    struct vlan_hdr *vlan = (void *)(eth + 1);
    if (!HEADER_FITS(vlan, data_end))
        return XDP_DROP;
    /* The original ethertype already sits where the tag's encapsulated protocol goes. */
    __builtin_memcpy(eth, macs, sizeof(*macs));
    eth->h_proto = bpf_htons(ETH_P_8021Q);
    vlan->tci = bpf_htons(vid & VLAN_VID_MASK);
    return XDP_TX;
}

SEC("xdp")
int xdp_vlan(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    if (!HEADER_FITS(eth, data_end))
        return XDP_DROP;

    struct mac_pair macs;
    __builtin_memcpy(&macs, eth, sizeof(macs));

    if (eth->h_proto != bpf_htons(ETH_P_8021Q)) {
        __u16 untagged = 0;
        struct vlan_rule *rule = bpf_map_lookup_elem(&vlan_rules, &untagged);
        if (!rule || rule->new_vid == 0)
            return XDP_PASS;
        return push_tag(ctx, &macs, rule->new_vid);
    }

    struct vlan_hdr *vlan = (void *)(eth + 1);
    if (!HEADER_FITS(vlan, data_end))
        return XDP_DROP;
    __u16 tci = bpf_ntohs(vlan->tci);
    __u16 vid = tci & VLAN_VID_MASK;
    struct vlan_rule *rule = bpf_map_lookup_elem(&vlan_rules, &vid);
    if (!rule)
        return XDP_PASS;
    if (rule->new_vid == 0)
        return pop_tag(ctx, &macs);
    vlan->tci = bpf_htons((tci & ~VLAN_VID_MASK) | (rule->new_vid & VLAN_VID_MASK));
    return XDP_TX;
}

char LICENSE[] SEC("license") = "GPL";
