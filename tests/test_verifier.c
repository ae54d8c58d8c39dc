/* Verifier tests:
 *  - the rule table (tests/verifier/rules.txt): every rejection rule with its expected reason
 *    and an accepted twin that differs by the fix;
 *  - the value domain (tnum and bounds) checked against concrete arithmetic on random values:
 *    every abstract result must contain every concrete result;
 *  - robustness: random instruction words never crash the verifier. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/helpers.h"
#include "interp/interp.h"
#include "isa/asm.h"
#include "isa/disasm.h"
#include "maps/maps.h"
#include "xdp/xdp.h"
#include "lib/testlib.h"
#include "verifier/scalar.h"
#include "verifier/verifier.h"
#include "lib/randprog.h"
#include "lib/verifier_env.h"

/* ---- rule table ---- */

/* A rule named "name [tc]" or "name [socket]" is a tc or socket filter program; else XDP. */
static enum xdpvm_prog_type rule_type(const char *rule)
{
    if (strstr(rule, "[tc]"))
        return XDPVM_PROG_SCHED_CLS;
    if (strstr(rule, "[socket]"))
        return XDPVM_PROG_SOCKET_FILTER;
    return XDPVM_PROG_XDP;
}

static int verify_text(struct verifier_env *venv, const char *text, struct xdpvm_verify_result *res, char *err,
                       size_t err_size, FILE *log)
{
    return verifier_env_verify_text(venv, XDPVM_PROG_XDP, text, res, err, err_size, log);
}

static void run_rule(const char *rule, const char *reason, const char *reject_text, const char *accept_text,
                     void *arg)
{
    struct verifier_env *venv = arg;
    char name[160], err[256] = "";
    struct xdpvm_verify_result res;
    enum xdpvm_prog_type type = rule_type(rule);
    snprintf(name, sizeof(name), "rule_%s_rejected", rule);
    if (verifier_env_verify_text(venv, type, reject_text, &res, err, sizeof(err), NULL) || err[0])
        test_fail(name, "%s", err);
    else if (res.accepted)
        test_fail(name, "accepted, expected rejection with \"%s\"", reason);
    else
        test_check(strstr(res.reason, reason) != NULL, name, "reason \"%s\" (insn %zu) lacks \"%s\"", res.reason,
                   res.error_insn, reason);
    snprintf(name, sizeof(name), "rule_%s_fixed_accepted", rule);
    err[0] = 0;
    if (verifier_env_verify_text(venv, type, accept_text, &res, err, sizeof(err), NULL) || err[0])
        test_fail(name, "%s", err);
    else
        test_check(res.accepted, name, "rejected at insn %zu: %s", res.error_insn, res.reason);
}

static void test_rule_table(void)
{
    char path[512], err[256];
    snprintf(path, sizeof(path), "%s/tests/verifier/rules.txt", test_root_dir());
    struct verifier_env venv;
    if (verifier_env_init(&venv, err, sizeof(err))) {
        test_fail("rule_table", "%s", err);
        return;
    }
    int cases = verifier_rules_each(path, run_rule, &venv, err, sizeof(err));
    if (cases < 0)
        test_fail("rule_table", "%s", err);
    else
        test_check(cases >= 40, "rule_table_size", "only %d cases in %s", cases, path);
    verifier_env_free(&venv);
}

