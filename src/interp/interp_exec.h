/* The executor body, compiled twice by interp_exec.c: EXEC_CHECKED 1 (unverified programs:
 * memory, register-initialisation and budget checks) and 0 (verified programs: none).
 * Define EXEC_CHECKED, EXEC_NAME, EXEC_OTHER (the other variant) and EXEC_VARIANT first.
 *
 * One label per row of XDPVM_OPCODES: the label table below is that expansion, and the
 * compiler refuses a row without a handler (undefined label) or a handler without a row
 * (unused label). Families of rows get their handlers from the same family macros isa.h
 * builds the table from. */

int EXEC_NAME(struct interp_state *st, const struct xdpvm_prog *prog, size_t start_pc,
              const uint64_t args[5], uint64_t *r0_out, const void *const **labels_out)
{
    static const void *const labels[INTERP_LABEL_COUNT] = {
        [XDPVM_OP_INVALID] = &&op_INVALID,
#define LABEL_ROW(NAME, ...) [XDPVM_OP_##NAME] = &&op_##NAME,
        XDPVM_OPCODES(LABEL_ROW)
#undef LABEL_ROW
#if !EXEC_CHECKED
#define FUSED_LABEL(A, B) [INTERP_FUSED_INDEX(FUSE_FIRST_##A, FUSE_SECOND_##B)] = &&op_F_##A##_##B,
#define FUSED_LABELS_OF(Y, A) INTERP_FUSE_SECOND(FUSED_LABEL, A)
        INTERP_FUSE_FIRST(FUSED_LABELS_OF, _)
#undef FUSED_LABELS_OF
#undef FUSED_LABEL
        [INTERP_LABEL_ARRAY_LOOKUP] = &&op_CALL_ARRAY_LOOKUP,
        [INTERP_LABEL_BOUNDS_CHECK] = &&op_BOUNDS_CHECK,
        [INTERP_LABEL_BOUNDS_CHECK_CONST] = &&op_BOUNDS_CHECK_CONST,
        [INTERP_LABEL_LOAD16_LE] = &&op_LOAD16_LE,
        [INTERP_LABEL_LOAD16_BE] = &&op_LOAD16_BE,
#endif
    };
    if (labels_out) {
        *labels_out = labels;
        return 0;
    }

    struct xdpvm_run *run = st->run;
    unsigned depth = st->depth;
    uint32_t init = st->entry_init;
    const struct interp_cache *cache = prog->interp_cache;
    const struct xdpvm_helper_table *helpers = prog->helpers;
    const struct interp_op *base = cache->ops[EXEC_VARIANT];
    const struct interp_op *ip = base + start_pc;
    const unsigned entry_depth = depth;
    struct frame {
        const struct interp_op *ret;
        const struct xdpvm_prog *prog;
        uint64_t callee_saved[4]; /* r6..r9 */
        uint32_t init;
    } frames[XDPVM_MAX_CALL_DEPTH];
#if EXEC_CHECKED
    uint64_t reg[XDPVM_REG_COUNT] = {0};
#else /* a verified program reads no register before writing it */
    uint64_t reg[XDPVM_REG_COUNT];
#endif
    const struct xdpvm_prog *next;
    const struct xdpvm_helper *helper;
    int rc;
#if EXEC_CHECKED
    const uint32_t *masks = cache->reg_masks;
    uint64_t addr;
    uint32_t bad;
#else
    (void)init;
    unsigned fwd_reg = XDPVM_REG_COUNT;
    uint64_t fwd_val = 0;
#endif
    /* One 8-byte load per argument: the caller has just stored them one by one, and a wider
     * (vectorised) load spanning two of those stores cannot be forwarded from them: it would
     * wait for the stores to retire, most of an empty program's run. */
#define COPY_ARG(i)                                                                               \
    do {                                                                                          \
        uint64_t arg_ = args[i];                                                                  \
        __asm__("" : "+r"(arg_));                                                                 \
        reg[1 + (i)] = arg_;                                                                      \
    } while (0)
    COPY_ARG(0);
    COPY_ARG(1);
    COPY_ARG(2);
    COPY_ARG(3);
    COPY_ARG(4);
#undef COPY_ARG
    reg[XDPVM_REG_FP] = interp_frame_top(st, depth);
    st->depth = depth;

#define PC ((size_t)(ip - base))
#define FAIL(err, fmt, ...)                                                                       \
    do {                                                                                          \
        xdpvm_run_fail(run, PC, err, "instruction %zu: " fmt, PC, ##__VA_ARGS__);                 \
        return run->error;                                                                        \
    } while (0)
#if EXEC_CHECKED
#define DISPATCH()                                                                                \
    do {                                                                                          \
        if (__builtin_expect(st->budget_left-- == 0, 0))                                          \
            goto budget_exhausted;                                                                \
        uint32_t mask_ = masks[PC];                                                               \
        if (__builtin_expect((REG_MASK_READS(mask_) & ~init) != 0, 0))                            \
            goto uninitialised_read;                                                              \
        init |= REG_MASK_WRITES(mask_);                                                           \
        goto *ip->label;                                                                          \
    } while (0)
#define CHECK_MEM(a, size, write, atomic)                                                         \
    do {                                                                                          \
        addr = (a);                                                                               \
        if (__builtin_expect(!interp_access_ok(st, cache, addr, size, write) ||                  \
                                 ((atomic) && (addr & ((size) - 1))), 0)) {                       \
            interp_access_fail(st, cache, PC, addr, size, write, atomic);                        \
            return run->error;                                                                    \
        }                                                                                         \
    } while (0)
/* A new frame reads as zeros, not as what an earlier frame or the C stack left there. */
#define ZERO_FRAME() memset((void *)(uintptr_t)(reg[XDPVM_REG_FP] - XDPVM_STACK_SIZE), 0, XDPVM_STACK_SIZE)
#else
#define ZERO_FRAME() ((void)0)
#define DISPATCH() goto *ip->label
#define CHECK_MEM(a, size, write, atomic) ((void)0)
#endif
#define NEXT()                                                                                    \
    do {                                                                                          \
        ip++;                                                                                     \
        DISPATCH();                                                                               \
    } while (0)
/* Register reads and writes. The unchecked executor also keeps the register written last
 * (fwd_reg, or XDPVM_REG_COUNT for none) in a host register (fwd_val): an instruction that
 * reads what the previous one wrote, the usual case in compiled code, gets the value without
 * a store-to-load round trip through reg[] (several cycles on every link of a dependency
 * chain). reg[] is always written too, so other reads and the helpers see every value. */
#if EXEC_CHECKED
#define RD(i) reg[i]
#define SET(i, v) (reg[i] = (v))
#define SET_CONST(i, v) (reg[i] = (v))
#define FWD_FORGET() ((void)0)
#else
#define RD(i) ((i) == fwd_reg ? fwd_val : reg[i])
#define SET(i, v)                                                                                 \
    do {                                                                                          \
        uint64_t set_v_ = (v);                                                                    \
        fwd_reg = (i);                                                                            \
        reg[fwd_reg] = set_v_;                                                                    \
        fwd_val = set_v_;                                                                         \
    } while (0)
/* A constant is no link of a dependency chain (its store executes at once): it leaves the
 * forwarded register in place, so `w0 = 1; if w5 != 0xffff goto` still gets w5 forwarded. */
#define SET_CONST(i, v)                                                                           \
    do {                                                                                          \
        uint64_t set_v_ = (v);                                                                    \
        unsigned set_i_ = (i);                                                                    \
        reg[set_i_] = set_v_;                                                                     \
        if (set_i_ == fwd_reg)                                                                    \
            fwd_val = set_v_;                                                                     \
    } while (0)
#define FWD_FORGET() (fwd_reg = XDPVM_REG_COUNT)
#endif
#define DST RD(ip->dst)
#define SRC RD(ip->src)
#define SET_DST(v) SET(ip->dst, v)
#define IMM64 ((uint64_t)(int64_t)ip->imm)
#define IMM32 ((uint64_t)(uint32_t)ip->imm)
#define MEM_ADDR(r) (RD(r) + (uint64_t)(int64_t)ip->off)
#define PTR(a) ((void *)(uintptr_t)(a))

    ZERO_FRAME();
    DISPATCH();

    /* ALU: add sub mul or and lsh rsh xor arsh, 64 and 32 bits, immediate and register. */
#define ALU_HANDLERS(X, NAME, OP, MN, COP)                                                        \
    op_##NAME##64_IMM : SET_DST(xdpvm_alu64_##NAME(DST, IMM64));                                  \
    NEXT();                                                                                       \
    op_##NAME##64_REG : SET_DST(xdpvm_alu64_##NAME(DST, SRC));                                    \
    NEXT();                                                                                       \
    op_##NAME##32_IMM : SET_DST(xdpvm_alu32_##NAME((uint32_t)DST, (uint32_t)ip->imm));            \
    NEXT();                                                                                       \
    op_##NAME##32_REG : SET_DST(xdpvm_alu32_##NAME((uint32_t)DST, (uint32_t)SRC));                \
    NEXT();
    XDPVM_ALU_BINARY_OPS(ALU_HANDLERS, _)
#undef ALU_HANDLERS

    /* Division and modulo: the ISA's results for a zero divisor and for INT_MIN / -1. */
#define DIV_HANDLERS(NAME, FN64, FN32)                                                            \
    op_##NAME##64_IMM : SET_DST(FN64(DST, IMM64));                                                   \
    NEXT();                                                                                       \
    op_##NAME##64_REG : SET_DST(FN64(DST, SRC));                                                     \
    NEXT();                                                                                       \
    op_##NAME##32_IMM : SET_DST(FN32(DST, IMM32));                                                   \
    NEXT();                                                                                       \
    op_##NAME##32_REG : SET_DST(FN32(DST, SRC));                                                     \
    NEXT();
    DIV_HANDLERS(DIV, xdpvm_udiv64, xdpvm_udiv32)
    DIV_HANDLERS(SDIV, xdpvm_sdiv64, xdpvm_sdiv32)
    DIV_HANDLERS(MOD, xdpvm_umod64, xdpvm_umod32)
    DIV_HANDLERS(SMOD, xdpvm_smod64, xdpvm_smod32)
#undef DIV_HANDLERS

op_NEG64:
    SET_DST(0 - DST);
    NEXT();
op_NEG32:
    SET_DST((uint32_t)(0u - (uint32_t)DST));
    NEXT();
op_MOV64_IMM:
    SET_CONST(ip->dst, IMM64);
    NEXT();
op_MOV64_REG:
    SET_DST(SRC);
    NEXT();
op_MOV32_IMM:
    SET_CONST(ip->dst, IMM32);
    NEXT();
op_MOV32_REG:
    SET_DST((uint32_t)SRC);
    NEXT();
op_MOVSX8_64:
    SET_DST((uint64_t)(int64_t)(int8_t)SRC);
    NEXT();
op_MOVSX16_64:
    SET_DST((uint64_t)(int64_t)(int16_t)SRC);
    NEXT();
op_MOVSX32_64:
    SET_DST((uint64_t)(int64_t)(int32_t)SRC);
    NEXT();
op_MOVSX8_32:
    SET_DST((uint32_t)(int32_t)(int8_t)SRC);
    NEXT();
op_MOVSX16_32:
    SET_DST((uint32_t)(int32_t)(int16_t)SRC);
    NEXT();

    /* Byte order: the host is little-endian (checked in interp_exec.c), so "le" truncates
     * and "be" and the unconditional bswap swap. */
op_LE16:
    SET_DST((uint16_t)DST);
    NEXT();
op_LE32:
    SET_DST((uint32_t)DST);
    NEXT();
op_LE64:
    NEXT();
op_BE16:
op_BSWAP16:
    SET_DST(__builtin_bswap16((uint16_t)DST));
    NEXT();
op_BE32:
op_BSWAP32:
    SET_DST(__builtin_bswap32((uint32_t)DST));
    NEXT();
op_BE64:
op_BSWAP64:
    SET_DST(__builtin_bswap64(DST));
    NEXT();

    /* Jumps: ip moves by off (imm for gotol) relative to the next instruction. */
op_JA:
    ip += ip->off;
    NEXT();
op_GOTOL:
    ip += ip->imm;
    NEXT();
#define JMP_HANDLERS(X, NAME, OP, MN, COP, VER)                                                   \
    op_##NAME##_IMM : if (cmp_##NAME(DST, IMM64, (int64_t)DST, (int64_t)IMM64)) ip += ip->off;    \
    NEXT();                                                                                       \
    op_##NAME##_REG : if (cmp_##NAME(DST, SRC, (int64_t)DST, (int64_t)SRC)) ip += ip->off;        \
    NEXT();                                                                                       \
    op_##NAME##32_IMM : if (cmp_##NAME((uint32_t)DST, (uint32_t)ip->imm, (int32_t)DST, ip->imm))  \
        ip += ip->off;                                                                            \
    NEXT();                                                                                       \
    op_##NAME##32_REG : if (cmp_##NAME((uint32_t)DST, (uint32_t)SRC, (int32_t)DST, (int32_t)SRC)) \
        ip += ip->off;                                                                            \
    NEXT();
    XDPVM_JMP_COND_OPS(JMP_HANDLERS, _)
#undef JMP_HANDLERS

    /* Memory: zero-extending loads, stores of imm and of a register. */
#define MEM_HANDLERS(X, NAME, SZ, SFX, BYTES)                                                     \
    op_LDX##NAME : {                                                                              \
        mem_##NAME##_t v_;                                                                        \
        CHECK_MEM(MEM_ADDR(ip->src), BYTES, false, false);                                        \
        memcpy(&v_, PTR(MEM_ADDR(ip->src)), BYTES);                                               \
        SET_DST(v_);                                                                                 \
    }                                                                                             \
    NEXT();                                                                                       \
    op_ST##NAME : {                                                                               \
        mem_##NAME##_t v_ = (mem_##NAME##_t)IMM64;                                                \
        CHECK_MEM(MEM_ADDR(ip->dst), BYTES, true, false);                                         \
        memcpy(PTR(MEM_ADDR(ip->dst)), &v_, BYTES);                                               \
    }                                                                                             \
    NEXT();                                                                                       \
    op_STX##NAME : {                                                                              \
        mem_##NAME##_t v_ = (mem_##NAME##_t)SRC;                                                  \
        CHECK_MEM(MEM_ADDR(ip->dst), BYTES, true, false);                                         \
        memcpy(PTR(MEM_ADDR(ip->dst)), &v_, BYTES);                                               \
    }                                                                                             \
    NEXT();
    XDPVM_SIZES(MEM_HANDLERS, _)
