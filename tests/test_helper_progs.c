/* Every helper called from real clang-built programs (tests/bpf/helper_*.bpf.c), loaded by the
 * loader and run by the interpreter through the XDP layer. Each program writes the result of
 * every helper call to its `results` array map; the test checks those against the kernel's
 * documented values and, when the kernel can run BPF here, runs the same object with
 * BPF_PROG_TEST_RUN and compares results, return codes and output packets. A second pass
 * runs every program JIT-compiled (helpers called from native code) with the same checks. */
#include "helpers/helpers.h"
#include "jit/jit.h"
#include "kernel/kernel.h"
#include "lib/object_runner.h"
#include "lib/testlib.h"
#include "maps/maps.h"
#include "xdp/xdp.h"
#include "xdpvm/object.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <bpf/libbpf.h>

#define MAX_RESULTS 64
#define NONE INT64_MIN /* a results slot the program does not write */

static const char *object_path(const char *name)
{
    static char path[512];
    snprintf(path, sizeof(path), "%s/tests/bpf/%s.o", test_bpf_dir(), name);
    return path;
}

/* 64 bytes: Ethernet, IPv4 10.0.0.1 -> 10.0.0.2 (valid checksum), UDP, payload. */
static void make_packet(uint8_t pkt[64])
{
    static const uint8_t head[42] = {
        0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02, 0x08, 0x00,            /* Ethernet */
        0x45, 0, 0, 50, 0x12, 0x34, 0x40, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, /* IPv4 */
        0x30, 0x39, 0x00, 0x35, 0, 30, 0, 0,                                    /* UDP */
    };
    memcpy(pkt, head, sizeof(head));
    for (int i = 42; i < 64; i++)
        pkt[i] = (uint8_t)(i * 3);
    uint32_t sum = 0;
    for (int i = 14; i < 34; i += 2)
        sum += (uint32_t)(pkt[i] << 8 | pkt[i + 1]);
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    pkt[24] = (uint8_t)(~sum >> 8);
    pkt[25] = (uint8_t)~sum;
}

/* ---- xdpvm side ---- */

static bool use_jit; /* second pass: every program JIT-compiled */

/* The test name, with "_jit" in the JIT pass. */
static const char *tname(const char *base)
{
    static char names[4][96];
    static unsigned next;
    char *name = names[next++ % 4];
    snprintf(name, sizeof(names[0]), "%s%s", base, use_jit ? "_jit" : "");
    return name;
}

struct run_out {
    uint32_t ret;
    enum xdpvm_xdp_outcome outcome;
    uint8_t data[XDPVM_XDP_MAX_PACKET];
    uint32_t len;
    uint32_t redirect_ifindex, redirect_key;
    const struct xdpvm_map *redirect_map;
    int64_t results[MAX_RESULTS];
};

static struct xdpvm_map *engine_map(struct xdpvm_object *obj, const char *name)
{
    struct xdpvm_object_map *m = xdpvm_object__find_map_by_name(obj, name);
    return m ? xdpvm_object_map__map(m) : NULL;
}

static struct xdpvm_object *open_xdpvm(const char *test, const char *object)
{
    XDPVM_OPEN_OPTS(opts, .ncpus = 2, .quiet = true);
    struct xdpvm_object *obj = xdpvm_object__open(object_path(object), &opts);
    if (!obj || xdpvm_object__load(obj)) {
        test_fail(test, "%s: %s", object, xdpvm_last_error());
        xdpvm_object__close(obj);
        return NULL;
    }
    struct xdpvm_program *program;
    xdpvm_object__for_each_program(program, obj) {
        struct xdpvm_prog *prog = xdpvm_program__prog(program);
        char err[256];
        if (use_jit && prog && xdpvm_jit_compile(prog, NULL, err, sizeof(err))) {
            test_fail(test, "%s: JIT: %s", object, err);
            xdpvm_object__close(obj);
            return NULL;
        }
    }
    /* the devmaps forward to ifindex 1 (lo, which the kernel side also has) */
    uint32_t key = 0, ifindex = 1;
    struct xdpvm_map *ports = engine_map(obj, "ports"), *ports_hash = engine_map(obj, "ports_hash");
    if ((ports && xdpvm_map_user_update(ports, &key, &ifindex, 0)) ||
        (ports_hash && xdpvm_map_user_update(ports_hash, &key, &ifindex, 0))) {
        test_fail(test, "%s: cannot fill the devmaps", object);
        xdpvm_object__close(obj);
        return NULL;
    }
    return obj;
}

