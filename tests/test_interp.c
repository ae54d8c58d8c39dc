/* Interpreter unit tests: arithmetic edge cases, the checked executor's run-time checks,
 * calls (helpers, bpf-to-bpf, callbacks, tail calls, stop) and the load-time checks.
 * Programs are built from raw instructions through the opcode table. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/helpers.h"
#include "interp/interp.h"
#include "maps/maps.h"
#include "lib/testlib.h"

/* One instruction of operation op; the table's distinguishing field (off for sdiv, imm for
 * byte swaps and atomics, src for local calls) is filled in from the row. */
static struct xdpvm_insn ins(enum xdpvm_op op, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
    const struct xdpvm_op_info *row = &xdpvm_op_table[op];
    struct xdpvm_insn in = {.code = row->code, .dst = dst, .src = src, .off = off, .imm = imm};
    if (row->match == XDPVM_MATCH_OFF)
        in.off = (int16_t)row->match_value;
    else if (row->match == XDPVM_MATCH_IMM)
        in.imm = row->match_value;
    else if (row->match == XDPVM_MATCH_SRC)
        in.src = (uint8_t)row->match_value;
    return in;
}
#define EXIT ins(XDPVM_OP_EXIT, 0, 0, 0, 0)
#define MOV(d, imm) ins(XDPVM_OP_MOV64_IMM, d, 0, 0, imm)
#define MOVR(d, s) ins(XDPVM_OP_MOV64_REG, d, s, 0, 0)
#define CALL(id) ins(XDPVM_OP_CALL, 0, 0, 0, id)
#define CALL_LOCAL(rel) ins(XDPVM_OP_CALL_LOCAL, 0, 0, 0, rel)
#define N(a) (sizeof(a) / sizeof((a)[0]))

struct case_result {
    int rc;
    uint64_t r0;
    struct xdpvm_run run;
    char load_error[256];
};

static struct xdpvm_helper_table test_helpers;

static void run_case(const struct xdpvm_insn *insns, size_t n, bool verified, const uint64_t *args,
                     void *ctx, size_t ctx_len, uint64_t budget, struct case_result *res)
{
    struct xdpvm_prog prog = {.insns = (struct xdpvm_insn *)insns, .count = n,
                              .helpers = &test_helpers, .verified = verified,
                              .exec = xdpvm_interp_run};
    snprintf(prog.name, sizeof(prog.name), "test");
    memset(res, 0, sizeof(*res));
    res->rc = xdpvm_interp_prepare(&prog, res->load_error, sizeof(res->load_error));
    if (res->rc)
        return;
    res->run.prog = &prog;
    res->run.ctx = ctx;
    res->run.insn_budget = budget;
    if (ctx)
        xdpvm_run_add_region(&res->run, ctx, ctx_len, true, "context");
    res->rc = args ? xdpvm_interp_run_args(&res->run, args, &res->r0)
                   : xdpvm_interp_run(&res->run, &res->r0);
    res->run.prog = NULL;
    xdpvm_interp_release(&prog);
}

static void expect_r0(const char *name, const struct xdpvm_insn *insns, size_t n, uint64_t want)
{
    for (int verified = 0; verified < 2; verified++) {
        char full[128];
        snprintf(full, sizeof(full), "%s/%s", name, verified ? "unchecked" : "checked");
        struct case_result res;
        run_case(insns, n, verified, NULL, NULL, 0, 0, &res);
        if (res.rc)
            test_fail(full, "failed: %s%s", res.load_error, res.run.error_message);
        else
            test_check(res.r0 == want, full, "r0 = 0x%" PRIx64 ", want 0x%" PRIx64, res.r0, want);
    }
}

/* The run (checked) fails and its message contains each of the words. */
static void expect_run_error(const char *name, const struct xdpvm_insn *insns, size_t n, void *ctx,
                             size_t ctx_len, uint64_t budget, int want_rc, size_t want_pc,
                             const char *word1, const char *word2)
{
    struct case_result res;
    run_case(insns, n, false, NULL, ctx, ctx_len, budget, &res);
    if (res.load_error[0]) {
        test_fail(name, "refused at load instead: %s", res.load_error);
        return;
    }
    const char *msg = res.run.error_message;
    test_check(res.rc == want_rc && res.run.error_pc == want_pc && strstr(msg, word1) &&
                   (!word2 || strstr(msg, word2)),
               name, "rc %d (want %d), pc %zu (want %zu), message \"%s\" (want \"%s\"%s%s)", res.rc,
               want_rc, res.run.error_pc, want_pc, msg, word1, word2 ? ", " : "", word2 ? word2 : "");
}

static void expect_load_error(const char *name, const struct xdpvm_insn *insns, size_t n,
                              const char *word)
{
    struct case_result res;
    run_case(insns, n, false, NULL, NULL, 0, 0, &res);
    test_check(res.rc == -EINVAL && strstr(res.load_error, word), name,
               "rc %d, load error \"%s\", want one containing \"%s\"", res.rc, res.load_error, word);
}

