/* XDP helpers from a program: xdp_adjust_head/meta/tail at and past their limits, csum_diff
 * values and an incremental IPv4 checksum update, redirect and redirect_map results, and
 * fib_lookup. Results go to results[]: adjust 0..31, csum 32..39, redirect 40..47, fib 48..51,
 * bytes 52..58.
 * Run on a 64-byte Ethernet/IPv4/UDP packet by tests/test_helper_progs.c. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>

#include "results.h"
#include <bpf/bpf_endian.h>

#define AF_INET 2
#define MAX_PACKET 3520 /* 4096 - 256 headroom - 320 tailroom reserve */

RESULTS_MAP(64)

struct {
    __uint(type, BPF_MAP_TYPE_DEVMAP);
    __type(key, __u32);
    __type(value, __u32);
    __uint(max_entries, 4);
} ports SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_XSKMAP);
    __type(key, __u32);
    __type(value, __u32);
    __uint(max_entries, 4);
} xsks SEC(".maps");

static __always_inline __s64 packet_len(struct xdp_md *ctx)
{
    return (__s64)ctx->data_end - (__s64)ctx->data;
}

SEC("xdp")
int adjust(struct xdp_md *ctx)
{
    int len = (int)packet_len(ctx);
    /* head: 256 bytes of headroom, of which sizeof(struct xdp_frame) = 40 stay reserved */
    put(0, bpf_xdp_adjust_head(ctx, -217));
    put(1, bpf_xdp_adjust_head(ctx, -216));
    put(2, packet_len(ctx));
    put(3, bpf_xdp_adjust_head(ctx, 216));
    put(4, bpf_xdp_adjust_head(ctx, len - 13));
    put(5, bpf_xdp_adjust_head(ctx, len - 14));
    put(6, packet_len(ctx));
    put(7, bpf_xdp_adjust_head(ctx, 14 - len));
    /* meta: a multiple of 4, not below frame + 40, and it limits how far the head may move */
    put(8, bpf_xdp_adjust_meta(ctx, -2));
    put(9, bpf_xdp_adjust_meta(ctx, -220));
    put(10, bpf_xdp_adjust_meta(ctx, -32));
    put(11, (__s64)ctx->data - (__s64)ctx->data_meta);
    put(12, bpf_xdp_adjust_head(ctx, -185));
    put(13, bpf_xdp_adjust_head(ctx, -184));
    put(14, (__s64)ctx->data - (__s64)ctx->data_meta);
    put(15, bpf_xdp_adjust_head(ctx, 184));
    put(16, bpf_xdp_adjust_meta(ctx, 36));
    put(17, bpf_xdp_adjust_meta(ctx, 32));
    /* tail: at least ETH_HLEN bytes, at most up to the tailroom reserve; growth is zeroed */
    put(18, bpf_xdp_adjust_tail(ctx, 13 - len));
    put(19, bpf_xdp_adjust_tail(ctx, 14 - len));
    put(20, packet_len(ctx));
    put(21, bpf_xdp_adjust_tail(ctx, MAX_PACKET - 14 + 1));
    put(22, bpf_xdp_adjust_tail(ctx, MAX_PACKET - 14));
    put(23, packet_len(ctx));
    void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
    __u8 *byte = data + 100;
    if ((void *)(byte + 1) > data_end)
        return XDP_ABORTED;
    put(24, *byte);
    put(25, bpf_xdp_adjust_tail(ctx, 64 - MAX_PACKET));
    /* meta may be up to 255 bytes (skb_shared_info.meta_len), so 252 with the alignment */
    put(26, bpf_xdp_adjust_head(ctx, 40));
    put(27, bpf_xdp_adjust_meta(ctx, -256));
    put(28, bpf_xdp_adjust_meta(ctx, -252));
    put(29, bpf_xdp_adjust_meta(ctx, 252));
    put(30, bpf_xdp_adjust_head(ctx, -40));
    data = (void *)(long)ctx->data, data_end = (void *)(long)ctx->data_end;
    __u8 *mark = data + 20;
    if ((void *)(mark + 1) > data_end)
        return XDP_ABORTED;
    *mark = 0xab;
    return XDP_TX;
}

