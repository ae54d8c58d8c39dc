/* Logic of the JIT micro-benchmarks, written once and compiled twice: by clang -target bpf
 * into the XDP programs bench/bpf/micro_*.bpf.c (run by the interpreter, the JIT and the
 * kernel), and by clang -O2 for the host in bench/micro/native.c (the practical limit).
 * The includer defines MICRO_COUNTER_LOOKUP(key) (map lookup or plain array index). */
#ifndef XDPVM_BENCH_MICRO_H
#define XDPVM_BENCH_MICRO_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/udp.h>

#define MICRO_HTONS(x) ((__u16)__builtin_bswap16((__u16)(x)))
#define MICRO_COUNTERS 256

struct micro_counter {
    __u64 packets;
    __u64 bytes;
};

/* ALU loop: 64 rounds of xorshift-multiply mixing seeded from the frame length. */
static __attribute__((always_inline)) inline int micro_alu(void *data, void *data_end)
{
    __u64 h = (__u64)(data_end - data) * 0x9e3779b97f4a7c15ull;
    for (int i = 0; i < 64; i++) {
        h ^= h << 13;
        h ^= h >> 7;
        h ^= h << 17;
        h += (__u64)i * 0xbf58476d1ce4e5b9ull;
    }
    return (h & 1) ? XDP_PASS : XDP_DROP;
}

/* Map lookup: count the frame in a per-destination-MAC-byte array slot. */
#define MICRO_MAP_BODY(data, data_end)                                                       \
    do {                                                                                     \
        struct ethhdr *eth_ = (data);                                                        \
        if ((void *)(eth_ + 1) > (data_end))                                                 \
            return XDP_ABORTED;                                                              \
        __u32 key_ = eth_->h_dest[5];                                                        \
        struct micro_counter *c_ = MICRO_COUNTER_LOOKUP(key_);                               \
        if (!c_)                                                                             \
            return XDP_ABORTED;                                                              \
        c_->packets += 1;                                                                    \
        c_->bytes += (__u64)((data_end) - (data));                                           \
        return XDP_PASS;                                                                     \
    } while (0)

/* Packet parse: Ethernet, IPv4 (header checksum verified), TCP/UDP ports; drops DNS and
 * telnet, passes the rest. */
static __attribute__((always_inline)) inline int micro_parse(void *data, void *data_end)
{
    struct ethhdr *eth = data;
    if ((void *)(eth + 1) > data_end)
        return XDP_ABORTED;
    if (eth->h_proto != MICRO_HTONS(ETH_P_IP))
        return XDP_PASS;
    struct iphdr *ip = (void *)(eth + 1);
    if ((void *)(ip + 1) > data_end || ip->ihl != 5)
        return XDP_DROP;
    __u32 sum = 0;
    __u16 *words = (__u16 *)ip;
    for (int i = 0; i < 10; i++)
        sum += words[i];
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    if ((__u16)~sum != 0)
        return XDP_DROP;
    __u16 port;
    if (ip->protocol == IPPROTO_UDP) {
        struct udphdr *udp = (void *)(ip + 1);
        if ((void *)(udp + 1) > data_end)
            return XDP_DROP;
        port = udp->dest;
    } else if (ip->protocol == IPPROTO_TCP) {
        struct tcphdr *tcp = (void *)(ip + 1);
        if ((void *)(tcp + 1) > data_end)
            return XDP_DROP;
        port = tcp->dest;
    } else {
        return XDP_PASS;
    }
    if (port == MICRO_HTONS(53) || port == MICRO_HTONS(23))
        return XDP_DROP;
    return XDP_PASS;
}

#endif
