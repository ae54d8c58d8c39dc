/* x86-64 JIT. See jit.h for the register mapping.
 *
 * Code layout of one program:
 *   [exec entry][args entry][callback entry][function 0 (main)][function 1]...[unwind block]
 * The entries are the only ways in from C. The exec entry has the signature of
 * struct xdpvm_prog.exec and is installed there, so a run costs one call. Each entry saves
 * the System V callee-saved registers, keeps the run pointer in r12 (callee-saved, so helper
 * calls preserve it), saves the run's executor_state and call_subprog, stores in
 * executor_state the stack pointer to unwind to (it also bounds the call depth), and calls a
 * BPF function. Every BPF function has the same frame size: return address, saved
 * rbp/rbx/r13/r14/r15 (BPF r10, r6..r9: callee-saved in BPF too; the main function, entered
 * only from an entry, reserves the space without saving), then 512 bytes of BPF stack with rbp
 * (BPF r10) at its top.
 *
 * After a helper returns, a set run->stop (helper error, conformance "unwind") or
 * run->next_prog (tail call) makes the code unwind straight back into the entry's frame,
 * which hands over to jit_slow_exit (C): error, stop value, or the next program's exec.
 *
 * Instructions are emitted one by one from the opcode table: each row's shape picks an
 * emitter, which reads the operation from the row's opcode byte (linux/bpf.h numbering).
 * Jumps always use rel32, so one pass plus a fix-up list suffices.
 */
#include "jit.h"

#include "maps/maps.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <unistd.h>

#if defined(__x86_64__)

/* x86-64 register numbers. */
enum {
    RAX = 0, RCX = 1, RDX = 2, RBX = 3, RSP = 4, RBP = 5, RSI = 6, RDI = 7,
    R8 = 8, R9 = 9, R10 = 10, R11 = 11, R12 = 12, R13 = 13, R14 = 14, R15 = 15,
};

static const uint8_t bpf_to_x86[XDPVM_REG_COUNT] = {
    RAX, RDI, RSI, RDX, RCX, R8, RBX, R13, R14, R15, RBP,
};

/* Registers no BPF register lives in. */
#define REG_RUN R12   /* struct xdpvm_run *, set by the enter stub */
#define SCRATCH R11
#define SCRATCH2 R10
#define SCRATCH3 R9

#define FRAME_PUSHES 5 /* rbp, rbx, r13, r14, r15 */
#define FUNCTION_FRAME (8 + FRAME_PUSHES * 8 + XDPVM_STACK_SIZE)
#define NO_OFFSET UINT32_MAX

/* What xdpvm_jit_compile leaves in prog->jit_state. */
struct jit_state {
    uint8_t *map;          /* mmap'ed code, map_size bytes */
    size_t map_size;
    size_t code_size;
    size_t body_end;
    size_t count;          /* BPF instructions */
    uint32_t *insn_offset; /* per instruction: code offset of its first byte after any prologue */
    uint32_t *func_entry;  /* per instruction: function entry (prologue) offset, or NO_OFFSET */
    uint32_t *merged_into; /* per instruction: the one whose code does its work too, or NO_OFFSET */
    uint32_t args_entry, callback_entry; /* offsets of the other entries (exec is at 0) */
};

typedef int (*jit_exec_fn)(struct xdpvm_run *run, uint64_t *r0);
typedef int (*jit_args_fn)(struct xdpvm_run *run, uint64_t *r0, const uint64_t args[5]);
typedef uint64_t (*jit_callback_fn)(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5,
                                    struct xdpvm_run *run, const void *function);
static jit_exec_fn exec_of(const struct jit_state *js);

enum trap_kind { TRAP_CALL_DEPTH, TRAP_CALLX_UNKNOWN };

struct fixup {
    uint32_t at;      /* position of the rel32 */
    uint32_t target;  /* BPF instruction index */
    bool to_entry;    /* function entry (calls) rather than instruction start (jumps) */
};

struct entry_layout {
    int regs[6];       /* x86 registers the entries save, in push order */
    int nregs;
    bool pad;          /* an 8-byte hole to keep the call into BPF code aligned */
    bool callbacks;    /* the program has callbacks: entries set run->call_subprog */
    bool needs_run;    /* calls (helpers, functions) and inlined lookups (run->cpu): r12 = run;
                        * executor_state is set unless leaf */
    bool needs_fp;     /* BPF r10 or functions: rbp is set up (and saved by the entries) */
    bool leaf;         /* no calls of any kind (inlined lookups are none): the frame is the saved registers and the r0
                        * pointer only (no executor_state slot, no alignment, no stack unless
                        * r10 is used) */
};

struct emitter {
    uint8_t *buf;
    size_t len, cap;
    bool oom;
    const struct xdpvm_prog *prog;
    const struct xdpvm_jit_opts *opts;
    uint32_t *insn_offset;
    uint32_t *func_entry;
    uint32_t *merged_into;  /* see struct jit_state */
    bool *is_function;
    bool *is_target;        /* jumped to, or a function: register contents are not known there */
    struct store_plan *store_plan; /* per instruction: byte stores merged (plan_byte_stores) */
    const struct xdpvm_decoded *decoded;
    struct fixup *fixups;
    size_t fixup_count, fixup_cap;
    uint32_t *unwind_refs;  /* rel32 positions jumping to the unwind block */
    size_t unwind_count, unwind_cap;
    uint64_t blind_state;   /* xorshift state for constant blinding */
    bool lean_main;         /* main is entered only from the entries: no register saves, and
                             * its code follows the exec entry (no call, its exits return
                             * from the entry) */
    bool in_lean_main;      /* emitting the main function's instructions */
    uint32_t args_entry, callback_entry;
    size_t shared_entry;    /* where the args entry joins the exec entry */
    struct entry_layout entry;
    char *err;
    size_t err_size;
};

static int jit_error(struct emitter *e, size_t pc, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int jit_error(struct emitter *e, size_t pc, int code, const char *fmt, ...)
{
    if (e->err && e->err_size) {
        int n = snprintf(e->err, e->err_size, "jit: program '%s': instruction %zu: ",
                         e->prog->name, pc);
        if (n >= 0 && (size_t)n < e->err_size) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(e->err + n, e->err_size - (size_t)n, fmt, ap);
            va_end(ap);
        }
    }
    return code;
}

/* ---- byte emission ---------------------------------------------------------------------- */

static void emit_bytes(struct emitter *e, const void *bytes, size_t n)
{
    if (e->len + n > e->cap) {
        size_t cap = e->cap ? e->cap * 2 : 4096;
        while (cap < e->len + n)
            cap *= 2;
        uint8_t *grown = realloc(e->buf, cap);
        if (!grown) {
            e->oom = true;
            return;
        }
        e->buf = grown;
        e->cap = cap;
    }
    memcpy(e->buf + e->len, bytes, n);
    e->len += n;
}
static void emit1(struct emitter *e, uint8_t b) { emit_bytes(e, &b, 1); }
static void emit2(struct emitter *e, uint8_t a, uint8_t b) { emit1(e, a); emit1(e, b); }
static void emit_u16(struct emitter *e, uint16_t v) { emit2(e, (uint8_t)v, (uint8_t)(v >> 8)); }
static void emit_u32(struct emitter *e, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    emit_bytes(e, b, 4);
}
static void emit_u64(struct emitter *e, uint64_t v)
{
    emit_u32(e, (uint32_t)v);
    emit_u32(e, (uint32_t)(v >> 32));
}
static void patch_u32(struct emitter *e, size_t at, uint32_t v)
{
    if (e->oom || at + 4 > e->len)
        return;
    for (int i = 0; i < 4; i++)
        e->buf[at + (size_t)i] = (uint8_t)(v >> (8 * i));
}

static bool fits_s8(int64_t v) { return v >= INT8_MIN && v <= INT8_MAX; }
static bool fits_s32(int64_t v) { return v >= INT32_MIN && v <= INT32_MAX; }

/* REX prefix; `force` for byte registers spl/bpl/sil/dil, which need one even when empty. */
static void emit_rex(struct emitter *e, bool w, int reg, int index, int base, bool force)
{
    uint8_t rex = (uint8_t)(0x40 | (w ? 8 : 0) | ((reg & 8) ? 4 : 0) | ((index & 8) ? 2 : 0) |
                            ((base & 8) ? 1 : 0));
    if (rex != 0x40 || force)
        emit1(e, rex);
}
static uint8_t modrm(int mod, int reg, int rm) { return (uint8_t)((mod << 6) | ((reg & 7) << 3) | (rm & 7)); }

/* opcode with register-direct operands: op reg, rm */
static void emit_rr(struct emitter *e, bool w, const uint8_t *op, size_t oplen, int reg, int rm,
                    bool byte_regs)
{
    bool force = byte_regs && ((reg >= 4 && reg <= 7) || (rm >= 4 && rm <= 7));
    emit_rex(e, w, reg, 0, rm, force);
    emit_bytes(e, op, oplen);
    emit1(e, modrm(3, reg, rm));
}

/* ModRM + SIB + displacement for [base + disp]; never mod=00 so rbp/r13 bases need no care. */
static void emit_mem_operand(struct emitter *e, int reg, int base, int32_t disp)
{
    int mod = fits_s8(disp) ? 1 : 2;
    emit1(e, modrm(mod, reg, base));
    if ((base & 7) == RSP)
        emit1(e, 0x24);
    if (mod == 1)
        emit1(e, (uint8_t)(int8_t)disp);
    else
        emit_u32(e, (uint32_t)disp);
}
/* op reg, [base + disp] (or op [base + disp], reg: same encoding, direction is in op) */
static void emit_mem(struct emitter *e, bool w, const uint8_t *op, size_t oplen, int reg, int base,
                     int32_t disp, bool byte_reg, int prefix)
{
    if (prefix)
        emit1(e, (uint8_t)prefix);
    emit_rex(e, w, reg, 0, base, byte_reg && reg >= 4 && reg <= 7);
    emit_bytes(e, op, oplen);
    emit_mem_operand(e, reg, base, disp);
}

#define OP(...) (const uint8_t[]){__VA_ARGS__}, sizeof((const uint8_t[]){__VA_ARGS__})

static void emit_mov_rr(struct emitter *e, bool w, int dst, int src)
{
    emit_rr(e, w, OP(0x89), src, dst, false);
}
/* dst = imm, 64-bit with the shortest encoding that gives the same value. */
static void emit_mov_imm64(struct emitter *e, int dst, uint64_t imm)
{
    if (imm == 0) {
        emit_rr(e, false, OP(0x31), dst, dst, false); /* xor r32, r32 */
    } else if (imm <= UINT32_MAX) {
        emit_rex(e, false, 0, 0, dst, false);
        emit1(e, (uint8_t)(0xb8 + (dst & 7)));
        emit_u32(e, (uint32_t)imm);
    } else if (fits_s32((int64_t)imm)) {
        emit_rex(e, true, 0, 0, dst, false);
        emit2(e, 0xc7, modrm(3, 0, dst));
        emit_u32(e, (uint32_t)imm);
    } else {
        emit_rex(e, true, 0, 0, dst, false);
        emit1(e, (uint8_t)(0xb8 + (dst & 7)));
        emit_u64(e, imm);
    }
}

/* Group-1 ALU with an immediate: ext = 0 add, 1 or, 4 and, 5 sub, 6 xor, 7 cmp. */
static void emit_alu_imm(struct emitter *e, bool w, int ext, int dst, int32_t imm)
{
    emit_rex(e, w, 0, 0, dst, false);
    if (fits_s8(imm)) {
        emit2(e, 0x83, modrm(3, ext, dst));
        emit1(e, (uint8_t)(int8_t)imm);
    } else {
        emit2(e, 0x81, modrm(3, ext, dst));
        emit_u32(e, (uint32_t)imm);
    }
}

