/* The verifier's value domain: known bits (tnum) and 64/32-bit signed/unsigned intervals. */
#include "scalar.h"

#include "isa/alu.h"
#include "isa/isa.h"

#define U32_MAXV 0xffffffffull
#define SIGN64 0x8000000000000000ull

static uint64_t umin64(uint64_t a, uint64_t b) { return a < b ? a : b; }
static uint64_t umax64(uint64_t a, uint64_t b) { return a > b ? a : b; }
static int64_t smin64(int64_t a, int64_t b) { return a < b ? a : b; }
static int64_t smax64(int64_t a, int64_t b) { return a > b ? a : b; }

/* ---- known bits ---- */

struct tnum tnum_const(uint64_t v) { return (struct tnum){v, 0}; }
struct tnum tnum_unknown(void) { return (struct tnum){0, ~0ull}; }

struct tnum tnum_range(uint64_t min, uint64_t max)
{
    uint64_t differing = min ^ max;
    if (!differing)
        return tnum_const(min);
    unsigned bits = 64 - (unsigned)__builtin_clzll(differing);
    if (bits > 63)
        return tnum_unknown();
    uint64_t low = (1ull << bits) - 1;
    return (struct tnum){min & ~low, low};
}

/* Unknown bits can carry into any higher bit; the carries that differ between the smallest
 * and the largest possible sum mark exactly the bits that may change. */
struct tnum tnum_add(struct tnum a, struct tnum b)
{
    uint64_t masks = a.mask + b.mask, values = a.value + b.value;
    uint64_t unknown = ((masks + values) ^ values) | a.mask | b.mask;
    return (struct tnum){values & ~unknown, unknown};
}

struct tnum tnum_sub(struct tnum a, struct tnum b)
{
    uint64_t diff = a.value - b.value;
    uint64_t highest = diff + a.mask, lowest = diff - b.mask;
    uint64_t unknown = (highest ^ lowest) | a.mask | b.mask;
    return (struct tnum){diff & ~unknown, unknown};
}

struct tnum tnum_and(struct tnum a, struct tnum b)
{
    uint64_t maybe_a = a.value | a.mask, maybe_b = b.value | b.mask, v = a.value & b.value;
    return (struct tnum){v, maybe_a & maybe_b & ~v};
}

struct tnum tnum_or(struct tnum a, struct tnum b)
{
    uint64_t v = a.value | b.value;
    return (struct tnum){v, (a.mask | b.mask) & ~v};
}

struct tnum tnum_xor(struct tnum a, struct tnum b)
{
    uint64_t unknown = a.mask | b.mask;
    return (struct tnum){(a.value ^ b.value) & ~unknown, unknown};
}

/* Long multiplication: each bit of a adds b shifted, known when the bit is known. */
struct tnum tnum_mul(struct tnum a, struct tnum b)
{
    uint64_t known_product = a.value * b.value;
    struct tnum partial = tnum_const(0);
    while (a.value || a.mask) {
        if (a.value & 1)
            partial = tnum_add(partial, (struct tnum){0, b.mask});
        else if (a.mask & 1)
            partial = tnum_add(partial, (struct tnum){0, b.value | b.mask});
        a = tnum_rshift(a, 1);
        b = tnum_lshift(b, 1);
    }
    return tnum_add(tnum_const(known_product), partial);
}

struct tnum tnum_lshift(struct tnum a, unsigned shift)
{
    return (struct tnum){a.value << shift, a.mask << shift};
}

struct tnum tnum_rshift(struct tnum a, unsigned shift)
{
    return (struct tnum){a.value >> shift, a.mask >> shift};
}

struct tnum tnum_arshift(struct tnum a, unsigned shift, unsigned width)
{
    if (width == 32) {
        int32_t v = (int32_t)(uint32_t)a.value, m = (int32_t)(uint32_t)a.mask;
        return (struct tnum){(uint32_t)(v >> shift), (uint32_t)(m >> shift)};
    }
    return (struct tnum){(uint64_t)((int64_t)a.value >> shift), (uint64_t)((int64_t)a.mask >> shift)};
}

struct tnum tnum_intersect(struct tnum a, struct tnum b)
{
    uint64_t v = a.value | b.value, unknown = a.mask & b.mask;
    return (struct tnum){v & ~unknown, unknown};
}

