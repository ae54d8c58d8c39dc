/* Random XDP program generator (see randprog.h). */
#include "randprog.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct gen {
    struct xdpvm_insn *insns;
    size_t n, cap;
    uint64_t rng;
    const struct randprog_opts *opts;
    unsigned mistake_percent;
    bool oom;
    unsigned depth; /* nesting of branches and loops */
    /* Local calls made so far: where, and whether r1 holds a pointer to 8 bytes of stack. */
    struct { size_t insn; bool stack_arg; } calls[8];
    unsigned ncalls;
    size_t callback_refs[4]; /* lddw of each bpf_loop callback */
    unsigned ncallbacks;
};

static uint64_t next(struct gen *g)
{
    g->rng ^= g->rng << 13;
    g->rng ^= g->rng >> 7;
    g->rng ^= g->rng << 17;
    return g->rng;
}

static unsigned below(struct gen *g, unsigned n) { return (unsigned)(next(g) % n); }
static bool chance(struct gen *g, unsigned percent) { return below(g, 100) < percent; }
static bool mistake(struct gen *g) { return chance(g, g->mistake_percent); }

static void emit(struct gen *g, uint8_t code, unsigned dst, unsigned src, int16_t off, int32_t imm)
{
    if (g->n == g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 128;
        struct xdpvm_insn *p = realloc(g->insns, cap * sizeof(*p));
        if (!p) {
            g->oom = true;
            return;
        }
        g->insns = p;
        g->cap = cap;
    }
    g->insns[g->n++] = (struct xdpvm_insn){.code = code, .dst = dst & 15, .src = src & 15, .off = off, .imm = imm};
}

static void emit_lddw(struct gen *g, unsigned dst, unsigned pseudo, uint64_t value)
{
    emit(g, XDPVM_CLASS_LD | XDPVM_MODE_IMM | XDPVM_SIZE_DW, dst, pseudo, 0, (int32_t)(uint32_t)value);
    emit(g, 0, 0, 0, 0, (int32_t)(uint32_t)(value >> 32));
}

static const uint8_t sizes[4] = {XDPVM_SIZE_B, XDPVM_SIZE_H, XDPVM_SIZE_W, XDPVM_SIZE_DW};
static const unsigned size_bytes[4] = {1, 2, 4, 8};

static int32_t interesting_imm(struct gen *g)
{
    static const int32_t values[] = {0, 1, -1, 2, 7, 8, 15, 16, 31, 32, 63, 64, 255, 256, 0x7fff, 0xffff,
                                     0x7fffffff, INT32_MIN, -2, 1000, 12345};
    if (chance(g, 70))
        return values[below(g, sizeof(values) / sizeof(values[0]))];
    return (int32_t)(uint32_t)next(g);
}

/* A scratch register: r0..r6. */
static unsigned scratch(struct gen *g) { return below(g, 7); }

static void block(struct gen *g);

static void alu_block(struct gen *g)
{
    static const uint8_t ops[] = {XDPVM_ALU_ADD, XDPVM_ALU_SUB, XDPVM_ALU_MUL, XDPVM_ALU_DIV, XDPVM_ALU_OR,
                                  XDPVM_ALU_AND, XDPVM_ALU_LSH, XDPVM_ALU_RSH, XDPVM_ALU_MOD, XDPVM_ALU_XOR,
                                  XDPVM_ALU_MOV, XDPVM_ALU_ARSH, XDPVM_ALU_NEG, XDPVM_ALU_END};
    unsigned count = 1 + below(g, 4);
    for (unsigned i = 0; i < count; i++) {
        uint8_t op = ops[below(g, sizeof(ops) / sizeof(ops[0]))];
        bool is64 = chance(g, 60);
        uint8_t cls = is64 ? XDPVM_CLASS_ALU64 : XDPVM_CLASS_ALU;
        unsigned dst = scratch(g);
        if (op == XDPVM_ALU_NEG) {
            emit(g, cls | op, dst, 0, 0, 0);
            continue;
        }
        if (op == XDPVM_ALU_END) {
            static const int32_t widths[] = {16, 32, 64};
            bool to_be = chance(g, 50);
            emit(g, (is64 ? XDPVM_CLASS_ALU64 : XDPVM_CLASS_ALU) | op | (is64 || !to_be ? XDPVM_SRC_K : XDPVM_SRC_X),
                 dst, 0, 0, widths[below(g, 3)]);
            continue;
        }
        int16_t off = 0;
        if ((op == XDPVM_ALU_DIV || op == XDPVM_ALU_MOD) && chance(g, 25))
            off = 1; /* signed division */
        if (op == XDPVM_ALU_MOV && chance(g, 15)) {
            static const int16_t widths[] = {8, 16, 32};
            off = widths[below(g, is64 ? 3 : 2)]; /* movsx */
            emit(g, cls | op | XDPVM_SRC_X, dst, scratch(g), off, 0);
            continue;
        }
        if (chance(g, 50)) {
            int32_t imm = interesting_imm(g);
            if (op == XDPVM_ALU_LSH || op == XDPVM_ALU_RSH || op == XDPVM_ALU_ARSH)
                imm = (int32_t)below(g, is64 ? 64 : 32);
            emit(g, cls | op | XDPVM_SRC_K, dst, 0, off, imm);
        } else {
            emit(g, cls | op | XDPVM_SRC_X, dst, scratch(g), off, 0);
        }
    }
}