/* ---- value domain ---- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* A random abstract value together with concrete members of it. */
static struct scalar random_scalar(uint64_t members[4])
{
    uint64_t base = rnd();
    switch (rnd() % 6) {
    case 0: base &= 0xff; break;
    case 1: base &= 0xffffffff; break;
    case 2: base = (uint64_t)-(int64_t)(base & 0xffff); break;
    default: break;
    }
    uint64_t spread[] = {0, 1, 15, 0xff, 0xffff, 0xffffffffull, ~0ull};
    uint64_t width = spread[rnd() % 7];
    struct scalar s = scalar_const(base);
    if (width) {
        uint64_t hi = base + width < base ? UINT64_MAX : base + width;
        s = scalar_unknown();
        s.umin = base;
        s.umax = hi;
        if (!scalar_sync(&s))
            s = scalar_unknown();
    }
    for (int i = 0; i < 4; i++) {
        uint64_t span = s.umax - s.umin;
        uint64_t v = s.umin + (span == UINT64_MAX ? rnd() : rnd() % (span + 1));
        if (i == 0)
            v = s.umin;
        if (i == 1)
            v = s.umax;
        /* Keep members inside the tnum too. */
        v = (v & s.var.mask) | s.var.value;
        if (v < s.umin || v > s.umax)
            v = s.umin;
        members[i] = v;
    }
    return s;
}

static bool contains_value(const struct scalar *s, uint64_t v)
{
    return v >= s->umin && v <= s->umax && (int64_t)v >= s->smin && (int64_t)v <= s->smax &&
           (uint32_t)v >= s->u32min && (uint32_t)v <= s->u32max && (int32_t)(uint32_t)v >= s->s32min &&
           (int32_t)(uint32_t)v <= s->s32max && (v & ~s->var.mask) == s->var.value;
}

static bool concrete_cond(unsigned op, uint64_t a, uint64_t b, bool w32)
{
    if (w32) {
        a = (uint32_t)a;
        b = (uint32_t)b;
    }
    int64_t sa = w32 ? (int32_t)(uint32_t)a : (int64_t)a, sb = w32 ? (int32_t)(uint32_t)b : (int64_t)b;
    switch (op) {
    case 0x10: return a == b;
    case 0x20: return a > b;
    case 0x30: return a >= b;
    case 0x40: return (a & b) != 0;
    case 0x50: return a != b;
    case 0x60: return sa > sb;
    case 0x70: return sa >= sb;
    case 0xa0: return a < b;
    case 0xb0: return a <= b;
    case 0xc0: return sa < sb;
    case 0xd0: return sa <= sb;
    default: return false;
    }
}