struct tnum tnum_cast(struct tnum a, unsigned bytes)
{
    if (bytes >= 8)
        return a;
    uint64_t keep = (1ull << (bytes * 8)) - 1;
    return (struct tnum){a.value & keep, a.mask & keep};
}

bool tnum_contains(struct tnum outer, struct tnum inner)
{
    if (inner.mask & ~outer.mask)
        return false;
    return (inner.value & ~outer.mask) == outer.value;
}

static struct tnum tnum_with_low32(struct tnum whole, struct tnum low)
{
    struct tnum high = {whole.value & ~U32_MAXV, whole.mask & ~U32_MAXV};
    low = tnum_cast(low, 4);
    return (struct tnum){high.value | low.value, high.mask | low.mask};
}

/* ---- intervals ---- */

struct scalar scalar_const(uint64_t v)
{
    return (struct scalar){
        .var = tnum_const(v), .umin = v, .umax = v, .smin = (int64_t)v, .smax = (int64_t)v,
        .u32min = (uint32_t)v, .u32max = (uint32_t)v, .s32min = (int32_t)(uint32_t)v,
        .s32max = (int32_t)(uint32_t)v,
    };
}

struct scalar scalar_unknown(void)
{
    return (struct scalar){
        .var = tnum_unknown(), .umin = 0, .umax = UINT64_MAX, .smin = INT64_MIN, .smax = INT64_MAX,
        .u32min = 0, .u32max = UINT32_MAX, .s32min = INT32_MIN, .s32max = INT32_MAX,
    };
}

struct scalar scalar_of_size(unsigned bytes, bool sign_extend)
{
    struct scalar s = scalar_unknown();
    if (bytes >= 8)
        return s;
    unsigned bits = bytes * 8;
    if (sign_extend) {
        s.smin = -(int64_t)(1ull << (bits - 1));
        s.smax = (int64_t)((1ull << (bits - 1)) - 1);
    } else {
        s.var = tnum_cast(s.var, bytes);
        s.umax = (1ull << bits) - 1;
    }
    scalar_sync(&s);
    return s;
}

bool scalar_is_const(const struct scalar *s) { return tnum_is_const(s->var); }

static void bounds_from_tnum(struct scalar *s)
{
    struct tnum t = s->var;
    s->umin = umax64(s->umin, t.value);
    s->umax = umin64(s->umax, t.value | t.mask);
    s->smin = smax64(s->smin, (int64_t)(t.value | (t.mask & SIGN64)));
    s->smax = smin64(s->smax, (int64_t)(t.value | (t.mask & ~SIGN64)));
    struct tnum low = tnum_cast(t, 4);
    if (s->u32min < low.value)
        s->u32min = (uint32_t)low.value;
    if (s->u32max > (low.value | low.mask))
        s->u32max = (uint32_t)(low.value | low.mask);
    int32_t lo_s = (int32_t)(uint32_t)(low.value | (low.mask & 0x80000000u));
    int32_t hi_s = (int32_t)(uint32_t)(low.value | (low.mask & 0x7fffffffu));
    if (s->s32min < lo_s)
        s->s32min = lo_s;
    if (s->s32max > hi_s)
        s->s32max = hi_s;
}

/* A signed interval maps to one unsigned interval when it does not contain both -1 and 0,
 * and the other way round when it does not contain both INT_MAX and INT_MIN. */
static void deduce_signs(struct scalar *s)
{
    if ((int32_t)s->u32min <= (int32_t)s->u32max) {
        if (s->s32min < (int32_t)s->u32min)
            s->s32min = (int32_t)s->u32min;
        if (s->s32max > (int32_t)s->u32max)
            s->s32max = (int32_t)s->u32max;
    }
    if ((uint32_t)s->s32min <= (uint32_t)s->s32max) {
        if (s->u32min < (uint32_t)s->s32min)
            s->u32min = (uint32_t)s->s32min;
        if (s->u32max > (uint32_t)s->s32max)
            s->u32max = (uint32_t)s->s32max;
    }
    if ((int64_t)s->umin <= (int64_t)s->umax) {
        s->smin = smax64(s->smin, (int64_t)s->umin);
        s->smax = smin64(s->smax, (int64_t)s->umax);
    }
    if ((uint64_t)s->smin <= (uint64_t)s->smax) {
        s->umin = umax64(s->umin, (uint64_t)s->smin);
        s->umax = umin64(s->umax, (uint64_t)s->smax);
    }
}

