/* Helper calls from unverified programs (the checked interpreter): every argument kind of
 * the helper prototypes with a bad value fails the run with a message naming the
 * instruction, the helper and the argument, and never crashes; the good twin of each case
 * runs normally. Then a bounded random test: fixed-seed random programs mixing helper calls
 * with random register values, run through the XDP layer, finish or fail with a message.
 * Programs are written in the assembler's syntax; map references are lddw's with the map's
 * handle or value address, as the loader resolves them. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/helpers.h"
#include "interp/interp.h"
#include "io/io.h"
#include "isa/asm.h"
#include "maps/maps.h"
#include "xdp/xdp.h"
#include "lib/testlib.h"

enum { M_ARRAY, M_HASH, M_RINGBUF, M_QUEUE, M_PROG_ARRAY, M_RDONLY, M_PERCPU, M_DEVMAP, M_COUNT };
static struct xdpvm_map *maps[M_COUNT];

static const struct xdpvm_map_spec map_specs[M_COUNT] = {
    [M_ARRAY] = {"arr", XDPVM_MAP_ARRAY, 4, 8, 4, 0},
    [M_HASH] = {"hash", XDPVM_MAP_HASH, 4, 8, 16, 0},
    [M_RINGBUF] = {"rb", XDPVM_MAP_RINGBUF, 0, 0, 4096, 0},
    [M_QUEUE] = {"queue", XDPVM_MAP_QUEUE, 0, 4, 8, 0},
    [M_PROG_ARRAY] = {"progs", XDPVM_MAP_PROG_ARRAY, 4, 4, 2, 0},
    [M_RDONLY] = {"ro", XDPVM_MAP_ARRAY, 4, 64, 1, 1u << 7 /* BPF_F_RDONLY_PROG */},
    [M_PERCPU] = {"pcpu", XDPVM_MAP_PERCPU_ARRAY, 4, 8, 2, 0},
    [M_DEVMAP] = {"devs", XDPVM_MAP_DEVMAP, 4, 4, 4, 0},
};

static bool maps_create(void)
{
    char err[256];
    for (int i = 0; i < M_COUNT; i++) {
        maps[i] = xdpvm_map_create(&map_specs[i], 1, err, sizeof(err));
        if (!maps[i]) {
            test_fail("checked_helpers_maps", "%s", err);
            return false;
        }
    }
    return true;
}

static void maps_free(void)
{
    for (int i = 0; i < M_COUNT; i++)
        xdpvm_map_free(maps[i]);
}

/* "lddw %rN, <map handle>, map_fd" text for map m. */
static const char *map_ref(int m)
{
    static char buf[M_COUNT][40];
    snprintf(buf[m], sizeof(buf[m]), "0x%" PRIxPTR ", map_fd", (uintptr_t)maps[m]);
    return buf[m];
}

static uint64_t map_value_addr(int m)
{
    void *start;
    size_t len;
    xdpvm_map_storage(maps[m], &start, &len);
    return (uint64_t)(uintptr_t)start;
}

static const uint8_t test_packet[64] = {
    0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2, 0x08, 0x00, 0x45, 0, 0, 50, 0, 0, 0, 0, 64, 17,
};

struct outcome {
    bool loaded;
    enum xdpvm_xdp_outcome out;
    uint32_t ret;
    int error;
    char message[400];
    char trace[512];
};

/* Assemble and run prog_text (checked) over the test packet. */
static void run_prog(const struct xdpvm_insn *insns, size_t count, struct outcome *o)
{
    memset(o, 0, sizeof(*o));
    struct xdpvm_prog prog = {.type = XDPVM_PROG_XDP, .insns = (struct xdpvm_insn *)insns,
                              .count = count, .maps = maps, .map_count = M_COUNT,
                              .helpers = xdpvm_helpers_for(XDPVM_PROG_XDP),
                              .exec = xdpvm_interp_run};
    snprintf(prog.name, sizeof(prog.name), "checked");
    if (xdpvm_interp_prepare(&prog, o->message, sizeof(o->message)))
        return;
    o->loaded = true;
    char *trace_text = NULL;
    size_t trace_len = 0;
    FILE *trace = open_memstream(&trace_text, &trace_len);
    struct xdpvm_xdp_opts opts = {.ingress_ifindex = 1, .trace = trace, .insn_budget = 100000};
    char err[256];
    struct xdpvm_xdp_runner *runner = xdpvm_xdp_runner_new(&prog, &opts, err, sizeof(err));
    if (!runner) {
        snprintf(o->message, sizeof(o->message), "runner: %s", err);
        o->error = -ENOMEM;
    } else {
        struct xdpvm_xdp_result res;
        o->out = xdpvm_xdp_run_packet(runner, test_packet, sizeof(test_packet), &res);
        o->ret = res.ret;
        o->error = res.error;
        snprintf(o->message, sizeof(o->message), "%s", res.message);
        xdpvm_xdp_runner_free(runner);
    }
    if (trace)
        fclose(trace);
    if (trace_text)
        snprintf(o->trace, sizeof(o->trace), "%s", trace_text);
    free(trace_text);
    xdpvm_interp_release(&prog);
}