static void test_domain(void)
{
    static const unsigned alu_ops[] = {0x00, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x90, 0xa0, 0xc0, 0x80};
    static const unsigned jmp_ops[] = {0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0xa0, 0xb0, 0xc0, 0xd0};
    unsigned rounds = test_sanitized() ? 20000 : 200000;
    unsigned alu_bad = 0, refine_bad = 0;
    char first[256] = "";
    for (unsigned i = 0; i < rounds; i++) {
        uint64_t ma[4], mb[4];
        struct scalar a = random_scalar(ma), b = random_scalar(mb);
        if (rnd() % 4 == 0) {
            b = scalar_const(rnd() % 70);
            mb[0] = mb[1] = mb[2] = mb[3] = b.var.value;
        }
        bool w32 = rnd() & 1, sgn = (rnd() % 4) == 0;
        unsigned op = alu_ops[rnd() % (sizeof(alu_ops) / sizeof(alu_ops[0]))];
        struct scalar r = scalar_alu(op, sgn, a, b, w32);
        for (int k = 0; k < 4; k++) {
            uint64_t c = concrete_alu(op, sgn, ma[k], mb[k], w32);
            if (!contains_value(&r, c) && alu_bad++ == 0)
                snprintf(first, sizeof(first), "alu op 0x%x%s%s: %#llx, %#llx -> %#llx not in [%#llx, %#llx]", op,
                         w32 ? " (32-bit)" : "", sgn ? " signed" : "", (unsigned long long)ma[k],
                         (unsigned long long)mb[k], (unsigned long long)c, (unsigned long long)r.umin,
                         (unsigned long long)r.umax);
        }
        unsigned jop = jmp_ops[rnd() % (sizeof(jmp_ops) / sizeof(jmp_ops[0]))];
        for (int taken = 0; taken < 2; taken++) {
            struct scalar ra = a, rb = b;
            bool possible = scalar_refine(jop, taken, &ra, &rb, w32);
            for (int k = 0; k < 4; k++) {
                if (concrete_cond(jop, ma[k], mb[k], w32) != (bool)taken)
                    continue;
                if ((!possible || !contains_value(&ra, ma[k]) || !contains_value(&rb, mb[k])) && refine_bad++ == 0)
                    snprintf(first, sizeof(first), "jmp op 0x%x%s %s: %#llx, %#llx satisfy it but %s", jop,
                             w32 ? " (32-bit)" : "", taken ? "taken" : "not taken", (unsigned long long)ma[k],
                             (unsigned long long)mb[k], possible ? "were excluded" : "the branch was called impossible");
            }
        }
    }
    unsigned ext_bad = 0;
    for (unsigned i = 0; i < rounds / 4; i++) {
        uint64_t m[4];
        struct scalar a = random_scalar(m);
        static const unsigned bits[] = {8, 16, 32};
        unsigned b = bits[rnd() % 3];
        bool to32 = rnd() & 1;
        struct scalar sx = scalar_sext(a, b, to32 && b < 32);
        unsigned swap_bits = bits[1 + rnd() % 2] == 16 ? 16 : (rnd() & 1 ? 32 : 64);
        bool always = rnd() & 1, be = rnd() & 1;
        struct scalar sw = scalar_bswap(a, swap_bits, always, be);
        uint64_t m2[4];
        struct scalar other = random_scalar(m2), met = a;
        bool meet_ok = scalar_meet(&met, &other);
        for (int k = 0; k < 4; k++) {
            uint64_t v = m[k];
            int64_t e = b == 8 ? (int8_t)v : b == 16 ? (int16_t)v : (int32_t)v;
            uint64_t ev = (to32 && b < 32) ? (uint32_t)e : (uint64_t)e;
            uint64_t w = v;
            if (always || be)
                w = swap_bits == 16 ? __builtin_bswap16((uint16_t)v) : swap_bits == 32 ? __builtin_bswap32((uint32_t)v)
                                                                                      : __builtin_bswap64(v);
            else if (swap_bits < 64)
                w = v & ((1ull << swap_bits) - 1);
            if ((!contains_value(&sx, ev) || !contains_value(&sw, w)) && ext_bad++ == 0)
                snprintf(first, sizeof(first), "extension/swap of %#llx: sext%u -> %#llx or swap%u -> %#llx excluded",
                         (unsigned long long)v, b, (unsigned long long)ev, swap_bits, (unsigned long long)w);
            for (int side = 0; side < 2; side++) {
                uint64_t x = side ? m2[k] : v;
                if (contains_value(&a, x) && contains_value(&other, x) && (!meet_ok || !contains_value(&met, x)) &&
                    ext_bad++ == 0)
                    snprintf(first, sizeof(first), "meet excludes %#llx, which both sides contain",
                             (unsigned long long)x);
            }
        }
    }
    test_check(ext_bad == 0, "domain_extend_swap_meet", "%u violations; first: %s", ext_bad, first);
    test_check(alu_bad == 0, "domain_alu_contains_concrete", "%u violations; first: %s", alu_bad, first);
    test_check(refine_bad == 0, "domain_branch_refinement_sound", "%u violations; first: %s", refine_bad, first);
}

static void test_tnum_basics(void)
{
    struct tnum r = tnum_range(16, 31);
    test_check(r.value == 16 && r.mask == 15, "tnum_range", "range 16..31 gave %#llx/%#llx",
               (unsigned long long)r.value, (unsigned long long)r.mask);
    struct tnum m = tnum_mul(tnum_const(3), tnum_range(0, 3));
    test_check(tnum_contains(m, tnum_const(9)) && tnum_contains(m, tnum_const(6)), "tnum_mul_contains",
               "3*[0..3] = %#llx/%#llx misses 6 or 9", (unsigned long long)m.value, (unsigned long long)m.mask);
    struct scalar s = scalar_of_size(1, false);
    struct scalar k = scalar_const(9);
    bool ok = scalar_refine(0x20, false, &s, &k, false); /* not (s > 9) */
    test_check(ok && s.umax == 9 && s.umin == 0, "refine_jle_bound", "u8 after !(x > 9): %llu..%llu",
               (unsigned long long)s.umin, (unsigned long long)s.umax);
}

