/* CO-RE: ctx fields read through a preserve_access_index struct emit CO-RE relocations, which
 * libbpf resolves against kernel BTF; xdpvm keeps the compiled offsets (and warns). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct xdp_md___mine {
    __u32 data;
    __u32 data_end;
} __attribute__((preserve_access_index));

SEC("xdp")
int core_length(struct xdp_md *ctx)
{
    struct xdp_md___mine *md = (void *)ctx;
    __u32 len = md->data_end - md->data;
    return len > 100 ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
