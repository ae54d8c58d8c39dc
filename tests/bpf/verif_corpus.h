/* The verifier's differential corpus: the same programs in an accepted form
 * (verif_ok.bpf.c) and a rejected form (verif_bad.bpf.c) that differs by one missing check.
 * VERIF_BAD selects the broken form. Both the kernel and xdpvm must agree on each verdict. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#ifdef VERIF_BAD
#define FIXED(x) 0
#else
#define FIXED(x) (x)
#endif

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __type(key, __u32);
    __type(value, __u64[8]);
    __uint(max_entries, 4);
} slots SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __type(key, __u32);
    __type(value, __u64);
    __uint(max_entries, 64);
} by_proto SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 4096);
} events SEC(".maps");

/* Parse Ethernet and IPv4; the broken form checks one byte too few. */
SEC("xdp")
int parse_ipv4(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    if ((void *)(eth + 1) > data_end)
        return XDP_DROP;
    if (eth->h_proto != bpf_htons(ETH_P_IP))
        return XDP_PASS;
    struct iphdr *ip = (void *)(eth + 1);
    if ((void *)ip + sizeof(*ip) - (FIXED(1) ? 0 : 1) > data_end)
        return XDP_DROP;
    return ip->daddr == 0x0100007f ? XDP_DROP : XDP_PASS;
}

/* Count packets per protocol; the broken form uses the lookup result without a NULL check. */
SEC("xdp")
int count_proto(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    if ((void *)(eth + 1) > data_end)
        return XDP_DROP;
    __u32 key = eth->h_proto;
    __u64 *count = bpf_map_lookup_elem(&by_proto, &key);
    if (FIXED(!count)) {
        __u64 one = 1;
        bpf_map_update_elem(&by_proto, &key, &one, BPF_ANY);
        return XDP_PASS;
    }
    __sync_fetch_and_add(count, 1);
    return XDP_PASS;
}

/* Index a map value with a number from the packet; the broken form does not bound it. */
SEC("xdp")
int index_slots(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
    unsigned char *p = data;
    if ((void *)(p + 1) > data_end)
        return XDP_DROP;
    __u32 key = 0, idx = p[0];
    __u64 *slot = bpf_map_lookup_elem(&slots, &key);
    if (!slot)
        return XDP_PASS;
    if (FIXED(1))
        idx &= 7;
    slot[idx] += 1;
    return XDP_PASS;
}

/* Sum the first bytes of the packet in a bounded loop; the broken form drops the per-byte
 * bounds check. */
SEC("xdp")
int sum_bytes(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
    unsigned char *p = data;
    __u32 sum = 0;
    for (int i = 0; i < 32; i++) {
        if (FIXED(1) && (void *)(p + i + 1) > data_end)
            break;
        sum += p[i];
    }
    return sum & 1 ? XDP_DROP : XDP_PASS;
}

/* Report the packet length through the ring buffer; the broken form never submits the record
 * when the packet is short. */
SEC("xdp")
int report_len(struct xdp_md *ctx)
{
    __u32 *rec = bpf_ringbuf_reserve(&events, sizeof(*rec), 0);
    if (!rec)
        return XDP_PASS;
    __u32 len = ctx->data_end - ctx->data;
    if (len < 60) {
        if (FIXED(1))
            bpf_ringbuf_discard(rec, 0);
        return XDP_PASS;
    }
    *rec = len;
    bpf_ringbuf_submit(rec, 0);
    return XDP_PASS;
}

/* Move the packet start, then read it: the broken form reads through the pointer from before
 * the move, which adjust_head invalidates. */
SEC("xdp")
int pop_header(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
    unsigned char *p = data;
    if ((void *)(p + 20) > data_end)
        return XDP_DROP;
    if (bpf_xdp_adjust_head(ctx, 14))
        return XDP_ABORTED;
    if (FIXED(1)) {
        p = (void *)(long)ctx->data;
        if ((void *)(p + 6) > (void *)(long)ctx->data_end)
            return XDP_DROP;
    }
    return p[5] == 0xff ? XDP_DROP : XDP_PASS;
}

/* Index a stack buffer with a byte of the packet; the broken form does not bound the index,
 * so the access may leave the stack. */
SEC("xdp")
int stack_index(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
    unsigned char *p = data;
    if ((void *)(p + 1) > data_end)
        return XDP_DROP;
    volatile unsigned char buf[16];
    for (int i = 0; i < 16; i++)
        buf[i] = (unsigned char)(ctx->rx_queue_index + i);
    __u32 idx = p[0];
    if (FIXED(1))
        idx &= 15;
    return buf[idx] == 3 ? XDP_DROP : XDP_PASS;
}

/* bpf_loop with a callback that fills a table on the caller's stack; the broken form lets the
 * loop index run past the table. */
struct fill_ctx {
    __u32 table[8];
    __u32 seed;
};

static long fill_one(__u32 index, void *arg)
{
    struct fill_ctx *c = arg;
    __u32 slot = FIXED(1) ? index & 7 : index;
    if (slot >= 16)
        return 1;
    c->table[slot] = c->seed * index;
    return 0;
}

SEC("xdp")
int loop_fill(struct xdp_md *ctx)
{
    struct fill_ctx c = {.seed = ctx->rx_queue_index};
    bpf_loop(16, fill_one, &c, 0);
    return c.table[3] & 1 ? XDP_DROP : XDP_PASS;
}

/* A function that checks the bounds of what it reads; the broken form trusts its caller. */
static __attribute__((noinline)) int first_byte_is(unsigned char *p, void *data_end, int value)
{
    if (FIXED(1) && (void *)(p + 1) > data_end)
        return 0;
    return *p == value;
}

SEC("xdp")
int call_checker(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
    return first_byte_is(data, data_end, 0xff) ? XDP_DROP : XDP_PASS;
}

/* Reserve metadata in front of the packet and write it; the broken form does not check the
 * metadata against the packet start. */
SEC("xdp")
int tag_meta(struct xdp_md *ctx)
{
    if (bpf_xdp_adjust_meta(ctx, -4))
        return XDP_PASS;
    __u32 *meta = (void *)(long)ctx->data_meta;
    if (FIXED(1) && (void *)(meta + 1) > (void *)(long)ctx->data)
        return XDP_PASS;
    *meta = 0x5a5a5a5a;
    return XDP_PASS;
}

/* A read-only knob bounds an index into a map value, as .rodata is frozen at load; the broken
 * form reads the bound from writable data. */
const volatile __u32 slot_limit = 8;
volatile __u32 slot_limit_rw = 8;

SEC("xdp")
int knob_bound(struct xdp_md *ctx)
{
    __u32 key = 0;
    __u64 *slot = bpf_map_lookup_elem(&slots, &key);
    if (!slot)
        return XDP_PASS;
    __u32 idx = ctx->rx_queue_index;
    __u32 limit = FIXED(1) ? slot_limit : slot_limit_rw;
    if (idx >= limit)
        return XDP_PASS;
    slot[idx] += 1;
    return XDP_PASS;
}

/* A tc classifier reading the packet through __sk_buff data/data_end and marking the
 * packet; the broken form reads before checking. */
SEC("tc")
int tc_mark_ipv4(struct __sk_buff *skb)
{
    void *data = (void *)(long)skb->data, *data_end = (void *)(long)skb->data_end;
    struct ethhdr *eth = data;
    if (FIXED(1) && (void *)(eth + 1) > data_end)
        return 0;
    if (eth->h_proto == bpf_htons(ETH_P_IP))
        skb->mark = skb->len + skb->cb[1];
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
