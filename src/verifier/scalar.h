/* Private to the verifier: the abstract domain of a 64-bit value.
 *
 * A value is described at the same time by known bits (a tnum: bits where mask is 0 equal
 * value) and by unsigned/signed 64-bit and 32-bit (low half) intervals. Every operation is
 * over-approximating: the concrete result of the operation applied to any concrete values
 * the inputs describe is described by the output. scalar_sync() lets each view tighten the
 * others, as the kernel's reg_bounds_sync() does. */
#ifndef XDPVM_VERIFIER_SCALAR_H
#define XDPVM_VERIFIER_SCALAR_H

#include <stdbool.h>
#include <stdint.h>

struct tnum {
    uint64_t value;
    uint64_t mask; /* 1 = unknown bit */
};

struct tnum tnum_const(uint64_t v);
struct tnum tnum_unknown(void);
struct tnum tnum_range(uint64_t min, uint64_t max);
struct tnum tnum_add(struct tnum a, struct tnum b);
struct tnum tnum_sub(struct tnum a, struct tnum b);
struct tnum tnum_and(struct tnum a, struct tnum b);
struct tnum tnum_or(struct tnum a, struct tnum b);
struct tnum tnum_xor(struct tnum a, struct tnum b);
struct tnum tnum_mul(struct tnum a, struct tnum b);
struct tnum tnum_lshift(struct tnum a, unsigned shift);
struct tnum tnum_rshift(struct tnum a, unsigned shift);
struct tnum tnum_arshift(struct tnum a, unsigned shift, unsigned width);
struct tnum tnum_intersect(struct tnum a, struct tnum b);
struct tnum tnum_cast(struct tnum a, unsigned bytes);
bool tnum_contains(struct tnum outer, struct tnum inner); /* inner ⊆ outer */
static inline bool tnum_is_const(struct tnum a) { return a.mask == 0; }

struct scalar {
    struct tnum var;
    uint64_t umin, umax;
    int64_t smin, smax;
    uint32_t u32min, u32max;
    int32_t s32min, s32max;
};

struct scalar scalar_const(uint64_t v);
struct scalar scalar_unknown(void);
/* Unknown value of a load of `bytes` bytes, zero- or sign-extended to 64 bits. */
struct scalar scalar_of_size(unsigned bytes, bool sign_extend);
bool scalar_is_const(const struct scalar *s);
/* Tighten all views against each other. Returns false when they contradict each other
 * (no concrete value fits: the path that produced it cannot happen). */
bool scalar_sync(struct scalar *s);
/* outer describes every value inner describes. */
bool scalar_contains(const struct scalar *outer, const struct scalar *inner);
bool scalar_equal(const struct scalar *a, const struct scalar *b);

/* dst = dst op src for an ALU operation (XDPVM_ALU_* code bits), 64- or 32-bit. */
struct scalar scalar_alu(unsigned alu_op, bool is_signed_variant, struct scalar a, struct scalar b, bool alu32);
/* a = a ∩ b. Returns false when the intersection is empty. */
bool scalar_meet(struct scalar *a, const struct scalar *b);
/* Zero-extend the low 32 bits (the result of any 32-bit operation). */
struct scalar scalar_zext32(struct scalar s);
/* Sign-extend the low `bits` bits (movsx, ldsx). */
struct scalar scalar_sext(struct scalar s, unsigned bits, bool to32);
/* Byte swap or endianness conversion of the low `bits` bits. */
struct scalar scalar_bswap(struct scalar s, unsigned bits, bool always_swap, bool to_big_endian);

/* The concrete semantics, shared with the abstract one when both inputs are known. */
uint64_t concrete_alu(unsigned alu_op, bool is_signed_variant, uint64_t a, uint64_t b, bool alu32);

/* Branch refinement. Applies "a op b" (op an XDPVM_JMP_* code, JSET included) or its negation
 * to both operands, on the 64-bit or the 32-bit views. Returns false when the outcome is
 * impossible. */
bool scalar_refine(unsigned jmp_op, bool taken, struct scalar *a, struct scalar *b, bool jmp32);

#endif
