/* The verifier against the kernel's and against the project's own objects:
 *  - every example and every loadable test object: each program is accepted, except the
 *    ones written to be rejected (listed below with the reason);
 *  - the corpus tests/bpf/verif_ok.bpf.c / verif_bad.bpf.c: the accepted forms are accepted,
 *    the broken forms rejected with the expected reason;
 *  - differential: for every program of every object, xdpvm's verdict equals the kernel
 *    verifier's (through src/kernel); SKIP when the kernel cannot load BPF here;
 *  - the same, random programs and the rule table again in a child process without
 *    CAP_PERFMON, where the kernel applies the leak and stack rules xdpvm always applies; the
 *    remaining differences are listed with the reason the kernel's log must give
 *    (docs/VERIFIER.md, "Differences from the kernel"). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/time.h>

#include <bpf/bpf.h>
#include <linux/capability.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers/helpers.h"
#include "kernel/kernel.h"
#include "isa/asm.h"
#include "lib/object_runner.h"
#include "lib/randprog.h"
#include "lib/verifier_env.h"
#include "lib/testlib.h"
#include "maps/maps.h"
#include "verifier/verifier.h"
#include "xdpvm/object.h"

/* Programs written to be rejected, by "object:program". */
static const struct {
    const char *program;
    const char *reason_contains;
} expected_rejections[] = {
    {"loader_kernel_reject:unchecked_read", "no bytes are proven before data_end"},
    {"xdp_cli_oob:xdp_cli_oob", "only 1 bytes are proven"},
    {"verif_bad:parse_ipv4", "only 33 bytes are proven before data_end"},
    {"verif_bad:count_proto", "r0 may be NULL (map_value_or_null)"},
    {"verif_bad:index_slots", "but it is only 64 bytes"},
    {"verif_bad:sum_bytes", "no bytes are proven before data_end"},
    {"verif_bad:report_len", "neither submitted nor discarded"},
    {"verif_bad:pop_header", "holds a number (scalar), not a pointer"},
    {"verif_bad:stack_index", "outside the 512-byte stack"},
    {"verif_bad:loop_fill", "outside the 512-byte stack"},
    {"verif_bad:call_checker", "no bytes are proven before data_end"},
    {"verif_bad:tag_meta", "no bytes are proven before data"},
    {"verif_bad:knob_bound", "adding an unbounded number"},
    {"verif_bad:tc_mark_ipv4", "no bytes are proven before data_end"},
    {"isa_programs:tc_mark", "atomic operations are allowed on the stack and on map values, not on ctx"},
};

/* Set in the child process that runs the comparisons again without CAP_PERFMON and
 * CAP_SYS_ADMIN: the kernel then applies the rules xdpvm always applies (allow_ptr_leaks,
 * allow_uninit_stack, bypass_spec_v1/v4 all false). Case names get MODE_SUFFIX. */
static bool without_perfmon;
#define MODE_SUFFIX (without_perfmon ? "_without_perfmon" : "")

static volatile sig_atomic_t timer_signals;

static void count_timer_signal(int signo)
{
    (void)signo;
    timer_signals++;
}

/* Programs whose kernel verdict is known to differ, with why (NULL-terminated). */
static const struct {
    const char *program;
    const char *why;
} known_differences[] = {
    {NULL, NULL},
};

/* Without CAP_PERFMON the kernel refuses these programs, which xdpvm accepts: the kernel's
 * log must give exactly this reason (else the case fails). Measured on Linux 6.18. */
struct perfmon_difference {
    const char *program;
    const char *kernel_says;
    const char *why;
};
#define PTR_SUB "pointer -= pointer prohibited", \
    "the kernel forbids subtracting pointers (data_end - data) without CAP_PERFMON; the result is a length"
#define SPECTRE_PKT "pointer arithmetic with it prohibited for !root", \
    "Spectre v1 hardening: the kernel cannot mask a packet pointer plus a variable register"
#define SPECTRE_STACK "variable stack access prohibited for !root", \
    "Spectre v1 hardening: no variable stack offsets without CAP_PERFMON"
