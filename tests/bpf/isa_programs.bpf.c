/* Ordinary compiled C: subprograms in .text, maps, helpers, loops, switches and atomics, as
 * clang lays them out, for comparing `xdpvm disasm` with llvm-objdump. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 16);
    __type(key, __u32);
    __type(value, __u64);
} counters SEC(".maps");

static volatile const __u32 threshold = 64;
__u64 packets_seen = 0;

static __attribute__((noinline)) int classify(__u32 len)
{
    if (len < threshold)
        return 1;
    switch (len & 7) {
    case 0: return 3;
    case 1: return 5;
    case 2: return 7;
    case 5: return 11;
    default: return 13;
    }
}

static __attribute__((noinline)) __u64 mix(__u64 a, __u64 b)
{
    for (int i = 0; i < 4; i++)
        a = (a << 7) ^ (b >> 3) ^ (a * 0x9e3779b97f4a7c15ULL);
    return a;
}

SEC("xdp")
int count_packets(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
    /* The length in 64 bits (see loader_maps.bpf.c: no 32-bit copy of a pointer). */
    __u64 len = data_end - data;
    asm volatile("" : "+r"(len));
    __u32 key = classify((__u32)len) & 15;
    __u64 *value = bpf_map_lookup_elem(&counters, &key);
    __sync_fetch_and_add(&packets_seen, 1);
    if (!value)
        return XDP_ABORTED;
    __sync_fetch_and_add(value, mix(key, packets_seen));
    if (data + 14 > data_end)
        return XDP_DROP;
    unsigned char *eth = data;
    return eth[12] == 0x08 ? XDP_PASS : XDP_TX;
}

SEC("tc")
int tc_mark(struct __sk_buff *skb)
{
    __u32 v = skb->mark;
    __u32 old = __sync_lock_test_and_set(&skb->cb[0], 7);
    return v / 3 + (int)old + (skb->len > 100 ? -1 : 1);
}

char LICENSE[] SEC("license") = "GPL";
