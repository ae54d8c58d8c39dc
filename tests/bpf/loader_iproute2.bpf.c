/* A tc classifier in iproute2's style: SEC("maps") definitions with struct bpf_elf_map (id and
 * pinning after the kernel's five fields) and the "classifier" section name. */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

struct bpf_elf_map {
    __u32 type;
    __u32 size_key;
    __u32 size_value;
    __u32 max_elem;
    __u32 flags;
    __u32 id;
    __u32 pinning;
    __u32 inner_id;
    __u32 inner_idx;
};

#define PIN_GLOBAL_NS 2

struct bpf_elf_map SEC("maps") tc_counts = {
    .type = BPF_MAP_TYPE_ARRAY, .size_key = sizeof(__u32), .size_value = sizeof(__u64), .max_elem = 2,
    .pinning = PIN_GLOBAL_NS,
};

SEC("classifier")
int count_skbs(struct __sk_buff *skb)
{
    __u32 key = 1;
    __u64 *count = bpf_map_lookup_elem(&tc_counts, &key);
    if (count)
        *count += 1;
    return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