#define NO_PRINTK "cannot use helper bpf_trace_printk", "bpf_trace_printk needs CAP_PERFMON"
static const struct perfmon_difference object_differences_without_perfmon[] = {
    {"counter:xdp_counter", PTR_SUB},
    {"helper_fuzz:adjust_fuzz", PTR_SUB},
    {"helper_xdp:adjust", PTR_SUB},
    {"loader_callbacks:looper", PTR_SUB},
    {"loader_core:core_length", PTR_SUB},
    {"loader_globals:globals", PTR_SUB},
    {"loader_subprogs:first", PTR_SUB},
    {"loader_subprogs:second", PTR_SUB},
    {"verif_ok:report_len", PTR_SUB},
    {"xdp_cli_trace:xdp_cli_trace", PTR_SUB},
    {"firewall:xdp_firewall", SPECTRE_PKT},
    {"verif_ok:sum_bytes", SPECTRE_PKT},
    {"verif_ok:stack_index", SPECTRE_STACK},
    {"verif_ok:loop_fill", SPECTRE_STACK},
    {"helper_fuzz:printk_fuzz", NO_PRINTK},
    {"helper_misc:misc", NO_PRINTK},
    {"isa_programs:count_packets", PTR_SUB},
    {"loader_maps:count_packets", PTR_SUB},
    {NULL, NULL, NULL},
};

static const struct perfmon_difference *lookup_perfmon_difference(const struct perfmon_difference *table,
                                                                  const char *key)
{
    for (size_t i = 0; table[i].program; i++)
        if (!strcmp(table[i].program, key))
            return &table[i];
    return NULL;
}

/* A verdict that differs only without CAP_PERFMON: PASS when the kernel refused for the
 * listed reason, FAIL otherwise. */
static void check_perfmon_difference(const char *name, const struct perfmon_difference *d, const char *log)
{
    const char *tail = strlen(log) > 300 ? log + strlen(log) - 300 : log;
    if (!strstr(log, d->kernel_says))
        test_fail(name, "the kernel refused it without CAP_PERFMON, but not for \"%s\" (%s); log ends: %s",
                  d->kernel_says, d->why, tail);
    else
        test_pass(name);
}

struct verdict {
    char object[128], program[128], path[512];
    bool accepted;
    char reason[600];
};

static const char *lookup_expected(const char *key)
{
    for (size_t i = 0; i < sizeof(expected_rejections) / sizeof(expected_rejections[0]); i++)
        if (!strcmp(expected_rejections[i].program, key))
            return expected_rejections[i].reason_contains;
    return NULL;
}

static const char *lookup_difference(const char *key)
{
    for (size_t i = 0; known_differences[i].program; i++)
        if (!strcmp(known_differences[i].program, key))
            return known_differences[i].why;
    return NULL;
}

static struct verdict *verdicts;
static size_t verdict_count, verdict_cap;

/* Verify every program of one loaded object with xdpvm. */
static void verify_object(const char *path, const char *file, struct xdpvm_object *obj, void *ctx)
{
    (void)ctx;
    char object[128];
    snprintf(object, sizeof(object), "%.*s", (int)(strlen(file) - 2), file);
    for (struct xdpvm_program *p = xdpvm_object__next_program(obj, NULL); p; p = xdpvm_object__next_program(obj, p)) {
        struct xdpvm_prog *prog = xdpvm_program__prog(p);
        if (!prog)
            continue;
        struct xdpvm_verify_result res;
        xdpvm_verify(prog, NULL, &res);
        if (verdict_count == verdict_cap) {
            verdict_cap = verdict_cap ? verdict_cap * 2 : 64;
            verdicts = realloc(verdicts, verdict_cap * sizeof(*verdicts));
        }
        struct verdict *v = &verdicts[verdict_count++];
        snprintf(v->object, sizeof(v->object), "%s", object);
        snprintf(v->program, sizeof(v->program), "%s", xdpvm_program__name(p));
        snprintf(v->path, sizeof(v->path), "%s", path);
        v->accepted = res.accepted;
        snprintf(v->reason, sizeof(v->reason), "insn %zu: %s", res.error_insn, res.reason);
    }
}

static void test_own_objects(void)
{
    unsigned corpus_ok = 0, corpus_bad = 0;
    for (size_t i = 0; i < verdict_count; i++) {
        const struct verdict *v = &verdicts[i];
        char key[300], name[340];
        snprintf(key, sizeof(key), "%s:%s", v->object, v->program);
        snprintf(name, sizeof(name), "verdict_%s", key);
        const char *expect = lookup_expected(key);
        corpus_ok += !strcmp(v->object, "verif_ok");
        corpus_bad += !strcmp(v->object, "verif_bad");
        if (expect) {
            if (v->accepted)
                test_fail(name, "accepted, but the program is written to be rejected (%s)", expect);
            else
                test_check(strstr(v->reason, expect) != NULL, name, "rejected for \"%s\", expected \"%s\"", v->reason,
                           expect);
        } else {
            test_check(v->accepted, name, "rejected (%s): %s", v->path, v->reason);
        }
    }
    test_check(corpus_ok >= 12 && corpus_bad >= 12, "verdict_corpus_present",
               "verif_ok has %u and verif_bad %u programs (expected 12 each); is build/bpf built?", corpus_ok,
               corpus_bad);
}