static void emit_push(struct emitter *e, int reg)
{
    emit_rex(e, false, 0, 0, reg, false);
    emit1(e, (uint8_t)(0x50 + (reg & 7)));
}
static void emit_pop(struct emitter *e, int reg)
{
    emit_rex(e, false, 0, 0, reg, false);
    emit1(e, (uint8_t)(0x58 + (reg & 7)));
}
/* lea dst, [base + disp] */
static void emit_lea(struct emitter *e, int dst, int base, int32_t disp)
{
    emit_mem(e, true, OP(0x8d), dst, base, disp, false, 0);
}
static void emit_load64(struct emitter *e, int dst, int base, int32_t disp)
{
    emit_mem(e, true, OP(0x8b), dst, base, disp, false, 0);
}
static void emit_store64(struct emitter *e, int base, int32_t disp, int src)
{
    emit_mem(e, true, OP(0x89), src, base, disp, false, 0);
}

/* Forward jump with a rel32 to patch: returns the position of the rel32. */
static size_t emit_jcc_forward(struct emitter *e, uint8_t cc)
{
    emit2(e, 0x0f, (uint8_t)(0x80 | cc));
    size_t at = e->len;
    emit_u32(e, 0);
    return at;
}
static size_t emit_jmp_forward(struct emitter *e)
{
    emit1(e, 0xe9);
    size_t at = e->len;
    emit_u32(e, 0);
    return at;
}
static void bind_here(struct emitter *e, size_t at)
{
    patch_u32(e, at, (uint32_t)(int32_t)((int64_t)e->len - (int64_t)(at + 4)));
}

static void add_fixup(struct emitter *e, size_t at, uint32_t target, bool to_entry)
{
    if (e->fixup_count == e->fixup_cap) {
        size_t cap = e->fixup_cap ? e->fixup_cap * 2 : 64;
        struct fixup *grown = realloc(e->fixups, cap * sizeof(*grown));
        if (!grown) {
            e->oom = true;
            return;
        }
        e->fixups = grown;
        e->fixup_cap = cap;
    }
    e->fixups[e->fixup_count++] = (struct fixup){(uint32_t)at, target, to_entry};
}
static void jump_to_unwind(struct emitter *e, int cc /* -1: always */)
{
    size_t at = cc < 0 ? emit_jmp_forward(e) : emit_jcc_forward(e, (uint8_t)cc);
    if (e->unwind_count == e->unwind_cap) {
        size_t cap = e->unwind_cap ? e->unwind_cap * 2 : 64;
        uint32_t *grown = realloc(e->unwind_refs, cap * sizeof(*grown));
        if (!grown) {
            e->oom = true;
            return;
        }
        e->unwind_refs = grown;
        e->unwind_cap = cap;
    }
    e->unwind_refs[e->unwind_count++] = (uint32_t)at;
}

/* Condition codes. */
enum { CC_B = 2, CC_AE = 3, CC_E = 4, CC_NE = 5, CC_BE = 6, CC_A = 7, CC_L = 0xc, CC_GE = 0xd,
       CC_LE = 0xe, CC_G = 0xf };

/* ---- constant blinding ------------------------------------------------------------------ */

static uint64_t blind_key(struct emitter *e)
{
    uint64_t x = e->blind_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    e->blind_state = x;
    return x;
}
/* reg = imm (64-bit value), never writing imm itself into the code when blinding. */
static void emit_load_const(struct emitter *e, int reg, uint64_t imm)
{
    if (!e->opts->blind_constants) {
        emit_mov_imm64(e, reg, imm);
        return;
    }
    uint64_t key = blind_key(e);
    emit_rex(e, true, 0, 0, reg, false);
    emit1(e, (uint8_t)(0xb8 + (reg & 7)));
    emit_u64(e, imm ^ key);
    emit_rex(e, true, 0, 0, SCRATCH2, false);
    emit1(e, (uint8_t)(0xb8 + (SCRATCH2 & 7)));
    emit_u64(e, key);
    emit_rr(e, true, OP(0x31), SCRATCH2, reg, false); /* xor reg, key */
}

/* Call an absolute address (helpers, traps): the code is mapped far from libxdpvm. */
static void emit_call_abs(struct emitter *e, const void *fn)
{
    emit_rex(e, true, 0, 0, SCRATCH2, false);
    emit1(e, (uint8_t)(0xb8 + (SCRATCH2 & 7)));
    emit_u64(e, (uint64_t)(uintptr_t)fn);
    emit_rex(e, false, 0, 0, SCRATCH2, false);
    emit2(e, 0xff, modrm(3, 2, SCRATCH2));
}

static void jit_trap(struct xdpvm_run *run, uint64_t pc, uint64_t kind, uint64_t value);

/* Report a run-time trap and unwind: jit_trap(run, pc, kind, value in SCRATCH). */
static void emit_trap(struct emitter *e, size_t pc, enum trap_kind kind)
{
    emit_mov_rr(e, true, RCX, SCRATCH);
    emit_mov_rr(e, true, RDI, REG_RUN);
    emit_mov_imm64(e, RSI, pc);
    emit_mov_imm64(e, RDX, (uint64_t)kind);
    emit_rex(e, true, 0, 0, RSP, false); /* and rsp, -16: traps may come mid-prologue */
    emit2(e, 0x83, modrm(3, 4, RSP));
    emit1(e, 0xf0);
    emit_call_abs(e, (const void *)jit_trap);
    jump_to_unwind(e, -1);
}

/* ---- prologue, epilogue, enter stub, unwind ------------------------------------------------ */

/* A function's frame is FUNCTION_FRAME bytes whether or not it saves registers: the main
 * function, entered only from the enter stub (which saved everything), skips the pushes
 * and reserves the same space instead, so call-depth arithmetic stays uniform. */
#define SAVED_REGS_SIZE (FRAME_PUSHES * 8)

/* The lean main function's frame below the entry's frame. With calls: the return address slot a call into main would have pushed (kept so
 * that unwinding and call-depth arithmetic see the layout of a called main), the space of
 * the saved registers and the stack. A leaf has only its stack, and only if it uses r10. */
static uint32_t lean_main_frame(const struct emitter *e)
{
    if (e->entry.leaf)
        return e->entry.needs_fp ? XDPVM_STACK_SIZE : 0;
    return 8 + SAVED_REGS_SIZE + XDPVM_STACK_SIZE;
}

static void emit_function_prologue(struct emitter *e, size_t pc, bool check_depth, bool lean)
{
    if (check_depth) {
        /* executor_state holds the main function's entry rsp; a function at call depth d is
         * entered (d - 1) frames below it. */
        emit_load64(e, SCRATCH, REG_RUN, (int32_t)offsetof(struct xdpvm_run, executor_state));
        emit_lea(e, SCRATCH, SCRATCH, -(XDPVM_MAX_CALL_DEPTH - 1) * FUNCTION_FRAME);
        emit_rr(e, true, OP(0x39), SCRATCH, RSP, false); /* cmp rsp, r11 */
        size_t ok = emit_jcc_forward(e, CC_AE);
        emit_mov_imm64(e, SCRATCH, XDPVM_MAX_CALL_DEPTH);
        emit_trap(e, pc, TRAP_CALL_DEPTH);
        bind_here(e, ok);
    }
    if (!lean) {
        emit_push(e, RBP);
        emit_push(e, RBX);
        emit_push(e, R13);
        emit_push(e, R14);
        emit_push(e, R15);
    }
    uint32_t frame = lean ? lean_main_frame(e) : XDPVM_STACK_SIZE;
    if (frame) {
        emit_rex(e, true, 0, 0, RSP, false); /* sub rsp, frame */
        emit2(e, 0x81, modrm(3, 5, RSP));
        emit_u32(e, frame);
    }
    if (!lean || e->entry.needs_fp)
        emit_lea(e, RBP, RSP, XDPVM_STACK_SIZE);
}

static void emit_add_rsp(struct emitter *e, uint32_t n)
{
    if (!n)
        return;
    emit_rex(e, true, 0, 0, RSP, false);
    if (n <= 127) {
        emit2(e, 0x83, modrm(3, 0, RSP));
        emit1(e, (uint8_t)n);
    } else {
        emit2(e, 0x81, modrm(3, 0, RSP));
        emit_u32(e, n);
    }
}

/* A function's exit; the lean main's returns from the entry: *r0 = rax, return 0. */
static void emit_function_epilogue(struct emitter *e, bool lean)
{
    if (lean) {
        emit_add_rsp(e, lean_main_frame(e) + (e->entry.leaf ? 0 : 8)); /* and the state slot */
        emit_pop(e, SCRATCH);
        emit_store64(e, SCRATCH, 0, RAX);
        emit_rr(e, false, OP(0x31), RAX, RAX, false);
        if (e->entry.pad)
            emit_add_rsp(e, 8);
        const struct entry_layout *l = &e->entry;
        for (int i = l->nregs - 1; i >= 0; i--)
            emit_pop(e, l->regs[i]);
        emit1(e, 0xc3);
        return;
    }
    emit_add_rsp(e, XDPVM_STACK_SIZE);
    emit_pop(e, R15);
    emit_pop(e, R14);
    emit_pop(e, R13);
    emit_pop(e, RBX);
    emit_pop(e, RBP);
    emit1(e, 0xc3);
}

static void emit_push_mem(struct emitter *e, int base, int32_t disp)
{
    emit_mem(e, false, OP(0xff), 6, base, disp, false, 0);
}
static void emit_pop_mem(struct emitter *e, int base, int32_t disp)
{
    emit_mem(e, false, OP(0x8f), 0, base, disp, false, 0);
}

#define RUN_FIELD(f) ((int32_t)offsetof(struct xdpvm_run, f))

static uint64_t jit_call_subprog(struct xdpvm_run *run, uint64_t insn_index, uint64_t r1,
                                 uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5);
static int jit_slow_exit(struct xdpvm_run *run, uint64_t *r0);

/* Entry frame, from the caller's return address down: the System V callee-saved registers
 * the program touches (rbp and r12 always, rbx/r13/r14/r15 when it uses BPF r6..r9), padding
 * to keep the call aligned, the r0 pointer (NULL for callbacks) and the run's executor_state
 * as found (callbacks: the outer run's unwind point; exec and args: a placeholder, since
 * executor_state is the JIT's own for the whole run). Unwinding returns to exactly this
 * layout and writes that slot back. */
static void emit_sub_rsp8(struct emitter *e, bool add)
{
    emit_rex(e, true, 0, 0, RSP, false);
    emit2(e, 0x83, modrm(3, add ? 0 : 5, RSP));
    emit1(e, 8);
}

static void emit_entry_frame(struct emitter *e, int run_reg, int r0_ptr_reg)
{
    const struct entry_layout *l = &e->entry;
    for (int i = 0; i < l->nregs; i++)
        emit_push(e, l->regs[i]);
    if (l->pad)
        emit_sub_rsp8(e, false);
    if (l->needs_run)
        emit_mov_rr(e, true, REG_RUN, run_reg);
    if (r0_ptr_reg >= 0) {
        emit_push(e, r0_ptr_reg);
        if (!l->leaf)
            emit2(e, 0x6a, 0); /* push 0: executor_state placeholder */
    } else {
        emit2(e, 0x6a, 0);
        emit_push_mem(e, REG_RUN, RUN_FIELD(executor_state));
    }
}

/* executor_state = rsp the BPF function starts with; zero the registers an unverified
 * program may read before writing (the interpreter's initial state; a verified one reads
 * none), then call. */
static void emit_entry_call_setup(struct emitter *e)
{
    const struct entry_layout *l = &e->entry;
    if (l->needs_run && !l->leaf) {
        emit_lea(e, SCRATCH, RSP, -8);
        emit_store64(e, REG_RUN, RUN_FIELD(executor_state), SCRATCH);
    }
    if (e->prog->verified)
        return;
    emit_rr(e, false, OP(0x31), RAX, RAX, false);
    for (int i = 0; i < l->nregs; i++)
        if (l->regs[i] != RBP && l->regs[i] != R12)
            emit_rr(e, false, OP(0x31), l->regs[i], l->regs[i], false);
}

