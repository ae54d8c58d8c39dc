/* Disassembler: one instruction in llvm-objdump's syntax or in the conformance suites' syntax.
 * Operators, mnemonics and access widths come from the opcode table rows. */
#include "disasm.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "asm.h"

/* Accumulates snprintf output and keeps the total length even when buf is too small. */
struct out {
    char *buf;
    size_t size;
    int len;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct out *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t used = (size_t)o->len < o->size ? (size_t)o->len : o->size;
    int n = vsnprintf(o->buf ? o->buf + used : NULL, o->size - used, fmt, ap);
    va_end(ap);
    if (n > 0)
        o->len += n;
}

/* ---- llvm-objdump syntax ---------------------------------------------------------------------- */

/* llvm prints immediates as signed hex: 0x5, -0x1, -0x80000000. */
static void put_signed_hex(struct out *o, int64_t v)
{
    if (v < 0)
        put(o, "-0x%" PRIx64, (uint64_t)0 - (uint64_t)v);
    else
        put(o, "0x%" PRIx64, (uint64_t)v);
}

/* Jump and memory offsets carry an explicit sign: +0x3, -0x8000. */
static void put_offset(struct out *o, const char *sep, int64_t v)
{
    put(o, "%s%s0x%" PRIx64, v < 0 ? "-" : "+", sep, v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v);
}

static void put_address(struct out *o, unsigned reg, int16_t off)
{
    put(o, "r%u ", reg);
    put_offset(o, " ", off);
}

static int llvm_insn(const struct xdpvm_decoded *d, struct out *o)
{
    const struct xdpvm_op_info *info = &xdpvm_op_table[d->op];
    char r = xdpvm_op_is_alu32(info) ? 'w' : 'r';
    unsigned bits = xdpvm_op_access_size(info) * 8;
    bool atomic32 = info->shape == XDPVM_SHAPE_ATOMIC && bits == 32;
    switch (info->shape) {
    case XDPVM_SHAPE_ALU_IMM:
        put(o, "%c%u %s ", r, d->dst, info->c_op);
        put_signed_hex(o, d->imm);
        break;
    case XDPVM_SHAPE_ALU_REG:
        put(o, "%c%u %s %c%u", r, d->dst, info->c_op, r, d->src);
        break;
    case XDPVM_SHAPE_NEG:
        put(o, "%c%u = -%c%u", r, d->dst, r, d->dst);
        break;
    case XDPVM_SHAPE_MOVSX:
        put(o, "%c%u = (s%d)%c%u", r, d->dst, info->match_value, r, d->src);
        break;
    case XDPVM_SHAPE_END:
        put(o, "r%u = %s r%u", d->dst, info->c_op, d->dst);
        break;
    case XDPVM_SHAPE_JMP_IMM:
        put(o, "if %c%u %s ", r, d->dst, info->c_op);
        put_signed_hex(o, d->imm);
        put(o, " goto ");
        put_offset(o, "", d->off);
        break;
    case XDPVM_SHAPE_JMP_REG:
        put(o, "if %c%u %s %c%u goto ", r, d->dst, info->c_op, r, d->src);
        put_offset(o, "", d->off);
        break;
    case XDPVM_SHAPE_JA:
        put(o, "%s ", info->c_op);
        put_offset(o, "", d->off);
        break;
    case XDPVM_SHAPE_GOTOL:
        put(o, "%s ", info->c_op);
        put_offset(o, "", d->imm);
        break;
    case XDPVM_SHAPE_CALL:
    case XDPVM_SHAPE_CALL_LOCAL:
        put(o, "%s ", info->c_op);
        put_signed_hex(o, d->imm);
        break;
    case XDPVM_SHAPE_CALLX:
        put(o, "%s r%u", info->c_op, d->dst);
        break;
    case XDPVM_SHAPE_EXIT:
        put(o, "%s", info->c_op);
        break;
    case XDPVM_SHAPE_LDX:
        /* llvm-objdump without --mattr=+alu32 names the destination r even for narrow loads */
        put(o, "r%u = *(%s *)(", d->dst, info->c_op);
        put_address(o, d->src, d->off);
        put(o, ")");
        break;
    case XDPVM_SHAPE_ST:
        put(o, "*(%s *)(", info->c_op);
        put_address(o, d->dst, d->off);
        put(o, ") = ");
        put_signed_hex(o, d->imm);
        break;
    case XDPVM_SHAPE_STX:
        put(o, "*(%s *)(", info->c_op);
        put_address(o, d->dst, d->off);
        put(o, ") = r%u", d->src);
        break;
    case XDPVM_SHAPE_ATOMIC: {
        /* The 32-bit forms are what llvm-objdump prints with alu32 decoding (its default decoder
         * knows only the plain 32-bit add, printed with an r register). */
        char v = atomic32 && d->imm != XDPVM_ATOMIC_ADD ? 'w' : 'r';
        if (d->imm == XDPVM_ATOMIC_XCHG) {
            put(o, "%c%u = %s%s(", v, d->src, info->c_op, atomic32 ? "32_32" : "_64");
            put_address(o, d->dst, d->off);
            put(o, ", %c%u)", v, d->src);
        } else if (d->imm == XDPVM_ATOMIC_CMPXCHG) {
            put(o, "%c0 = %s%s(", v, info->c_op, atomic32 ? "32_32" : "_64");
            put_address(o, d->dst, d->off);
            put(o, ", %c0, %c%u)", v, v, d->src);
        } else if (d->imm & XDPVM_ATOMIC_FETCH) {
            put(o, "%c%u = atomic_%s((u%u *)(", v, d->src, info->c_op, bits);
            put_address(o, d->dst, d->off);
            put(o, "), %c%u)", v, d->src);
        } else {
            put(o, "lock *(u%u *)(", bits);
            put_address(o, d->dst, d->off);
            put(o, ") %s %c%u", info->c_op, v, d->src);
        }
        break;
    }
    case XDPVM_SHAPE_LDDW:
        if (d->src != XDPVM_PSEUDO_NONE) {
            put(o, "ld_pseudo\tr%u, 0x%x, 0x%" PRIx32, d->dst, d->src, (uint32_t)d->imm);
        } else {
            put(o, "r%u = ", d->dst);
            put_signed_hex(o, (int64_t)d->imm64);
            put(o, " ll");
        }
        break;
    }
    return 0;
}

