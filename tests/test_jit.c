/* JIT unit tests: programs whose results are known by construction, run as native code.
 * Each case names the x86 hazard it aims at (rax/rdx in division, rcx in shifts, rax in
 * cmpxchg, byte registers, frames, helper unwinding, ...). The differential test against the
 * interpreter is tests/test_jit_diff.c. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/helpers.h"
#include "isa/asm.h"
#include "maps/maps.h"
#include "interp/interp.h"
#include "jit/jit.h"
#include "runtime/runtime.h"
#include "lib/testlib.h"

struct jit_prog {
    struct xdpvm_prog prog;
    bool ok;
};

static bool build(struct jit_prog *p, const char *name, const char *text,
                  const struct xdpvm_helper_table *helpers, bool blind)
{
    memset(p, 0, sizeof(*p));
    snprintf(p->prog.name, sizeof(p->prog.name), "%s", name);
    struct xdpvm_asm_error aerr;
    if (xdpvm_asm(text, &p->prog.insns, &p->prog.count, &aerr)) {
        test_fail(name, "assembly failed at line %u: %s", aerr.line, aerr.message);
        return false;
    }
    p->prog.helpers = helpers;
    struct xdpvm_jit_opts opts = {.blind_constants = blind};
    char err[256];
    int rc = xdpvm_jit_compile(&p->prog, &opts, err, sizeof(err));
    if (rc) {
        test_fail(name, "compile failed (%d): %s", rc, err);
        free(p->prog.insns);
        return false;
    }
    p->ok = true;
    return true;
}

static void destroy(struct jit_prog *p)
{
    if (!p->ok)
        return;
    xdpvm_jit_free(&p->prog);
    free(p->prog.insns);
    p->ok = false;
}

/* Compile, run with r1 = mem, r2 = len and compare r0; with and without blinding. */
static void expect(const char *name, const char *text, void *mem, size_t len, uint64_t want,
                   const struct xdpvm_helper_table *helpers)
{
    for (int blind = 0; blind < 2; blind++) {
        char full[128];
        snprintf(full, sizeof(full), "%s%s", name, blind ? "/blinded" : "");
        struct jit_prog p;
        if (!build(&p, full, text, helpers, blind))
            continue;
        /* the same memory contents for both passes */
        uint8_t *copy = NULL;
        if (len) {
            copy = malloc(len);
            memcpy(copy, mem, len);
        }
        struct xdpvm_run run = {.prog = &p.prog};
        uint64_t args[5] = {(uint64_t)(uintptr_t)copy, len, 0, 0, 0}, r0 = 0;
        int rc = xdpvm_jit_run_args(&run, args, &r0);
        if (rc)
            test_fail(full, "run failed (%d): %s", rc, run.error_message);
        else
            test_check(r0 == want, full, "r0 = %#" PRIx64 ", want %#" PRIx64, r0, want);
        free(copy);
        destroy(&p);
    }
}

/* ---- helpers for the helper/unwind/tail-call cases ---- */

static uint64_t helper_sum(uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e,
                           struct xdpvm_run *run)
{
    (void)run;
    return a + 2 * b + 3 * c + 4 * d + 5 * e;
}
static uint64_t helper_stop_if_zero(uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e,
                                    struct xdpvm_run *run)
{
    if (a == 0) {
        run->stop = true;
        run->stop_value = 0x5707;
    }
    return a;
}
static uint64_t helper_fail(uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e,
                            struct xdpvm_run *run)
{
    xdpvm_run_fail(run, 0, -EFAULT, "helper_fail called with %llu", (unsigned long long)a);
    return 0;
}
static const struct xdpvm_prog *tail_target;
static uint64_t helper_tail_call(uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e,
                                 struct xdpvm_run *run)
{
    if (run->tail_call_count >= XDPVM_MAX_TAIL_CALLS || !tail_target)
        return (uint64_t)-ENOENT;
    run->tail_call_count++;
    run->next_prog = tail_target;
    return 0;
}
/* bpf_loop-like: calls callback r2 for i = 0..r1-1 with (i, r3), sums the results. */
static uint64_t helper_loop(uint64_t n, uint64_t callback, uint64_t ctx, uint64_t d, uint64_t e,
                            struct xdpvm_run *run)
{
    uint64_t sum = 0;
    for (uint64_t i = 0; i < n && !run->stop; i++)
        sum += run->call_subprog(run, callback, i, ctx, 0, 0, 0);
    return sum;
}

static const struct xdpvm_helper h_sum = {.id = 1, .name = "sum", .fn = helper_sum};
static const struct xdpvm_helper h_stop = {.id = 5, .name = "stop", .fn = helper_stop_if_zero};
static const struct xdpvm_helper h_fail = {.id = 6, .name = "fail", .fn = helper_fail};
static const struct xdpvm_helper h_tail = {.id = 12, .name = "tail_call", .fn = helper_tail_call};
static const struct xdpvm_helper h_loop = {.id = 181, .name = "loop", .fn = helper_loop};
static struct xdpvm_helper_table helpers;

static void test_alu(void)
{
    expect("alu64_basic", "mov %r0, 5\nadd %r0, 7\nmul %r0, 3\nsub %r0, 1\nexit\n", NULL, 0, 35, NULL);
    expect("alu32_zero_extends",
           "lddw %r0, 0xffffffff00000001\nadd32 %r0, 1\nexit\n", NULL, 0, 2, NULL);
    expect("mov32_imm_negative", "mov32 %r0, -1\nexit\n", NULL, 0, 0xffffffffull, NULL);
    expect("mov64_imm_sign_extends", "mov %r0, -2\nexit\n", NULL, 0, 0xfffffffffffffffeull, NULL);
    expect("alu64_imm_sign_extends", "mov %r0, 0\nor %r0, -16\nexit\n", NULL, 0,
           0xfffffffffffffff0ull, NULL);
    expect("alu32_imm_and", "lddw %r0, 0x1234567887654321\nand32 %r0, 0xff00ff00\nexit\n", NULL, 0,
           0x87004300ull, NULL);
    expect("neg", "mov %r0, 5\nneg %r0\nexit\n", NULL, 0, (uint64_t)-5, NULL);
    expect("neg32", "mov %r0, 5\nneg32 %r0\nexit\n", NULL, 0, 0xfffffffbull, NULL);
    expect("mul_imm_large", "mov %r0, 3\nmul %r0, 0x12345678\nexit\n", NULL, 0, 3ull * 0x12345678,
           NULL);
    expect("mul32_wraps", "mov %r0, 0x10000\nmul32 %r0, 0x10000\nexit\n", NULL, 0, 0, NULL);
    expect("all_registers_distinct",
           "mov %r0, 1\nmov %r1, 2\nmov %r2, 4\nmov %r3, 8\nmov %r4, 16\nmov %r5, 32\n"
           "mov %r6, 64\nmov %r7, 128\nmov %r8, 256\nmov %r9, 512\n"
           "add %r0, %r1\nadd %r0, %r2\nadd %r0, %r3\nadd %r0, %r4\nadd %r0, %r5\n"
           "add %r0, %r6\nadd %r0, %r7\nadd %r0, %r8\nadd %r0, %r9\nexit\n", NULL, 0, 1023, NULL);
}