static void test_kernel_differential(void)
{
    char why[256];
    if (!xdpvm_kernel_available(why, sizeof(why))) {
        test_skip("kernel_differential", "%s", why);
        return;
    }
    static char log[1 << 16];
    for (size_t i = 0; i < verdict_count; i++) {
        const struct verdict *v = &verdicts[i];
        char key[300], name[340];
        snprintf(key, sizeof(key), "%s:%s", v->object, v->program);
        snprintf(name, sizeof(name), "kernel_same_verdict_%s%s", key, MODE_SUFFIX);
        log[0] = 0;
        int rc = xdpvm_kernel_verify(v->path, v->program, 1, log, sizeof(log));
        /* libbpf fails with EBADF after the verifier accepted the program when it fills a
         * prog_array with programs it did not load; the statistics line says it got that far. */
        if (rc == -EBADF && strstr(log, "processed "))
            rc = 0;
        if (rc && rc != -EACCES && rc != -EINVAL && rc != -E2BIG && rc != -ENOSPC) {
            test_skip(name, "could not ask the kernel: %s", xdpvm_kernel_error());
            continue;
        }
        if (rc && !log[0]) { /* refused before its verifier ran (libbpf, map creation) */
            test_skip(name, "the kernel refused the object before verifying it (%s)", xdpvm_kernel_error());
            continue;
        }
        bool kernel_accepted = rc == 0;
        const char *diff = lookup_difference(key);
        const struct perfmon_difference *strict =
            without_perfmon ? lookup_perfmon_difference(object_differences_without_perfmon, key) : NULL;
        if (kernel_accepted == v->accepted) {
            test_pass(name);
        } else if (strict && v->accepted) {
            check_perfmon_difference(name, strict, log);
        } else if (diff) {
            test_skip(name, "known difference: %s", diff);
        } else {
            const char *tail = strlen(log) > 300 ? log + strlen(log) - 300 : log;
            test_fail(name, "xdpvm %s (%s), kernel %s (log ends: %s)", v->accepted ? "accepted" : "rejected",
                      v->accepted ? "" : v->reason, kernel_accepted ? "accepted" : "rejected", tail);
        }
    }
}

#define RANDOM_PROGRAMS 600

/* The privileged kernel's verdict per random program (1 accepted, 0 refused, -1 not asked),
 * kept for the run without CAP_PERFMON, which the child process inherits. */
static signed char privileged_random_verdict[RANDOM_PROGRAMS + 1];

/* Whether a kernel refusal without CAP_PERFMON comes from its Spectre v1 hardening: a pointer
 * arithmetic it cannot mask, a variable stack offset, or (only when the privileged kernel
 * accepted the same program, so that no other rule can be the cause) the extra mispredicted
 * paths it verifies, which can exceed its limits or look like a loop without progress. */
static bool spectre_v1_refusal(const char *log, bool privileged_accepted)
{
    if (strstr(log, "prohibited for !root"))
        return true;
    return privileged_accepted && (strstr(log, "infinite loop detected") || strstr(log, "BPF program is too large"));
}

/* Random programs (tests/lib/randprog) through both verifiers. xdpvm may be stricter than a
 * privileged kernel (it refuses reads of never-written stack, pointers stored into the packet,
 * comparisons of pointers with numbers), but it must never accept what the kernel refuses.
 * Without CAP_PERFMON the kernel applies those rules too: xdpvm is then not stricter, and it
 * accepts more only where the kernel's Spectre v1 hardening refuses. */