/* if (r7 + need > r8) skip; then loads/stores at offsets below need (a mistake: beyond). */
static void packet_block(struct gen *g)
{
    unsigned need = 1 + below(g, 64);
    emit(g, XDPVM_CLASS_ALU64 | XDPVM_ALU_MOV | XDPVM_SRC_X, 1, 7, 0, 0);
    emit(g, XDPVM_CLASS_ALU64 | XDPVM_ALU_ADD | XDPVM_SRC_K, 1, 0, 0, (int32_t)need);
    size_t jump = g->n;
    emit(g, XDPVM_CLASS_JMP | XDPVM_JMP_JGT | XDPVM_SRC_X, 1, 8, 0, 0);
    unsigned accesses = 1 + below(g, 3);
    for (unsigned i = 0; i < accesses; i++) {
        unsigned s = below(g, 4);
        while (size_bytes[s] > need)
            s--;
        unsigned max_off = need - size_bytes[s];
        int16_t off = (int16_t)below(g, max_off + 1);
        if (mistake(g))
            off = (int16_t)(need - size_bytes[s] + 1 + below(g, 8));
        if (chance(g, 70))
            emit(g, XDPVM_CLASS_LDX | XDPVM_MODE_MEM | sizes[s], scratch(g), 7, off, 0);
        else
            emit(g, XDPVM_CLASS_STX | XDPVM_MODE_MEM | sizes[s], 7, scratch(g) == 1 ? 0 : 2, off, 0);
    }
    g->insns[jump].off = (int16_t)(g->n - jump - 1);
    emit(g, XDPVM_CLASS_ALU64 | XDPVM_ALU_MOV | XDPVM_SRC_K, 1, 0, 0, interesting_imm(g));
}

/* A pointer at a masked variable offset into the packet, checked before its one-byte load. */
static void packet_variable_block(struct gen *g)
{
    unsigned idx = scratch(g);
    if (idx == 1 || idx == 3)
        idx = 0;
    if (!mistake(g))
        emit(g, XDPVM_CLASS_ALU64 | XDPVM_ALU_AND | XDPVM_SRC_K, idx, 0, 0, (int32_t)below(g, 64));
    emit(g, XDPVM_CLASS_ALU64 | XDPVM_ALU_MOV | XDPVM_SRC_X, 3, 7, 0, 0);
    emit(g, XDPVM_CLASS_ALU64 | XDPVM_ALU_ADD | XDPVM_SRC_X, 3, idx, 0, 0);
    emit(g, XDPVM_CLASS_ALU64 | XDPVM_ALU_MOV | XDPVM_SRC_X, 1, 3, 0, 0);
    unsigned size = 1 + below(g, 4);
    emit(g, XDPVM_CLASS_ALU64 | XDPVM_ALU_ADD | XDPVM_SRC_K, 1, 0, 0, (int32_t)size);
    emit(g, XDPVM_CLASS_JMP | XDPVM_JMP_JGT | XDPVM_SRC_X, 1, 8, 1, 0);
    emit(g, XDPVM_CLASS_LDX | XDPVM_MODE_MEM | XDPVM_SIZE_B, scratch(g) == 3 ? 4 : scratch(g), 3,
         (int16_t)(mistake(g) ? size : below(g, size)), 0);
    emit(g, XDPVM_CLASS_ALU64 | XDPVM_ALU_MOV | XDPVM_SRC_K, 1, 0, 0, interesting_imm(g));
    emit(g, XDPVM_CLASS_ALU64 | XDPVM_ALU_MOV | XDPVM_SRC_K, 3, 0, 0, interesting_imm(g));
}