static void test_divmod(void)
{
    expect("div_by_zero_reg", "mov %r0, 10\nmov %r1, 0\ndiv %r0, %r1\nexit\n", NULL, 0, 0, NULL);
    expect("div_by_zero_imm", "mov %r0, 10\ndiv %r0, 0\nexit\n", NULL, 0, 0, NULL);
    expect("mod_by_zero_reg", "mov %r0, 10\nmov %r1, 0\nmod %r0, %r1\nexit\n", NULL, 0, 10, NULL);
    expect("mod32_by_zero_truncates",
           "lddw %r0, 0xffffffff00000005\nmov %r1, 0\nmod32 %r0, %r1\nexit\n", NULL, 0, 5, NULL);
    expect("mod32_by_zero_imm_truncates",
           "lddw %r0, 0xffffffff00000005\nmod32 %r0, 0\nexit\n", NULL, 0, 5, NULL);
    expect("div64_imm_sign_extended_divisor",
           "lddw %r0, 0xfffffffffffffffe\ndiv %r0, -1\nexit\n", NULL, 0, 0, NULL);
    expect("sdiv_int_min_by_minus1",
           "lddw %r0, 0x8000000000000000\nmov %r1, -1\nsdiv %r0, %r1\nexit\n", NULL, 0,
           0x8000000000000000ull, NULL);
    expect("smod_int_min_by_minus1",
           "lddw %r0, 0x8000000000000000\nmov %r1, -1\nsmod %r0, %r1\nexit\n", NULL, 0, 0, NULL);
    expect("sdiv32_int_min_by_minus1_imm", "mov32 %r0, 0x80000000\nsdiv32 %r0, -1\nexit\n", NULL, 0,
           0x80000000ull, NULL);
    expect("sdiv_negative", "mov %r0, -7\nmov %r1, 2\nsdiv %r0, %r1\nexit\n", NULL, 0, (uint64_t)-3,
           NULL);
    expect("smod_negative_truncates", "mov %r0, -7\nsmod %r0, 2\nexit\n", NULL, 0, (uint64_t)-1, NULL);
    expect("smod32_negative", "mov32 %r0, -7\nsmod32 %r0, 2\nexit\n", NULL, 0, 0xffffffffull, NULL);
    /* rax and rdx are the x86 dividend registers: r0 (rax) and r3 (rdx) as operands */
    expect("div_dst_rdx_src_rax",
           "mov %r3, 100\nmov %r0, 7\ndiv %r3, %r0\nmov %r1, %r3\nmul %r1, 1000\nadd %r1, %r0\n"
           "mov %r0, %r1\nexit\n", NULL, 0, 14 * 1000 + 7, NULL);
    expect("mod_dst_rax_src_rdx", "mov %r0, 100\nmov %r3, 7\nmod %r0, %r3\nmul %r3, 1000\n"
           "add %r0, %r3\nexit\n", NULL, 0, 2 + 7000, NULL);
    expect("div_preserves_rdx_rax", "mov %r0, 1\nmov %r3, 3\nmov %r2, 100\ndiv %r2, 9\n"
           "mul %r0, 1000\nadd %r0, %r3\nmul %r0, 1000\nadd %r0, %r2\nexit\n", NULL, 0, 1003011, NULL);
    expect("div_self_rdx", "mov %r3, 9\ndiv %r3, %r3\nmov %r0, %r3\nexit\n", NULL, 0, 1, NULL);
    expect("div32_ignores_upper", "lddw %r0, 0x100000010\nlddw %r1, 0x100000004\ndiv32 %r0, %r1\n"
           "exit\n", NULL, 0, 4, NULL);
}

static void test_shifts(void)
{
    expect("lsh_masked_imm_reg", "mov %r0, 1\nmov %r1, 65\nlsh %r0, %r1\nexit\n", NULL, 0, 2, NULL);
    expect("lsh32_masked", "mov %r0, 1\nmov %r1, 33\nlsh32 %r0, %r1\nexit\n", NULL, 0, 2, NULL);
    expect("rsh_by_rcx", "mov %r0, 256\nmov %r4, 4\nrsh %r0, %r4\nexit\n", NULL, 0, 16, NULL);
    expect("shift_rcx_by_other", "mov %r4, 3\nmov %r2, 2\nlsh %r4, %r2\nmov %r0, %r4\nexit\n",
           NULL, 0, 12, NULL);
    expect("shift_rcx_by_itself", "mov %r4, 3\nlsh %r4, %r4\nmov %r0, %r4\nexit\n", NULL, 0, 24, NULL);
    expect("shift_preserves_rcx", "mov %r4, 7\nmov %r0, 1\nmov %r1, 3\nlsh %r0, %r1\nadd %r0, %r4\n"
           "exit\n", NULL, 0, 15, NULL);
    expect("arsh", "mov %r0, -16\narsh %r0, 2\nexit\n", NULL, 0, (uint64_t)-4, NULL);
    expect("arsh32", "mov32 %r0, -16\narsh32 %r0, 2\nexit\n", NULL, 0, 0xfffffffcull, NULL);
    expect("rsh32_zero_extends", "mov %r0, -1\nrsh32 %r0, 4\nexit\n", NULL, 0, 0x0fffffffull, NULL);
}

static void test_moves_and_swaps(void)
{
    expect("movsx8_from_sil", "mov %r2, 0x80\nmovsx864 %r0, %r2\nexit\n", NULL, 0,
           0xffffffffffffff80ull, NULL);
    expect("movsx8_32_from_dil", "mov %r1, 0xff\nmovsx832 %r0, %r1\nexit\n", NULL, 0, 0xffffffffull,
           NULL);
    expect("movsx16", "mov %r0, 0x8000\nmovsx1664 %r0, %r0\nexit\n", NULL, 0, 0xffffffffffff8000ull,
           NULL);
    expect("movsx32", "mov32 %r6, 0x80000000\nmovsx3264 %r0, %r6\nexit\n", NULL, 0,
           0xffffffff80000000ull, NULL);
    expect("be16", "lddw %r0, 0x1122334455667788\nbe16 %r0\nexit\n", NULL, 0, 0x8877, NULL);
    expect("be32", "lddw %r0, 0x1122334455667788\nbe32 %r0\nexit\n", NULL, 0, 0x88776655, NULL);
    expect("be64", "lddw %r0, 0x1122334455667788\nbe64 %r0\nexit\n", NULL, 0, 0x8877665544332211ull,
           NULL);
    expect("le16", "lddw %r0, 0x1122334455667788\nle16 %r0\nexit\n", NULL, 0, 0x7788, NULL);
    expect("le32", "lddw %r0, 0x1122334455667788\nle32 %r0\nexit\n", NULL, 0, 0x55667788, NULL);
    expect("le64", "lddw %r0, 0x1122334455667788\nle64 %r0\nexit\n", NULL, 0, 0x1122334455667788ull,
           NULL);
    expect("bswap16_r9", "lddw %r9, 0x1122334455667788\nbswap16 %r9\nmov %r0, %r9\nexit\n", NULL, 0,
           0x8877, NULL);
    expect("bswap32", "lddw %r0, 0x1122334455667788\nbswap32 %r0\nexit\n", NULL, 0, 0x88776655,
           NULL);
}