static void test_arithmetic(void)
{
    const struct xdpvm_insn div0[] = {MOV(0, 7), MOV(1, 0), ins(XDPVM_OP_DIV64_REG, 0, 1, 0, 0), EXIT};
    expect_r0("div64 by zero gives 0", div0, N(div0), 0);
    const struct xdpvm_insn mod0[] = {MOV(0, -7), MOV(1, 0), ins(XDPVM_OP_MOD64_REG, 0, 1, 0, 0), EXIT};
    expect_r0("mod64 by zero leaves dst", mod0, N(mod0), (uint64_t)-7);
    const struct xdpvm_insn mod32_0[] = {MOV(0, -7), ins(XDPVM_OP_MOD32_IMM, 0, 0, 0, 0), EXIT};
    expect_r0("mod32 by zero zeroes the upper half", mod32_0, N(mod32_0), 0xfffffff9);
    const struct xdpvm_insn div32_0[] = {MOV(0, -7), ins(XDPVM_OP_DIV32_IMM, 0, 0, 0, 0), EXIT};
    expect_r0("div32 by zero gives 0", div32_0, N(div32_0), 0);
    const struct xdpvm_insn sdiv_min[] = {
        ins(XDPVM_OP_LDDW, 0, 0, 0, 0), ins(XDPVM_OP_INVALID, 0, 0, 0, INT32_MIN),
        ins(XDPVM_OP_SDIV64_IMM, 0, 0, 0, -1), EXIT};
    expect_r0("sdiv64 INT64_MIN / -1 = INT64_MIN", sdiv_min, N(sdiv_min), 0x8000000000000000ull);
    const struct xdpvm_insn smod_min[] = {
        ins(XDPVM_OP_LDDW, 0, 0, 0, 0), ins(XDPVM_OP_INVALID, 0, 0, 0, INT32_MIN),
        ins(XDPVM_OP_SMOD64_IMM, 0, 0, 0, -1), EXIT};
    expect_r0("smod64 INT64_MIN % -1 = 0", smod_min, N(smod_min), 0);
    const struct xdpvm_insn sdiv32_min[] = {ins(XDPVM_OP_MOV32_IMM, 0, 0, 0, INT32_MIN),
                                            ins(XDPVM_OP_SDIV32_IMM, 0, 0, 0, -1), EXIT};
    expect_r0("sdiv32 INT32_MIN / -1 = INT32_MIN", sdiv32_min, N(sdiv32_min), 0x80000000u);
    const struct xdpvm_insn smod_neg[] = {MOV(0, -7), ins(XDPVM_OP_SMOD64_IMM, 0, 0, 0, 3), EXIT};
    expect_r0("smod64 keeps the dividend's sign", smod_neg, N(smod_neg), (uint64_t)-1);
    const struct xdpvm_insn lsh[] = {MOV(0, 1), MOV(1, 65), ins(XDPVM_OP_LSH64_REG, 0, 1, 0, 0), EXIT};
    expect_r0("lsh64 masks the count to 6 bits", lsh, N(lsh), 2);
    const struct xdpvm_insn lsh32[] = {MOV(0, 1), ins(XDPVM_OP_LSH32_IMM, 0, 0, 0, 33), EXIT};
    expect_r0("lsh32 masks the count to 5 bits", lsh32, N(lsh32), 2);
    const struct xdpvm_insn arsh32[] = {ins(XDPVM_OP_MOV32_IMM, 0, 0, 0, INT32_MIN),
                                        ins(XDPVM_OP_ARSH32_IMM, 0, 0, 0, 36), EXIT};
    expect_r0("arsh32 sign-fills and zero-extends", arsh32, N(arsh32), 0xf8000000u);
    const struct xdpvm_insn atomic[] = {
        ins(XDPVM_OP_STDW, 10, 0, -8, 5), MOV(1, 3),
        ins(XDPVM_OP_ATOMIC64_FETCH_ADD, 10, 1, -8, 0), ins(XDPVM_OP_LDXDW, 0, 10, -8, 0),
        ins(XDPVM_OP_LSH64_IMM, 0, 0, 0, 8), ins(XDPVM_OP_OR64_REG, 0, 1, 0, 0), EXIT};
    expect_r0("atomic fetch add on the stack", atomic, N(atomic), 0x805);
}

