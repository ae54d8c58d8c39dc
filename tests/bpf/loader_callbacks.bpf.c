/* Code addresses: a bpf_loop callback (lddw src=BPF_PSEUDO_FUNC) and a prog_array whose slots
 * are filled from the object (`.values = { [i] = &prog }`) for tail calls. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __type(key, __u32);
    __type(value, __u64);
    __uint(max_entries, 4);
} results SEC(".maps");

struct loop_state {
    __u64 sum;
    __u32 step;
};

static long add_index(__u32 index, void *ctx)
{
    struct loop_state *state = ctx;
    state->sum += (__u64)index * state->step;
    return 0;
}

SEC("xdp")
int looper(struct xdp_md *ctx)
{
    struct loop_state state = {.sum = 0, .step = 3};
    __u32 len = ctx->data_end - ctx->data;
    bpf_loop(len & 15, add_index, &state, 0);
    __u32 slot = 0;
    bpf_map_update_elem(&results, &slot, &state.sum, BPF_ANY);
    return XDP_PASS;
}

SEC("xdp")
int tail_target(struct xdp_md *ctx)
{
    __u32 slot = 1;
    __u64 marker = 0x7a11;
    bpf_map_update_elem(&results, &slot, &marker, BPF_ANY);
    return XDP_DROP;
}

struct {
    __uint(type, BPF_MAP_TYPE_PROG_ARRAY);
    __uint(max_entries, 4);
    __uint(key_size, sizeof(__u32));
    __array(values, int(void *));
} jump_table SEC(".maps") = {
    .values = {[2] = (void *)&tail_target},
};

SEC("xdp")
int tail_caller(struct xdp_md *ctx)
{
    bpf_tail_call(ctx, &jump_table, 2);
    return XDP_PASS; /* only when the slot is empty */
}

char LICENSE[] SEC("license") = "GPL";