/* When all values share their upper 32 bits, the low halves form an interval too, and a
 * tighter low-half interval tightens the whole. */
static void deduce_halves(struct scalar *s)
{
    if ((s->umin >> 32) == (s->umax >> 32)) {
        if (s->u32min < (uint32_t)s->umin)
            s->u32min = (uint32_t)s->umin;
        if (s->u32max > (uint32_t)s->umax)
            s->u32max = (uint32_t)s->umax;
        if (s->u32min <= s->u32max) {
            uint64_t high = s->umin & ~U32_MAXV;
            s->umin = umax64(s->umin, high | s->u32min);
            s->umax = umin64(s->umax, high | s->u32max);
        }
    }
    if (((uint64_t)s->smin >> 32) == ((uint64_t)s->smax >> 32)) {
        if (s->u32min < (uint32_t)s->smin)
            s->u32min = (uint32_t)s->smin;
        if (s->u32max > (uint32_t)s->smax)
            s->u32max = (uint32_t)s->smax;
        if (s->u32min <= s->u32max) {
            uint64_t high = (uint64_t)s->smin & ~U32_MAXV;
            s->smin = smax64(s->smin, (int64_t)(high | s->u32min));
            s->smax = smin64(s->smax, (int64_t)(high | s->u32max));
        }
    }
}

static bool scalar_consistent(const struct scalar *s)
{
    return s->umin <= s->umax && s->smin <= s->smax && s->u32min <= s->u32max &&
           s->s32min <= s->s32max && s->var.value <= s->umax && (s->var.value | s->var.mask) >= s->umin &&
           !(s->var.value & s->var.mask);
}

bool scalar_sync(struct scalar *s)
{
    for (int round = 0; round < 3; round++) {
        bounds_from_tnum(s);
        deduce_signs(s);
        deduce_halves(s);
        if (!scalar_consistent(s))
            return false;
        s->var = tnum_intersect(s->var, tnum_range(s->umin, s->umax));
        s->var = tnum_with_low32(s->var, tnum_intersect(tnum_cast(s->var, 4), tnum_range(s->u32min, s->u32max)));
    }
    bounds_from_tnum(s);
    return scalar_consistent(s);
}

bool scalar_meet(struct scalar *a, const struct scalar *b)
{
    if ((a->var.value ^ b->var.value) & ~(a->var.mask | b->var.mask))
        return false;
    a->var = tnum_intersect(a->var, b->var);
    a->umin = umax64(a->umin, b->umin);
    a->umax = umin64(a->umax, b->umax);
    a->smin = smax64(a->smin, b->smin);
    a->smax = smin64(a->smax, b->smax);
    if (a->u32min < b->u32min)
        a->u32min = b->u32min;
    if (a->u32max > b->u32max)
        a->u32max = b->u32max;
    if (a->s32min < b->s32min)
        a->s32min = b->s32min;
    if (a->s32max > b->s32max)
        a->s32max = b->s32max;
    return scalar_sync(a);
}

bool scalar_contains(const struct scalar *o, const struct scalar *i)
{
    return o->umin <= i->umin && o->umax >= i->umax && o->smin <= i->smin && o->smax >= i->smax &&
           o->u32min <= i->u32min && o->u32max >= i->u32max && o->s32min <= i->s32min &&
           o->s32max >= i->s32max && tnum_contains(o->var, i->var);
}

bool scalar_equal(const struct scalar *a, const struct scalar *b)
{
    return scalar_contains(a, b) && scalar_contains(b, a);
}

/* The value zero-extended from its low 32 bits. */
static struct scalar low32(const struct scalar *s)
{
    struct scalar r = *s;
    r.var = tnum_cast(s->var, 4);
    r.umin = s->u32min;
    r.umax = s->u32max;
    r.smin = (int64_t)s->u32min;
    r.smax = (int64_t)s->u32max;
    scalar_sync(&r);
    return r;
}

struct scalar scalar_zext32(struct scalar s)
{
    scalar_sync(&s);
    return low32(&s);
}

/* ---- concrete semantics: the ISA's, as the interpreter computes them (isa/alu.h) ---- */