static void test_memory_checks(void)
{
    uint8_t ctx[16] = {1, 2, 3, 4};
    const struct xdpvm_insn stack_oob[] = {ins(XDPVM_OP_STB, 10, 0, 0, 0), EXIT};
    expect_run_error("stack store at r10 is out of bounds", stack_oob, N(stack_oob), NULL, 0, 0,
                     -EFAULT, 0, "instruction 0: store of 1 bytes", "stack");
    const struct xdpvm_insn stack_under[] = {ins(XDPVM_OP_LDXDW, 0, 10, -520, 0), EXIT};
    expect_run_error("stack load below the frame", stack_under, N(stack_under), NULL, 0, 0, -EFAULT,
                     0, "load of 8 bytes", "stack");
    const struct xdpvm_insn ctx_ok[] = {ins(XDPVM_OP_LDXW, 0, 1, 12, 0), ins(XDPVM_OP_LDXB, 0, 1, 0, 0), EXIT};
    struct case_result res;
    run_case(ctx_ok, N(ctx_ok), false, NULL, ctx, sizeof(ctx), 0, &res);
    test_check(res.rc == 0 && res.r0 == 1, "context load inside the region", "rc %d r0 %" PRIu64 " %s",
               res.rc, res.r0, res.run.error_message);
    const struct xdpvm_insn ctx_oob[] = {ins(XDPVM_OP_LDXW, 0, 1, 14, 0), EXIT};
    expect_run_error("context load past its end", ctx_oob, N(ctx_oob), ctx, sizeof(ctx), 0, -EFAULT, 0,
                     "load of 4 bytes", "nearest is context");
    const struct xdpvm_insn null_deref[] = {MOV(1, 0), ins(XDPVM_OP_LDXB, 0, 1, 0, 0), EXIT};
    expect_run_error("null pointer dereference", null_deref, N(null_deref), NULL, 0, 0, -EFAULT, 1,
                     "instruction 1", "null pointer");
    const struct xdpvm_insn wrap[] = {MOV(6, -1), ins(XDPVM_OP_STB, 6, 0, 0, 0), EXIT};
    expect_run_error("address just below 0 (null minus 1)", wrap, N(wrap), NULL, 0, 0, -EFAULT, 1,
                     "store of 1 bytes", "null pointer");
    const struct xdpvm_insn misaligned[] = {MOV(1, 1), ins(XDPVM_OP_ATOMIC64_ADD, 10, 1, -12, 0), EXIT};
    expect_run_error("misaligned atomic", misaligned, N(misaligned), NULL, 0, 0, -EFAULT, 1,
                     "misaligned", NULL);

    /* A read-only region: loads pass, stores fail naming it. */
    const struct xdpvm_insn ro_store[] = {ins(XDPVM_OP_STB, 1, 0, 0, 9), EXIT};
    struct xdpvm_prog prog = {.insns = (struct xdpvm_insn *)ro_store, .count = N(ro_store),
                              .helpers = &test_helpers};
    struct xdpvm_run run = {.prog = &prog, .ctx = ctx};
    xdpvm_run_add_region(&run, ctx, sizeof(ctx), false, "packet");
    /* Checked mode: a callee's new frame reads as zeros, whatever the caller's frame holds. */
    const struct xdpvm_insn fresh[] = {ins(XDPVM_OP_STDW, 10, 0, -8, 5), CALL_LOCAL(1), EXIT,
                                       ins(XDPVM_OP_LDXDW, 0, 10, -8, 0), EXIT};
    run_case(fresh, N(fresh), false, NULL, NULL, 0, 0, &res);
    test_check(res.rc == 0 && res.r0 == 0, "a new frame reads as zeros (checked)", "rc %d r0 %" PRIu64 ": %s",
               res.rc, res.r0, res.run.error_message);
    uint64_t r0;
    int rc = xdpvm_interp_run(&run, &r0);
    test_check(rc == -EACCES && strstr(run.error_message, "only read") && strstr(run.error_message, "packet"),
               "store into a read-only region", "rc %d: %s", rc, run.error_message);
    xdpvm_interp_release(&prog);
}

static void test_register_init(void)
{
    const struct xdpvm_insn uninit[] = {ins(XDPVM_OP_OR64_REG, 0, 10, 0, 0), EXIT};
    expect_run_error("read of a register never written", uninit, N(uninit), NULL, 0, 0, -EINVAL, 0,
                     "reads r0", "no value");
    const struct xdpvm_insn after_call[] = {MOV(1, 1), CALL(2), MOVR(0, 1), EXIT};
    expect_run_error("r1 is clobbered by a helper call", after_call, N(after_call), NULL, 0, 0,
                     -EINVAL, 2, "reads r1", "clobbered");
    const struct xdpvm_insn exit_r0[] = {MOV(1, 1), EXIT};
    expect_run_error("exit without r0", exit_r0, N(exit_r0), NULL, 0, 0, -EINVAL, 1, "exit reads r0", NULL);
}

static void test_budget_and_depth(void)
{
    const struct xdpvm_insn loop[] = {MOV(0, 0), ins(XDPVM_OP_ADD64_IMM, 0, 0, 0, 1),
                                      ins(XDPVM_OP_JA, 0, 0, -2, 0), EXIT};
    struct case_result res;
    run_case(loop, N(loop), false, NULL, NULL, 0, 1000, &res);
    test_check(res.rc == -ELOOP && strstr(res.run.error_message, "budget") &&
                   res.run.insns_executed == 1000,
               "infinite loop stops at the instruction budget", "rc %d executed %" PRIu64 ": %s",
               res.rc, res.run.insns_executed, res.run.error_message);

    /* main calls itself: the 8th frame is the last. */
    const struct xdpvm_insn recurse[] = {CALL_LOCAL(-1), EXIT};
    for (int verified = 0; verified < 2; verified++) {
        run_case(recurse, N(recurse), verified, NULL, NULL, 0, 0, &res);
        test_check(res.rc == -E2BIG && res.run.error_pc == 0 && strstr(res.run.error_message, "8 frames"),
                   verified ? "call depth beyond 8 frames/unchecked" : "call depth beyond 8 frames/checked",
                   "rc %d: %s%s", res.rc, res.load_error, res.run.error_message);
    }
    /* 7 nested calls (8 frames) are allowed; each frame has its own stack and r6..r9. */
    struct xdpvm_insn chain[64];
    size_t n = 0;
    chain[n++] = MOV(6, 100);
    chain[n++] = ins(XDPVM_OP_STDW, 10, 0, -8, 1);
    chain[n++] = MOV(0, 0);
    chain[n++] = CALL_LOCAL(4); /* 3 -> f1 at 8 */
    chain[n++] = ins(XDPVM_OP_LDXDW, 1, 10, -8, 0);
    chain[n++] = ins(XDPVM_OP_ADD64_REG, 0, 6, 0, 0);
    chain[n++] = ins(XDPVM_OP_ADD64_REG, 0, 1, 0, 0);
    chain[n++] = EXIT;
    for (int f = 1; f <= 7; f++) { /* f_k (5 instructions): r6 = k, own stack, call f_k+1 */
        chain[n++] = MOV(6, f);
        chain[n++] = ins(XDPVM_OP_STDW, 10, 0, -8, 1000);
        chain[n++] = f < 7 ? CALL_LOCAL(2) : MOV(0, 0);
        chain[n++] = ins(XDPVM_OP_ADD64_IMM, 0, 0, 0, 1);
        chain[n++] = EXIT;
    }
    expect_r0("8 frames: own stack and callee-saved registers", chain, n, 7 + 100 + 1);
}