static void emit_entry_frame_pop(struct emitter *e)
{
    emit_pop_mem(e, REG_RUN, RUN_FIELD(executor_state));
}

/* Drop the r0 pointer and padding (and the executor_state slot when with_state_slot), pop
 * the saved registers, return. */
static void emit_entry_return(struct emitter *e, bool with_state_slot)
{
    const struct entry_layout *l = &e->entry;
    emit_rex(e, true, 0, 0, RSP, false); /* add rsp, n */
    emit2(e, 0x83, modrm(3, 0, RSP));
    emit1(e, (uint8_t)(8 + (l->pad ? 8 : 0) + (with_state_slot ? 8 : 0)));
    for (int i = l->nregs - 1; i >= 0; i--)
        emit_pop(e, l->regs[i]);
    emit1(e, 0xc3);
}

static void emit_set_call_subprog(struct emitter *e)
{
    if (!e->entry.callbacks)
        return;
    emit_rex(e, true, 0, 0, R11, false); /* mov r11, jit_call_subprog */
    emit1(e, (uint8_t)(0xb8 + (R11 & 7)));
    emit_u64(e, (uint64_t)(uintptr_t)jit_call_subprog);
    emit_store64(e, REG_RUN, RUN_FIELD(call_subprog), R11);
}

/* Which registers the entries save, from the BPF registers the program uses. */
static void plan_entry(struct emitter *e, const bool used[XDPVM_REG_COUNT], bool callbacks, bool calls,
                       bool local_calls, bool inlined_lookups)
{
    struct entry_layout *l = &e->entry;
    l->needs_run = calls || callbacks || inlined_lookups; /* inlined: run->cpu */
    l->needs_fp = used[XDPVM_REG_FP] || local_calls || callbacks;
    l->nregs = 0;
    if (l->needs_fp)
        l->regs[l->nregs++] = RBP;
    if (l->needs_run)
        l->regs[l->nregs++] = R12;
    for (int r = 6; r <= 9; r++)
        if (used[r])
            l->regs[l->nregs++] = bpf_to_x86[r];
    l->callbacks = callbacks;
    /* the caller's call left rsp 8 below a 16-byte boundary: an odd number of 8-byte slots
     * (registers, padding, r0 pointer, executor_state) realigns it */
    int slots = l->nregs + 2;
    l->leaf = !calls && !callbacks;
    l->pad = slots % 2 == 0 && !l->leaf;
}

/* The exec entry (run, r0), at offset 0, ends with the part the args entry shares: when main
 * is lean, its code follows, otherwise a call to it. Returns the shared part's offset. */
static size_t emit_exec_entry(struct emitter *e)
{
    int above_r0_ptr = 8; /* the executor_state slot */

    /* exec: r1 = run->ctx, r2..r5 = 0 (as the interpreter starts) unless the program is
     * verified: the verifier proved they are written before read (the kernel leaves them) */
    emit_entry_frame(e, RDI, RSI);
    emit_set_call_subprog(e);
    emit_load64(e, RDI, RDI, RUN_FIELD(ctx)); /* r1 = run->ctx (run is in rdi) */
    if (!e->prog->verified) {
        emit_rr(e, false, OP(0x31), RSI, RSI, false);
        emit_rr(e, false, OP(0x31), RDX, RDX, false);
        emit_rr(e, false, OP(0x31), RCX, RCX, false);
        emit_rr(e, false, OP(0x31), R8, R8, false);
    }

    /* the exec entry falls through into the common part; the args entry jumps back to it */
    size_t common = e->len;
    emit_entry_call_setup(e);
    if (e->lean_main)
        return common;
    emit1(e, 0xe8); /* call main */
    add_fixup(e, e->len, 0, true);
    emit_u32(e, 0);
    emit_load64(e, R11, RSP, above_r0_ptr); /* *r0 = rax; return 0 */
    emit_store64(e, R11, 0, RAX);
    emit_rr(e, false, OP(0x31), RAX, RAX, false);
    emit_entry_return(e, true);
    return common;
}

/* After the code: args (run, r0, args[5]), which joins the exec entry at `common`, and
 * callback (r1..r5, run, function) entries. */
static void emit_other_entries(struct emitter *e, size_t common, uint32_t *args_entry,
                               uint32_t *callback_entry)
{
    const struct entry_layout *l = &e->entry;
    int above_r0_ptr = 8; /* the executor_state slot */

    /* args: r1..r5 from the array */
    *args_entry = (uint32_t)e->len;
    emit_entry_frame(e, RDI, RSI);
    emit_set_call_subprog(e);
    emit_mov_rr(e, true, R11, RDX);
    emit_load64(e, RDI, R11, 0);
    emit_load64(e, RSI, R11, 8);
    emit_load64(e, RDX, R11, 16);
    emit_load64(e, RCX, R11, 24);
    emit_load64(e, R8, R11, 32);
    emit1(e, 0xe9);
    emit_u32(e, (uint32_t)(int32_t)((int64_t)common - (int64_t)(e->len + 4)));

    /* callback: returns the function's r0 */
    *callback_entry = (uint32_t)e->len;
    if (!l->callbacks)
        return;
    emit_entry_frame(e, R9, -1);
    emit_entry_call_setup(e);
    /* call [rsp + n]: the 7th argument, above the frame and the return address */
    int seventh = 8 * (l->nregs + (l->pad ? 1 : 0)) + 8 + above_r0_ptr + 8;
    emit2(e, 0xff, modrm(1, 2, RSP));
    emit2(e, 0x24, (uint8_t)seventh);
    emit_entry_frame_pop(e);
    emit_entry_return(e, false);
}

/* Return straight into the entry's frame from any depth, restore the run's fields and let
 * jit_slow_exit(run, r0 pointer) say how the run ends. */
static void emit_unwind_block(struct emitter *e)
{
    const struct entry_layout *l = &e->entry;
    if (l->leaf)
        return; /* nothing calls out, so nothing unwinds */
    for (size_t i = 0; i < e->unwind_count; i++)
        bind_here(e, e->unwind_refs[i]);
    emit_load64(e, RSP, REG_RUN, RUN_FIELD(executor_state));
    emit_sub_rsp8(e, true); /* the entry's return address slot */
    emit_entry_frame_pop(e);
    emit_mov_rr(e, true, RDI, REG_RUN);
    emit_load64(e, RSI, RSP, 0);
    /* left on the stack: registers, padding, r0 pointer; aligned when that is an odd count */
    bool aligned = (l->nregs + (l->pad ? 1 : 0) + 1) % 2 == 1;
    if (!aligned)
        emit_sub_rsp8(e, false);
    emit_call_abs(e, (const void *)jit_slow_exit);
    if (!aligned)
        emit_sub_rsp8(e, true);
    emit_entry_return(e, false);
}

/* After a helper: stop at once when it asked to (error, unwind) or started a tail call. */
static void emit_after_helper(struct emitter *e, bool may_tail_call)
{
    /* cmp byte [r12 + stop], 0 */
    emit_mem(e, false, OP(0x80), 7, REG_RUN, (int32_t)offsetof(struct xdpvm_run, stop), false, 0);
    emit1(e, 0);
    jump_to_unwind(e, CC_NE);
    if (may_tail_call) {
        /* cmp qword [r12 + next_prog], 0 */
        emit_mem(e, true, OP(0x83), 7, REG_RUN, (int32_t)offsetof(struct xdpvm_run, next_prog),
                 false, 0);
        emit1(e, 0);
        jump_to_unwind(e, CC_NE);
    }
}

/* ---- instruction emitters, one per shape of the opcode table ------------------------------- */

struct insn_ctx {
    const struct xdpvm_decoded *d;
    const struct xdpvm_op_info *info;
    size_t pc;
    int dst, src;   /* x86 registers of the BPF operands */
    bool is64;
};

typedef int (*emit_fn)(struct emitter *e, const struct insn_ctx *c);

static bool op_is_signed_divmod(const struct xdpvm_op_info *info)
{
    return info->match == XDPVM_MATCH_OFF && info->match_value == 1;
}

/* Division and modulo (ISA: x / 0 = 0, x % 0 = x, INT_MIN / -1 = INT_MIN, x % -1 = 0); the
 * divisor is in SCRATCH unless constant. Never lets the CPU raise #DE. */
static void emit_divmod(struct emitter *e, const struct insn_ctx *c, bool divisor_known,
                        int64_t known)
{
    bool is_mod = (c->info->code & 0xf0) == XDPVM_ALU_MOD;
    bool is_signed = op_is_signed_divmod(c->info);
    bool w = c->is64;
    size_t to_zero = SIZE_MAX, to_minus1 = SIZE_MAX, done[3];
    int done_count = 0;

    if (divisor_known) {
        int64_t v = w ? known : (int64_t)(uint32_t)known;
        if (v == 0)
            goto zero_case;
        if (is_signed && (w ? known == -1 : (int32_t)known == -1))
            goto minus1_case;
        emit_load_const(e, SCRATCH, (uint64_t)v);
    } else {
        emit_rr(e, w, OP(0x85), SCRATCH, SCRATCH, false); /* test */
        to_zero = emit_jcc_forward(e, CC_E);
        if (is_signed) {
            emit_alu_imm(e, w, 7, SCRATCH, -1);
            to_minus1 = emit_jcc_forward(e, CC_E);
        }
    }
    emit_mov_rr(e, true, SCRATCH2, RAX);
    emit_mov_rr(e, true, SCRATCH3, RDX);
    emit_mov_rr(e, w, RAX, c->dst);
    if (is_signed) {
        emit_rex(e, w, 0, 0, 0, false); /* cqo / cdq */
        emit1(e, 0x99);
    } else {
        emit_rr(e, false, OP(0x31), RDX, RDX, false);
    }
    emit_rex(e, w, 0, 0, SCRATCH, false); /* div / idiv r11 */
    emit2(e, 0xf7, modrm(3, is_signed ? 7 : 6, SCRATCH));
    emit_mov_rr(e, true, SCRATCH, is_mod ? RDX : RAX);
    emit_mov_rr(e, true, RAX, SCRATCH2);
    emit_mov_rr(e, true, RDX, SCRATCH3);
    emit_mov_rr(e, w, c->dst, SCRATCH);
    if (divisor_known)
        return;
    done[done_count++] = emit_jmp_forward(e);
    bind_here(e, to_zero);
zero_case:
    if (!is_mod)
        emit_rr(e, false, OP(0x31), c->dst, c->dst, false);
    else if (!w)
        emit_mov_rr(e, false, c->dst, c->dst);
    if (!is_signed || divisor_known) {
        for (int i = 0; i < done_count; i++)
            bind_here(e, done[i]);
        return;
    }
    done[done_count++] = emit_jmp_forward(e);
    bind_here(e, to_minus1);
minus1_case:
    if (is_mod) {
        emit_rr(e, false, OP(0x31), c->dst, c->dst, false);
    } else {
        emit_rex(e, w, 0, 0, c->dst, false); /* neg */
        emit2(e, 0xf7, modrm(3, 3, c->dst));
    }
    for (int i = 0; i < done_count; i++)
        bind_here(e, done[i]);
}

/* Shift dst by cl where the count comes from a register (x86 masks the count like the ISA).
 * rcx (BPF r4) is kept in r9 meanwhile, so the count may be in r11 (blinded constants). */