static bool run_xdpvm(const char *test, struct xdpvm_object *obj, const char *prog_name,
                      FILE *trace, struct run_out *out)
{
    struct xdpvm_xdp_opts opts = {.cpu = 1, .ingress_ifindex = 1, .trace = trace};
    struct xdpvm_xdp_runner *runner = object_runner(test, obj, prog_name, &opts);
    if (!runner)
        return false;
    uint8_t pkt[64];
    make_packet(pkt);
    struct xdpvm_xdp_result result;
    out->outcome = xdpvm_xdp_run_packet(runner, pkt, sizeof(pkt), &result);
    bool ok = result.error == 0 || out->outcome == XDPVM_XDP_OUT_REDIRECT;
    if (!ok)
        test_fail(test, "%s: run error %d: %s", prog_name, result.error, result.message);
    out->ret = result.ret;
    out->len = result.len <= sizeof(out->data) ? result.len : sizeof(out->data);
    memcpy(out->data, result.data, out->len);
    out->redirect_ifindex = result.redirect_ifindex;
    out->redirect_map = result.redirect_map;
    out->redirect_key = result.redirect_key;
    xdpvm_xdp_runner_free(runner);
    struct xdpvm_map *results = engine_map(obj, "results");
    for (uint32_t i = 0; i < MAX_RESULTS; i++)
        if (!results || xdpvm_map_user_lookup(results, &i, &out->results[i]))
            out->results[i] = NONE;
    return ok;
}

/* ---- kernel side ---- */

static bool kernel_ready(const char *test, bool *skip)
{
    const char *why;
    *skip = !test_kernel_bpf_available(&why);
    if (*skip)
        test_skip(test, "%s", why);
    return !*skip;
}

static struct xdpvm_kernel_object *open_kernel(const char *test, const char *object)
{
    struct xdpvm_kernel_object *kobj = xdpvm_kernel_open(object_path(object));
    if (!kobj || xdpvm_kernel_load(kobj)) {
        test_fail(test, "kernel: %s: %s", object, xdpvm_kernel_error());
        xdpvm_kernel_close(kobj);
        return NULL;
    }
    uint32_t key = 0, ifindex = 1;
    struct xdpvm_kernel_map_info info;
    for (int i = 0; i < 2; i++) {
        const char *name = i ? "ports_hash" : "ports";
        if (!xdpvm_kernel_map_info(kobj, name, &info) &&
            xdpvm_kernel_map_update(kobj, name, &key, &ifindex, 0)) {
            test_fail(test, "kernel: fill %s: %s", name, xdpvm_kernel_error());
            xdpvm_kernel_close(kobj);
            return NULL;
        }
    }
    return kobj;
}

static bool run_kernel(const char *test, struct xdpvm_kernel_object *kobj, const char *prog_name,
                       struct run_out *out)
{
    uint8_t pkt[64];
    make_packet(pkt);
    struct xdpvm_kernel_test_run run = {.data_in = pkt, .data_size_in = sizeof(pkt),
                                        .data_out = out->data, .data_size_out = sizeof(out->data)};
    if (xdpvm_kernel_test_run(kobj, prog_name, &run)) {
        test_fail(test, "kernel run %s: %s", prog_name, xdpvm_kernel_error());
        return false;
    }
    out->ret = run.retval;
    out->len = run.data_size_out;
    for (uint32_t i = 0; i < MAX_RESULTS; i++)
        if (xdpvm_kernel_map_lookup(kobj, "results", &i, &out->results[i]))
            out->results[i] = NONE;
    return true;
}

/* ---- checks ---- */

struct expect {
    uint32_t index;
    int64_t value;
};