/* Fake helpers. */
static unsigned entries;
static uint64_t helper_noop(uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e, struct xdpvm_run *run)
{
    return 0;
}
static uint64_t helper_count_entry(uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e,
                                   struct xdpvm_run *run)
{
    entries++;
    return 0;
}
/* bpf_tail_call into the running program, refusing beyond the kernel's 33 like the helper. */
static uint64_t helper_tail_call_self(uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e,
                                      struct xdpvm_run *run)
{
    if (run->tail_call_count >= XDPVM_MAX_TAIL_CALLS)
        return (uint64_t)-ENOENT;
    run->tail_call_count++;
    run->next_prog = run->prog;
    return 0;
}
static uint64_t helper_stop_if_zero(uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e,
                                    struct xdpvm_run *run)
{
    if (a == 0) {
        run->stop = true;
        run->stop_value = 42;
    }
    return a;
}
static uint64_t helper_fail(uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e, struct xdpvm_run *run)
{
    xdpvm_run_fail(run, run->error_pc, -EPERM, "helper refused");
    return 0;
}
/* bpf_loop-like: calls the callback r2 for i = 0..r1-1 with (i, r3), sums the results. */
static uint64_t helper_loop(uint64_t count, uint64_t callback, uint64_t ctx, uint64_t d, uint64_t e,
                            struct xdpvm_run *run)
{
    uint64_t sum = 0;
    for (uint64_t i = 0; i < count && !run->stop; i++)
        sum += run->call_subprog(run, callback, i, ctx, 0, 0, 0);
    return sum;
}

static const struct xdpvm_helper helper_defs[] = {
    {.id = 2, .name = "noop", .fn = helper_noop},
    {.id = 12, .name = "tail_call", .fn = helper_tail_call_self},
    {.id = 20, .name = "count_entry", .fn = helper_count_entry},
    {.id = 21, .name = "stop_if_zero", .fn = helper_stop_if_zero},
    {.id = 22, .name = "fail", .fn = helper_fail},
    {.id = 23, .name = "loop", .fn = helper_loop},
};

static void test_calls(void)
{
    const struct xdpvm_insn tail[] = {CALL(20), CALL(12), MOV(0, 7), EXIT};
    for (int verified = 0; verified < 2; verified++) {
        entries = 0;
        struct case_result res;
        run_case(tail, N(tail), verified, NULL, NULL, 0, 0, &res);
        test_check(res.rc == 0 && res.r0 == 7 && entries == 34 && res.run.tail_call_count == 33,
                   verified ? "tail call chain stops at 33/unchecked" : "tail call chain stops at 33/checked",
                   "rc %d r0 %" PRIu64 " entries %u tail calls %u: %s", res.rc, res.r0, entries,
                   res.run.tail_call_count, res.run.error_message);
    }

    /* A helper stopping the program from inside a subprogram: r0 = stop value at once. */
    const struct xdpvm_insn stop[] = {MOV(0, 1), CALL_LOCAL(1), EXIT, MOV(1, 0), CALL(21), MOV(0, 5), EXIT};
    expect_r0("helper stop unwinds every frame", stop, N(stop), 42);
    const struct xdpvm_insn nostop[] = {MOV(1, 3), CALL(21), EXIT};
    expect_r0("helper not stopping returns normally", nostop, N(nostop), 3);

    const struct xdpvm_insn fail[] = {MOV(0, 1), CALL(22), EXIT};
    expect_run_error("helper failure names the call", fail, N(fail), NULL, 0, 0, -EPERM, 1,
                     "helper refused", NULL);

    /* Callback through run->call_subprog: sum of 2*i for i < 4 = 12, plus r6 kept. */
    const struct xdpvm_insn loop[] = {
        MOV(6, 100), MOV(1, 4), ins(XDPVM_OP_LDDW, 2, XDPVM_PSEUDO_FUNC, 0, 5),
        ins(XDPVM_OP_INVALID, 0, 0, 0, 0), MOV(3, 0), CALL(23), ins(XDPVM_OP_ADD64_REG, 0, 6, 0, 0),
        EXIT,
        /* callback at 8 (= 2 + 5 + 1) */
        MOVR(0, 1), ins(XDPVM_OP_LSH64_IMM, 0, 0, 0, 1), MOV(6, 1), EXIT};
    expect_r0("callback via call_subprog", loop, N(loop), 112);

    const struct xdpvm_insn callx[] = {MOV(2, 21), MOV(1, 9), ins(XDPVM_OP_CALLX, 2, 0, 0, 0), EXIT};
    expect_r0("callx takes the helper id from a register", callx, N(callx), 9);
    const struct xdpvm_insn callx_bad[] = {MOV(2, 63), ins(XDPVM_OP_CALLX, 2, 0, 0, 0), EXIT};
    expect_run_error("callx of an unknown helper", callx_bad, N(callx_bad), NULL, 0, 0, -EINVAL, 1,
                     "63", "not the id");
}