#undef MEM_HANDLERS

    /* Sign-extending loads (v4). */
#define LDXS_HANDLER(NAME, T)                                                                     \
    op_LDXS##NAME : {                                                                             \
        T v_;                                                                                     \
        CHECK_MEM(MEM_ADDR(ip->src), sizeof(T), false, false);                                    \
        memcpy(&v_, PTR(MEM_ADDR(ip->src)), sizeof(T));                                           \
        SET_DST((uint64_t)(int64_t)v_);                                                              \
    }                                                                                             \
    NEXT();
    LDXS_HANDLER(B, int8_t)
    LDXS_HANDLER(H, int16_t)
    LDXS_HANDLER(W, int32_t)
#undef LDXS_HANDLER

    /* Atomics: out-of-line __atomic operations (interp_exec.c) so workers sharing a map
     * value stay consistent. 32-bit results loaded into a register are zero-extended. */
#define ATOMIC_HANDLER(NAME, W, T)                                                                \
    op_ATOMIC##W##_##NAME : {                                                                     \
        CHECK_MEM(MEM_ADDR(ip->dst), sizeof(T), true, true);                                      \
        T *ap_ = (T *)PTR(MEM_ADDR(ip->dst));                                                     \
        atomic_##NAME(W, ap_);                                                                    \
    }                                                                                             \
    NEXT();