static void test_jumps(void)
{
    expect("jgt_unsigned", "mov %r0, 0\nmov %r1, -1\njgt %r1, 5, +1\nexit\nmov %r0, 1\nexit\n", NULL,
           0, 1, NULL);
    expect("jsgt_signed", "mov %r0, 0\nmov %r1, -1\njsgt %r1, 5, +1\nexit\nmov %r0, 1\nexit\n", NULL,
           0, 0, NULL);
    expect("jeq32_ignores_upper", "mov %r0, 0\nlddw %r1, 0x100000005\njeq32 %r1, 5, +1\nexit\n"
           "mov %r0, 1\nexit\n", NULL, 0, 1, NULL);
    expect("jset", "mov %r0, 0\nmov %r1, 6\njset %r1, 4, +1\nexit\nmov %r0, 1\nexit\n", NULL, 0, 1,
           NULL);
    expect("jslt_reg", "mov %r0, 0\nmov %r1, -5\nmov %r2, 3\njslt %r1, %r2, +1\nexit\nmov %r0, 1\n"
           "exit\n", NULL, 0, 1, NULL);
    expect("loop_sum", "mov %r0, 0\nmov %r1, 100\nloop:\nadd %r0, %r1\nsub %r1, 1\njne %r1, 0, loop\n"
           "exit\n", NULL, 0, 5050, NULL);
    expect("ja32_gotol", "mov %r0, 1\nja32 +1\nmov %r0, 2\nexit\n", NULL, 0, 1, NULL);
    expect("jump_back_to_pc0", "add %r0, 1\njlt %r0, 10, -2\nexit\n", NULL, 0, 10, NULL);
}

static void test_memory(void)
{
    uint8_t mem[16] = {0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
                       0x80, 0xff, 0xfe, 0x7f, 0, 0, 0, 0};
    expect("ldxb", "ldxb %r0, [%r1+1]\nexit\n", mem, 16, 0x22, NULL);
    expect("ldxh", "ldxh %r0, [%r1+2]\nexit\n", mem, 16, 0x4433, NULL);
    expect("ldxw", "ldxw %r0, [%r1+4]\nexit\n", mem, 16, 0x88776655, NULL);
    expect("ldxdw", "ldxdw %r0, [%r1]\nexit\n", mem, 16, 0x8877665544332211ull, NULL);
    expect("ldxsb", "ldxsb %r0, [%r1+8]\nexit\n", mem, 16, (uint64_t)-128, NULL);
    expect("ldxsh", "ldxsh %r0, [%r1+9]\nexit\n", mem, 16, (uint64_t)(int16_t)0xfeff, NULL);
    expect("ldxsw", "ldxsw %r0, [%r1+8]\nexit\n", mem, 16, (uint64_t)(int32_t)0x7ffeff80, NULL);
    expect("stb_from_sil", "mov %r2, 0x1ab\nstxb [%r1+3], %r2\nldxw %r0, [%r1]\nexit\n", mem, 16,
           0xab332211, NULL);
    expect("sth_imm", "sth [%r1+2], 0x1234\nldxw %r0, [%r1]\nexit\n", mem, 16, 0x12342211, NULL);
    expect("stw_imm", "stw [%r1+4], -1\nldxdw %r0, [%r1]\nexit\n", mem, 16, 0xffffffff44332211ull, NULL);
    expect("stdw_imm_sign_extends", "stdw [%r1], -2\nldxdw %r0, [%r1]\nexit\n", mem, 16,
           0xfffffffffffffffeull, NULL);
    expect("stack_far_offset", "stdw [%r10-512], 7\nstdw [%r10-8], 9\nldxdw %r0, [%r10-512]\n"
           "ldxdw %r1, [%r10-8]\nadd %r0, %r1\nexit\n", NULL, 0, 16, NULL);
    expect("ldx_disp32", "mov %r2, %r1\nsub %r2, 1000\nldxb %r0, [%r2+1001]\nexit\n", mem, 16, 0x22,
           NULL);
}

static void test_atomics(void)
{
    expect("atomic_add", "stdw [%r10-8], 5\nmov %r1, 3\nlock add [%r10-8], %r1\n"
           "ldxdw %r0, [%r10-8]\nexit\n", NULL, 0, 8, NULL);
    expect("atomic_fetch_add32", "stdw [%r10-8], -1\nmov %r1, 1\nlock fetch add32 [%r10-8], %r1\n"
           "ldxdw %r0, [%r10-8]\nadd %r0, %r1\nexit\n", NULL, 0, 0xffffffff00000000ull + 0xffffffffull,
           NULL);
    expect("atomic_fetch_or_src_r0", "stdw [%r10-8], 0x0f\nmov %r0, 0xf0\n"
           "lock fetch or [%r10-8], %r0\nldxdw %r1, [%r10-8]\nmul %r0, 1000\nadd %r0, %r1\nexit\n",
           NULL, 0, 15 * 1000 + 0xff, NULL);
    expect("atomic_fetch_and_keeps_r0", "stdw [%r10-8], 0x0f\nmov %r0, 77\nmov %r2, 6\n"
           "lock fetch and [%r10-8], %r2\nldxdw %r1, [%r10-8]\nmul %r0, 1000\nmul %r2, 100\n"
           "add %r0, %r2\nadd %r0, %r1\nexit\n", NULL, 0, 77000 + 1500 + 6, NULL);
    expect("atomic_fetch_xor32_addr_in_r0", "stdw [%r10-8], 0x0f\nmov %r0, %r10\nmov %r1, 5\n"
           "lock fetch xor32 [%r0-8], %r1\nldxdw %r0, [%r10-8]\nmul %r0, 100\nadd %r0, %r1\nexit\n",
           NULL, 0, 10 * 100 + 15, NULL);
    expect("atomic_xchg", "stdw [%r10-8], 4\nmov %r1, 9\nlock xchg [%r10-8], %r1\n"
           "ldxdw %r0, [%r10-8]\nmul %r0, 10\nadd %r0, %r1\nexit\n", NULL, 0, 94, NULL);
    expect("atomic_cmpxchg_hit", "stdw [%r10-8], 4\nmov %r0, 4\nmov %r1, 9\n"
           "lock cmpxchg [%r10-8], %r1\nldxdw %r1, [%r10-8]\nmul %r0, 10\nadd %r0, %r1\nexit\n",
           NULL, 0, 49, NULL);
    expect("atomic_cmpxchg32_hit_zero_extends", "stdw [%r10-8], 4\nlddw %r0, 0x700000004\n"
           "mov %r1, 9\nlock cmpxchg32 [%r10-8], %r1\nexit\n", NULL, 0, 4, NULL);
    expect("atomic_cmpxchg_miss", "stdw [%r10-8], 4\nmov %r0, 5\nmov %r1, 9\n"
           "lock cmpxchg [%r10-8], %r1\nldxdw %r1, [%r10-8]\nmul %r0, 10\nadd %r0, %r1\nexit\n",
           NULL, 0, 44, NULL);
}