/* ---- robustness ---- */

static void test_random_words(void)
{
    struct verifier_env venv;
    char err[256];
    if (verifier_env_init(&venv, err, sizeof(err))) {
        test_fail("random_words_no_crash", "%s", err);
        return;
    }
    unsigned rounds = test_sanitized() ? 300 : 3000;
    for (unsigned i = 0; i < rounds; i++) {
        struct xdpvm_insn insns[16];
        size_t n = 1 + rnd() % 16;
        for (size_t k = 0; k < n; k++) {
            uint64_t w = rnd();
            memcpy(&insns[k], &w, sizeof(w));
        }
        struct xdpvm_prog prog = {.type = XDPVM_PROG_XDP, .insns = insns, .count = n, .maps = venv.maps,
                                  .map_count = VERIFIER_ENV_MAPS, .helpers = &venv.helpers};
        struct xdpvm_verify_result res;
        xdpvm_verify(&prog, NULL, &res);
    }
    test_pass("random_words_no_crash");
    /* Plausible programs with one field changed reach deep into the checks. */
    for (unsigned i = 0; i < rounds; i++) {
        struct randprog_opts ro = {.seed = 50000 + i, .blocks = 3 + i % 10, .array_map = venv.maps[0],
                                   .value_size = 16, .subprograms = i % 2};
        size_t n;
        struct xdpvm_insn *insns = randprog_generate(&ro, &n);
        if (!insns)
            break;
        for (unsigned m = 0; m < 1 + i % 3; m++) {
            struct xdpvm_insn *t = &insns[rnd() % n];
            switch (rnd() % 5) {
            case 0: t->dst = (uint8_t)(rnd() % 11); break;
            case 1: t->src = (uint8_t)(rnd() % 11); break;
            case 2: t->off = (int16_t)(t->off + (int16_t)(rnd() % 17) - 8); break;
            case 3: t->imm = (int32_t)(uint32_t)rnd(); break;
            default: t->code = (uint8_t)rnd(); break;
            }
        }
        struct xdpvm_prog prog = {.type = XDPVM_PROG_XDP, .insns = insns, .count = n, .maps = venv.maps,
                                  .map_count = VERIFIER_ENV_MAPS, .helpers = &venv.helpers};
        struct xdpvm_verify_result res;
        xdpvm_verify(&prog, NULL, &res);
        free(insns);
    }
    test_pass("mutated_programs_no_crash");
    verifier_env_free(&venv);
}

static void test_log_contents(void)
{
    struct verifier_env venv;
    char err[256];
    if (verifier_env_init(&venv, err, sizeof(err))) {
        test_fail("log_contents", "%s", err);
        return;
    }
    char *buf = NULL;
    size_t size = 0;
    FILE *log = open_memstream(&buf, &size);
    struct xdpvm_verify_result res;
    verify_text(&venv,
                "ldxw %r2, [%r1+0]\nldxw %r3, [%r1+4]\nmov %r4, %r2\nadd %r4, 14\njgt %r4, %r3, +2\n"
                "ldxw %r0, [%r2+12]\nexit\nmov %r0, 1\nexit\n",
                &res, err, sizeof(err), log);
    fclose(log);
    test_check(!res.accepted && res.error_insn == 5, "log_rejection_insn", "error insn %zu", res.error_insn);
    test_check(strstr(buf, "rejected at insn 5: r0 = *(u32 *)(r2 + 0xc)") != NULL, "log_disassembly",
               "log lacks the disassembled instruction:\n%s", buf);
    test_check(strstr(buf, "r2=pkt(off=0,proven=14)") != NULL, "log_registers", "log lacks the register state:\n%s", buf);
    test_check(strstr(buf, "insn 4: if r4 > r3 goto +0x2 -> fell through") != NULL, "log_path",
               "log lacks the branch decision at insn 4:\n%s", buf);
    test_check(strstr(buf, "processed ") != NULL && strstr(buf, "states") != NULL, "log_statistics",
               "log lacks statistics:\n%s", buf);
    free(buf);
    verifier_env_free(&venv);
}