static void test_random_differential(void)
{
    char why[256];
    if (!xdpvm_kernel_available(why, sizeof(why))) {
        test_skip("kernel_random_programs", "%s", why);
        return;
    }
    struct xdpvm_map_spec spec = {"values", XDPVM_MAP_ARRAY, 4, 32, 8, 0};
    char err[256];
    struct xdpvm_map *map = xdpvm_map_create(&spec, 1, err, sizeof(err));
    int map_fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "values", 4, 32, 8, NULL);
    if (!map || map_fd < 0) {
        test_fail("kernel_random_programs", "setup: %s", map ? "kernel map creation failed" : err);
        if (map)
            xdpvm_map_free(map);
        if (map_fd >= 0)
            close(map_fd);
        return;
    }
    static char log[1 << 16];
    unsigned programs = test_sanitized() ? 100 : RANDOM_PROGRAMS, both = 0, stricter = 0, unsound = 0,
             kernel_errors = 0, spectre_only = 0, interrupted = 0;
    char first[1024] = "", first_stricter[600] = "";
    for (unsigned seed = 1; seed <= programs; seed++) {
        struct randprog_opts ro = {.seed = 7000 + seed, .blocks = 4 + seed % 12, .array_map = map,
                                   .value_size = 32, .subprograms = seed % 2 == 0};
        size_t count;
        struct xdpvm_insn *insns = randprog_generate(&ro, &count);
        if (!insns)
            break;
        struct xdpvm_map *maps[1] = {map};
        struct xdpvm_prog prog = {.type = XDPVM_PROG_XDP, .insns = insns, .count = count, .maps = maps,
                                  .map_count = 1, .helpers = xdpvm_helpers_for(XDPVM_PROG_XDP)};
        struct xdpvm_verify_result res;
        xdpvm_verify(&prog, NULL, &res);
        /* The kernel's copy refers to the map by file descriptor. */
        for (size_t i = 0; i + 1 < count; i++) {
            if (insns[i].code == (XDPVM_CLASS_LD | XDPVM_MODE_IMM | XDPVM_SIZE_DW)) {
                if (insns[i].src == XDPVM_PSEUDO_MAP_FD) {
                    insns[i].imm = map_fd;
                    insns[i + 1].imm = 0;
                }
                i++;
            }
        }
        LIBBPF_OPTS(bpf_prog_load_opts, opts, .log_buf = log, .log_size = sizeof(log), .log_level = 1);
        log[0] = 0;
        /* Without CAP_PERFMON a few programs (4 of 600) make the kernel verify mispredicted paths
         * up to its 1M instruction limit, seconds each: a timer signal interrupts the verifier
         * (it stops when a signal is pending, and libbpf's retries get one too; the error is
         * EAGAIN, or ENOSPC when the log overflowed first). */
        timer_signals = 0;
        struct itimerval limit = {.it_interval = {0, 100000}, .it_value = {0, 100000}}, off = {0};
        if (without_perfmon)
            setitimer(ITIMER_REAL, &limit, NULL);
        int fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "rand", "GPL", (const struct bpf_insn *)insns, count, &opts);
        if (without_perfmon)
            setitimer(ITIMER_REAL, &off, NULL);
        if (fd < 0 && without_perfmon && timer_signals > 0) {
            interrupted++;
            free(insns);
            continue;
        }
        bool kernel_accepted = fd >= 0;
        if (fd >= 0)
            close(fd);
        else if (!log[0])
            kernel_errors++;
        if (!without_perfmon)
            privileged_random_verdict[seed] = (signed char)(log[0] || kernel_accepted ? kernel_accepted : -1);
        if (kernel_accepted == res.accepted) {
            both++;
        } else if (res.accepted && without_perfmon && spectre_v1_refusal(log, privileged_random_verdict[seed] == 1)) {
            spectre_only++;
        } else if (res.accepted) {
            if (unsound++ == 0) {
                const char *tail = strlen(log) > 400 ? log + strlen(log) - 400 : log;
                snprintf(first, sizeof(first), "seed %u: the kernel refused (%.600s)", 7000 + seed, tail);
            }
        } else if (stricter++ == 0) {
            snprintf(first_stricter, sizeof(first_stricter), "seed %u: %s", 7000 + seed, res.reason);
        }
        free(insns);
    }
    char name[120];
    snprintf(name, sizeof(name), "kernel_random_programs_never_more_permissive%s", MODE_SUFFIX);
    test_check(unsound == 0, name, "xdpvm accepted %u of %u random programs the kernel refused%s; first: %s",
               unsound, programs, without_perfmon ? " (not for Spectre v1)" : "", first);
    if (!without_perfmon) {
        test_check(both >= programs * 3 / 4, "kernel_random_programs_same_verdict",
                   "same verdict on only %u of %u programs (%u stricter in xdpvm, first: %s; %u kernel errors)",
                   both, programs, stricter, first_stricter, kernel_errors);
    } else { /* measured: none stricter, about half refused by the kernel for Spectre v1 */
        test_check(stricter * 50 <= programs, "kernel_random_programs_not_stricter_without_perfmon",
                   "xdpvm refused %u of %u random programs the kernel accepts without CAP_PERFMON (%u same, %u "
                   "refused by the kernel for Spectre v1, %u taking the kernel over 0.1 s); first: %s",
                   stricter, programs, both, spectre_only, interrupted, first_stricter);
        test_check(interrupted * 50 <= programs, "kernel_random_programs_decided_without_perfmon",
                   "the kernel took over 0.1 s on %u of %u random programs", interrupted, programs);
    }
    close(map_fd);
    xdpvm_map_free(map);
}