static void emit_shift_reg(struct emitter *e, const struct insn_ctx *c, int ext)
{
    bool w = c->is64;
    if (c->src == RCX) {
        emit_rex(e, w, 0, 0, c->dst, false);
        emit2(e, 0xd3, modrm(3, ext, c->dst));
        return;
    }
    emit_mov_rr(e, true, SCRATCH3, RCX);
    emit_mov_rr(e, true, RCX, c->src);
    int target = c->dst == RCX ? SCRATCH3 : c->dst; /* dst r4: shift the saved copy */
    emit_rex(e, w, 0, 0, target, false);
    emit2(e, 0xd3, modrm(3, ext, target));
    emit_mov_rr(e, true, RCX, SCRATCH3);
}

/* The binary operation of an ALU row, with the source in register src_reg. */
static void emit_alu_binary_reg(struct emitter *e, const struct insn_ctx *c, int src_reg)
{
    bool w = c->is64;
    switch (c->info->code & 0xf0) {
    case XDPVM_ALU_ADD: emit_rr(e, w, OP(0x01), src_reg, c->dst, false); break;
    case XDPVM_ALU_SUB: emit_rr(e, w, OP(0x29), src_reg, c->dst, false); break;
    case XDPVM_ALU_OR: emit_rr(e, w, OP(0x09), src_reg, c->dst, false); break;
    case XDPVM_ALU_AND: emit_rr(e, w, OP(0x21), src_reg, c->dst, false); break;
    case XDPVM_ALU_XOR: emit_rr(e, w, OP(0x31), src_reg, c->dst, false); break;
    case XDPVM_ALU_MOV: emit_mov_rr(e, w, c->dst, src_reg); break;
    case XDPVM_ALU_MUL: emit_rr(e, w, OP(0x0f, 0xaf), c->dst, src_reg, false); break;
    case XDPVM_ALU_LSH:
    case XDPVM_ALU_RSH:
    case XDPVM_ALU_ARSH: {
        int ext = (c->info->code & 0xf0) == XDPVM_ALU_LSH ? 4
                  : (c->info->code & 0xf0) == XDPVM_ALU_RSH ? 5 : 7;
        struct insn_ctx shifted = *c;
        shifted.src = src_reg;
        emit_shift_reg(e, &shifted, ext);
        break;
    }
    case XDPVM_ALU_DIV:
    case XDPVM_ALU_MOD:
        emit_mov_rr(e, w, SCRATCH, src_reg);
        emit_divmod(e, c, false, 0);
        break;
    }
}

static int emit_ALU_REG(struct emitter *e, const struct insn_ctx *c)
{
    emit_alu_binary_reg(e, c, c->src);
    return 0;
}

static int emit_ALU_IMM(struct emitter *e, const struct insn_ctx *c)
{
    bool w = c->is64;
    int32_t imm = c->d->imm;
    unsigned op = c->info->code & 0xf0;
    if ((op == XDPVM_ALU_LSH || op == XDPVM_ALU_RSH || op == XDPVM_ALU_ARSH) &&
        !e->opts->blind_constants) {
        int ext = op == XDPVM_ALU_LSH ? 4 : op == XDPVM_ALU_RSH ? 5 : 7;
        emit_rex(e, w, 0, 0, c->dst, false);
        emit2(e, 0xc1, modrm(3, ext, c->dst));
        emit1(e, (uint8_t)(imm & (w ? 63 : 31)));
        return 0;
    }
    if (op == XDPVM_ALU_DIV || op == XDPVM_ALU_MOD) {
        emit_divmod(e, c, true, imm);
        return 0;
    }
    /* 64-bit operations sign-extend imm; 32-bit ones use its 32 bits. */
    uint64_t value = w ? (uint64_t)(int64_t)imm : (uint64_t)(uint32_t)imm;
    if (e->opts->blind_constants) {
        emit_load_const(e, SCRATCH, value);
        emit_alu_binary_reg(e, c, SCRATCH);
        return 0;
    }
    switch (op) {
    case XDPVM_ALU_ADD: emit_alu_imm(e, w, 0, c->dst, imm); break;
    case XDPVM_ALU_OR: emit_alu_imm(e, w, 1, c->dst, imm); break;
    case XDPVM_ALU_AND: emit_alu_imm(e, w, 4, c->dst, imm); break;
    case XDPVM_ALU_SUB: emit_alu_imm(e, w, 5, c->dst, imm); break;
    case XDPVM_ALU_XOR: emit_alu_imm(e, w, 6, c->dst, imm); break;
    case XDPVM_ALU_MOV: emit_mov_imm64(e, c->dst, value); break;
    case XDPVM_ALU_MUL: /* imul dst, dst, imm32 */
        emit_rex(e, w, c->dst, 0, c->dst, false);
        emit2(e, 0x69, modrm(3, c->dst, c->dst));
        emit_u32(e, (uint32_t)imm);
        break;
    }
    return 0;
}

static int emit_NEG(struct emitter *e, const struct insn_ctx *c)
{
    emit_rex(e, c->is64, 0, 0, c->dst, false);
    emit2(e, 0xf7, modrm(3, 3, c->dst));
    return 0;
}

static int emit_MOVSX(struct emitter *e, const struct insn_ctx *c)
{
    switch (c->d->off) {
    case 8: emit_rr(e, c->is64, OP(0x0f, 0xbe), c->dst, c->src, true); break;
    case 16: emit_rr(e, c->is64, OP(0x0f, 0xbf), c->dst, c->src, false); break;
    default: emit_rr(e, true, OP(0x63), c->dst, c->src, false); break; /* movsxd */
    }
    return 0;
}

static int emit_END(struct emitter *e, const struct insn_ctx *c)
{
    /* ALU|END|TO_LE on this little-endian host only truncates; TO_BE and ALU64 swap. */
    bool swap = XDPVM_CLASS(c->info->code) == XDPVM_CLASS_ALU64 || (c->info->code & XDPVM_SRC_X);
    switch (c->d->imm) {
    case 16:
        if (swap) { /* rol dst16, 8 */
            emit1(e, 0x66);
            emit_rex(e, false, 0, 0, c->dst, false);
            emit2(e, 0xc1, modrm(3, 0, c->dst));
            emit1(e, 8);
        }
        emit_rr(e, false, OP(0x0f, 0xb7), c->dst, c->dst, false); /* movzx dst32, dst16 */
        break;
    case 32:
        if (swap) {
            emit_rex(e, false, 0, 0, c->dst, false);
            emit2(e, 0x0f, (uint8_t)(0xc8 + (c->dst & 7)));
        } else {
            emit_mov_rr(e, false, c->dst, c->dst);
        }
        break;
    default:
        if (swap) {
            emit_rex(e, true, 0, 0, c->dst, false);
            emit2(e, 0x0f, (uint8_t)(0xc8 + (c->dst & 7)));
        }
        break;
    }
    return 0;
}

static void emit_jump_to_insn(struct emitter *e, int cc, size_t target)
{
    size_t at = cc < 0 ? emit_jmp_forward(e) : emit_jcc_forward(e, (uint8_t)cc);
    add_fixup(e, at, (uint32_t)target, false);
}

static int jump_cc(const struct insn_ctx *c)
{
    switch (c->info->code & 0xf0) {
    case XDPVM_JMP_JEQ: return CC_E;
    case XDPVM_JMP_JNE: return CC_NE;
    case XDPVM_JMP_JSET: return CC_NE;
    case XDPVM_JMP_JGT: return CC_A;
    case XDPVM_JMP_JGE: return CC_AE;
    case XDPVM_JMP_JLT: return CC_B;
    case XDPVM_JMP_JLE: return CC_BE;
    case XDPVM_JMP_JSGT: return CC_G;
    case XDPVM_JMP_JSGE: return CC_GE;
    case XDPVM_JMP_JSLT: return CC_L;
    default: return CC_LE; /* JSLE */
    }
}

static void emit_compare_reg(struct emitter *e, const struct insn_ctx *c, int src_reg)
{
    bool jset = (c->info->code & 0xf0) == XDPVM_JMP_JSET;
    uint8_t op = jset ? 0x85 : 0x39; /* test / cmp */
    emit_rr(e, c->is64, &op, 1, src_reg, c->dst, false);
}

static int emit_JMP_REG(struct emitter *e, const struct insn_ctx *c)
{
    emit_compare_reg(e, c, c->src);
    emit_jump_to_insn(e, jump_cc(c), (size_t)xdpvm_isa_jump_target(c->d, c->pc));
    return 0;
}

static int emit_JMP_IMM(struct emitter *e, const struct insn_ctx *c)
{
    bool jset = (c->info->code & 0xf0) == XDPVM_JMP_JSET;
    int32_t imm = c->d->imm;
    if (e->opts->blind_constants) {
        emit_load_const(e, SCRATCH, c->is64 ? (uint64_t)(int64_t)imm : (uint64_t)(uint32_t)imm);
        emit_compare_reg(e, c, SCRATCH);
    } else if (jset) { /* test dst, imm32 */
        emit_rex(e, c->is64, 0, 0, c->dst, false);
        emit2(e, 0xf7, modrm(3, 0, c->dst));
        emit_u32(e, (uint32_t)imm);
    } else if (imm == 0) {
        emit_rr(e, c->is64, OP(0x85), c->dst, c->dst, false); /* test: same flags as cmp 0 */
    } else {
        emit_alu_imm(e, c->is64, 7, c->dst, imm);
    }
    emit_jump_to_insn(e, jump_cc(c), (size_t)xdpvm_isa_jump_target(c->d, c->pc));
    return 0;
}

static int emit_JA(struct emitter *e, const struct insn_ctx *c)
{
    size_t target = (size_t)xdpvm_isa_jump_target(c->d, c->pc);
    if (target != c->pc + 1)
        emit_jump_to_insn(e, -1, target);
    return 0;
}
static int emit_GOTOL(struct emitter *e, const struct insn_ctx *c) { return emit_JA(e, c); }

/* Whether an instruction may change BPF register reg. */
static bool insn_writes(const struct xdpvm_decoded *d, int reg)
{
    switch (xdpvm_op_table[d->op].shape) {
    case XDPVM_SHAPE_ALU_IMM: case XDPVM_SHAPE_ALU_REG: case XDPVM_SHAPE_NEG:
    case XDPVM_SHAPE_MOVSX: case XDPVM_SHAPE_END: case XDPVM_SHAPE_LDX: case XDPVM_SHAPE_LDDW:
        return d->dst == reg;
    case XDPVM_SHAPE_ATOMIC:
        return d->src == reg || reg == 0;
    case XDPVM_SHAPE_CALL: case XDPVM_SHAPE_CALLX: case XDPVM_SHAPE_CALL_LOCAL:
        return reg <= 5;
    default:
        return false;
    }
}

/* The map whose handle r1 holds at instruction pc, when the same straight-line code loaded it
 * (lddw of one of the program's maps, no jump landing in between); NULL otherwise. */
static struct xdpvm_map *known_map_in_r1(const struct emitter *e, size_t pc)
{
    for (size_t k = pc; k-- > 0 && pc - k <= 64;) {
        if (e->is_target[k + 1])
            return NULL;
        if (k > 0 && e->decoded[k - 1].slots == 2) /* second slot of an lddw */
            k--;
        const struct xdpvm_decoded *d = &e->decoded[k];
        if (!insn_writes(d, 1))
            continue;
        if (d->op != XDPVM_OP_LDDW ||
            (d->src != XDPVM_PSEUDO_MAP_FD && d->src != XDPVM_PSEUDO_MAP_IDX))
            return NULL;
        return xdpvm_prog_map_of_handle(e->prog, d->imm64);
    }
    return NULL;
}

/* bpf_map_lookup_elem on an array map known at compile time, without the call (the kernel's
 * map_gen_lookup): r0 = index < max_entries && cpu < ncpus ? base + index * stride
 * (+ cpu * cpu_stride) : NULL, the index being the u32 key at r2. */