uint64_t concrete_alu(unsigned op, bool sgn, uint64_t a, uint64_t b, bool alu32)
{
    switch (op) {
#define CONCRETE_BINARY(X, NAME, OP, MN, COP)                                                     \
    case OP: return alu32 ? xdpvm_alu32_##NAME((uint32_t)a, (uint32_t)b) : xdpvm_alu64_##NAME(a, b);
    XDPVM_ALU_BINARY_OPS(CONCRETE_BINARY, _)
#undef CONCRETE_BINARY
    case XDPVM_ALU_DIV:
        if (sgn)
            return alu32 ? xdpvm_sdiv32(a, b) : xdpvm_sdiv64(a, b);
        return alu32 ? xdpvm_udiv32(a, b) : xdpvm_udiv64(a, b);
    case XDPVM_ALU_MOD:
        if (sgn)
            return alu32 ? xdpvm_smod32(a, b) : xdpvm_smod64(a, b);
        return alu32 ? xdpvm_umod32(a, b) : xdpvm_umod64(a, b);
    case XDPVM_ALU_MOV: return alu32 ? (uint32_t)b : b;
    case XDPVM_ALU_NEG: return alu32 ? (uint32_t)(0u - (uint32_t)a) : 0 - a;
    default: return 0;
    }
}

static void full_unsigned(struct scalar *r) { r->umin = 0; r->umax = UINT64_MAX; }
static void full_signed(struct scalar *r) { r->smin = INT64_MIN; r->smax = INT64_MAX; }

/* 64-bit abstract operation on operands already brought to the operation's width. */
static struct scalar alu64(unsigned op, struct scalar a, struct scalar b, unsigned width)
{
    struct scalar r = scalar_unknown();
    bool b_const = scalar_is_const(&b);
    uint64_t k = b.var.value & (width - 1);
    switch (op) {
    case XDPVM_ALU_ADD:
        r.var = tnum_add(a.var, b.var);
        if (__builtin_add_overflow(a.umin, b.umin, &r.umin) || __builtin_add_overflow(a.umax, b.umax, &r.umax))
            full_unsigned(&r);
        if (__builtin_add_overflow(a.smin, b.smin, &r.smin) || __builtin_add_overflow(a.smax, b.smax, &r.smax))
            full_signed(&r);
        break;
    case XDPVM_ALU_SUB:
        r.var = tnum_sub(a.var, b.var);
        if (a.umin >= b.umax) {
            r.umin = a.umin - b.umax;
            r.umax = a.umax - b.umin;
        }
        if (__builtin_sub_overflow(a.smin, b.smax, &r.smin) || __builtin_sub_overflow(a.smax, b.smin, &r.smax))
            full_signed(&r);
        break;
    case XDPVM_ALU_MUL:
        r.var = tnum_mul(a.var, b.var);
        if (a.umax <= U32_MAXV && b.umax <= U32_MAXV) {
            r.umin = a.umin * b.umin;
            r.umax = a.umax * b.umax;
            if (r.umax <= (uint64_t)INT64_MAX) {
                r.smin = (int64_t)r.umin;
                r.smax = (int64_t)r.umax;
            }
        }
        break;
    case XDPVM_ALU_AND:
    case XDPVM_ALU_OR:
    case XDPVM_ALU_XOR:
        r.var = op == XDPVM_ALU_AND ? tnum_and(a.var, b.var)
              : op == XDPVM_ALU_OR  ? tnum_or(a.var, b.var) : tnum_xor(a.var, b.var);
        r.umin = r.var.value;
        r.umax = r.var.value | r.var.mask;
        if (op == XDPVM_ALU_AND)
            r.umax = umin64(r.umax, umin64(a.umax, b.umax));
        if (op == XDPVM_ALU_OR)
            r.umin = umax64(r.umin, umax64(a.umin, b.umin));
        if (a.smin >= 0 && b.smin >= 0 && r.umax <= (uint64_t)INT64_MAX) {
            r.smin = (int64_t)r.umin;
            r.smax = (int64_t)r.umax;
        }
        break;
    case XDPVM_ALU_LSH:
        if (b_const) {
            r.var = tnum_lshift(a.var, (unsigned)k);
            if (k == 0 || (a.umax >> (64 - k)) == 0) {
                r.umin = a.umin << k;
                r.umax = a.umax << k;
            }
        } else if (b.umax < width && b.umax < 64 && (b.umax == 0 || (a.umax >> (64 - b.umax)) == 0)) {
            r.umin = a.umin << b.umin;
            r.umax = a.umax << b.umax;
        }
        break;
    case XDPVM_ALU_RSH:
        if (b_const) {
            r.var = tnum_rshift(a.var, (unsigned)k);
            r.umin = a.umin >> k;
            r.umax = a.umax >> k;
        } else if (b.umax < width) {
            r.umin = a.umin >> b.umax;
            r.umax = a.umax >> b.umin;
        } else {
            r.umax = a.umax; /* a right shift never grows a value */
        }
        break;
    case XDPVM_ALU_ARSH:
        if (b_const && width == 64) {
            r.var = tnum_arshift(a.var, (unsigned)k, 64);
            r.smin = a.smin >> k;
            r.smax = a.smax >> k;
        }
        break;
    case XDPVM_ALU_DIV:
        if (b_const && b.var.value) {
            r.umin = a.umin / b.var.value;
            r.umax = a.umax / b.var.value;
        } else {
            r.umax = a.umax;
        }
        break;
    case XDPVM_ALU_MOD:
        r.umax = b.umin > 0 ? umin64(a.umax, b.umax - 1) : a.umax;
        break;
    default:
        break;
    }
    if (!scalar_sync(&r))
        r = scalar_unknown(); /* cannot happen for feasible inputs; stay sound anyway */
    return r;
}

