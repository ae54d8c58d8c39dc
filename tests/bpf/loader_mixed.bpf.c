/* An object mixing a program type xdpvm runs (socket filter) with one it does not
 * (tracepoint): the loader skips the latter with a warning and loads the rest. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("tracepoint/syscalls/sys_enter_write")
int on_write(void *ctx)
{
    return 0;
}

SEC("socket")
int keep_short(struct __sk_buff *skb)
{
    return 64;
}

char LICENSE[] SEC("license") = "GPL";
