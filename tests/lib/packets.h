/* Packet building for tests and benchmarks: Ethernet, 802.1Q, IPv4, IPv6, TCP, UDP, ICMP with
 * checksums computed from scratch (never incrementally), so expected output bytes are
 * independent of the programs under test. Addresses and ports are in network byte order in
 * the byte arrays, host order in integer arguments. */
#ifndef XDPVM_TESTLIB_PACKETS_H
#define XDPVM_TESTLIB_PACKETS_H

#include <stddef.h>
#include <stdint.h>

enum { PKT_ETH_IP = 0x0800, PKT_ETH_IP6 = 0x86dd, PKT_ETH_ARP = 0x0806, PKT_ETH_VLAN = 0x8100 };
enum { PKT_TCP = 6, PKT_UDP = 17, PKT_ICMP = 1, PKT_ICMP6 = 58 };

struct pkt_flow {
    uint8_t dmac[6], smac[6];
    uint16_t vlan;          /* 0: untagged; else one 802.1Q tag with this TCI */
    uint8_t proto;          /* PKT_TCP, PKT_UDP, PKT_ICMP (v4) / PKT_ICMP6 (v6) */
    uint8_t src[16], dst[16]; /* IPv4 uses the first 4 bytes */
    uint16_t sport, dport;
    uint8_t ttl;            /* hop limit for IPv6 */
    size_t payload;         /* payload bytes after the L4 header (a fixed pattern) */
};

/* One's complement sum of data (big-endian 16-bit words) added to sum, not folded. */
uint32_t pkt_sum(const uint8_t *data, size_t len, uint32_t sum);
/* Fold and complement. */
uint16_t pkt_fold(uint32_t sum);

/* Build a frame into out (room for 2048 bytes); returns its length. */
size_t pkt_build_v4(uint8_t *out, const struct pkt_flow *flow);
size_t pkt_build_v6(uint8_t *out, const struct pkt_flow *flow);

/* Recompute from scratch the IPv4 header checksum of the header at ip, and the TCP/UDP/ICMP
 * checksum of the IPv4 or IPv6 packet at ip (UDP: 0 becomes 0xffff). len: bytes from ip to
 * the end of the frame. */
void pkt_fix_ipv4_checksum(uint8_t *ip);
void pkt_fix_l4_checksum_v4(uint8_t *ip, size_t len);
void pkt_fix_l4_checksum_v6(uint8_t *ip6, size_t len);

uint16_t pkt_get16(const uint8_t *p);
void pkt_put16(uint8_t *p, uint16_t v);

/* First differing offset of two buffers, or -1 when equal (lengths included). */
long pkt_diff(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen);

#endif
