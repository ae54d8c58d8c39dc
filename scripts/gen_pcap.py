#!/usr/bin/env python3
"""Generate the bundled mixed-traffic capture (deterministic; no fetched captures).

Usage: gen_pcap.py OUT [--format pcap|pcapng] [--count N]

Traffic: IPv4 and IPv6 TCP/UDP/ICMP with valid checksums and assorted TTLs (incl. 1 and 0),
flows to the load-balancer VIPs (10.0.0.100, fd00::100), 802.1Q and QinQ tagged frames, ARP,
frames truncated at every layer, malformed IPv4 (bad version, IHL < 5), and one record whose
capture length is shorter than its wire length. Addresses come from documentation/private
ranges; nothing here is ever sent anywhere.
"""
import argparse
import random
import struct

ETH_IP, ETH_IP6, ETH_ARP, ETH_VLAN, ETH_QINQ = 0x0800, 0x86DD, 0x0806, 0x8100, 0x88A8
TCP, UDP, ICMP, ICMP6 = 6, 17, 1, 58

MAC_A = bytes.fromhex("020000000001")
MAC_B = bytes.fromhex("020000000002")
VIP4 = bytes([10, 0, 0, 100])
VIP6 = bytes.fromhex("fd000000000000000000000000000100")


def csum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def eth(dst, src, ethertype, payload, vlans=()):
    hdr = dst + src
    for tpid, vid in vlans:
        hdr += struct.pack("!HH", tpid, vid)
    return hdr + struct.pack("!H", ethertype) + payload


def l4(proto, src_ip, dst_ip, sport, dport, payload, v6=False, icmp_type=8):
    if proto == TCP:
        hdr = struct.pack("!HHIIBBHHH", sport, dport, 1000, 0, 5 << 4, 0x18, 65535, 0, 0)
    elif proto == UDP:
        hdr = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0)
    else:  # ICMP echo (v4 type 8, v6 type 128)
        hdr = struct.pack("!BBHHH", icmp_type, 0, 0, sport, dport)
    seg = hdr + payload
    if proto == ICMP and not v6:
        check = csum(seg)
    else:
        if v6:
            pseudo = src_ip + dst_ip + struct.pack("!IxxxB", len(seg), proto)
        else:
            pseudo = src_ip + dst_ip + struct.pack("!xBH", proto, len(seg))
        check = csum(pseudo + seg)
        if proto == UDP and check == 0:
            check = 0xFFFF
    offset = {TCP: 16, UDP: 6}.get(proto, 2)
    return seg[:offset] + struct.pack("!H", check) + seg[offset + 2:]


def ipv4(src, dst, proto, payload, ttl=64, ident=0, version=4, ihl=5, frag=0):
    total = ihl * 4 + len(payload) if ihl >= 5 else 20 + len(payload)
    hdr = struct.pack("!BBHHHBBH4s4s", (version << 4) | ihl, 0, total, ident, frag, ttl, proto, 0, src, dst)
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    return hdr + payload


def ipv6(src, dst, nexthdr, payload, hop_limit=64):
    return struct.pack("!IHBB", 6 << 28, len(payload), nexthdr, hop_limit) + src + dst + payload


def arp_request(src_mac, src_ip, target_ip):
    return struct.pack("!HHBBH", 1, ETH_IP, 6, 4, 1) + src_mac + src_ip + b"\0" * 6 + target_ip


