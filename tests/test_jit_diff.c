/* Differential test: JIT against the (checked) interpreter.
 *
 * 1. Every row of the opcode table that computes or branches (ALU, ALU32, byte swaps,
 *    sign-extending moves, JMP, JMP32) and every memory row (LDX, LDXS, ST, STX, atomics),
 *    with every pair of BPF registers as operands, on edge-case and random values. This is
 *    where x86 register constraints bite (rax/rdx in division, rcx in shifts, rax in
 *    cmpxchg, byte registers).
 * 2. Random XDP programs from tests/lib/randprog (shared with the verifier's soundness
 *    test) that the verifier accepts (the JIT trusts the verifier), on random packets, with an
 *    array map: both engines run on the same frame and map (restored in between), with
 *    deterministic stand-ins for the clock and random-number helpers.
 * The programs log registers (and helper arguments) through a helper; logs, packet, map
 * contents and r0 must match; half of the JIT compilations are blinded.
 * XDPVM_JIT_DIFF_ITERATIONS sets the number of random programs
 * (`make soak-jit` sets it high). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/helpers.h"
#include "interp/interp.h"
#include "isa/isa.h"
#include "jit/jit.h"
#include "lib/randprog.h"
#include "lib/testlib.h"
#include "maps/maps.h"
#include "verifier/verifier.h"
#include "xdp/xdp.h"
#include "runtime/runtime.h"

#define LOG_HELPER_ID 7
#define LOG_MAX 32
#define BLOCK_SIZE 128

struct exec_log {
    uint64_t values[LOG_MAX];
    size_t count;
};
static struct exec_log *current_log;

static uint64_t helper_log(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5,
                           struct xdpvm_run *run)
{
    if (current_log && current_log->count < LOG_MAX)
        current_log->values[current_log->count++] = r1;
    return 0;
}
static const struct xdpvm_helper log_helper = {
    .id = LOG_HELPER_ID, .name = "log", .fn = helper_log, .ret = XDPVM_RET_INTEGER,
    .args = {XDPVM_ARG_ANYTHING},
};
static struct xdpvm_helper_table helper_table;

static uint64_t rng_state = 0x243f6a8885a308d3ull;
static uint64_t rnd(void)
{
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return rng_state = x;
}

static uint64_t interesting_value(void)
{
    static const uint64_t pool[] = {
        0, 1, 2, 7, 31, 32, 63, 64, 0x80, 0xff, 0x8000, 0xffff, 0x7fffffff, 0x80000000,
        0xffffffff, 0x100000000ull, 0x7fffffffffffffffull, 0x8000000000000000ull,
        (uint64_t)-1, (uint64_t)-2, (uint64_t)-7, 0xffffffff80000000ull, 0xdeadbeefcafebabeull,
    };
    if (rnd() & 1)
        return pool[rnd() % (sizeof(pool) / sizeof(pool[0]))];
    uint64_t v = rnd();
    return (rnd() & 1) ? v : (uint64_t)(int64_t)(int32_t)v; /* 32-bit values sign-extended too */
}
static int32_t interesting_imm(void)
{
    static const int32_t pool[] = {0, 1, -1, 2, 7, -7, 31, 32, 63, 0x80, 0xff, 0xffff,
                                   0x7fffffff, INT32_MIN};
    return (rnd() & 1) ? pool[rnd() % (sizeof(pool) / sizeof(pool[0]))] : (int32_t)rnd();
}

