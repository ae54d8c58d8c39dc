/* The verifier: walks every path of a program over an abstract machine state (state.h)
 * whose registers carry types and value bounds (scalar.h), the way the Linux verifier does,
 * and rejects the first instruction that could touch memory it should not, read a value that
 * was never set, or leave the program's contract (r0 at exit, references, call depth, stack).
 *
 * Exploration is depth first. At prune points (jump targets) states are remembered; a new
 * state that a remembered, fully explored state includes needs no further exploration, and
 * a state equal to one of its own ancestors is an infinite loop. Loops are otherwise
 * unrolled until they exit, within a budget of processed instructions. */
#include "verifier/verifier.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "isa/disasm.h"
#include "maps/maps.h"
#include "verifier/scalar.h"
#include "verifier/state.h"

#define MAX_PROCESSED 1000000u
#define MAX_STORED_STATES 65536u
#define MAX_STATES_PER_INSN 64u
#define MAX_PACKET_OFF 0xffff
#define MAX_PTR_OFF (1 << 29)
#define BPF_F_RDONLY_PROG (1u << 7)

enum {
    HELPER_MAP_LOOKUP = 1, HELPER_TAIL_CALL = 12, HELPER_PERF_EVENT_OUTPUT = 25,
    HELPER_REDIRECT_MAP = 51, HELPER_MAP_PUSH = 87, HELPER_MAP_POP = 88, HELPER_MAP_PEEK = 89,
    HELPER_RINGBUF_OUTPUT = 130, HELPER_RINGBUF_RESERVE = 131, HELPER_RINGBUF_QUERY = 134,
    HELPER_FOR_EACH_MAP_ELEM = 164, HELPER_LOOP = 181,
};

/* Per-instruction facts from the structural pass. */
enum {
    INSN_START = 1,        /* an instruction starts here (not a second lddw slot) */
    INSN_PRUNE = 2,        /* remember states here */
    INSN_REACHED = 4,
};

struct stored_state {
    struct vstate *state;
    struct stored_state *parent;  /* nearest stored ancestor */
    struct stored_state *next;    /* same instruction */
    uint32_t branches;            /* paths from here still being explored */
    uint64_t hash;                /* vstate_hash of state */
    bool callback_boundary;       /* back at a callback-calling helper: a new iteration starts */
    uint32_t pc;
};

struct path_block {
    struct path_block *next;
    unsigned used;
    struct path_step steps[4096];
};

struct env {
    struct xdpvm_prog *prog;
    const struct xdpvm_verify_opts *opts;
    struct xdpvm_verify_result *result;
    size_t count;
    struct xdpvm_decoded *insn;
    uint8_t *flags;
    uint32_t *subprog_of;         /* first instruction of the function containing each insn */
    uint32_t *subprog_depth;      /* deepest stack byte used, by function start */
    struct stored_state **explored;
    uint16_t *explored_count;     /* states remembered per instruction (capped) */
    uint16_t *live;               /* registers read later (before written) in the same function */
    struct vstate **work;
    size_t work_len, work_cap;
    struct path_block *paths;
    uint32_t next_id;
    uint64_t processed, jumps, last_store_processed, last_store_jumps;
    uint64_t stored, live_stored;
    bool rejected;
};

/* ---- log ---- */

