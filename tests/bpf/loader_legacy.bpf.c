/* Legacy SEC("maps") definitions (struct bpf_map_def), which libbpf 1.x no longer loads but
 * older objects still carry. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

/* The kernel's struct bpf_map_def layout (dropped from libbpf 1.x headers). */
struct legacy_map_def {
    unsigned int type;
    unsigned int key_size;
    unsigned int value_size;
    unsigned int max_entries;
    unsigned int map_flags;
};

struct legacy_map_def SEC("maps") legacy_counts = {
    .type = BPF_MAP_TYPE_ARRAY, .key_size = sizeof(__u32), .value_size = sizeof(__u64), .max_entries = 4,
};
struct legacy_map_def SEC("maps") legacy_lengths = {
    .type = BPF_MAP_TYPE_HASH, .key_size = sizeof(__u32), .value_size = sizeof(__u32), .max_entries = 8,
};

/* Per-CPU with a value longer than 16 bytes: bpftool's line-broken layout. */
struct legacy_map_def SEC("maps") legacy_percpu = {
    .type = BPF_MAP_TYPE_PERCPU_ARRAY, .key_size = sizeof(__u32), .value_size = 24, .max_entries = 1,
};

SEC("xdp")
int legacy_count(struct xdp_md *ctx)
{
    __u32 len = ctx->data_end - ctx->data;
    __u32 slot = len & 3;
    __u64 *count = bpf_map_lookup_elem(&legacy_counts, &slot);
    if (count)
        *count += 1;
    bpf_map_update_elem(&legacy_lengths, &slot, &len, BPF_ANY);
    return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
