#include "isa.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

const struct xdpvm_op_info xdpvm_op_table[XDPVM_OP__COUNT] = {
    [XDPVM_OP_INVALID] = {.name = "INVALID", .mnemonic = "?", .c_op = "?"},
#define XDPVM_INFO_ROW(NAME, CODE, MATCH, MVAL, MN, COP, SHAPE, VER)                              \
    [XDPVM_OP_##NAME] = {#NAME, (uint8_t)(CODE), XDPVM_MATCH_##MATCH, MVAL, MN, COP,              \
                         XDPVM_SHAPE_##SHAPE, VER},
    XDPVM_OPCODES(XDPVM_INFO_ROW)
};

/* Fields each shape uses; the rest must be zero. The match field is checked by lookup. */
enum { F_DST = 1, F_SRC = 2, F_OFF = 4, F_IMM = 8 };
static const uint8_t shape_fields[] = {
    [XDPVM_SHAPE_ALU_IMM] = F_DST | F_IMM,
    [XDPVM_SHAPE_ALU_REG] = F_DST | F_SRC,
    [XDPVM_SHAPE_NEG] = F_DST,
    [XDPVM_SHAPE_MOVSX] = F_DST | F_SRC,
    [XDPVM_SHAPE_END] = F_DST,
    [XDPVM_SHAPE_JMP_IMM] = F_DST | F_OFF | F_IMM,
    [XDPVM_SHAPE_JMP_REG] = F_DST | F_SRC | F_OFF,
    [XDPVM_SHAPE_JA] = F_OFF,
    [XDPVM_SHAPE_GOTOL] = F_IMM,
    [XDPVM_SHAPE_CALL] = F_IMM,
    [XDPVM_SHAPE_CALL_LOCAL] = F_IMM,
    [XDPVM_SHAPE_CALLX] = F_DST,
    [XDPVM_SHAPE_EXIT] = 0,
    [XDPVM_SHAPE_LDX] = F_DST | F_SRC | F_OFF,
    [XDPVM_SHAPE_ST] = F_DST | F_OFF | F_IMM,
    [XDPVM_SHAPE_STX] = F_DST | F_SRC | F_OFF,
    [XDPVM_SHAPE_ATOMIC] = F_DST | F_SRC | F_OFF,
    [XDPVM_SHAPE_LDDW] = F_DST | F_SRC | F_IMM,
};

static int fail(struct xdpvm_decode_error *err, size_t index, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(struct xdpvm_decode_error *err, size_t index, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->index = index;
        vsnprintf(err->message, sizeof(err->message), fmt, ap);
        va_end(ap);
    }
    return -EINVAL;
}

static bool row_matches(const struct xdpvm_op_info *row, uint8_t src, int16_t off, int32_t imm)
{
    switch (row->match) {
    case XDPVM_MATCH_OFF: return off == row->match_value;
    case XDPVM_MATCH_IMM: return imm == row->match_value;
    case XDPVM_MATCH_SRC: return src == row->match_value;
    default: return true;
    }
}

enum xdpvm_op xdpvm_isa_lookup(uint8_t code, uint8_t src, int16_t off, int32_t imm)
{
    /* The table has ~200 rows; a linear scan per decode is cheap next to everything a decoded
     * program is used for, and keeps the table the only source of truth. */
    for (int op = 1; op < XDPVM_OP__COUNT; op++) {
        const struct xdpvm_op_info *row = &xdpvm_op_table[op];
        if (row->code == code && row_matches(row, src, off, imm))
            return (enum xdpvm_op)op;
    }
    return XDPVM_OP_INVALID;
}

static bool code_exists(uint8_t code)
{
    for (int op = 1; op < XDPVM_OP__COUNT; op++)
        if (xdpvm_op_table[op].code == code)
            return true;
    return false;
}

static const char *match_field_name(uint8_t code)
{
    for (int op = 1; op < XDPVM_OP__COUNT; op++)
        if (xdpvm_op_table[op].code == code) {
            switch (xdpvm_op_table[op].match) {
            case XDPVM_MATCH_OFF: return "offset";
            case XDPVM_MATCH_IMM: return "immediate";
            case XDPVM_MATCH_SRC: return "source register";
            default: break;
            }
        }
    return "operand";
}

int xdpvm_isa_decode(const struct xdpvm_insn *insns, size_t count, size_t index,
                     struct xdpvm_decoded *out, struct xdpvm_decode_error *err)
{
    if (index >= count)
        return fail(err, index, "instruction index %zu is past the end of the program (%zu instructions)",
                    index, count);
    const struct xdpvm_insn *in = &insns[index];
    enum xdpvm_op op = xdpvm_isa_lookup(in->code, in->src, in->off, in->imm);
    if (op == XDPVM_OP_INVALID) {
        if (!code_exists(in->code))
            return fail(err, index, "unknown opcode 0x%02x", in->code);
        return fail(err, index, "invalid %s for opcode 0x%02x (src=%u off=%d imm=%d)",
                    match_field_name(in->code), in->code, in->src, in->off, in->imm);
    }
    const struct xdpvm_op_info *info = &xdpvm_op_table[op];
    uint8_t used = shape_fields[info->shape];
    if (info->match == XDPVM_MATCH_OFF)
        used |= F_OFF;
    if (info->match == XDPVM_MATCH_IMM)
        used |= F_IMM;
    if (info->match == XDPVM_MATCH_SRC)
        used |= F_SRC;
    if (!(used & F_DST) && in->dst)
        return fail(err, index, "%s: unused destination register field is %u, must be 0", info->mnemonic, in->dst);
    if (!(used & F_SRC) && in->src)
        return fail(err, index, "%s: unused source register field is %u, must be 0", info->mnemonic, in->src);
    if (!(used & F_OFF) && in->off)
        return fail(err, index, "%s: unused offset field is %d, must be 0", info->mnemonic, in->off);
    if (!(used & F_IMM) && in->imm)
        return fail(err, index, "%s: unused immediate field is %d, must be 0", info->mnemonic, in->imm);
    if (in->dst > XDPVM_REG_FP)
        return fail(err, index, "%s: invalid destination register r%u (registers are r0..r10)", info->mnemonic, in->dst);
    /* calls and lddw use src as a kind (helper/local, pseudo), not as a register */
    if (info->shape != XDPVM_SHAPE_CALL_LOCAL && info->shape != XDPVM_SHAPE_CALL &&
        info->shape != XDPVM_SHAPE_LDDW && in->src > XDPVM_REG_FP)
        return fail(err, index, "%s: invalid source register r%u (registers are r0..r10)", info->mnemonic, in->src);

    out->op = op;
    out->dst = in->dst;
    out->src = in->src;
    out->off = in->off;
    out->imm = in->imm;
    out->imm64 = (uint64_t)(int64_t)in->imm;
    out->slots = 1;
    if (info->shape == XDPVM_SHAPE_LDDW) {
        if (in->src > XDPVM_PSEUDO_MAP_IDX_VALUE)
            return fail(err, index, "lddw: invalid source (pseudo) field %u", in->src);
        if (index + 1 >= count)
            return fail(err, index, "lddw: incomplete, the second half is missing at the end of the program");
        const struct xdpvm_insn *hi = &insns[index + 1];
        if (hi->code || hi->dst || hi->src || hi->off)
            return fail(err, index + 1,
                        "lddw: second half must have zero opcode, registers and offset "
                        "(code=0x%02x dst=%u src=%u off=%d)", hi->code, hi->dst, hi->src, hi->off);
        out->imm64 = (uint32_t)in->imm | ((uint64_t)(uint32_t)hi->imm << 32);
        out->slots = 2;
    }
    return 0;
}

int xdpvm_isa_check_program(const struct xdpvm_insn *insns, size_t count, struct xdpvm_decode_error *err)
{
    if (count == 0)
        return fail(err, 0, "empty program: no instructions");
    /* Second lddw slots are not instruction boundaries; no jump may land on one. */
    bool *second_slot = calloc(count, sizeof(*second_slot));
    if (!second_slot)
        return fail(err, 0, "out of memory checking a program of %zu instructions", count);
    int rc = 0;
    uint8_t last_shape = XDPVM_SHAPE_EXIT;
    struct xdpvm_decoded d;
    for (size_t i = 0; i < count && !rc; i += d.slots) {
        rc = xdpvm_isa_decode(insns, count, i, &d, err);
        if (!rc && d.slots == 2)
            second_slot[i + 1] = true;
        if (!rc)
            last_shape = xdpvm_op_table[d.op].shape;
    }
    for (size_t i = 0; i < count && !rc; i += d.slots) {
        xdpvm_isa_decode(insns, count, i, &d, NULL);
        const struct xdpvm_op_info *info = &xdpvm_op_table[d.op];
        if (!xdpvm_shape_is_jump(info->shape) && info->shape != XDPVM_SHAPE_CALL_LOCAL)
            continue;
        int64_t target = xdpvm_isa_jump_target(&d, i);
        if (target < 0 || (size_t)target >= count)
            rc = fail(err, i, "%s: jump to instruction %lld is outside the program (0..%zu)",
                      info->mnemonic, (long long)target, count - 1);
        else if (second_slot[target])
            rc = fail(err, i, "%s: jump to instruction %lld lands in the middle of an lddw",
                      info->mnemonic, (long long)target);
    }
    if (!rc && !xdpvm_shape_ends_flow(last_shape))
        rc = fail(err, count - 1, "the program does not end with exit or an unconditional jump");
    free(second_slot);
    return rc;
}

size_t xdpvm_isa_encode(const struct xdpvm_decoded *d, struct xdpvm_insn out[2])
{
    const struct xdpvm_op_info *info = &xdpvm_op_table[d->op];
    out[0] = (struct xdpvm_insn){.code = info->code, .dst = d->dst, .src = d->src, .off = d->off, .imm = d->imm};
    if (info->shape != XDPVM_SHAPE_LDDW)
        return 1;
    out[0].imm = (int32_t)(uint32_t)d->imm64;
    out[1] = (struct xdpvm_insn){.imm = (int32_t)(uint32_t)(d->imm64 >> 32)};
    return 2;
}

void xdpvm_isa_regs(const struct xdpvm_decoded *d, uint16_t *reads, uint16_t *writes)
{
    const struct xdpvm_op_info *info = &xdpvm_op_table[d->op];
    uint16_t dst = (uint16_t)(1u << d->dst), src = (uint16_t)(1u << d->src);
    bool is_mov = (info->code & 0xf0) == XDPVM_ALU_MOV; /* ALU shapes only: a move reads no dst */
    uint16_t r = 0, w = 0;
    switch (info->shape) {
    case XDPVM_SHAPE_ALU_IMM: r = is_mov ? 0 : dst; w = dst; break;
    case XDPVM_SHAPE_ALU_REG: r = is_mov ? src : (uint16_t)(dst | src); w = dst; break;
    case XDPVM_SHAPE_NEG:
    case XDPVM_SHAPE_END: r = dst; w = dst; break;
    case XDPVM_SHAPE_MOVSX: r = src; w = dst; break;
    case XDPVM_SHAPE_JMP_IMM: r = dst; break;
    case XDPVM_SHAPE_JMP_REG: r = (uint16_t)(dst | src); break;
    case XDPVM_SHAPE_CALLX: r = dst; break;
    case XDPVM_SHAPE_EXIT: r = 1; break;
    case XDPVM_SHAPE_LDX: r = src; w = dst; break;
    case XDPVM_SHAPE_ST: r = dst; break;
    case XDPVM_SHAPE_STX: r = (uint16_t)(dst | src); break;
    case XDPVM_SHAPE_ATOMIC:
        r = (uint16_t)(dst | src);
        if (d->imm & XDPVM_ATOMIC_FETCH)
            w = src;
        if (d->imm == XDPVM_ATOMIC_CMPXCHG) {
            r |= 1;
            w = 1;
        }
        break;
    case XDPVM_SHAPE_LDDW: w = dst; break;
    case XDPVM_SHAPE_JA:
    case XDPVM_SHAPE_GOTOL:
    case XDPVM_SHAPE_CALL:
    case XDPVM_SHAPE_CALL_LOCAL: break;
    }
    *reads = r;
    *writes = w;
}