/* A program under construction. */
struct builder {
    struct xdpvm_insn insns[128];
    size_t count;
};
static void add(struct builder *b, enum xdpvm_op op, int dst, int src, int16_t off, int32_t imm,
                uint64_t imm64)
{
    const struct xdpvm_op_info *info = &xdpvm_op_table[op];
    struct xdpvm_decoded d = {.op = op, .dst = (uint8_t)dst, .src = (uint8_t)src, .off = off,
                              .imm = imm, .imm64 = imm64};
    switch (info->match) { /* the field that selects this row among rows with the same code */
    case XDPVM_MATCH_OFF: d.off = (int16_t)info->match_value; break;
    case XDPVM_MATCH_IMM: d.imm = info->match_value; break;
    case XDPVM_MATCH_SRC: d.src = (uint8_t)info->match_value; break;
    default: break;
    }
    b->count += xdpvm_isa_encode(&d, &b->insns[b->count]);
}
/* Store r0..r9 to the top of the stack, then log them one by one (helper calls clobber
 * r1..r5, so they are saved first). */
static void add_log_registers(struct builder *b)
{
    for (int r = 0; r <= 9; r++)
        add(b, XDPVM_OP_STXDW, XDPVM_REG_FP, r, (int16_t)(-8 * (r + 1)), 0, 0);
    for (int r = 0; r <= 9; r++) {
        add(b, XDPVM_OP_LDXDW, 1, XDPVM_REG_FP, (int16_t)(-8 * (r + 1)), 0, 0);
        add(b, XDPVM_OP_CALL, 0, 0, 0, LOG_HELPER_ID, 0);
    }
}

struct outcome {
    int rc;
    uint64_t r0;
    struct exec_log log;
    uint8_t block[BLOCK_SIZE];
    char error[256];
};

static void fill_block(uint8_t *block)
{
    for (int i = 0; i < BLOCK_SIZE; i++)
        block[i] = (uint8_t)(i * 37 + 11);
}

/* Run insns in one engine with r1 = block, r2 = BLOCK_SIZE. jit: compile first; a compile
 * error is reported as rc with the message. */
static void run_engine(const struct xdpvm_insn *insns, size_t count, bool jit, uint8_t *block,
                       struct outcome *out)
{
    memset(out, 0, sizeof(*out));
    struct xdpvm_prog prog = {.insns = (struct xdpvm_insn *)insns, .count = count,
                              .helpers = &helper_table};
    snprintf(prog.name, sizeof(prog.name), "%s", jit ? "jit" : "interp");
    if (jit) {
        struct xdpvm_jit_opts opts = {.blind_constants = rnd() & 1}; /* half of them blinded */
        out->rc = xdpvm_jit_compile(&prog, &opts, out->error, sizeof(out->error));
        if (out->rc)
            return;
    } else {
        out->rc = xdpvm_interp_prepare(&prog, out->error, sizeof(out->error));
        if (out->rc)
            return;
    }
    fill_block(block);
    struct xdpvm_run run = {.prog = &prog};
    xdpvm_run_add_region(&run, block, BLOCK_SIZE, true, "block");
    uint64_t args[5] = {(uint64_t)(uintptr_t)block, BLOCK_SIZE, 0, 0, 0};
    current_log = &out->log;
    out->rc = jit ? xdpvm_jit_run_args(&run, args, &out->r0) : xdpvm_interp_run_args(&run, args, &out->r0);
    current_log = NULL;
    if (out->rc)
        snprintf(out->error, sizeof(out->error), "%s", run.error_message);
    memcpy(out->block, block, BLOCK_SIZE);
    if (jit)
        xdpvm_jit_free(&prog);
    else
        xdpvm_interp_release(&prog);
}

static void describe(char *buf, size_t size, const struct xdpvm_insn *insns, size_t count)
{
    size_t n = 0;
    for (size_t i = 0; i < count && n + 20 < size; i++)
        n += (size_t)snprintf(buf + n, size - n, "%02x:%x:%x:%d:%d ", insns[i].code, insns[i].dst,
                              insns[i].src, insns[i].off, insns[i].imm);
}

/* Compare the engines on one program. Returns false (and reports) on a difference. Programs
 * the interpreter refuses at load time are not compared (returns true, *skipped set). */