#define ATOMIC_HANDLERS(X, NAME, OP, MN, COP) ATOMIC_HANDLER(NAME, 32, uint32_t) ATOMIC_HANDLER(NAME, 64, uint64_t)
#define atomic_ADD(W, p) interp_atomic##W##_FETCH_ADD(p, SRC)
#define atomic_OR(W, p) interp_atomic##W##_FETCH_OR(p, SRC)
#define atomic_AND(W, p) interp_atomic##W##_FETCH_AND(p, SRC)
#define atomic_XOR(W, p) interp_atomic##W##_FETCH_XOR(p, SRC)
#define atomic_FETCH_ADD(W, p) SET(ip->src, interp_atomic##W##_FETCH_ADD(p, SRC))
#define atomic_FETCH_OR(W, p) SET(ip->src, interp_atomic##W##_FETCH_OR(p, SRC))
#define atomic_FETCH_AND(W, p) SET(ip->src, interp_atomic##W##_FETCH_AND(p, SRC))
#define atomic_FETCH_XOR(W, p) SET(ip->src, interp_atomic##W##_FETCH_XOR(p, SRC))
#define atomic_XCHG(W, p) SET(ip->src, interp_atomic##W##_XCHG(p, SRC))
#define atomic_CMPXCHG(W, p) SET(0, interp_atomic##W##_CMPXCHG(p, reg[0], SRC))
    XDPVM_ATOMIC_OPS(ATOMIC_HANDLERS, _)
