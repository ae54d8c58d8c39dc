/* JIT micro-benchmark: ALU loop (logic in bench/micro/micro.h). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "../micro/micro.h"

SEC("xdp")
int micro_alu_prog(struct xdp_md *ctx)
{
    return micro_alu((void *)(long)ctx->data, (void *)(long)ctx->data_end);
}

char LICENSE[] SEC("license") = "GPL";