/* Spill to and fill from the stack (fp-8 .. fp-64). */
static void stack_block(struct gen *g)
{
    unsigned s = below(g, 4);
    int16_t off = (int16_t)-(int)(8 * (1 + below(g, 8)) - size_bytes[s] * below(g, 8 / size_bytes[s]));
    if (chance(g, 60))
        emit(g, XDPVM_CLASS_STX | XDPVM_MODE_MEM | sizes[s], 10, scratch(g), off, 0);
    else if (chance(g, 50))
        emit(g, XDPVM_CLASS_ST | XDPVM_MODE_MEM | sizes[s], 10, 0, off, interesting_imm(g));
    else
        emit(g, XDPVM_CLASS_LDX | XDPVM_MODE_MEM | sizes[s], scratch(g), 10, off, 0); /* may be unwritten */
    if (chance(g, 20)) { /* atomic add on an initialised slot */
        emit(g, XDPVM_CLASS_ST | XDPVM_MODE_MEM | XDPVM_SIZE_DW, 10, 0, -72, 0);
        emit(g, XDPVM_CLASS_STX | XDPVM_MODE_ATOMIC | XDPVM_SIZE_DW, 10, scratch(g), -72,
             chance(g, 50) ? XDPVM_ATOMIC_ADD : (XDPVM_ATOMIC_ADD | XDPVM_ATOMIC_FETCH));
    }
}

static void reinit_args(struct gen *g)
{
    for (unsigned r = 1; r <= 5; r++)
        if (!mistake(g))
            emit(g, XDPVM_CLASS_ALU64 | XDPVM_ALU_MOV | XDPVM_SRC_K, r, 0, 0, interesting_imm(g));
}

static void map_block(struct gen *g)
{
    if (!g->opts->array_map)
        return;
    emit(g, XDPVM_CLASS_ST | XDPVM_MODE_MEM | XDPVM_SIZE_W, 10, 0, -4, (int32_t)below(g, 6));
    emit(g, XDPVM_CLASS_ALU64 | XDPVM_ALU_MOV | XDPVM_SRC_X, 2, 10, 0, 0);
    emit(g, XDPVM_CLASS_ALU64 | XDPVM_ALU_ADD | XDPVM_SRC_K, 2, 0, 0, -4);
    emit_lddw(g, 1, XDPVM_PSEUDO_MAP_FD, (uint64_t)(uintptr_t)g->opts->array_map);
    emit(g, XDPVM_CLASS_JMP | XDPVM_JMP_CALL, 0, 0, 0, 1);
    size_t jump = g->n;
    if (!mistake(g))
        emit(g, XDPVM_CLASS_JMP | XDPVM_JMP_JEQ | XDPVM_SRC_K, 0, 0, 0, 0);
    else
        jump = SIZE_MAX;
    uint32_t vs = g->opts->value_size;
    if (chance(g, 40)) { /* masked variable index */
        unsigned idx = 1 + below(g, 5);
        emit(g, XDPVM_CLASS_ALU64 | XDPVM_ALU_MOV | XDPVM_SRC_X, idx, 6, 0, 0);
        emit(g, XDPVM_CLASS_ALU64 | XDPVM_ALU_AND | XDPVM_SRC_K, idx, 0, 0, mistake(g) ? (int32_t)(vs * 2) : 7);
        emit(g, XDPVM_CLASS_ALU64 | XDPVM_ALU_ADD | XDPVM_SRC_X, 0, idx, 0, 0);
    }
    unsigned s = below(g, 4);
    int16_t off = (int16_t)below(g, vs - 7 - size_bytes[s] + 1);
    if (mistake(g))
        off = (int16_t)(vs - size_bytes[s] + 1);
    if (chance(g, 50))
        emit(g, XDPVM_CLASS_STX | XDPVM_MODE_MEM | sizes[s], 0, 6, off, 0);
    emit(g, XDPVM_CLASS_LDX | XDPVM_MODE_MEM | sizes[s], 0, 0, off, 0);
    if (jump != SIZE_MAX)
        g->insns[jump].off = (int16_t)(g->n - jump - 1);
    reinit_args(g);
}