SEC("xdp")
int csum(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
    struct iphdr *ip = data + sizeof(struct ethhdr);
    if ((void *)(ip + 1) > data_end)
        return XDP_ABORTED;
    __s64 full = bpf_csum_diff(0, 0, (__be32 *)ip, sizeof(*ip), 0);
    put(32, full);
    __u32 old_dst = ip->daddr, new_dst = bpf_htonl(0xc0a80001);
    __s64 diff = bpf_csum_diff(&old_dst, 4, &new_dst, 4, ~((__u32)ip->check));
    put(33, diff);
    put(34, bpf_csum_diff(&old_dst, 3, &new_dst, 4, 0));
    put(35, bpf_csum_diff(0, 0, 0, 0, 0x1234));
    __u64 words[2] = {0xffffffffffffffffull, 0x0000000100000002ull};
    put(36, bpf_csum_diff(0, 0, (__be32 *)words, sizeof(words), 0));
    /* rewrite the destination with an incremental checksum update */
    __u32 sum = (__u32)diff;
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    ip->check = (__u16)~sum;
    ip->daddr = new_dst;
    return XDP_TX;
}

SEC("xdp")
int redir(struct xdp_md *ctx)
{
    put(40, bpf_redirect(1, 0));
    put(41, bpf_redirect(1, 1));
    put(42, bpf_redirect_map(&ports, 3, XDP_PASS));
    put(43, bpf_redirect_map(&ports, 0, 0));
    put(44, bpf_redirect_map(&xsks, 0, XDP_DROP));
    put(45, bpf_redirect_map(&ports, 0, 1 << 5));
    return bpf_redirect_map(&ports, 0, 0);
}

/* xdp_get_buff_len, xdp_load_bytes and xdp_store_bytes at and past the packet's end. */
SEC("xdp")
int bytes(struct xdp_md *ctx)
{
    __u8 buf[8] = {};
    __u32 len = bpf_xdp_get_buff_len(ctx);
    put(52, len);
    put(53, bpf_xdp_load_bytes(ctx, len - 8, buf, sizeof(buf)));
    put(54, buf[0] | buf[7] << 8);
    put(55, bpf_xdp_load_bytes(ctx, len - 7, buf, sizeof(buf)));
    put(56, bpf_xdp_load_bytes(ctx, 0x10000, buf, sizeof(buf)));
    __builtin_memcpy(buf, "XDPVMXDP", 8);
    put(57, bpf_xdp_store_bytes(ctx, 2, buf, sizeof(buf)));
    put(58, bpf_xdp_store_bytes(ctx, len - 4, buf, sizeof(buf)));
    return XDP_TX;
}

/* Routes the packet by its destination with the user-supplied table (docs/HELPERS.md). */
SEC("xdp")
int fib(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    struct iphdr *ip = data + sizeof(*eth);
    if ((void *)(ip + 1) > data_end)
        return XDP_ABORTED;
    struct bpf_fib_lookup params = {};
    params.family = AF_INET;
    params.tos = ip->tos;
    params.l4_protocol = ip->protocol;
    params.tot_len = bpf_ntohs(ip->tot_len);
    params.ipv4_src = ip->saddr;
    params.ipv4_dst = ip->daddr;
    params.ifindex = ctx->ingress_ifindex;
    long rc = bpf_fib_lookup(ctx, &params, sizeof(params), 0);
    put(48, rc);
    put(49, params.ifindex);
    put(50, bpf_fib_lookup(ctx, &params, sizeof(params) - 4, 0));
    if (rc != BPF_FIB_LKUP_RET_SUCCESS)
        return XDP_PASS;
    __builtin_memcpy(eth->h_dest, params.dmac, ETH_ALEN);
    __builtin_memcpy(eth->h_source, params.smac, ETH_ALEN);
    return bpf_redirect(params.ifindex, 0);
}

char LICENSE[] SEC("license") = "GPL";