/* The rule table through the kernel: each rejected program is rejected by the kernel too and
 * each fixed twin accepted. A privileged kernel (CAP_PERFMON) allows what these rules forbid;
 * their rejected programs are compared without CAP_PERFMON only, where the kernel must refuse
 * them too. */
static const struct {
    const char *program;
    const char *why;
} stricter_than_privileged_kernel[] = {
    {"stack-read-before-write", "a privileged kernel lets programs read stack never written"},
    {"stack-variable-offset-uninitialised", "a privileged kernel lets programs read stack never written"},
    {"map-key-uninitialised", "a privileged kernel lets helpers read stack never written"},
    {"map-update-value-uninitialised", "a privileged kernel lets helpers read stack never written"},
    {"callee-writes-caller-stack", "a privileged kernel lets programs read stack never written"},
    {"loop-callback-context", "a privileged kernel lets programs read stack never written"},
    {"pointer-leak-into-map", "a privileged kernel lets programs store addresses in maps"},
    {"pointer-compared-with-number", "a privileged kernel lets programs compare pointers with numbers"},
    {"compare-different-objects", "a privileged kernel lets programs compare any pointers"},
    {"atomic-with-pointer-operand", "a privileged kernel lets atomics add addresses to memory"},
    {"atomic-on-saved-pointer", "a privileged kernel lets atomics change a saved pointer"},
    {"pointer-through-variable-stack-offset", "a privileged kernel lets programs store pointers at variable "
                                              "stack offsets"},
    {"r0-pointer-at-exit", "a privileged kernel lets XDP programs return an address (the issue forbids it)"},
    {"pointer-copied-in-32-bits", "a privileged kernel lets programs copy half a pointer into a number"},
    {"pointer-low-half-into-map", "a privileged kernel lets programs copy half a pointer into a number"},
    {"pointer-difference-of-different-objects", "a privileged kernel lets programs subtract any pointers"},
    {"ringbuf-record-read-after-discard", "a privileged kernel turns a released record into an unknown number"},
    {"pointer-leak-through-helper", "a privileged kernel lets helpers copy saved pointers into maps"},
    {NULL, NULL},
};

/* Fixed twins the kernel refuses without CAP_PERFMON, for the reason its log must give. */
#define PTR_CMP "pointer comparison prohibited", \
    "the kernel forbids comparing pointers without CAP_PERFMON, even a never-NULL pointer with 0 or a " \
    "pointer with a copy of itself; xdpvm allows what leaks no address"
#define SPECTRE_PATHS "the kernel also verifies each mispredicted branch (Spectre v1)"
static const struct perfmon_difference rule_differences_without_perfmon[] = {
    {"stack-variable-offset-uninitialised", SPECTRE_STACK},
    {"pointer-through-variable-stack-offset", SPECTRE_STACK},
    {"packet-variable-offset", SPECTRE_PKT},
    {"packet-negative-variable-offset", SPECTRE_PKT},
    {"number-minus-pointer", "pointer arithmetic with it prohibited for !root",
     "Spectre v1 hardening: a ctx pointer minus a register is refused even when the register is constant"},
    {"pointer-plus-pointer", PTR_SUB},
    {"pointer-copied-in-32-bits", PTR_SUB},
    {"pointer-difference-of-different-objects", PTR_SUB},
    {"pointer-compared-with-number", PTR_CMP},
    {"compare-different-objects", PTR_CMP},
    {"infinite-loop", "infinite loop detected",
     SPECTRE_PATHS "; on the path where the loop exit is mispredicted it sees r0 stuck in 7..9 and reports a "
                   "loop that does not exist"},
    {NULL, NULL, NULL},
};

struct kernel_rules {
    int map_fds[VERIFIER_ENV_MAPS];
    char *log;
    size_t log_size;
};