static void test_calls(void)
{
    expect("call_local_saves_r6_r9_and_frame",
           "mov %r6, 1\nmov %r7, 2\nmov %r8, 3\nmov %r9, 4\nstdw [%r10-8], 100\nmov %r1, 10\n"
           "call local func\n"
           "ldxdw %r1, [%r10-8]\nadd %r0, %r1\nadd %r0, %r6\nadd %r0, %r7\nadd %r0, %r8\n"
           "add %r0, %r9\nexit\n"
           "func:\nmov %r6, 1000\nmov %r7, 1000\nmov %r8, 1000\nmov %r9, 1000\n"
           "stdw [%r10-8], 5000\nldxdw %r0, [%r10-8]\nadd %r0, %r1\nexit\n",
           NULL, 0, 5000 + 10 + 100 + 10, NULL);
    expect("call_local_depth_8",
           "mov %r0, 0\ncall local f1\nexit\n"
           "f1:\ncall local f2\nadd %r0, 1\nexit\n"
           "f2:\ncall local f3\nadd %r0, 1\nexit\n"
           "f3:\ncall local f4\nadd %r0, 1\nexit\n"
           "f4:\ncall local f5\nadd %r0, 1\nexit\n"
           "f5:\ncall local f6\nadd %r0, 1\nexit\n"
           "f6:\ncall local f7\nadd %r0, 1\nexit\n"
           "f7:\nmov %r0, 100\nexit\n", NULL, 0, 106, NULL);

    uint8_t three[3] = {0};
    expect("call_local_main_recursively", "main:\njeq %r2, 0, bottom\nsub %r2, 1\ncall local main\n"
           "add %r0, 1\nexit\nbottom:\nmov %r0, 100\nexit\n", three, 3, 103, NULL);

    /* unbounded recursion stops at the call depth limit with an error naming it */
    struct jit_prog p;
    if (build(&p, "call_depth_exceeded", "call local f\nexit\nf:\ncall local f\nexit\n", NULL, false)) {
        struct xdpvm_run run = {.prog = &p.prog};
        uint64_t r0;
        int rc = xdpvm_jit_run(&run, &r0);
        test_check(rc == -E2BIG && strstr(run.error_message, "call depth"), "call_depth_exceeded",
                   "rc %d, message '%s'", rc, run.error_message);
        destroy(&p);
    }
}

static void test_helpers(void)
{
    expect("helper_args_in_place", "mov %r1, 1\nmov %r2, 10\nmov %r3, 100\nmov %r4, 1000\n"
           "mov %r5, 10000\nmov %r6, 7\ncall 1\nadd %r0, %r6\nexit\n", NULL, 0,
           1 + 20 + 300 + 4000 + 50000 + 7, &helpers);
    expect("helper_stop_unwinds", "mov %r1, 0\ncall local f\nmov %r0, 1\nexit\n"
           "f:\ncall 5\nmov %r0, 2\nexit\n", NULL, 0, 0x5707, &helpers);
    expect("helper_no_stop", "mov %r1, 3\ncall 5\nexit\n", NULL, 0, 3, &helpers);
    expect("callx", "mov %r1, 1\nmov %r2, 0\nmov %r3, 0\nmov %r4, 0\nmov %r5, 0\nmov %r6, 1\n"
           "call %r6\nexit\n", NULL, 0, 1, &helpers);
    /* callback through run->call_subprog: sum of (i * 10 + ctx) for i < 4 */
    expect("callback_call_subprog", "mov %r1, 4\nlddw %r2, 6, func\nmov %r3, 7\nmov %r6, 1\n"
           "call 181\nadd %r0, %r6\nexit\n"
           "mov %r0, %r1\nmul %r0, 10\nadd %r0, %r2\nexit\n", NULL, 0, 60 + 28 + 1, &helpers);

    struct jit_prog p;
    if (build(&p, "helper_error", "mov %r1, 42\ncall 6\nmov %r0, 1\nexit\n", &helpers, false)) {
        struct xdpvm_run run = {.prog = &p.prog};
        uint64_t r0 = 0;
        int rc = xdpvm_jit_run(&run, &r0);
        test_check(rc == -EFAULT && strstr(run.error_message, "42"), "helper_error",
                   "rc %d, message '%s'", rc, run.error_message);
        destroy(&p);
    }
    if (build(&p, "callx_unknown_helper", "mov %r2, 99\ncall %r2\nexit\n", &helpers, false)) {
        struct xdpvm_run run = {.prog = &p.prog};
        uint64_t r0 = 0;
        int rc = xdpvm_jit_run(&run, &r0);
        test_check(rc == -EINVAL && strstr(run.error_message, "99"), "callx_unknown_helper",
                   "rc %d, message '%s'", rc, run.error_message);
        destroy(&p);
    }
    {
        memset(&p, 0, sizeof(p));
        struct xdpvm_asm_error aerr;
        snprintf(p.prog.name, sizeof(p.prog.name), "unknown_helper");
        if (!xdpvm_asm("call 77\nexit\n", &p.prog.insns, &p.prog.count, &aerr)) {
            p.prog.helpers = &helpers;
            char err[256];
            int rc = xdpvm_jit_compile(&p.prog, NULL, err, sizeof(err));
            test_check(rc == -EINVAL && strstr(err, "instruction 0") && strstr(err, "77"),
                       "unknown_helper_refused", "rc %d, message '%s'", rc, err);
            if (!rc)
                xdpvm_jit_free(&p.prog);
            free(p.prog.insns);
        }
    }
}

static void test_tail_calls(void)
{
    struct jit_prog target, caller, self;
    if (!build(&target, "tail_target", "mov %r0, %r1\nadd %r0, 1000\nexit\n", &helpers, false))
        return;
    if (build(&caller, "tail_call", "mov %r6, %r1\nmov %r1, 0\ncall local f\nmov %r0, 1\nexit\n"
              "f:\ncall 12\nmov %r0, 2\nexit\n", &helpers, false)) {
        tail_target = &target.prog;
        struct xdpvm_run run = {.prog = &caller.prog, .ctx = (void *)(uintptr_t)5};
        uint64_t r0 = 0;
        int rc = xdpvm_jit_run(&run, &r0);
        test_check(rc == 0 && r0 == 1005 && run.prog == &target.prog, "tail_call_from_subprog",
                   "rc %d r0 %" PRIu64, rc, r0);
        destroy(&caller);
    }
    /* a program tail-calling itself stops after XDPVM_MAX_TAIL_CALLS */
    if (build(&self, "tail_call_limit", "mov %r6, %r1\nldxdw %r0, [%r6]\nadd %r0, 1\nstxdw [%r6], %r0\n"
              "call 12\nmov %r0, 77\nexit\n", &helpers, false)) {
        tail_target = &self.prog;
        uint64_t counter = 0;
        struct xdpvm_run run = {.prog = &self.prog, .ctx = &counter};
        uint64_t r0 = 0;
        int rc = xdpvm_jit_run(&run, &r0);
        test_check(rc == 0 && r0 == 77 && counter == XDPVM_MAX_TAIL_CALLS + 1, "tail_call_limit",
                   "rc %d r0 %" PRIu64 " runs %" PRIu64, rc, r0, counter);
        destroy(&self);
    }
    tail_target = NULL;
    destroy(&target);
}

/* The code pages are mapped read+execute and not writable. */
static void test_wx(void)
{
    struct jit_prog p;
    if (!build(&p, "w_xor_x", "mov %r0, 1\nexit\n", NULL, false))
        return;
    uintptr_t code = (uintptr_t)p.prog.jit_code;
    FILE *maps = fopen("/proc/self/maps", "r");
    char line[512], perms[8] = "";
    while (maps && fgets(line, sizeof(line), maps)) {
        unsigned long lo, hi;
        char pr[8];
        if (sscanf(line, "%lx-%lx %7s", &lo, &hi, pr) == 3 && code >= lo && code < hi) {
            snprintf(perms, sizeof(perms), "%s", pr);
            break;
        }
    }
    if (maps)
        fclose(maps);
    test_check(perms[0] == 'r' && perms[1] == '-' && perms[2] == 'x', "w_xor_x",
               "code mapping permissions '%s'", perms);
    destroy(&p);
}

