#include "packets.h"

#include <string.h>

uint16_t pkt_get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

void pkt_put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

uint32_t pkt_sum(const uint8_t *data, size_t len, uint32_t sum)
{
    for (size_t i = 0; i + 1 < len; i += 2)
        sum += pkt_get16(data + i);
    if (len % 2)
        sum += (uint32_t)data[len - 1] << 8;
    return sum;
}

uint16_t pkt_fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

void pkt_fix_ipv4_checksum(uint8_t *ip)
{
    size_t ihl = (size_t)(ip[0] & 0x0f) * 4;
    pkt_put16(ip + 10, 0);
    pkt_put16(ip + 10, pkt_fold(pkt_sum(ip, ihl, 0)));
}

static size_t l4_check_offset(uint8_t proto)
{
    return proto == PKT_TCP ? 16 : proto == PKT_UDP ? 6 : 2;
}

static void fix_l4(uint8_t *l4, size_t l4_len, uint8_t proto, uint32_t pseudo)
{
    size_t off = l4_check_offset(proto);
    if (l4_len < off + 2)
        return;
    pkt_put16(l4 + off, 0);
    uint16_t check = pkt_fold(pkt_sum(l4, l4_len, pseudo));
    if (proto == PKT_UDP && check == 0)
        check = 0xffff;
    pkt_put16(l4 + off, check);
}

void pkt_fix_l4_checksum_v4(uint8_t *ip, size_t len)
{
    size_t ihl = (size_t)(ip[0] & 0x0f) * 4;
    size_t total = pkt_get16(ip + 2);
    if (total > len)
        total = len;
    size_t l4_len = total - ihl;
    uint8_t proto = ip[9];
    uint32_t pseudo = 0;
    if (proto != PKT_ICMP)
        pseudo = pkt_sum(ip + 12, 8, 0) + proto + (uint32_t)l4_len;
    fix_l4(ip + ihl, l4_len, proto, pseudo);
}

void pkt_fix_l4_checksum_v6(uint8_t *ip6, size_t len)
{
    size_t l4_len = pkt_get16(ip6 + 4);
    if (l4_len > len - 40)
        l4_len = len - 40;
    uint8_t proto = ip6[6];
    uint32_t pseudo = pkt_sum(ip6 + 8, 32, 0) + proto + (uint32_t)l4_len;
    fix_l4(ip6 + 40, l4_len, proto, pseudo);
}

static size_t put_eth(uint8_t *out, const struct pkt_flow *flow, uint16_t type)
{
    memcpy(out, flow->dmac, 6);
    memcpy(out + 6, flow->smac, 6);
    size_t off = 12;
    if (flow->vlan) {
        pkt_put16(out + off, PKT_ETH_VLAN);
        pkt_put16(out + off + 2, flow->vlan);
        off += 4;
    }
    pkt_put16(out + off, type);
    return off + 2;
}

static size_t put_l4(uint8_t *l4, const struct pkt_flow *flow)
{
    size_t hdr = flow->proto == PKT_TCP ? 20 : 8;
    memset(l4, 0, hdr);
    if (flow->proto == PKT_ICMP || flow->proto == PKT_ICMP6) {
        l4[0] = flow->proto == PKT_ICMP ? 8 : 128; /* echo request */
        pkt_put16(l4 + 4, flow->sport);
        pkt_put16(l4 + 6, flow->dport);
    } else {
        pkt_put16(l4, flow->sport);
        pkt_put16(l4 + 2, flow->dport);
        if (flow->proto == PKT_TCP) {
            l4[7] = 1;       /* sequence number */
            l4[12] = 5 << 4; /* data offset */
            l4[13] = 0x18;   /* PSH ACK */
            pkt_put16(l4 + 14, 65535);
        } else {
            pkt_put16(l4 + 4, (uint16_t)(8 + flow->payload));
        }
    }
    for (size_t i = 0; i < flow->payload; i++)
        l4[hdr + i] = (uint8_t)(i * 7 + 3);
    return hdr + flow->payload;
}

size_t pkt_build_v4(uint8_t *out, const struct pkt_flow *flow)
{
    size_t off = put_eth(out, flow, PKT_ETH_IP);
    uint8_t *ip = out + off;
    size_t l4_len = put_l4(ip + 20, flow);
    memset(ip, 0, 20);
    ip[0] = 0x45;
    pkt_put16(ip + 2, (uint16_t)(20 + l4_len));
    pkt_put16(ip + 4, 0x1234);
    pkt_put16(ip + 6, 0x4000); /* DF */
    ip[8] = flow->ttl;
    ip[9] = flow->proto;
    memcpy(ip + 12, flow->src, 4);
    memcpy(ip + 16, flow->dst, 4);
    pkt_fix_ipv4_checksum(ip);
    pkt_fix_l4_checksum_v4(ip, 20 + l4_len);
    return off + 20 + l4_len;
}

size_t pkt_build_v6(uint8_t *out, const struct pkt_flow *flow)
{
    size_t off = put_eth(out, flow, PKT_ETH_IP6);
    uint8_t *ip6 = out + off;
    size_t l4_len = put_l4(ip6 + 40, flow);
    memset(ip6, 0, 8);
    ip6[0] = 0x60;
    pkt_put16(ip6 + 4, (uint16_t)l4_len);
    ip6[6] = flow->proto;
    ip6[7] = flow->ttl;
    memcpy(ip6 + 8, flow->src, 16);
    memcpy(ip6 + 24, flow->dst, 16);
    pkt_fix_l4_checksum_v6(ip6, 40 + l4_len);
    return off + 40 + l4_len;
}

long pkt_diff(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i])
            return (long)i;
    return alen == blen ? -1 : (long)n;
}