/* Whether the call at pc is a bpf_map_lookup_elem the JIT inlines (layout in *l). */
static bool inline_lookup_layout(const struct emitter *e, size_t pc, struct xdpvm_map_array_layout *l)
{
    const struct xdpvm_decoded *d = &e->decoded[pc];
    uint32_t id = (uint32_t)d->imm;
    const struct xdpvm_helper *h =
        e->prog->helpers && id < XDPVM_MAX_HELPER_ID ? e->prog->helpers->by_id[id] : NULL;
    if (d->op != XDPVM_OP_CALL || id != 1 /* BPF_FUNC_map_lookup_elem */ || !h || !h->fn ||
        !h->name || strcmp(h->name, "map_lookup_elem"))
        return false;
    struct xdpvm_map *map = known_map_in_r1(e, pc);
    return map && xdpvm_map_array_layout(map, l) && l->index_stride <= INT32_MAX &&
           l->cpu_stride <= INT32_MAX;
}

/* The register whose low 32 bits the key at r2 holds when the straight-line code just before
 * the call is clang's `*(u32 *)(r10 + off) = rK; r2 = r10; r2 += off` (the map's lddw may sit
 * anywhere in it): the lookup then reads rK instead of reloading the stored key. Only
 * instructions that neither store nor write rK may come between the store and the call, and
 * no jump may land there. -1 otherwise. */
static int key_register_before(const struct emitter *e, size_t pc)
{
    int r2_off = 0, r2_stage = 0; /* 1: seen r2 += off, 2: seen r2 = r10 before it */
    for (size_t k = pc; k-- > 0 && pc - k <= 8;) {
        if (e->is_target[k + 1])
            return -1;
        if (k > 0 && e->decoded[k - 1].slots == 2) /* second slot of an lddw */
            k--;
        const struct xdpvm_decoded *d = &e->decoded[k];
        if (d->op == XDPVM_OP_STXW && d->dst == 10) {
            if (r2_stage != 2 || d->off != r2_off || d->src == 10)
                return -1;
            for (size_t j = k + d->slots; j < pc; j += e->decoded[j].slots)
                if (insn_writes(&e->decoded[j], d->src))
                    return -1;
            return d->src;
        }
        switch (xdpvm_op_table[d->op].shape) {
        case XDPVM_SHAPE_ALU_IMM: case XDPVM_SHAPE_ALU_REG: case XDPVM_SHAPE_LDDW:
            break;
        default: /* stores, calls, jumps: the key or the path is not known */
            return -1;
        }
        if (!insn_writes(d, 2))
            continue;
        if (r2_stage == 0 && d->op == XDPVM_OP_ADD64_IMM && d->dst == 2) {
            r2_off = d->imm, r2_stage = 1;
        } else if (r2_stage == 1 && d->op == XDPVM_OP_MOV64_REG && d->dst == 2 && d->src == 10) {
            r2_stage = 2;
        } else {
            return -1;
        }
    }
    return -1;
}

static bool emit_inline_array_lookup(struct emitter *e, const struct insn_ctx *c)
{
    struct xdpvm_map_array_layout l;
    if (!inline_lookup_layout(e, c->pc, &l))
        return false;
    size_t null_jumps[2];
    int nulls = 0;
    int key_reg = key_register_before(e, c->pc);
    if (key_reg >= 0) /* mov eax, rK d */
        emit_mov_rr(e, false, RAX, bpf_to_x86[key_reg]);
    else /* mov eax, [rsi] */
        emit_mem(e, false, OP(0x8b), RAX, RSI, 0, false, 0);
    emit_rex(e, false, 0, 0, RAX, false);                 /* cmp eax, max_entries */
    emit1(e, 0x3d);
    emit_u32(e, l.max_entries);
    null_jumps[nulls++] = emit_jcc_forward(e, CC_AE);
    if (l.cpu_stride) { /* per-CPU: the worker's slot, if the map has one for it */
        emit_mem(e, false, OP(0x8b), SCRATCH, REG_RUN, RUN_FIELD(cpu), false, 0); /* r11d = run->cpu */
        emit_alu_imm(e, false, 7, SCRATCH, (int32_t)l.ncpus);
        null_jumps[nulls++] = emit_jcc_forward(e, CC_AE);
    }
    if (l.index_stride && !(l.index_stride & (l.index_stride - 1))) {
        int shift = __builtin_ctzll(l.index_stride);
        if (shift) { /* shl rax, shift */
            emit_rex(e, true, 0, 0, RAX, false);
            emit2(e, 0xc1, modrm(3, 4, RAX));
            emit1(e, (uint8_t)shift);
        }
    } else { /* imul rax, rax, stride */
        emit_rex(e, true, RAX, 0, RAX, false);
        emit2(e, 0x69, modrm(3, RAX, RAX));
        emit_u32(e, (uint32_t)l.index_stride);
    }
    if (l.cpu_stride) { /* imul r11, r11, cpu_stride; add rax, r11 */
        emit_rex(e, true, SCRATCH, 0, SCRATCH, false);
        emit2(e, 0x69, modrm(3, SCRATCH, SCRATCH));
        emit_u32(e, (uint32_t)l.cpu_stride);
        emit_rr(e, true, OP(0x01), SCRATCH, RAX, false);
    }
    emit_mov_imm64(e, SCRATCH2, (uint64_t)(uintptr_t)l.base);
    emit_rr(e, true, OP(0x01), SCRATCH2, RAX, false);
    size_t done = emit_jmp_forward(e);
    for (int i = 0; i < nulls; i++)
        bind_here(e, null_jumps[i]);
    emit_rr(e, false, OP(0x31), RAX, RAX, false);
    bind_here(e, done);
    return true;
}

static int emit_CALL(struct emitter *e, const struct insn_ctx *c)
{
    uint32_t id = (uint32_t)c->d->imm;
    const struct xdpvm_helper *h =
        e->prog->helpers && id < XDPVM_MAX_HELPER_ID ? e->prog->helpers->by_id[id] : NULL;
    if (!h || !h->fn)
        return jit_error(e, c->pc, -EINVAL, "call to helper %u, which the program's helper table "
                         "does not provide", id);
    if (emit_inline_array_lookup(e, c))
        return 0;
    if (e->entry.leaf) /* find_functions planned this call inlined */
        return jit_error(e, c->pc, -EINVAL, "internal error: helper call in a program planned "
                         "without calls");
    emit_mov_rr(e, true, R9, REG_RUN);
    emit_call_abs(e, (const void *)h->fn);
    emit_after_helper(e, id == 12 /* BPF_FUNC_tail_call */);
    return 0;
}

/* callx: the helper id is in dst (uBPF/clang); looked up in the running program's table. */
static int emit_CALLX(struct emitter *e, const struct insn_ctx *c)
{
    size_t bad[3];
    emit_mov_rr(e, true, SCRATCH, c->dst);
    emit_rex(e, true, 0, 0, SCRATCH, false); /* cmp r11, 256 */
    emit2(e, 0x81, modrm(3, 7, SCRATCH));
    emit_u32(e, XDPVM_MAX_HELPER_ID);
    bad[0] = emit_jcc_forward(e, CC_AE);
    emit_load64(e, SCRATCH2, REG_RUN, (int32_t)offsetof(struct xdpvm_run, prog));
    emit_load64(e, SCRATCH2, SCRATCH2, (int32_t)offsetof(struct xdpvm_prog, helpers));
    emit_rr(e, true, OP(0x85), SCRATCH2, SCRATCH2, false);
    bad[1] = emit_jcc_forward(e, CC_E);
    /* mov r10, [r10 + r11*8] (by_id is the first member of the table) */
    emit_rex(e, true, SCRATCH2, SCRATCH, SCRATCH2, false);
    emit2(e, 0x8b, modrm(0, SCRATCH2, 4));
    emit1(e, (uint8_t)((3 << 6) | ((SCRATCH & 7) << 3) | (SCRATCH2 & 7)));
    emit_rr(e, true, OP(0x85), SCRATCH2, SCRATCH2, false);
    bad[2] = emit_jcc_forward(e, CC_E);
    emit_load64(e, SCRATCH2, SCRATCH2, (int32_t)offsetof(struct xdpvm_helper, fn));
    emit_mov_rr(e, true, R9, REG_RUN);
    emit_rex(e, false, 0, 0, SCRATCH2, false); /* call r10 */
    emit2(e, 0xff, modrm(3, 2, SCRATCH2));
    emit_after_helper(e, true);
    size_t done = emit_jmp_forward(e);
    for (int i = 0; i < 3; i++)
        bind_here(e, bad[i]);
    emit_trap(e, c->pc, TRAP_CALLX_UNKNOWN);
    bind_here(e, done);
    return 0;
}

static int emit_CALL_LOCAL(struct emitter *e, const struct insn_ctx *c)
{
    emit1(e, 0xe8);
    size_t at = e->len;
    emit_u32(e, 0);
    add_fixup(e, at, (uint32_t)xdpvm_isa_jump_target(c->d, c->pc), true);
    return 0;
}

static int emit_EXIT(struct emitter *e, const struct insn_ctx *c)
{
    emit_function_epilogue(e, e->in_lean_main);
    return 0;
}

static int emit_LDX(struct emitter *e, const struct insn_ctx *c)
{
    bool sx = (c->info->code & 0xe0) == XDPVM_MODE_MEMSX;
    int32_t off = c->d->off;
    uint8_t op[2];
    size_t oplen = 2;
    bool w = sx;
    switch (xdpvm_op_access_size(c->info)) {
    case 1: op[0] = 0x0f; op[1] = sx ? 0xbe : 0xb6; break; /* movsx / movzx */
    case 2: op[0] = 0x0f; op[1] = sx ? 0xbf : 0xb7; break;
    case 4: op[0] = sx ? 0x63 : 0x8b; oplen = 1; break;    /* movsxd / mov r32 */
    default: op[0] = 0x8b; oplen = 1; w = true; break;
    }
    emit_mem(e, w, op, oplen, c->dst, c->src, off, false, 0);
    return 0;
}

static void emit_store_reg(struct emitter *e, unsigned size, int base, int32_t off, int src)
{
    switch (size) {
    case 1: emit_mem(e, false, OP(0x88), src, base, off, true, 0); break;
    case 2: emit_mem(e, false, OP(0x89), src, base, off, false, 0x66); break;
    case 4: emit_mem(e, false, OP(0x89), src, base, off, false, 0); break;
    default: emit_mem(e, true, OP(0x89), src, base, off, false, 0); break;
    }
}

static int emit_STX(struct emitter *e, const struct insn_ctx *c)
{
    emit_store_reg(e, xdpvm_op_access_size(c->info), c->dst, c->d->off, c->src);
    return 0;
}

static int emit_ST(struct emitter *e, const struct insn_ctx *c)
{
    unsigned size = xdpvm_op_access_size(c->info);
    int32_t imm = c->d->imm;
    if (e->opts->blind_constants) {
        emit_load_const(e, SCRATCH, (uint64_t)(int64_t)imm);
        emit_store_reg(e, size, c->dst, c->d->off, SCRATCH);
        return 0;
    }
    switch (size) {
    case 1:
        emit_mem(e, false, OP(0xc6), 0, c->dst, c->d->off, false, 0);
        emit1(e, (uint8_t)imm);
        break;
    case 2:
        emit_mem(e, false, OP(0xc7), 0, c->dst, c->d->off, false, 0x66);
        emit_u16(e, (uint16_t)imm);
        break;
    default:
        emit_mem(e, size == 8, OP(0xc7), 0, c->dst, c->d->off, false, 0);
        emit_u32(e, (uint32_t)imm);
        break;
    }
    return 0;
}