struct scalar scalar_alu(unsigned op, bool sgn, struct scalar a, struct scalar b, bool alu32)
{
    /* Like the kernel, a shift by the operand width or more tells nothing (the ISA masks the
     * amount, but programs relying on that are not written by compilers). */
    if ((op == XDPVM_ALU_LSH || op == XDPVM_ALU_RSH || op == XDPVM_ALU_ARSH) &&
        (alu32 ? b.u32max >= 32 : b.umax >= 64))
        return alu32 ? scalar_of_size(4, false) : scalar_unknown();
    /* The kernel computes no bounds for division and modulo, even of constants; matching it
     * keeps the verdicts the same on programs whose safety would hinge on them. */
    if (op == XDPVM_ALU_DIV || op == XDPVM_ALU_MOD)
        return alu32 ? scalar_of_size(4, false) : scalar_unknown();
    if (scalar_is_const(&a) && scalar_is_const(&b))
        return scalar_const(concrete_alu(op, sgn, a.var.value, b.var.value, alu32));
    if (op == XDPVM_ALU_MOV)
        return alu32 ? low32(&b) : b;
    if (op == XDPVM_ALU_NEG) {
        struct scalar zero = scalar_const(0);
        return scalar_alu(XDPVM_ALU_SUB, false, zero, a, alu32);
    }
    if (sgn && (op == XDPVM_ALU_DIV || op == XDPVM_ALU_MOD))
        return alu32 ? scalar_of_size(4, false) : scalar_unknown();
    if (!alu32)
        return alu64(op, a, b, 64);
    if (op == XDPVM_ALU_ARSH) {
        struct scalar r = scalar_of_size(4, false);
        if (scalar_is_const(&b)) {
            unsigned k = (unsigned)(b.var.value & 31);
            r.var = tnum_arshift(tnum_cast(a.var, 4), k, 32);
            r.s32min = a.s32min >> k;
            r.s32max = a.s32max >> k;
            if (!scalar_sync(&r))
                r = scalar_of_size(4, false);
        }
        return r;
    }
    struct scalar r = alu64(op, low32(&a), low32(&b), 32);
    return low32(&r);
}

struct scalar scalar_sext(struct scalar s, unsigned bits, bool to32)
{
    struct scalar r;
    if (scalar_is_const(&s)) {
        uint64_t v = s.var.value;
        int64_t x = bits == 8 ? (int8_t)v : bits == 16 ? (int16_t)v : (int32_t)v;
        r = scalar_const((uint64_t)x);
    } else if (s.umax < (1ull << (bits - 1))) {
        r = s; /* the sign bit is clear: extension changes nothing */
    } else if (bits == 32) {
        r = scalar_unknown();
        r.smin = s.s32min;
        r.smax = s.s32max;
        struct tnum low = tnum_cast(s.var, 4);
        if (!(low.mask & 0x80000000u))
            r.var = tnum_arshift(tnum_lshift(low, 32), 32, 64);
        if (!scalar_sync(&r))
            r = scalar_of_size(4, true);
    } else {
        r = scalar_of_size(bits / 8, true);
    }
    return to32 ? low32(&r) : r;
}