static bool check_results(const char *test, const char *who, const int64_t *got,
                          const struct expect *want, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        if (got[want[i].index] != want[i].value) {
            test_fail(test, "%s: results[%u] = %lld, expected %lld", who, want[i].index,
                      (long long)got[want[i].index], (long long)want[i].value);
            return false;
        }
    }
    return true;
}

/* The same program in the kernel: return code, results and (when asked) the packet agree. */
typedef bool (*kernel_extra_check)(const char *test, struct xdpvm_kernel_object *kobj);

static void compare_with_kernel(const char *test, const char *object, const char *const *progs,
                                size_t nprogs, const struct run_out *mine, bool compare_packets,
                                const struct expect *want, size_t nwant, kernel_extra_check extra)
{
    bool skip;
    if (!kernel_ready(test, &skip))
        return;
    struct xdpvm_kernel_object *kobj = open_kernel(test, object);
    if (!kobj)
        return;
    struct run_out *theirs = calloc(nprogs, sizeof(*theirs));
    bool ok = theirs != NULL;
    for (size_t p = 0; ok && p < nprogs; p++)
        ok = run_kernel(test, kobj, progs[p], &theirs[p]);
    for (size_t p = 0; ok && p < nprogs; p++) {
        if (theirs[p].ret != mine[p].ret) {
            test_fail(test, "%s: kernel returned %u, xdpvm %u", progs[p], theirs[p].ret, mine[p].ret);
            ok = false;
        } else if (compare_packets && (theirs[p].len != mine[p].len ||
                                       memcmp(theirs[p].data, mine[p].data, mine[p].len))) {
            test_fail(test, "%s: output packets differ (kernel %u bytes, xdpvm %u)", progs[p],
                      theirs[p].len, mine[p].len);
            ok = false;
        }
    }
    /* results after the last program, as both sides ran them all in the same order */
    if (ok)
        ok = check_results(test, "kernel", theirs[nprogs - 1].results, want, nwant);
    if (ok && extra)
        ok = extra(test, kobj);
    if (ok)
        test_pass(test);
    free(theirs);
    xdpvm_kernel_close(kobj);
}

static const struct expect maps_expect[] = {
    {0, 0}, {1, -EEXIST}, {2, -ENOENT}, {3, 0}, {4, -EINVAL}, {5, 0}, {6, -E2BIG}, {7, 11},
    {8, -ENOENT}, {9, 0}, {10, 1}, {11, 0},
    {12, -E2BIG}, {13, -EEXIST}, {14, -EINVAL}, {15, 0}, {16, 35}, {17, 1},
    {18, 0}, {19, 33},
    {20, 0}, {21, 5}, {22, 0}, {23, 6}, {24, 8},
    {25, 0}, {26, 24}, {27, 16}, {28, 8}, {29, -1000}, {30, -EINVAL}, {31, 0}, {32, 8},
    {33, 0}, {34, -E2BIG}, {35, 0}, {36, 2}, {37, 23}, {38, -ENOENT}, {39, 21},
    {40, 1}, {41, 1}, {42, 1},
    {43, 0}, {44, 2}, {45, -EINVAL},
};

struct ring_records {
    int count;
    uint64_t values[8];
};

static int ring_record(void *ctx, void *data, size_t size)
{
    struct ring_records *r = ctx;
    if (size == 8 && r->count < 8)
        memcpy(&r->values[r->count], data, 8);
    r->count++;
    return 0;
}

/* The kernel's ring buffer holds the same records, and its per-CPU slots sum to ours. */
static bool kernel_maps_extra(const char *test, struct xdpvm_kernel_object *kobj)
{
    struct ring_records rec = {0};
    struct ring_buffer *rb = ring_buffer__new(xdpvm_kernel_map_fd(kobj, "events"), ring_record, &rec, NULL);
    int consumed = rb ? ring_buffer__consume(rb) : -1;
    ring_buffer__free(rb);
    if (consumed != 2 || rec.values[0] != 0xe1 || rec.values[1] != 0xe2) {
        test_fail(test, "kernel ring buffer: %d records (%llx, %llx), expected e1, e2", consumed,
                  (unsigned long long)rec.values[0], (unsigned long long)rec.values[1]);
        return false;
    }
    uint32_t key = 1;
    unsigned cpus = xdpvm_kernel_possible_cpus();
    uint64_t *slots = calloc(cpus, sizeof(*slots)), sum = 0;
    int rc = slots ? xdpvm_kernel_map_lookup(kobj, "pcpu_array", &key, slots) : -ENOMEM;
    for (unsigned c = 0; rc == 0 && c < cpus; c++)
        sum += slots[c];
    free(slots);
    if (rc || sum != 5) {
        test_fail(test, "kernel pcpu_array[1]: rc %d, sum over CPUs %llu, expected 5", rc,
                  (unsigned long long)sum);
        return false;
    }
    return true;
}