/* 1: accepted, 0: rejected, -1: could not ask (with why). */
static int kernel_verdict(struct kernel_rules *k, enum bpf_prog_type type, const char *text, char *why,
                          size_t why_size)
{
    struct xdpvm_insn *insns;
    size_t count;
    struct xdpvm_asm_error aerr;
    if (xdpvm_asm(text, &insns, &count, &aerr)) {
        snprintf(why, why_size, "assembler: line %u: %s", aerr.line, aerr.message);
        return -1;
    }
    for (size_t i = 0; i + 1 < count; i++) {
        if (insns[i].code != (XDPVM_CLASS_LD | XDPVM_MODE_IMM | XDPVM_SIZE_DW))
            continue;
        uint64_t imm = (uint32_t)insns[i].imm | ((uint64_t)(uint32_t)insns[i + 1].imm << 32);
        if (insns[i].src == XDPVM_PSEUDO_MAP_FD) {
            insns[i].imm = imm < VERIFIER_ENV_MAPS ? k->map_fds[imm] : -1;
            insns[i + 1].imm = 0;
        } else if (insns[i].src == XDPVM_PSEUDO_MAP_VALUE) {
            insns[i].imm = (imm >> 16) < VERIFIER_ENV_MAPS ? k->map_fds[imm >> 16] : -1;
            insns[i + 1].imm = (int32_t)(imm & 0xffff);
        }
        i++;
    }
    LIBBPF_OPTS(bpf_prog_load_opts, opts, .log_buf = k->log, .log_size = (uint32_t)k->log_size, .log_level = 1);
    k->log[0] = 0;
    int fd = bpf_prog_load(type, "rule", "GPL", (const struct bpf_insn *)insns, count, &opts);
    if (fd < 0 && errno == ENOSPC) {
        /* The log did not fit, which hides the verdict: ask again without a log. */
        LIBBPF_OPTS(bpf_prog_load_opts, quiet);
        fd = bpf_prog_load(type, "rule", "GPL", (const struct bpf_insn *)insns, count, &quiet);
        if (fd < 0)
            snprintf(k->log, k->log_size, "(rejected; the log did not fit: %s)", strerror(errno));
    }
    free(insns);
    if (fd >= 0) {
        close(fd);
        return 1;
    }
    if (strstr(k->log, "missing btf func_info")) {
        snprintf(why, why_size, "the kernel needs BTF to load callbacks; raw instructions have none");
        return -1;
    }
    if (!k->log[0]) {
        snprintf(why, why_size, "the kernel refused the program without a verifier log (%s)", strerror(errno));
        return -1;
    }
    return 0;
}

static void kernel_rule(const char *rule, const char *reason, const char *reject_text, const char *accept_text,
                        void *arg)
{
    struct kernel_rules *k = arg;
    char name[240], why[300];
    const char *stricter = NULL;
    for (size_t i = 0; stricter_than_privileged_kernel[i].program; i++)
        if (!strcmp(stricter_than_privileged_kernel[i].program, rule))
            stricter = stricter_than_privileged_kernel[i].why;
    enum bpf_prog_type type = strstr(rule, "[tc]") ? BPF_PROG_TYPE_SCHED_CLS
                            : strstr(rule, "[socket]") ? BPF_PROG_TYPE_SOCKET_FILTER : BPF_PROG_TYPE_XDP;
    snprintf(name, sizeof(name), "kernel_rule_%s_rejected%s", rule, MODE_SUFFIX);
    int v = kernel_verdict(k, type, reject_text, why, sizeof(why));
    if (v < 0)
        test_skip(name, "%s", why);
    else if (v == 0)
        test_pass(name);
    else if (!stricter || without_perfmon)
        test_fail(name, "the kernel accepted the program xdpvm rejects (\"%s\")", reason);
    /* else: compared without CAP_PERFMON, where the kernel applies this rule. */
    snprintf(name, sizeof(name), "kernel_rule_%s_fixed_accepted%s", rule, MODE_SUFFIX);
    if (without_perfmon && !strcmp(rule, "loop-too-long")) {
        /* Measured once (Linux 6.18, 5 s): E2BIG, "Argument list too long". Too slow to repeat. */
        test_skip(name, "known difference: " SPECTRE_PATHS "; each of the 4000 iterations queues one, past "
                        "its limit of pending branches (E2BIG)");
        return;
    }
    v = kernel_verdict(k, type, accept_text, why, sizeof(why));
    const struct perfmon_difference *strict =
        without_perfmon ? lookup_perfmon_difference(rule_differences_without_perfmon, rule) : NULL;
    if (v < 0) {
        test_skip(name, "%s", why);
    } else if (v == 0 && strict) {
        snprintf(name, sizeof(name), "kernel_rule_%s_fixed_known_difference%s", rule, MODE_SUFFIX);
        check_perfmon_difference(name, strict, k->log);
    } else {
        const char *tail = strlen(k->log) > 300 ? k->log + strlen(k->log) - 300 : k->log;
        test_check(v == 1, name, "the kernel rejected the fixed program: %s", tail);
    }
}

/* Programs that turn an address into a number xdpvm would let out (into a map or r0). The
 * kernel refuses each without CAP_PERFMON (allow_ptr_leaks) for the reason given; xdpvm must
 * refuse them too, whatever the privilege, since it has no privileged mode. */
#define STORE_R6_IN_MAP "mov %r2, %r10\n" "add %r2, -4\n" "stw [%r10-4], 0\n" "lddw %r1, 0, map_fd\n" \
    "call 1\n" "jeq %r0, 0, out\n" "stxdw [%r0+0], %r6\n" "out:\n" "mov %r0, 0\n" "exit\n"