static void test_load_checks(void)
{
    const struct xdpvm_insn r10[] = {MOV(10, 1), EXIT};
    expect_load_error("write to r10 refused", r10, N(r10), "writes r10");
    const struct xdpvm_insn helper[] = {CALL(63), EXIT};
    expect_load_error("unknown helper refused naming it", helper, N(helper), "helper 63");
    const struct xdpvm_insn cross[] = {MOV(1, 0), CALL_LOCAL(1), EXIT, ins(XDPVM_OP_JA, 0, 0, -4, 0), EXIT};
    expect_load_error("jump into another subprogram refused", cross, N(cross), "leaves its subprogram");
    const struct xdpvm_insn no_exit[] = {MOV(0, 0), CALL_LOCAL(0), EXIT};
    expect_load_error("subprogram not ending in exit refused", no_exit, N(no_exit), "ends with");
    const struct xdpvm_insn self[] = {ins(XDPVM_OP_JA, 0, 0, -1, 0), EXIT};
    expect_load_error("jump to itself refused", self, N(self), "infinite loop");
    const struct xdpvm_insn map[] = {ins(XDPVM_OP_LDDW, 1, XDPVM_PSEUDO_MAP_FD, 0, 3),
                                     ins(XDPVM_OP_INVALID, 0, 0, 0, 0), MOV(0, 0), EXIT};
    expect_load_error("unresolved map reference refused", map, N(map), "unresolved map");
    const struct xdpvm_insn bad_cb[] = {ins(XDPVM_OP_LDDW, 1, XDPVM_PSEUDO_FUNC, 0, 10),
                                        ins(XDPVM_OP_INVALID, 0, 0, 0, 0), MOV(0, 0), EXIT};
    expect_load_error("callback reference outside the program refused", bad_cb, N(bad_cb),
                      "callback reference");
    struct xdpvm_insn unknown = {.code = 0xff};
    const struct xdpvm_insn bad_op[] = {unknown, EXIT};
    expect_load_error("unknown opcode refused", bad_op, N(bad_op), "unknown opcode");
}

/* Map values are a region of their own: in bounds passes, past the storage fails naming the
 * map, a map read-only to programs (BPF_F_RDONLY_PROG) refuses stores. */
static void test_map_regions(void)
{
    char err[256];
    struct xdpvm_map_spec spec = {.name = "counters", .type = XDPVM_MAP_ARRAY, .key_size = 4,
                                  .value_size = 8, .max_entries = 2};
    struct xdpvm_map *rw = xdpvm_map_create(&spec, 1, err, sizeof(err));
    spec.map_flags = 1u << 7; /* BPF_F_RDONLY_PROG */
    snprintf(spec.name, sizeof(spec.name), "settings");
    struct xdpvm_map *ro = xdpvm_map_create(&spec, 1, err, sizeof(err));
    if (!rw || !ro) {
        test_fail("map value regions", "cannot create the maps: %s", err);
        xdpvm_map_free(rw);
        xdpvm_map_free(ro);
        return;
    }
    uint32_t key = 0;
    uint64_t rw_value = (uint64_t)(uintptr_t)xdpvm_map_lookup(rw, &key, 0);
    uint64_t ro_value = (uint64_t)(uintptr_t)xdpvm_map_lookup(ro, &key, 0);
    struct xdpvm_map *maps[] = {rw, ro};
    struct {
        const char *name;
        uint64_t value;
        int16_t off;
        int want_rc;
        const char *word;
    } cases[] = {
        {"store into a map value", rw_value, 0, 0, NULL},
        {"store past a map's storage names the map", rw_value, 16, -EFAULT, "nearest is counters"},
        {"store into a read-only map value", ro_value, 0, -EACCES, "settings, which the program may only read"},
    };
    for (size_t i = 0; i < N(cases); i++) {
        struct xdpvm_insn prog_insns[] = {
            ins(XDPVM_OP_LDDW, 1, XDPVM_PSEUDO_MAP_VALUE, 0, (int32_t)(uint32_t)cases[i].value),
            ins(XDPVM_OP_INVALID, 0, 0, 0, (int32_t)(uint32_t)(cases[i].value >> 32)),
            ins(XDPVM_OP_STDW, 1, 0, cases[i].off, 7), ins(XDPVM_OP_LDXDW, 0, 1, 0, 0), EXIT};
        struct xdpvm_prog prog = {.insns = prog_insns, .count = N(prog_insns), .maps = maps,
                                  .map_count = 2, .helpers = &test_helpers};
        struct xdpvm_run run = {.prog = &prog};
        uint64_t r0 = 0;
        int rc = xdpvm_interp_prepare(&prog, err, sizeof(err));
        if (rc) {
            test_fail(cases[i].name, "refused at load: %s", err);
            continue;
        }
        rc = xdpvm_interp_run(&run, &r0);
        if (cases[i].want_rc == 0)
            test_check(rc == 0 && r0 == 7, cases[i].name, "rc %d r0 %" PRIu64 ": %s", rc, r0,
                       run.error_message);
        else
            test_check(rc == cases[i].want_rc && strstr(run.error_message, cases[i].word), cases[i].name,
                       "rc %d: %s", rc, run.error_message);
        xdpvm_interp_release(&prog);
    }
    xdpvm_map_free(rw);
    xdpvm_map_free(ro);
}

/* Tail calls into a program run by another executor (a stand-in for the JIT) and into a
 * program of the other verified-ness (the other interpreter variant). */