/* ---- soundness: what the verifier accepts never trips the checked interpreter ---- */

struct packet_frame {
    uint8_t *frame;
    size_t size;
    struct xdpvm_xdp_buff buff;
};

/* Run prog in the checked interpreter on one packet; the only memory it may touch is the
 * packet itself (not the rest of the frame), the context, the stack and the maps. */
static int run_checked(struct xdpvm_prog *prog, struct packet_frame *pf, const uint8_t *packet, uint32_t len,
                       char *why, size_t why_size)
{
    uint32_t headroom = 256;
    memset(pf->frame, 0xa5, pf->size);
    memcpy(pf->frame + headroom, packet, len);
    memset(&pf->buff, 0, sizeof(pf->buff));
    pf->buff.frame = pf->frame;
    pf->buff.frame_size = (uint32_t)pf->size;
    pf->buff.md.data = (uint32_t)(uintptr_t)(pf->frame + headroom);
    pf->buff.md.data_meta = pf->buff.md.data;
    pf->buff.md.data_end = pf->buff.md.data + len;
    pf->buff.md.ingress_ifindex = 1;
    struct xdpvm_run run;
    memset(&run, 0, sizeof(run));
    run.prog = prog;
    run.ctx = &pf->buff.md;
    run.xdp = &pf->buff;
    run.insn_budget = 1000000;
    xdpvm_run_add_region(&run, pf->frame + headroom, len, true, "packet");
    xdpvm_run_add_region(&run, &pf->buff.md, sizeof(pf->buff.md), false, "context");
    uint64_t r0 = 0;
    int rc = xdpvm_interp_run(&run, &r0);
    if (rc)
        snprintf(why, why_size, "insn %zu: %s", run.error_pc, run.error_message);
    return rc;
}

static void describe_program(const struct xdpvm_insn *insns, size_t count, char *out, size_t size)
{
    size_t used = 0;
    for (size_t i = 0; i < count && used + 80 < size;) {
        struct xdpvm_decoded d;
        if (xdpvm_isa_decode(insns, count, i, &d, NULL))
            break;
        char text[96];
        xdpvm_disasm_insn(&d, i, XDPVM_SYNTAX_LLVM, text, sizeof(text));
        used += (size_t)snprintf(out + used, size - used, "  %zu: %s\n", i, text);
        i += d.slots;
    }
}