static const struct {
    const char *name, *text, *kernel_says;
} address_leaks[] = {
    {"leak-low-half-of-pointer-into-map", "mov32 %r6, %r1\n" STORE_R6_IN_MAP, "partial copy of pointer"},
    {"leak-stack-minus-ctx-into-map", "mov %r6, %r10\n" "sub %r6, %r1\n" STORE_R6_IN_MAP,
     "pointer -= pointer prohibited"},
    {"leak-stack-minus-ctx-in-r0", "mov %r0, %r10\n" "sub %r0, %r1\n" "exit\n", "pointer -= pointer prohibited"},
    {"leak-low-half-of-stack-pointer-in-r0", "mov32 %r0, %r10\n" "exit\n", "partial copy of pointer"},
    {"leak-released-ringbuf-pointer-in-r0",
     "lddw %r1, 2, map_fd\n" "mov %r2, 8\n" "mov %r3, 0\n" "call 131\n" "mov %r6, %r0\n" "jeq %r0, 0, out\n"
     "mov %r1, %r6\n" "mov %r2, 0\n" "call 133\n" "mov %r0, %r6\n" "exit\n" "out:\n" "mov %r0, 0\n" "exit\n",
     "!read_ok"},
};

static void test_address_leaks(struct kernel_rules *k)
{
    struct verifier_env venv;
    char err[256];
    if (verifier_env_init(&venv, err, sizeof(err))) {
        test_fail("kernel_address_leaks", "setup: %s", err);
        return;
    }
    for (size_t i = 0; i < sizeof(address_leaks) / sizeof(address_leaks[0]); i++) {
        char name[160], why[300];
        snprintf(name, sizeof(name), "kernel_%s%s", address_leaks[i].name, MODE_SUFFIX);
        struct xdpvm_verify_result res;
        if (verifier_env_verify_text(&venv, XDPVM_PROG_XDP, address_leaks[i].text, &res, why, sizeof(why), NULL) < 0) {
            test_fail(name, "%s", why);
            continue;
        }
        int v = kernel_verdict(k, BPF_PROG_TYPE_XDP, address_leaks[i].text, why, sizeof(why));
        const char *tail = strlen(k->log) > 300 ? k->log + strlen(k->log) - 300 : k->log;
        if (res.accepted)
            test_fail(name, "xdpvm accepts a program that lets an address out; the kernel without CAP_PERFMON "
                      "refuses it (\"%s\")", address_leaks[i].kernel_says);
        else if (v < 0)
            test_skip(name, "xdpvm refuses it (%s); the kernel cannot be asked: %s", res.reason, why);
        else if (v == 1 || !strstr(k->log, address_leaks[i].kernel_says))
            test_fail(name, "the kernel without CAP_PERFMON should refuse it for \"%s\"; %s: %s",
                      address_leaks[i].kernel_says, v ? "it accepted" : "log ends", tail);
        else
            test_pass(name);
    }
    verifier_env_free(&venv);
}

static void test_kernel_rules(void)
{
    char why[256];
    if (!xdpvm_kernel_available(why, sizeof(why))) {
        test_skip("kernel_rules", "%s", why);
        return;
    }
    struct kernel_rules k = {.log_size = 1 << 16};
    k.log = malloc(k.log_size);
    LIBBPF_OPTS(bpf_map_create_opts, ro_opts, .map_flags = BPF_F_RDONLY_PROG);
    k.map_fds[0] = bpf_map_create(BPF_MAP_TYPE_ARRAY, "arr", 4, 16, 4, NULL);
    k.map_fds[1] = bpf_map_create(BPF_MAP_TYPE_HASH, "hash", 4, 8, 16, NULL);
    k.map_fds[2] = bpf_map_create(BPF_MAP_TYPE_RINGBUF, "rb", 0, 0, 4096, NULL);
    k.map_fds[3] = bpf_map_create(BPF_MAP_TYPE_PROG_ARRAY, "jmp", 4, 4, 4, NULL);
    k.map_fds[4] = bpf_map_create(BPF_MAP_TYPE_DEVMAP, "dev", 4, 4, 4, NULL);
    k.map_fds[5] = bpf_map_create(BPF_MAP_TYPE_ARRAY, "ro", 4, 8, 1, &ro_opts);
    k.map_fds[6] = bpf_map_create(BPF_MAP_TYPE_ARRAY, "glob", 4, 16, 1, NULL);
    bool ok = k.log != NULL;
    for (int i = 0; i < VERIFIER_ENV_MAPS; i++)
        ok &= k.map_fds[i] >= 0;
    if (ok) { /* like verifier_env: "ro" holds 3 and is frozen */
        uint32_t key = 0;
        uint64_t three = 3;
        ok = bpf_map_update_elem(k.map_fds[5], &key, &three, BPF_ANY) == 0 && bpf_map_freeze(k.map_fds[5]) == 0;
    }
    if (!ok) {
        test_fail("kernel_rules", "could not create the kernel maps of the rule table");
    } else {
        char path[512], err[256];
        snprintf(path, sizeof(path), "%s/tests/verifier/rules.txt", test_root_dir());
        if (verifier_rules_each(path, kernel_rule, &k, err, sizeof(err)) < 0)
            test_fail("kernel_rules", "%s", err);
        if (without_perfmon) /* a privileged kernel lets every one of them out */
            test_address_leaks(&k);
    }
    for (int i = 0; i < VERIFIER_ENV_MAPS; i++)
        if (k.map_fds[i] >= 0)
            close(k.map_fds[i]);
    free(k.log);
}

