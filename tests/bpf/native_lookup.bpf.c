/* For test_native_examples: map lookups that the native build (bench/native/bpf_host.h, built
 * as build/bench/native/tests/native_lookup.so) inlines for arrays and per-CPU arrays and
 * leaves to xdpvm's helper for a hash. The packet's first 4 bytes are the key (little-endian
 * u32); for each map in turn (array, per-CPU array, hash) the program writes 16 bytes after
 * it: 1 and the 12-byte value when the lookup found one, else 0 and zeros. Each value found
 * gets its `hits` incremented, so a write to the wrong slot shows in the maps afterwards.
 * Packets shorter than the 52 bytes written are aborted. The values are 12 bytes: the maps
 * round their slots to 16, so a stride taken from the value size would be caught. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct value {
    __u32 first, second, hits;
};

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 5);
    __type(key, __u32);
    __type(value, struct value);
} array_values SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 5);
    __type(key, __u32);
    __type(value, struct value);
} percpu_values SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 4);
    __type(key, __u32);
    __type(value, struct value);
} hash_values SEC(".maps");

struct report {
    __u32 found;
    struct value value;
};

static __always_inline void report(struct report *out, struct value *value)
{
    if (value) {
        value->hits += 1;
        out->found = 1;
        __builtin_memcpy(&out->value, value, sizeof(*value));
    } else {
        __builtin_memset(out, 0, sizeof(*out));
    }
}

SEC("xdp")
int native_lookup(struct xdp_md *ctx)
{
    unsigned char *data = (void *)(long)ctx->data;
    unsigned char *data_end = (void *)(long)ctx->data_end;
    if (data + 4 + 3 * sizeof(struct report) > data_end)
        return XDP_ABORTED;
    __u32 key;
    __builtin_memcpy(&key, data, sizeof(key));
    struct report *out = (struct report *)(data + 4);
    report(&out[0], bpf_map_lookup_elem(&array_values, &key));
    report(&out[1], bpf_map_lookup_elem(&percpu_values, &key));
    report(&out[2], bpf_map_lookup_elem(&hash_values, &key));
    return XDP_TX;
}

char LICENSE[] SEC("license") = "GPL";
