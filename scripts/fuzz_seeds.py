#!/usr/bin/env python3
"""Seed corpora of the fuzz targets (fuzz/fuzz_<name>.c).

  fuzz_seeds.py generate [DIR]   write the seeds as text (.s) and hex (.hex) files under
                                 DIR (default fuzz/seeds/<name>/); they are committed
  fuzz_seeds.py decode SRC DST   turn the seeds of SRC into raw files in DST (a libFuzzer
                                 corpus); a missing SRC is no error

Everything here is written from scratch: instructions encoded from their fields, captures
built from the pcap and pcapng layouts. Keep the seeds tiny: they only point the fuzzer at
the interesting paths and are replayed by the test suite (tests/test_fuzz_seeds.sh).
"""
import os
import struct
import sys

# ---- BPF instructions ----

def insn(code, dst=0, src=0, off=0, imm=0):
    return struct.pack('<BBhi', code, (src << 4) | dst, off, imm & 0xffffffff if imm >= 0 else imm)

def lddw(dst, value, src=0, second_imm=None):
    lo, hi = value & 0xffffffff, (value >> 32) & 0xffffffff
    if second_imm is not None:
        hi = second_imm
    return (struct.pack('<BBhI', 0x18, (src << 4) | dst, 0, lo) +
            struct.pack('<BBhI', 0, 0, 0, hi))

def mov(dst, imm): return insn(0xb7, dst, imm=imm)
def movr(dst, src): return insn(0xbf, dst, src)
def add(dst, imm): return insn(0x07, dst, imm=imm)
def call(helper): return insn(0x85, imm=helper)
def exit_(): return insn(0x95)
def jeq(dst, imm, off): return insn(0x15, dst, off=off, imm=imm)
def jgt_reg(dst, src, off): return insn(0x2d, dst, src, off=off)
def stw(dst, off, imm): return insn(0x62, dst, off=off, imm=imm)
def stdw(dst, off, imm): return insn(0x7a, dst, off=off, imm=imm)
def ldxw(dst, src, off): return insn(0x61, dst, src, off=off)
def ldxb(dst, src, off): return insn(0x71, dst, src, off=off)

MAP_FD, MAP_VALUE, FUNC = 1, 2, 4
# fuzz_interp's maps by index: lddw src=1/2 imm = index
ARR, HASH, RB, QUEUE, PROGS, DEVS, LPM, PCPU = range(8)

def prog(*parts):
    return b''.join(parts)

PROGRAMS = {
    'pass': prog(mov(0, 2), exit_()),
    'map_lookup': prog(stw(10, -4, 0), movr(2, 10), add(2, -4), lddw(1, ARR, MAP_FD), call(1),
                       jeq(0, 0, 1), stdw(0, 0, 7), mov(0, 2), exit_()),
    'map_update': prog(stw(10, -4, 1), stdw(10, -16, 5), lddw(1, HASH, MAP_FD), movr(2, 10),
                       add(2, -4), movr(3, 10), add(3, -16), mov(4, 0), call(2), exit_()),
    'trace_printk': prog(stw(10, -8, 0x25206425), stw(10, -4, 0x0a73), movr(1, 10), add(1, -8),
                         mov(2, 8), mov(3, 42), movr(4, 10), add(4, -4), call(6), exit_()),
    'ringbuf': prog(lddw(1, RB, MAP_FD), mov(2, 8), mov(3, 0), call(131), jeq(0, 0, 4),
                    stdw(0, 0, 1), movr(1, 0), mov(2, 0), call(132), mov(0, 2), exit_()),
    'adjust_head': prog(movr(6, 1), mov(2, 14), call(44), ldxw(2, 6, 0), ldxw(3, 6, 4),
                        mov(0, 2), exit_()),
    'loop': prog(stdw(10, -8, 0), mov(1, 4), lddw(2, 0, FUNC, second_imm=0), movr(3, 10),
                 add(3, -8), mov(4, 0), call(181), exit_()),
    'tail_call': prog(lddw(2, PROGS, MAP_FD), mov(3, 0), call(12), mov(0, 1), exit_()),
    'redirect_map': prog(lddw(1, DEVS, MAP_FD), mov(2, 0), mov(3, 2), call(51), exit_()),
    'parse': prog(ldxw(2, 1, 0), ldxw(3, 1, 4), movr(4, 2), add(4, 14), jgt_reg(4, 3, 3),
                  ldxb(0, 2, 12), add(0, 0), exit_(), mov(0, 1), exit_()),
    'map_value': prog(lddw(1, ARR, MAP_VALUE, second_imm=8), ldxw(0, 1, 0), exit_()),
    'queue': prog(stdw(10, -8, 9), lddw(1, QUEUE, MAP_FD), movr(2, 10), add(2, -8), mov(3, 0),
                  call(87), lddw(1, QUEUE, MAP_FD), movr(2, 10), add(2, -16), call(88), exit_()),
}

