/* live_drop: drops every frame and counts it in `stats` (per-CPU, indexed by XDP action, the
 * layout `xdpvm status` reads), so the kernel's rate can be measured like xdpvm's. Used by
 * make bench-live. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, XDP_REDIRECT + 1);
    __type(key, __u32);
    __type(value, __u64);
} stats SEC(".maps");

SEC("xdp")
int xdp_drop_count(struct xdp_md *ctx)
{
    __u32 key = XDP_DROP;
    __u64 *counter = bpf_map_lookup_elem(&stats, &key);
    if (counter)
        *counter += 1;
    return XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
