/* The two executors (checked and unchecked), compiled from one body: interp_exec.h. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "interp_private.h"
#include "isa/alu.h"

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the interpreter's le/be handlers assume a little-endian host"
#endif

/* Jump conditions: (unsigned a, unsigned b, signed a, signed b). */
#define cmp_JEQ(a, b, sa, sb) ((a) == (b))
#define cmp_JNE(a, b, sa, sb) ((a) != (b))
#define cmp_JGT(a, b, sa, sb) ((a) > (b))
#define cmp_JGE(a, b, sa, sb) ((a) >= (b))
#define cmp_JLT(a, b, sa, sb) ((a) < (b))
#define cmp_JLE(a, b, sa, sb) ((a) <= (b))
#define cmp_JSET(a, b, sa, sb) (((a) & (b)) != 0)
#define cmp_JSGT(a, b, sa, sb) ((sa) > (sb))
#define cmp_JSGE(a, b, sa, sb) ((sa) >= (sb))
#define cmp_JSLT(a, b, sa, sb) ((sa) < (sb))
#define cmp_JSLE(a, b, sa, sb) ((sa) <= (sb))

/* Atomic operations, out of line: gcc 12 loses the operation of a fetch-and compare-and-swap
 * loop when it is inlined into the executor (with the forwarded register live across it).
 * They return the old value; the 32-bit ones zero-extend it. */
#define ATOMIC_RMW(W, T, NAME, BUILTIN)                                                            \
    static __attribute__((noinline)) uint64_t interp_atomic##W##_##NAME(T *p, uint64_t v)         \
    {                                                                                              \
        return BUILTIN(p, (T)v, __ATOMIC_SEQ_CST);                                                 \
    }
#define ATOMIC_FUNCTIONS(W, T)                                                                     \
    ATOMIC_RMW(W, T, FETCH_ADD, __atomic_fetch_add)                                                \
    ATOMIC_RMW(W, T, FETCH_OR, __atomic_fetch_or)                                                  \
    ATOMIC_RMW(W, T, FETCH_AND, __atomic_fetch_and)                                                \
    ATOMIC_RMW(W, T, FETCH_XOR, __atomic_fetch_xor)                                                \
    ATOMIC_RMW(W, T, XCHG, __atomic_exchange_n)                                                    \
    static __attribute__((noinline)) uint64_t interp_atomic##W##_CMPXCHG(T *p, uint64_t expected, \
                                                                         uint64_t v)               \
    {                                                                                              \
        T old = (T)expected;                                                                       \
        __atomic_compare_exchange_n(p, &old, (T)v, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);    \
        return old;                                                                                \
    }
ATOMIC_FUNCTIONS(32, uint32_t)
ATOMIC_FUNCTIONS(64, uint64_t)
#undef ATOMIC_FUNCTIONS
#undef ATOMIC_RMW

typedef uint8_t mem_B_t;
typedef uint16_t mem_H_t;
typedef uint32_t mem_W_t;
typedef uint64_t mem_DW_t;

/* The operation whose handler is label (error messages only). */
static int op_of(const void *label, const void *const *labels)
{
    for (int op = 1; op < XDPVM_OP__COUNT; op++)
        if (labels[op] == label)
            return op;
    return XDPVM_OP_INVALID;
}

#define EXEC_CHECKED 0
#define EXEC_VARIANT VARIANT_FAST
#define EXEC_NAME interp_exec_fast
#define EXEC_OTHER interp_exec_checked
#include "interp_exec.h"
#undef EXEC_CHECKED
#undef EXEC_VARIANT
#undef EXEC_NAME
#undef EXEC_OTHER

#define EXEC_CHECKED 1
#define EXEC_VARIANT VARIANT_CHECKED
#define EXEC_NAME interp_exec_checked
#define EXEC_OTHER interp_exec_fast
#include "interp_exec.h"