static bool compare(const char *name, const struct xdpvm_insn *insns, size_t count, bool *skipped)
{
    /* one block for both: pointers into it are then the same values in both engines */
    static uint8_t block[BLOCK_SIZE];
    struct outcome a, b;
    run_engine(insns, count, false, block, &a);
    *skipped = false;
    run_engine(insns, count, true, block, &b);
    char prog_text[400];
    if ((a.rc != 0) != (b.rc != 0)) {
        if (a.rc && !b.rc && a.log.count == 0) { /* interpreter refuses, JIT trusts: not comparable */
            *skipped = true;
            return true;
        }
        describe(prog_text, sizeof(prog_text), insns, count);
        test_fail(name, "interpreter rc %d (%s), JIT rc %d (%s); program %s", a.rc, a.error, b.rc,
                  b.error, prog_text);
        return false;
    }
    if (a.rc) {
        *skipped = true;
        return true;
    }
    bool same = a.r0 == b.r0 && a.log.count == b.log.count &&
                !memcmp(a.log.values, b.log.values, a.log.count * sizeof(uint64_t)) &&
                !memcmp(a.block, b.block, BLOCK_SIZE);
    if (!same) {
        describe(prog_text, sizeof(prog_text), insns, count);
        size_t i = 0;
        while (i < a.log.count && i < b.log.count && a.log.values[i] == b.log.values[i])
            i++;
        test_fail(name, "engines differ: r0 %#" PRIx64 " vs %#" PRIx64 ", first log difference at "
                  "entry %zu (%#" PRIx64 " vs %#" PRIx64 "), memory %s; program %s", a.r0, b.r0, i,
                  i < a.log.count ? a.log.values[i] : 0, i < b.log.count ? b.log.values[i] : 0,
                  memcmp(a.block, b.block, BLOCK_SIZE) ? "differs" : "same", prog_text);
    }
    return same;
}

static bool shape_uses_src(enum xdpvm_shape shape)
{
    return shape == XDPVM_SHAPE_ALU_REG || shape == XDPVM_SHAPE_JMP_REG ||
           shape == XDPVM_SHAPE_MOVSX || shape == XDPVM_SHAPE_LDX || shape == XDPVM_SHAPE_STX ||
           shape == XDPVM_SHAPE_ATOMIC;
}

static void load_registers(struct builder *b)
{
    for (int r = 0; r <= 9; r++)
        add(b, XDPVM_OP_LDDW, r, 0, 0, 0, interesting_value());
}

/* Compute and branch rows: dst, src over r0..r9. */
static bool check_compute_row(enum xdpvm_op op, int dst, int src)
{
    const struct xdpvm_op_info *info = &xdpvm_op_table[op];
    struct builder b = {.count = 0};
    load_registers(&b);
    switch (info->shape) {
    case XDPVM_SHAPE_JMP_IMM:
    case XDPVM_SHAPE_JMP_REG:
        /* make equality and bit tests hit often: sometimes src/imm equals dst */
        add(&b, op, dst, src, 1, interesting_imm(), 0);
        add(&b, XDPVM_OP_MOV64_IMM, 0, 0, 0, 0x7777, 0);
        break;
    case XDPVM_SHAPE_JA:
    case XDPVM_SHAPE_GOTOL:
        add(&b, op, 0, 0, 1, 1, 0);
        add(&b, XDPVM_OP_MOV64_IMM, 0, 0, 0, 0x7777, 0);
        break;
    default:
        add(&b, op, dst, src, 0, interesting_imm(), 0);
        break;
    }
    add_log_registers(&b);
    add(&b, XDPVM_OP_EXIT, 0, 0, 0, 0, 0);
    char name[96];
    snprintf(name, sizeof(name), "diff_%s_r%d_r%d", info->name, dst, src);
    bool skipped;
    return compare(name, b.insns, b.count, &skipped);
}

/* Memory rows: the base register points into the block (or is r10), the other operand is a
 * register with a random value. */
