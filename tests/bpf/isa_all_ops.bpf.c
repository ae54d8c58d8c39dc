/* Every instruction form of the ISA, written as inline assembly so the disassembler can be
 * compared with llvm-objdump on each of them. Never run: it only has to assemble. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int alu_ops(struct xdp_md *ctx)
{
    asm volatile(
        /* ALU64 and ALU32, immediate and register sources, edge immediates */
        "r0 = 0x1\n r1 = -1\n r2 = 0x7fffffff\n r3 = -0x80000000\n"
        "w0 = 0x2\n w1 = -1\n w9 = w8\n r9 = r10\n"
        "r1 += 5\n r1 -= r2\n r1 *= -3\n r1 /= r3\n r1 %%= 7\n r1 |= r4\n r1 &= 0xff\n"
        "r1 <<= 63\n r1 >>= r5\n r1 ^= -1\n r1 s>>= 3\n r1 s/= r2\n r1 s%%= -9\n r1 s/= 6\n r1 s%%= r3\n"
        "w1 += 5\n w1 -= w2\n w1 *= -3\n w1 /= w3\n w1 %%= 7\n w1 |= w4\n w1 &= 0xff\n"
        "w1 <<= 31\n w1 >>= w5\n w1 ^= -1\n w1 s>>= w3\n w1 s/= w2\n w1 s%%= -9\n w1 s/= 6\n w1 s%%= w3\n"
        "r1 = -r1\n w2 = -w2\n"
        /* sign-extending moves and byte swaps */
        "r1 = (s8)r2\n r3 = (s16)r4\n r5 = (s32)r6\n w7 = (s8)w8\n w9 = (s16)w0\n"
        "r1 = be16 r1\n r2 = be32 r2\n r3 = be64 r3\n r4 = le16 r4\n r5 = le32 r5\n r6 = le64 r6\n"
        "r7 = bswap16 r7\n r8 = bswap32 r8\n r9 = bswap64 r9\n"
        /* 64-bit immediates */
        "r1 = 0x123456789abcdef0 ll\n r2 = -1 ll\n r3 = 0 ll\n r4 = 0x80000000 ll\n"
        "exit\n" ::: "r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "memory");
    return 0;
}

SEC("xdp")
int jump_ops(struct xdp_md *ctx)
{
    asm volatile(
        "1:\n"
        "if r1 == 0x1 goto 2f\n if r1 != r2 goto 1b\n if r1 > -1 goto 2f\n if r1 >= r3 goto 1b\n"
        "if r1 < 7 goto 2f\n if r1 <= r4 goto 1b\n if r1 s> -5 goto 2f\n if r1 s>= r5 goto 1b\n"
        "if r1 s< 0x7fffffff goto 2f\n if r1 s<= r6 goto 1b\n if r1 & 0x8 goto 2f\n if r1 & r7 goto 1b\n"
        "if w1 == 0x1 goto 2f\n if w1 != w2 goto 1b\n if w1 > -1 goto 2f\n if w1 >= w3 goto 1b\n"
        "if w1 < 7 goto 2f\n if w1 <= w4 goto 1b\n if w1 s> -5 goto 2f\n if w1 s>= w5 goto 1b\n"
        "if w1 s< 2 goto 2f\n if w1 s<= w6 goto 1b\n if w1 & 0x8 goto 2f\n if w1 & w7 goto 1b\n"
        "goto 1b\n gotol 2f\n gotol 1b\n goto +0\n"
        "call 1\n call 0x7fffffff\n callx r3\n"
        "2:\n exit\n" ::: "r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "memory");
    return 0;
}

SEC("xdp")
int memory_ops(struct xdp_md *ctx)
{
    asm volatile(
        "r1 = *(u8 *)(r2 + 0)\n r1 = *(u16 *)(r2 - 2)\n r1 = *(u32 *)(r2 + 0x7fff)\n"
        "r1 = *(u64 *)(r10 - 0x8000)\n"
        "r1 = *(s8 *)(r2 + 1)\n r1 = *(s16 *)(r2 - 2)\n r1 = *(s32 *)(r2 + 4)\n"
        "*(u8 *)(r10 - 1) = 0x7f\n *(u16 *)(r10 - 2) = -1\n *(u32 *)(r10 - 4) = 0x12345678\n"
        "*(u64 *)(r10 - 8) = -0x80000000\n"
        "*(u8 *)(r10 - 1) = r1\n *(u16 *)(r10 - 2) = r2\n *(u32 *)(r10 - 4) = r3\n *(u64 *)(r10 - 8) = r4\n"
        /* atomics, 64 and 32 bit, with and without fetch */
        "lock *(u64 *)(r10 - 8) += r1\n lock *(u64 *)(r10 - 8) |= r1\n"
        "lock *(u64 *)(r10 - 8) &= r1\n lock *(u64 *)(r10 - 8) ^= r1\n"
        "r1 = atomic_fetch_add((u64 *)(r10 - 8), r1)\n r2 = atomic_fetch_or((u64 *)(r10 - 8), r2)\n"
        "r3 = atomic_fetch_and((u64 *)(r10 - 8), r3)\n r4 = atomic_fetch_xor((u64 *)(r10 - 8), r4)\n"
        "r5 = xchg_64(r10 - 8, r5)\n r0 = cmpxchg_64(r10 - 8, r0, r6)\n"
        "lock *(u32 *)(r10 - 4) += w1\n lock *(u32 *)(r10 - 4) |= w1\n"
        "lock *(u32 *)(r10 - 4) &= w1\n lock *(u32 *)(r10 - 4) ^= w1\n"
        "w1 = atomic_fetch_add((u32 *)(r10 - 4), w1)\n w2 = atomic_fetch_or((u32 *)(r10 - 4), w2)\n"
        "w3 = atomic_fetch_and((u32 *)(r10 - 4), w3)\n w4 = atomic_fetch_xor((u32 *)(r10 - 4), w4)\n"
        "w5 = xchg32_32(r10 - 4, w5)\n w0 = cmpxchg32_32(r10 - 4, w0, w6)\n"
        "exit\n" ::: "r0", "r1", "r2", "r3", "r4", "r5", "r6", "memory");
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