static const struct xdpvm_prog *tail_target;
static uint64_t helper_tail_call_target(uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e,
                                        struct xdpvm_run *run)
{
    run->tail_call_count++;
    run->next_prog = tail_target;
    return 0;
}
static int other_executor(struct xdpvm_run *run, uint64_t *r0)
{
    *r0 = (uint64_t)(uintptr_t)run->ctx + 1000;
    return 0;
}
static const struct xdpvm_helper tail_target_helper = {.id = 24, .name = "tail_call_target",
                                                       .fn = helper_tail_call_target};

static void test_tail_call_targets(void)
{
    test_helpers.by_id[24] = &tail_target_helper;
    /* The caller: a subprogram tail-calls; the target's r0 comes back to main, which adds 1. */
    const struct xdpvm_insn caller[] = {MOV(6, 1), CALL_LOCAL(2), ins(XDPVM_OP_ADD64_REG, 0, 6, 0, 0),
                                        EXIT, CALL(24), MOV(0, 0), EXIT};
    const struct xdpvm_insn target[] = {MOVR(0, 1), ins(XDPVM_OP_ADD64_IMM, 0, 0, 0, 500), EXIT};
    struct xdpvm_prog other = {.exec = other_executor, .verified = true};
    struct xdpvm_prog interp_target = {.insns = (struct xdpvm_insn *)target, .count = N(target),
                                       .helpers = &test_helpers, .exec = xdpvm_interp_run};
    for (int variant = 0; variant < 4; variant++) {
        bool caller_verified = variant & 1;
        bool to_other = variant & 2;
        interp_target.verified = !caller_verified; /* the other interpreter variant */
        tail_target = to_other ? &other : &interp_target;
        char name[128];
        snprintf(name, sizeof(name), "tail call from a subprogram into %s/%s",
                 to_other ? "another executor" : "the other interpreter variant",
                 caller_verified ? "unchecked" : "checked");
        struct case_result res;
        run_case(caller, N(caller), caller_verified, NULL, (void *)(uintptr_t)4096, 0, 0, &res);
        uint64_t want = 4096 + (to_other ? 1000 : 500) + 1;
        test_check(res.rc == 0 && res.r0 == want, name, "rc %d r0 %" PRIu64 " (want %" PRIu64 "): %s%s",
                   res.rc, res.r0, want, res.load_error, res.run.error_message);
        xdpvm_interp_release(&interp_target);
    }
}

/* bpf_map_lookup_elem of a known array map runs inlined in the unchecked executor: the same
 * pointer (or NULL) as the helper for every key and cpu, plain and per-CPU, in both variants. */
static void test_inline_array_lookup(void)
{
    char err[256];
    struct xdpvm_map_spec spec = {.name = "plain", .type = XDPVM_MAP_ARRAY, .key_size = 4,
                                  .value_size = 12, .max_entries = 4};
    struct xdpvm_map *plain = xdpvm_map_create(&spec, 2, err, sizeof(err));
    spec.type = XDPVM_MAP_PERCPU_ARRAY;
    snprintf(spec.name, sizeof(spec.name), "percpu");
    struct xdpvm_map *percpu = plain ? xdpvm_map_create(&spec, 2, err, sizeof(err)) : NULL;
    if (!plain || !percpu) {
        test_fail("inline array lookup", "cannot create the maps: %s", err);
        xdpvm_map_free(plain);
        return;
    }
    struct xdpvm_map *maps[] = {plain, percpu};
    bool all_same = true;
    char why[600] = "";
    for (int m = 0; m < 2; m++) {
        for (uint32_t key = 0; key < 6; key++) {
            uint64_t handle = (uint64_t)(uintptr_t)maps[m];
            struct xdpvm_insn insns[] = {
                ins(XDPVM_OP_LDDW, 1, XDPVM_PSEUDO_MAP_FD, 0, (int32_t)(uint32_t)handle),
                ins(XDPVM_OP_INVALID, 0, 0, 0, (int32_t)(uint32_t)(handle >> 32)),
                ins(XDPVM_OP_STW, XDPVM_REG_FP, 0, -4, (int32_t)key),
                MOVR(2, XDPVM_REG_FP),
                ins(XDPVM_OP_ADD64_IMM, 2, 0, 0, -4),
                CALL(1),
                EXIT};
            for (int verified = 0; verified < 2; verified++) {
                struct xdpvm_prog prog = {.insns = insns, .count = N(insns), .maps = maps,
                                          .map_count = 2, .verified = verified,
                                          .helpers = xdpvm_helpers_for(XDPVM_PROG_XDP)};
                if (xdpvm_interp_prepare(&prog, err, sizeof(err))) {
                    snprintf(why, sizeof(why), "refused at load: %.255s", err);
                    all_same = false;
                    continue;
                }
                for (unsigned cpu = 0; cpu < 4; cpu++) {
                    struct xdpvm_run run = {.prog = &prog, .cpu = cpu};
                    uint64_t r0 = 1;
                    int rc = xdpvm_interp_run(&run, &r0);
                    uint64_t want = (uint64_t)(uintptr_t)xdpvm_map_lookup(maps[m], &key, cpu);
                    if (rc || r0 != want) {
                        snprintf(why, sizeof(why), "%s map, key %u, cpu %u, %s: rc %d r0 %#" PRIx64
                                 " (helper: %#" PRIx64 ") %.255s", m ? "per-CPU" : "plain", key, cpu,
                                 verified ? "unchecked" : "checked", rc, r0, want, run.error_message);
                        all_same = false;
                    }
                }
                xdpvm_interp_release(&prog);
            }
        }
    }
    test_check(all_same, "inline array lookup: same result as the helper", "%s", why);
    xdpvm_map_free(plain);
    xdpvm_map_free(percpu);
}

