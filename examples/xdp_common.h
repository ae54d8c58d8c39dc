/* Shared pieces of the example XDP programs: header parsing with bounds checks the
 * verifier understands, and RFC 1624 incremental checksum updates. */
#ifndef XDPVM_EXAMPLES_COMMON_H
#define XDPVM_EXAMPLES_COMMON_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#ifndef ETH_P_8021Q
#define ETH_P_8021Q 0x8100
#endif
#ifndef ETH_P_8021AD
#define ETH_P_8021AD 0x88A8
#endif

struct vlan_hdr {
    __be16 tci;
    __be16 encapsulated_proto;
};

/* A pointer plus the header it claims, valid only if the whole header is before data_end. */
#define HEADER_FITS(ptr, data_end) ((void *)((ptr) + 1) <= (data_end))

/* Fold a 32-bit one's complement sum to 16 bits. */
static __always_inline __u16 csum_fold32(__u32 sum)
{
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    return (__u16)sum;
}

/* RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), for one 16-bit field changing from old to new
 * (all values in network byte order, as stored in the packet). */
static __always_inline __u16 csum_replace16(__u16 check, __u16 old, __u16 new)
{
    __u32 sum = (__u16)~check;
    sum += (__u16)~old;
    sum += new;
    return (__u16)~csum_fold32(sum);
}

/* Same for a 32-bit field (two 16-bit words). */
static __always_inline __u16 csum_replace32(__u16 check, __u32 old, __u32 new)
{
    __u32 sum = (__u16)~check;
    sum += (__u16)~(old >> 16) + (__u16)~(old & 0xffff);
    sum += (new >> 16) + (new & 0xffff);
    return (__u16)~csum_fold32(sum);
}

/* Parse Ethernet and up to two VLAN tags; returns the inner ethertype (network order) and
 * sets *l3 to the header after them, or returns 0 when the frame is too short. */
static __always_inline __be16 parse_eth(void *data, void *data_end, void **l3)
{
    struct ethhdr *eth = data;
    if (!HEADER_FITS(eth, data_end))
        return 0;
    __be16 proto = eth->h_proto;
    void *cursor = eth + 1;
#pragma unroll
    for (int i = 0; i < 2; i++) {
        if (proto != bpf_htons(ETH_P_8021Q) && proto != bpf_htons(ETH_P_8021AD))
            break;
        struct vlan_hdr *vlan = cursor;
        if (!HEADER_FITS(vlan, data_end))
            return 0;
        proto = vlan->encapsulated_proto;
        cursor = vlan + 1;
    }
    *l3 = cursor;
    return proto;
}

#endif