static void maps_program(void)
{
    const char *test = tname("helper_progs_maps");
    struct xdpvm_object *obj = open_xdpvm(test, "helper_maps");
    if (!obj)
        return;
    static struct run_out out;
    if (!run_xdpvm(test, obj, "map_ops", NULL, &out))
        goto done;
    if (!check_results(test, "xdpvm", out.results, maps_expect,
                       sizeof(maps_expect) / sizeof(maps_expect[0])))
        goto done;
    struct ring_records rec = {0};
    int consumed = xdpvm_ringbuf_consume(engine_map(obj, "events"), ring_record, &rec);
    if (consumed != 2 || rec.values[0] != 0xe1 || rec.values[1] != 0xe2) {
        test_fail(test, "ring buffer: %d records (%llx, %llx), expected e1, e2", consumed,
                  (unsigned long long)rec.values[0], (unsigned long long)rec.values[1]);
        goto done;
    }
    /* per-CPU maps: the program wrote worker 1's slot only */
    uint32_t key = 1;
    uint64_t slots[2];
    if (xdpvm_map_user_lookup(engine_map(obj, "pcpu_array"), &key, slots) || slots[0] != 0 ||
        slots[1] != 5) {
        test_fail(test, "pcpu_array slots %llu %llu, expected 0 5", (unsigned long long)slots[0],
                  (unsigned long long)slots[1]);
        goto done;
    }
    test_pass(test);
    const char *progs[] = {"map_ops"};
    if (!use_jit)
        compare_with_kernel("helper_progs_maps_vs_kernel", "helper_maps", progs, 1, &out, true,
                        maps_expect, sizeof(maps_expect) / sizeof(maps_expect[0]), kernel_maps_extra);
done:
    xdpvm_object__close(obj);
}

/* Reference for bpf_csum_diff: ones' complement sum of little-endian 32-bit words (inverted
 * for the "from" side), folded to 16 bits. */
static uint32_t csum32(const uint8_t *p, size_t len, uint32_t seed, bool invert)
{
    uint32_t sum = seed;
    for (size_t i = 0; i < len; i += 4) {
        uint32_t w = 0;
        memcpy(&w, p + i, len - i < 4 ? len - i : 4);
        if (invert)
            w = ~w;
        sum += w;
        sum += sum < w;
    }
    return sum;
}

static uint16_t fold16(uint32_t sum)
{
    sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)((sum & 0xffff) + (sum >> 16));
}