static bool check_memory_row(enum xdpvm_op op, int base, int other)
{
    const struct xdpvm_op_info *info = &xdpvm_op_table[op];
    unsigned size = xdpvm_op_access_size(info);
    struct builder b = {.count = 0};
    add(&b, XDPVM_OP_STXDW, XDPVM_REG_FP, 1, -256, 0, 0); /* the block pointer, for the base */
    load_registers(&b);
    int16_t off;
    if (base == XDPVM_REG_FP) {
        off = (int16_t)(-128 - (int)size * (int)(rnd() % 16)); /* below the register log area */
        add(&b, XDPVM_OP_STDW, XDPVM_REG_FP, 0, (int16_t)(off & ~7), interesting_imm(), 0);
        add(&b, XDPVM_OP_STDW, XDPVM_REG_FP, 0, (int16_t)((off & ~7) + 8), interesting_imm(), 0);
    } else {
        off = (int16_t)((int)size * (int)(rnd() % (BLOCK_SIZE / size)) - BLOCK_SIZE / 2);
        /* base = block + BLOCK_SIZE/2 */
        add(&b, XDPVM_OP_LDXDW, base, XDPVM_REG_FP, -256, 0, 0);
        add(&b, XDPVM_OP_ADD64_IMM, base, 0, 0, BLOCK_SIZE / 2, 0);
    }
    int dst = info->shape == XDPVM_SHAPE_LDX ? other : base;
    int src = info->shape == XDPVM_SHAPE_LDX ? base : other;
    add(&b, op, dst, src, off, interesting_imm(), 0);
    add_log_registers(&b);
    if (base == XDPVM_REG_FP) {
        add(&b, XDPVM_OP_LDXDW, 1, XDPVM_REG_FP, (int16_t)(off & ~7), 0, 0);
        add(&b, XDPVM_OP_CALL, 0, 0, 0, LOG_HELPER_ID, 0);
    }
    add(&b, XDPVM_OP_EXIT, 0, 0, 0, 0, 0);
    char name[96];
    snprintf(name, sizeof(name), "diff_%s_base_r%d_r%d", info->name, base, other);
    bool skipped;
    /* a load into the base register, or a store of the base: fine, the block address is the
     * same in both runs */
    return compare(name, b.insns, b.count, &skipped);
}

static void test_every_row(void)
{
    int trials = test_sanitized() ? 1 : 2;
    for (int op = 1; op < XDPVM_OP__COUNT; op++) {
        const struct xdpvm_op_info *info = &xdpvm_op_table[op];
        bool memory = false;
        switch (info->shape) {
        case XDPVM_SHAPE_ALU_IMM: case XDPVM_SHAPE_ALU_REG: case XDPVM_SHAPE_NEG:
        case XDPVM_SHAPE_MOVSX: case XDPVM_SHAPE_END: case XDPVM_SHAPE_JMP_IMM:
        case XDPVM_SHAPE_JMP_REG: case XDPVM_SHAPE_JA: case XDPVM_SHAPE_GOTOL:
            break;
        case XDPVM_SHAPE_LDX: case XDPVM_SHAPE_ST: case XDPVM_SHAPE_STX: case XDPVM_SHAPE_ATOMIC:
            memory = true;
            break;
        default:
            continue; /* calls, exit, lddw: covered by every program here and by test_jit */
        }
        bool uses_src = shape_uses_src(info->shape);
        bool ok = true;
        for (int dst = 0; dst <= (memory ? 10 : 9) && ok; dst++) {
            for (int src = 0; src <= (uses_src ? 9 : 0) && ok; src++) {
                for (int t = 0; t < (uses_src ? trials : 4 * trials) && ok; t++) {
                    ok = memory ? check_memory_row((enum xdpvm_op)op, dst, src)
                                : check_compute_row((enum xdpvm_op)op, dst, src);
                }
            }
        }
        if (ok) {
            char name[64];
            snprintf(name, sizeof(name), "diff_row_%s", info->name);
            test_pass(name);
        }
    }
}