static int emit_ATOMIC(struct emitter *e, const struct insn_ctx *c)
{
    bool w = xdpvm_op_access_size(c->info) == 8;
    int32_t op = c->d->imm;
    int32_t off = c->d->off;
    switch (op) {
    case XDPVM_ATOMIC_ADD: emit_mem(e, w, OP(0x01), c->src, c->dst, off, false, 0xf0); return 0;
    case XDPVM_ATOMIC_OR: emit_mem(e, w, OP(0x09), c->src, c->dst, off, false, 0xf0); return 0;
    case XDPVM_ATOMIC_AND: emit_mem(e, w, OP(0x21), c->src, c->dst, off, false, 0xf0); return 0;
    case XDPVM_ATOMIC_XOR: emit_mem(e, w, OP(0x31), c->src, c->dst, off, false, 0xf0); return 0;
    case XDPVM_ATOMIC_ADD | XDPVM_ATOMIC_FETCH: /* lock xadd: src gets the old value */
        emit_mem(e, w, OP(0x0f, 0xc1), c->src, c->dst, off, false, 0xf0);
        return 0;
    case XDPVM_ATOMIC_XCHG: /* xchg with memory is locked implicitly */
        emit_mem(e, w, OP(0x87), c->src, c->dst, off, false, 0);
        return 0;
    case XDPVM_ATOMIC_CMPXCHG:
        emit_mem(e, w, OP(0x0f, 0xb1), c->src, c->dst, off, false, 0xf0);
        if (!w) /* a successful 32-bit cmpxchg leaves rax's upper half; BPF zero-extends r0 */
            emit_mov_rr(e, false, RAX, RAX);
        return 0;
    default: break;
    }
    /* fetch or/and/xor: compare-exchange loop with rax as the expected value. */
    uint8_t alu;
    switch (op & ~XDPVM_ATOMIC_FETCH) {
    case XDPVM_ATOMIC_OR: alu = 0x09; break;
    case XDPVM_ATOMIC_AND: alu = 0x21; break;
    default: alu = 0x31; break;
    }
    int operand = c->src == RAX ? SCRATCH2 : c->src;
    emit_mov_rr(e, true, SCRATCH2, RAX);
    emit_lea(e, SCRATCH3, c->dst, off);
    emit_mem(e, w, OP(0x8b), RAX, SCRATCH3, 0, false, 0);
    size_t loop = e->len;
    emit_mov_rr(e, true, SCRATCH, RAX);
    emit_rr(e, w, &alu, 1, operand, SCRATCH, false);
    emit_mem(e, w, OP(0x0f, 0xb1), SCRATCH, SCRATCH3, 0, false, 0xf0);
    emit2(e, 0x0f, 0x80 | CC_NE);
    emit_u32(e, (uint32_t)(int32_t)((int64_t)loop - (int64_t)(e->len + 4)));
    if (c->src != RAX) {
        emit_mov_rr(e, w, c->src, RAX);
        emit_mov_rr(e, true, RAX, SCRATCH2);
    }
    return 0;
}

/* lddw src=BPF_PSEUDO_FUNC: imm is the callback's offset from the next instruction. */
static int emit_LDDW(struct emitter *e, const struct insn_ctx *c)
{
    uint64_t value = c->d->imm64;
    if (c->d->src == XDPVM_PSEUDO_FUNC) /* a callback: its instruction index */
        value = (uint64_t)xdpvm_isa_jump_target(c->d, c->pc);
    emit_load_const(e, c->dst, value);
    return 0;
}

/* Byte copies. For a small memcpy inside one buffer (a MAC address, a header field) clang
 * emits pairs `rT = *(u8 *)(rP + s); *(u8 *)(rP + d) = rT` with s and d stepping together by
 * +1 or -1. Where k >= 2 such pairs follow each other, no jump lands inside them, and the k
 * source bytes and the k destination bytes do not overlap, every byte ends the same whether
 * copied one by one or in wider moves: they are emitted as 8/4/2/1-byte moves through
 * SCRATCH. rT must then hold the last byte loaded, which is loaded again unless the
 * straight-line code after the run writes rT before reading it. */
#define BYTE_COPY_MAX 8

struct byte_copy {
    size_t pairs;      /* k, or 0: no run at pc */
    int base, temp;    /* BPF registers P and T */
    int32_t src, dst;  /* lowest source and destination offsets */
    int32_t last_load; /* offset of the last byte loaded (T's value) */
};

static bool is_copy_pair(const struct xdpvm_decoded *d)
{
    return d[0].op == XDPVM_OP_LDXB && d[1].op == XDPVM_OP_STXB && d[0].dst != d[0].src &&
           d[1].dst == d[0].src && d[1].src == d[0].dst;
}

static struct byte_copy byte_copy_at(const struct emitter *e, size_t pc)
{
    struct byte_copy run = {0};
    const struct xdpvm_decoded *d = e->decoded;
    size_t n = e->prog->count;
    if (pc + 3 >= n || !is_copy_pair(&d[pc]))
        return run;
    int32_t step = (int32_t)d[pc + 2].off - d[pc].off;
    if (step != 1 && step != -1)
        return run;
    size_t k = 0;
    while (k < BYTE_COPY_MAX && pc + 2 * k + 1 < n) {
        const struct xdpvm_decoded *q = &d[pc + 2 * k];
        if ((k > 0 && e->is_target[pc + 2 * k]) || e->is_target[pc + 2 * k + 1] || !is_copy_pair(q) ||
            q[0].dst != d[pc].dst || q[0].src != d[pc].src ||
            q[0].off != d[pc].off + step * (int32_t)k || q[1].off != d[pc + 1].off + step * (int32_t)k)
            break;
        k++;
    }
    if (k < 2)
        return run;
    int32_t first_src = d[pc].off, first_dst = d[pc + 1].off, span = (int32_t)k - 1;
    int32_t src = step > 0 ? first_src : first_src - span;
    int32_t dst = step > 0 ? first_dst : first_dst - span;
    if (src < dst + (int32_t)k && dst < src + (int32_t)k) /* overlapping: byte order matters */
        return run;
    run = (struct byte_copy){.pairs = k, .base = d[pc].src, .temp = d[pc].dst, .src = src, .dst = dst,
                             .last_load = first_src + step * span};
    return run;
}

/* Whether the code from pc on may read reg before writing it. Conservative: any jump, call,
 * exit or jump target answers yes. */
static bool may_read_before_write(const struct emitter *e, size_t pc, int reg)
{
    const struct xdpvm_decoded *d = e->decoded;
    for (size_t j = pc; j < e->prog->count && j < pc + 64; j += d[j].slots) {
        if (e->is_target[j])
            return true;
        const struct xdpvm_decoded *q = &d[j];
        const struct xdpvm_op_info *info = &xdpvm_op_table[q->op];
        bool mov = (info->code & 0xf0) == XDPVM_ALU_MOV;
        switch (info->shape) {
        case XDPVM_SHAPE_ALU_IMM:
            if (q->dst == reg)
                return !mov;
            break;
        case XDPVM_SHAPE_ALU_REG:
            if (q->src == reg || (q->dst == reg && !mov))
                return true;
            if (q->dst == reg)
                return false;
            break;
        case XDPVM_SHAPE_MOVSX: case XDPVM_SHAPE_LDX:
            if (q->src == reg)
                return true;
            if (q->dst == reg)
                return false;
            break;
        case XDPVM_SHAPE_NEG: case XDPVM_SHAPE_END: case XDPVM_SHAPE_ST:
            if (q->dst == reg)
                return true;
            break;
        case XDPVM_SHAPE_STX:
            if (q->dst == reg || q->src == reg)
                return true;
            break;
        case XDPVM_SHAPE_LDDW:
            if (q->dst == reg)
                return false;
            break;
        default: /* jumps, calls, exit, atomics */
            return true;
        }
    }
    return true;
}

static void emit_byte_copy(struct emitter *e, const struct byte_copy *run, size_t after)
{
    int base = bpf_to_x86[run->base];
    int32_t done = 0, total = (int32_t)run->pairs;
    while (done < total) {
        int32_t left = total - done, size = left >= 8 ? 8 : left >= 4 ? 4 : left >= 2 ? 2 : 1;
        switch (size) {
        case 8: emit_mem(e, true, OP(0x8b), SCRATCH, base, run->src + done, false, 0); break;
        case 4: emit_mem(e, false, OP(0x8b), SCRATCH, base, run->src + done, false, 0); break;
        case 2: emit_mem(e, false, OP(0x0f, 0xb7), SCRATCH, base, run->src + done, false, 0); break;
        default: emit_mem(e, false, OP(0x0f, 0xb6), SCRATCH, base, run->src + done, false, 0); break;
        }
        emit_store_reg(e, (unsigned)size, base, run->dst + done, SCRATCH);
        done += size;
    }
    if (may_read_before_write(e, after, run->temp))
        emit_mem(e, false, OP(0x0f, 0xb6), bpf_to_x86[run->temp], base, run->last_load, false, 0);
}

/* A 16-bit field of a packed header read byte by byte, as clang emits it:
 * `rA = *(u8 *)(rP + o); rB = *(u8 *)(rP + o ± 1); wB <<= 8; wB |= wA` (rA not rP or rB, no
 * jump landing inside): one 16-bit load for rB (byte-swapped when the high byte comes first)
 * and one byte load for rA. Returns the instructions covered, 0 if none. */
static size_t emit_byte_pair_load(struct emitter *e, size_t pc)
{
    const struct xdpvm_decoded *d = &e->decoded[pc];
    if (pc + 3 >= e->prog->count || e->is_target[pc + 1] || e->is_target[pc + 2] || e->is_target[pc + 3] ||
        d[0].op != XDPVM_OP_LDXB || d[1].op != XDPVM_OP_LDXB || d[0].src != d[1].src ||
        d[0].dst == d[0].src || d[0].dst == d[1].dst ||
        (d[2].op != XDPVM_OP_LSH32_IMM && d[2].op != XDPVM_OP_LSH64_IMM) || d[2].dst != d[1].dst ||
        d[2].imm != 8 || (d[3].op != XDPVM_OP_OR32_REG && d[3].op != XDPVM_OP_OR64_REG) ||
        d[3].dst != d[1].dst || d[3].src != d[0].dst)
        return 0;
    bool big_endian = d[1].off == d[0].off - 1;
    if (!big_endian && d[1].off != d[0].off + 1)
        return 0;
    int base = bpf_to_x86[d[0].src], low = bpf_to_x86[d[0].dst], word = bpf_to_x86[d[1].dst];
    emit_mem(e, false, OP(0x0f, 0xb6), low, base, d[0].off, false, 0);
    emit_mem(e, false, OP(0x0f, 0xb7), word, base, big_endian ? d[1].off : d[0].off, false, 0);
    if (big_endian) { /* rol $8, r16 */
        emit1(e, 0x66);
        emit_rex(e, false, 0, 0, word, false);
        emit2(e, 0xc1, modrm(3, 0, word));
        emit1(e, 8);
    }
    return 4;
}

/* Byte stores of one value. clang stores a value to a packed header field byte by byte:
 * `*(u8 *)(rP + o) = rV; wV >>= 8; *(u8 *)(rP + o + 1) = rV; ...`, or from copies
 * (`w3 = w2; w3 >>= 16; *(u8 *)(rP + o + 2) = r3`). In straight-line code the JIT follows
 * which byte of which value each register's low bytes are; 2, 4 or 8 byte stores of bytes
 * 0..n-1 of one value to consecutive offsets of one base register, with no other memory
 * access, call or jump target between the first and the last, are done by one n-byte store
 * at the first, from a register that holds the value there. The register operations are
 * emitted as they are; only the stores merge. */
enum { STORE_AS_IS, STORE_MERGED, STORE_WIDE };

struct store_plan {
    uint8_t kind;
    uint8_t size, value_reg; /* STORE_WIDE: n bytes from this BPF register */
    int32_t off;             /* STORE_WIDE: the lowest offset from the store's base */
    uint32_t wide_at;        /* STORE_MERGED: the instruction of the wide store */
};