static void xdp_programs(void)
{
    const char *test = tname("helper_progs_xdp");
    struct xdpvm_object *obj = open_xdpvm(test, "helper_xdp");
    if (!obj)
        return;
    static struct run_out out[4];
    static const char *const progs[] = {"adjust", "csum", "redir", "bytes"};
    for (int p = 0; p < 4; p++)
        if (!run_xdpvm(test, obj, progs[p], NULL, &out[p]))
            goto done;
    uint8_t pkt[64];
    make_packet(pkt);
    uint16_t check;
    memcpy(&check, pkt + 24, 2);
    uint32_t new_dst = 0x0100a8c0; /* 192.168.0.1 in memory order */
    uint32_t diff = csum32((const uint8_t *)&new_dst, 4, ~(uint32_t)check, false);
    diff = fold16(csum32(pkt + 30, 4, diff, true));
    uint32_t short_diff = csum32((const uint8_t *)&new_dst, 4, 0, false);
    short_diff = fold16(csum32(pkt + 30, 3, short_diff, true));
    const struct expect want[] = {
        {0, -EINVAL}, {1, 0}, {2, 280}, {3, 0}, {4, -EINVAL}, {5, 0}, {6, 14}, {7, 0},
        {8, -EACCES}, {9, -EINVAL}, {10, 0}, {11, 32}, {12, -EINVAL}, {13, 0}, {14, 32},
        {15, 0}, {16, -EINVAL}, {17, 0}, {18, -EINVAL}, {19, 0}, {20, 14}, {21, -EINVAL},
        {22, 0}, {23, 3520}, {24, 0}, {25, 0}, {26, 0}, {27, -EACCES}, {28, 0}, {29, 0},
        {30, 0},
        {32, fold16(csum32(pkt + 14, 20, 0, false))}, {33, diff}, {34, short_diff},
        {35, 0x1234}, {36, 3},
        {40, XDPVM_XDP_REDIRECT}, {41, XDPVM_XDP_ABORTED}, {42, XDPVM_XDP_PASS},
        {43, XDPVM_XDP_REDIRECT}, {44, XDPVM_XDP_DROP}, {45, XDPVM_XDP_ABORTED},
        {52, 64}, {53, 0}, {54, pkt[56] | pkt[63] << 8}, {55, -EINVAL}, {56, -EFAULT},
        {57, 0}, {58, -EINVAL},
    };
    if (!check_results(test, "xdpvm", out[3].results, want, sizeof(want) / sizeof(want[0])))
        goto done;
    /* adjust: the tail regrew over zeroes, then the program marked byte 20 */
    uint8_t adjusted[64] = {0};
    memcpy(adjusted, pkt, 14);
    adjusted[20] = 0xab;
    if (out[0].ret != XDPVM_XDP_TX || out[0].len != 64 || memcmp(out[0].data, adjusted, 64)) {
        test_fail(test, "adjust: returned %u with %u bytes, expected XDP_TX with 64 zero-grown bytes",
                  out[0].ret, out[0].len);
        goto done;
    }
    /* csum: the rewritten header still checks out */
    uint32_t sum = 0;
    for (int i = 14; i < 34; i += 2)
        sum += (uint32_t)(out[1].data[i] << 8 | out[1].data[i + 1]);
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    if (out[1].ret != XDPVM_XDP_TX || sum != 0xffff || memcmp(out[1].data + 30, &new_dst, 4)) {
        test_fail(test, "csum: header sum %x after rewriting the destination", sum);
        goto done;
    }
    if (out[2].outcome != XDPVM_XDP_OUT_REDIRECT || out[2].redirect_map != engine_map(obj, "ports") ||
        out[2].redirect_key != 0) {
        test_fail(test, "redir: outcome %s, map %p key %u", xdpvm_xdp_outcome_name(out[2].outcome),
                  (const void *)out[2].redirect_map, out[2].redirect_key);
        goto done;
    }
    if (out[3].ret != XDPVM_XDP_TX || memcmp(out[3].data + 2, "XDPVMXDP", 8) ||
        memcmp(out[3].data + 10, pkt + 10, 54)) {
        test_fail(test, "bytes: store_bytes did not write exactly bytes 2..9");
        goto done;
    }
    test_pass(test);
    if (!use_jit)
        compare_with_kernel("helper_progs_xdp_vs_kernel", "helper_xdp", progs, 4, out, true, want,
                        sizeof(want) / sizeof(want[0]), NULL);
done:
    xdpvm_object__close(obj);
}