# 'loop': the callback must follow the main program; patch the lddw src=4 offset to it.
def _with_callback(code, lddw_index):
    callback = len(code) // 8
    code = code + prog(mov(0, 0), exit_())
    b = bytearray(code)
    struct.pack_into('<i', b, lddw_index * 8 + 4, callback - lddw_index - 1)
    return bytes(b)

PROGRAMS['loop'] = _with_callback(PROGRAMS['loop'], 2)

PACKET = bytes.fromhex('020000000001020000000002' '0800' '45000032000000004011'
                       '0000' '0a000001' '0a000002' '1f901f90001e0000') + bytes(16)

# ---- captures ----

def pcap(records, magic=0xa1b2c3d4, endian='<', snaplen=65535, linktype=1):
    out = struct.pack(endian + 'IHHiIII', magic, 2, 4, 0, 0, snaplen, linktype)
    for ts, data, wire_len in records:
        out += struct.pack(endian + 'IIII', ts, 0, len(data), wire_len) + data
    return out

def pcapng(packets):
    def block(btype, body):
        body += bytes(-len(body) % 4)
        total = 12 + len(body)
        return struct.pack('<II', btype, total) + body + struct.pack('<I', total)
    out = block(0x0a0d0d0a, struct.pack('<IHHq', 0x1a2b3c4d, 1, 0, -1))
    out += block(1, struct.pack('<HHI', 1, 0, 65535))
    for data in packets:
        out += block(6, struct.pack('<IIIII', 0, 0, 1, len(data), len(data)) + data)
    return out

SHORT = PACKET[:20]

CAPTURES = {
    'two_packets': pcap([(1, PACKET, len(PACKET)), (2, SHORT, 60)]),
    'nanosecond': pcap([(1, PACKET, len(PACKET))], magic=0xa1b23c4d),
    'big_endian': pcap([(1, SHORT, len(SHORT))], endian='>'),
    'truncated_record': pcap([(1, PACKET, len(PACKET))])[:-10],
    'caplen_above_snaplen': pcap([(1, PACKET, len(PACKET))], snaplen=16),
    'not_ethernet': pcap([(1, SHORT, len(SHORT))], linktype=101),
    'pcapng': pcapng([PACKET, SHORT]),
    'empty': pcap([]),
}

ASSEMBLY = {
    'alu': 'mov %r0, 1\nadd %r0, 2\nmul32 %r0, 3\nlsh %r0, 60\narsh %r0, 4\nneg %r0\nexit\n',
    'memory': 'stdw [%r10-8], 5\nldxdw %r1, [%r10-8]\nstxw [%r10-16], %r1\nldxh %r0, [%r10-16]\n'
              'lock fetch add [%r10-8], %r1\nexit\n',
    'jumps': 'mov %r0, 0\nmov %r1, 10\nloop:\nadd %r0, %r1\nsub %r1, 1\njne %r1, 0, loop\n'
             'jslt %r0, -1, +1\nja exit\nexit\n',
    'lddw_call': 'lddw %r1, 0x1122334455667788\ncall 1\ncall local func\nexit\nfunc:\nmov %r0, 7\nexit\n',
    'bytes': 'mov %r0, 0x1234\nbe16 %r0\nle32 %r0\nbswap64 %r0\nmovsx816 %r1, %r0\nexit\n',
    'errors': 'mov %r11, 1\nfoo %r0\nja nowhere\nexit\n',
}

def hexlines(data, width=16):
    return ''.join(data[i:i + width].hex() + '\n' for i in range(0, len(data), width))

def generate(root):
    def write(name, fname, text):
        d = os.path.join(root, name)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, fname), 'w') as f:
            f.write(text)
    header = '# generated by scripts/fuzz_seeds.py\n'
    for name, code in PROGRAMS.items():
        data = struct.pack('<H', len(PACKET)) + PACKET + code
        write('interp', name + '.hex', header + hexlines(data))
        write('disasm', name + '.hex', header + hexlines(code))
    # the decoder's refusals: unknown opcode, bad register, lddw cut in half
    write('disasm', 'invalid.hex', header + hexlines(insn(0xff) + insn(0xb7, 12) + lddw(1, 5)[:8]))
    for name, data in CAPTURES.items():
        write('pcap', name + '.hex', header + hexlines(data))
    for name, text in ASSEMBLY.items():
        write('asm', name + '.s', text)

def decode(src, dst):
    if not os.path.isdir(src):
        return
    os.makedirs(dst, exist_ok=True)
    for fname in sorted(os.listdir(src)):
        with open(os.path.join(src, fname), 'rb') as f:
            data = f.read()
        if fname.endswith('.hex'):
            text = b''.join(line.split(b'#')[0] for line in data.splitlines())
            data = bytes.fromhex(text.decode())
        with open(os.path.join(dst, 'seed_' + fname), 'wb') as f:
            f.write(data)

if __name__ == '__main__':
    if len(sys.argv) >= 2 and sys.argv[1] == 'generate':
        generate(sys.argv[2] if len(sys.argv) > 2 else 'fuzz/seeds')
    elif len(sys.argv) == 4 and sys.argv[1] == 'decode':
        decode(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
