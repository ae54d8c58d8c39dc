/* Several programs per object sharing .text subprograms: a leaf used by everyone, a nested one
 * calling it twice, a global (separately verified) function, and a static function called from
 * two program sections. Results go to a map so both engines can be compared. */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __type(key, __u32);
    __type(value, __u64);
    __uint(max_entries, 8);
} results SEC(".maps");

static __noinline __u32 mix(__u32 x)
{
    return (x * 2654435761u) >> 16;
}

static __noinline __u32 nested(__u32 x)
{
    return mix(x) + mix(x + 1);
}

__noinline int global_sum(__u32 a, __u32 b)
{
    return (a + b) & 0xffff;
}

static __noinline void store(__u32 slot, __u64 value)
{
    bpf_map_update_elem(&results, &slot, &value, BPF_ANY);
}

SEC("xdp")
int first(struct xdp_md *ctx)
{
    __u32 len = ctx->data_end - ctx->data;
    store(0, nested(len));
    store(1, global_sum(len, 3));
    return XDP_PASS;
}

SEC("xdp.frags")
int second(struct xdp_md *ctx)
{
    __u32 len = ctx->data_end - ctx->data;
    store(2, mix(len));
    store(3, global_sum(len, 1000));
    return len & 1 ? XDP_DROP : XDP_PASS;
}

SEC("tc")
int classify(struct __sk_buff *skb)
{
    store(4, nested(7));
    return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