static void helper_block(struct gen *g)
{
    emit(g, XDPVM_CLASS_JMP | XDPVM_JMP_CALL, 0, 0, 0, chance(g, 50) ? 5 : 7);
    reinit_args(g);
}

static void branch_block(struct gen *g)
{
    static const uint8_t conds[] = {XDPVM_JMP_JEQ, XDPVM_JMP_JGT, XDPVM_JMP_JGE, XDPVM_JMP_JSET, XDPVM_JMP_JNE,
                                    XDPVM_JMP_JSGT, XDPVM_JMP_JSGE, XDPVM_JMP_JLT, XDPVM_JMP_JLE,
                                    XDPVM_JMP_JSLT, XDPVM_JMP_JSLE};
    uint8_t cls = chance(g, 60) ? XDPVM_CLASS_JMP : XDPVM_CLASS_JMP32;
    uint8_t op = conds[below(g, sizeof(conds) / sizeof(conds[0]))];
    size_t jump = g->n;
    if (chance(g, 50))
        emit(g, cls | op | XDPVM_SRC_K, scratch(g), 0, 0, interesting_imm(g));
    else
        emit(g, cls | op | XDPVM_SRC_X, scratch(g), scratch(g), 0, 0);
    g->depth++;
    block(g);
    g->depth--;
    g->insns[jump].off = (int16_t)(g->n - jump - 1);
}

static void loop_block(struct gen *g)
{
    emit(g, XDPVM_CLASS_ALU64 | XDPVM_ALU_MOV | XDPVM_SRC_K, 6, 0, 0, 0);
    size_t head = g->n;
    emit(g, XDPVM_CLASS_ALU64 | XDPVM_ALU_ADD | XDPVM_SRC_K, 6, 0, 0, 1);
    unsigned before = (unsigned)g->n;
    alu_block(g);
    /* The body must not touch the counter. */
    for (size_t i = before; i < g->n; i++)
        if (g->insns[i].dst == 6)
            g->insns[i].dst = 5;
    size_t jump = g->n;
    emit(g, XDPVM_CLASS_JMP | XDPVM_JMP_JLT | XDPVM_SRC_K, 6, 0, 0, 1 + (int32_t)below(g, 12));
    g->insns[jump].off = (int16_t)((int64_t)head - (int64_t)jump - 1);
}

/* A copy of a number plus a constant is bounded, then the original indexes the stack: only
 * a verifier that links the copy to the original (as the kernel does) accepts it. */
static void linked_bound_block(struct gen *g)
{
    unsigned y = scratch(g);
    if (y == 4 || y == 5)
        y = 0;
    int32_t k = (int32_t)below(g, 201) - 100;
    bool narrow = chance(g, 40);
    uint8_t cls = narrow ? XDPVM_CLASS_ALU : XDPVM_CLASS_ALU64;
    if (narrow) /* keep the original below 2^32 so a 32-bit copy stays linked */
        emit(g, XDPVM_CLASS_ALU64 | XDPVM_ALU_AND | XDPVM_SRC_K, y, 0, 0, 0x7fffffff);
    emit(g, cls | XDPVM_ALU_MOV | XDPVM_SRC_X, 4, y, 0, 0);
    emit(g, cls | XDPVM_ALU_ADD | XDPVM_SRC_K, 4, 0, 0, k);
    size_t jump = g->n;
    emit(g, (narrow ? XDPVM_CLASS_JMP32 : XDPVM_CLASS_JMP) | XDPVM_JMP_JGT | XDPVM_SRC_K, 4, 0, 0,
         mistake(g) ? 64 : 56);
    emit(g, XDPVM_CLASS_ALU64 | XDPVM_ALU_MOV | XDPVM_SRC_X, 5, 10, 0, 0);
    emit(g, XDPVM_CLASS_ALU64 | XDPVM_ALU_ADD | XDPVM_SRC_K, 5, 0, 0, -64 + k);
    emit(g, XDPVM_CLASS_ALU64 | XDPVM_ALU_ADD | XDPVM_SRC_X, 5, y, 0, 0);
    emit(g, XDPVM_CLASS_LDX | XDPVM_MODE_MEM | XDPVM_SIZE_B, 0, 5, 0, 0);
    g->insns[jump].off = (int16_t)(g->n - jump - 1);
    emit(g, XDPVM_CLASS_ALU64 | XDPVM_ALU_MOV | XDPVM_SRC_K, 5, 0, 0, interesting_imm(g));
}