#undef ATOMIC_HANDLERS
#undef ATOMIC_HANDLER

op_LDDW:
    SET_CONST(ip->dst, (uint32_t)ip[0].imm | ((uint64_t)(uint32_t)ip[1].imm << 32));
    ip += 2;
    DISPATCH();

    /* Calls. */
op_CALL:
    helper = helpers->by_id[ip->imm]; /* present: checked at load */
    goto call_helper;
op_CALLX:
    if (DST >= XDPVM_MAX_HELPER_ID || !helpers || !helpers->by_id[DST])
        FAIL(-EINVAL, "callx: r%u = %" PRIu64 " is not the id of a helper available to this program",
             ip->dst, DST);
    helper = helpers->by_id[DST];
call_helper:
    if (__builtin_expect(!st->hooks_installed, 0))
        interp_install_run_hooks(st);
    st->depth = depth;
    run->error_pc = PC; /* helpers report errors with run->error_pc */
#if EXEC_CHECKED
    if (__builtin_expect(!interp_helper_args_ok(st, cache, prog, helper, reg, init, PC), 0))
        return run->error;
#endif
    SET(0, helper->fn(reg[1], reg[2], reg[3], reg[4], reg[5], run));
#if EXEC_CHECKED
    init = (init & ~REG_ARGS_MASK) | REG_BIT(0); /* r1..r5 are clobbered by a call */
    if (__builtin_expect(!interp_track_records(st, helper, reg[1], reg[0], PC), 0))
        return run->error;