struct scalar scalar_bswap(struct scalar s, unsigned bits, bool always_swap, bool to_big_endian)
{
    bool swaps = always_swap || to_big_endian; /* hosts and BPF are little-endian here */
    if (scalar_is_const(&s)) {
        uint64_t v = s.var.value;
        if (swaps)
            v = bits == 16 ? __builtin_bswap16((uint16_t)v) : bits == 32 ? __builtin_bswap32((uint32_t)v)
                                                             : __builtin_bswap64(v);
        else if (bits < 64)
            v &= (1ull << bits) - 1;
        return scalar_const(v);
    }
    if (swaps) {
        /* A byte swap moves bits without mixing them: known bits stay known. */
        struct tnum t = s.var;
        uint64_t v = t.value, m = t.mask;
        if (bits == 16) {
            v = __builtin_bswap16((uint16_t)v);
            m = __builtin_bswap16((uint16_t)m);
        } else if (bits == 32) {
            v = __builtin_bswap32((uint32_t)v);
            m = __builtin_bswap32((uint32_t)m);
        } else {
            v = __builtin_bswap64(v);
            m = __builtin_bswap64(m);
        }
        struct scalar r = scalar_unknown();
        r.var = (struct tnum){v, m};
        if (!scalar_sync(&r))
            r = scalar_of_size(bits / 8, false);
        return r;
    }
    if (bits == 64)
        return s;
    struct scalar r = scalar_unknown();
    r.var = tnum_cast(s.var, bits / 8);
    if (s.umax < (1ull << bits)) {
        r.umin = s.umin;
        r.umax = s.umax;
    }
    if (!scalar_sync(&r))
        r = scalar_of_size(bits / 8, false);
    return r;
}

/* ---- branches ---- */

struct interval {
    uint64_t umin, umax;
    int64_t smin, smax;
    struct tnum t;
};

static struct interval view(const struct scalar *s, bool w32)
{
    if (w32)
        return (struct interval){s->u32min, s->u32max, s->s32min, s->s32max, tnum_cast(s->var, 4)};
    return (struct interval){s->umin, s->umax, s->smin, s->smax, s->var};
}

static void put_view(struct scalar *s, const struct interval *v, bool w32)
{
    if (w32) {
        s->u32min = (uint32_t)v->umin;
        s->u32max = (uint32_t)v->umax;
        s->s32min = (int32_t)v->smin;
        s->s32max = (int32_t)v->smax;
        s->var = tnum_with_low32(s->var, v->t);
    } else {
        s->umin = v->umin;
        s->umax = v->umax;
        s->smin = v->smin;
        s->smax = v->smax;
        s->var = v->t;
    }
}

enum { JSET_FALSE = 0x100 };

static unsigned negate(unsigned op)
{
    switch (op) {
    case XDPVM_JMP_JEQ: return XDPVM_JMP_JNE;
    case XDPVM_JMP_JNE: return XDPVM_JMP_JEQ;
    case XDPVM_JMP_JGT: return XDPVM_JMP_JLE;
    case XDPVM_JMP_JLE: return XDPVM_JMP_JGT;
    case XDPVM_JMP_JGE: return XDPVM_JMP_JLT;
    case XDPVM_JMP_JLT: return XDPVM_JMP_JGE;
    case XDPVM_JMP_JSGT: return XDPVM_JMP_JSLE;
    case XDPVM_JMP_JSLE: return XDPVM_JMP_JSGT;
    case XDPVM_JMP_JSGE: return XDPVM_JMP_JSLT;
    case XDPVM_JMP_JSLT: return XDPVM_JMP_JSGE;
    case XDPVM_JMP_JSET: return JSET_FALSE;
    default: return op;
    }
}

