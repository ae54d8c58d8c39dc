/* Map helpers from a program: lookup/update/delete with every flag and error on each map
 * type, queue/stack push/pop/peek, ring buffer output/reserve/submit/discard. Each step's
 * result goes to results[step]; tests/test_helper_progs.c compares them with the expected
 * kernel values and, when it can, with the kernel's own run of this object. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "results.h"

#define NRESULTS 48

RESULTS_MAP(NRESULTS)

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __type(key, __u32);
    __type(value, __u64);
    __uint(max_entries, 4);
} hash SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __type(key, __u32);
    __type(value, __u64);
    __uint(max_entries, 4);
} array SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __type(key, __u32);
    __type(value, __u64);
    __uint(max_entries, 64);
} lru SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __type(key, __u32);
    __type(value, __u64);
    __uint(max_entries, 2);
} pcpu_array SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_HASH);
    __type(key, __u32);
    __type(value, __u64);
    __uint(max_entries, 2);
} pcpu_hash SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
    __type(key, __u32);
    __type(value, __u64);
    __uint(max_entries, 8);
} lru_pcpu SEC(".maps");

struct ipv4_lpm_key {
    __u32 prefixlen;
    __u8 addr[4];
};

struct {
    __uint(type, BPF_MAP_TYPE_LPM_TRIE);
    __type(key, struct ipv4_lpm_key);
    __type(value, __u32);
    __uint(max_entries, 8);
    __uint(map_flags, BPF_F_NO_PREALLOC);
} routes SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_QUEUE);
    __type(value, __u32);
    __uint(max_entries, 2);
} queue SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_STACK);
    __type(value, __u32);
    __uint(max_entries, 2);
} stack SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_DEVMAP);
    __type(key, __u32);
    __type(value, __u32);
    __uint(max_entries, 4);
} ports SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
    __type(key, __u32);
    __type(value, __u32);
    __uint(max_entries, 4);
} ports_hash SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 4096);
} events SEC(".maps");

static __always_inline __s64 read_u64(void *value)
{
    return value ? (__s64)*(__u64 *)value : -1000;
}

static __always_inline __s64 read_u32(void *value)
{
    return value ? (__s64)*(__u32 *)value : -1000;
}

SEC("xdp")
int map_ops(struct xdp_md *ctx)
{
    __u32 k;
    __u64 v;

    /* hash: flags and errors */
    k = 1, v = 10;
    put(0, bpf_map_update_elem(&hash, &k, &v, BPF_NOEXIST));
    put(1, bpf_map_update_elem(&hash, &k, &v, BPF_NOEXIST));
    k = 2;
    put(2, bpf_map_update_elem(&hash, &k, &v, BPF_EXIST));
    k = 1, v = 11;
    put(3, bpf_map_update_elem(&hash, &k, &v, BPF_EXIST));
    put(4, bpf_map_update_elem(&hash, &k, &v, 3));
    __s64 sum = 0;
    for (k = 2; k <= 4; k++)
        sum += bpf_map_update_elem(&hash, &k, &v, BPF_ANY);
    put(5, sum);
    k = 5;
    put(6, bpf_map_update_elem(&hash, &k, &v, BPF_ANY));
    k = 1;
    put(7, read_u64(bpf_map_lookup_elem(&hash, &k)));
    k = 9;
    put(8, bpf_map_delete_elem(&hash, &k));
    k = 1;
    put(9, bpf_map_delete_elem(&hash, &k));
    put(10, bpf_map_lookup_elem(&hash, &k) == 0);
    k = 5;
    put(11, bpf_map_update_elem(&hash, &k, &v, BPF_NOEXIST)); /* room again */

    /* array: every index exists */
    k = 4;
    put(12, bpf_map_update_elem(&array, &k, &v, BPF_ANY));
    k = 0;
    put(13, bpf_map_update_elem(&array, &k, &v, BPF_NOEXIST));
    put(14, bpf_map_delete_elem(&array, &k));
    k = 3, v = 33;
    put(15, bpf_map_update_elem(&array, &k, &v, BPF_EXIST));
    __u64 *slot = bpf_map_lookup_elem(&array, &k);
    if (slot)
        __sync_fetch_and_add(slot, 2);
    put(16, read_u64(bpf_map_lookup_elem(&array, &k)));
    k = 4;
    put(17, bpf_map_lookup_elem(&array, &k) == 0);

    /* LRU: inserts never fail */
    sum = 0;
    for (k = 100; k < 110; k++)
        sum += bpf_map_update_elem(&lru, &k, &v, BPF_NOEXIST);
    put(18, sum);
    k = 109;
    put(19, read_u64(bpf_map_lookup_elem(&lru, &k)));

    /* per-CPU maps: this CPU's slot */
    k = 1, v = 5;
    put(20, bpf_map_update_elem(&pcpu_array, &k, &v, BPF_ANY));
    put(21, read_u64(bpf_map_lookup_elem(&pcpu_array, &k)));
    k = 7, v = 6;
    put(22, bpf_map_update_elem(&pcpu_hash, &k, &v, BPF_NOEXIST));
    put(23, read_u64(bpf_map_lookup_elem(&pcpu_hash, &k)));
    v = 8;
    put(24, bpf_map_update_elem(&lru_pcpu, &k, &v, BPF_ANY) + read_u64(bpf_map_lookup_elem(&lru_pcpu, &k)));

    /* LPM trie */
    struct ipv4_lpm_key key = {8, {10, 0, 0, 0}};
    __u32 val = 8;
    sum = bpf_map_update_elem(&routes, &key, &val, BPF_NOEXIST);
    key.prefixlen = 16, key.addr[1] = 1, val = 16;
    sum += bpf_map_update_elem(&routes, &key, &val, BPF_NOEXIST);
    key.prefixlen = 24, key.addr[2] = 2, val = 24;
    sum += bpf_map_update_elem(&routes, &key, &val, BPF_NOEXIST);
    put(25, sum);
    struct ipv4_lpm_key probe = {32, {10, 1, 2, 3}};
    put(26, read_u32(bpf_map_lookup_elem(&routes, &probe)));
    probe.addr[2] = 9;
    put(27, read_u32(bpf_map_lookup_elem(&routes, &probe)));
    probe.addr[1] = 9;
    put(28, read_u32(bpf_map_lookup_elem(&routes, &probe)));
    probe.addr[0] = 11;
    put(29, read_u32(bpf_map_lookup_elem(&routes, &probe)));
    key.prefixlen = 33;
    put(30, bpf_map_update_elem(&routes, &key, &val, BPF_ANY));
    key.prefixlen = 16, key.addr[2] = 0;
    put(31, bpf_map_delete_elem(&routes, &key));
    probe.addr[0] = 10, probe.addr[1] = 1;
    put(32, read_u32(bpf_map_lookup_elem(&routes, &probe)));

    /* queue and stack */
    __u32 q = 1;
    sum = bpf_map_push_elem(&queue, &q, 0);
    q = 2;
    sum += bpf_map_push_elem(&queue, &q, 0);
    put(33, sum);
    q = 3;
    put(34, bpf_map_push_elem(&queue, &q, 0));
    put(35, bpf_map_push_elem(&queue, &q, BPF_EXIST));
    __u32 out = 0;
    put(36, bpf_map_peek_elem(&queue, &out) * 100 + out);
    __u32 first = 0, second = 0;
    bpf_map_pop_elem(&queue, &first);
    bpf_map_pop_elem(&queue, &second);
    put(37, first * 10 + second);
    put(38, bpf_map_pop_elem(&queue, &out));
    q = 1;
    bpf_map_push_elem(&stack, &q, 0);
    q = 2;
    bpf_map_push_elem(&stack, &q, 0);
    bpf_map_pop_elem(&stack, &first);
    bpf_map_peek_elem(&stack, &second);
    put(39, first * 10 + second);

    /* devmaps: filled by user space, key 0 -> ifindex 1 */
    k = 0;
    put(40, read_u32(bpf_map_lookup_elem(&ports, &k)));
    k = 1;
    put(41, bpf_map_lookup_elem(&ports, &k) == 0);
    k = 0;
    put(42, read_u32(bpf_map_lookup_elem(&ports_hash, &k)));

    /* ring buffer: two records committed, one discarded */
    __u64 event = 0xe1;
    put(43, bpf_ringbuf_output(&events, &event, sizeof(event), 0));
    /* A released record may not be read again, not even compared with NULL: count instead. */
    int reserved = 0;
    __u64 *rec = bpf_ringbuf_reserve(&events, sizeof(__u64), 0);
    if (rec) {
        *rec = 0xe2;
        bpf_ringbuf_submit(rec, 0);
        reserved++;
    }
    __u64 *dropped = bpf_ringbuf_reserve(&events, sizeof(__u64), 0);
    if (dropped) {
        *dropped = 0xdead;
        bpf_ringbuf_discard(dropped, 0);
        reserved++;
    }
    put(44, reserved);
    put(45, bpf_ringbuf_output(&events, &event, sizeof(event), 4));
    return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