static bool code_contains(const struct xdpvm_prog *prog, uint32_t value)
{
    const uint8_t *code = prog->jit_code;
    for (size_t i = 0; i + 4 <= prog->jit_size; i++) {
        uint32_t v;
        memcpy(&v, code + i, 4);
        if (v == value)
            return true;
    }
    return false;
}

static void test_blinding(void)
{
    const char *text = "mov %r0, 0x5eed1234\nadd %r0, 0x1badcafe\nlddw %r1, 0x0badf00d0badf00d\n"
                       "stw [%r10-4], 0x600dbeef\njeq %r0, 0x3141592, +0\nexit\n";
    struct jit_prog plain, blind;
    if (!build(&plain, "blinding_plain", text, NULL, false))
        return;
    if (!build(&blind, "blinding", text, NULL, true)) {
        destroy(&plain);
        return;
    }
    const uint32_t consts[] = {0x5eed1234, 0x1badcafe, 0x0badf00d, 0x600dbeef, 0x3141592};
    bool plain_has_all = true, blind_has_any = false;
    for (size_t i = 0; i < sizeof(consts) / sizeof(consts[0]); i++) {
        plain_has_all &= code_contains(&plain.prog, consts[i]);
        blind_has_any |= code_contains(&blind.prog, consts[i]);
    }
    test_check(plain_has_all && !blind_has_any, "blinding_hides_immediates",
               "plain code has them all: %d, blinded code has one: %d", plain_has_all, blind_has_any);
    destroy(&plain);
    destroy(&blind);
}

static void test_errors(void)
{
    struct xdpvm_prog prog = {.name = "bad_jump"};
    struct xdpvm_insn insns[2] = {{.code = 0x05, .off = 5}, {.code = 0x95}};
    prog.insns = insns;
    prog.count = 2;
    char err[256];
    int rc = xdpvm_jit_compile(&prog, NULL, err, sizeof(err));
    test_check(rc == -EINVAL && strstr(err, "bad_jump") && prog.exec == NULL && !prog.jit_code,
               "bad_jump_refused", "rc %d, message '%s'", rc, err);
    test_check(xdpvm_jit_available(), "available_on_x86_64", "xdpvm_jit_available() is false");
}

/* bpf_map_lookup_elem on array maps is inlined: same answers as the helper, including
 * NULL for an index past the end and, per-CPU only, for a worker index past the map's CPUs.
 * Twice: the key read from the register clang just stored it from, and reloaded from the
 * stack when the store comes before r2 is set. */
static void test_inline_array_lookup(void)
{
    const struct xdpvm_helper_table *xdp_helpers = xdpvm_helpers_for(XDPVM_PROG_XDP);
    static const uint32_t types[] = {XDPVM_MAP_ARRAY, XDPVM_MAP_PERCPU_ARRAY};
    for (int variant = 0; variant < 4; variant++) {
        int t = variant & 1;
        bool reload = variant >> 1;
        char name[64], err[256];
        snprintf(name, sizeof(name), "inline_lookup_%s%s", t ? "percpu_array" : "array",
                 reload ? "_key_reloaded" : "");
        struct xdpvm_map_spec spec = {"values", types[t], 4, 12, 5, 0};
        struct xdpvm_map *map = xdpvm_map_create(&spec, 3, err, sizeof(err));
        if (!map) {
            test_fail(name, "map: %s", err);
            continue;
        }
        /* value of key k (all cpus): k * 100 + cpu in the first 8 bytes */
        for (uint32_t k = 0; k < 5; k++) {
            uint64_t values[3][2] = {{0}};
            for (int c = 0; c < 3; c++)
                values[c][0] = k * 100 + (uint64_t)(t ? c : 0);
            xdpvm_map_user_update(map, &k, values, XDPVM_ANY);
        }
        /* r0 = lookup(map, &r2key) ? *(u64 *)r0 : 0xffff, key from r1 (args[0]) */
        struct xdpvm_insn insns[16];
        size_t n = 0;
        struct xdpvm_decoded d[] = {
            {.op = XDPVM_OP_STXW, .dst = 10, .src = 1, .off = -4},
            {.op = XDPVM_OP_MOV64_REG, .dst = 2, .src = 10},
            {.op = XDPVM_OP_ADD64_IMM, .dst = 2, .imm = -4},
            {.op = XDPVM_OP_LDDW, .dst = 1, .src = XDPVM_PSEUDO_MAP_FD, .imm64 = (uint64_t)(uintptr_t)map},
            {.op = XDPVM_OP_CALL, .imm = 1},
            {.op = XDPVM_OP_JEQ_IMM, .dst = 0, .off = 2},
            {.op = XDPVM_OP_LDXDW, .dst = 0, .src = 0},
            {.op = XDPVM_OP_EXIT},
            {.op = XDPVM_OP_MOV64_IMM, .dst = 0, .imm = 0xffff},
            {.op = XDPVM_OP_EXIT},
        };
        if (reload) { /* r2 = r10 - 4 first, then the store */
            struct xdpvm_decoded store = d[0];
            d[0] = d[1], d[1] = d[2], d[2] = store;
        }
        for (size_t i = 0; i < sizeof(d) / sizeof(d[0]); i++)
            n += xdpvm_isa_encode(&d[i], &insns[n]);
        struct xdpvm_map *maps[1] = {map};
        struct xdpvm_prog prog = {.insns = insns, .count = n, .maps = maps, .map_count = 1,
                                  .helpers = xdp_helpers, .type = XDPVM_PROG_XDP};
        snprintf(prog.name, sizeof(prog.name), "%s", name);
        if (xdpvm_jit_compile(&prog, NULL, err, sizeof(err))) {
            test_fail(name, "compile: %s", err);
            xdpvm_map_free(map);
            continue;
        }
        /* inlined: no call to the helper's address in the code */
        const xdpvm_helper_fn fn = xdp_helpers->by_id[1]->fn;
        uint64_t addr = (uint64_t)(uintptr_t)fn;
        bool has_call = false;
        for (size_t i = 0; i + 8 <= prog.jit_size; i++)
            has_call |= !memcmp((const uint8_t *)prog.jit_code + i, &addr, 8);
        bool ok = !has_call;
        struct { uint32_t key; unsigned cpu; uint64_t want; } cases[] = {
            {0, 0, 0}, {3, 0, 300}, {4, 2, 400 + (t ? 2 : 0)}, {5, 0, 0xffff},
            {0xffffffff, 0, 0xffff}, {2, 3, t ? 0xffff : 200}, {1, 1, 100 + (t ? 1 : 0)},
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]) && ok; i++) {
            struct xdpvm_run run = {.prog = &prog, .cpu = cases[i].cpu};
            uint64_t args[5] = {cases[i].key, 0, 0, 0, 0}, r0 = 0;
            int rc = xdpvm_jit_run_args(&run, args, &r0);
            const uint64_t *helper = xdpvm_map_lookup(map, &cases[i].key, cases[i].cpu);
            if ((helper ? *helper : 0xffff) != cases[i].want) {
                test_fail(name, "key %u cpu %u: the helper disagrees with the expected value",
                          cases[i].key, cases[i].cpu);
                ok = false;
            } else if (rc || r0 != cases[i].want) {
                test_fail(name, "key %u cpu %u: rc %d r0 %" PRIu64 ", want %" PRIu64, cases[i].key,
                          cases[i].cpu, rc, r0, cases[i].want);
                ok = false;
            }
        }
        if (has_call)
            test_fail(name, "the lookup was not inlined");
        else if (ok)
            test_pass(name);
        xdpvm_jit_free(&prog);
        xdpvm_map_free(map);
    }
}

