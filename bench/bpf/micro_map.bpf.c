/* JIT micro-benchmark: array map lookup and update (logic in bench/micro/micro.h). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "../micro/micro.h"

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, MICRO_COUNTERS);
    __type(key, __u32);
    __type(value, struct micro_counter);
} micro_counters SEC(".maps");

#define MICRO_COUNTER_LOOKUP(key) bpf_map_lookup_elem(&micro_counters, &(key))

SEC("xdp")
int micro_map_prog(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
    MICRO_MAP_BODY(data, data_end);
}

char LICENSE[] SEC("license") = "GPL";