/* Save the packet pointer on the stack (fp-72) and use the copy after a bounds check; a
 * mistake saves only half of it, which loses the pointer. */
static void spill_block(struct gen *g)
{
    bool half = mistake(g);
    emit(g, XDPVM_CLASS_STX | XDPVM_MODE_MEM | (half ? XDPVM_SIZE_W : XDPVM_SIZE_DW), 10, 7, -72, 0);
    emit(g, XDPVM_CLASS_LDX | XDPVM_MODE_MEM | XDPVM_SIZE_DW, 3, 10, -72, 0);
    emit(g, XDPVM_CLASS_ALU64 | XDPVM_ALU_MOV | XDPVM_SRC_X, 1, 3, 0, 0);
    unsigned need = 1 + below(g, 16);
    emit(g, XDPVM_CLASS_ALU64 | XDPVM_ALU_ADD | XDPVM_SRC_K, 1, 0, 0, (int32_t)need);
    emit(g, XDPVM_CLASS_JMP | XDPVM_JMP_JGT | XDPVM_SRC_X, 1, 8, 1, 0);
    emit(g, XDPVM_CLASS_LDX | XDPVM_MODE_MEM | XDPVM_SIZE_B, 0, 3, (int16_t)below(g, need), 0);
    emit(g, XDPVM_CLASS_ALU64 | XDPVM_ALU_MOV | XDPVM_SRC_K, 1, 0, 0, interesting_imm(g));
    emit(g, XDPVM_CLASS_ALU64 | XDPVM_ALU_MOV | XDPVM_SRC_K, 3, 0, 0, interesting_imm(g));
    emit(g, XDPVM_CLASS_ST | XDPVM_MODE_MEM | XDPVM_SIZE_DW, 10, 0, -72, 0);
}

/* bpf_loop over a callback that works on 16 bytes of the caller's stack (fp-64..fp-49). */
static void bpf_loop_block(struct gen *g)
{
    if (!g->opts->callbacks || g->ncallbacks >= sizeof(g->callback_refs) / sizeof(g->callback_refs[0])) {
        alu_block(g);
        return;
    }
    emit(g, XDPVM_CLASS_ALU64 | XDPVM_ALU_MOV | XDPVM_SRC_K, 1, 0, 0, (int32_t)below(g, 20));
    g->callback_refs[g->ncallbacks++] = g->n;
    emit_lddw(g, 2, XDPVM_PSEUDO_FUNC, 0);
    emit(g, XDPVM_CLASS_ALU64 | XDPVM_ALU_MOV | XDPVM_SRC_X, 3, 10, 0, 0);
    emit(g, XDPVM_CLASS_ALU64 | XDPVM_ALU_ADD | XDPVM_SRC_K, 3, 0, 0, -64);
    emit(g, XDPVM_CLASS_ALU64 | XDPVM_ALU_MOV | XDPVM_SRC_K, 4, 0, 0, 0);
    emit(g, XDPVM_CLASS_JMP | XDPVM_JMP_CALL, 0, 0, 0, 181);
    reinit_args(g);
}

/* The callback: r1 = index, r2 = the caller's 16-byte context. It reads and bumps a byte at a
 * masked index and a counter, and returns 0 or 1; mistakes reach past the context or return 2. */