static void fib_program(void)
{
    const char *test = tname("helper_progs_fib_lookup");
    struct xdpvm_object *obj = open_xdpvm(test, "helper_xdp");
    if (!obj)
        return;
    static struct run_out out;
    struct xdpvm_fib_route routes[] = {
        {.family = AF_INET, .prefix = {10}, .prefix_len = 8, .ifindex = 7,
         .smac = {0x02, 0, 0, 0, 0, 0x07}, .dmac = {0x02, 0, 0, 0, 0, 0x77}},
        {.family = AF_INET, .prefix = {10, 0, 0, 1}, .prefix_len = 32, .ifindex = 9},
    };
    xdpvm_helpers_set_fib(routes, 2);
    bool ok = run_xdpvm(test, obj, "fib", NULL, &out);
    const struct expect routed[] = {{48, 0 /* SUCCESS */}, {49, 7}, {50, -EINVAL}};
    ok = ok && check_results(test, "routed", out.results, routed, 3);
    if (ok && (out.outcome != XDPVM_XDP_OUT_REDIRECT || out.redirect_ifindex != 7 ||
               out.data[5] != 0x77 || out.data[11] != 0x07)) {
        test_fail(test, "routed: outcome %s to ifindex %u, MACs %02x/%02x",
                  xdpvm_xdp_outcome_name(out.outcome), out.redirect_ifindex, out.data[5], out.data[11]);
        ok = false;
    }
    xdpvm_helpers_set_fib(routes + 1, 1);
    ok = ok && run_xdpvm(test, obj, "fib", NULL, &out);
    const struct expect unrouted[] = {{48, 4 /* NOT_FWDED */}};
    ok = ok && check_results(test, "unrouted", out.results, unrouted, 1);
    if (ok && out.outcome != XDPVM_XDP_OUT_PASS) {
        test_fail(test, "unrouted: outcome %s", xdpvm_xdp_outcome_name(out.outcome));
        ok = false;
    }
    if (ok)
        test_pass(test);
    xdpvm_helpers_set_fib(NULL, 0);
    xdpvm_object__close(obj);
}

static void misc_programs(void)
{
    const char *test = tname("helper_progs_misc");
    struct xdpvm_object *obj = open_xdpvm(test, "helper_misc");
    if (!obj)
        return;
    char *trace_text = NULL;
    size_t trace_size = 0;
    FILE *trace = open_memstream(&trace_text, &trace_size);
    static struct run_out out[2];
    static const char *const progs[] = {"misc", "chain"};
    bool ok = trace && run_xdpvm(test, obj, "misc", trace, &out[0]) &&
              run_xdpvm(test, obj, "chain", trace, &out[1]);
    if (trace)
        fclose(trace);
    const char *message = "helper_misc len=64 tag=beef ok\n";
    const struct expect want[] = {
        {0, 1}, {1, 1}, {2, 1}, {3, 1}, {4, (int64_t)strlen(message)}, {5, -EINVAL},
        {6, 10}, {7, 45}, {8, 4}, {9, 6}, {10, -EINVAL}, {11, (uint32_t)-E2BIG},
        {12, 4}, {13, 100}, {14, 6}, {15, 2}, {16, 4}, {17, 100}, {18, 406}, {19, -EINVAL},
        {20, 31}, {21, 3 * 1000 + 6 * 100 + 153}, {22, 3 * 1000 + 6 * 100 + 153},
        {23, 3 * 1000 + 6 * 100 + 3}, {26, 3}, {27, 1}, {28, 1}, {29, 0}, {30, 1}, {24, 1 + XDPVM_MAX_TAIL_CALLS}, {25, 1},
    };
    ok = ok && check_results(test, "xdpvm", out[1].results, want, sizeof(want) / sizeof(want[0]));
    if (ok && (!trace_text || strcmp(trace_text, message))) {
        test_fail(test, "trace output '%s', expected '%s'", trace_text ? trace_text : "", message);
        ok = false;
    }
    if (ok && (out[0].ret != XDPVM_XDP_PASS || out[1].ret != XDPVM_XDP_DROP)) {
        test_fail(test, "returned %u and %u, expected XDP_PASS and XDP_DROP", out[0].ret, out[1].ret);
        ok = false;
    }
    free(trace_text);
    if (ok) {
        test_pass(test);
        if (!use_jit)
            compare_with_kernel("helper_progs_misc_vs_kernel", "helper_misc", progs, 2, out, true,
                            want, sizeof(want) / sizeof(want[0]), NULL);
    }
    xdpvm_object__close(obj);
}

int main(void)
{
    for (int pass = 0; pass < 2; pass++) {
        use_jit = pass == 1;
        if (use_jit && !xdpvm_jit_available()) {
            test_skip("helper_progs_jit", "no JIT on this host");
            break;
        }
        maps_program();
        xdp_programs();
        fib_program();
        misc_programs();
    }
    return test_exit_code();
}