#endif
    if (__builtin_expect(!run->stop && !run->next_prog, 1))
        NEXT();
    if (run->stop) {
        if (run->error)
            return run->error;
        *r0_out = run->stop_value;
        return 0;
    }
    /* A tail call: the target replaces the program of the current frame, starting with
     * r1 = ctx on the same stack frame; its exit returns to this frame's caller. */
    next = run->next_prog;
    run->next_prog = NULL;
    run->prog = next;
    if (next->exec && next->exec != xdpvm_interp_run) {
        rc = next->exec(run, &reg[0]);
        if (rc)
            return rc;
        if (run->stop) {
            *r0_out = run->stop_value;
            return 0;
        }
        goto frame_exit;
    }
    if (!interp_cache_get(run, next))
        return run->error;
    if (next->verified == EXEC_CHECKED) {
        /* The other variant runs it (verified-ness differs), in this same frame. */
        const uint64_t ctx_args[5] = {(uint64_t)(uintptr_t)run->ctx};
        st->depth = depth;
        st->entry_init = REG_BIT(1) | REG_BIT(XDPVM_REG_FP);
        rc = EXEC_OTHER(st, next, 0, ctx_args, &reg[0], NULL);
        if (rc)
            return rc;
        if (run->stop) {
            *r0_out = run->stop_value;
            return 0;
        }
        goto frame_exit;
    }
    prog = next;
    cache = prog->interp_cache;
    helpers = prog->helpers;
    base = ip = cache->ops[EXEC_VARIANT];
#if EXEC_CHECKED
    masks = cache->reg_masks;
    init = REG_BIT(1) | REG_BIT(XDPVM_REG_FP);
#endif
    SET(1, (uint64_t)(uintptr_t)run->ctx);
    DISPATCH();

#if !EXEC_CHECKED
    /* bpf_map_lookup_elem of an array map known at load time (interp.c): what the helper
     * returns, without the call. */
op_CALL_ARRAY_LOOKUP: {
    const struct xdpvm_map_array_layout *l = &cache->lookups[ip->imm];
    uint32_t index;
    memcpy(&index, PTR(reg[2]), sizeof(index));
    if (index >= l->max_entries) {
        SET(0, 0);
    } else if (!l->cpu_stride) { /* plain array: every cpu shares the value */
        SET(0, (uint64_t)(uintptr_t)(l->base + index * l->index_stride));
    } else {
        unsigned cpu = run->cpu;
        SET(0, cpu < l->ncpus ? (uint64_t)(uintptr_t)(l->base + index * l->index_stride +
                                                            cpu * l->cpu_stride)
                                    : 0);
    }
}
    NEXT();
#endif

op_CALL_LOCAL:
    if (depth + 1 >= XDPVM_MAX_CALL_DEPTH)
        FAIL(-E2BIG, "call local: the call stack would exceed %d frames", XDPVM_MAX_CALL_DEPTH);
    {
        struct frame *f = &frames[depth - entry_depth];
        f->ret = ip + 1;
        f->prog = prog;
        memcpy(f->callee_saved, &reg[6], sizeof(f->callee_saved));
        f->init = init;
    }
    depth++;
    st->depth = depth;
    SET(XDPVM_REG_FP, interp_frame_top(st, depth));
    ZERO_FRAME();
#if EXEC_CHECKED
    init = (init & REG_ARGS_MASK) | REG_BIT(XDPVM_REG_FP); /* the callee sees r1..r5 and r10 */
#endif
    ip += ip->imm;
    NEXT();

op_EXIT:
frame_exit:
    if (depth == entry_depth) {
        *r0_out = reg[0];
        return 0;
    }
    depth--;
    st->depth = depth;
    {
        const struct frame *f = &frames[depth - entry_depth];
        memcpy(&reg[6], f->callee_saved, sizeof(f->callee_saved));
        reg[XDPVM_REG_FP] = interp_frame_top(st, depth);
        FWD_FORGET();
#if EXEC_CHECKED
        init = (f->init & ~(REG_ARGS_MASK | REG_BIT(0))) | REG_BIT(0);
#endif
        if (f->prog != prog) { /* a tail call replaced the callee's program */
            prog = f->prog;
            run->prog = prog;
            cache = prog->interp_cache;
            helpers = prog->helpers;
            base = cache->ops[EXEC_VARIANT];
#if EXEC_CHECKED
            masks = cache->reg_masks;
#endif
        }
        ip = f->ret;
    }
    DISPATCH();

#if !EXEC_CHECKED
    /* Superinstructions (interp_private.h). FA_x: the value row x writes to its dst; FB_x:
     * row x's whole effect. Both read registers through RD, so the second instruction gets
     * the first's result from fwd_val. */
#define FA_LDX(T, o)                                                                              \
    ({                                                                                            \
        T v_;                                                                                     \
        memcpy(&v_, PTR(RD((o)->src) + (uint64_t)(int64_t)(o)->off), sizeof(v_));              \
        (uint64_t)v_;                                                                             \
    })