/* Runs text on a copy of mem (r1 = its address) under the JIT (plain and blinded) and the
 * checked interpreter: r0 and the memory afterwards must be the same. */
static void expect_like_interpreter(const char *name, const char *text, const uint8_t *mem, size_t len)
{
    uint8_t want_mem[64], got_mem[64];
    if (len > sizeof(want_mem)) {
        test_fail(name, "test memory too large");
        return;
    }
    struct xdpvm_prog interp = {0};
    struct xdpvm_asm_error aerr;
    char err[256] = "";
    if (xdpvm_asm(text, &interp.insns, &interp.count, &aerr)) {
        test_fail(name, "assembly failed at line %u: %s", aerr.line, aerr.message);
        return;
    }
    snprintf(interp.name, sizeof(interp.name), "%s", name);
    memcpy(want_mem, mem, len);
    uint64_t want = 0;
    struct xdpvm_run irun = {.prog = &interp};
    xdpvm_run_add_region(&irun, want_mem, len, true, "test memory");
    const uint64_t iargs[5] = {(uint64_t)(uintptr_t)want_mem, len};
    if (xdpvm_interp_prepare(&interp, err, sizeof(err)) || xdpvm_interp_run_args(&irun, iargs, &want)) {
        test_fail(name, "interpreter: %s%s", err, irun.error_message);
        xdpvm_interp_release(&interp);
        free(interp.insns);
        return;
    }
    xdpvm_interp_release(&interp);
    free(interp.insns);
    for (int blind = 0; blind < 2; blind++) {
        char full[128];
        snprintf(full, sizeof(full), "%s%s", name, blind ? "/blinded" : "");
        struct jit_prog p;
        if (!build(&p, full, text, NULL, blind))
            continue;
        memcpy(got_mem, mem, len);
        struct xdpvm_run run = {.prog = &p.prog};
        uint64_t args[5] = {(uint64_t)(uintptr_t)got_mem, len, 0, 0, 0}, r0 = 0;
        int rc = xdpvm_jit_run_args(&run, args, &r0);
        size_t diff = 0;
        while (diff < len && got_mem[diff] == want_mem[diff])
            diff++;
        if (rc)
            test_fail(full, "run failed (%d): %s", rc, run.error_message);
        else
            test_check(r0 == want && diff == len, full, "r0 %#" PRIx64 " (interpreter %#" PRIx64 "), "
                       "first different byte %zu of %zu", r0, want, diff, len);
        destroy(&p);
    }
}

/* Pairs `ldxb rT, [rP+s]; stxb [rP+d], rT` stepping together become wider moves in the JIT
 * where the runs do not overlap; each case is checked against the interpreter. */
static void copy_program(char *text, size_t size, int count, int src, int dst, int step,
                         const char *before, const char *after)
{
    size_t used = (size_t)snprintf(text, size, "mov %%r3, 0x77\n%s", before);
    for (int i = 0; i < count && used < size; i++)
        used += (size_t)snprintf(text + used, size - used, "ldxb %%r3, [%%r1%+d]\nstxb [%%r1%+d], %%r3\n",
                                 src + step * i, dst + step * i);
    if (used < size)
        snprintf(text + used, size - used, "%s", after);
}

static void test_byte_copies(void)
{
    uint8_t mem[48];
    for (size_t i = 0; i < sizeof(mem); i++)
        mem[i] = (uint8_t)(0xa0 + i);
    char text[4096], name[96];
    const char *keep = "mov %r0, %r3\nexit\n";                  /* rT read after the run */
    const char *overwrite = "mov %r3, 5\nmov %r0, %r3\nexit\n"; /* rT written first */
    for (int count = 1; count <= 10; count++) {
        for (int step = -1; step <= 1; step += 2) {
            int src = step > 0 ? 0 : 12, dst = step > 0 ? 24 : 45;
            snprintf(name, sizeof(name), "byte copy: %d bytes, step %+d, temp read after", count, step);
            copy_program(text, sizeof(text), count, src, dst, step, "", keep);
            expect_like_interpreter(name, text, mem, sizeof(mem));
            snprintf(name, sizeof(name), "byte copy: %d bytes, step %+d, temp overwritten", count, step);
            copy_program(text, sizeof(text), count, src, dst, step, "", overwrite);
            expect_like_interpreter(name, text, mem, sizeof(mem));
            /* overlapping source and destination: copied byte by byte, earlier bytes propagate */
            snprintf(name, sizeof(name), "byte copy: %d bytes, step %+d, overlapping", count, step);
            copy_program(text, sizeof(text), count, src, src + 2 * step, step, "", keep);
            expect_like_interpreter(name, text, mem, sizeof(mem));
        }
    }
    /* a jump landing on the second pair: the run starts there */
    copy_program(text, sizeof(text), 4, 0, 24, 1, "ja +2\n", keep);
    expect_like_interpreter("byte copy: jump into the run", text, mem, sizeof(mem));
    /* a jump landing between a pair's load and store: no run across it */
    copy_program(text, sizeof(text), 4, 0, 24, 1, "ldxb %r3, [%r1+40]\nja +1\n", keep);
    expect_like_interpreter("byte copy: jump to a store", text, mem, sizeof(mem));
    /* the temporary read later, after unrelated instructions; and read by a store */
    copy_program(text, sizeof(text), 6, 0, 24, 1, "", "mov %r4, 1\nadd %r4, 2\nmov %r0, %r3\nexit\n");
    expect_like_interpreter("byte copy: temp read later", text, mem, sizeof(mem));
    copy_program(text, sizeof(text), 6, 0, 24, 1, "", "stxb [%r1+47], %r3\nmov %r0, 0\nexit\n");
    expect_like_interpreter("byte copy: temp stored after", text, mem, sizeof(mem));
    /* stores through another register that points at the same memory: not a run */
    expect_like_interpreter("byte copy: two base registers",
                            "mov %r2, %r1\nldxb %r3, [%r1]\nstxb [%r2+1], %r3\nldxb %r3, [%r1+1]\n"
                            "stxb [%r2+2], %r3\nmov %r0, %r3\nexit\n", mem, sizeof(mem));
}

struct asm_case {
    const char *name, *text;
};

static void expect_cases_like_interpreter(const char *what, const struct asm_case *cases, size_t count,
                                          const uint8_t *mem, size_t len)
{
    char name[128];
    for (size_t i = 0; i < count; i++) {
        snprintf(name, sizeof(name), "%s: %s", what, cases[i].name);
        expect_like_interpreter(name, cases[i].text, mem, len);
    }
}

/* Byte stores of one value's bytes to consecutive offsets become one wider store in the JIT
 * where nothing between them can tell (src/jit/jit.c, plan_byte_stores); each case is
 * checked against the interpreter, memory and r0 (which sums the registers the stores used). */