static void test_soundness(void)
{
    struct xdpvm_map_spec spec = {"values", XDPVM_MAP_ARRAY, 4, 32, 8, 0};
    char err[256];
    struct xdpvm_map *map = xdpvm_map_create(&spec, 1, err, sizeof(err));
    struct packet_frame pf = {.size = 4096};
    pf.frame = xdpvm_xdp_low_alloc(pf.size);
    if (!map || !pf.frame) {
        test_fail("soundness_random_programs", "setup: %s", map ? "no low memory for a frame" : err);
        if (map)
            xdpvm_map_free(map);
        return;
    }
    unsigned programs = test_sanitized() ? 300 : 3000, accepted = 0, runs = 0, violations = 0;
    char first[4096] = "";
    for (unsigned seed = 1; seed <= programs; seed++) {
        struct randprog_opts ro = {.seed = seed, .blocks = 6 + seed % 14, .array_map = map, .value_size = 32,
                                   .subprograms = seed % 2 == 0, .callbacks = seed % 3 != 0};
        size_t count;
        struct xdpvm_insn *insns = randprog_generate(&ro, &count);
        if (!insns)
            break;
        struct xdpvm_map *maps[1] = {map};
        struct xdpvm_prog prog = {.type = XDPVM_PROG_XDP, .insns = insns, .count = count, .maps = maps,
                                  .map_count = 1, .helpers = xdpvm_helpers_for(XDPVM_PROG_XDP),
                                  .exec = xdpvm_interp_run};
        snprintf(prog.name, sizeof(prog.name), "rand%u", seed);
        struct xdpvm_verify_result res;
        xdpvm_verify(&prog, NULL, &res);
        if (res.accepted) {
            accepted++;
            prog.verified = false; /* keep every run-time check on */
            for (unsigned p = 0; p < 8; p++) {
                uint8_t packet[128];
                uint32_t len = (uint32_t)(rnd() % sizeof(packet));
                for (uint32_t k = 0; k < len; k++)
                    packet[k] = (uint8_t)rnd();
                char why[400];
                runs++;
                if (run_checked(&prog, &pf, packet, len, why, sizeof(why)) && violations++ == 0) {
                    int n = snprintf(first, sizeof(first), "seed %u, packet of %u bytes: %s\n", seed, len, why);
                    describe_program(insns, count, first + n, sizeof(first) - (size_t)n);
                }
            }
        }
        xdpvm_interp_release(&prog);
        free(insns);
    }
    test_check(violations == 0, "soundness_random_programs", "%u of %u runs of accepted programs failed a run-time "
               "check; first:\n%s", violations, runs, first);
    test_check(accepted >= programs / 5 && accepted < programs, "soundness_generator_mix",
               "the verifier accepted %u of %u random programs; the generator should give a mix", accepted, programs);
    xdpvm_xdp_low_free(pf.frame, pf.size);
    xdpvm_map_free(map);
}

/* ---- concurrency: verifications of different programs may run at once ---- */

struct parallel_job {
    struct verifier_env *venv;
    unsigned seed0, mismatches;
    bool expected[64];
};

static void *verify_batch(void *arg)
{
    struct parallel_job *job = arg;
    for (unsigned round = 0; round < 4; round++) {
        for (unsigned i = 0; i < 64; i++) {
            struct randprog_opts ro = {.seed = job->seed0 + i, .blocks = 10, .array_map = job->venv->maps[0],
                                       .value_size = 16, .subprograms = true};
            size_t n;
            struct xdpvm_insn *insns = randprog_generate(&ro, &n);
            if (!insns)
                continue;
            struct xdpvm_prog prog = {.type = XDPVM_PROG_XDP, .insns = insns, .count = n, .maps = job->venv->maps,
                                      .map_count = VERIFIER_ENV_MAPS, .helpers = &job->venv->helpers};
            struct xdpvm_verify_result res;
            xdpvm_verify(&prog, NULL, &res);
            if (round == 0)
                job->expected[i] = res.accepted;
            else if (job->expected[i] != res.accepted)
                job->mismatches++;
            free(insns);
        }
    }
    return NULL;
}

static void test_parallel(void)
{
    struct verifier_env venv;
    char err[256];
    if (verifier_env_init(&venv, err, sizeof(err))) {
        test_fail("parallel_verification", "%s", err);
        return;
    }
    struct parallel_job jobs[4];
    pthread_t threads[4];
    unsigned started = 0, mismatches = 0;
    for (unsigned t = 0; t < 4; t++) {
        jobs[t] = (struct parallel_job){.venv = &venv, .seed0 = 900 + t * 64};
        if (pthread_create(&threads[t], NULL, verify_batch, &jobs[t]) == 0)
            started++;
    }
    for (unsigned t = 0; t < started; t++) {
        pthread_join(threads[t], NULL);
        mismatches += jobs[t].mismatches;
    }
    test_check(started == 4 && mismatches == 0, "parallel_verification",
               "%u threads started, %u verdicts changed between rounds", started, mismatches);
    verifier_env_free(&venv);
}

int main(void)
{
    test_tnum_basics();
    test_domain();
    test_rule_table();
    test_log_contents();
    test_random_words();
    test_soundness();
    test_parallel();
    return test_exit_code();
}
