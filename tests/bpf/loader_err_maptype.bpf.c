/* Load error: a map type xdpvm does not implement (the loader must name it). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
    __uint(type, BPF_MAP_TYPE_STACK_TRACE);
    __uint(key_size, sizeof(__u32));
    __uint(value_size, 127 * sizeof(__u64));
    __uint(max_entries, 16);
} stacks SEC(".maps");

SEC("xdp")
int uses_stack_map(struct xdp_md *ctx)
{
    __u32 key = 0;
    return bpf_map_lookup_elem(&stacks, &key) ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