static void test_byte_stores(void)
{
    uint8_t mem[48];
    for (size_t i = 0; i < sizeof(mem); i++)
        mem[i] = (uint8_t)(0x31 + 7 * i);
    static const struct asm_case cases[] = {
        {"32-bit value, clang's order (as macswap)",
         "ldxw %r2, [%r1+0]\nmov32 %r3, %r2\nrsh32 %r3, 16\nstxb [%r1+18], %r3\nmov32 %r3, %r2\n"
         "rsh32 %r3, 24\nstxb [%r1+19], %r3\nstxb [%r1+16], %r2\nrsh32 %r2, 8\nstxb [%r1+17], %r2\n"
         "mov %r0, %r2\nadd %r0, %r3\nexit\n"},
        {"16-bit value",
         "ldxh %r2, [%r1+4]\nstxb [%r1+20], %r2\nrsh32 %r2, 8\nstxb [%r1+21], %r2\nmov %r0, %r2\nexit\n"},
        {"64-bit value through 64-bit shifts",
         "ldxdw %r2, [%r1+0]\nmov %r3, %r2\nstxb [%r1+24], %r3\nrsh %r3, 8\nstxb [%r1+25], %r3\n"
         "rsh %r3, 8\nstxb [%r1+26], %r3\nrsh %r3, 8\nstxb [%r1+27], %r3\nrsh %r3, 8\n"
         "stxb [%r1+28], %r3\nrsh %r3, 8\nstxb [%r1+29], %r3\nrsh %r3, 8\nstxb [%r1+30], %r3\n"
         "rsh %r3, 8\nstxb [%r1+31], %r3\nmov %r0, %r3\nexit\n"},
        {"64-bit value, a 32-bit copy cannot give its high bytes",
         "ldxdw %r2, [%r1+0]\nmov32 %r3, %r2\nrsh32 %r3, 24\nstxb [%r1+27], %r3\nstxb [%r1+24], %r2\n"
         "mov32 %r4, %r2\nrsh32 %r4, 8\nstxb [%r1+25], %r4\nrsh32 %r4, 8\nstxb [%r1+26], %r4\n"
         "mov32 %r5, %r2\nrsh32 %r5, 24\nrsh32 %r5, 8\nstxb [%r1+28], %r5\nmov %r0, %r4\nexit\n"},
        {"bytes in reverse order (big-endian)",
         "ldxh %r2, [%r1+4]\nstxb [%r1+21], %r2\nrsh32 %r2, 8\nstxb [%r1+20], %r2\nmov %r0, %r2\nexit\n"},
        {"a load of a stored byte in between",
         "ldxh %r2, [%r1+4]\nstxb [%r1+20], %r2\nldxb %r4, [%r1+21]\nrsh32 %r2, 8\nstxb [%r1+21], %r2\n"
         "mov %r0, %r4\nexit\n"},
        {"two base registers that alias",
         "mov %r4, %r1\nadd %r4, 1\nmov %r5, 0x99\nldxh %r2, [%r1+4]\nstxb [%r1+20], %r2\n"
         "stxb [%r4+20], %r5\nrsh32 %r2, 8\nstxb [%r1+21], %r2\nmov %r0, %r2\nexit\n"},
        {"a 32-bit copy holds only four bytes of a 64-bit value",
         "ldxdw %r2, [%r1+0]\nmov32 %r3, %r2\nrsh %r2, 32\nstxb [%r1+24], %r3\nrsh32 %r3, 8\n"
         "stxb [%r1+25], %r3\nrsh32 %r3, 8\nstxb [%r1+26], %r3\nrsh32 %r3, 8\nstxb [%r1+27], %r3\n"
         "stxb [%r1+28], %r2\nrsh %r2, 8\nstxb [%r1+29], %r2\nrsh %r2, 8\nstxb [%r1+30], %r2\n"
         "rsh %r2, 8\nstxb [%r1+31], %r2\nmov %r0, %r3\nexit\n"},
        {"another value's store to one of the bytes in between",
         "ldxh %r2, [%r1+4]\nmov %r5, 0x99\nstxb [%r1+20], %r2\nstxb [%r1+21], %r5\nrsh32 %r2, 8\n"
         "stxb [%r1+21], %r2\nmov %r0, %r2\nexit\n"},
        {"the same byte stored twice",
         "ldxh %r2, [%r1+4]\nstxb [%r1+20], %r2\nstxb [%r1+20], %r2\nrsh32 %r2, 8\nstxb [%r1+21], %r2\n"
         "mov %r0, %r2\nexit\n"},
        {"the base register moves in between",
         "ldxh %r2, [%r1+4]\nstxb [%r1+20], %r2\nadd %r1, 1\nrsh32 %r2, 8\nstxb [%r1+21], %r2\n"
         "mov %r0, %r2\nexit\n"},
        {"a jump lands between the stores",
         "ldxh %r2, [%r1+4]\nstxb [%r1+20], %r2\nja +0\nrsh32 %r2, 8\nstxb [%r1+21], %r2\n"
         "mov %r0, %r2\nexit\n"},
        {"the value's register replaced before the first store",
         "ldxw %r2, [%r1+0]\nmov32 %r3, %r2\nrsh32 %r3, 8\nmov %r2, 7\nstxb [%r1+21], %r3\n"
         "rsh32 %r3, 8\nstxb [%r1+22], %r3\nmov %r0, %r2\nexit\n"},
        {"shifts that are not whole bytes",
         "ldxh %r2, [%r1+4]\nstxb [%r1+20], %r2\nrsh32 %r2, 4\nrsh32 %r2, 4\nstxb [%r1+21], %r2\n"
         "rsh32 %r2, 3\nstxb [%r1+22], %r2\nmov %r0, %r2\nexit\n"},
        {"after a byte copy run, the next byte of its last value",
         "ldxb %r3, [%r1+0]\nstxb [%r1+24], %r3\nldxb %r3, [%r1+1]\nstxb [%r1+25], %r3\nrsh32 %r3, 8\n"
         "stxb [%r1+26], %r3\nmov %r0, %r3\nexit\n"},
        {"stack value stored to the packet (three of four bytes)",
         "ldxw %r2, [%r1+8]\nstxw [%r10-8], %r2\nldxw %r2, [%r10-8]\nstxb [%r1+30], %r2\nrsh32 %r2, 8\n"
         "stxb [%r1+31], %r2\nrsh32 %r2, 8\nstxb [%r1+32], %r2\nmov %r0, %r2\nexit\n"},
    };
    expect_cases_like_interpreter("byte stores", cases, sizeof(cases) / sizeof(cases[0]), mem, sizeof(mem));
}

/* Two byte loads assembled into a 16-bit value become one 16-bit load in the JIT
 * (emit_byte_pair_load); each case against the interpreter. */