static void vlog(struct env *env, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void vlog(struct env *env, int level, const char *fmt, ...)
{
    if (!env->opts || env->opts->log_level < level || !env->opts->log)
        return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(env->opts->log, fmt, ap);
    va_end(ap);
}

static void format_insn(const struct env *env, uint32_t pc, char *buf, size_t size)
{
    xdpvm_disasm_insn(&env->insn[pc], pc, XDPVM_SYNTAX_LLVM, buf, size);
}

static void log_regs(struct env *env, int level, const struct vstate *st)
{
    if (!env->opts || env->opts->log_level < level || !env->opts->log)
        return;
    const struct frame *f = st->frames[st->curframe];
    char buf[256];
    if (st->curframe)
        vlog(env, level, "  frame %d (called at insn %u):", st->curframe, f->callsite);
    for (int r = 0; r < XDPVM_REG_COUNT; r++) {
        if (f->regs[r].type == REG_NOT_INIT)
            continue;
        reg_format(&f->regs[r], buf, sizeof(buf));
        vlog(env, level, " r%d=%s", r, buf);
    }
    for (unsigned k = 0; k < f->nslots; k++) {
        const struct slot *s = &f->slots[k];
        int off = -8 * (int)(k + 1);
        if (s->bytes[0] == SLOT_SPILL) {
            reg_format(&s->spill, buf, sizeof(buf));
            vlog(env, level, " fp%d=%s", off, buf);
        } else {
            char kinds[9];
            bool any = false;
            for (int b = 0; b < 8; b++) {
                kinds[b] = "?mz"[s->bytes[b] < 3 ? s->bytes[b] : 0];
                any |= s->bytes[b] != SLOT_INVALID;
            }
            kinds[8] = 0;
            if (any)
                vlog(env, level, " fp%d=%s", off, kinds);
        }
    }
    vlog(env, level, "\n");
}

/* Reject at st->pc: the one-sentence reason goes to the result, the log gets the
 * instruction, the registers and the branch decisions that led there. */
static int reject(struct env *env, const struct vstate *st, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int reject(struct env *env, const struct vstate *st, const char *fmt, ...)
{
    if (env->rejected)
        return -EACCES;
    env->rejected = true;
    struct xdpvm_verify_result *res = env->result;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->reason, sizeof(res->reason), fmt, ap);
    va_end(ap);
    if (st)
        res->error_insn = st->pc;
    if (!st) {
        vlog(env, 1, "rejected: %s\n", res->reason);
        return -EACCES;
    }
    char text[128];
    format_insn(env, st->pc, text, sizeof(text));
    vlog(env, 1, "rejected at insn %u: %s\n", st->pc, text);
    vlog(env, 1, "registers:");
    log_regs(env, 1, st);
    unsigned n = 0;
    for (const struct path_step *p = st->path; p; p = p->prev)
        n++;
    if (n) {
        vlog(env, 1, "path: %u branch decision%s from the start%s\n", n, n == 1 ? "" : "s",
             n > 16 ? " (last 16 shown)" : "");
        const struct path_step *recent[16];
        unsigned k = 0;
        for (const struct path_step *p = st->path; p && k < 16; p = p->prev)
            recent[k++] = p;
        while (k--) {
            format_insn(env, recent[k]->insn, text, sizeof(text));
            vlog(env, 1, "  insn %u: %s -> %s\n", recent[k]->insn, text,
                 recent[k]->taken ? "jumped" : "fell through");
        }
    }
    vlog(env, 1, "reason: %s\n", res->reason);
    return -EACCES;
}

static const struct path_step *path_add(struct env *env, const struct path_step *prev, uint32_t insn, bool taken)
{
    if (!env->paths || env->paths->used == sizeof(env->paths->steps) / sizeof(env->paths->steps[0])) {
        struct path_block *b = malloc(sizeof(*b));
        if (!b)
            return prev; /* the path is for the log only */
        b->next = env->paths;
        b->used = 0;
        env->paths = b;
    }
    struct path_step *s = &env->paths->steps[env->paths->used++];
    s->prev = prev;
    s->insn = insn;
    s->taken = taken;
    return s;
}

/* ---- structure ---- */

/* lddw src=BPF_PSEUDO_FUNC: imm is the callback's offset from the next instruction. */
static bool is_cond_jump(enum xdpvm_shape s) { return s == XDPVM_SHAPE_JMP_IMM || s == XDPVM_SHAPE_JMP_REG; }

static int check_structure(struct env *env)
{
    struct xdpvm_decode_error derr = {0};
    const struct xdpvm_prog *prog = env->prog;
    if (xdpvm_isa_check_program(prog->insns, prog->count, &derr)) {
        env->result->error_insn = derr.index;
        return reject(env, NULL, "insn %zu: %s", derr.index, derr.message);
    }
    size_t n = env->count;
    for (size_t i = 0; i < n;) {
        xdpvm_isa_decode(prog->insns, n, i, &env->insn[i], NULL);
        env->flags[i] |= INSN_START;
        i += env->insn[i].slots;
    }
    /* Function starts: the program, every local call target, every callback reference. */
    bool *is_start = calloc(n, sizeof(*is_start));
    uint32_t *stack = malloc(n * sizeof(*stack));
    int rc = 0;
    if (!is_start || !stack) {
        rc = reject(env, NULL, "out of memory");
        goto out;
    }
    is_start[0] = true;
    for (size_t i = 0; i < n && !rc; i++) {
        if (!(env->flags[i] & INSN_START))
            continue;
        const struct xdpvm_decoded *d = &env->insn[i];
        const struct xdpvm_op_info *info = &xdpvm_op_table[d->op];
        if (info->shape == XDPVM_SHAPE_CALL_LOCAL)
            is_start[xdpvm_isa_jump_target(d, i)] = true;
        if (info->shape == XDPVM_SHAPE_LDDW && d->src == XDPVM_PSEUDO_FUNC) {
            int64_t t = xdpvm_isa_jump_target(d, i);
            if (t < 0 || (size_t)t >= n || !(env->flags[t] & INSN_START)) {
                env->result->error_insn = i;
                rc = reject(env, NULL, "insn %zu: the callback reference points to instruction %" PRId64
                            ", which is not an instruction of the program", i, t);
                break;
            }
            is_start[t] = true;
        }
        if (info->shape == XDPVM_SHAPE_CALLX) {
            env->result->error_insn = i;
            rc = reject(env, NULL, "insn %zu: indirect calls (callx) are not allowed", i);
        }
    }
    uint32_t current = 0;
    for (size_t i = 0; i < n; i++) {
        if (is_start[i])
            current = (uint32_t)i;
        env->subprog_of[i] = current;
    }
    /* Jumps stay inside their function; a function ends with exit or a jump. */
    for (size_t i = 0; i < n && !rc; i++) {
        if (!(env->flags[i] & INSN_START))
            continue;
        const struct xdpvm_decoded *d = &env->insn[i];
        enum xdpvm_shape shape = xdpvm_op_table[d->op].shape;
        size_t next = i + d->slots;
        if (xdpvm_shape_is_jump(shape)) {
            int64_t t = xdpvm_isa_jump_target(d, i);
            if (env->subprog_of[t] != env->subprog_of[i]) {
                env->result->error_insn = i;
                rc = reject(env, NULL, "insn %zu: the jump to insn %" PRId64 " leaves the function that starts at insn %u",
                            i, t, env->subprog_of[i]);
            }
            env->flags[t] |= INSN_PRUNE;
            if (is_cond_jump(shape) && next < n)
                env->flags[next] |= INSN_PRUNE;
        }
        bool ends = xdpvm_shape_ends_flow(shape);
        if (!rc && !ends && (next >= n || is_start[next])) {
            env->result->error_insn = i;
            rc = reject(env, NULL, "insn %zu: the function that starts at insn %u does not end with exit or a jump; "
                        "execution would fall into the next function", i, env->subprog_of[i]);
        }
    }
    /* Every instruction must be reachable. */
    size_t top = 0;
    if (!rc) {
        stack[top++] = 0;
        env->flags[0] |= INSN_REACHED;
    }
    while (top && !rc) {
        uint32_t i = stack[--top];
        const struct xdpvm_decoded *d = &env->insn[i];
        enum xdpvm_shape shape = xdpvm_op_table[d->op].shape;
        int64_t succ[2];
        int ns = 0;
        if (!xdpvm_shape_ends_flow(shape))
            succ[ns++] = i + d->slots;
        if (xdpvm_shape_is_jump(shape) || shape == XDPVM_SHAPE_CALL_LOCAL || (shape == XDPVM_SHAPE_LDDW && d->src == XDPVM_PSEUDO_FUNC))
            succ[ns++] = xdpvm_isa_jump_target(d, i);
        for (int k = 0; k < ns; k++) {
            if (succ[k] < 0 || (size_t)succ[k] >= n || (env->flags[succ[k]] & INSN_REACHED))
                continue;
            env->flags[succ[k]] |= INSN_REACHED;
            stack[top++] = (uint32_t)succ[k];
        }
    }
    for (size_t i = 0; i < n && !rc; i++) {
        if ((env->flags[i] & INSN_START) && !(env->flags[i] & INSN_REACHED)) {
            env->result->error_insn = i;
            rc = reject(env, NULL, "insn %zu is unreachable: no path from the start of the program leads to it", i);
        }
    }
out:
    free(is_start);
    free(stack);
    return rc;
}

/* ---- register liveness ---- */

/* Registers an instruction reads (use) and writes (def), for the liveness pass. Calls read
 * the argument registers and write r0-r5; exit reads r0. */
static void insn_use_def(const struct xdpvm_decoded *d, uint16_t *use, uint16_t *def)
{
    xdpvm_isa_regs(d, use, def);
    enum xdpvm_shape shape = xdpvm_op_table[d->op].shape;
    if (shape == XDPVM_SHAPE_CALL || shape == XDPVM_SHAPE_CALL_LOCAL || shape == XDPVM_SHAPE_CALLX) {
        *use |= (uint16_t)(0x3e | 1u << d->dst);
        *def = 0x3f;
    }
    *use |= 1u << XDPVM_REG_FP;
}

/* Backward dataflow to a fixpoint over each function's instructions. */
static int compute_liveness(struct env *env)
{
    size_t n = env->count;
    uint16_t *use = calloc(n, sizeof(*use)), *def = calloc(n, sizeof(*def));
    if (!use || !def) {
        free(use);
        free(def);
        return -ENOMEM;
    }
    for (size_t i = 0; i < n; i++)
        if (env->flags[i] & INSN_START)
            insn_use_def(&env->insn[i], &use[i], &def[i]);
    bool changed = true;
    while (changed) {
        changed = false;
        for (size_t k = n; k-- > 0;) {
            if (!(env->flags[k] & INSN_START))
                continue;
            const struct xdpvm_decoded *d = &env->insn[k];
            enum xdpvm_shape shape = xdpvm_op_table[d->op].shape;
            uint16_t out = 0;
            size_t next = k + d->slots;
            bool falls = !xdpvm_shape_ends_flow(shape);
            if (falls && next < n)
                out |= env->live[next];
            if (xdpvm_shape_is_jump(shape))
                out |= env->live[xdpvm_isa_jump_target(d, k)];
            uint16_t in = (uint16_t)(use[k] | (out & ~def[k]));
            if (in != env->live[k]) {
                env->live[k] = in;
                changed = true;
            }
        }
    }
    free(use);
    free(def);
    return 0;
}

/* ---- registers ---- */

static struct frame *cur_frame(struct vstate *st) { return st->frames[st->curframe]; }

static void mark_not_init(struct reg *r)
{
    memset(r, 0, sizeof(*r));
}

static void mark_scalar(struct reg *r, struct scalar v)
{
    memset(r, 0, sizeof(*r));
    r->type = REG_SCALAR;
    r->v = v;
}

static bool is_pointer(const struct reg *r) { return r->type != REG_SCALAR && r->type != REG_NOT_INIT; }
static bool is_pkt_family(uint8_t t) { return t == REG_PKT || t == REG_PKT_END || t == REG_PKT_META; }
static bool is_const_zero(const struct reg *r)
{
    return r->type == REG_SCALAR && scalar_is_const(&r->v) && r->v.var.value == 0;
}

static int check_read(struct env *env, struct vstate *st, unsigned regno)
{
    const struct reg *r = &cur_frame(st)->regs[regno];
    if (r->type != REG_NOT_INIT)
        return 0;
    if (r->released_by)
        return reject(env, st, "r%u is read, but it held a ring buffer record that the call at insn %u released "
                      "(submitted or discarded); the record may not be used after that", regno, r->released_by - 1);
    if (r->clobbered_by)
        return reject(env, st, "r%u is read, but the call at insn %u clobbered it (calls clobber r1-r5); "
                      "keep the value in r6-r9 or on the stack across the call", regno, r->clobbered_by - 1);
    return reject(env, st, "r%u is read before it is set on this path", regno);
}

static int check_write(struct env *env, struct vstate *st, unsigned regno)
{
    if (regno == XDPVM_REG_FP)
        return reject(env, st, "r10 is the read-only frame pointer; copy it to another register to compute addresses");
    return 0;
}

static const char *map_name(const struct xdpvm_map *m) { return m ? xdpvm_map_get_spec(m)->name : "?"; }

struct id_arg {
    uint32_t id;
    const struct reg *src;
};

static void copy_linked_scalar(struct reg *r, void *arg)
{
    struct id_arg *a = arg;
    if (r->type != REG_SCALAR || r->id != a->id)
        return;
    const struct reg *src = a->src;
    struct scalar shifted = src->v;
    if (r->delta != src->delta || r->link32 || src->link32)
        shifted = scalar_alu(XDPVM_ALU_ADD, false, src->v, scalar_const((uint64_t)(r->delta - src->delta)),
                             r->link32 || src->link32);
    struct scalar met = r->v;
    r->v = scalar_meet(&met, &shifted) ? met : shifted;
}

struct family_arg {
    uint32_t id;
    bool any_link32, all_below_4g;
};

static void scan_family(struct reg *r, void *arg)
{
    struct family_arg *a = arg;
    if (r->type != REG_SCALAR || r->id != a->id)
        return;
    a->any_link32 |= r->link32;
    a->all_below_4g &= r->v.umax <= UINT32_MAX;
}

/* dst += k keeps dst linked to its copies (value = base + delta), as the kernel does, so a
 * range check on "x - 1" also bounds x. 32-bit additions keep the link only while every
 * member of the group is below 2^32. */
static bool keep_link_after_add(struct vstate *st, struct reg *dst, const struct reg *before, int64_t k, bool alu32)
{
    if (!before->id || scalar_is_const(&before->v))
        return false;
    struct family_arg fa = {before->id, false, true};
    vstate_for_each_reg(st, scan_family, &fa);
    if (alu32 ? !fa.all_below_4g : fa.any_link32)
        return false;
    dst->id = before->id;
    dst->delta = before->delta + k;
    dst->link32 = before->link32 || alu32;
    return true;
}

/* Scalars that are copies of each other (same id) learn the same bounds from a branch. */
static void propagate_scalar(struct vstate *st, const struct reg *r)
{
    if (r->type != REG_SCALAR || !r->id)
        return;
    struct id_arg a = {r->id, r};
    struct reg copy = *r;
    a.src = &copy;
    vstate_for_each_reg(st, copy_linked_scalar, &a);
}

static void invalidate_pkt(struct reg *r, void *arg)
{
    if (is_pkt_family(r->type))
        mark_scalar(r, scalar_unknown());
}

struct range_arg {
    uint8_t type;
    uint32_t id;
    uint32_t range;
};

static void widen_range(struct reg *r, void *arg)
{
    struct range_arg *a = arg;
    if (r->type == a->type && r->id == a->id && r->range < a->range)
        r->range = a->range;
}

/* ---- memory ---- */

struct access {
    int64_t lo, hi;     /* byte offsets [lo, hi) the access may touch, relative to the base */
    bool fixed;
};

static bool var_bounded(const struct scalar *v)
{
    return v->smin >= -MAX_PTR_OFF && v->smax <= MAX_PTR_OFF;
}

static struct access access_range(const struct reg *r, int16_t off, unsigned size)
{
    struct access a;
    a.fixed = scalar_is_const(&r->v);
    a.lo = (int64_t)r->off + off + r->v.smin;
    a.hi = (int64_t)r->off + off + r->v.smax + size;
    return a;
}

static unsigned slot_of(int64_t fp_off) { return (unsigned)((-fp_off - 1) / 8); }
static unsigned byte_of(int64_t fp_off) { return (unsigned)(((fp_off % 8) + 8) % 8); }

static uint8_t *stack_byte(struct frame *f, int64_t fp_off)
{
    unsigned k = slot_of(fp_off);
    return k < f->nslots ? &f->slots[k].bytes[byte_of(fp_off)] : NULL;
}

static void scrub_spill(struct slot *s)
{
    if (s->bytes[0] != SLOT_SPILL)
        return;
    /* The rest of an overwritten pointer is part of an address: it may not be read back. */
    uint8_t kind = is_const_zero(&s->spill) ? SLOT_ZERO : s->spill.type == REG_SCALAR ? SLOT_MISC : SLOT_INVALID;
    for (int b = 0; b < 8; b++)
        if (s->bytes[b] == SLOT_SPILL)
            s->bytes[b] = kind;
    mark_not_init(&s->spill);
}

static int check_stack_bounds(struct env *env, struct vstate *st, unsigned regno, const struct reg *r,
                              int16_t off, unsigned size, struct access *a, const char *what)
{
    if (!var_bounded(&r->v))
        return reject(env, st, "the offset of r%u into the stack is not bounded (%" PRId64 "..%" PRId64
                      "); check it before using it as an address", regno, r->v.smin, r->v.smax);
    *a = access_range(r, off, size);
    if (a->lo < -XDPVM_STACK_SIZE || a->hi > 0) {
        if (a->fixed)
            return reject(env, st, "%s of %u byte%s at fp%+" PRId64 " is outside the %d-byte stack (valid offsets are "
                          "fp-%d..fp-1)", what, size, size == 1 ? "" : "s", a->lo, XDPVM_STACK_SIZE, XDPVM_STACK_SIZE);
        return reject(env, st, "%s of %u byte%s through r%u may touch fp%+" PRId64 "..fp%+" PRId64
                      ", outside the %d-byte stack", what, size, size == 1 ? "" : "s", regno, a->lo, a->hi - 1,
                      XDPVM_STACK_SIZE);
    }
    return 0;
}

static void note_stack_depth(struct env *env, const struct vstate *st, const struct reg *r, int64_t lo)
{
    uint32_t sub = st->frames[r->frameno]->subprog;
    if ((uint64_t)-lo > env->subprog_depth[sub])
        env->subprog_depth[sub] = (uint32_t)-lo;
}

static int check_alignment(struct env *env, struct vstate *st, unsigned regno, const struct reg *r, int16_t off,
                           unsigned size, const char *where)
{
    uint64_t align_mask = size - 1;
    uint64_t base = (uint64_t)((int64_t)r->off + off) + r->v.var.value;
    if ((r->v.var.mask & align_mask) || (base & align_mask))
        return reject(env, st, "misaligned %u-byte access to %s through r%u at offset %" PRId64 "%s; it must be a "
                      "multiple of %u", size, where, regno, (int64_t)r->off + off,
                      scalar_is_const(&r->v) ? "" : " plus a variable", size);
    return 0;
}

/* Read size bytes of the stack at [lo, hi) for a load into *out (out NULL: a helper reads). */
static int stack_read(struct env *env, struct vstate *st, unsigned regno, const struct reg *ptr, struct access a,
                      unsigned size, bool sign_extend, struct reg *out)
{
    struct frame *f = st->frames[ptr->frameno];
    bool all_zero = true;
    for (int64_t o = a.lo; o < a.hi; o++) {
        uint8_t *b = stack_byte(f, o);
        uint8_t kind = b ? *b : SLOT_INVALID;
        if (kind == SLOT_INVALID) {
            if (a.fixed)
                return reject(env, st, "%s r%u reads %u byte%s of the stack at fp%+" PRId64 ", but fp%+" PRId64
                              " was never written on this path", out ? "a load through" : "the helper call through",
                              regno, size, size == 1 ? "" : "s", a.lo, o);
            return reject(env, st, "the stack at fp%+" PRId64 " is read through r%u (which may point to fp%+" PRId64
                          "..fp%+" PRId64 "), but it was never written on this path", o, regno, a.lo, a.hi - 1);
        }
        if (kind != SLOT_ZERO)
            all_zero = false;
        if (kind == SLOT_SPILL && f->slots[slot_of(o)].spill.released_by &&
            !(out && a.fixed && size == 8 && byte_of(a.lo) == 0)) /* whole: the register becomes unreadable */
            return reject(env, st, "r%u reads fp%+" PRId64 ", which holds a ring buffer record that the call at insn "
                          "%u released; the record may not be used after that", regno, o,
                          f->slots[slot_of(o)].spill.released_by - 1);
        if (kind == SLOT_SPILL && !out && f->slots[slot_of(o)].spill.type != REG_SCALAR)
            return reject(env, st, "the helper call through r%u reads fp%+" PRId64 ", which holds a saved %s pointer: "
                          "the helper would copy the address out (into a map or a ring buffer); pass numbers only",
                          regno, o, reg_type_name(f->slots[slot_of(o)].spill.type));
        if (kind == SLOT_SPILL && out) {
            const struct reg *sp = &f->slots[slot_of(o)].spill;
            if (is_pointer(sp) && !(a.fixed && size == 8 && byte_of(a.lo) == 0))
                return reject(env, st, "r%u reads %u byte%s of a %s pointer saved at fp%+d; a saved pointer must "
                              "be read back whole (8 bytes)", regno, size, size == 1 ? "" : "s",
                              reg_type_name(sp->type), -8 * (int)(slot_of(o) + 1));
        }
    }
    if (!out)
        return 0;
    if (a.fixed && byte_of(a.lo) == 0 && *stack_byte(f, a.lo) == SLOT_SPILL) {
        const struct slot *slot = &f->slots[slot_of(a.lo)];
        const struct reg *sp = &slot->spill;
        unsigned spilled = 0;
        while (spilled < 8 && slot->bytes[spilled] == SLOT_SPILL)
            spilled++;
        if (size == spilled) {
            *out = *sp;
            if (sign_extend)
                mark_scalar(out, scalar_sext(sp->v, size * 8, false));
            return 0;
        }
        if (size < spilled && scalar_is_const(&sp->v)) {
            uint64_t v = sp->v.var.value & ((1ull << (size * 8)) - 1);
            if (sign_extend)
                v = size == 1 ? (uint64_t)(int64_t)(int8_t)v : size == 2 ? (uint64_t)(int64_t)(int16_t)v
                                                                         : (uint64_t)(int64_t)(int32_t)v;
            mark_scalar(out, scalar_const(v));
            return 0;
        }
    }
    mark_scalar(out, all_zero ? scalar_const(0) : scalar_of_size(size, sign_extend));
    return 0;
}

/* Write to the stack: a whole aligned 8-byte register keeps its type (a spill); anything
 * else leaves plain data, and bytes that may or may not be written keep what they were. */
static int stack_write(struct env *env, struct vstate *st, const struct reg *ptr, struct access a, unsigned size,
                       const struct reg *value)
{
    struct frame **fp = &st->frames[ptr->frameno];
    if (!frame_grow(fp, (unsigned)-a.lo))
        return reject(env, st, "out of memory");
    struct frame *f = *fp;
    if (value && value->type == REG_STACK && value->frameno > ptr->frameno)
        return reject(env, st, "a pointer to the stack of a called function cannot be stored in its caller's stack");
    if (!a.fixed) {
        if (value && is_pointer(value))
            return reject(env, st, "a %s pointer cannot be stored through a variable stack offset",
                          reg_type_name(value->type));
        for (int64_t o = a.lo; o < a.hi; o++) {
            struct slot *s = &f->slots[slot_of(o)];
            scrub_spill(s);
            uint8_t *b = &s->bytes[byte_of(o)];
            if (*b != SLOT_INVALID)
                *b = SLOT_MISC;
        }
        return 0;
    }
    struct slot *s = &f->slots[slot_of(a.lo)];
    if (size == 8 && byte_of(a.lo) == 0 && value) {
        s->spill = *value;
        memset(s->bytes, SLOT_SPILL, 8);
        return 0;
    }
    for (int64_t o = a.lo; o < a.hi; o++) {
        const struct slot *t = &f->slots[slot_of(o)];
        if (t->bytes[byte_of(o)] == SLOT_SPILL && t->spill.type != REG_SCALAR)
            return reject(env, st, "storing %u byte%s at fp%+" PRId64 " overwrites part of a saved %s pointer, which "
                          "would leave the rest of its address readable as a number; overwrite all 8 bytes",
                          size, size == 1 ? "" : "s", a.lo,
                          t->spill.released_by ? "released ring buffer" : reg_type_name(t->spill.type));
    }
    /* A narrower number stored at the start of a slot stays known too (loop counters kept in
     * 32-bit stack variables), as in the kernel. */
    if (byte_of(a.lo) == 0 && value && value->type == REG_SCALAR && !is_const_zero(value)) {
        scrub_spill(s);
        mark_scalar(&s->spill, size == 4 ? scalar_zext32(value->v)
                                         : scalar_alu(XDPVM_ALU_AND, false, value->v,
                                                      scalar_const((1ull << (size * 8)) - 1), false));
        memset(s->bytes, SLOT_SPILL, size);
        return 0;
    }
    uint8_t kind = value && is_const_zero(value) ? SLOT_ZERO : SLOT_MISC;
    for (int64_t o = a.lo; o < a.hi; o++) {
        struct slot *t = &f->slots[slot_of(o)];
        scrub_spill(t);
        t->bytes[byte_of(o)] = kind;
    }
    return 0;
}

enum access_kind { ACCESS_READ, ACCESS_WRITE, ACCESS_ATOMIC };

static int check_mem_bounds(struct env *env, struct vstate *st, unsigned regno, const struct reg *r, int16_t off,
                            unsigned size, uint32_t mem_size, const char *what)
{
    if (!var_bounded(&r->v))
        return reject(env, st, "the offset of r%u into %s is not bounded (%" PRId64 "..%" PRId64
                      "); check it against the size (%u bytes) first", regno, what, r->v.smin, r->v.smax, mem_size);
    struct access a = access_range(r, off, size);
    if (a.lo < 0 || a.hi > mem_size) {
        if (a.fixed)
            return reject(env, st, "r%u accesses %s at offset %" PRId64 "..%" PRId64 ", but it is only %u bytes",
                          regno, what, a.lo, a.hi, mem_size);
        return reject(env, st, "r%u may access %s at offset %" PRId64 "..%" PRId64 " (variable offset %" PRId64
                      "..%" PRId64 "), but it is only %u bytes; check the offset against the size first", regno, what,
                      a.lo, a.hi, r->v.smin, r->v.smax, mem_size);
    }
    return 0;
}

static int check_pkt_bounds(struct env *env, struct vstate *st, unsigned regno, const struct reg *r, int16_t off,
                            unsigned size)
{
    bool meta = r->type == REG_PKT_META;
    const char *area = meta ? "packet metadata" : "packet";
    const char *limit = meta ? "data" : "data_end";
    if (r->v.smin < 0)
        return reject(env, st, "r%u points into the %s with a variable offset that may be negative (%" PRId64
                      "); check it before using it", regno, area, r->v.smin);
    if (r->v.umax > MAX_PACKET_OFF)
        return reject(env, st, "r%u points into the %s with a variable offset up to %" PRIu64
                      ", more than a packet can hold; bound it first", regno, area, r->v.umax);
    int64_t lo = (int64_t)r->off + off, hi = lo + size;
    if (lo >= 0 && hi <= r->range)
        return 0;
    char var[96] = "";
    if (!scalar_is_const(&r->v))
        snprintf(var, sizeof(var), " past a variable offset of %" PRIu64 "..%" PRIu64, r->v.umin, r->v.umax);
    if (lo < 0)
        return reject(env, st, "r%u points into the %s at offset %" PRId64 "..%" PRId64 "%s, before its start",
                      regno, area, lo, hi, var);
    if (!r->range)
        return reject(env, st, "r%u points into the %s at offset %" PRId64 "..%" PRId64 "%s but no bytes are proven "
                      "before %s; add a check against %s", regno, area, lo, hi, var, limit, limit);
    return reject(env, st, "r%u points into the %s at offset %" PRId64 "..%" PRId64 "%s but only %u bytes are proven "
                  "before %s; add a check against %s", regno, area, lo, hi, var, r->range, limit, limit);
}

static bool map_is_readonly_for_prog(const struct xdpvm_map *m)
{
    const struct xdpvm_map_spec *s = xdpvm_map_get_spec(m);
    return (s->map_flags & BPF_F_RDONLY_PROG) || s->type == XDPVM_MAP_DEVMAP || s->type == XDPVM_MAP_DEVMAP_HASH ||
           s->type == XDPVM_MAP_XSKMAP;
}

/* Frozen read-only global data (.rodata after load) never changes: a load from it at a known
 * offset gives the value itself, as in the kernel, so `const volatile` knobs prune code. */
static void read_frozen_constant(const struct reg *r, int16_t off, unsigned size, bool sign_extend, struct reg *out)
{
    const struct xdpvm_map_spec *spec = xdpvm_map_get_spec(r->map);
    if (spec->type != XDPVM_MAP_ARRAY || spec->max_entries != 1 || !(spec->map_flags & BPF_F_RDONLY_PROG) ||
        !xdpvm_map_is_frozen(r->map) || !scalar_is_const(&r->v))
        return;
    uint32_t key = 0;
    const uint8_t *value = xdpvm_map_lookup(r->map, &key, 0);
    int64_t at = (int64_t)r->off + off + (int64_t)r->v.var.value;
    if (!value || at < 0 || at + size > spec->value_size)
        return;
    uint64_t v = 0;
    memcpy(&v, value + at, size); /* little-endian, like BPF */
    if (sign_extend && size < 8) {
        unsigned shift = 64 - size * 8;
        v = (uint64_t)((int64_t)(v << shift) >> shift);
    }
    mark_scalar(out, scalar_const(v));
}

/* tc and socket filter context: struct __sk_buff (linux/bpf.h offsets). */
enum skb_field_kind { SKB_NONE, SKB_READ, SKB_TC_WRITE, SKB_ANY_WRITE, SKB_DATA, SKB_DATA_END, SKB_DATA_META };

struct skb_field {
    int16_t off;
    uint8_t size;
    uint8_t kind;
    bool tc_only;
    const char *name;
};

static const struct skb_field skb_fields[] = {
    {0, 4, SKB_READ, false, "len"},           {4, 4, SKB_READ, false, "pkt_type"},
    {8, 4, SKB_TC_WRITE, false, "mark"},      {12, 4, SKB_TC_WRITE, false, "queue_mapping"},
    {16, 4, SKB_READ, false, "protocol"},     {20, 4, SKB_READ, false, "vlan_present"},
    {24, 4, SKB_READ, false, "vlan_tci"},     {28, 4, SKB_READ, false, "vlan_proto"},
    {32, 4, SKB_TC_WRITE, false, "priority"}, {36, 4, SKB_READ, false, "ingress_ifindex"},
    {40, 4, SKB_READ, false, "ifindex"},      {44, 4, SKB_TC_WRITE, false, "tc_index"},
    {48, 4, SKB_ANY_WRITE, false, "cb[0]"},   {52, 4, SKB_ANY_WRITE, false, "cb[1]"},
    {56, 4, SKB_ANY_WRITE, false, "cb[2]"},   {60, 4, SKB_ANY_WRITE, false, "cb[3]"},
    {64, 4, SKB_ANY_WRITE, false, "cb[4]"},   {68, 4, SKB_READ, false, "hash"},
    {72, 4, SKB_TC_WRITE, true, "tc_classid"}, {76, 4, SKB_DATA, true, "data"},
    {80, 4, SKB_DATA_END, true, "data_end"},  {84, 4, SKB_READ, false, "napi_id"},
    {140, 4, SKB_DATA_META, true, "data_meta"}, {152, 8, SKB_TC_WRITE, true, "tstamp"},
    {160, 4, SKB_READ, true, "wire_len"},     {164, 4, SKB_READ, false, "gso_segs"},
    {176, 4, SKB_READ, false, "gso_size"},    {184, 8, SKB_READ, true, "hwtstamp"},
};

static int check_skb_ctx_access(struct env *env, struct vstate *st, int16_t off, unsigned size, enum access_kind kind,
                                bool sign_extend, struct reg *out)
{
    bool tc = env->prog->type == XDPVM_PROG_SCHED_CLS || env->prog->type == XDPVM_PROG_SCHED_ACT;
    const char *prog_kind = tc ? "tc" : "socket filter";
    const struct skb_field *f = NULL;
    for (size_t i = 0; i < sizeof(skb_fields) / sizeof(skb_fields[0]); i++)
        if (off >= skb_fields[i].off && off < skb_fields[i].off + skb_fields[i].size)
            f = &skb_fields[i];
    if (!f || (f->tc_only && !tc))
        return reject(env, st, "%s programs cannot access struct __sk_buff at offset %d (%s)", prog_kind, off,
                      f ? f->name : "no field this verifier allows there");
    bool pointer = f->kind == SKB_DATA || f->kind == SKB_DATA_END || f->kind == SKB_DATA_META;
    if (kind != ACCESS_READ) {
        bool writable = f->kind == SKB_ANY_WRITE || (f->kind == SKB_TC_WRITE && tc);
        if (kind == ACCESS_ATOMIC || !writable || off != f->off || size != f->size)
            return reject(env, st, "%s programs cannot %s __sk_buff field %s%s", prog_kind,
                          kind == ACCESS_ATOMIC ? "use atomic operations on" : "write", f->name,
                          writable && kind != ACCESS_ATOMIC ? " with this size or offset" : "");
        return 0;
    }
    /* Numbers may be read in narrower pieces (the kernel rewrites such loads); pointers whole. */
    if (off + (int)size > f->off + f->size || (pointer && (off != f->off || size != f->size)) || (off % (int)size))
        return reject(env, st, "invalid read of %u byte%s at offset %d of struct __sk_buff (field %s is %u bytes)",
                      size, size == 1 ? "" : "s", off, f->name, f->size);
    if (pointer && sign_extend)
        return reject(env, st, "sign-extending load of the %s pointer field of struct __sk_buff is not allowed",
                      f->name);
    memset(out, 0, sizeof(*out));
    out->v = scalar_const(0);
    switch (f->kind) {
    case SKB_DATA: out->type = REG_PKT; break;
    case SKB_DATA_END: out->type = REG_PKT_END; break;
    case SKB_DATA_META: out->type = REG_PKT_META; break;
    default: mark_scalar(out, scalar_of_size(size, sign_extend)); break;
    }
    return 0;
}

/* XDP context: struct xdp_md, six 4-byte read-only fields. */
static int check_ctx_access(struct env *env, struct vstate *st, unsigned regno, const struct reg *r, int16_t off,
                            unsigned size, enum access_kind kind, bool sign_extend, struct reg *out)
{
    if (r->off || !scalar_is_const(&r->v) || r->v.var.value)
        return reject(env, st, "r%u is the context pointer moved by %d%s; access the context through the unmodified "
                      "pointer with an instruction offset", regno, r->off, scalar_is_const(&r->v) ? "" : " plus a variable");
    switch (env->prog->type) {
    case XDPVM_PROG_XDP: break;
    case XDPVM_PROG_SCHED_CLS:
    case XDPVM_PROG_SCHED_ACT:
    case XDPVM_PROG_SOCKET_FILTER: return check_skb_ctx_access(env, st, off, size, kind, sign_extend, out);
    default: return reject(env, st, "context access in programs of type %d is not supported", (int)env->prog->type);
    }
    if (kind != ACCESS_READ)
        return reject(env, st, "the XDP context (struct xdp_md) is read-only; write the packet or a map instead");
    if (off < 0 || off >= (int)sizeof(struct xdpvm_xdp_md) || off % 4 || size != 4)
        return reject(env, st, "invalid read of %u byte%s at offset %d of the XDP context; struct xdp_md has six 4-byte "
                      "fields at offsets 0 (data), 4 (data_end), 8 (data_meta), 12 (ingress_ifindex), "
                      "16 (rx_queue_index) and 20 (egress_ifindex)", size, size == 1 ? "" : "s", off);
    if (off == 20 && env->prog->type == XDPVM_PROG_XDP)
        return reject(env, st, "egress_ifindex (offset 20 of struct xdp_md) is readable only in programs attached "
                      "to a devmap entry, like in the kernel");
    if (sign_extend && off < 12)
        return reject(env, st, "sign-extending load of the %s pointer field of the XDP context is not allowed",
                      off == 0 ? "data" : off == 4 ? "data_end" : "data_meta");
    memset(out, 0, sizeof(*out));
    out->v = scalar_const(0);
    switch (off) {
    case 0: out->type = REG_PKT; break;
    case 4: out->type = REG_PKT_END; break;
    case 8: out->type = REG_PKT_META; break;
    default: mark_scalar(out, scalar_of_size(4, sign_extend)); break;
    }
    return 0;
}

/* A load, store or atomic through register regno at insn offset off.
 * value: the register stored (NULL for a store of an immediate, given in imm_value).
 * out: the loaded register (loads, atomics with fetch). */
static int check_mem_access(struct env *env, struct vstate *st, unsigned regno, int16_t off, unsigned size,
                            enum access_kind kind, const struct reg *value, bool sign_extend, struct reg *out)
{
    struct reg *r = &cur_frame(st)->regs[regno];
    struct reg loaded;
    mark_scalar(&loaded, scalar_of_size(size, sign_extend));
    bool writes = kind != ACCESS_READ;
    if (writes && value && is_pointer(value) && r->type != REG_STACK)
        return reject(env, st, "storing a %s pointer into %s would leak an address; only the stack may hold "
                      "pointers", reg_type_name(value->type),
                      r->type == REG_MAP_VALUE ? "a map value" : r->type == REG_PKT ? "the packet" : "memory");
    if (r->type == REG_MAP_VALUE_OR_NULL || r->type == REG_MEM_OR_NULL)
        return reject(env, st, "r%u may be NULL (%s); compare it with 0 before accessing memory through it",
                      regno, reg_type_name(r->type));
    if (kind == ACCESS_ATOMIC && r->type != REG_STACK && r->type != REG_MAP_VALUE && r->type != REG_MEM)
        return reject(env, st, "atomic operations are allowed on the stack and on map values, not on %s (r%u)",
                      reg_type_name(r->type), regno);
    if (kind == ACCESS_ATOMIC) {
        int rc = check_alignment(env, st, regno, r, off, size, reg_type_name(r->type));
        if (rc)
            return rc;
    }
    switch (r->type) {
    case REG_STACK: {
        struct access a;
        int rc = check_stack_bounds(env, st, regno, r, off, size, &a, writes ? "a write" : "a read");
        if (!rc)
            rc = check_alignment(env, st, regno, r, off, size, "the stack");
        if (rc)
            return rc;
        note_stack_depth(env, st, r, a.lo);
        struct reg snapshot = *r;
        if (kind != ACCESS_WRITE && (rc = stack_read(env, st, regno, &snapshot, a, size, sign_extend, &loaded)))
            return rc;
        if (kind == ACCESS_ATOMIC) {
            if (loaded.type != REG_SCALAR)
                return reject(env, st, "atomic operation on a %s pointer saved on the stack", reg_type_name(loaded.type));
            struct reg unknown;
            mark_scalar(&unknown, scalar_of_size(size, false));
            rc = stack_write(env, st, &snapshot, a, size, size == 8 ? &unknown : NULL);
            mark_scalar(&loaded, scalar_of_size(size, false));
        } else if (kind == ACCESS_WRITE) {
            rc = stack_write(env, st, &snapshot, a, size, value);
        }
        if (rc)
            return rc;
        break;
    }
    case REG_CTX: {
        int rc = check_ctx_access(env, st, regno, r, off, size, kind, sign_extend, &loaded);
        if (rc)
            return rc;
        break;
    }
    case REG_PKT:
    case REG_PKT_META: {
        int rc = check_pkt_bounds(env, st, regno, r, off, size);
        if (rc)
            return rc;
        break;
    }
    case REG_MAP_VALUE: {
        char what[96];
        snprintf(what, sizeof(what), "a value of map '%s'", map_name(r->map));
        int rc = check_mem_bounds(env, st, regno, r, off, size, xdpvm_map_get_spec(r->map)->value_size, what);
        if (rc)
            return rc;
        if (writes && map_is_readonly_for_prog(r->map))
            return reject(env, st, "map '%s' is read-only for programs; its values cannot be written",
                          map_name(r->map));
        if (kind == ACCESS_READ)
            read_frozen_constant(r, off, size, sign_extend, &loaded);
        break;
    }
    case REG_MEM:
    case REG_MAP_KEY: {
        int rc = check_mem_bounds(env, st, regno, r, off, size, r->mem_size,
                                  r->type == REG_MEM ? "the ring buffer record" : "the map key");
        if (rc)
            return rc;
        if (writes && r->type == REG_MAP_KEY)
            return reject(env, st, "the key given to a for_each_map_elem callback is read-only");
        break;
    }
    case REG_NOT_INIT:
        return check_read(env, st, regno);
    default:
        return reject(env, st, "r%u holds a %s, not a pointer to memory; it cannot be dereferenced", regno,
                      r->type == REG_SCALAR ? "number (scalar)" : reg_type_name(r->type));
    }
    if (out)
        *out = loaded;
    return 0;
}

/* ---- ALU ---- */

static int pointer_arith(struct env *env, struct vstate *st, struct reg *dst, const struct reg *ptr,
                         const struct scalar *delta, bool subtract, unsigned regno)
{
    switch (ptr->type) {
    case REG_PKT_END:
    case REG_MAP_PTR:
    case REG_MAP_VALUE_OR_NULL:
    case REG_MEM_OR_NULL:
    case REG_FUNC:
        return reject(env, st, "arithmetic on a %s pointer (r%u) is not allowed%s", reg_type_name(ptr->type), regno,
                      ptr->type == REG_MAP_VALUE_OR_NULL || ptr->type == REG_MEM_OR_NULL
                          ? "; check it against NULL first" : "");
    default:
        break;
    }
    struct reg res = *ptr;
    if (scalar_is_const(delta)) {
        int64_t k = (int64_t)delta->var.value;
        if (k < -MAX_PTR_OFF || k > MAX_PTR_OFF)
            return reject(env, st, "adding %" PRId64 " to a %s pointer (r%u) moves it out of any object",
                          subtract ? -k : k, reg_type_name(ptr->type), regno);
        int64_t noff = subtract ? (int64_t)ptr->off - k : (int64_t)ptr->off + k;
        if (noff < -MAX_PTR_OFF || noff > MAX_PTR_OFF)
            return reject(env, st, "the offset of the %s pointer in r%u becomes %" PRId64 ", out of any object",
                          reg_type_name(ptr->type), regno, noff);
        res.off = (int32_t)noff;
    } else {
        if (!var_bounded(delta))
            return reject(env, st, "adding an unbounded number (%" PRId64 "..%" PRId64 ") to a %s pointer (r%u) is "
                          "not allowed; check the number's range first", delta->smin, delta->smax,
                          reg_type_name(ptr->type), regno);
        res.v = scalar_alu(subtract ? XDPVM_ALU_SUB : XDPVM_ALU_ADD, false, ptr->v, *delta, false);
        if (!var_bounded(&res.v))
            return reject(env, st, "the variable offset of the %s pointer in r%u may reach %" PRId64 "..%" PRId64
                          ", out of any object", reg_type_name(ptr->type), regno, res.v.smin, res.v.smax);
        if (res.type == REG_PKT || res.type == REG_PKT_META) {
            res.id = ++env->next_id;
            res.range = 0;
        }
    }
    *dst = res;
    return 0;
}

/* Whether two pointers point into one object, so that their difference is a distance and
 * tells nothing about where the object is. */
static bool same_object(const struct reg *a, const struct reg *b)
{
    if (is_pkt_family(a->type) && is_pkt_family(b->type))
        return true;
    if (a->type != b->type)
        return false;
    switch (a->type) {
    case REG_CTX:
        return true;
    case REG_STACK:
        return a->frameno == b->frameno;
    case REG_MAP_VALUE: /* an array's values are one block; other maps' values are separate objects */
        return a->map == b->map && xdpvm_map_get_spec(a->map)->type == XDPVM_MAP_ARRAY;
    case REG_MEM:
        return a->ref && a->ref == b->ref;
    default:
        return false;
    }
}

static int check_alu(struct env *env, struct vstate *st, const struct xdpvm_decoded *d)
{
    const struct xdpvm_op_info *info = &xdpvm_op_table[d->op];
    struct frame *f = cur_frame(st);
    unsigned op = info->code & 0xf0;
    bool alu32 = XDPVM_CLASS(info->code) == XDPVM_CLASS_ALU;
    bool src_reg = info->shape == XDPVM_SHAPE_ALU_REG || info->shape == XDPVM_SHAPE_MOVSX;
    bool sgn = info->match == XDPVM_MATCH_OFF && info->match_value == 1;
    int rc = check_write(env, st, d->dst);
    if (rc)
        return rc;
    if (src_reg && (rc = check_read(env, st, d->src)))
        return rc;
    struct reg *dst = &f->regs[d->dst];
    struct reg src;
    if (src_reg)
        src = f->regs[d->src];
    else
        mark_scalar(&src, scalar_const(alu32 ? (uint32_t)d->imm : (uint64_t)(int64_t)d->imm));

    if (op == XDPVM_ALU_MOV) {
        /* Like the kernel without CAP_PERFMON: part of an address as a number could be stored
         * in a map or returned, so neither a 32-bit copy nor a sign extension of a pointer. */
        if (src_reg && is_pointer(&src) && (alu32 || info->shape == XDPVM_SHAPE_MOVSX))
            return reject(env, st, "%s of the %s pointer in r%u would turn part of an address into a number; "
                          "copy pointers with 64-bit mov (compute lengths such as data_end - data in 64 bits)",
                          info->shape == XDPVM_SHAPE_MOVSX ? "a sign-extending copy" : "a 32-bit copy",
                          reg_type_name(src.type), d->src);
        if (info->shape == XDPVM_SHAPE_MOVSX) {
            struct scalar v = src.type == REG_SCALAR ? scalar_sext(src.v, (unsigned)d->off, alu32)
                                                     : (alu32 ? scalar_of_size(4, false) : scalar_unknown());
            mark_scalar(dst, v);
        } else if (alu32 && !(src_reg && src.type == REG_SCALAR && src.v.umax <= UINT32_MAX)) {
            mark_scalar(dst, src.type == REG_SCALAR ? scalar_zext32(src.v) : scalar_of_size(4, false));
        } else if (src_reg) {
            /* A 64-bit copy, or a 32-bit one of a number below 2^32: the same value. */
            struct reg *s = &f->regs[d->src];
            if (s->type == REG_SCALAR && !s->id && !scalar_is_const(&s->v))
                s->id = ++env->next_id; /* the two copies now learn from the same branches */
            *dst = *s;
        } else {
            *dst = src;
        }
        return 0;
    }
    if ((rc = check_read(env, st, d->dst)))
        return rc;
    if (op == XDPVM_ALU_NEG || op == XDPVM_ALU_END) {
        if (is_pointer(dst)) /* the number would be the address in disguise */
            return reject(env, st, "%s of the %s pointer in r%u would turn an address into a number that could "
                          "leave the program", op == XDPVM_ALU_NEG ? "negation" : "a byte swap",
                          reg_type_name(dst->type), d->dst);
        struct scalar v = op == XDPVM_ALU_NEG
            ? scalar_alu(XDPVM_ALU_NEG, false, dst->v, dst->v, alu32)
            : scalar_bswap(dst->v, (unsigned)d->imm, !alu32, (info->code & XDPVM_SRC_X) != 0);
        mark_scalar(dst, v);
        return 0;
    }
    if ((op == XDPVM_ALU_DIV || op == XDPVM_ALU_MOD) && !src_reg && d->imm == 0)
        return reject(env, st, "%s by the constant 0 (the kernel refuses it; a register divisor of 0 is allowed)",
                      op == XDPVM_ALU_DIV ? "division" : "modulo");
    unsigned width = alu32 ? 32 : 64;
    if ((op == XDPVM_ALU_LSH || op == XDPVM_ALU_RSH || op == XDPVM_ALU_ARSH) && !src_reg &&
        (d->imm < 0 || (unsigned)d->imm >= width))
        return reject(env, st, "shift by %d is out of range for a %u-bit operation (0..%u)", d->imm, width, width - 1);
    bool dst_ptr = is_pointer(dst), src_ptr = is_pointer(&src);
    if (!dst_ptr && !src_ptr) {
        struct reg before = *dst;
        struct scalar v = scalar_alu(op, sgn, dst->v, src.v, alu32);
        mark_scalar(dst, v);
        if (!src_reg && (op == XDPVM_ALU_ADD || op == XDPVM_ALU_SUB))
            keep_link_after_add(st, dst, &before, op == XDPVM_ALU_ADD ? (int64_t)d->imm : -(int64_t)d->imm, alu32);
        return 0;
    }
    const struct reg *ptr = dst_ptr ? dst : &src;
    /* The low half of an address, or its difference with a number, is an address in disguise
     * (the kernel refuses it without CAP_PERFMON: "32-bit pointer arithmetic prohibited"). */
    if (alu32 && !(dst_ptr && src_ptr && op == XDPVM_ALU_SUB && same_object(dst, &src)))
        return reject(env, st, "32-bit arithmetic on a %s pointer (r%u) is not allowed: its result would hold part "
                      "of an address; use 64-bit operations on pointers (compute data_end - data in 64 bits)",
                      reg_type_name(ptr->type), dst_ptr ? d->dst : d->src);
    if (dst_ptr && src_ptr) {
        if (op != XDPVM_ALU_SUB)
            return reject(env, st, "only subtraction is allowed between two pointers (r%u is %s, r%u is %s)", d->dst,
                          reg_type_name(dst->type), d->src, reg_type_name(src.type));
        if (!same_object(dst, &src))
            return reject(env, st, "r%u (%s pointer) minus r%u (%s pointer): the pointers may be into different "
                          "objects, so the difference would reveal an address; only pointers into the same "
                          "packet, stack frame, array map, context or ring buffer record may be subtracted",
                          d->dst, reg_type_name(dst->type), d->src, reg_type_name(src.type));
        /* A distance, e.g. a length; its low half (w1 -= w2, as clang emits for a __u32 length)
         * is the low half of a distance, not of an address. */
        mark_scalar(dst, alu32 ? scalar_of_size(4, false) : scalar_unknown());
        return 0;
    }
    if (op != XDPVM_ALU_ADD && op != XDPVM_ALU_SUB)
        return reject(env, st, "only addition and subtraction are allowed on pointers; r%u holds a %s pointer",
                      dst_ptr ? d->dst : d->src, reg_type_name(ptr->type));
    if (!dst_ptr && op == XDPVM_ALU_SUB)
        return reject(env, st, "subtracting a pointer (r%u) from a number is not allowed", d->src);
    struct scalar delta = dst_ptr ? src.v : dst->v;
    struct reg ptr_copy = *ptr;
    return pointer_arith(env, st, dst, &ptr_copy, &delta, op == XDPVM_ALU_SUB, dst_ptr ? d->dst : d->src);
}

/* ---- lddw ---- */

static int check_lddw(struct env *env, struct vstate *st, const struct xdpvm_decoded *d)
{
    int rc = check_write(env, st, d->dst);
    if (rc)
        return rc;
    struct reg *dst = &cur_frame(st)->regs[d->dst];
    const struct xdpvm_prog *prog = env->prog;
    switch (d->src) {
    case XDPVM_PSEUDO_NONE:
        mark_scalar(dst, scalar_const(d->imm64));
        return 0;
    case XDPVM_PSEUDO_MAP_FD: {
        struct xdpvm_map *map = xdpvm_prog_map_of_handle(prog, d->imm64);
        if (map) {
            mark_scalar(dst, scalar_const(0));
            dst->type = REG_MAP_PTR;
            dst->map = map;
            return 0;
        }
        return reject(env, st, "the map reference in this lddw is not one of the program's %zu maps", prog->map_count);
    }
    case XDPVM_PSEUDO_MAP_VALUE:
        for (size_t i = 0; i < prog->map_count; i++) {
            void *start;
            size_t len;
            if (!prog->maps[i])
                continue;
            xdpvm_map_storage(prog->maps[i], &start, &len);
            uintptr_t s = (uintptr_t)start;
            if (d->imm64 >= s && d->imm64 < s + len) {
                uint64_t off = d->imm64 - s;
                const struct xdpvm_map_spec *spec = xdpvm_map_get_spec(prog->maps[i]);
                if (spec->type != XDPVM_MAP_ARRAY || spec->max_entries != 1)
                    return reject(env, st, "direct access to the value of map '%s' needs an array map with one "
                                  "entry (global data), like in the kernel", spec->name);
                if (off >= spec->value_size)
                    return reject(env, st, "the address in this lddw is %" PRIu64 " bytes into map '%s', past its "
                                  "%u-byte value", off, spec->name, spec->value_size);
                mark_scalar(dst, scalar_const(0));
                dst->type = REG_MAP_VALUE;
                dst->map = prog->maps[i];
                dst->off = (int32_t)off;
                return 0;
            }
        }
        return reject(env, st, "the map value address in this lddw is not inside any of the program's maps");
    case XDPVM_PSEUDO_FUNC:
        mark_scalar(dst, scalar_const(0));
        dst->type = REG_FUNC;
        dst->subprog = (uint32_t)xdpvm_isa_jump_target(d, st->pc);
        return 0;
    default:
        return reject(env, st, "lddw with pseudo source %u (%s) is not supported; the loader must resolve it", d->src,
                      d->src == XDPVM_PSEUDO_BTF_ID ? "BTF id" : "map index");
    }
}

/* ---- exploration bookkeeping ---- */

static int push_state(struct env *env, struct vstate *st)
{
    if (env->work_len == env->work_cap) {
        size_t cap = env->work_cap ? env->work_cap * 2 : 64;
        struct vstate **w = realloc(env->work, cap * sizeof(*w));
        if (!w)
            return -ENOMEM;
        env->work = w;
        env->work_cap = cap;
    }
    env->work[env->work_len++] = st;
    if (st->parent)
        st->parent->branches++;
    uint64_t live = env->work_len + env->live_stored;
    if (live > env->result->peak_states)
        env->result->peak_states = live;
    return 0;
}

/* A path ended (exit, pruned, impossible): its stored ancestors may now be complete. */
static void end_path(struct env *env, struct vstate *st)
{
    for (struct stored_state *p = st->parent; p; p = p->parent) {
        if (--p->branches)
            break;
    }
    vstate_free(st);
}

static bool states_equal(const struct vstate *a, const struct vstate *b, uint16_t live)
{
    return vstate_includes(a, b, live) && vstate_includes(b, a, live);
}

enum visit { VISIT_CONTINUE, VISIT_PRUNED, VISIT_ERROR };

static void widen_reg(struct reg *cur, const struct reg *prev)
{
    if (cur->type == REG_SCALAR && prev->type == REG_SCALAR && !scalar_contains(&prev->v, &cur->v))
        mark_scalar(cur, scalar_unknown());
}

/* Numbers that changed since the previous iteration of a callback become unknown, so that
 * the iterations reach a state already covered (the kernel gets there by forgetting values
 * it never needed precisely). */
static void widen_callback_state(struct vstate *st)
{
    const struct stored_state *prev = NULL;
    for (const struct stored_state *p = st->parent; p && !prev; p = p->parent)
        if (p->callback_boundary && p->pc == st->pc)
            prev = p;
    if (!prev || prev->state->curframe != st->curframe)
        return;
    for (int i = 0; i <= st->curframe; i++) {
        struct frame *f = st->frames[i];
        const struct frame *pf = prev->state->frames[i];
        for (int r = 0; r < XDPVM_REG_COUNT; r++)
            widen_reg(&f->regs[r], &pf->regs[r]);
        for (unsigned k = 0; k < f->nslots && k < pf->nslots; k++)
            if (f->slots[k].bytes[0] == SLOT_SPILL && pf->slots[k].bytes[0] == SLOT_SPILL)
                widen_reg(&f->slots[k].spill, &pf->slots[k].spill);
    }
}

enum ancestry { NOT_ANCESTOR, ANCESTOR, ANCESTOR_IN_EARLIER_CALLBACK_ITERATION };

static enum ancestry ancestry(const struct stored_state *s, const struct vstate *st)
{
    bool crossed = false;
    for (const struct stored_state *p = st->parent; p; p = p->parent) {
        if (p == s)
            return crossed ? ANCESTOR_IN_EARLIER_CALLBACK_ITERATION : ANCESTOR;
        crossed |= p->callback_boundary;
    }
    return NOT_ANCESTOR;
}

static enum visit visit_prune_point(struct env *env, struct vstate *st)
{
    uint32_t pc = st->pc;
    if (st->callback_resume)
        widen_callback_state(st);
    uint16_t live = env->live[pc];
    uint64_t hash = vstate_hash(st, live);
    for (struct stored_state *s = env->explored[pc]; s; s = s->next) {
        if (s->branches == 0 || st->callback_resume) {
            /* A callback's next iteration may stop at any state a previous iteration covers:
             * the helper bounds the iterations, so only safety is left to show. */
            if (vstate_includes(s->state, st, live))
                return VISIT_PRUNED;
        } else if (s->hash == hash && states_equal(s->state, st, live)) {
            enum ancestry a = ancestry(s, st);
            /* The same state in an earlier iteration of a callback repeats work: the helper
             * bounds the iterations. In the same iteration it is a loop that never ends. */
            if (a == ANCESTOR_IN_EARLIER_CALLBACK_ITERATION)
                return VISIT_PRUNED;
            if (a == ANCESTOR) {
                reject(env, st, "infinite loop: the program comes back to insn %u in the same state, so this loop "
                       "never ends; make the loop condition depend on a value that changes", pc);
                return VISIT_ERROR;
            }
        }
    }
    /* Remembering fewer states only costs exploration time; the cap bounds memory. */
    bool force = st->callback_resume;
    if (!force && (env->jumps - env->last_store_jumps < 2 || env->processed - env->last_store_processed < 8))
        return VISIT_CONTINUE;
    if (env->stored >= MAX_STORED_STATES || env->explored_count[pc] >= MAX_STATES_PER_INSN)
        return VISIT_CONTINUE;
    struct stored_state *s = calloc(1, sizeof(*s));
    struct vstate *copy = s ? vstate_copy(st) : NULL;
    if (!copy) {
        free(s);
        reject(env, st, "out of memory");
        return VISIT_ERROR;
    }
    copy->parent = NULL;
    s->state = copy;
    s->parent = st->parent;
    s->branches = 1;
    s->hash = hash;
    s->callback_boundary = st->callback_resume;
    s->pc = pc;
    env->explored_count[pc]++;
    s->next = env->explored[pc];
    env->explored[pc] = s;
    st->parent = s;
    env->stored++;
    env->live_stored++;
    env->last_store_jumps = env->jumps;
    env->last_store_processed = env->processed;
    return VISIT_CONTINUE;
}

/* ---- branches ---- */

static void mark_null_checked(struct reg *r, void *arg)
{
    const uint32_t *args = arg; /* id, null */
    if ((r->type != REG_MAP_VALUE_OR_NULL && r->type != REG_MEM_OR_NULL) || r->id != args[0])
        return;
    if (args[1]) {
        mark_scalar(r, scalar_const(0));
    } else {
        r->type = r->type == REG_MAP_VALUE_OR_NULL ? REG_MAP_VALUE : REG_MEM;
        r->id = 0;
    }
}

static void drop_ref(struct vstate *st, uint32_t ref)
{
    for (uint32_t i = 0; i < st->nrefs; i++) {
        if (st->refs[i].id == ref) {
            memmove(&st->refs[i], &st->refs[i + 1], (st->nrefs - i - 1) * sizeof(st->refs[0]));
            st->nrefs--;
            return;
        }
    }
}

/* In the branch where `null` holds, every copy of the maybe-NULL pointer becomes 0, in the
 * other a valid pointer. */
static void apply_null_check(struct vstate *st, const struct reg *r, bool null)
{
    uint32_t args[2] = {r->id, null};
    uint32_t ref = r->ref;
    vstate_for_each_reg(st, mark_null_checked, args);
    if (null && ref)
        drop_ref(st, ref); /* nothing was reserved */
}

/* For packet comparisons: in which branch is "pkt' <= limit" (or "<") known. */
static void apply_pkt_range(struct vstate *st, const struct reg *pkt, bool strict)
{
    if (pkt->off < 0 || pkt->v.umax > MAX_PACKET_OFF || (int64_t)pkt->off + (int64_t)pkt->v.umax > MAX_PACKET_OFF)
        return;
    struct range_arg a = {pkt->type, pkt->id, (uint32_t)pkt->off + (strict ? 1 : 0)};
    vstate_for_each_reg(st, widen_range, &a);
}

static bool is_limit_of(const struct reg *limit, const struct reg *pkt)
{
    if (pkt->type == REG_PKT)
        return limit->type == REG_PKT_END;
    if (pkt->type == REG_PKT_META) /* data_meta' is checked against data */
        return limit->type == REG_PKT && limit->off == 0 && scalar_is_const(&limit->v) && limit->v.var.value == 0;
    return false;
}

static bool may_be_null(uint8_t t) { return t == REG_MAP_VALUE_OR_NULL || t == REG_MEM_OR_NULL; }

/* Pointers that may be compared with each other: the same kind of object. */
static int base_kind(uint8_t t)
{
    switch (t) {
    case REG_PKT:
    case REG_PKT_END:
    case REG_PKT_META: return REG_PKT;
    case REG_MAP_VALUE_OR_NULL: return REG_MAP_VALUE;
    case REG_MEM_OR_NULL: return REG_MEM;
    default: return t;
    }
}

static unsigned swap_op(unsigned op)
{
    switch (op) {
    case XDPVM_JMP_JGT: return XDPVM_JMP_JLT;
    case XDPVM_JMP_JLT: return XDPVM_JMP_JGT;
    case XDPVM_JMP_JGE: return XDPVM_JMP_JLE;
    case XDPVM_JMP_JLE: return XDPVM_JMP_JGE;
    case XDPVM_JMP_JSGT: return XDPVM_JMP_JSLT;
    case XDPVM_JMP_JSLT: return XDPVM_JMP_JSGT;
    case XDPVM_JMP_JSGE: return XDPVM_JMP_JSLE;
    case XDPVM_JMP_JSLE: return XDPVM_JMP_JSGE;
    default: return op;
    }
}

static int check_cond_jump(struct env *env, struct vstate *st, const struct xdpvm_decoded *d)
{
    const struct xdpvm_op_info *info = &xdpvm_op_table[d->op];
    bool jmp32 = XDPVM_CLASS(info->code) == XDPVM_CLASS_JMP32;
    bool src_reg = info->shape == XDPVM_SHAPE_JMP_REG;
    unsigned op = info->code & 0xf0;
    int rc = check_read(env, st, d->dst);
    if (!rc && src_reg)
        rc = check_read(env, st, d->src);
    if (rc)
        return rc;
    struct frame *f = cur_frame(st);
    struct reg a = f->regs[d->dst], b;
    if (src_reg)
        b = f->regs[d->src];
    else
        mark_scalar(&b, scalar_const(jmp32 ? (uint32_t)d->imm : (uint64_t)(int64_t)d->imm));
    uint32_t pc = st->pc, target = (uint32_t)xdpvm_isa_jump_target(d, pc), next = pc + 1;

    /* Outcomes: possible[taken], and what each branch learns. */
    bool possible[2] = {true, true};
    struct scalar av[2] = {a.v, a.v}, bv[2] = {b.v, b.v};
    int null_reg = -1;           /* which operand is a maybe-NULL pointer compared with 0 */
    bool null_when_taken = false;
    bool nonnull_only = false, nonnull_when_taken = false; /* compared with a valid pointer */
    const struct reg *pkt = NULL; /* packet pointer compared with its limit */
    bool pkt_good_when_taken = false, pkt_strict = false;

    if (a.type == REG_SCALAR && b.type == REG_SCALAR) {
        for (int t = 0; t < 2; t++)
            possible[t] = scalar_refine(op, t == 1, &av[t], &bv[t], jmp32);
    } else {
        const struct reg *p = is_pointer(&a) ? &a : &b, *o = p == &a ? &b : &a;
        if (jmp32)
            return reject(env, st, "32-bit comparison of a %s pointer is not allowed", reg_type_name(p->type));
        if (is_const_zero(o) && (op == XDPVM_JMP_JEQ || op == XDPVM_JMP_JNE)) {
            if (p->type == REG_MAP_VALUE_OR_NULL || p->type == REG_MEM_OR_NULL) {
                null_reg = p == &a ? d->dst : d->src;
                null_when_taken = op == XDPVM_JMP_JEQ;
            } else {
                possible[op == XDPVM_JMP_JEQ] = false; /* a valid pointer is never NULL */
            }
        } else if (is_pointer(o)) {
            bool a_pkt = is_limit_of(&b, &a), b_pkt = is_limit_of(&a, &b);
            if (a_pkt || b_pkt) {
                /* Normalise to "pkt op limit". */
                pkt = a_pkt ? &a : &b;
                unsigned nop = a_pkt ? op : swap_op(op);
                switch (nop) {
                case XDPVM_JMP_JGT: pkt_good_when_taken = false; pkt_strict = false; break; /* else pkt <= end */
                case XDPVM_JMP_JGE: pkt_good_when_taken = false; pkt_strict = true; break;  /* else pkt < end */
                case XDPVM_JMP_JLT: pkt_good_when_taken = true; pkt_strict = true; break;
                case XDPVM_JMP_JLE: pkt_good_when_taken = true; pkt_strict = false; break;
                default: pkt = NULL; break;
                }
            } else if (base_kind(a.type) != base_kind(b.type)) {
                return reject(env, st, "comparison between a %s pointer (r%u) and a %s pointer (r%u) is not allowed",
                              reg_type_name(a.type), d->dst, reg_type_name(b.type), d->src);
            } else if ((op == XDPVM_JMP_JEQ || op == XDPVM_JMP_JNE) && may_be_null(a.type) != may_be_null(b.type)) {
                /* Equal to a valid pointer: not NULL (the kernel learns the same). */
                null_reg = may_be_null(a.type) ? d->dst : d->src;
                null_when_taken = false;
                nonnull_only = true;
                nonnull_when_taken = op == XDPVM_JMP_JEQ;
            }
        } else {
            return reject(env, st, "comparison of a %s pointer (r%u) with a number is not allowed (except with 0)",
                          reg_type_name(p->type), p == &a ? d->dst : d->src);
        }
    }
    env->jumps++;
    if (!possible[0] && !possible[1])
        return 1; /* no concrete execution gets here */
    bool fork = possible[0] && possible[1];
    struct vstate *other = NULL;
    if (fork) {
        other = vstate_copy(st);
        if (!other)
            return reject(env, st, "out of memory");
    }
    for (int t = 1; t >= 0; t--) {
        if (!possible[t])
            continue;
        struct vstate *s = (fork && t == 1) ? other : st;
        struct frame *sf = cur_frame(s);
        if (a.type == REG_SCALAR && b.type == REG_SCALAR) {
            sf->regs[d->dst].v = av[t];
            propagate_scalar(s, &sf->regs[d->dst]);
            if (src_reg) {
                sf->regs[d->src].v = bv[t];
                propagate_scalar(s, &sf->regs[d->src]);
            }
        }
        if (null_reg >= 0 && !nonnull_only)
            apply_null_check(s, &sf->regs[null_reg], null_when_taken == (t == 1));
        if (null_reg >= 0 && nonnull_only && nonnull_when_taken == (t == 1))
            apply_null_check(s, &sf->regs[null_reg], false);
        if (pkt && pkt_good_when_taken == (t == 1))
            apply_pkt_range(s, pkt, pkt_strict);
        s->pc = t ? target : next;
        if (fork)
            s->path = path_add(env, s->path, pc, t == 1);
    }
    if (fork && push_state(env, other) < 0) {
        vstate_free(other);
        return reject(env, st, "out of memory");
    }
    return 0;
}

/* ---- calls ---- */

static const char *arg_kind(enum xdpvm_arg_type t)
{
    switch (t) {
    case XDPVM_ARG_CONST_MAP_PTR: return "a map";
    case XDPVM_ARG_PTR_TO_MAP_KEY: return "a pointer to the key";
    case XDPVM_ARG_PTR_TO_MAP_VALUE: return "a pointer to the value";
    case XDPVM_ARG_PTR_TO_UNINIT_MAP_VALUE: return "a pointer to room for a value";
    case XDPVM_ARG_PTR_TO_MEM:
    case XDPVM_ARG_PTR_TO_MEM_OR_NULL: return "a pointer to readable memory";
    case XDPVM_ARG_PTR_TO_UNINIT_MEM: return "a pointer to writable memory";
    case XDPVM_ARG_CONST_SIZE:
    case XDPVM_ARG_CONST_SIZE_OR_ZERO: return "a size";
    case XDPVM_ARG_PTR_TO_CTX: return "the context pointer";
    case XDPVM_ARG_PTR_TO_FUNC: return "a callback function";
    case XDPVM_ARG_PTR_TO_STACK_OR_NULL: return "a stack pointer or NULL";
    case XDPVM_ARG_PTR_TO_ALLOC_MEM: return "a ring buffer record";
    case XDPVM_ARG_CONST_ALLOC_SIZE_OR_ZERO: return "a constant size";
    default: return "a value";
    }
}

/* A helper reads (or writes) [ptr, ptr+size): the same checks as a load or store of that
 * many bytes, with size ranging over size_min..size_max. */
static int check_helper_mem(struct env *env, struct vstate *st, unsigned regno, uint64_t size_max, bool write,
                            const char *helper)
{
    struct reg *r = &cur_frame(st)->regs[regno];
    if (size_max == 0)
        return 0;
    if (size_max > MAX_PTR_OFF)
        return reject(env, st, "the memory size passed to %s may be up to %" PRIu64 "; bound it first", helper, size_max);
    unsigned size = (unsigned)size_max;
    switch (r->type) {
    case REG_STACK: {
        struct access a;
        int rc = check_stack_bounds(env, st, regno, r, 0, size, &a, "the helper's access");
        if (rc)
            return rc;
        note_stack_depth(env, st, r, a.lo);
        struct reg snapshot = *r;
        if (write) /* the helper fills the buffer: afterwards its bytes hold data */
            return stack_write(env, st, &snapshot, a, size, NULL);
        return stack_read(env, st, regno, &snapshot, a, size, false, NULL);
    }
    case REG_PKT:
    case REG_PKT_META:
        return check_pkt_bounds(env, st, regno, r, 0, size);
    case REG_MAP_VALUE: {
        char what[96];
        snprintf(what, sizeof(what), "a value of map '%s'", map_name(r->map));
        if (write && map_is_readonly_for_prog(r->map))
            return reject(env, st, "%s would write map '%s', which is read-only for programs", helper, map_name(r->map));
        return check_mem_bounds(env, st, regno, r, 0, size, xdpvm_map_get_spec(r->map)->value_size, what);
    }
    case REG_MEM:
        return check_mem_bounds(env, st, regno, r, 0, size, r->mem_size, "the ring buffer record");
    case REG_MAP_KEY:
        if (write)
            break;
        return check_mem_bounds(env, st, regno, r, 0, size, r->mem_size, "the map key");
    default:
        break;
    }
    return reject(env, st, "%s needs r%u to point to memory (stack, packet, map value), but it holds %s", helper,
                  regno, r->type == REG_SCALAR ? "a number" : reg_type_name(r->type));
}

static void clobber_args(struct frame *f, uint32_t pc)
{
    for (int r = 1; r <= 5; r++) {
        mark_not_init(&f->regs[r]);
        f->regs[r].clobbered_by = pc + 1;
    }
}

struct ref_arg {
    uint32_t ref, insn;
};

static void release_ref_regs(struct reg *r, void *arg)
{
    struct ref_arg *a = arg;
    /* As the kernel's release_reference: every copy of the record, in registers and spilled
     * on the stack, becomes unreadable; a number would still hold its address. */
    if (r->ref == a->ref && (r->type == REG_MEM || r->type == REG_MEM_OR_NULL)) {
        mark_not_init(r);
        r->released_by = a->insn + 1;
    }
}

static int enter_function(struct env *env, struct vstate *st, uint32_t target, bool callback)
{
    if (st->curframe + 1 >= XDPVM_MAX_CALL_DEPTH)
        return reject(env, st, "the call at insn %u would nest %d frames; at most %d are allowed", st->pc,
                      st->curframe + 2, XDPVM_MAX_CALL_DEPTH);
    struct frame *callee = frame_new(st->pc, target, 0);
    if (!callee)
        return reject(env, st, "out of memory");
    callee->callback = callback;
    struct frame *caller = cur_frame(st);
    if (!callback)
        for (int r = 1; r <= 5; r++)
            callee->regs[r] = caller->regs[r];
    callee->regs[XDPVM_REG_FP].type = REG_STACK;
    callee->regs[XDPVM_REG_FP].frameno = (uint8_t)(st->curframe + 1);
    callee->regs[XDPVM_REG_FP].v = scalar_const(0);
    st->frames[++st->curframe] = callee;
    st->pc = target;
    return 0;
}

/* bpf_loop / for_each_map_elem: the callback runs zero or more times. Fork: one path goes
 * on after the helper, the other runs the callback once and comes back here. */
static int call_with_callback(struct env *env, struct vstate *st, const struct xdpvm_helper *h, uint32_t func,
                              struct xdpvm_map *map)
{
    struct frame *f = cur_frame(st);
    struct vstate *body = vstate_copy(st);
    if (!body)
        return reject(env, st, "out of memory");
    body->callback_resume = false;
    struct reg caller_regs[6];
    memcpy(caller_regs, f->regs, sizeof(caller_regs));
    int rc = enter_function(env, body, func, true);
    if (rc) {
        vstate_free(body);
        return rc;
    }
    struct frame *cb = cur_frame(body);
    if (h->id == HELPER_LOOP) {
        mark_scalar(&cb->regs[1], scalar_of_size(4, false));
        cb->regs[2] = caller_regs[3];
    } else {
        const struct xdpvm_map_spec *spec = xdpvm_map_get_spec(map);
        cb->regs[1] = caller_regs[1];
        mark_scalar(&cb->regs[2], scalar_const(0));
        cb->regs[2].type = REG_MAP_KEY;
        cb->regs[2].mem_size = spec->key_size;
        mark_scalar(&cb->regs[3], scalar_const(0));
        cb->regs[3].type = REG_MAP_VALUE;
        cb->regs[3].map = map;
        cb->regs[4] = caller_regs[3];
    }
    body->path = path_add(env, body->path, st->pc, true);
    if (push_state(env, body) < 0) {
        vstate_free(body);
        return reject(env, st, "out of memory");
    }
    st->path = path_add(env, st->path, st->pc, false);
    return 0;
}

static int check_helper_call(struct env *env, struct vstate *st, const struct xdpvm_decoded *d)
{
    const struct xdpvm_prog *prog = env->prog;
    int32_t id = d->imm;
    const struct xdpvm_helper *h = (id >= 0 && id < XDPVM_MAX_HELPER_ID && prog->helpers) ? prog->helpers->by_id[id] : NULL;
    if (!h)
        return reject(env, st, "helper function %d is not available to this program (unknown or not allowed for "
                      "its program type)", id);
    struct frame *f = cur_frame(st);
    struct xdpvm_map *map = NULL;
    int mem_reg = -1;
    bool mem_write = false, mem_or_null = false;
    uint32_t func = UINT32_MAX, release = 0;
    uint64_t alloc_size = 0;
    char hname[80];
    snprintf(hname, sizeof(hname), "helper %s", h->name);
    for (int i = 0; i < 5; i++) {
        enum xdpvm_arg_type t = h->args[i];
        unsigned regno = (unsigned)i + 1;
        struct reg *r = &f->regs[regno];
        if (t == XDPVM_ARG_DONTCARE)
            continue;
        int rc = check_read(env, st, regno);
        if (rc)
            return rc;
        const char *want = arg_kind(t);
        switch (t) {
        case XDPVM_ARG_ANYTHING:
            break;
        case XDPVM_ARG_SCALAR:
            if (r->type != REG_SCALAR)
                return reject(env, st, "%s expects a number in r%u, but it holds a %s pointer", hname, regno,
                              reg_type_name(r->type));
            break;
        case XDPVM_ARG_CONST_MAP_PTR:
            if (r->type != REG_MAP_PTR)
                return reject(env, st, "%s expects a map in r%u (load it with lddw), but it holds %s", hname, regno,
                              reg_type_name(r->type));
            map = r->map;
            if (!xdpvm_helper_map_compatible(h->id, xdpvm_map_get_spec(map)->type))
                return reject(env, st, "%s cannot be used with map '%s' of type %s", hname, map_name(map),
                              xdpvm_map_type_name(xdpvm_map_get_spec(map)->type)
                                  ? xdpvm_map_type_name(xdpvm_map_get_spec(map)->type) : "?");
            break;
        case XDPVM_ARG_PTR_TO_MAP_KEY:
        case XDPVM_ARG_PTR_TO_MAP_VALUE:
        case XDPVM_ARG_PTR_TO_UNINIT_MAP_VALUE: {
            if (!map)
                return reject(env, st, "%s: %s argument comes before its map argument", hname, want);
            const struct xdpvm_map_spec *spec = xdpvm_map_get_spec(map);
            uint32_t size = t == XDPVM_ARG_PTR_TO_MAP_KEY ? spec->key_size : spec->value_size;
            if ((rc = check_helper_mem(env, st, regno, size, t == XDPVM_ARG_PTR_TO_UNINIT_MAP_VALUE, hname)))
                return rc;
            break;
        }
        case XDPVM_ARG_PTR_TO_MEM:
        case XDPVM_ARG_PTR_TO_MEM_OR_NULL:
        case XDPVM_ARG_PTR_TO_UNINIT_MEM:
            mem_reg = (int)regno;
            mem_write = t == XDPVM_ARG_PTR_TO_UNINIT_MEM;
            mem_or_null = t == XDPVM_ARG_PTR_TO_MEM_OR_NULL && is_const_zero(r);
            if (!mem_or_null && !is_pointer(r))
                return reject(env, st, "%s expects %s in r%u, but it holds a number", hname, want, regno);
            break;
        case XDPVM_ARG_CONST_SIZE:
        case XDPVM_ARG_CONST_SIZE_OR_ZERO:
            if (r->type != REG_SCALAR)
                return reject(env, st, "%s expects a size in r%u, but it holds a %s pointer", hname, regno,
                              reg_type_name(r->type));
            if (mem_reg < 0)
                return reject(env, st, "%s: size argument r%u has no memory argument before it", hname, regno);
            if (t == XDPVM_ARG_CONST_SIZE && r->v.umin == 0)
                return reject(env, st, "%s: the size in r%u may be 0, but it must be at least 1", hname, regno);
            if (mem_or_null) {
                if (r->v.umax != 0)
                    return reject(env, st, "%s: r%u is NULL, so the size in r%u must be 0", hname, mem_reg, regno);
            } else if ((rc = check_helper_mem(env, st, (unsigned)mem_reg, r->v.umax, mem_write, hname))) {
                return rc;
            }
            break;
        case XDPVM_ARG_PTR_TO_CTX:
            if (r->type != REG_CTX || r->off || !scalar_is_const(&r->v) || r->v.var.value)
                return reject(env, st, "%s expects the unmodified context pointer in r%u, but it holds %s", hname,
                              regno, r->type == REG_CTX ? "a moved context pointer" : reg_type_name(r->type));
            break;
        case XDPVM_ARG_PTR_TO_FUNC:
            if (r->type != REG_FUNC)
                return reject(env, st, "%s expects a callback function in r%u, but it holds %s", hname, regno,
                              reg_type_name(r->type));
            func = r->subprog;
            break;
        case XDPVM_ARG_PTR_TO_STACK_OR_NULL:
            if (r->type != REG_STACK && !is_const_zero(r))
                return reject(env, st, "%s expects a stack pointer or 0 in r%u, but it holds %s", hname, regno,
                              reg_type_name(r->type));
            break;
        case XDPVM_ARG_PTR_TO_ALLOC_MEM:
            if (r->type != REG_MEM || r->off || !scalar_is_const(&r->v) || r->v.var.value)
                return reject(env, st, "%s expects a ring buffer record from ringbuf_reserve in r%u (unmodified and "
                              "checked against NULL), but it holds %s", hname, regno, reg_type_name(r->type));
            release = r->ref;
            break;
        case XDPVM_ARG_CONST_ALLOC_SIZE_OR_ZERO:
            if (r->type != REG_SCALAR || !scalar_is_const(&r->v))
                return reject(env, st, "%s expects a constant size in r%u", hname, regno);
            alloc_size = r->v.var.value;
            if (alloc_size > MAX_PTR_OFF)
                return reject(env, st, "%s: the size %" PRIu64 " is too large", hname, alloc_size);
            break;
        default:
            return reject(env, st, "%s has an argument kind %d this verifier does not know", hname, (int)t);
        }
    }
    /* Like the kernel: an array lookup with a constant key below max_entries cannot fail. */
    bool array_key_in_range = false;
    if (h->id == HELPER_MAP_LOOKUP && map) {
        const struct xdpvm_map_spec *spec = xdpvm_map_get_spec(map);
        struct reg *key = &f->regs[2];
        if ((spec->type == XDPVM_MAP_ARRAY || spec->type == XDPVM_MAP_PERCPU_ARRAY) && spec->key_size == 4 &&
            key->type == REG_STACK && scalar_is_const(&key->v)) {
            struct reg value, key_copy = *key;
            struct access a = access_range(key, 0, 4);
            if (stack_read(env, st, 2, &key_copy, a, 4, false, &value) == 0 && value.type == REG_SCALAR &&
                scalar_is_const(&value.v) && value.v.var.value < spec->max_entries)
                array_key_in_range = true;
        }
    }
    if (func != UINT32_MAX) {
        if (h->id != HELPER_LOOP && h->id != HELPER_FOR_EACH_MAP_ELEM)
            return reject(env, st, "%s takes a callback, which this verifier supports only for loop and "
                          "for_each_map_elem", hname);
        st->callback_resume = false;
        int rc = call_with_callback(env, st, h, func, map);
        if (rc)
            return rc;
    }
    if (h->id == HELPER_TAIL_CALL && st->nrefs)
        return reject(env, st, "a tail call here would leave the ring buffer record reserved at insn %u neither "
                      "submitted nor discarded; release it first", st->refs[0].insn);
    if (release) {
        struct ref_arg a = {release, st->pc};
        vstate_for_each_reg(st, release_ref_regs, &a);
        drop_ref(st, release);
    }
    if (h->changes_packet)
        vstate_for_each_reg(st, invalidate_pkt, NULL);
    f = cur_frame(st);
    clobber_args(f, st->pc);
    struct reg *r0 = &f->regs[0];
    switch (h->ret) {
    case XDPVM_RET_VOID:
        mark_not_init(r0);
        break;
    case XDPVM_RET_PTR_TO_MAP_VALUE_OR_NULL:
        if (!map)
            return reject(env, st, "%s returns a map value but has no map argument", hname);
        mark_scalar(r0, scalar_const(0));
        r0->type = array_key_in_range ? REG_MAP_VALUE : REG_MAP_VALUE_OR_NULL;
        r0->map = map;
        r0->id = array_key_in_range ? 0 : ++env->next_id;
        break;
    case XDPVM_RET_PTR_TO_ALLOC_MEM_OR_NULL:
        if (st->nrefs >= MAX_REFS)
            return reject(env, st, "more than %d ring buffer records reserved at once", MAX_REFS);
        mark_scalar(r0, scalar_const(0));
        r0->type = REG_MEM_OR_NULL;
        r0->mem_size = (uint32_t)alloc_size;
        r0->id = ++env->next_id;
        r0->ref = ++env->next_id;
        st->refs[st->nrefs].id = r0->ref;
        st->refs[st->nrefs].insn = st->pc;
        st->nrefs++;
        break;
    default:
        mark_scalar(r0, scalar_unknown());
        break;
    }
    st->pc++;
    return 0;
}

static int check_exit(struct env *env, struct vstate *st, bool *path_done)
{
    struct frame *f = cur_frame(st);
    const struct reg *r0 = &f->regs[0];
    *path_done = false;
    if (r0->type == REG_NOT_INIT)
        return reject(env, st, "r0 is not set at exit; set the return value%s first", st->curframe ? "" : " (an XDP action)");
    if (st->curframe == 0) {
        if (r0->type != REG_SCALAR)
            return reject(env, st, "r0 holds a %s pointer at exit; the program must return a number", reg_type_name(r0->type));
        if (st->nrefs)
            return reject(env, st, "the ring buffer record reserved at insn %u is neither submitted nor discarded on "
                          "this path", st->refs[0].insn);
        *path_done = true;
        return 0;
    }
    if (r0->type == REG_STACK && r0->frameno == st->curframe)
        return reject(env, st, "the function returns a pointer to its own stack, which ends with the call");
    struct reg ret = *r0;
    if (f->callback) {
        if (ret.type != REG_SCALAR || ret.v.umax > 1)
            return reject(env, st, "a callback must return 0 or 1, this one may return %s",
                          ret.type == REG_SCALAR ? "other values" : "a pointer");
    }
    uint32_t callsite = f->callsite;
    bool callback = f->callback;
    free(f);
    st->frames[st->curframe--] = NULL;
    f = cur_frame(st);
    if (callback) {
        /* Back to the helper call: it may call the callback again or return. */
        st->pc = callsite;
        st->callback_resume = true;
        return 0;
    }
    f->regs[0] = ret;
    clobber_args(f, callsite);
    st->pc = callsite + 1;
    return 0;
}

/* ---- one instruction ---- */

enum step { STEP_NEXT, STEP_END, STEP_ERROR };

static enum step step(struct env *env, struct vstate *st)
{
    const struct xdpvm_decoded *d = &env->insn[st->pc];
    const struct xdpvm_op_info *info = &xdpvm_op_table[d->op];
    struct frame *f = cur_frame(st);
    int rc = 0;
    switch (info->shape) {
    case XDPVM_SHAPE_ALU_IMM:
    case XDPVM_SHAPE_ALU_REG:
    case XDPVM_SHAPE_NEG:
    case XDPVM_SHAPE_MOVSX:
    case XDPVM_SHAPE_END:
        rc = check_alu(env, st, d);
        st->pc++;
        break;
    case XDPVM_SHAPE_LDDW:
        rc = check_lddw(env, st, d);
        st->pc += 2;
        break;
    case XDPVM_SHAPE_LDX: {
        if ((rc = check_read(env, st, d->src)) || (rc = check_write(env, st, d->dst)))
            break;
        struct reg loaded;
        bool sx = (info->code & 0xe0) == XDPVM_MODE_MEMSX;
        rc = check_mem_access(env, st, d->src, d->off, xdpvm_op_access_size(info), ACCESS_READ, NULL, sx, &loaded);
        if (!rc)
            cur_frame(st)->regs[d->dst] = loaded;
        st->pc++;
        break;
    }
    case XDPVM_SHAPE_ST: {
        if ((rc = check_read(env, st, d->dst)))
            break;
        struct reg imm;
        mark_scalar(&imm, scalar_const((uint64_t)(int64_t)d->imm));
        rc = check_mem_access(env, st, d->dst, d->off, xdpvm_op_access_size(info), ACCESS_WRITE, &imm, false, NULL);
        st->pc++;
        break;
    }
    case XDPVM_SHAPE_STX: {
        if ((rc = check_read(env, st, d->dst)) || (rc = check_read(env, st, d->src)))
            break;
        struct reg value = f->regs[d->src];
        rc = check_mem_access(env, st, d->dst, d->off, xdpvm_op_access_size(info), ACCESS_WRITE, &value, false, NULL);
        st->pc++;
        break;
    }
    case XDPVM_SHAPE_ATOMIC: {
        if ((rc = check_read(env, st, d->dst)) || (rc = check_read(env, st, d->src)))
            break;
        unsigned size = xdpvm_op_access_size(info);
        bool cmpxchg = d->imm == XDPVM_ATOMIC_CMPXCHG, fetch = (d->imm & XDPVM_ATOMIC_FETCH) != 0;
        if (cmpxchg && (rc = check_read(env, st, 0)))
            break;
        if (f->regs[d->src].type != REG_SCALAR || (cmpxchg && f->regs[0].type != REG_SCALAR)) {
            rc = reject(env, st, "atomic operations work on numbers; r%u holds a %s pointer",
                        f->regs[d->src].type != REG_SCALAR ? d->src : 0,
                        reg_type_name(f->regs[d->src].type != REG_SCALAR ? f->regs[d->src].type : f->regs[0].type));
            break;
        }
        struct reg value = f->regs[d->src], loaded;
        rc = check_mem_access(env, st, d->dst, d->off, size, ACCESS_ATOMIC, &value, false, &loaded);
        if (rc)
            break;
        if (cmpxchg)
            mark_scalar(&cur_frame(st)->regs[0], scalar_of_size(size, false));
        else if (fetch) {
            if ((rc = check_write(env, st, d->src)))
                break;
            mark_scalar(&cur_frame(st)->regs[d->src], scalar_of_size(size, false));
        }
        st->pc++;
        break;
    }
    case XDPVM_SHAPE_JA:
    case XDPVM_SHAPE_GOTOL:
        env->jumps++;
        st->pc = (uint32_t)xdpvm_isa_jump_target(d, st->pc);
        break;
    case XDPVM_SHAPE_JMP_IMM:
    case XDPVM_SHAPE_JMP_REG:
        rc = check_cond_jump(env, st, d);
        if (rc == 1)
            return STEP_END;
        break;
    case XDPVM_SHAPE_CALL:
        rc = check_helper_call(env, st, d);
        break;
    case XDPVM_SHAPE_CALL_LOCAL: {
        uint32_t target = (uint32_t)xdpvm_isa_jump_target(d, st->pc);
        for (int i = 0; i <= st->curframe && !rc; i++)
            if (st->frames[i]->subprog == target)
                rc = reject(env, st, "recursive call: the function at insn %u calls itself (directly or through "
                            "others)", target);
        if (!rc)
            rc = enter_function(env, st, target, false);
        break;
    }
    case XDPVM_SHAPE_CALLX:
        rc = reject(env, st, "indirect calls (callx) are not allowed");
        break;
    case XDPVM_SHAPE_EXIT: {
        bool done;
        rc = check_exit(env, st, &done);
        if (!rc && done)
            return STEP_END;
        break;
    }
    }
    return rc ? STEP_ERROR : STEP_NEXT;
}

/* ---- stack limit across calls ---- */

static uint32_t round_depth(uint32_t depth) { return (depth + 15) & ~15u; }

/* Deepest combined stack over every chain of calls starting at function `start`. */
static int max_chain_depth(struct env *env, uint32_t start, unsigned level, uint32_t *out)
{
    if (level > XDPVM_MAX_CALL_DEPTH)
        return -ELOOP;
    uint32_t best = 0;
    for (size_t i = start; i < env->count && env->subprog_of[i] == start; i++) {
        if (!(env->flags[i] & INSN_START))
            continue;
        const struct xdpvm_decoded *d = &env->insn[i];
        enum xdpvm_shape shape = xdpvm_op_table[d->op].shape;
        uint32_t callee = UINT32_MAX;
        if (shape == XDPVM_SHAPE_CALL_LOCAL || (shape == XDPVM_SHAPE_LDDW && d->src == XDPVM_PSEUDO_FUNC))
            callee = (uint32_t)xdpvm_isa_jump_target(d, i);
        if (callee == UINT32_MAX || callee == start)
            continue;
        uint32_t sub;
        int rc = max_chain_depth(env, callee, level + 1, &sub);
        if (rc)
            return rc;
        if (sub > best)
            best = sub;
    }
    *out = round_depth(env->subprog_depth[start]) + best;
    return 0;
}

/* ---- driver ---- */

static void free_env(struct env *env)
{
    for (size_t i = 0; i < env->count && env->explored; i++) {
        for (struct stored_state *s = env->explored[i], *n; s; s = n) {
            n = s->next;
            vstate_free(s->state);
            free(s);
        }
    }
    for (size_t i = 0; i < env->work_len; i++)
        vstate_free(env->work[i]);
    while (env->paths) {
        struct path_block *n = env->paths->next;
        free(env->paths);
        env->paths = n;
    }
    free(env->work);
    free(env->explored);
    free(env->explored_count);
    free(env->live);
    free(env->insn);
    free(env->flags);
    free(env->subprog_of);
    free(env->subprog_depth);
}

static int explore(struct env *env)
{
    struct frame *main_frame = frame_new(UINT32_MAX, 0, 0);
    struct vstate *init = main_frame ? calloc(1, sizeof(*init)) : NULL;
    if (!init) {
        free(main_frame);
        return reject(env, NULL, "out of memory");
    }
    init->frames[0] = main_frame;
    struct reg *r1 = &main_frame->regs[1], *fp = &main_frame->regs[XDPVM_REG_FP];
    r1->type = REG_CTX;
    r1->v = scalar_const(0);
    fp->type = REG_STACK;
    fp->v = scalar_const(0);
    if (push_state(env, init) < 0) {
        vstate_free(init);
        return reject(env, NULL, "out of memory");
    }
    int level = env->opts ? env->opts->log_level : 0;
    while (env->work_len) {
        struct vstate *st = env->work[--env->work_len];
        for (;;) {
            if (++env->processed > MAX_PROCESSED) {
                int rc = reject(env, st, "the program is too complex: more than %u instructions were processed "
                                "on all paths (limit like the kernel's)", MAX_PROCESSED);
                vstate_free(st);
                return rc;
            }
            if (env->flags[st->pc] & INSN_PRUNE || st->callback_resume) {
                enum visit v = visit_prune_point(env, st);
                if (v == VISIT_ERROR) {
                    vstate_free(st);
                    return -EACCES;
                }
                if (v == VISIT_PRUNED) {
                    if (level >= 2)
                        vlog(env, 2, "%u: pruned, a state already proven safe covers this one\n", st->pc);
                    end_path(env, st);
                    break;
                }
            }
            if (level >= 2) {
                char text[128];
                format_insn(env, st->pc, text, sizeof(text));
                vlog(env, 2, "%u: %-32s;", st->pc, text);
                log_regs(env, 2, st);
            }
            enum step s = step(env, st);
            if (s == STEP_ERROR) {
                vstate_free(st);
                return -EACCES;
            }
            if (s == STEP_END) {
                end_path(env, st);
                break;
            }
        }
    }
    return 0;
}

int xdpvm_verify(struct xdpvm_prog *prog, const struct xdpvm_verify_opts *opts, struct xdpvm_verify_result *result)
{
    struct xdpvm_verify_result local;
    if (!result)
        result = &local;
    memset(result, 0, sizeof(*result));
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct env env = {.prog = prog, .opts = opts, .result = result, .count = prog ? prog->count : 0};
    int rc;
    if (!prog || !prog->insns || !prog->count) {
        rc = reject(&env, NULL, "the program has no instructions");
        goto done;
    }
    if (prog->count > MAX_PROCESSED) {
        rc = reject(&env, NULL, "the program has %zu instructions; at most %u are allowed (like the kernel)",
                    prog->count, MAX_PROCESSED);
        goto done;
    }
    size_t n = prog->count;
    env.insn = calloc(n, sizeof(*env.insn));
    env.flags = calloc(n, sizeof(*env.flags));
    env.subprog_of = calloc(n, sizeof(*env.subprog_of));
    env.subprog_depth = calloc(n, sizeof(*env.subprog_depth));
    env.explored = calloc(n, sizeof(*env.explored));
    env.explored_count = calloc(n, sizeof(*env.explored_count));
    env.live = calloc(n, sizeof(*env.live));
    if (!env.insn || !env.flags || !env.subprog_of || !env.subprog_depth || !env.explored || !env.explored_count ||
        !env.live) {
        rc = reject(&env, NULL, "out of memory");
        goto done;
    }
    rc = check_structure(&env);
    if (!rc && compute_liveness(&env))
        rc = reject(&env, NULL, "out of memory");
    if (!rc)
        rc = explore(&env);
    if (!rc) {
        uint32_t depth = 0;
        int drc = max_chain_depth(&env, 0, 0, &depth);
        if (drc)
            rc = reject(&env, NULL, "the calls between functions nest deeper than %d frames", XDPVM_MAX_CALL_DEPTH);
        else if (depth > XDPVM_STACK_SIZE)
            rc = reject(&env, NULL, "the stacks of a chain of calls add up to %u bytes; the limit for all frames "
                        "together is %d", depth, XDPVM_STACK_SIZE);
    }
done:
    clock_gettime(CLOCK_MONOTONIC, &t1);
    result->accepted = rc == 0;
    result->insns_processed = env.processed;
    result->states = env.stored;
    result->seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    if (rc == 0) {
        prog->verified = true;
        prog->stack_depth = (env.subprog_depth[0] + 7) & ~7u;
        vlog(&env, 1, "accepted\n");
    } else if (prog) {
        prog->verified = false;
    }
    vlog(&env, 1, "processed %" PRIu64 " insns, %" PRIu64 " states stored, peak %" PRIu64 " states, %.3f ms\n",
         result->insns_processed, result->states, result->peak_states, result->seconds * 1e3);
    free_env(&env);
    return rc == 0 ? 0 : -EACCES;
}