/* ---- random programs ---- */

#define RANDOM_LOG_HELPER_ID 200
#define MAP_ENTRIES 8
#define MAP_VALUE 32

static struct xdpvm_helper_table random_table;
static const struct xdpvm_helper_table *xdp_table;
static uint64_t helper_clock, helper_rng;

static void log_value(uint64_t v)
{
    if (current_log && current_log->count < LOG_MAX)
        current_log->values[current_log->count++] = v;
}
static uint64_t fake_ktime(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5,
                           struct xdpvm_run *run)
{
    helper_clock += 1000;
    log_value(0x20000000000ull);
    return helper_clock;
}
static uint64_t fake_prandom(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5,
                             struct xdpvm_run *run)
{
    helper_rng = helper_rng * 6364136223846793005ull + 1442695040888963407ull;
    log_value(0x30000000000ull);
    return helper_rng >> 32;
}
static struct xdpvm_helper h_ktime, h_prandom;
static const struct xdpvm_helper random_log = {.id = RANDOM_LOG_HELPER_ID, .name = "log",
                                               .fn = helper_log, .args = {XDPVM_ARG_ANYTHING}};

/* The XDP table with the clock and random-number helpers replaced by logging, deterministic
 * ones (same prototypes, so the verifier sees the same program). map_lookup_elem stays the
 * product's: the JIT inlines it for array maps. */
static void build_random_table(void)
{
    xdp_table = xdpvm_helpers_for(XDPVM_PROG_XDP);
    random_table = *xdp_table;
    h_ktime = *xdp_table->by_id[5];
    h_ktime.fn = fake_ktime;
    h_prandom = *xdp_table->by_id[7];
    h_prandom.fn = fake_prandom;
    random_table.by_id[5] = &h_ktime;
    random_table.by_id[7] = &h_prandom;
}

/* Before the final exit: log r0, r6..r9 (r0 kept on the stack across the log calls). r6 may
 * be left unwritten by a program (the checked interpreter refuses to read it then), so it
 * starts at 0: the program itself never read it before writing, or the verifier would have
 * refused it. Every other register logged is written by randprog's prologue. */
static struct xdpvm_insn *add_exit_logging(const struct xdpvm_insn *insns, size_t count, size_t *out_count)
{
    struct builder head = {.count = 0};
    add(&head, XDPVM_OP_MOV64_IMM, 6, 0, 0, 0, 0);
    struct builder tail = {.count = 0};
    add(&tail, XDPVM_OP_STXDW, XDPVM_REG_FP, 0, -8, 0, 0);
    static const int logged[] = {0, 6, 7, 8, 9};
    for (size_t i = 0; i < sizeof(logged) / sizeof(logged[0]); i++) {
        add(&tail, XDPVM_OP_MOV64_REG, 1, logged[i], 0, 0, 0);
        add(&tail, XDPVM_OP_CALL, 0, 0, 0, RANDOM_LOG_HELPER_ID, 0);
    }
    add(&tail, XDPVM_OP_LDXDW, 0, XDPVM_REG_FP, -8, 0, 0);
    struct xdpvm_insn *out = malloc((head.count + count + tail.count) * sizeof(*out));
    if (!out)
        return NULL;
    /* the tail goes in at the exit's index: jumps to the exit now land on the logging */
    memcpy(out, head.insns, head.count * sizeof(*out));
    memcpy(out + head.count, insns, (count - 1) * sizeof(*out));
    memcpy(out + head.count + count - 1, tail.insns, tail.count * sizeof(*out));
    out[head.count + count - 1 + tail.count] = insns[count - 1];
    *out_count = head.count + count + tail.count;
    return out;
}

struct random_outcome {
    int rc;
    uint64_t r0;
    struct exec_log log;
    uint8_t frame[4096];
    uint8_t values[MAP_ENTRIES][MAP_VALUE];
    char error[300];
};