static void test_byte_pair_loads(void)
{
    uint8_t mem[48];
    for (size_t i = 0; i < sizeof(mem); i++)
        mem[i] = (uint8_t)(0x91 + 11 * i);
    static const struct asm_case cases[] = {
        {"little-endian", "ldxb %r2, [%r1+12]\nldxb %r3, [%r1+13]\nlsh32 %r3, 8\nor32 %r3, %r2\n"
                          "mov %r0, %r3\nlsh %r0, 16\nor %r0, %r2\nexit\n"},
        {"big-endian", "ldxb %r2, [%r1+13]\nldxb %r3, [%r1+12]\nlsh %r3, 8\nor %r3, %r2\n"
                       "mov %r0, %r3\nlsh %r0, 16\nor %r0, %r2\nexit\n"},
        {"the second load replaces the base",
         "mov %r4, %r1\nldxb %r2, [%r4+12]\nldxb %r4, [%r4+13]\nlsh32 %r4, 8\nor32 %r4, %r2\n"
         "mov %r0, %r4\nlsh %r0, 16\nor %r0, %r2\nexit\n"},
        {"not adjacent (no idiom)", "ldxb %r2, [%r1+12]\nldxb %r3, [%r1+14]\nlsh32 %r3, 8\nor32 %r3, %r2\n"
                                    "mov %r0, %r3\nexit\n"},
        {"jump into the middle", "mov %r2, 0x55\nmov %r3, 0x66\nja +1\nldxb %r2, [%r1+12]\n"
                                 "ldxb %r3, [%r1+13]\nlsh32 %r3, 8\nor32 %r3, %r2\nmov %r0, %r3\nexit\n"},
    };
    expect_cases_like_interpreter("byte pair load", cases, sizeof(cases) / sizeof(cases[0]), mem,
                                  sizeof(mem));
}

/* Random straight-line byte shuffling (byte and wider loads and stores through two bases
 * that alias, moves, whole-byte and other shifts, an occasional jump target), the code the
 * byte-copy and byte-store merging look at: the JIT must match the interpreter. */
static void test_random_byte_code(void)
{
    uint8_t mem[48];
    for (size_t i = 0; i < sizeof(mem); i++)
        mem[i] = (uint8_t)(0x5b + 13 * i);
    uint64_t state = 0x2545f4914f6cdd1dull;
    int programs = test_sanitized() ? 200 : 2000;
    static const char *const values[] = {"%r2", "%r3", "%r5"};
    static const char *const bases[] = {"%r1", "%r4"};
    static const char *const loads[] = {"ldxb", "ldxh", "ldxw", "ldxdw"};
    char text[16384], name[64];
#define EMIT(...) (used += (size_t)snprintf(text + used, sizeof(text) - used, __VA_ARGS__))
    for (int n = 0; n < programs; n++) {
        size_t used = 0;
        EMIT("mov %%r0, 0x6d\nmov %%r4, %%r1\nadd %%r4, 2\nldxdw %%r2, [%%r1+0]\nldxdw %%r3, [%%r1+8]\nldxw %%r5, [%%r1+16]\n");
        int pieces = 3 + (int)(test_xorshift64(&state) % 8);
        for (int i = 0; i < pieces && used + 1024 < sizeof(text); i++) {
            uint64_t r = test_xorshift64(&state);
            const char *v = values[r % 3], *w = values[(r >> 2) % 3], *base = bases[(r >> 4) % 2];
            int off = 8 + (int)((r >> 8) % 16);
            switch ((r >> 16) % 6) {
            case 0: { /* the bytes of a value, in some order, by shifted copies or by shifting it */
                int len = 2 << ((r >> 24) % 3), first = (int)((r >> 28) % (unsigned)len);
                bool copies = (r >> 32) % 2;
                for (int k = 0; k < len; k++) {
                    int byte = (first + k) % len;
                    if (copies) {
                        EMIT("%s %s, %s\n", (r >> (33 + k)) % 4 ? "mov32" : "mov", w, v);
                        if (byte)
                            EMIT("%s %s, %d\n", byte < 4 && (r >> (40 + k)) % 2 ? "rsh32" : "rsh", w, 8 * byte);
                        EMIT("stxb [%s%+d], %s\n", base, off + byte, w);
                    } else {
                        EMIT("stxb [%s%+d], %s\n", base, off + k, v);
                        EMIT("%s %s, 8\n", (r >> (33 + k)) % 3 ? "rsh" : "rsh32", v);
                    }
                    if ((r >> (48 + k)) % 16 == 0) /* something in between */
                        EMIT("%s\n", (r >> 56) % 3 == 0 ? "ja +0" : (r >> 56) % 3 == 1 ? "add %r4, 1"
                                                                                         : "ldxb %r0, [%r1+9]");
                    else if ((r >> (48 + k)) % 16 == 1) /* another value to one of these bytes */
                        EMIT("stxb [%s%+d], %%r0\n", base, off + (int)((r >> 58) % (unsigned)len));
                }
                break;
            }
            case 1: { /* byte copy pairs, sometimes overlapping */
                int pairs = 1 + (int)((r >> 24) % 9), step = (r >> 28) % 2 ? 1 : -1;
                int src = 8 + (int)((r >> 32) % 12), dst = src + (int)((r >> 40) % 16) - 4;
                if (step < 0) {
                    src += pairs;
                    dst += pairs;
                }
                for (int k = 0; k < pairs; k++)
                    EMIT("ldxb %s, [%%r1%+d]\nstxb [%%r1%+d], %s\n", v, src + step * k, dst + step * k, v);
                if ((r >> 50) % 2)
                    EMIT("mov %%r0, %s\n", v);
                break;
            }
            case 2:
                if ((r >> 30) % 2) { /* a byte pair assembled, sometimes into the base */
                    const char *hi = (r >> 31) % 4 == 0 && !strcmp(base, "%r4") ? base : w;
                    int second = off + ((r >> 33) % 2 ? 1 : -1);
                    if (strcmp(v, hi) && strcmp(v, base))
                        EMIT("ldxb %s, [%s%+d]\nldxb %s, [%s%+d]\n%s %s, 8\n%s %s, %s\n", v, base, off, hi, base,
                             second, (r >> 34) % 2 ? "lsh32" : "lsh", hi, (r >> 35) % 2 ? "or32" : "or", hi, v);
                    if (!strcmp(hi, base)) /* r4 again: r1 + 2 */
                        EMIT("mov %%r4, %%r1\nadd %%r4, 2\n");
                    break;
                }
                EMIT("%s %s, [%s%+d]\n", loads[(r >> 24) % 4], v, base, off - 8);
                break;
            case 3:
                EMIT("%s [%s%+d], %s\n", (r >> 24) % 2 ? "stxh" : "stxb", base, off, v);
                break;
            case 4:
                EMIT("%s %s, %d\n", (r >> 24) % 2 ? "rsh32" : "rsh", v, (r >> 25) % 4 ? 8 : (int)((r >> 27) % 20));
                break;
            default:
                EMIT("%s\n", (r >> 24) % 3 == 0 ? "ja +0" : (r >> 24) % 3 == 1 ? "add %r4, 1" : "add %r2, %r3");
                break;
            }
        }
        EMIT("mov %%r0, %%r2\nxor %%r0, %%r3\nxor %%r0, %%r5\nexit\n");
        snprintf(name, sizeof(name), "random byte code %d", n);
        expect_like_interpreter(name, text, mem, sizeof(mem));
    }
#undef EMIT
}

int main(void)
{
    helpers.by_id[1] = &h_sum;
    helpers.by_id[5] = &h_stop;
    helpers.by_id[6] = &h_fail;
    helpers.by_id[12] = &h_tail;
    helpers.by_id[181] = &h_loop;
    test_alu();
    test_divmod();
    test_shifts();
    test_moves_and_swaps();
    test_jumps();
    test_memory();
    test_atomics();
    test_calls();
    test_helpers();
    test_tail_calls();
    test_wx();
    test_blinding();
    test_errors();
    test_inline_array_lookup();
    test_byte_copies();
    test_byte_stores();
    test_byte_pair_loads();
    test_random_byte_code();
    return test_exit_code();
}