static void emit_callback(struct gen *g)
{
    emit(g, XDPVM_CLASS_ALU64 | XDPVM_ALU_MOV | XDPVM_SRC_X, 3, 1, 0, 0);
    emit(g, XDPVM_CLASS_ALU64 | XDPVM_ALU_AND | XDPVM_SRC_K, 3, 0, 0, mistake(g) ? 127 : 15);
    emit(g, XDPVM_CLASS_ALU64 | XDPVM_ALU_MOV | XDPVM_SRC_X, 4, 2, 0, 0);
    emit(g, XDPVM_CLASS_ALU64 | XDPVM_ALU_ADD | XDPVM_SRC_X, 4, 3, 0, 0);
    emit(g, XDPVM_CLASS_LDX | XDPVM_MODE_MEM | XDPVM_SIZE_B, 5, 4, 0, 0);
    emit(g, XDPVM_CLASS_ALU64 | XDPVM_ALU_ADD | XDPVM_SRC_X, 5, 1, 0, 0);
    emit(g, XDPVM_CLASS_STX | XDPVM_MODE_MEM | XDPVM_SIZE_B, 4, 5, 0, 0);
    emit(g, XDPVM_CLASS_LDX | XDPVM_MODE_MEM | XDPVM_SIZE_DW, 5, 2, 8, 0);
    emit(g, XDPVM_CLASS_ALU64 | XDPVM_ALU_ADD | XDPVM_SRC_K, 5, 0, 0, 1);
    emit(g, XDPVM_CLASS_STX | XDPVM_MODE_MEM | XDPVM_SIZE_DW, 2, 5, 8, 0);
    emit(g, XDPVM_CLASS_ALU64 | XDPVM_ALU_MOV | XDPVM_SRC_X, 0, 5, 0, 0);
    emit(g, XDPVM_CLASS_ALU64 | XDPVM_ALU_AND | XDPVM_SRC_K, 0, 0, 0, mistake(g) ? 3 : 1);
    emit(g, XDPVM_CLASS_JMP | XDPVM_JMP_EXIT, 0, 0, 0, 0);
}

/* Call a function (emitted after the main program by emit_functions). */
static void call_block(struct gen *g)
{
    if (!g->opts->subprograms || g->ncalls >= sizeof(g->calls) / sizeof(g->calls[0])) {
        alu_block(g);
        return;
    }
    bool stack_arg = chance(g, 50);
    for (unsigned r = 1; r <= 5; r++)
        emit(g, XDPVM_CLASS_ALU64 | XDPVM_ALU_MOV | XDPVM_SRC_K, r, 0, 0, interesting_imm(g));
    if (stack_arg) {
        emit(g, XDPVM_CLASS_ALU64 | XDPVM_ALU_MOV | XDPVM_SRC_X, 1, 10, 0, 0);
        emit(g, XDPVM_CLASS_ALU64 | XDPVM_ALU_ADD | XDPVM_SRC_K, 1, 0, 0, -8 * (int32_t)(1 + below(g, 8)));
    }
    g->calls[g->ncalls].insn = g->n;
    g->calls[g->ncalls].stack_arg = stack_arg;
    g->ncalls++;
    emit(g, XDPVM_CLASS_JMP | XDPVM_JMP_CALL, 0, XDPVM_CALL_LOCAL, 0, 0);
    reinit_args(g);
}

/* A function: numbers in r0..r5, its own stack, and through r1 the caller's stack when it
 * was given a pointer; returns a number. */
static void emit_function(struct gen *g, bool stack_arg)
{
    emit(g, XDPVM_CLASS_ALU64 | XDPVM_ALU_MOV | XDPVM_SRC_K, 0, 0, 0, interesting_imm(g));
    unsigned steps = 2 + below(g, 8);
    for (unsigned i = 0; i < steps; i++) {
        unsigned dst = stack_arg ? 2 + below(g, 4) : below(g, 6), src = below(g, 6);
        if (stack_arg && src == 1)
            src = 0;
        switch (below(g, 5)) {
        case 0:
            emit(g, XDPVM_CLASS_STX | XDPVM_MODE_MEM | XDPVM_SIZE_DW, 10, src, (int16_t)(-8 * (int)(1 + below(g, 4))), 0);
            break;
        case 1:
            emit(g, XDPVM_CLASS_ST | XDPVM_MODE_MEM | XDPVM_SIZE_DW, 10, 0, -8, interesting_imm(g));
            emit(g, XDPVM_CLASS_LDX | XDPVM_MODE_MEM | XDPVM_SIZE_DW, dst, 10, -8, 0);
            break;
        case 2:
            if (stack_arg) {
                if (chance(g, 50))
                    emit(g, XDPVM_CLASS_STX | XDPVM_MODE_MEM | XDPVM_SIZE_W, 1, src, 0, 0);
                else
                    emit(g, XDPVM_CLASS_LDX | XDPVM_MODE_MEM | XDPVM_SIZE_DW, dst, 1,
                         (int16_t)(mistake(g) ? 8 : 0), 0);
                break;
            }
            /* fall through */
        default:
            emit(g, (chance(g, 50) ? XDPVM_CLASS_ALU64 : XDPVM_CLASS_ALU) |
                        (chance(g, 50) ? XDPVM_ALU_ADD : XDPVM_ALU_XOR) | XDPVM_SRC_X, dst, src, 0, 0);
            break;
        }
    }
    emit(g, XDPVM_CLASS_JMP | XDPVM_JMP_EXIT, 0, 0, 0, 0);
}