static void random_run(struct xdpvm_prog *prog, uint8_t *frame, const uint8_t *packet, uint32_t len,
                       struct xdpvm_map *map, const uint8_t initial[MAP_ENTRIES][MAP_VALUE],
                       struct random_outcome *out)
{
    memset(out, 0, sizeof(*out));
    for (uint32_t k = 0; k < MAP_ENTRIES; k++)
        xdpvm_map_user_update(map, &k, initial[k], XDPVM_ANY);
    const uint32_t headroom = 256;
    memset(frame, 0xa5, 4096);
    memcpy(frame + headroom, packet, len);
    struct xdpvm_xdp_buff buff = {.frame = frame, .frame_size = 4096, .tailroom_reserve = 320};
    buff.md.data = buff.md.data_meta = (uint32_t)(uintptr_t)(frame + headroom);
    buff.md.data_end = buff.md.data + len;
    buff.md.ingress_ifindex = 1;
    struct xdpvm_run run = {.prog = prog, .ctx = &buff.md, .xdp = &buff, .insn_budget = 1000000};
    xdpvm_run_add_region(&run, frame + headroom, len, true, "packet");
    xdpvm_run_add_region(&run, &buff.md, sizeof(buff.md), false, "context");
    helper_clock = 0;
    helper_rng = 42;
    current_log = &out->log;
    out->rc = prog->exec(&run, &out->r0);
    current_log = NULL;
    if (out->rc)
        snprintf(out->error, sizeof(out->error), "insn %zu: %s", run.error_pc, run.error_message);
    memcpy(out->frame, frame, 4096);
    for (uint32_t k = 0; k < MAP_ENTRIES; k++)
        xdpvm_map_user_lookup(map, &k, out->values[k]);
}

static unsigned random_iterations(void)
{
    const char *env = getenv("XDPVM_JIT_DIFF_ITERATIONS");
    if (env && *env)
        return (unsigned)strtoul(env, NULL, 10);
    return test_sanitized() ? 150 : 1500;
}