/* a > b (strict) or a >= b, unsigned. */
static bool refine_ugt(struct interval *a, struct interval *b, bool strict, uint64_t width_max)
{
    uint64_t d = strict ? 1 : 0;
    if (strict && (b->umin == width_max || a->umax == 0))
        return false;
    a->umin = umax64(a->umin, b->umin + d);
    b->umax = umin64(b->umax, a->umax - d);
    return a->umin <= a->umax && b->umin <= b->umax;
}

static bool refine_sgt(struct interval *a, struct interval *b, bool strict, int64_t smin_w, int64_t smax_w)
{
    int64_t d = strict ? 1 : 0;
    if (strict && (b->smin == smax_w || a->smax == smin_w))
        return false;
    a->smin = smax64(a->smin, b->smin + d);
    b->smax = smin64(b->smax, a->smax - d);
    return a->smin <= a->smax && b->smin <= b->smax;
}

static bool is_single(const struct interval *v) { return tnum_is_const(v->t); }

static bool refine_ne(struct interval *a, const struct interval *b)
{
    if (!is_single(b))
        return true;
    uint64_t k = b->t.value;
    if (is_single(a))
        return a->t.value != k;
    if (a->umin == k)
        a->umin++;
    else if (a->umax == k)
        a->umax--;
    if (a->smin == b->smin)
        a->smin++;
    else if (a->smax == b->smin)
        a->smax--;
    return a->umin <= a->umax && a->smin <= a->smax;
}

static bool refine_view(unsigned op, struct interval *a, struct interval *b, bool w32)
{
    uint64_t umax_w = w32 ? U32_MAXV : UINT64_MAX;
    int64_t smin_w = w32 ? INT32_MIN : INT64_MIN, smax_w = w32 ? INT32_MAX : INT64_MAX;
    switch (op) {
    case XDPVM_JMP_JEQ: {
        if ((a->t.value ^ b->t.value) & ~(a->t.mask | b->t.mask))
            return false;
        struct interval m = {umax64(a->umin, b->umin), umin64(a->umax, b->umax), smax64(a->smin, b->smin),
                             smin64(a->smax, b->smax), tnum_intersect(a->t, b->t)};
        *a = *b = m;
        return m.umin <= m.umax && m.smin <= m.smax;
    }
    case XDPVM_JMP_JNE: return refine_ne(a, b) && refine_ne(b, a);
    case XDPVM_JMP_JGT: return refine_ugt(a, b, true, umax_w);
    case XDPVM_JMP_JGE: return refine_ugt(a, b, false, umax_w);
    case XDPVM_JMP_JLT: return refine_ugt(b, a, true, umax_w);
    case XDPVM_JMP_JLE: return refine_ugt(b, a, false, umax_w);
    case XDPVM_JMP_JSGT: return refine_sgt(a, b, true, smin_w, smax_w);
    case XDPVM_JMP_JSGE: return refine_sgt(a, b, false, smin_w, smax_w);
    case XDPVM_JMP_JSLT: return refine_sgt(b, a, true, smin_w, smax_w);
    case XDPVM_JMP_JSLE: return refine_sgt(b, a, false, smin_w, smax_w);
    case XDPVM_JMP_JSET:
        if (is_single(b)) {
            uint64_t k = b->t.value;
            if (!((a->t.value | a->t.mask) & k))
                return false;
            if (k && !(k & (k - 1))) { /* one bit: it must be set */
                a->t.value |= k;
                a->t.mask &= ~k;
            }
        } else if (is_single(a) && !a->t.value) {
            return false;
        }
        return true;
    case JSET_FALSE:
        if (is_single(b)) {
            if (a->t.value & b->t.value)
                return false;
            a->t.mask &= ~b->t.value;
        }
        if (is_single(a)) {
            if (b->t.value & a->t.value)
                return false;
            b->t.mask &= ~a->t.value;
        }
        return true;
    default:
        return true;
    }
}

bool scalar_refine(unsigned jmp_op, bool taken, struct scalar *a, struct scalar *b, bool jmp32)
{
    unsigned op = taken ? jmp_op : negate(jmp_op);
    struct interval va = view(a, jmp32), vb = view(b, jmp32);
    if (!refine_view(op, &va, &vb, jmp32))
        return false;
    put_view(a, &va, jmp32);
    put_view(b, &vb, jmp32);
    return scalar_sync(a) && scalar_sync(b);
}
