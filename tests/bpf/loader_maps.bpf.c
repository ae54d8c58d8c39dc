/* BTF-defined maps of several types, with key/value given as types or as sizes, map_flags and
 * a pinning field (ignored by xdpvm with a warning). One XDP program updates all of them per
 * packet so that the interpreter's and the kernel's map contents can be compared. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>

struct pkt_stats {
    __u64 packets;
    __u64 bytes;
};

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __type(key, __u32);
    __type(value, struct pkt_stats);
    __uint(max_entries, 4);
} stats_by_len_mod4 SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(key_size, sizeof(__u32));
    __uint(value_size, sizeof(__u64));
    __uint(max_entries, 64);
    __uint(map_flags, BPF_F_NO_PREALLOC);
} packets_by_len SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __type(key, __u32);
    __type(value, __u64);
    __uint(max_entries, 2);
} percpu_packets SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __type(key, __u16);
    __type(value, __u32);
    __uint(max_entries, 16);
    __uint(pinning, 0); /* LIBBPF_PIN_NONE: present so that the loader sees the field */
} packets_by_proto SEC(".maps");

SEC("xdp")
int count_packets(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    /* The length in 64 bits: a 32-bit copy of a pointer (w6 = w8, which clang emits for a
     * direct __u32 subtraction) holds half an address, and verifiers refuse it. */
    __u64 len64 = data_end - data;
    asm volatile("" : "+r"(len64));
    __u32 len = len64;

    __u32 slot = len & 3;
    struct pkt_stats *stats = bpf_map_lookup_elem(&stats_by_len_mod4, &slot);
    if (stats) {
        stats->packets++;
        stats->bytes += len;
    }

    __u64 *count = bpf_map_lookup_elem(&packets_by_len, &len);
    if (count) {
        (*count)++;
    } else {
        __u64 one = 1;
        bpf_map_update_elem(&packets_by_len, &len, &one, BPF_NOEXIST);
    }

    __u32 zero = 0;
    __u64 *mine = bpf_map_lookup_elem(&percpu_packets, &zero);
    if (mine)
        (*mine)++;

    struct ethhdr *eth = data;
    if ((void *)(eth + 1) > data_end)
        return XDP_ABORTED;
    __u16 proto = eth->h_proto;
    __u32 *by_proto = bpf_map_lookup_elem(&packets_by_proto, &proto);
    if (by_proto) {
        (*by_proto)++;
    } else {
        __u32 one = 1;
        bpf_map_update_elem(&packets_by_proto, &proto, &one, BPF_ANY);
    }
    return len > 100 ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