#define FA_LDXB(o) FA_LDX(uint8_t, o)
#define FA_LDXH(o) FA_LDX(uint16_t, o)
#define FA_LDXW(o) FA_LDX(uint32_t, o)
#define FA_LDXDW(o) FA_LDX(uint64_t, o)
#define FA_MOV64_REG(o) RD((o)->src)
#define FA_MOV32_REG(o) (uint64_t)(uint32_t)RD((o)->src)
#define FA_MOV64_IMM(o) (uint64_t)(int64_t)(o)->imm
#define FA_MOV32_IMM(o) (uint64_t)(uint32_t)(o)->imm
#define FA_ALU64_IMM(N, o) xdpvm_alu64_##N(RD((o)->dst), (uint64_t)(int64_t)(o)->imm)
#define FA_ALU32_IMM(N, o) xdpvm_alu32_##N((uint32_t)RD((o)->dst), (uint32_t)(o)->imm)
#define FA_ALU32_REG(N, o) xdpvm_alu32_##N((uint32_t)RD((o)->dst), (uint32_t)RD((o)->src))
#define FA_ALU64_REG(N, o) xdpvm_alu64_##N(RD((o)->dst), RD((o)->src))
#define FA_ADD64_IMM(o) FA_ALU64_IMM(ADD, o)
#define FA_ADD32_REG(o) FA_ALU32_REG(ADD, o)
#define FA_OR32_REG(o) FA_ALU32_REG(OR, o)
#define FA_OR64_REG(o) FA_ALU64_REG(OR, o)
#define FA_LSH32_IMM(o) FA_ALU32_IMM(LSH, o)
#define FA_LSH64_IMM(o) FA_ALU64_IMM(LSH, o)
#define FA_RSH32_IMM(o) FA_ALU32_IMM(RSH, o)
#define FA_RSH64_IMM(o) FA_ALU64_IMM(RSH, o)
#define FA_AND32_IMM(o) FA_ALU32_IMM(AND, o)
#define FA_XOR32_REG(o) FA_ALU32_REG(XOR, o)
#define FA_ADD64_REG(o) FA_ALU64_REG(ADD, o)
#define FA_SUB64_REG(o) FA_ALU64_REG(SUB, o)
    /* a store as the first instruction writes no register */
#define FA_STX_FIRST(T, o)                                                                        \
    do {                                                                                          \
        T v_ = (T)RD((o)->src);                                                                  \
        memcpy(PTR(RD((o)->dst) + (uint64_t)(int64_t)(o)->off), &v_, sizeof(v_));              \
    } while (0)
#define FIRST_STORE(T)                                                                            \
    FA_STX_FIRST(T, ip);
#define FIRST_STXB FIRST_STORE(uint8_t)
#define FIRST_STXH FIRST_STORE(uint16_t)
#define FIRST_STXW FIRST_STORE(uint32_t)
#define FIRST_STXDW FIRST_STORE(uint64_t)
#define FIRST_VALUE(A) SET(ip->dst, FA_##A(ip));
#define FIRST_CONST(A) SET_CONST(ip->dst, FA_##A(ip));
    /* a conditional jump as the first: taken, the second is not run */
#define FIRST_BRANCH(TAKEN)                                                                       \
    if (TAKEN) {                                                                                  \
        ip += ip->off + 1;                                                                        \
        DISPATCH();                                                                               \
    }
#define FIRST_JGT_REG FIRST_BRANCH(RD(ip->dst) > RD(ip->src))
#define FIRST_JEQ_IMM FIRST_BRANCH(RD(ip->dst) == (uint64_t)(int64_t)ip->imm)
#define FIRST_JNE_IMM FIRST_BRANCH(RD(ip->dst) != (uint64_t)(int64_t)ip->imm)
#define FIRST_JEQ32_IMM FIRST_BRANCH((uint32_t)RD(ip->dst) == (uint32_t)ip->imm)
#define FIRST_JNE32_IMM FIRST_BRANCH((uint32_t)RD(ip->dst) != (uint32_t)ip->imm)
#define FIRST_JLT32_IMM FIRST_BRANCH((uint32_t)RD(ip->dst) < (uint32_t)ip->imm)
#define FIRST_LDXB FIRST_VALUE(LDXB)
#define FIRST_LDXH FIRST_VALUE(LDXH)
#define FIRST_LDXW FIRST_VALUE(LDXW)
#define FIRST_LDXDW FIRST_VALUE(LDXDW)
#define FIRST_MOV64_REG FIRST_VALUE(MOV64_REG)
#define FIRST_MOV32_REG FIRST_VALUE(MOV32_REG)
#define FIRST_MOV64_IMM FIRST_CONST(MOV64_IMM)
#define FIRST_MOV32_IMM FIRST_CONST(MOV32_IMM)
#define FIRST_ADD64_IMM FIRST_VALUE(ADD64_IMM)
#define FIRST_ADD32_REG FIRST_VALUE(ADD32_REG)
#define FIRST_OR32_REG FIRST_VALUE(OR32_REG)
#define FIRST_OR64_REG FIRST_VALUE(OR64_REG)
#define FIRST_LSH32_IMM FIRST_VALUE(LSH32_IMM)
#define FIRST_LSH64_IMM FIRST_VALUE(LSH64_IMM)
#define FIRST_RSH32_IMM FIRST_VALUE(RSH32_IMM)
#define FIRST_RSH64_IMM FIRST_VALUE(RSH64_IMM)
#define FIRST_AND32_IMM FIRST_VALUE(AND32_IMM)
#define FIRST_XOR32_REG FIRST_VALUE(XOR32_REG)
#define FIRST_ADD64_REG FIRST_VALUE(ADD64_REG)
#define FIRST_SUB64_REG FIRST_VALUE(SUB64_REG)
    /* second instructions, reading through RD; o is ip (jumps move it) */