struct byte_lane {
    uint32_t value; /* which value (numbered by the planner) */
    uint8_t byte;   /* the register's low byte is byte `byte` of the value */
    uint8_t valid;  /* and its low `valid` bytes are bytes byte.. of it */
};

#define PENDING_STORES 16

struct pending_store {
    size_t pc;
    int base;
    int32_t off;
    uint32_t value;
    uint8_t byte;
    int holder;           /* a register holding bytes 0.. of value at this store, or -1 */
    uint8_t holder_valid;
};

struct store_planner {
    struct emitter *e;
    struct byte_lane lane[XDPVM_REG_COUNT];
    uint32_t next_value;
    struct pending_store pending[PENDING_STORES];
    size_t count;
};

static void lane_fresh(struct store_planner *sp, int reg)
{
    sp->lane[reg] = (struct byte_lane){.value = ++sp->next_value, .byte = 0, .valid = 8};
}

/* Merges what the pending stores allow, then forgets them. They are all through one base
 * register (stores through two might alias) and to distinct offsets (a second store to a byte
 * flushes first), so a group moved to its first store passes no store to its bytes. */
static void flush_stores(struct store_planner *sp)
{
    struct pending_store *p = sp->pending;
    size_t n = sp->count;
    sp->count = 0;
    for (size_t i = 1; i < n; i++)
        if (p[i].base != p[0].base)
            return;
    for (size_t i = 0; i < n; i++) {
        if (sp->e->store_plan[p[i].pc].kind != STORE_AS_IS)
            continue; /* already in a group */
        /* the group: the stores of value p[i].value (p[i] the first), bytes 0..size-1 at
         * start..start+size-1, each once */
        int32_t start = p[i].off - (int32_t)p[i].byte;
        uint8_t seen = 0;
        size_t size = 0, last = i;
        bool ok = true;
        for (size_t j = i; j < n; j++) {
            if (p[j].value != p[i].value)
                continue;
            if (p[j].off - start != (int32_t)p[j].byte || p[j].byte >= 8 || (seen & (1u << p[j].byte)))
                ok = false;
            else
                seen |= (uint8_t)(1u << p[j].byte);
            size++;
            last = j;
        }
        if (!ok || (size != 2 && size != 4 && size != 8) || seen != (uint8_t)((1u << size) - 1) ||
            p[i].holder < 0 || p[i].holder_valid < size)
            continue;
        sp->e->store_plan[p[i].pc] = (struct store_plan){.kind = STORE_WIDE, .size = (uint8_t)size,
                                                         .value_reg = (uint8_t)p[i].holder, .off = start};
        for (size_t j = i + 1; j <= last; j++)
            if (p[j].value == p[i].value)
                sp->e->store_plan[p[j].pc] = (struct store_plan){.kind = STORE_MERGED,
                                                                 .wide_at = (uint32_t)p[i].pc};
    }
}

static void plan_byte_stores(struct emitter *e)
{
    struct store_planner sp = {.e = e};
    const struct xdpvm_decoded *d = e->decoded;
    for (int r = 0; r < XDPVM_REG_COUNT; r++)
        lane_fresh(&sp, r);
    for (size_t pc = 0; pc < e->prog->count; pc += d[pc].slots) {
        const struct xdpvm_decoded *q = &d[pc];
        const struct xdpvm_op_info *info = &xdpvm_op_table[q->op];
        if (e->is_target[pc]) {
            flush_stores(&sp);
            for (int r = 0; r < XDPVM_REG_COUNT; r++)
                lane_fresh(&sp, r);
        }
        struct byte_copy copy = byte_copy_at(e, pc);
        if (copy.pairs) { /* emitted as a whole (emit_byte_copy): its stores stay its own */
            flush_stores(&sp);
            lane_fresh(&sp, copy.temp);
            pc += 2 * copy.pairs - 1;
            continue;
        }
        if (q->op == XDPVM_OP_STXB && sp.lane[q->src].valid >= 1) {
            struct byte_lane v = sp.lane[q->src];
            for (size_t m = 0; m < sp.count; m++)
                if (sp.pending[m].base == q->dst && sp.pending[m].off == q->off)
                    flush_stores(&sp); /* the same byte again: keep the order */
            if (sp.count == PENDING_STORES || (sp.count && sp.pending[0].base != q->dst))
                flush_stores(&sp);
            struct pending_store *ps = &sp.pending[sp.count++];
            *ps = (struct pending_store){.pc = pc, .base = q->dst, .off = q->off, .value = v.value,
                                         .byte = v.byte, .holder = -1};
            for (int r = 0; r < XDPVM_REG_COUNT; r++)
                if (sp.lane[r].value == v.value && sp.lane[r].byte == 0 && sp.lane[r].valid > ps->holder_valid) {
                    ps->holder = r;
                    ps->holder_valid = sp.lane[r].valid;
                }
            continue;
        }
        if (sp.count && insn_writes(q, sp.pending[0].base))
            flush_stores(&sp); /* offsets from the old base and the new do not line up */
        unsigned shift = (unsigned)q->imm;
        switch (q->op) {
        case XDPVM_OP_MOV64_REG:
        case XDPVM_OP_MOV32_REG:
            sp.lane[q->dst] = sp.lane[q->src];
            if (q->op == XDPVM_OP_MOV32_REG && sp.lane[q->dst].valid > 4)
                sp.lane[q->dst].valid = 4;
            continue;
        case XDPVM_OP_RSH64_IMM:
        case XDPVM_OP_RSH32_IMM: {
            struct byte_lane *l = &sp.lane[q->dst];
            unsigned width = q->op == XDPVM_OP_RSH32_IMM ? 4 : 8;
            if (shift % 8 == 0 && shift / 8 < width) {
                if (l->valid > width)
                    l->valid = (uint8_t)width;
                l->byte = (uint8_t)(l->byte + shift / 8);
                l->valid = l->valid > shift / 8 ? (uint8_t)(l->valid - shift / 8) : 0;
                continue;
            }
            lane_fresh(&sp, q->dst);
            continue;
        }
        default:
            break;
        }
        /* anything else that touches memory or leaves straight-line code ends the stores */
        if (info->shape != XDPVM_SHAPE_ALU_IMM && info->shape != XDPVM_SHAPE_ALU_REG &&
            info->shape != XDPVM_SHAPE_NEG && info->shape != XDPVM_SHAPE_MOVSX &&
            info->shape != XDPVM_SHAPE_END && info->shape != XDPVM_SHAPE_LDDW)
            flush_stores(&sp);
        for (int r = 0; r < XDPVM_REG_COUNT; r++)
            if (insn_writes(q, r))
                lane_fresh(&sp, r);
    }
    flush_stores(&sp);
}

static const emit_fn emitters[XDPVM_OP__COUNT] = {
#define JIT_EMITTER_ROW(NAME, CODE, MATCH, MVAL, MN, COP, SHAPE, VER) [XDPVM_OP_##NAME] = emit_##SHAPE,
    XDPVM_OPCODES(JIT_EMITTER_ROW)
#undef JIT_EMITTER_ROW
};

/* ---- compile ------------------------------------------------------------------------------ */

static int find_functions(struct emitter *e, struct xdpvm_decoded *decoded)
{
    const struct xdpvm_prog *prog = e->prog;
    e->is_function[0] = true;
    e->lean_main = true;
    bool used[XDPVM_REG_COUNT] = {false}, callbacks = false, calls = false, local_calls = false;
    for (size_t pc = 0; pc < prog->count; pc++) {
        struct xdpvm_decode_error derr;
        if (xdpvm_isa_decode(prog->insns, prog->count, pc, &decoded[pc], &derr))
            return jit_error(e, derr.index, -EINVAL, "%s", derr.message);
        const struct xdpvm_decoded *d = &decoded[pc];
        used[d->dst] = used[d->src] = true; /* unused fields are 0: r0, always saved anyway */
        enum xdpvm_shape shape = xdpvm_op_table[d->op].shape;
        if (xdpvm_shape_is_jump(shape)) {
            int64_t target = xdpvm_isa_jump_target(d, pc);
            if (target >= 0 && (uint64_t)target < prog->count)
                e->is_target[target] = true;
        }
        bool is_callback = d->op == XDPVM_OP_LDDW && d->src == XDPVM_PSEUDO_FUNC;
        callbacks |= is_callback;
        calls |= shape == XDPVM_SHAPE_CALLX || shape == XDPVM_SHAPE_CALL_LOCAL;
        local_calls |= shape == XDPVM_SHAPE_CALL_LOCAL;
        if (d->op == XDPVM_OP_CALL_LOCAL || is_callback) {
            int64_t target = xdpvm_isa_jump_target(d, pc);
            if (target < 0 || (uint64_t)target >= prog->count)
                return jit_error(e, pc, -EINVAL, "function at instruction %lld is outside the "
                                 "program (%zu instructions)", (long long)target, prog->count);
            e->is_function[target] = e->is_target[target] = true;
            if (target == 0)
                e->lean_main = false; /* main is called as a function too */
        }
        if (d->slots == 2)
            pc++;
    }
    /* helper calls, once every jump target is known: inlined lookups call nothing */
    bool inlined_lookups = false;
    for (size_t pc = 0; pc < prog->count; pc += decoded[pc].slots) {
        struct xdpvm_map_array_layout layout;
        if (decoded[pc].op != XDPVM_OP_CALL)
            continue;
        if (inline_lookup_layout(e, pc, &layout))
            inlined_lookups = true;
        else
            calls = true;
    }
    plan_entry(e, used, callbacks, calls, local_calls, inlined_lookups);
    return 0;
}

static int emit_program(struct emitter *e, const struct xdpvm_decoded *decoded)
{
    const struct xdpvm_prog *prog = e->prog;
    e->shared_entry = emit_exec_entry(e);
    for (size_t pc = 0; pc < prog->count; pc++) {
        if (e->is_function[pc]) {
            e->func_entry[pc] = (uint32_t)e->len;
            e->in_lean_main = pc == 0 && e->lean_main;
            emit_function_prologue(e, pc, pc != 0, e->in_lean_main);
        }
        e->insn_offset[pc] = (uint32_t)e->len;
        const struct xdpvm_decoded *d = &decoded[pc];
        const struct xdpvm_op_info *info = &xdpvm_op_table[d->op];
        struct insn_ctx c = {
            .d = d, .info = info, .pc = pc,
            .dst = bpf_to_x86[d->dst], .src = bpf_to_x86[d->src],
            .is64 = !xdpvm_op_is_alu32(info),
        };
        size_t pair_load = emit_byte_pair_load(e, pc);
        if (pair_load) {
            for (size_t inside = pc + 1; inside < pc + pair_load; inside++) {
                e->insn_offset[inside] = NO_OFFSET;
                e->merged_into[inside] = (uint32_t)pc;
            }
            pc += pair_load - 1;
            continue;
        }
        struct byte_copy copy = byte_copy_at(e, pc);
        if (copy.pairs) {
            emit_byte_copy(e, &copy, pc + 2 * copy.pairs);
            for (size_t inside = pc + 1; inside < pc + 2 * copy.pairs; inside++) {
                e->insn_offset[inside] = NO_OFFSET;
                e->merged_into[inside] = (uint32_t)pc;
            }
            pc += 2 * copy.pairs - 1;
            if (e->oom)
                return jit_error(e, pc, -ENOMEM, "out of memory for code");
            continue;
        }
        const struct store_plan *plan = &e->store_plan[pc];
        if (plan->kind == STORE_MERGED) {
            e->insn_offset[pc] = NO_OFFSET;
            e->merged_into[pc] = plan->wide_at;
            continue;
        }
        if (plan->kind == STORE_WIDE) {
            emit_store_reg(e, plan->size, c.dst, plan->off, bpf_to_x86[plan->value_reg]);
            continue;
        }
        int rc = emitters[d->op](e, &c);
        if (rc)
            return rc;
        if (d->slots == 2)
            e->insn_offset[++pc] = NO_OFFSET;
        if (e->oom)
            return jit_error(e, pc, -ENOMEM, "out of memory for code");
    }
    return 0;
}

