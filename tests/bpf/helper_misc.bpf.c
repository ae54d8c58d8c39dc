/* The other helpers from a program: ktime_get_ns, ktime_get_boot_ns, get_prandom_u32,
 * get_smp_processor_id, trace_printk, bpf_loop, for_each_map_elem, and tail calls up to the
 * kernel's limit of 33. Results go to results[]; values that vary between runs (time,
 * random numbers, the CPU) are reduced to facts that do not. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "results.h"

RESULTS_MAP(32)

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __type(key, __u32);
    __type(value, __u64);
    __uint(max_entries, 4);
} numbers SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __type(key, __u32);
    __type(value, __u64);
    __uint(max_entries, 8);
} table SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_HASH);
    __type(key, __u32);
    __type(value, __u64);
    __uint(max_entries, 8);
} pcpu_table SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __type(key, __u32);
    __type(value, __u64);
    __uint(max_entries, 64);
} lru_table SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __type(key, __u32);
    __type(value, __u64);
    __uint(max_entries, 3);
} pcpu_numbers SEC(".maps");

struct bpf_map;

struct loop_ctx {
    __u64 sum;
    __u32 stop_at;
};

static long loop_step(__u32 index, void *data)
{
    struct loop_ctx *lc = data;
    lc->sum += index;
    return index == lc->stop_at;
}

struct walk_ctx {
    __u64 sum;
    __u32 keys;
    __u32 stop_after;
};

static long walk(struct bpf_map *map, __u32 *key, __u64 *value, struct walk_ctx *wc)
{
    wc->sum += *value;
    wc->keys += *key;
    *value += 1; /* callbacks may write the value in place */
    return wc->stop_after && wc->sum >= wc->stop_after;
}

SEC("xdp")
int misc(struct xdp_md *ctx)
{
    __u64 t1 = bpf_ktime_get_ns(), t2 = bpf_ktime_get_ns();
    put(0, t1 != 0 && t2 >= t1);
    put(1, bpf_ktime_get_boot_ns() != 0);
    __u32 r1 = bpf_get_prandom_u32(), r2 = bpf_get_prandom_u32(), r3 = bpf_get_prandom_u32();
    put(2, r1 != r2 || r2 != r3);
    put(3, bpf_get_smp_processor_id() < 4096);
    static const char fmt[] = "helper_misc len=%d tag=%x %s\n";
    put(4, bpf_trace_printk(fmt, sizeof(fmt), 64, 0xbeef, (long)"ok"));
    static const char bad_fmt[] = "bad %q\n";
    put(5, bpf_trace_printk(bad_fmt, sizeof(bad_fmt), 1));

    struct loop_ctx lc = {.sum = 0, .stop_at = 1000};
    put(6, bpf_loop(10, loop_step, &lc, 0));
    put(7, lc.sum);
    lc.sum = 0, lc.stop_at = 3;
    put(8, bpf_loop(10, loop_step, &lc, 0));
    put(9, lc.sum);
    put(10, bpf_loop(1, loop_step, &lc, 1));
    put(11, bpf_loop((1 << 23) + 1, loop_step, &lc, 0));

#pragma unroll
    for (int i = 0; i < 4; i++) {
        __u32 key = i, hash_key = i + 100;
        __u64 value = (i + 1) * 10;
        bpf_map_update_elem(&numbers, &key, &value, BPF_ANY);
        bpf_map_update_elem(&table, &hash_key, &value, BPF_ANY);
    }
    __u32 k;
    struct walk_ctx wc = {};
    put(12, bpf_for_each_map_elem(&numbers, walk, &wc, 0));
    put(13, wc.sum);
    put(14, wc.keys);
    wc.sum = 0, wc.keys = 0, wc.stop_after = 30; /* values are now 11, 21, ... */
    put(15, bpf_for_each_map_elem(&numbers, walk, &wc, 0));
    wc.sum = 0, wc.keys = 0, wc.stop_after = 0;
    put(16, bpf_for_each_map_elem(&table, walk, &wc, 0));
    put(17, wc.sum);
    put(18, wc.keys);
    put(19, bpf_for_each_map_elem(&table, walk, &wc, 1));
    k = 2;
    __u64 *v = bpf_map_lookup_elem(&numbers, &k);
    put(20, v ? *v : 0);

    /* for_each over per-CPU and LRU maps: this CPU's values, every element */
#pragma unroll
    for (int i = 0; i < 3; i++) {
        __u32 key = i + 50;
        __u64 value = i + 1;
        bpf_map_update_elem(&pcpu_table, &key, &value, BPF_ANY);
        bpf_map_update_elem(&lru_table, &key, &value, BPF_ANY);
        key = i;
        bpf_map_update_elem(&pcpu_numbers, &key, &value, BPF_ANY);
    }
    wc.sum = 0, wc.keys = 0, wc.stop_after = 0;
    put(21, bpf_for_each_map_elem(&pcpu_table, walk, &wc, 0) * 1000 + wc.sum * 100 + wc.keys);
    wc.sum = 0, wc.keys = 0;
    put(22, bpf_for_each_map_elem(&lru_table, walk, &wc, 0) * 1000 + wc.sum * 100 + wc.keys);
    wc.sum = 0, wc.keys = 0;
    put(23, bpf_for_each_map_elem(&pcpu_numbers, walk, &wc, 0) * 1000 + wc.sum * 100 + wc.keys);
    k = 51;
    v = bpf_map_lookup_elem(&pcpu_table, &k);
    put(26, v ? *v : 0); /* the callback's in-place write hit this CPU's slot */
    __u64 *mine = bpf_map_lookup_percpu_elem(&pcpu_table, &k, bpf_get_smp_processor_id());
    put(27, mine == v);
    put(28, bpf_map_lookup_percpu_elem(&pcpu_table, &k, 1u << 20) == 0);
    put(29, bpf_get_numa_node_id());
    __u64 tai = bpf_ktime_get_tai_ns(), coarse = bpf_ktime_get_coarse_ns();
    put(30, tai > coarse && coarse > 0);
    return XDP_PASS;
}

/* Tail calls: chain calls itself through slot 0 until the kernel's limit stops it. */
int chain(struct xdp_md *ctx);

struct {
    __uint(type, BPF_MAP_TYPE_PROG_ARRAY);
    __uint(max_entries, 4);
    __uint(key_size, sizeof(__u32));
    __array(values, int(void *));
} jumps SEC(".maps") = {
    .values = {[0] = (void *)&chain},
};

SEC("xdp")
int chain(struct xdp_md *ctx)
{
    __u32 step = 24;
    __s64 *runs = bpf_map_lookup_elem(&results, &step);
    if (runs)
        __sync_fetch_and_add(runs, 1);
    bpf_tail_call(ctx, &jumps, 0);
    /* only reached once the limit is hit; an empty slot also falls through */
    bpf_tail_call(ctx, &jumps, 3);
    put(25, 1);
    return XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
