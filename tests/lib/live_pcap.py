#!/usr/bin/env python3
"""Writes small pcaps for the live tests, and reads them back.

  live_pcap.py make OUT --smac M --dmac M --src IP --dst IP [--count N] [--ttl T,...] [--vlan VID]
      IPv4/UDP frames, one per TTL in turn, payload numbered so each packet is distinct;
      with an 802.1Q tag when --vlan is given.
  live_pcap.py dump FILE [--smac M] [--swap]
      one line per packet: hex of the frame (for comparing bytes between runs); only frames
      from source MAC M; --swap: with the Ethernet addresses exchanged (a reflector's output).
  live_pcap.py check-router FILE --smac M --dmac M --ttl-in T
      checks every IPv4 frame: MACs as given, TTL = T-1, valid IPv4 header checksum; prints
      "ok N" or the first problem.
"""
import struct, sys

def csum(data):
    if len(data) % 2: data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16: s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF

def mac(text): return bytes(int(x, 16) for x in text.split(":"))
def ip(text): return bytes(int(x) for x in text.split("."))

def frame(smac, dmac, src, dst, ttl, seq):
    payload = struct.pack("!I", seq) + bytes(range(32))
    udp = struct.pack("!HHHH", 4000 + seq % 100, 5000, 8 + len(payload), 0) + payload
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), seq & 0xFFFF, 0, ttl, 17, 0, src, dst)
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    return dmac + smac + b"\x08\x00" + hdr + udp

def write(path, frames):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, fr in enumerate(frames):
            f.write(struct.pack("<IIII", i, 0, len(fr), len(fr)) + fr)

def read(path):
    data = open(path, "rb").read()
    magic = struct.unpack("<I", data[:4])[0]
    if magic == 0x0A0D0D0A:  # pcapng (dumpcap's default): enhanced packet blocks
        out, off = [], 0
        while off + 12 <= len(data):
            btype, blen = struct.unpack("<II", data[off:off + 8])
            if btype == 6:
                caplen = struct.unpack("<I", data[off + 20:off + 24])[0]
                out.append(data[off + 28:off + 28 + caplen])
            off += blen
        return out
    out, off = [], 24
    while off + 16 <= len(data):
        caplen = struct.unpack("<I", data[off + 8:off + 12])[0]
        out.append(data[off + 16:off + 16 + caplen]); off += 16 + caplen
    return out

def opts(argv):
    o = {}
    for i in range(0, len(argv), 2): o[argv[i].lstrip("-")] = argv[i + 1]
    return o

def main():
    cmd = sys.argv[1]
    if cmd == "make":
        o = opts(sys.argv[3:])
        ttls = [int(t) for t in o.get("ttl", "64").split(",")]
        n = int(o.get("count", len(ttls)))
        frames = [frame(mac(o["smac"]), mac(o["dmac"]), ip(o["src"]), ip(o["dst"]),
                        ttls[i % len(ttls)], i) for i in range(n)]
        if "vlan" in o:
            tag = b"\x81\x00" + struct.pack("!H", int(o["vlan"]))
            frames = [f[:12] + tag + f[12:] for f in frames]
        write(sys.argv[2], frames)
    elif cmd == "dump":
        args = sys.argv[3:]
        swap = "--swap" in args
        if swap: args.remove("--swap")
        o = opts(args)
        for fr in read(sys.argv[2]):
            if "smac" in o and fr[6:12] != mac(o["smac"]): continue
            if swap: fr = fr[6:12] + fr[0:6] + fr[12:]
            print(fr.hex())
    elif cmd == "check-router":
        o = opts(sys.argv[3:])
        n = 0
        for i, fr in enumerate(read(sys.argv[2])):
            if fr[12:14] != b"\x08\x00": continue
            if fr[0:6] != mac(o["dmac"]) or fr[6:12] != mac(o["smac"]):
                print("packet %d: MACs %s -> %s" % (i, fr[6:12].hex(":"), fr[0:6].hex(":"))); return 1
            if fr[22] != int(o["ttl-in"]) - 1:
                print("packet %d: TTL %d" % (i, fr[22])); return 1
            if csum(fr[14:34]) != 0:
                print("packet %d: bad IPv4 checksum" % i); return 1
            n += 1
        print("ok %d" % n)
    return 0

sys.exit(main())