static void test_random_programs(void)
{
    const char *name = "diff_random_programs";
    build_random_table();
    random_table.by_id[RANDOM_LOG_HELPER_ID] = &random_log;
    struct xdpvm_map_spec spec = {"values", XDPVM_MAP_ARRAY, 4, MAP_VALUE, MAP_ENTRIES, 0};
    char err[256];
    struct xdpvm_map *map = xdpvm_map_create(&spec, 1, err, sizeof(err));
    uint8_t *frame = xdpvm_xdp_low_alloc(4096);
    static struct random_outcome a, b;
    if (!map || !frame) {
        test_fail(name, "setup: %s", map ? "no memory below 4 GiB for a frame" : err);
        if (map)
            xdpvm_map_free(map);
        return;
    }
    unsigned programs = random_iterations(), accepted = 0, compared = 0, failures = 0;
    for (unsigned seed = 1; seed <= programs && failures < 3; seed++) {
        struct randprog_opts ro = {.seed = seed, .blocks = 6 + seed % 14, .array_map = map,
                                   .value_size = MAP_VALUE};
        size_t count;
        struct xdpvm_insn *generated = randprog_generate(&ro, &count);
        if (!generated)
            break;
        struct xdpvm_map *maps[1] = {map};
        struct xdpvm_prog checked = {.type = XDPVM_PROG_XDP, .insns = generated, .count = count,
                                     .maps = maps, .map_count = 1, .helpers = &random_table};
        struct xdpvm_verify_result verdict;
        xdpvm_verify(&checked, NULL, &verdict);
        if (!verdict.accepted) {
            free(generated);
            continue;
        }
        accepted++;
        size_t logged_count;
        struct xdpvm_insn *insns = add_exit_logging(generated, count, &logged_count);
        free(generated);
        if (!insns)
            break;
        struct xdpvm_prog interp = {.type = XDPVM_PROG_XDP, .insns = insns, .count = logged_count,
                                    .maps = maps, .map_count = 1, .helpers = &random_table,
                                    .exec = xdpvm_interp_run};
        struct xdpvm_prog jit = interp;
        snprintf(interp.name, sizeof(interp.name), "random_%u", seed);
        snprintf(jit.name, sizeof(jit.name), "random_%u", seed);
        /* the unchecked interpreter (superinstructions) as a third party */
        struct xdpvm_prog unchecked = interp;
        unchecked.verified = true;
        if (xdpvm_interp_prepare(&interp, err, sizeof(err)) ||
            xdpvm_interp_prepare(&unchecked, err, sizeof(err))) {
            test_fail(name, "seed %u: interpreter refused an accepted program: %s", seed, err);
            failures++;
            free(insns);
            continue;
        }
        struct xdpvm_jit_opts jit_opts = {.blind_constants = seed % 2 == 0};
        if (xdpvm_jit_compile(&jit, &jit_opts, err, sizeof(err))) {
            test_fail(name, "seed %u: JIT refused an accepted program: %s", seed, err);
            failures++;
            xdpvm_interp_release(&interp);
            xdpvm_interp_release(&unchecked);
            free(insns);
            continue;
        }
        bool differs = false;
        for (int packet_round = 0; packet_round < 3; packet_round++) {
            uint8_t packet[256], initial[MAP_ENTRIES][MAP_VALUE];
            uint32_t len = 14 + (uint32_t)(rnd() % 200);
            for (uint32_t i = 0; i < len; i++)
                packet[i] = (uint8_t)rnd();
            for (int k = 0; k < MAP_ENTRIES; k++)
                for (int i = 0; i < MAP_VALUE; i++)
                    initial[k][i] = (uint8_t)rnd();
            random_run(&interp, frame, packet, len, map, initial, &a);
            for (int other = 0; other < 2; other++) {
            random_run(other ? &unchecked : &jit, frame, packet, len, map, initial, &b);
            const char *who = other ? "unchecked interpreter" : "JIT";
            compared++;
            bool same = a.rc == b.rc && (a.rc || a.r0 == b.r0) && a.log.count == b.log.count &&
                        !memcmp(a.log.values, b.log.values, a.log.count * sizeof(uint64_t)) &&
                        !memcmp(a.frame, b.frame, sizeof(a.frame)) &&
                        !memcmp(a.values, b.values, sizeof(a.values));
            if (!same) {
                size_t i = 0;
                while (i < a.log.count && i < b.log.count && a.log.values[i] == b.log.values[i])
                    i++;
                test_fail(name, "seed %u, packet of %u bytes: interpreter rc %d r0 %#" PRIx64 " (%s), "
                          "%s rc %d r0 %#" PRIx64 " (%s); logs of %zu/%zu entries differ at %zu; "
                          "packet %s, map %s", seed, len, a.rc, a.r0, a.error, who, b.rc, b.r0, b.error,
                          a.log.count, b.log.count, i,
                          memcmp(a.frame, b.frame, sizeof(a.frame)) ? "differs" : "same",
                          memcmp(a.values, b.values, sizeof(a.values)) ? "differs" : "same");
                failures++;
                differs = true;
                break;
            }
            }
            if (differs)
                break;
        }
        xdpvm_jit_free(&jit);
        xdpvm_interp_release(&interp);
        xdpvm_interp_release(&unchecked);
        free(insns);
    }
    if (!failures && accepted < programs / 4)
        test_fail(name, "only %u of %u random programs were accepted by the verifier", accepted, programs);
    else if (!failures)
        test_pass(name);
    printf("# %u random programs, %u accepted by the verifier, %u runs compared\n", programs,
           accepted, compared);
    xdpvm_xdp_low_free(frame, 4096);
    xdpvm_map_free(map);
}

int main(void)
{
    helper_table.by_id[LOG_HELPER_ID] = &log_helper;
    test_every_row();
    test_random_programs();
    return test_exit_code();
}