/* ---- conformance-suite syntax ------------------------------------------------------------------- */

static void put_memory(struct out *o, unsigned reg, int16_t off)
{
    if (off)
        put(o, "[%%r%u%+d]", reg, off);
    else
        put(o, "[%%r%u]", reg);
}

static int asm_insn(const struct xdpvm_decoded *d, struct out *o)
{
    const struct xdpvm_op_info *info = &xdpvm_op_table[d->op];
    const char *mn = info->mnemonic;
    switch (info->shape) {
    case XDPVM_SHAPE_ALU_IMM: put(o, "%s %%r%u, %d", mn, d->dst, d->imm); break;
    case XDPVM_SHAPE_ALU_REG:
    case XDPVM_SHAPE_MOVSX: put(o, "%s %%r%u, %%r%u", mn, d->dst, d->src); break;
    case XDPVM_SHAPE_NEG:
    case XDPVM_SHAPE_END:
    case XDPVM_SHAPE_CALLX: put(o, "%s %%r%u", mn, d->dst); break;
    case XDPVM_SHAPE_JMP_IMM: put(o, "%s %%r%u, %d, %+d", mn, d->dst, d->imm, d->off); break;
    case XDPVM_SHAPE_JMP_REG: put(o, "%s %%r%u, %%r%u, %+d", mn, d->dst, d->src, d->off); break;
    case XDPVM_SHAPE_JA: put(o, "%s %+d", mn, d->off); break;
    case XDPVM_SHAPE_GOTOL:
    case XDPVM_SHAPE_CALL_LOCAL: put(o, "%s %+d", mn, d->imm); break;
    case XDPVM_SHAPE_CALL: put(o, "%s %d", mn, d->imm); break;
    case XDPVM_SHAPE_EXIT: put(o, "%s", mn); break;
    case XDPVM_SHAPE_LDX:
        put(o, "%s %%r%u, ", mn, d->dst);
        put_memory(o, d->src, d->off);
        break;
    case XDPVM_SHAPE_ST:
        put(o, "%s ", mn);
        put_memory(o, d->dst, d->off);
        put(o, ", %d", d->imm);
        break;
    case XDPVM_SHAPE_STX:
    case XDPVM_SHAPE_ATOMIC:
        put(o, "%s ", mn);
        put_memory(o, d->dst, d->off);
        put(o, ", %%r%u", d->src);
        break;
    case XDPVM_SHAPE_LDDW:
        put(o, "%s %%r%u, 0x%" PRIx64, mn, d->dst, d->imm64);
        if (d->src != XDPVM_PSEUDO_NONE) {
            const char *pseudo = xdpvm_asm_pseudo_name(d->src);
            if (pseudo)
                put(o, ", %s", pseudo);
        }
        break;
    }
    return 0;
}

int xdpvm_disasm_insn(const struct xdpvm_decoded *d, size_t index, enum xdpvm_syntax syntax, char *buf,
                      size_t size)
{
    (void)index; /* offsets are printed relative, as both syntaxes write them */
    struct out o = {.buf = buf, .size = buf ? size : 0};
    if (buf && size)
        buf[0] = '\0';
    if (d->op <= XDPVM_OP_INVALID || d->op >= XDPVM_OP__COUNT) {
        put(&o, "<unknown>");
        return o.len;
    }
    if (syntax == XDPVM_SYNTAX_LLVM)
        llvm_insn(d, &o);
    else
        asm_insn(d, &o);
    return o.len;
}