/* r1 = a 64-byte buffer (bytes 0, 1, 2, ...); both executors must give want. */
static void expect_r0_on_buffer(const char *name, const struct xdpvm_insn *insns, size_t n, uint64_t want)
{
    uint8_t buf[64];
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (uint8_t)(i * 17 + 3);
    for (int verified = 0; verified < 2; verified++) {
        char full[128];
        snprintf(full, sizeof(full), "%s/%s", name, verified ? "unchecked" : "checked");
        const uint64_t args[5] = {(uint64_t)(uintptr_t)buf};
        struct case_result res;
        run_case(insns, n, verified, args, buf, sizeof(buf), 0, &res);
        if (res.rc)
            test_fail(full, "failed: %s%s", res.load_error, res.run.error_message);
        else
            test_check(res.r0 == want, full, "r0 = 0x%" PRIx64 ", want 0x%" PRIx64, res.r0, want);
    }
}

/* The unchecked executor's own paths: the forwarded last-written register (kept across
 * dispatches, forgotten when a return restores r6..r10) and the idiom handlers (bounds
 * checks, byte-assembled 16-bit loads), each also where the idiom must not apply or is
 * entered in the middle. Buffer byte i is i * 17 + 3. */
static void test_forwarding_and_idioms(void)
{
#define B(i) ((uint64_t)(uint8_t)((i) * 17 + 3))
#define LDXB(d, s, o) ins(XDPVM_OP_LDXB, d, s, o, 0)
#define LSH32(d, k) ins(XDPVM_OP_LSH32_IMM, d, 0, 0, k)
#define OR32(d, s) ins(XDPVM_OP_OR32_REG, d, s, 0, 0)
#define ADDI(d, k) ins(XDPVM_OP_ADD64_IMM, d, 0, 0, k)
#define JGT(d, s, o) ins(XDPVM_OP_JGT_REG, d, s, o, 0)
#define MOV32(d, k) ins(XDPVM_OP_MOV32_IMM, d, 0, 0, k)
    /* r0 = rB << 16 | rA, both registers of the idiom */
#define PACK(a, b) MOVR(0, b), ins(XDPVM_OP_LSH64_IMM, 0, 0, 0, 16), ins(XDPVM_OP_OR64_REG, 0, a, 0, 0)
    const struct xdpvm_insn le[] = {LDXB(4, 1, 12), LDXB(5, 1, 13), LSH32(5, 8), OR32(5, 4), PACK(4, 5), EXIT};
    expect_r0_on_buffer("idiom: little-endian 16-bit load", le, N(le), (B(13) << 8 | B(12)) << 16 | B(12));
    const struct xdpvm_insn be[] = {LDXB(4, 1, 13), LDXB(5, 1, 12), LSH32(5, 8), OR32(5, 4), PACK(4, 5), EXIT};
    expect_r0_on_buffer("idiom: big-endian 16-bit load", be, N(be), (B(12) << 8 | B(13)) << 16 | B(13));
    /* the first load replaces the base: no idiom (the second load reads through the byte) */
    const struct xdpvm_insn rebased[] = {ins(XDPVM_OP_MOV64_REG, 2, 1, 0, 0), LDXB(1, 1, 5),
                                         ins(XDPVM_OP_AND64_IMM, 1, 0, 0, 7), ADDI(1, 0), LDXB(3, 2, 1),
                                         LDXB(5, 2, 2), LSH32(5, 8), OR32(5, 3), PACK(3, 5), EXIT};
    expect_r0_on_buffer("idiom: loads from two bases", rebased, N(rebased), (B(2) << 8 | B(1)) << 16 | B(1));
    const struct xdpvm_insn gap[] = {LDXB(4, 1, 12), LDXB(5, 1, 14), LSH32(5, 8), OR32(5, 4), PACK(4, 5), EXIT};
    expect_r0_on_buffer("idiom: bytes not adjacent", gap, N(gap), (B(14) << 8 | B(12)) << 16 | B(12));
    /* a jump into the middle: from the third instruction on, r4 and r5 are what the jump left */
    const struct xdpvm_insn middle[] = {MOV(4, 0x11), MOV(5, 0x22), ins(XDPVM_OP_JA, 0, 0, 2, 0),
                                        LDXB(4, 1, 12), LDXB(5, 1, 13), LSH32(5, 8), OR32(5, 4), PACK(4, 5), EXIT};
    expect_r0_on_buffer("idiom: jump into a 16-bit load", middle, N(middle), (0x2200ull | 0x11) << 16 | 0x11);

    /* bounds checks: r3 = r1 + K; if r3 > r2 (r2 = r1 + 40) */
    const struct xdpvm_insn fits[] = {MOVR(2, 1), ADDI(2, 40), MOVR(3, 1), ADDI(3, 14), JGT(3, 2, 2),
                                      MOVR(0, 3), ins(XDPVM_OP_SUB64_REG, 0, 1, 0, 0), EXIT, MOV(0, 99), EXIT};
    expect_r0_on_buffer("idiom: bounds check passes", fits, N(fits), 14);
    const struct xdpvm_insn too_long[] = {MOVR(2, 1), ADDI(2, 40), MOVR(3, 1), ADDI(3, 41), JGT(3, 2, 2),
                                          MOV(0, 1), EXIT, MOV(0, 99), EXIT};
    expect_r0_on_buffer("idiom: bounds check jumps", too_long, N(too_long), 99);
    const struct xdpvm_insn with_const[] = {MOVR(2, 1), ADDI(2, 40), MOVR(3, 1), ADDI(3, 41), MOV32(0, 7),
                                            JGT(3, 2, 1), MOV(0, 1), EXIT};
    expect_r0_on_buffer("idiom: bounds check setting r0 first", with_const, N(with_const), 7);
    /* the constant overwrites the limit (C = Z) or the end (C = X): the jump compares it */
    const struct xdpvm_insn const_limit[] = {MOV(0, 5), MOVR(3, 1), ADDI(3, 41), MOV32(2, 4096), JGT(3, 2, 1),
                                             MOV(0, 6), EXIT};
    expect_r0_on_buffer("idiom: constant is the limit", const_limit, N(const_limit),
                        (uintptr_t)&const_limit > 4096 ? 5 : 6);
    const struct xdpvm_insn const_end[] = {MOVR(2, 1), ADDI(2, 40), MOVR(3, 1), ADDI(3, 1), MOV32(3, 0),
                                           JGT(3, 2, 2), MOVR(0, 3), EXIT, MOV(0, 99), EXIT};
    expect_r0_on_buffer("idiom: constant replaces the end", const_end, N(const_end), 0);
    /* a negative mov64 constant is sign-extended (no idiom): the end (a pointer, below
     * 2^64 - 1) is not above it, but would be above its zero-extended 32 bits */
    const struct xdpvm_insn const_negative[] = {MOV(0, 5), MOVR(3, 1), ADDI(3, 1), MOV(2, -1), JGT(3, 2, 1),
                                                MOV(0, 6), EXIT};
    expect_r0_on_buffer("idiom: negative mov64 limit", const_negative, N(const_negative), 6);
    const struct xdpvm_insn self[] = {MOVR(3, 1), ADDI(3, 8), JGT(3, 3, 1), MOV(0, 3), EXIT};
    expect_r0_on_buffer("idiom: end compared with itself", self, N(self), 3);
    const struct xdpvm_insn jump_in[] = {MOVR(2, 1), ADDI(2, 40), MOV(3, 0), ins(XDPVM_OP_JA, 0, 0, 1, 0),
                                         MOVR(3, 1), ADDI(3, 8), JGT(3, 2, 1), MOV(0, 3), EXIT};
    expect_r0_on_buffer("idiom: jump into a bounds check", jump_in, N(jump_in), 3);

    /* forwarding: a chain of dependent instructions, each reading the last one written */
    const struct xdpvm_insn chain[] = {MOV(3, 3), MOVR(4, 3), ins(XDPVM_OP_ADD64_REG, 4, 4, 0, 0),
                                       ins(XDPVM_OP_MUL64_REG, 4, 3, 0, 0), ins(XDPVM_OP_ADD32_REG, 4, 4, 0, 0),
                                       MOVR(0, 4), EXIT};
    expect_r0_on_buffer("forwarding: dependent chain", chain, N(chain), 36);
    /* a constant written to the forwarded register replaces the forwarded value */
    const struct xdpvm_insn const_over[] = {MOV(4, 3), ADDI(4, 1), MOV32(4, 9), MOVR(0, 4), EXIT};
    expect_r0_on_buffer("forwarding: constant over the forwarded register", const_over, N(const_over), 9);
    /* the callee writes r6 last; the return restores the caller's r6 */
    const struct xdpvm_insn callee_saved[] = {MOV(6, 1), CALL_LOCAL(2), MOVR(0, 6), EXIT,
                                              MOV(0, 0), MOV(6, 7), ADDI(6, 1), EXIT};
    expect_r0_on_buffer("forwarding: r6 restored on return", callee_saved, N(callee_saved), 1);
    /* an atomic fetch writes its source register */
    const struct xdpvm_insn fetch[] = {MOV(2, 0x0f), ins(XDPVM_OP_STXDW, XDPVM_REG_FP, 2, -8, 0), MOV(3, 0x3c),
                                       ins(XDPVM_OP_ATOMIC64_FETCH_AND, XDPVM_REG_FP, 3, -8, 0),
                                       ins(XDPVM_OP_LDXDW, 0, XDPVM_REG_FP, -8, 0), ins(XDPVM_OP_LSH64_IMM, 0, 0, 0, 8),
                                       ins(XDPVM_OP_OR64_REG, 0, 3, 0, 0), EXIT};
    expect_r0_on_buffer("forwarding: atomic fetch result", fetch, N(fetch), 0x0c << 8 | 0x0f);
#undef B
#undef LDXB
#undef LSH32
#undef OR32
#undef ADDI
#undef JGT
#undef MOV32
#undef PACK
}

int main(void)
{
    for (size_t i = 0; i < N(helper_defs); i++)
        test_helpers.by_id[helper_defs[i].id] = &helper_defs[i];
    test_arithmetic();
    test_memory_checks();
    test_register_init();
    test_budget_and_depth();
    test_calls();
    test_load_checks();
    test_map_regions();
    test_tail_call_targets();
    test_inline_array_lookup();
    test_forwarding_and_idioms();
    return test_exit_code();
}