static int resolve_fixups(struct emitter *e)
{
    for (size_t i = 0; i < e->fixup_count; i++) {
        const struct fixup *f = &e->fixups[i];
        uint32_t dest = f->to_entry ? e->func_entry[f->target] : e->insn_offset[f->target];
        if (dest == NO_OFFSET)
            return jit_error(e, f->target, -EINVAL, "jump or call lands inside an instruction");
        patch_u32(e, f->at, (uint32_t)(int32_t)((int64_t)dest - (int64_t)(f->at + 4)));
    }
    return 0;
}

/* W^X: map writable, copy, then switch to read+execute. */
static int publish_code(struct emitter *e, struct jit_state *js)
{
    long page = sysconf(_SC_PAGESIZE);
    size_t size = (e->len + (size_t)page - 1) & ~((size_t)page - 1);
    void *map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (map == MAP_FAILED)
        return jit_error(e, 0, -errno, "mmap of %zu bytes of code failed", size);
    memcpy(map, e->buf, e->len);
    /* int3 in the tail of the page: a stray jump there traps instead of running garbage */
    memset((uint8_t *)map + e->len, 0xcc, size - e->len);
    if (mprotect(map, size, PROT_READ | PROT_EXEC)) {
        int rc = -errno;
        munmap(map, size);
        return jit_error(e, 0, rc, "mprotect(PROT_READ|PROT_EXEC) of the code failed");
    }
    __builtin___clear_cache((char *)map, (char *)map + e->len);
    js->map = map;
    js->map_size = size;
    js->code_size = e->len;
    return 0;
}

bool xdpvm_jit_available(void) { return true; }

int xdpvm_jit_compile(struct xdpvm_prog *prog, const struct xdpvm_jit_opts *opts, char *err,
                      size_t err_size)
{
    static const struct xdpvm_jit_opts default_opts;
    struct emitter e = {.prog = prog, .opts = opts ? opts : &default_opts, .err = err,
                        .err_size = err_size};
    if (err && err_size)
        err[0] = 0;
    if (!prog->insns || prog->count == 0)
        return jit_error(&e, 0, -EINVAL, "empty program");
    if (prog->count > UINT32_MAX / 64)
        return jit_error(&e, 0, -E2BIG, "program of %zu instructions is too large", prog->count);
    struct xdpvm_decode_error derr;
    if (xdpvm_isa_check_program(prog->insns, prog->count, &derr))
        return jit_error(&e, derr.index, -EINVAL, "%s", derr.message);
    if (e.opts->blind_constants && getrandom(&e.blind_state, sizeof(e.blind_state), 0) !=
                                       (ssize_t)sizeof(e.blind_state))
        e.blind_state = (uint64_t)(uintptr_t)&e ^ 0x9e3779b97f4a7c15ull;
    if (!e.blind_state)
        e.blind_state = 0x9e3779b97f4a7c15ull;

    struct jit_state *js = calloc(1, sizeof(*js));
    struct xdpvm_decoded *decoded = calloc(prog->count, sizeof(*decoded));
    e.insn_offset = malloc(prog->count * sizeof(uint32_t));
    e.func_entry = malloc(prog->count * sizeof(uint32_t));
    e.merged_into = malloc(prog->count * sizeof(uint32_t));
    e.is_function = calloc(prog->count, sizeof(bool));
    e.is_target = calloc(prog->count, sizeof(bool));
    e.store_plan = calloc(prog->count, sizeof(*e.store_plan));
    e.decoded = decoded;
    int rc;
    if (!js || !decoded || !e.insn_offset || !e.func_entry || !e.merged_into || !e.is_function ||
        !e.is_target || !e.store_plan) {
        rc = jit_error(&e, 0, -ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < prog->count; i++)
        e.insn_offset[i] = e.func_entry[i] = e.merged_into[i] = NO_OFFSET;
    rc = find_functions(&e, decoded);
    if (!rc) {
        plan_byte_stores(&e);
        rc = emit_program(&e, decoded);
    }
    size_t body_end = e.len;
    if (!rc) {
        emit_other_entries(&e, e.shared_entry, &e.args_entry, &e.callback_entry);
        emit_unwind_block(&e);
        rc = e.oom ? jit_error(&e, 0, -ENOMEM, "out of memory for code") : resolve_fixups(&e);
    }
    if (!rc)
        rc = publish_code(&e, js);
    if (!rc) {
        js->count = prog->count;
        js->body_end = body_end;
        js->insn_offset = e.insn_offset;
        js->func_entry = e.func_entry;
        js->merged_into = e.merged_into;
        js->args_entry = e.args_entry;
        js->callback_entry = e.callback_entry;
        e.insn_offset = e.func_entry = e.merged_into = NULL;
        prog->jit_state = js;
        prog->jit_code = js->map;
        prog->jit_size = js->code_size;
        prog->exec = exec_of(js);
        js = NULL;
    }
out:
    free(js);
    free(decoded);
    free(e.insn_offset);
    free(e.func_entry);
    free(e.merged_into);
    free(e.is_function);
    free(e.is_target);
    free(e.store_plan);
    free(e.fixups);
    free(e.unwind_refs);
    free(e.buf);
    return rc;
}

void xdpvm_jit_free(struct xdpvm_prog *prog)
{
    struct jit_state *js = prog->jit_state;
    if (!js)
        return;
    if (prog->exec == exec_of(js))
        prog->exec = NULL;
    munmap(js->map, js->map_size);
    free(js->insn_offset);
    free(js->func_entry);
    free(js->merged_into);
    free(js);
    prog->jit_state = NULL;
    prog->jit_code = NULL;
    prog->jit_size = 0;
}

/* ---- running ------------------------------------------------------------------------------ */

static jit_exec_fn exec_of(const struct jit_state *js)
{
    jit_exec_fn fn;
    void *code = js->map;
    memcpy(&fn, &code, sizeof(fn));
    return fn;
}
static jit_args_fn args_of(const struct jit_state *js)
{
    jit_args_fn fn;
    void *code = js->map + js->args_entry;
    memcpy(&fn, &code, sizeof(fn));
    return fn;
}
static jit_callback_fn callback_of(const struct jit_state *js)
{
    jit_callback_fn fn;
    void *code = js->map + js->callback_entry;
    memcpy(&fn, &code, sizeof(fn));
    return fn;
}

static void jit_trap(struct xdpvm_run *run, uint64_t pc, uint64_t kind, uint64_t value)
{
    switch ((enum trap_kind)kind) {
    case TRAP_CALL_DEPTH:
        xdpvm_run_fail(run, (size_t)pc, -E2BIG, "instruction %llu: call depth exceeds %llu frames",
                       (unsigned long long)pc, (unsigned long long)value);
        break;
    case TRAP_CALLX_UNKNOWN:
        xdpvm_run_fail(run, (size_t)pc, -EINVAL, "instruction %llu: callx to helper %llu, which "
                       "the program's helper table does not provide",
                       (unsigned long long)pc, (unsigned long long)value);
        break;
    }
}

/* The code unwound: a helper or trap failed, a helper asked to stop, or a tail call. r0 is
 * NULL for a callback: its helper and the code around it see run->stop themselves. */
static int jit_slow_exit(struct xdpvm_run *run, uint64_t *r0)
{
    if (!r0)
        return 0;
    if (run->error)
        return run->error;
    if (run->stop) {
        *r0 = run->stop_value;
        return 0;
    }
    const struct xdpvm_prog *next = run->next_prog;
    if (!next) {
        xdpvm_run_fail(run, 0, -EFAULT, "program '%s': JIT code unwound without a reason",
                       run->prog ? run->prog->name : "?");
        return run->error;
    }
    run->next_prog = NULL;
    run->prog = next;
    if (!next->exec) {
        xdpvm_run_fail(run, 0, -EINVAL, "tail call to program '%s', which has no executor",
                       next->name);
        return run->error;
    }
    return next->exec(run, r0);
}

static uint64_t jit_call_subprog(struct xdpvm_run *run, uint64_t insn_index, uint64_t r1,
                                 uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5)
{
    const struct jit_state *js = run->prog ? run->prog->jit_state : NULL;
    if (!js || insn_index >= js->count || js->func_entry[insn_index] == NO_OFFSET) {
        xdpvm_run_fail(run, (size_t)insn_index, -EINVAL,
                       "callback at instruction %llu is not a function of the program",
                       (unsigned long long)insn_index);
        return 0;
    }
    return callback_of(js)(r1, r2, r3, r4, r5, run, js->map + js->func_entry[insn_index]);
}

static const struct jit_state *state_for_run(struct xdpvm_run *run)
{
    const struct xdpvm_prog *prog = run->prog;
    if (prog && prog->jit_state)
        return prog->jit_state;
    xdpvm_run_fail(run, 0, -EINVAL, "program '%s' is not JIT-compiled", prog ? prog->name : "(none)");
    return NULL;
}

int xdpvm_jit_run(struct xdpvm_run *run, uint64_t *r0)
{
    const struct jit_state *js = state_for_run(run);
    return js ? exec_of(js)(run, r0) : run->error;
}

int xdpvm_jit_run_args(struct xdpvm_run *run, const uint64_t args[5], uint64_t *r0)
{
    const struct jit_state *js = state_for_run(run);
    return js ? args_of(js)(run, r0, args) : run->error;
}

size_t xdpvm_jit_insn_offset(const struct xdpvm_prog *prog, size_t pc)
{
    const struct jit_state *js = prog->jit_state;
    if (!js || pc >= js->count || js->insn_offset[pc] == NO_OFFSET)
        return SIZE_MAX;
    /* show a function's prologue with its first instruction */
    return js->func_entry[pc] != NO_OFFSET ? js->func_entry[pc] : js->insn_offset[pc];
}

size_t xdpvm_jit_merged_into(const struct xdpvm_prog *prog, size_t pc)
{
    const struct jit_state *js = prog->jit_state;
    if (!js || pc >= js->count || js->merged_into[pc] == NO_OFFSET)
        return SIZE_MAX;
    return js->merged_into[pc];
}

size_t xdpvm_jit_body_end(const struct xdpvm_prog *prog)
{
    const struct jit_state *js = prog->jit_state;
    return js ? js->body_end : 0;
}

#else /* not x86-64 */

bool xdpvm_jit_available(void) { return false; }

int xdpvm_jit_compile(struct xdpvm_prog *prog, const struct xdpvm_jit_opts *opts, char *err,
                      size_t err_size)
{
    (void)opts;
    if (err && err_size)
        snprintf(err, err_size, "jit: program '%s': this host is not x86-64; the JIT is not "
                 "available, use the interpreter", prog->name);
    return -EOPNOTSUPP;
}
void xdpvm_jit_free(struct xdpvm_prog *prog) { (void)prog; }
int xdpvm_jit_run(struct xdpvm_run *run, uint64_t *r0)
{
    (void)r0;
    xdpvm_run_fail(run, 0, -EOPNOTSUPP, "the JIT is not available on this host");
    return run->error;
}
int xdpvm_jit_run_args(struct xdpvm_run *run, const uint64_t args[5], uint64_t *r0)
{
    (void)args;
    return xdpvm_jit_run(run, r0);
}
size_t xdpvm_jit_insn_offset(const struct xdpvm_prog *prog, size_t pc)
{
    (void)prog; (void)pc;
    return SIZE_MAX;
}
size_t xdpvm_jit_merged_into(const struct xdpvm_prog *prog, size_t pc)
{
    (void)prog; (void)pc;
    return SIZE_MAX;
}
size_t xdpvm_jit_body_end(const struct xdpvm_prog *prog) { (void)prog; return 0; }

#endif