def build_packets(count, rng):
    packets = []  # (frame bytes, wire length)

    def add(frame, wire_len=None):
        packets.append((frame, wire_len or len(frame)))

    def v4addr(net=(192, 0, 2)):
        return bytes(list(net) + [rng.randrange(1, 255)])

    def v6addr(prefix="20010db8"):
        return bytes.fromhex(prefix) + bytes(rng.randrange(256) for _ in range(12))

    kinds = ["v4tcp", "v4udp", "v4icmp", "v6tcp", "v6udp", "v6icmp", "vip4", "vip6", "vlan4",
             "vlan6", "qinq", "arp", "ttl1", "ttl0", "frag"]
    while len(packets) < count - 12:
        kind = kinds[len(packets) % len(kinds)]
        body = bytes(rng.randrange(256) for _ in range(rng.choice([0, 6, 18, 64, 200, 1200])))
        sport, dport = rng.randrange(1024, 65535), rng.choice([22, 53, 80, 443, 8080])
        s4, d4 = v4addr(), v4addr((198, 51, 100))
        s6, d6 = v6addr(), v6addr()
        if kind in ("v4tcp", "v4udp", "v4icmp", "ttl1", "ttl0", "vip4", "vlan4", "qinq", "frag"):
            proto = {"v4udp": UDP, "v4icmp": ICMP}.get(kind, rng.choice([TCP, UDP]) if kind != "v4tcp" else TCP)
            dst = VIP4 if kind == "vip4" else d4
            ttl = {"ttl1": 1, "ttl0": 0}.get(kind, rng.choice([64, 63, 2, 128, 255]))
            frag = 0x2000 if kind != "frag" else 185  # DF-less first fragment / later fragment
            ip = ipv4(s4, dst, proto, l4(proto, s4, dst, sport, dport, body), ttl=ttl,
                      ident=len(packets) & 0xFFFF, frag=frag if kind == "frag" else 0)
            vlans = {"vlan4": [(ETH_VLAN, rng.choice([100, 200, 300]))],
                     "qinq": [(ETH_QINQ, 10), (ETH_VLAN, 100)]}.get(kind, [])
            add(eth(MAC_B, MAC_A, ETH_IP, ip, vlans))
        elif kind == "arp":
            add(eth(b"\xff" * 6, MAC_A, ETH_ARP, arp_request(MAC_A, s4, d4)))
        else:
            proto = {"v6udp": UDP, "v6icmp": ICMP6}.get(kind, TCP if kind != "vlan6" else UDP)
            dst = VIP6 if kind == "vip6" else d6
            seg = l4(proto, s6, dst, sport, dport, body, v6=True, icmp_type=128)
            vlans = [(ETH_VLAN, 200)] if kind == "vlan6" else []
            add(eth(MAC_B, MAC_A, ETH_IP6, ipv6(s6, dst, proto, seg), vlans))

    s4, d4 = v4addr(), v4addr((198, 51, 100))
    good = eth(MAC_B, MAC_A, ETH_IP, ipv4(s4, d4, TCP, l4(TCP, s4, d4, 1234, 80, b"x" * 40)))
    add(good[:1])                        # one byte
    add(good[:10])                       # shorter than Ethernet
    add(good[:14])                       # Ethernet only
    add(good[:20])                       # IPv4 header cut short
    add(good[:34 + 10])                  # TCP header cut short
    add(eth(MAC_B, MAC_A, ETH_VLAN, b"\x00"))  # VLAN tag cut short
    add(eth(MAC_B, MAC_A, ETH_IP, ipv4(s4, d4, UDP, b"\0" * 8, version=5)))  # bad version
    add(eth(MAC_B, MAC_A, ETH_IP, ipv4(s4, d4, UDP, b"\0" * 8, ihl=3)))      # IHL < 5
    add(eth(MAC_B, MAC_A, ETH_IP6, ipv6(v6addr(), v6addr(), TCP, b"")[:30]))  # IPv6 cut short
    add(eth(MAC_B, MAC_A, 0x88B5, b"local experimental ethertype"))          # unknown L3
    add(good[:60], wire_len=len(good) + 100)   # snapped: caplen < wire length
    add(eth(MAC_B, MAC_A, ETH_IP, ipv4(VIP4, VIP4, UDP, l4(UDP, VIP4, VIP4, 7, 7, b""))))
    return packets


def write_pcap(path, packets, base_time):
    with open(path, "wb") as out:
        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, (frame, wire_len) in enumerate(packets):
            usec = base_time * 1000000 + i * 1000
            out.write(struct.pack("<IIII", usec // 1000000, usec % 1000000, len(frame), wire_len))
            out.write(frame)


def write_pcapng(path, packets, base_time):
    def block(kind, body):
        body += b"\0" * (-len(body) % 4)
        length = 12 + len(body)
        return struct.pack("<II", kind, length) + body + struct.pack("<I", length)

    with open(path, "wb") as out:
        out.write(block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1)))
        out.write(block(0x00000001, struct.pack("<HHI", 1, 0, 65535)))
        for i, (frame, wire_len) in enumerate(packets):
            usec = base_time * 1000000 + i * 1000
            out.write(block(0x00000006, struct.pack("<IIIII", 0, usec >> 32, usec & 0xFFFFFFFF,
                                                    len(frame), wire_len) + frame))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("--format", choices=["pcap", "pcapng"], default="pcap")
    parser.add_argument("--count", type=int, default=240)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    packets = build_packets(max(args.count, 13), random.Random(args.seed))
    base_time = 1767225600  # 2026-01-01T00:00:00Z
    (write_pcapng if args.format == "pcapng" else write_pcap)(args.out, packets, base_time)


if __name__ == "__main__":
    main()