#define FB_LDX(T, o)                                                                              \
    do {                                                                                          \
        T v_;                                                                                     \
        memcpy(&v_, PTR(RD((o)->src) + (uint64_t)(int64_t)(o)->off), sizeof(v_));               \
        SET((o)->dst, v_);                                                                        \
    } while (0)
#define FB_STX(T, o)                                                                              \
    do {                                                                                          \
        T v_ = (T)RD((o)->src);                                                                   \
        memcpy(PTR(RD((o)->dst) + (uint64_t)(int64_t)(o)->off), &v_, sizeof(v_));               \
    } while (0)
#define FB_ALU64_IMM(N, o) SET((o)->dst, xdpvm_alu64_##N(RD((o)->dst), (uint64_t)(int64_t)(o)->imm))
#define FB_ALU32_IMM(N, o) SET((o)->dst, xdpvm_alu32_##N((uint32_t)RD((o)->dst), (uint32_t)(o)->imm))
#define FB_ALU64_REG(N, o) SET((o)->dst, xdpvm_alu64_##N(RD((o)->dst), RD((o)->src)))
#define FB_ALU32_REG(N, o) SET((o)->dst, xdpvm_alu32_##N((uint32_t)RD((o)->dst), (uint32_t)RD((o)->src)))
#define FB_JMP_REG(N, o)                                                                          \
    do {                                                                                          \
        uint64_t a_ = RD((o)->dst), b_ = RD((o)->src);                                            \
        if (cmp_##N(a_, b_, (int64_t)a_, (int64_t)b_))                                            \
            ip += (o)->off;                                                                       \
    } while (0)
#define FB_JMP_IMM(N, o)                                                                          \
    do {                                                                                          \
        uint64_t a_ = RD((o)->dst), k_ = (uint64_t)(int64_t)(o)->imm;                             \
        if (cmp_##N(a_, k_, (int64_t)a_, (int64_t)k_))                                            \
            ip += (o)->off;                                                                       \
    } while (0)
#define FB_JMP32_IMM(N, o)                                                                        \
    do {                                                                                          \
        uint32_t a_ = (uint32_t)RD((o)->dst);                                                     \
        if (cmp_##N(a_, (uint32_t)(o)->imm, (int32_t)a_, (o)->imm))                               \
            ip += (o)->off;                                                                       \
    } while (0)
#define FB_LDXB(o) FB_LDX(uint8_t, o)
#define FB_LDXH(o) FB_LDX(uint16_t, o)
#define FB_LDXW(o) FB_LDX(uint32_t, o)
#define FB_LDXDW(o) FB_LDX(uint64_t, o)
#define FB_STXB(o) FB_STX(uint8_t, o)
#define FB_STXH(o) FB_STX(uint16_t, o)
#define FB_STXW(o) FB_STX(uint32_t, o)
#define FB_STXDW(o) FB_STX(uint64_t, o)
#define FB_MOV64_REG(o) SET((o)->dst, RD((o)->src))
#define FB_MOV32_REG(o) SET((o)->dst, (uint32_t)RD((o)->src))
#define FB_MOV32_IMM(o) SET_CONST((o)->dst, (uint32_t)(o)->imm)
#define FB_ADD64_IMM(o) FB_ALU64_IMM(ADD, o)
#define FB_ADD32_REG(o) FB_ALU32_REG(ADD, o)
#define FB_OR32_REG(o) FB_ALU32_REG(OR, o)
#define FB_OR64_REG(o) FB_ALU64_REG(OR, o)
#define FB_LSH32_IMM(o) FB_ALU32_IMM(LSH, o)
#define FB_LSH64_IMM(o) FB_ALU64_IMM(LSH, o)
#define FB_RSH32_IMM(o) FB_ALU32_IMM(RSH, o)
#define FB_RSH64_IMM(o) FB_ALU64_IMM(RSH, o)
#define FB_AND32_IMM(o) FB_ALU32_IMM(AND, o)
#define FB_XOR32_REG(o) FB_ALU32_REG(XOR, o)
#define FB_ADD64_REG(o) FB_ALU64_REG(ADD, o)
#define FB_SUB64_REG(o) FB_ALU64_REG(SUB, o)
#define FB_JGT_REG(o) FB_JMP_REG(JGT, o)
#define FB_JLT_REG(o) FB_JMP_REG(JLT, o)
#define FB_JEQ_IMM(o) FB_JMP_IMM(JEQ, o)
#define FB_JNE_IMM(o) FB_JMP_IMM(JNE, o)
#define FB_JEQ32_IMM(o) FB_JMP32_IMM(JEQ, o)
#define FB_JNE32_IMM(o) FB_JMP32_IMM(JNE, o)
#define FB_JLT32_IMM(o) FB_JMP32_IMM(JLT, o)
#define FUSED_HANDLER(A, B)                                                                       \
    op_F_##A##_##B : {                                                                            \
        FIRST_##A                                                                                 \
        ip++;                                                                                     \
        FB_##B(ip);                                                                               \
    }                                                                                             \
    NEXT();
#define FUSED_HANDLERS_OF(Y, A) INTERP_FUSE_SECOND(FUSED_HANDLER, A)
    INTERP_FUSE_FIRST(FUSED_HANDLERS_OF, _)
#undef FUSED_HANDLERS_OF
#undef FUSED_HANDLER

    /* Idioms (interp_private.h): each instruction's effect in order, the operands read from
     * its own slot; interp.c checked the shapes (and that rA is not rP). */
op_BOUNDS_CHECK : {
    uint64_t end_ = RD(ip->src) + (uint64_t)(int64_t)ip[1].imm;
    SET(ip->dst, end_);
    if (end_ > RD(ip[2].src)) {
        ip += 3 + ip[2].off;
        DISPATCH();
    }
    ip += 3;
    DISPATCH();
}
op_BOUNDS_CHECK_CONST : {
    uint64_t end_ = RD(ip->src) + (uint64_t)(int64_t)ip[1].imm;
    SET(ip->dst, end_);
    SET_CONST(ip[2].dst, (uint64_t)(uint32_t)ip[2].imm); /* mov32, or mov64 of imm >= 0 */
    if (RD(ip[3].dst) > RD(ip[3].src)) {
        ip += 4 + ip[3].off;
        DISPATCH();
    }
    ip += 4;
    DISPATCH();
}
op_LOAD16_LE : {
    uint16_t v_;
    memcpy(&v_, PTR(RD(ip->src) + (uint64_t)(int64_t)ip->off), sizeof(v_));
    SET(ip->dst, (uint8_t)v_);
    SET(ip[1].dst, v_);
    ip += 4;
    DISPATCH();
}
op_LOAD16_BE : {
    uint16_t v_;
    memcpy(&v_, PTR(RD(ip->src) + (uint64_t)(int64_t)ip[1].off), sizeof(v_));
    SET(ip->dst, (uint8_t)(v_ >> 8));
    SET(ip[1].dst, __builtin_bswap16(v_));
    ip += 4;
    DISPATCH();
}
#endif

op_INVALID:
    FAIL(-EINVAL, "the second half of an lddw was executed as an instruction");

#if EXEC_CHECKED
budget_exhausted:
    st->budget_left = 0;
    FAIL(-ELOOP, "the instruction budget (%" PRIu64 " instructions) is exhausted: the program "
                 "loops too long or forever",
         run->insn_budget ? run->insn_budget : (uint64_t)XDPVM_DEFAULT_INSN_BUDGET);
uninitialised_read:
    bad = (uint32_t)__builtin_ctz(REG_MASK_READS(masks[PC]) & ~init);
    FAIL(-EINVAL, "%s reads r%u, which holds no value here (%s)",
         xdpvm_op_table[op_of(ip->label, labels)].mnemonic, bad,
         bad >= 1 && bad <= 5 ? "never written, or clobbered by a call" : "never written");
#endif

#undef PC
#undef FAIL
#undef DISPATCH
#undef CHECK_MEM
#undef ZERO_FRAME
#undef NEXT
#undef DST
#undef RD
#undef SET
#undef SET_DST
#undef SET_CONST
#undef FWD_FORGET
#undef SRC
#undef IMM64
#undef IMM32
#undef MEM_ADDR
#undef PTR
#undef atomic_ADD
#undef atomic_OR
#undef atomic_AND
#undef atomic_XOR
#undef atomic_FETCH_ADD
#undef atomic_FETCH_OR
#undef atomic_FETCH_AND
#undef atomic_FETCH_XOR
#undef atomic_XCHG
#undef atomic_CMPXCHG
}
