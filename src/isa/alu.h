/* The ISA's arithmetic on concrete values, one definition for every component that computes
 * it: the interpreter's handlers and the verifier's constant folding (whose results must agree
 * with what the program then does when it runs).
 *
 * Binary operations are named after the XDPVM_ALU_BINARY_OPS rows of isa.h (xdpvm_alu64_ADD ..
 * xdpvm_alu32_ARSH) so that a table expansion can paste the name. 32-bit results are
 * zero-extended. Depends on nothing but libc.
 */
#ifndef XDPVM_ISA_ALU_H
#define XDPVM_ISA_ALU_H

#include <stdint.h>

/* Wrapping arithmetic, shift counts masked to the width (the ISA's rule, and what keeps C
 * shifts defined). */
#define XDPVM_ALU_FUNCS(W, T)                                                                      \
    static inline uint64_t xdpvm_alu##W##_ADD(T a, T b) { return (T)(a + b); }                     \
    static inline uint64_t xdpvm_alu##W##_SUB(T a, T b) { return (T)(a - b); }                     \
    static inline uint64_t xdpvm_alu##W##_MUL(T a, T b) { return (T)(a * b); }                     \
    static inline uint64_t xdpvm_alu##W##_OR(T a, T b) { return a | b; }                           \
    static inline uint64_t xdpvm_alu##W##_AND(T a, T b) { return a & b; }                          \
    static inline uint64_t xdpvm_alu##W##_XOR(T a, T b) { return a ^ b; }                          \
    static inline uint64_t xdpvm_alu##W##_LSH(T a, T b) { return (T)(a << (b & (W - 1))); }        \
    static inline uint64_t xdpvm_alu##W##_RSH(T a, T b) { return a >> (b & (W - 1)); }             \
    /* gcc defines >> of a negative value as arithmetic */                                         \
    static inline uint64_t xdpvm_alu##W##_ARSH(T a, T b) { return (T)((int##W##_t)a >> (b & (W - 1))); }
XDPVM_ALU_FUNCS(64, uint64_t)
XDPVM_ALU_FUNCS(32, uint32_t)
#undef XDPVM_ALU_FUNCS

/* Division by zero: dst = 0; modulo by zero: dst unchanged (32-bit: upper half zeroed).
 * Signed INT_MIN / -1 = INT_MIN and INT_MIN % -1 = 0, computed without C overflow. The 32-bit
 * forms take 64-bit operands and use their low halves. */
static inline uint64_t xdpvm_udiv64(uint64_t a, uint64_t b) { return b ? a / b : 0; }
static inline uint64_t xdpvm_umod64(uint64_t a, uint64_t b) { return b ? a % b : a; }
static inline uint64_t xdpvm_udiv32(uint64_t a, uint64_t b)
{
    return (uint32_t)b ? (uint32_t)a / (uint32_t)b : 0;
}
static inline uint64_t xdpvm_umod32(uint64_t a, uint64_t b)
{
    return (uint32_t)b ? (uint32_t)a % (uint32_t)b : (uint32_t)a;
}
static inline uint64_t xdpvm_sdiv64(uint64_t a, uint64_t b)
{
    if (b == 0)
        return 0;
    if (b == UINT64_MAX)
        return 0 - a;
    return (uint64_t)((int64_t)a / (int64_t)b);
}
static inline uint64_t xdpvm_smod64(uint64_t a, uint64_t b)
{
    if (b == 0)
        return a;
    if (b == UINT64_MAX)
        return 0;
    return (uint64_t)((int64_t)a % (int64_t)b);
}
static inline uint64_t xdpvm_sdiv32(uint64_t a, uint64_t b)
{
    if ((uint32_t)b == 0)
        return 0;
    if ((uint32_t)b == UINT32_MAX)
        return (uint32_t)(0u - (uint32_t)a);
    return (uint32_t)((int32_t)a / (int32_t)b);
}
static inline uint64_t xdpvm_smod32(uint64_t a, uint64_t b)
{
    if ((uint32_t)b == 0)
        return (uint32_t)a;
    if ((uint32_t)b == UINT32_MAX)
        return 0;
    return (uint32_t)((int32_t)a % (int32_t)b);
}

#endif