static void emit_functions(struct gen *g)
{
    for (unsigned i = 0; i < g->ncallbacks; i++) {
        size_t start = g->n;
        emit_callback(g);
        if (!g->oom)
            g->insns[g->callback_refs[i]].imm = (int32_t)((int64_t)start - (int64_t)g->callback_refs[i] - 1);
    }
    for (unsigned i = 0; i < g->ncalls; i++) {
        size_t start = g->n;
        emit_function(g, g->calls[i].stack_arg);
        if (!g->oom)
            g->insns[g->calls[i].insn].imm = (int32_t)((int64_t)start - (int64_t)g->calls[i].insn - 1);
    }
}

static void block(struct gen *g)
{
    unsigned kind = below(g, 100);
    if (kind < 30)
        alu_block(g);
    else if (kind < 50)
        packet_block(g);
    else if (kind < 58)
        packet_variable_block(g);
    else if (kind < 70)
        stack_block(g);
    else if (kind < 80)
        map_block(g);
    else if (kind < 83)
        helper_block(g);
    else if (kind < 87)
        call_block(g);
    else if (kind < 90)
        linked_bound_block(g);
    else if (kind < 92)
        spill_block(g);
    else if (kind < 94 && g->depth == 0)
        bpf_loop_block(g);
    else if (kind < 97 && g->depth < 3)
        branch_block(g);
    else if (g->depth < 1)
        loop_block(g);
    else
        alu_block(g);
}

struct xdpvm_insn *randprog_generate(const struct randprog_opts *opts, size_t *count)
{
    struct gen g = {.rng = opts->seed * 0x9e3779b97f4a7c15ull + 0x632be59bd9b4e019ull, .opts = opts,
                    .mistake_percent = opts->mistake_percent ? opts->mistake_percent : 3};
    for (int i = 0; i < 4; i++)
        next(&g);
    emit(&g, XDPVM_CLASS_ALU64 | XDPVM_ALU_MOV | XDPVM_SRC_X, 9, 1, 0, 0);
    emit(&g, XDPVM_CLASS_LDX | XDPVM_MODE_MEM | XDPVM_SIZE_W, 7, 9, 0, 0);
    emit(&g, XDPVM_CLASS_LDX | XDPVM_MODE_MEM | XDPVM_SIZE_W, 8, 9, 4, 0);
    for (unsigned r = 0; r <= 6; r++)
        if (!mistake(&g) || !chance(&g, 30))
            emit(&g, XDPVM_CLASS_ALU64 | XDPVM_ALU_MOV | XDPVM_SRC_K, r, 0, 0, interesting_imm(&g));
    for (int off = -8; off >= -64; off -= 8)
        if (!mistake(&g))
            emit(&g, XDPVM_CLASS_ST | XDPVM_MODE_MEM | XDPVM_SIZE_DW, 10, 0, (int16_t)off, interesting_imm(&g));
    unsigned blocks = opts->blocks ? opts->blocks : 12;
    for (unsigned i = 0; i < blocks; i++)
        block(&g);
    emit(&g, XDPVM_CLASS_ALU64 | XDPVM_ALU_AND | XDPVM_SRC_K, 0, 0, 0, 3);
    emit(&g, XDPVM_CLASS_JMP | XDPVM_JMP_EXIT, 0, 0, 0, 0);
    emit_functions(&g);
    if (g.oom) {
        free(g.insns);
        return NULL;
    }
    *count = g.n;
    return g.insns;
}