/* Clear CAP_PERFMON and CAP_SYS_ADMIN (which implies it) from this process's effective,
 * permitted and inheritable sets, keeping CAP_BPF and CAP_NET_ADMIN, which are all loading an
 * XDP program needs. Raw syscalls: libcap may not be installed. */
static bool drop_perfmon(char *why, size_t why_size)
{
    struct __user_cap_header_struct header = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
    if (syscall(SYS_capget, &header, data)) {
        snprintf(why, why_size, "capget: %s", strerror(errno));
        return false;
    }
    const int keep[] = {CAP_BPF, CAP_NET_ADMIN};
    for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
        if (!(data[CAP_TO_INDEX(keep[i])].effective & CAP_TO_MASK(keep[i]))) {
            snprintf(why, why_size, "this process lacks capability %d (CAP_BPF is 39, CAP_NET_ADMIN 12)", keep[i]);
            return false;
        }
    const int drop[] = {CAP_PERFMON, CAP_SYS_ADMIN};
    for (size_t i = 0; i < sizeof(drop) / sizeof(drop[0]); i++) {
        data[CAP_TO_INDEX(drop[i])].effective &= ~CAP_TO_MASK(drop[i]);
        data[CAP_TO_INDEX(drop[i])].permitted &= ~CAP_TO_MASK(drop[i]);
        data[CAP_TO_INDEX(drop[i])].inheritable &= ~CAP_TO_MASK(drop[i]);
    }
    if (syscall(SYS_capset, &header, data)) {
        snprintf(why, why_size, "capset: %s", strerror(errno));
        return false;
    }
    return true;
}

/* The object and rule-table comparisons again in a child process without CAP_PERFMON; the
 * child prints its own case lines and reports failures through its exit status. */
static void test_without_perfmon(void)
{
    char why[256];
    if (!xdpvm_kernel_available(why, sizeof(why))) {
        test_skip("kernel_without_perfmon", "%s", why);
        return;
    }
    fflush(stdout);
    pid_t child = fork();
    if (child < 0) {
        test_fail("kernel_without_perfmon", "fork: %s", strerror(errno));
        return;
    }
    if (child == 0) {
        /* The parent reports its own failures; the child's status says only whether it added any. */
        bool failed_before = test_exit_code() != 0;
        if (!drop_perfmon(why, sizeof(why))) {
            test_skip("kernel_without_perfmon", "cannot drop CAP_PERFMON: %s", why);
            fflush(stdout);
            _exit(0);
        }
        without_perfmon = true;
        struct sigaction interrupt = {.sa_handler = count_timer_signal}; /* no SA_RESTART: the load returns */
        sigaction(SIGALRM, &interrupt, NULL);
        test_kernel_differential();
        test_random_differential();
        test_kernel_rules();
        fflush(stdout);
        _exit(!failed_before && test_exit_code() != 0);
    }
    int status;
    while (waitpid(child, &status, 0) < 0 && errno == EINTR)
        ;
    if (!WIFEXITED(status))
        test_fail("kernel_without_perfmon", "the child process died (status %#x)", status);
    else if (WEXITSTATUS(status))
        test_fail("kernel_without_perfmon", "see the failed cases ending in _without_perfmon above");
}

int main(void)
{
    char dir[512];
    snprintf(dir, sizeof(dir), "%s/examples", test_bpf_dir());
    object_for_each_loaded(dir, verify_object, NULL);
    snprintf(dir, sizeof(dir), "%s/tests/bpf", test_bpf_dir());
    object_for_each_loaded(dir, verify_object, NULL);
    test_own_objects();
    test_kernel_differential();
    test_random_differential();
    test_kernel_rules();
    test_without_perfmon();
    free(verdicts);
    return test_exit_code();
}
