/* Typed global data and map values for `xdpvm map dump`'s BTF-formatted output ("formatted"
 * in JSON, the pretty form in text), compared with bpftool's. */
#include <stdbool.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

enum colour { RED = 1, GREEN = 2, BLUE = 40 };

struct inner {
    __u16 port;
    __s8 delta;
    unsigned int flag : 1;
    unsigned int level : 3;
    __u32 hops[3];
};

union either {
    __u32 as_u32;
    __u8 as_bytes[4];
};

struct record {
    __u64 count;
    __s32 balance;
    char label[8];
    bool enabled;
    enum colour colour;
    struct inner inner;
    union either either;
    __u8 raw[5];
};

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __type(key, __u32);
    __type(value, struct record);
    __uint(max_entries, 2);
} records SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_HASH);
    __type(key, struct inner);
    __type(value, __s64);
    __uint(max_entries, 4);
} by_inner SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(key_size, sizeof(__u32));
    __uint(value_size, sizeof(__u32));
    __uint(max_entries, 4);
} sized_only SEC(".maps");

struct record sample = {
    .count = 12345678901ull,
    .balance = -42,
    .label = "hello",
    .enabled = true,
    .colour = BLUE,
    .inner = {.port = 8080, .delta = -3, .flag = 1, .level = 5, .hops = {1, 2, 3}},
    .either = {.as_u32 = 0x01020304},
    .raw = {9, 8, 7, 6, 5},
};
__s16 small_negative = -7;
const volatile char greeting[6] = "howdy";
const volatile enum colour favourite = GREEN;

SEC("xdp")
int fill(struct xdp_md *ctx)
{
    __u32 key = 1;
    bpf_map_update_elem(&records, &key, &sample, BPF_ANY);
    struct inner k = sample.inner;
    __s64 v = small_negative;
    bpf_map_update_elem(&by_inner, &k, &v, BPF_ANY);
    __u32 n = 77;
    bpf_map_update_elem(&sized_only, &n, &n, BPF_ANY);
    return favourite == GREEN ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