static bool run_text(const char *name, struct outcome *o, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static bool run_text(const char *name, struct outcome *o, const char *fmt, ...)
{
    char text[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    struct xdpvm_insn *insns = NULL;
    size_t count = 0;
    struct xdpvm_asm_error aerr;
    if (xdpvm_asm(text, &insns, &count, &aerr)) {
        test_fail(name, "assembler: line %u: %s", aerr.line, aerr.message);
        return false;
    }
    run_prog(insns, count, o);
    free(insns);
    if (!o->loaded) {
        test_fail(name, "load: %s", o->message);
        return false;
    }
    return true;
}

/* The run fails and the message holds every word (NULL-terminated list). */
static void expect_error(const char *name, const struct outcome *o, ...)
{
    if (o->error == 0) {
        test_fail(name, "ran to the end (return %u) instead of failing", o->ret);
        return;
    }
    va_list ap;
    va_start(ap, o);
    for (const char *word; (word = va_arg(ap, const char *));) {
        if (!strstr(o->message, word)) {
            va_end(ap);
            test_fail(name, "message lacks \"%s\": %s", word, o->message);
            return;
        }
    }
    va_end(ap);
    test_pass(name);
}

static void expect_ret(const char *name, const struct outcome *o, uint32_t want)
{
    if (o->error)
        test_fail(name, "failed: %s", o->message);
    else
        test_check(o->ret == want, name, "returned %u, want %u", o->ret, want);
}

/* Key 0 at r10-4 in r2. */
#define KEY_ON_STACK "stw [%%r10-4], 0\nmov %%r2, %%r10\nadd %%r2, -4\n"

static void test_map_args(void)
{
    struct outcome o;
    if (run_text("map_ptr_garbage", &o, "mov %%r1, 0x10\n" KEY_ON_STACK "call 1\nexit\n"))
        expect_error("map_ptr_garbage", &o, "instruction 4", "call map_lookup_elem", "r1 (map)",
                     "0x10", "not one of the program's", NULL);
    if (run_text("map_ptr_good", &o, "lddw %%r1, %s\n" KEY_ON_STACK "call 1\n"
                 "mov %%r1, %%r0\nmov %%r0, 1\njne %%r1, 0, +1\nmov %%r0, 0\nexit\n", map_ref(M_ARRAY)))
        expect_ret("map_ptr_good", &o, 1);
    if (run_text("map_ptr_wrong_type", &o, "lddw %%r1, %s\n" KEY_ON_STACK "call 1\nexit\n",
                 map_ref(M_PROG_ARRAY)))
        expect_error("map_ptr_wrong_type", &o, "call map_lookup_elem", "r1 (map)", "'progs'",
                     "prog_array", "does not take", NULL);
    if (run_text("map_ptr_wrong_type_percpu", &o, "lddw %%r1, %s\n" KEY_ON_STACK "mov %%r3, 0\n"
                 "call 195\nexit\n", map_ref(M_ARRAY)))
        expect_error("map_ptr_wrong_type_percpu", &o, "map_lookup_percpu_elem", "does not take", NULL);
    if (run_text("map_ptr_percpu_good", &o, "lddw %%r1, %s\n" KEY_ON_STACK "mov %%r3, 0\n"
                 "call 195\nmov %%r1, %%r0\nmov %%r0, 1\njne %%r1, 0, +1\nmov %%r0, 0\nexit\n",
                 map_ref(M_PERCPU)))
        expect_ret("map_ptr_percpu_good", &o, 1);

    /* The example of the brief: a key pointer into nowhere. */
    if (run_text("map_key_null", &o, "lddw %%r1, %s\nmov %%r2, 0x10\ncall 1\nexit\n", map_ref(M_HASH)))
        expect_error("map_key_null", &o, "instruction 3: call map_lookup_elem: r2 (key, 4 bytes) "
                     "points at 0x10, which is not memory the program may read", NULL);
    if (run_text("map_key_past_stack", &o, "lddw %%r1, %s\nmov %%r2, %%r10\nadd %%r2, -2\n"
                 "call 1\nexit\n", map_ref(M_HASH)))
        expect_error("map_key_past_stack", &o, "r2 (key, 4 bytes)", "not memory the program may read",
                     NULL);
    if (run_text("map_key_good", &o, "lddw %%r1, %s\n" KEY_ON_STACK "call 1\nexit\n", map_ref(M_HASH)))
        expect_ret("map_key_good", &o, 0); /* empty hash: NULL */

    if (run_text("map_value_short", &o, "lddw %%r1, %s\n" KEY_ON_STACK "mov %%r3, %%r10\n"
                 "add %%r3, -2\nmov %%r4, 0\ncall 2\nexit\n", map_ref(M_HASH)))
        expect_error("map_value_short", &o, "call map_update_elem", "r3 (value, 8 bytes)",
                     "not memory the program may read", NULL);
    if (run_text("map_value_good", &o, "lddw %%r1, %s\n" KEY_ON_STACK "stdw [%%r10-16], 7\n"
                 "mov %%r3, %%r10\nadd %%r3, -16\nmov %%r4, 0\ncall 2\nexit\n", map_ref(M_HASH)))
        expect_ret("map_value_good", &o, 0);

    /* map_pop_elem writes the value: the read-only context will not do. */
    if (run_text("map_uninit_value_readonly", &o, "mov %%r2, %%r1\nlddw %%r1, %s\ncall 88\nexit\n",
                 map_ref(M_QUEUE)))
        expect_error("map_uninit_value_readonly", &o, "call map_pop_elem", "r2 (value out, 4 bytes)",
                     "may write", "read-only", NULL);
    if (run_text("map_uninit_value_good", &o, "lddw %%r1, %s\nmov %%r2, %%r10\nadd %%r2, -4\n"
                 "call 88\nexit\n", map_ref(M_QUEUE)))
        expect_ret("map_uninit_value_good", &o, (uint32_t)-ENOENT);

    /* A call clobbers r1..r5: using r2 again without setting it. */
    if (run_text("arg_uninitialised", &o, "lddw %%r1, %s\n" KEY_ON_STACK "call 1\n"
                 "lddw %%r1, %s\ncall 1\nexit\n", map_ref(M_HASH), map_ref(M_HASH)))
        expect_error("arg_uninitialised", &o, "r2 (key)", "holds no value", NULL);
}

static void test_mem_args(void)
{
    struct outcome o;
    /* trace_printk("hi\n", size): fmt on the stack. */
#define FMT_HI "stw [%%r10-4], 0x0a6968\nmov %%r1, %%r10\nadd %%r1, -4\n"
    if (run_text("mem_size_too_big", &o, FMT_HI "mov %%r2, 1000\ncall 6\nexit\n"))
        expect_error("mem_size_too_big", &o, "call trace_printk", "r1 (memory, 1000 bytes)",
                     "not memory the program may read", NULL);
    if (run_text("mem_size_zero", &o, FMT_HI "mov %%r2, 0\ncall 6\nexit\n"))
        expect_error("mem_size_zero", &o, "r2 (size) is 0", "at least 1", NULL);
    if (run_text("mem_good", &o, FMT_HI "mov %%r2, 4\ncall 6\nexit\n")) {
        expect_ret("mem_good", &o, 3);
        test_check(!strcmp(o.trace, "hi\n"), "mem_good_trace", "trace \"%s\"", o.trace);
    }
    if (run_text("mem_or_null_size", &o, "mov %%r1, 0\nmov %%r2, 4\nmov %%r3, 0\nmov %%r4, 0\n"
                 "mov %%r5, 0\ncall 28\nexit\n"))
        expect_error("mem_or_null_size", &o, "call csum_diff", "r2 (size) is 4", "r1 is NULL", NULL);
    if (run_text("mem_or_null_good", &o, "stw [%%r10-4], -1\nmov %%r1, 0\nmov %%r2, 0\n"
                 "mov %%r3, %%r10\nadd %%r3, -4\nmov %%r4, 4\nmov %%r5, 0\ncall 28\nexit\n"))
        expect_ret("mem_or_null_good", &o, 0xffff); /* csum of ff ff ff ff, folded */
    if (run_text("mem_or_null_garbage", &o, "mov %%r1, 0\nmov %%r2, 0\nlddw %%r3, 0xdead0000\n"
                 "mov %%r4, 8\nmov %%r5, 0\ncall 28\nexit\n"))
        expect_error("mem_or_null_garbage", &o, "r3 (memory, 8 bytes) points at 0xdead0000", NULL);

    /* xdp_load_bytes writes r4 bytes at r3. */
    if (run_text("uninit_mem_readonly", &o, "mov %%r2, 0\nmov %%r3, %%r1\nmov %%r4, 4\ncall 189\nexit\n"))
        expect_error("uninit_mem_readonly", &o, "call xdp_load_bytes", "r3 (memory out, 4 bytes)",
                     "may write", "read-only", NULL);
    if (run_text("uninit_mem_good", &o, "mov %%r2, 12\nmov %%r3, %%r10\nadd %%r3, -8\nmov %%r4, 2\n"
                 "call 189\nldxh %%r0, [%%r10-8]\nexit\n"))
        expect_ret("uninit_mem_good", &o, 0x0008); /* ethertype 0x0800, little-endian load */

    /* fib_lookup writes its params: a read-only map value will not do. */
    if (run_text("fib_params_readonly", &o, "lddw %%r2, 0x%" PRIx64 ", map_value\nmov %%r3, 64\n"
                 "mov %%r4, 0\ncall 69\nexit\n", map_value_addr(M_RDONLY)))
        expect_error("fib_params_readonly", &o, "call fib_lookup", "r2 (params, 64 bytes)",
                     "may write", NULL);
}

static void test_ctx_func_args(void)
{
    struct outcome o;
    if (run_text("ctx_garbage", &o, "lddw %%r1, 0x12345678\nmov %%r2, 0\ncall 44\nexit\n"))
        expect_error("ctx_garbage", &o, "call xdp_adjust_head", "r1 (context) is 0x12345678",
                     "not the program's context", NULL);
    if (run_text("ctx_moved", &o, "add %%r1, 4\nmov %%r2, 0\ncall 44\nexit\n"))
        expect_error("ctx_moved", &o, "r1 (context)", NULL);
    if (run_text("ctx_good", &o, "mov %%r2, 14\ncall 44\nexit\n"))
        expect_ret("ctx_good", &o, 0);
    if (run_text("tail_call_ctx_garbage", &o, "mov %%r1, 0\nlddw %%r2, %s\nmov %%r3, 0\ncall 12\n"
                 "exit\n", map_ref(M_PROG_ARRAY)))
        expect_error("tail_call_ctx_garbage", &o, "call tail_call", "r1 (context)", NULL);
    if (run_text("tail_call_empty_slot", &o, "lddw %%r2, %s\nmov %%r3, 1\ncall 12\nmov %%r0, 2\nexit\n",
                 map_ref(M_PROG_ARRAY)))
        expect_ret("tail_call_empty_slot", &o, 2);

    /* bpf_loop(3, callback, ctx, 0): the callback adds 1 to the u64 at ctx. */
    const char *callback = "exit\nldxdw %r0, [%r2]\nadd %r0, 1\nstxdw [%r2], %r0\nmov %r0, 0\nexit\n";
    char text[1024];
    /* The callback is instruction 10, 7 after the lddw's second slot; bpf_loop calls it with
     * (index, ctx). */
    snprintf(text, sizeof(text), "stdw [%%r10-8], 0\nmov %%r1, 3\nlddw %%r2, 7, func\n"
             "mov %%r3, %%r10\nadd %%r3, -8\nmov %%r4, 0\ncall 181\nldxdw %%r0, [%%r10-8]\n%s", callback);
    if (run_text("func_good", &o, "%s", text))
        expect_ret("func_good", &o, 3);
    snprintf(text, sizeof(text), "stdw [%%r10-8], 0\nmov %%r1, 3\nmov %%r2, 12345\n"
             "mov %%r3, %%r10\nadd %%r3, -8\nmov %%r4, 0\ncall 181\nldxdw %%r0, [%%r10-8]\n%s", callback);
    if (run_text("func_garbage", &o, "%s", text))
        expect_error("func_garbage", &o, "call loop", "r2 (callback) is 12345",
                     "not the instruction index of a subprogram", NULL);
    snprintf(text, sizeof(text), "stdw [%%r10-8], 0\nmov %%r1, 3\nlddw %%r2, 7, func\n"
             "lddw %%r3, 0x10\nmov %%r4, 0\ncall 181\nldxdw %%r0, [%%r10-8]\n%s", callback);
    /* The callback context goes to the callback as is (the kernel accepts any stack pointer,
     * even one moved out of the stack); the callback's load through it is what fails. */
    if (run_text("stack_or_null_garbage", &o, "%s", text))
        expect_error("stack_or_null_garbage", &o, "instruction 10", "load of 8 bytes at 0x10",
                     "null pointer", NULL);
}

static void test_ringbuf_args(void)
{
    struct outcome o;
    /* reserve 8 bytes; NULL check; write; then submit (r2 = flags). */
#define RESERVE "lddw %%r1, %s\nmov %%r2, 8\nmov %%r3, 0\ncall 131\njeq %%r0, 0, +%d\n"
    if (run_text("alloc_mem_good", &o, RESERVE "stdw [%%r0], 5\nmov %%r1, %%r0\nmov %%r2, 0\n"
                 "call 132\nmov %%r0, 1\nexit\n", map_ref(M_RINGBUF), 5))
        expect_ret("alloc_mem_good", &o, 1);
    int consumed = xdpvm_ringbuf_consume(maps[M_RINGBUF], NULL, NULL);
    test_check(consumed == 1, "alloc_mem_good_consumed", "%d records consumed, want 1", consumed);
    if (run_text("alloc_mem_stack", &o, "mov %%r1, %%r10\nadd %%r1, -8\nmov %%r2, 0\ncall 132\nexit\n"))
        expect_error("alloc_mem_stack", &o, "call ringbuf_submit", "r1 (ring buffer record)",
                     "not a record reserved by ringbuf_reserve", NULL);
    if (run_text("alloc_mem_double_submit", &o, RESERVE "mov %%r6, %%r0\nmov %%r1, %%r6\nmov %%r2, 0\n"
                 "call 132\nmov %%r1, %%r6\nmov %%r2, 0\ncall 133\nexit\n", map_ref(M_RINGBUF), 7))
        expect_error("alloc_mem_double_submit", &o, "call ringbuf_discard", "not yet submitted", NULL);
    if (run_text("alloc_mem_moved", &o, RESERVE "mov %%r6, %%r0\nmov %%r1, %%r6\nadd %%r1, 8\n"
                 "mov %%r2, 0\ncall 132\nexit\n", map_ref(M_RINGBUF), 5))
        expect_error("alloc_mem_moved", &o, "r1 (ring buffer record)", NULL);
    xdpvm_ringbuf_consume(maps[M_RINGBUF], NULL, NULL);
    /* Writing past the 8 reserved bytes would overwrite the next header the consumer trusts. */
    if (run_text("ringbuf_write_past_record", &o, RESERVE "stdw [%%r0+8], -1\nmov %%r1, %%r0\n"
                 "mov %%r2, 0\ncall 133\nexit\n", map_ref(M_RINGBUF), 4))
        expect_error("ringbuf_write_past_record", &o, "store of 8 bytes", "ring buffer 'rb'",
                     "outside every record", NULL);
    /* A record left reserved fails the run and is discarded, so the ring goes on. */
    if (run_text("alloc_mem_leaked", &o, RESERVE "mov %%r0, 2\nexit\n", map_ref(M_RINGBUF), 1))
        expect_error("alloc_mem_leaked", &o, "instruction 4", "neither submitted nor discarded", NULL);
    if (run_text("alloc_mem_after_failures", &o, RESERVE "stdw [%%r0], 5\nmov %%r1, %%r0\nmov %%r2, 0\n"
                 "call 132\nmov %%r0, 1\nexit\n", map_ref(M_RINGBUF), 5))
        expect_ret("alloc_mem_after_failures", &o, 1);
    consumed = xdpvm_ringbuf_consume(maps[M_RINGBUF], NULL, NULL);
    test_check(consumed == 1, "ring_not_blocked_by_failed_runs", "%d records consumed, want 1", consumed);
    if (run_text("ringbuf_output_too_big", &o, "lddw %%r1, %s\nmov %%r2, %%r10\nadd %%r2, -8\n"
                 "mov %%r3, 4096\nmov %%r4, 0\ncall 130\nexit\n", map_ref(M_RINGBUF)))
        expect_error("ringbuf_output_too_big", &o, "call ringbuf_output", "r2 (memory, 4096 bytes)", NULL);
}

static void test_trace_pointers(void)
{
    struct outcome o;
    /* "%s|" with r3 = 0x10: an unreadable string prints as "", like the kernel. */
#define FMT_S "stw [%%r10-4], 0x7c7325\nmov %%r1, %%r10\nadd %%r1, -4\nmov %%r2, 4\n"
    if (run_text("trace_s_garbage", &o, FMT_S "mov %%r3, 0x10\ncall 6\nexit\n")) {
        expect_ret("trace_s_garbage", &o, 1);
        test_check(!strcmp(o.trace, "|\n"), "trace_s_garbage_output", "trace \"%s\"", o.trace);
    }
    /* A string without a NUL before the top of the stack: unreadable as a whole. */
    if (run_text("trace_s_unterminated", &o, "stw [%%r10-16], 0x7c7325\nstw [%%r10-4], 0x41414141\n"
                 "mov %%r1, %%r10\nadd %%r1, -16\nmov %%r2, 4\nmov %%r3, %%r10\nadd %%r3, -4\n"
                 "call 6\nexit\n"))
        test_check(!o.error && !strcmp(o.trace, "|\n"), "trace_s_unterminated", "%s / trace \"%s\"",
                   o.message, o.trace);
    if (run_text("trace_s_good", &o, FMT_S "stw [%%r10-8], 0x6b6f\nmov %%r3, %%r10\nadd %%r3, -8\n"
                 "call 6\nexit\n"))
        test_check(!o.error && !strcmp(o.trace, "ok|\n"), "trace_s_good", "%s / trace \"%s\"",
                   o.message, o.trace);
    /* "%pI4" with a pointer into nowhere prints zeros. */
    if (run_text("trace_pI4_garbage", &o, "stw [%%r10-8], 0x34497025\nstw [%%r10-4], 0\n"
                 "mov %%r1, %%r10\nadd %%r1, -8\nmov %%r2, 8\nlddw %%r3, 0x7fff0000\ncall 6\nexit\n"))
        test_check(!o.error && !strcmp(o.trace, "0.0.0.0\n"), "trace_pI4_garbage", "%s / trace \"%s\"",
                   o.message, o.trace);
    if (run_text("trace_pI4_good", &o, "stw [%%r10-8], 0x34497025\nstw [%%r10-4], 0\n"
                 "stw [%%r10-12], 0x0100000a\nmov %%r1, %%r10\nadd %%r1, -8\nmov %%r2, 8\nmov %%r3, %%r10\n"
                 "add %%r3, -12\ncall 6\nexit\n"))
        test_check(!o.error && !strcmp(o.trace, "10.0.0.1\n"), "trace_pI4_good", "%s / trace \"%s\"",
                   o.message, o.trace);
}

/* ---- random programs ---- */

static uint64_t rng_state;
static uint64_t rnd(void)
{
    return test_xorshift64(&rng_state);
}

static struct xdpvm_insn raw(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
    return (struct xdpvm_insn){.code = code, .dst = dst, .src = src, .off = off, .imm = imm};
}

/* A value a helper might be handed: small numbers, sizes, garbage, a map, stack pointers. */
static void random_value(struct xdpvm_insn *out, size_t *n, uint8_t reg)
{
    switch (rnd() % 8) {
    case 0: out[(*n)++] = raw(0xb7, reg, 0, 0, (int32_t)(rnd() % 16)); break;          /* mov imm small */
    case 1: out[(*n)++] = raw(0xb7, reg, 0, 0, (int32_t)rnd()); break;                 /* mov imm any */
    case 2: { /* lddw of a map handle */
        uint64_t m = (uint64_t)(uintptr_t)maps[rnd() % M_COUNT];
        out[(*n)++] = raw(0x18, reg, 1, 0, (int32_t)(uint32_t)m);
        out[(*n)++] = raw(0, 0, 0, 0, (int32_t)(uint32_t)(m >> 32));
        break;
    }
    case 3: /* a stack pointer, maybe near the edge */
        out[(*n)++] = raw(0xbf, reg, 10, 0, 0);
        out[(*n)++] = raw(0x07, reg, 0, 0, -(int32_t)(rnd() % 600));
        break;
    case 4: out[(*n)++] = raw(0xbf, reg, 6, 0, 0); break;                               /* ctx */
    case 5: out[(*n)++] = raw(0xbf, reg, 0, 0, 0); break;                               /* r0 */
    case 6: { /* lddw of a map value address, maybe past it */
        uint64_t a = map_value_addr((int)(rnd() % 2)) + rnd() % 64;
        out[(*n)++] = raw(0x18, reg, 0, 0, (int32_t)(uint32_t)a);
        out[(*n)++] = raw(0, 0, 0, 0, (int32_t)(uint32_t)(a >> 32));
        break;
    }
    default: /* a callback-like index */
        out[(*n)++] = raw(0xb7, reg, 0, 0, (int32_t)(rnd() % 40));
        break;
    }
}

/* Mostly what the prototype asks for, so that programs get past their first call. Callback
 * references are patched to the program's callback once its position is known. */
static void plausible_value(struct xdpvm_insn *out, size_t *n, uint8_t reg, enum xdpvm_arg_type t,
                            uint32_t helper_id, size_t *func_refs, size_t *func_count)
{
    switch (t) {
    case XDPVM_ARG_CONST_MAP_PTR: {
        int pick = (int)(rnd() % M_COUNT);
        for (int tries = 0; tries < 16; tries++, pick = (int)(rnd() % M_COUNT))
            if (xdpvm_helper_map_compatible(helper_id, map_specs[pick].type))
                break;
        uint64_t m = (uint64_t)(uintptr_t)maps[pick];
        out[(*n)++] = raw(0x18, reg, 1, 0, (int32_t)(uint32_t)m);
        out[(*n)++] = raw(0, 0, 0, 0, (int32_t)(uint32_t)(m >> 32));
        break;
    }
    case XDPVM_ARG_PTR_TO_MAP_KEY:
    case XDPVM_ARG_PTR_TO_MAP_VALUE:
    case XDPVM_ARG_PTR_TO_UNINIT_MAP_VALUE:
    case XDPVM_ARG_PTR_TO_MEM:
    case XDPVM_ARG_PTR_TO_MEM_OR_NULL:
    case XDPVM_ARG_PTR_TO_UNINIT_MEM:
    case XDPVM_ARG_PTR_TO_STACK_OR_NULL:
        out[(*n)++] = raw(0xbf, reg, 10, 0, 0);
        out[(*n)++] = raw(0x07, reg, 0, 0, -8 * (int32_t)(1 + rnd() % 12));
        break;
    case XDPVM_ARG_CONST_SIZE:
    case XDPVM_ARG_CONST_SIZE_OR_ZERO:
    case XDPVM_ARG_CONST_ALLOC_SIZE_OR_ZERO:
        out[(*n)++] = raw(0xb7, reg, 0, 0, (int32_t)(rnd() % 17));
        break;
    case XDPVM_ARG_PTR_TO_CTX: out[(*n)++] = raw(0xbf, reg, 6, 0, 0); break;
    case XDPVM_ARG_PTR_TO_FUNC:
        func_refs[(*func_count)++] = *n;
        out[(*n)++] = raw(0x18, reg, 4, 0, 0);
        out[(*n)++] = raw(0, 0, 0, 0, 0);
        break;
    case XDPVM_ARG_PTR_TO_ALLOC_MEM: out[(*n)++] = raw(0xbf, reg, 7, 0, 0); break;
    default: out[(*n)++] = raw(0xb7, reg, 0, 0, (int32_t)(rnd() % 4)); break;
    }
}

static const uint32_t random_helpers[] = {1, 2, 3, 6, 12, 23, 28, 44, 51, 54, 65, 69, 87, 88, 89,
                                          130, 131, 132, 133, 164, 181, 188, 189, 190, 195};

static size_t random_program(struct xdpvm_insn *out, size_t max)
{
    const struct xdpvm_helper_table *table = xdpvm_helpers_for(XDPVM_PROG_XDP);
    size_t func_refs[16], func_count = 0, n = 0;
    out[n++] = raw(0xbf, 6, 1, 0, 0); /* ctx in r6 */
    out[n++] = raw(0xb7, 7, 0, 0, 0); /* r7: the last ring buffer reservation */
    out[n++] = raw(0xb7, 0, 0, 0, 0);
    unsigned blocks = 2 + (unsigned)(rnd() % 6);
    for (unsigned b = 0; b < blocks && n + 24 < max && func_count < 16; b++) {
        uint32_t id = random_helpers[rnd() % (sizeof(random_helpers) / sizeof(random_helpers[0]))];
        const struct xdpvm_helper *h = table->by_id[id];
        for (unsigned i = 0; i < 5; i++) {
            if (h->args[i] == XDPVM_ARG_DONTCARE && rnd() % 2)
                continue;
            if (rnd() % 8 == 0)
                random_value(out, &n, (uint8_t)(i + 1));
            else
                plausible_value(out, &n, (uint8_t)(i + 1), h->args[i], id, func_refs, &func_count);
        }
        if (rnd() % 3 == 0) { /* a store through a non-NULL r0 (often a helper's result) */
            out[n++] = raw(0x15, 0, 0, 1, 0);
            out[n++] = raw(0x7a, 0, 0, (int16_t)(rnd() % 16), 1);
        }
        if (rnd() % 6 == 0) /* skip the call sometimes */
            out[n++] = raw(0x15, 0, 0, 1, 0);
        out[n++] = raw(0x85, 0, 0, 0, (int32_t)id);
        if (id == 131)
            out[n++] = raw(0xbf, 7, 0, 0, 0);
    }
    out[n++] = raw(0xb7, 0, 0, 0, 2);
    out[n++] = raw(0x95, 0, 0, 0, 0);
    size_t callback = n; /* returns 0 or 1: go on or stop */
    out[n++] = raw(0xb7, 0, 0, 0, (int32_t)(rnd() % 2));
    out[n++] = raw(0x95, 0, 0, 0, 0);
    for (size_t i = 0; i < func_count; i++)
        out[func_refs[i]].imm = (int32_t)(callback - func_refs[i] - 1);
    return n;
}

static void test_random_programs(void)
{
    unsigned programs = test_sanitized() ? 600 : 4000;
    unsigned finished = 0, failed = 0, refused = 0, silent = 0;
    char example[400] = "";
    struct xdpvm_insn insns[256];
    rng_state = 0x9e3779b97f4a7c15ull;
    for (unsigned i = 0; i < programs; i++) {
        size_t n = random_program(insns, sizeof(insns) / sizeof(insns[0]));
        /* the jeq skips above may land on the second slot of an lddw: such programs are
         * refused at load, which is fine too */
        struct outcome o;
        run_prog(insns, n, &o);
        if (!o.loaded)
            refused++;
        else if (o.error) {
            failed++;
            if (!o.message[0])
                silent++;
            else if (!example[0] && strstr(o.message, "call "))
                snprintf(example, sizeof(example), "%s", o.message);
        } else {
            finished++;
        }
        xdpvm_ringbuf_consume(maps[M_RINGBUF], NULL, NULL);
    }
    char name[64];
    snprintf(name, sizeof(name), "random_helper_programs_%u", programs);
    test_check(silent == 0 && finished > 0 && failed > 0, name,
               "%u finished, %u failed (%u without a message), %u refused at load", finished, failed,
               silent, refused);
    printf("# %u finished, %u failed with a message, %u refused at load; e.g. %s\n", finished,
           failed, refused, example);
}

/* Some random programs over every packet of the bundled capture, one runner per program (the
 * way `xdpvm run` goes through a capture). */
static void test_random_over_capture(void)
{
    char path[512], err[512];
    snprintf(path, sizeof(path), "%s/build/data/mixed.pcap", test_root_dir());
    struct xdpvm_pcap_reader *reader = xdpvm_pcap_open(path, err, sizeof(err));
    if (!reader) {
        test_fail("random_programs_over_capture", "%s", err);
        return;
    }
    enum { MAX_PACKETS = 256 };
    static uint8_t packets[MAX_PACKETS][2048];
    static uint32_t lengths[MAX_PACKETS];
    size_t count = 0;
    struct xdpvm_packet p;
    while (count < MAX_PACKETS && xdpvm_pcap_next(reader, &p, err, sizeof(err)) == 1) {
        lengths[count] = p.caplen < sizeof(packets[0]) ? p.caplen : sizeof(packets[0]);
        memcpy(packets[count], p.data, lengths[count]);
        count++;
    }
    xdpvm_pcap_close(reader);
    unsigned programs = test_sanitized() ? 40 : 200, runs = 0, silent = 0;
    struct xdpvm_insn insns[256];
    rng_state = 0x2545f4914f6cdd1dull;
    FILE *trace = fopen("/dev/null", "w");
    for (unsigned i = 0; i < programs; i++) {
        size_t n = random_program(insns, sizeof(insns) / sizeof(insns[0]));
        struct xdpvm_prog prog = {.type = XDPVM_PROG_XDP, .insns = insns, .count = n, .maps = maps,
                                  .map_count = M_COUNT, .helpers = xdpvm_helpers_for(XDPVM_PROG_XDP),
                                  .exec = xdpvm_interp_run};
        if (xdpvm_interp_prepare(&prog, err, sizeof(err)))
            continue;
        struct xdpvm_xdp_opts opts = {.ingress_ifindex = 1, .trace = trace, .insn_budget = 100000};
        struct xdpvm_xdp_runner *runner = xdpvm_xdp_runner_new(&prog, &opts, err, sizeof(err));
        for (size_t k = 0; runner && k < count; k++) {
            struct xdpvm_xdp_result res;
            xdpvm_xdp_run_packet(runner, packets[k], lengths[k], &res);
            silent += res.error && !res.message[0];
            runs++;
        }
        xdpvm_xdp_runner_free(runner);
        xdpvm_interp_release(&prog);
        xdpvm_ringbuf_consume(maps[M_RINGBUF], NULL, NULL);
    }
    if (trace)
        fclose(trace);
    printf("# %u random programs over %zu packets of the capture: %u runs\n", programs, count, runs);
    test_check(count > 0 && runs > 0 && silent == 0, "random_programs_over_capture",
               "%zu packets, %u runs, %u failures without a message", count, runs, silent);
}

int main(void)
{
    if (!maps_create())
        return test_exit_code();
    test_map_args();
    test_mem_args();
    test_ctx_func_args();
    test_ringbuf_args();
    test_trace_pointers();
    test_random_programs();
    test_random_over_capture();
    maps_free();
    return test_exit_code();
}
