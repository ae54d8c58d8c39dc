/* The loader (src/loader, include/xdpvm/object.h) on clang-built objects (tests/bpf/loader_*):
 * what open finds (programs, maps, names like libbpf's), what load links, errors for bad
 * objects, no crash on truncated or corrupted files; then the programs run in the interpreter
 * through the XDP layer with asserted results, and, where the kernel is available, the same
 * objects run under BPF_PROG_TEST_RUN and results and map contents are compared. */
#include <bpf/libbpf.h>
#include <elf.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/kernel.h"
#include "lib/object_runner.h"
#include "lib/testlib.h"
#include "maps/maps.h"
#include "runtime/runtime.h"
#include "xdp/xdp.h"
#include "xdpvm/xdpvm.h"

static char *object_path(const char *name)
{
    static char path[4][512];
    static int next;
    char *p = path[next++ % 4];
    snprintf(p, sizeof(path[0]), "%s/tests/bpf/%s.o", test_bpf_dir(), name);
    return p;
}

/* Open quietly (warnings into a memory stream the caller may inspect). */
static char *warning_text;
static size_t warning_size;
static FILE *warnings;
static void close_warnings(void)
{
    if (warnings)
        fclose(warnings);
    warnings = NULL;
    free(warning_text);
    warning_text = NULL;
}

static struct xdpvm_object *open_object(const char *name, unsigned ncpus)
{
    close_warnings();
    warnings = open_memstream(&warning_text, &warning_size);
    XDPVM_OPEN_OPTS(opts, .ncpus = ncpus, .warnings = warnings);
    struct xdpvm_object *obj = xdpvm_object__open(object_path(name), &opts);
    fflush(warnings);
    return obj;
}

static struct xdpvm_object *open_and_load(const char *test, const char *name)
{
    struct xdpvm_object *obj = open_object(name, 2);
    if (!obj) {
        test_fail(test, "open %s: %s", name, xdpvm_last_error());
        return NULL;
    }
    if (xdpvm_object__load(obj)) {
        test_fail(test, "load %s: %s", name, xdpvm_last_error());
        xdpvm_object__close(obj);
        return NULL;
    }
    return obj;
}

/* ---- packets ---- */

#define PACKET_COUNT 6
static const uint32_t packet_lengths[PACKET_COUNT] = {60, 64, 98, 150, 61, 1500};
static const uint16_t packet_protos[PACKET_COUNT] = {0x0800, 0x86dd, 0x0800, 0x0806, 0x0800, 0x86dd};

static size_t make_packet(unsigned i, uint8_t *buf)
{
    size_t len = packet_lengths[i];
    for (size_t b = 0; b < len; b++)
        buf[b] = (uint8_t)(b * 7 + i);
    buf[12] = (uint8_t)(packet_protos[i] >> 8);
    buf[13] = (uint8_t)packet_protos[i];
    return len;
}

/* ---- running in xdpvm ---- */

struct xdpvm_outcome {
    uint32_t ret;
    uint32_t len;
    uint8_t data[XDPVM_XDP_MAX_PACKET];
};

static bool run_xdpvm(const char *test, struct xdpvm_object *obj, const char *prog_name, const uint8_t *pkt,
                      size_t len, struct xdpvm_outcome *out)
{
    struct xdpvm_xdp_opts opts = {.cpu = 0, .ingress_ifindex = 1};
    struct xdpvm_xdp_runner *runner = object_runner(test, obj, prog_name, &opts);
    if (!runner)
        return false;
    struct xdpvm_xdp_result result;
    xdpvm_xdp_run_packet(runner, pkt, len, &result);
    bool ok = result.error == 0;
    if (!ok)
        test_fail(test, "%s: run error %d: %s", prog_name, result.error, result.message);
    out->ret = result.ret;
    out->len = result.len;
    memcpy(out->data, result.data, result.len <= sizeof(out->data) ? result.len : sizeof(out->data));
    xdpvm_xdp_runner_free(runner);
    return ok;
}

static struct xdpvm_map *engine_map(struct xdpvm_object *obj, const char *name)
{
    struct xdpvm_object_map *m = xdpvm_object__find_map_by_name(obj, name);
    return m ? xdpvm_object_map__map(m) : NULL;
}

static uint64_t lookup_u64(struct xdpvm_object *obj, const char *map, uint32_t key)
{
    uint64_t value = UINT64_MAX;
    struct xdpvm_map *m = engine_map(obj, map);
    if (m)
        xdpvm_map_user_lookup(m, &key, &value);
    return value;
}

/* ---- open: what the loader finds ---- */

static void test_open_btf_maps(void)
{
    const char *test = "open_btf_maps";
    struct xdpvm_object *obj = open_object("loader_maps", 2);
    if (!obj) {
        test_fail(test, "%s", xdpvm_last_error());
        return;
    }
    struct expect {
        const char *name;
        uint32_t type, key_size, value_size, max_entries, flags;
    } expect[] = {
        {"stats_by_len_mod4", XDPVM_MAP_ARRAY, 4, 16, 4, 0},
        {"packets_by_len", XDPVM_MAP_HASH, 4, 8, 64, 1 /* BPF_F_NO_PREALLOC */},
        {"percpu_packets", XDPVM_MAP_PERCPU_ARRAY, 4, 8, 2, 0},
        {"packets_by_proto", XDPVM_MAP_LRU_HASH, 2, 4, 16, 0},
    };
    bool ok = true;
    size_t count = 0;
    struct xdpvm_object_map *m;
    xdpvm_object__for_each_map(m, obj) count++;
    if (count != 4) {
        test_fail(test, "%zu maps, expected 4", count);
        ok = false;
    }
    for (size_t i = 0; i < 4 && ok; i++) {
        m = xdpvm_object__find_map_by_name(obj, expect[i].name);
        if (!m || xdpvm_object_map__type(m) != expect[i].type || xdpvm_object_map__key_size(m) != expect[i].key_size ||
            xdpvm_object_map__value_size(m) != expect[i].value_size ||
            xdpvm_object_map__max_entries(m) != expect[i].max_entries ||
            xdpvm_object_map__map_flags(m) != expect[i].flags || strcmp(xdpvm_object_map__section(m), ".maps")) {
            test_fail(test, "map %s: %s", expect[i].name, m ? "wrong definition" : xdpvm_last_error());
            ok = false;
        }
    }
    struct xdpvm_program *p = xdpvm_object__find_program_by_section(obj, "xdp");
    if (ok && (!p || strcmp(xdpvm_program__name(p), "count_packets") || xdpvm_program__type(p) != XDPVM_PROG_XDP ||
               xdpvm_program__prog(p) != NULL)) {
        test_fail(test, "program count_packets in section xdp of type XDP, not linked before load");
        ok = false;
    }
    if (ok)
        test_check(warning_text && strstr(warning_text, "packets_by_proto': pinning ignored"), test,
                   "no warning about the ignored pinning field (got '%s')", warning_text ? warning_text : "");
    xdpvm_object__close(obj);
}

static void test_open_legacy_maps(void)
{
    const char *test = "open_legacy_maps";
    struct xdpvm_object *obj = open_object("loader_legacy", 2);
    if (!obj) {
        test_fail(test, "%s", xdpvm_last_error());
        return;
    }
    struct xdpvm_object_map *counts = xdpvm_object__find_map_by_name(obj, "legacy_counts");
    struct xdpvm_object_map *lengths = xdpvm_object__find_map_by_name(obj, "legacy_lengths");
    test_check(counts && lengths && xdpvm_object_map__type(counts) == XDPVM_MAP_ARRAY &&
                   xdpvm_object_map__value_size(counts) == 8 && xdpvm_object_map__max_entries(counts) == 4 &&
                   xdpvm_object_map__type(lengths) == XDPVM_MAP_HASH && xdpvm_object_map__value_size(lengths) == 4 &&
                   xdpvm_object_map__max_entries(lengths) == 8 && !strcmp(xdpvm_object_map__section(counts), "maps"),
               test, "legacy map definitions not read as written");
    xdpvm_object__close(obj);
}

static void test_iproute2_maps(void)
{
    const char *test = "iproute2_bpf_elf_map";
    struct xdpvm_object *obj = open_object("loader_iproute2", 1);
    bool warned = warning_text && strstr(warning_text, "'tc_counts': pinning ignored");
    if (!obj || xdpvm_object__load(obj)) {
        test_fail(test, "%s", xdpvm_last_error());
        xdpvm_object__close(obj);
        return;
    }
    struct xdpvm_object_map *m = xdpvm_object__find_map_by_name(obj, "tc_counts");
    struct xdpvm_program *p = xdpvm_object__find_program_by_section(obj, "classifier");
    struct xdpvm_prog *prog = p ? xdpvm_program__prog(p) : NULL;
    uint64_t skb[32] = {0}, r0 = 99;
    struct xdpvm_run run = {.prog = prog, .ctx = skb};
    int err = prog ? prog->exec(&run, &r0) : -1;
    test_check(warned && m && xdpvm_object_map__type(m) == XDPVM_MAP_ARRAY && xdpvm_object_map__max_entries(m) == 2 &&
                   prog && prog->type == XDPVM_PROG_SCHED_CLS && err == 0 && r0 == 0 &&
                   lookup_u64(obj, "tc_counts", 1) == 1,
               test, "warning %d, run %d (%s), count %llu", warned, err, run.error_message,
               (unsigned long long)lookup_u64(obj, "tc_counts", 1));
    xdpvm_object__close(obj);
}

static void test_open_global_data(void)
{
    const char *test = "open_global_data_names";
    struct xdpvm_object *obj = open_object("loader_globals", 2);
    if (!obj) {
        test_fail(test, "%s", xdpvm_last_error());
        return;
    }
    /* libbpf: object name prefix cut so that the whole name fits 15 characters. */
    const char *names[][2] = {{".rodata", "loader_g.rodata"}, {".data", "loader_g.data"},
                              {".data.extra", ".data.extra"}, {".bss", "loader_g.bss"}};
    bool ok = true;
    for (size_t i = 0; i < 4 && ok; i++) {
        struct xdpvm_object_map *m = xdpvm_object__find_map_by_name(obj, names[i][0]);
        if (!m || strcmp(xdpvm_object_map__name(m), names[i][1]) || !xdpvm_object_map__is_global_data(m) ||
            xdpvm_object_map__type(m) != XDPVM_MAP_ARRAY || xdpvm_object_map__max_entries(m) != 1) {
            test_fail(test, "section %s: map %s, expected %s", names[i][0], m ? xdpvm_object_map__name(m) : "missing",
                      names[i][1]);
            ok = false;
        }
    }
    size_t size = 0;
    struct xdpvm_object_map *data = xdpvm_object__find_map_by_name(obj, ".data");
    uint64_t *initial = data ? xdpvm_object_map__initial_value(data, &size) : NULL;
    if (ok)
        test_check(initial && size == 8 && *initial == 100, test, "initial .data value is not packets_seen = 100");
    xdpvm_object__close(obj);
}

static void test_open_programs(void)
{
    const char *test = "open_several_programs";
    struct xdpvm_object *obj = open_object("loader_subprogs", 2);
    if (!obj) {
        test_fail(test, "%s", xdpvm_last_error());
        return;
    }
    const char *expect[][3] = {{"first", "xdp"}, {"second", "xdp.frags"}, {"classify", "tc"}};
    const int types[] = {XDPVM_PROG_XDP, XDPVM_PROG_XDP, XDPVM_PROG_SCHED_CLS};
    size_t i = 0;
    bool ok = true;
    struct xdpvm_program *p;
    xdpvm_object__for_each_program(p, obj) {
        if (i >= 3 || strcmp(xdpvm_program__name(p), expect[i][0]) || strcmp(xdpvm_program__section(p), expect[i][1]) ||
            xdpvm_program__type(p) != types[i]) {
            test_fail(test, "program %zu: %s in %s", i, xdpvm_program__name(p), xdpvm_program__section(p));
            ok = false;
            break;
        }
        i++;
    }
    if (ok)
        test_check(i == 3 && xdpvm_object__find_program_by_section(obj, "tc") == xdpvm_object__find_program_by_name(obj, "classify"),
                   test, "%zu programs, expected 3 findable by name and section", i);
    xdpvm_object__close(obj);
}

static void test_skipped_program_type(void)
{
    const char *test = "unsupported_program_type_skipped";
    struct xdpvm_object *obj = open_object("loader_mixed", 1);
    if (!obj) {
        test_fail(test, "%s", xdpvm_last_error());
        return;
    }
    bool warned = warning_text && strstr(warning_text, "'on_write' skipped");
    int load = xdpvm_object__load(obj);
    struct xdpvm_program *tp = xdpvm_object__find_program_by_name(obj, "on_write");
    struct xdpvm_program *sock = xdpvm_object__find_program_by_name(obj, "keep_short");
    test_check(warned && load == 0 && tp && xdpvm_program__type(tp) == 0 && !xdpvm_program__prog(tp) && sock &&
                   xdpvm_program__type(sock) == XDPVM_PROG_SOCKET_FILTER && xdpvm_program__prog(sock),
               test, "warning %d, load %d (%s)", warned, load, xdpvm_last_error());
    xdpvm_object__close(obj);
}

/* Turning a program off before load: the object loads without it; "?sec" starts off. */
static void test_autoload(void)
{
    const char *test = "autoload_off_skips_a_program"; /* its unsupported helper no longer matters */
    struct xdpvm_object *obj = open_object("loader_err_helper", 1);
    struct xdpvm_program *p = obj ? xdpvm_object__find_program_by_name(obj, "reads_kernel") : NULL;
    int off = p ? xdpvm_program__set_autoload(p, false) : -1;
    int load = p ? xdpvm_object__load(obj) : -1;
    int after = p ? xdpvm_program__set_autoload(p, true) : -1;
    test_check(p && off == 0 && !xdpvm_program__autoload(p) && load == 0 && after == -EBUSY &&
                   !xdpvm_program__prog(p),
               test, "set_autoload %d, load %d (%s), set after load %d", off, load, xdpvm_last_error(), after);
    xdpvm_object__close(obj);

    /* The opposite: turning on a program of a type xdpvm does not run. */
    obj = open_object("loader_mixed", 1);
    p = obj ? xdpvm_object__find_program_by_name(obj, "on_write") : NULL;
    int on = p ? xdpvm_program__set_autoload(p, true) : 0;
    test_check(p && on == -ENOTSUP && strstr(xdpvm_last_error(), "tracepoint/syscalls/sys_enter_write"),
               "autoload_unsupported_type_refused", "got %d: %s", on, xdpvm_last_error());
    xdpvm_object__close(obj);
}

static void test_core_relocations(void)
{
    const char *test = "core_relocations_keep_compiled_offsets";
    struct xdpvm_object *obj = open_object("loader_core", 1);
    bool warned = warning_text && strstr(warning_text, "CO-RE relocations are not applied");
    if (!obj || xdpvm_object__load(obj)) {
        test_fail(test, "%s", xdpvm_last_error());
        xdpvm_object__close(obj);
        return;
    }
    uint8_t pkt[1600];
    struct xdpvm_outcome small, big;
    bool ran = run_xdpvm(test, obj, "core_length", pkt, make_packet(0, pkt), &small) &&
               run_xdpvm(test, obj, "core_length", pkt, make_packet(3, pkt), &big);
    if (ran)
        test_check(warned && small.ret == XDPVM_XDP_PASS && big.ret == XDPVM_XDP_DROP, test,
                   "warning %d, actions %u %u", warned, small.ret, big.ret);
    xdpvm_object__close(obj);
}

/* Each program gets the subprograms it calls, each once, calls made relative again. */
static void test_link_subprograms(void)
{
    const char *test = "link_subprograms";
    struct xdpvm_object *obj = open_and_load(test, "loader_subprogs");
    if (!obj)
        return;
    bool ok = true;
    struct xdpvm_program *p;
    xdpvm_object__for_each_program(p, obj) {
        size_t raw;
        xdpvm_program__raw_insns(p, &raw);
        struct xdpvm_prog *prog = xdpvm_program__prog(p);
        if (!prog || prog->count <= raw || prog->exec == NULL || prog->helpers == NULL || prog->map_count != 1) {
            test_fail(test, "%s: %zu linked instructions from %zu, %zu maps", xdpvm_program__name(p),
                      prog ? prog->count : 0, raw, prog ? prog->map_count : 0);
            ok = false;
            break;
        }
        for (size_t i = 0; i < prog->count && ok; i++) {
            const struct xdpvm_insn *insn = &prog->insns[i];
            if (insn->code == (XDPVM_CLASS_JMP | XDPVM_JMP_CALL) && insn->src == XDPVM_CALL_LOCAL) {
                int64_t target = (int64_t)i + insn->imm + 1;
                if (target <= 0 || (size_t)target >= prog->count || target < (int64_t)raw) {
                    test_fail(test, "%s: call at %zu lands at %lld", xdpvm_program__name(p), i, (long long)target);
                    ok = false;
                }
            }
        }
    }
    /* first calls nested (which calls mix), global_sum and store: 4 subprograms; classify
     * calls nested and store: 3. */
    struct xdpvm_prog *first = xdpvm_program__prog(xdpvm_object__find_program_by_name(obj, "first"));
    struct xdpvm_prog *classify = xdpvm_program__prog(xdpvm_object__find_program_by_name(obj, "classify"));
    if (ok && first && classify) {
        size_t calls_first = 0, exits_first = 0, exits_classify = 0;
        for (size_t i = 0; i < first->count; i++) {
            calls_first += first->insns[i].code == 0x85 && first->insns[i].src == 1;
            exits_first += first->insns[i].code == 0x95;
        }
        for (size_t i = 0; i < classify->count; i++)
            exits_classify += classify->insns[i].code == 0x95;
        test_check(exits_first == 5 && exits_classify == 4 && calls_first >= 6, test,
                   "first has %zu functions (expected 5), classify %zu (expected 4)", exits_first, exits_classify);
    }
    xdpvm_object__close(obj);
}

static void test_rodata_frozen_after_load(void)
{
    const char *test = "rodata_writable_before_load_only";
    struct xdpvm_object *obj = open_object("loader_globals", 2);
    if (!obj) {
        test_fail(test, "%s", xdpvm_last_error());
        return;
    }
    struct xdpvm_object_map *ro = xdpvm_object__find_map_by_name(obj, ".rodata");
    uint32_t knobs[2] = {100, 0};
    int before = ro ? xdpvm_object_map__set_initial_value(ro, knobs, sizeof(knobs)) : -1;
    int wrong_size = ro ? xdpvm_object_map__set_initial_value(ro, knobs, 4) : -1;
    int load = xdpvm_object__load(obj);
    int after = ro ? xdpvm_object_map__set_initial_value(ro, knobs, sizeof(knobs)) : -1;
    uint32_t key = 0;
    int user_update = ro && xdpvm_object_map__map(ro)
                          ? xdpvm_map_user_update(xdpvm_object_map__map(ro), &key, knobs, XDPVM_ANY)
                          : -1;
    test_check(before == 0 && wrong_size == -EINVAL && load == 0 && after == -EBUSY && user_update == -EPERM, test,
               "set before load %d, wrong size %d, load %d, set after load %d, map update after load %d (expected 0, -EINVAL, 0, -EBUSY, -EPERM)",
               before, wrong_size, load, after, user_update);
    xdpvm_object__close(obj);
}

/* ---- errors ---- */

static void expect_error(const char *test, const char *object, bool at_open, const char *needle1, const char *needle2)
{
    struct xdpvm_object *obj = open_object(object, 1);
    int err = obj ? xdpvm_object__load(obj) : -errno;
    bool failed_where_expected = at_open ? obj == NULL : (obj != NULL && err < 0);
    const char *msg = xdpvm_last_error();
    test_check(failed_where_expected && err < 0 && strstr(msg, needle1) && strstr(msg, needle2), test,
               "expected a %s error mentioning '%s' and '%s', got %d: %s", at_open ? "open" : "load", needle1, needle2,
               err, msg);
    xdpvm_object__close(obj);
}

static void test_errors(void)
{
    expect_error("error_unsupported_map_type", "loader_err_maptype", false, "'stacks'", "STACK_TRACE");
    expect_error("error_unknown_helper", "loader_err_helper", false, "probe_read_kernel", "instruction");
    expect_error("error_undefined_symbol", "loader_err_extern", false, "undefined symbol 'defined_elsewhere'",
                 "instruction");

    static const char text[] = "this is not an object file\n";
    XDPVM_OPEN_OPTS(opts, .object_name = "text.o", .quiet = true);
    struct xdpvm_object *obj = xdpvm_object__open_mem(text, sizeof(text), &opts);
    test_check(!obj && errno == EINVAL && strstr(xdpvm_last_error(), "text.o: not an ELF file"), "error_not_elf",
               "got %s", xdpvm_last_error());
    xdpvm_object__close(obj);

    size_t len;
    char *self = test_read_file("/proc/self/exe", &len);
    obj = self ? xdpvm_object__open_mem(self, len, &opts) : NULL;
    test_check(self && !obj && strstr(xdpvm_last_error(), "not a BPF object") && strstr(xdpvm_last_error(), "EM_BPF"),
               "error_not_bpf_machine", "got %s", xdpvm_last_error());
    xdpvm_object__close(obj);
    free(self);

    obj = xdpvm_object__open("/nonexistent/prog.o", &opts);
    test_check(!obj && errno == ENOENT && strstr(xdpvm_last_error(), "/nonexistent/prog.o"), "error_missing_file",
               "got %s", xdpvm_last_error());
}

/* ---- bad input never crashes ---- */

static unsigned open_and_load_image(const uint8_t *image, size_t len)
{
    /* libbpf's BTF parser prints about every corrupted BTF it rejects: keep the log readable. */
    libbpf_print_fn_t previous = libbpf_set_print(NULL);
    XDPVM_OPEN_OPTS(opts, .object_name = "fuzzed", .quiet = true, .ncpus = 1);
    struct xdpvm_object *obj = xdpvm_object__open_mem(image, len, &opts);
    unsigned loaded = 0;
    if (obj && xdpvm_object__load(obj) == 0)
        loaded = 1;
    else if (!*xdpvm_last_error())
        loaded = 2; /* failure without a message */
    xdpvm_object__close(obj);
    libbpf_set_print(previous);
    return loaded;
}

static void test_truncated(const char *object)
{
    char test[128];
    snprintf(test, sizeof(test), "truncated_%s_every_length", object);
    size_t len;
    uint8_t *image = (uint8_t *)test_read_file(object_path(object), &len);
    if (!image) {
        test_fail(test, "cannot read %s", object_path(object));
        return;
    }
    size_t step = test_sanitized() ? 7 : 1, loaded = 0, silent = 0;
    for (size_t cut = 0; cut < len; cut += step) {
        unsigned r = open_and_load_image(image, cut);
        loaded += r == 1;
        silent += r == 2;
    }
    unsigned whole = open_and_load_image(image, len);
    /* Cuts into debug sections may still load; cuts into the headers must not. */
    test_check(whole == 1 && silent == 0 && open_and_load_image(image, 64) == 0, test,
               "whole file loads %u, %zu failures without a message, %zu truncated loads", whole, silent, loaded);
    free(image);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t next_random(void)
{
    return test_xorshift64(&rng_state);
}

static void test_corrupted(const char *object)
{
    char test[128];
    snprintf(test, sizeof(test), "corrupted_%s_random_bytes", object);
    size_t len;
    uint8_t *image = (uint8_t *)test_read_file(object_path(object), &len);
    uint8_t *copy = malloc(len ? len : 1);
    if (!image || !copy) {
        test_fail(test, "cannot read %s", object_path(object));
        free(image);
        free(copy);
        return;
    }
    unsigned rounds = test_sanitized() ? 400 : 2000, silent = 0, loaded = 0;
    for (unsigned round = 0; round < rounds; round++) {
        memcpy(copy, image, len);
        unsigned flips = 1 + (unsigned)(next_random() % 8);
        for (unsigned f = 0; f < flips; f++) {
            /* Half the hits go to the first 1 KiB: headers, code, maps are there. */
            size_t at = (size_t)(next_random() % (round & 1 ? len : (len < 1024 ? len : 1024)));
            copy[at] = (uint8_t)next_random();
        }
        unsigned r = open_and_load_image(copy, len);
        loaded += r == 1;
        silent += r == 2;
    }
    test_check(silent == 0, test, "%u of %u corrupted objects failed without a message (%u loaded)", silent, rounds,
               loaded);
    free(image);
    free(copy);
}

/* Section headers of an object image, for tests that damage one on purpose. */
struct image_section {
    size_t header_at; /* file offset of its Elf64_Shdr */
    Elf64_Shdr header;
    const char *name;
};

static size_t image_sections(const uint8_t *image, size_t len, struct image_section *out, size_t max)
{
    Elf64_Ehdr eh;
    if (len < sizeof(eh))
        return 0;
    memcpy(&eh, image, sizeof(eh));
    Elf64_Shdr names;
    if (eh.e_shoff + (size_t)eh.e_shnum * sizeof(Elf64_Shdr) > len || eh.e_shstrndx >= eh.e_shnum)
        return 0;
    memcpy(&names, image + eh.e_shoff + (size_t)eh.e_shstrndx * sizeof(Elf64_Shdr), sizeof(names));
    size_t n = 0;
    for (size_t i = 1; i < eh.e_shnum && n < max; i++, n++) {
        out[n].header_at = eh.e_shoff + i * sizeof(Elf64_Shdr);
        memcpy(&out[n].header, image + out[n].header_at, sizeof(Elf64_Shdr));
        out[n].name = (const char *)image + names.sh_offset + out[n].header.sh_name;
    }
    return n;
}

static struct image_section *find_section(struct image_section *secs, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(secs[i].name, name) == 0)
            return &secs[i];
    return NULL;
}

/* Open (and load) a damaged copy of an object; expect a failure whose message has needle. */
static void expect_damaged(const char *test, uint8_t *image, size_t len, const char *needle)
{
    XDPVM_OPEN_OPTS(opts, .object_name = "damaged.o", .quiet = true, .ncpus = 1);
    struct xdpvm_object *obj = xdpvm_object__open_mem(image, len, &opts);
    int err = obj ? xdpvm_object__load(obj) : -errno;
    test_check(err < 0 && strstr(xdpvm_last_error(), needle), test, "expected an error with '%s', got %d: %s", needle,
               err, xdpvm_last_error());
    xdpvm_object__close(obj);
}

static void test_damaged_objects(void)
{
    size_t len;
    uint8_t *original = (uint8_t *)test_read_file(object_path("loader_maps"), &len);
    uint8_t *image = original ? malloc(len) : NULL;
    struct image_section secs[64];
    size_t n = image ? image_sections(original, len, secs, 64) : 0;
    struct image_section *btf = find_section(secs, n, ".BTF"), *ext = find_section(secs, n, ".BTF.ext");
    struct image_section *xdp = find_section(secs, n, "xdp");
    if (!btf || !ext || !xdp) {
        test_fail("damaged_objects", "cannot read the sections of loader_maps.o");
        free(original);
        free(image);
        return;
    }

    /* Found by `make fuzz`: a second section named .BTF leaked the first one's parsed BTF.
     * .BTF.ext renamed (its name pointed at the ".BTF" string) makes one. */
    memcpy(image, original, len);
    memcpy(image + ext->header_at + offsetof(Elf64_Shdr, sh_name), &btf->header.sh_name, sizeof(uint32_t));
    expect_damaged("error_duplicate_btf_section", image, len, "damaged.o: more than one .BTF section");

    /* A code section whose contents lie beyond the end of the file. */
    memcpy(image, original, len);
    uint64_t beyond = len + 4096;
    memcpy(image + xdp->header_at + offsetof(Elf64_Shdr, sh_offset), &beyond, sizeof(beyond));
    expect_damaged("error_section_outside_file", image, len, "section 'xdp'");

    /* A helper call to an id the kernel does not have. */
    memcpy(image, original, len);
    bool patched = false;
    for (uint64_t at = xdp->header.sh_offset; at + 8 <= xdp->header.sh_offset + xdp->header.sh_size; at += 8) {
        if (image[at] == 0x85 && (image[at + 1] & 0xf0) == 0) { /* call, src = helper */
            int32_t id = 9999;
            memcpy(image + at + 4, &id, sizeof(id));
            patched = true;
            break;
        }
    }
    if (patched)
        expect_damaged("error_helper_unknown_to_kernel", image, len,
                       "call to helper 9999, which the kernel does not have");
    else
        test_fail("error_helper_unknown_to_kernel", "no helper call in loader_maps.o's xdp section");

    /* A relocation type the BPF target does not define, on the first relocation of xdp. */
    memcpy(image, original, len);
    struct image_section *rel = find_section(secs, n, ".relxdp");
    if (rel && rel->header.sh_size >= sizeof(Elf64_Rel)) {
        Elf64_Rel r;
        memcpy(&r, image + rel->header.sh_offset, sizeof(r));
        r.r_info = ELF64_R_INFO(ELF64_R_SYM(r.r_info), 77);
        memcpy(image + rel->header.sh_offset, &r, sizeof(r));
        expect_damaged("error_unknown_relocation_type", image, len, "unknown relocation type 77 on lddw");
    } else {
        test_fail("error_unknown_relocation_type", "loader_maps.o has no .relxdp");
    }
    free(original);
    free(image);

    /* Found by `make fuzz`: a .bss's size comes from its header only; 2 GiB must not be
     * allocated (the kernel caps array values at 4 MiB). */
    original = (uint8_t *)test_read_file(object_path("loader_globals"), &len);
    n = original ? image_sections(original, len, secs, 64) : 0;
    struct image_section *bss = find_section(secs, n, ".bss");
    if (bss) {
        uint64_t huge = 2ull << 30;
        memcpy(original + bss->header_at + offsetof(Elf64_Shdr, sh_size), &huge, sizeof(huge));
        expect_damaged("error_bss_too_large", original, len, "section '.bss': 2147483648 bytes is more than");
    } else {
        test_fail("error_bss_too_large", "loader_globals.o has no .bss");
    }
    free(original);
}

/* ---- running in the interpreter ---- */

static void test_run_maps(void)
{
    const char *test = "run_btf_maps";
    struct xdpvm_object *obj = open_and_load(test, "loader_maps");
    if (!obj)
        return;
    uint8_t pkt[1600];
    bool ok = true;
    for (unsigned i = 0; i < PACKET_COUNT && ok; i++) {
        size_t len = make_packet(i, pkt);
        struct xdpvm_outcome out;
        ok = run_xdpvm(test, obj, "count_packets", pkt, len, &out);
        if (ok && out.ret != (len > 100 ? XDPVM_XDP_DROP : XDPVM_XDP_PASS)) {
            test_fail(test, "packet %u (%zu bytes): action %u", i, len, out.ret);
            ok = false;
        }
    }
    if (!ok) {
        xdpvm_object__close(obj);
        return;
    }
    /* Lengths 60 64 98 150 61 1500: mod 4 = 0 0 2 2 1 0. */
    uint64_t stats[2];
    uint32_t key = 0;
    xdpvm_map_user_lookup(engine_map(obj, "stats_by_len_mod4"), &key, stats);
    ok = stats[0] == 3 && stats[1] == 60 + 64 + 1500;
    key = 2;
    xdpvm_map_user_lookup(engine_map(obj, "stats_by_len_mod4"), &key, stats);
    ok = ok && stats[0] == 2 && stats[1] == 98 + 150;
    uint64_t percpu[2] = {0, 0};
    key = 0;
    xdpvm_map_user_lookup(engine_map(obj, "percpu_packets"), &key, percpu);
    ok = ok && percpu[0] == PACKET_COUNT && percpu[1] == 0;
    uint16_t proto = 0xdd86; /* network order of 0x86dd as the program reads it */
    uint32_t by_proto = 0;
    xdpvm_map_user_lookup(engine_map(obj, "packets_by_proto"), &proto, &by_proto);
    ok = ok && by_proto == 2;
    size_t hash_keys = 0;
    uint32_t k, next;
    for (int r = xdpvm_map_get_next_key(engine_map(obj, "packets_by_len"), NULL, &next); r == 0;
         r = xdpvm_map_get_next_key(engine_map(obj, "packets_by_len"), &k, &next)) {
        k = next;
        hash_keys++;
    }
    test_check(ok && hash_keys == PACKET_COUNT, test,
               "map contents after %d packets are wrong (percpu %llu/%llu, ipv6 %u, %zu lengths)", PACKET_COUNT,
               (unsigned long long)percpu[0], (unsigned long long)percpu[1], by_proto, hash_keys);
    xdpvm_object__close(obj);
}

static void test_run_legacy(void)
{
    const char *test = "run_legacy_maps";
    struct xdpvm_object *obj = open_and_load(test, "loader_legacy");
    if (!obj)
        return;
    uint8_t pkt[1600];
    bool ok = true;
    struct xdpvm_outcome out;
    for (unsigned i = 0; i < PACKET_COUNT && ok; i++)
        ok = run_xdpvm(test, obj, "legacy_count", pkt, make_packet(i, pkt), &out) && out.ret == XDPVM_XDP_PASS;
    uint32_t key = 1, last_len = 0;
    if (ok)
        xdpvm_map_user_lookup(engine_map(obj, "legacy_lengths"), &key, &last_len);
    if (ok)
        test_check(lookup_u64(obj, "legacy_counts", 0) == 3 && lookup_u64(obj, "legacy_counts", 2) == 2 &&
                       lookup_u64(obj, "legacy_counts", 1) == 1 && last_len == 61,
                   test, "counts %llu %llu %llu, last length of slot 1 %u",
                   (unsigned long long)lookup_u64(obj, "legacy_counts", 0),
                   (unsigned long long)lookup_u64(obj, "legacy_counts", 1),
                   (unsigned long long)lookup_u64(obj, "legacy_counts", 2), last_len);
    xdpvm_object__close(obj);
}

static void test_run_globals(bool set_knob)
{
    const char *test = set_knob ? "run_rodata_knob_set" : "run_rodata_knob_default";
    struct xdpvm_object *obj = open_object("loader_globals", 2);
    if (!obj) {
        test_fail(test, "%s", xdpvm_last_error());
        return;
    }
    if (set_knob) {
        size_t size;
        uint32_t *ro = xdpvm_object_map__initial_value(xdpvm_object__find_map_by_name(obj, ".rodata"), &size);
        ro[0] = 100; /* drop_longer_than */
        ro[1] = 2;   /* length_bias */
    }
    if (xdpvm_object__load(obj)) {
        test_fail(test, "load: %s", xdpvm_last_error());
        xdpvm_object__close(obj);
        return;
    }
    uint8_t pkt[1600];
    bool ok = true;
    uint64_t bytes = 0;
    for (unsigned i = 0; i < PACKET_COUNT && ok; i++) {
        size_t len = make_packet(i, pkt);
        struct xdpvm_outcome out;
        ok = run_xdpvm(test, obj, "globals", pkt, len, &out);
        uint32_t seen = (uint32_t)len + (set_knob ? 2 : 0);
        bytes += seen;
        uint32_t expect = set_knob && seen > 100 ? XDPVM_XDP_DROP : XDPVM_XDP_PASS;
        if (ok && out.ret != expect) {
            test_fail(test, "packet of %zu bytes: action %u, expected %u", len, out.ret, expect);
            ok = false;
        }
    }
    size_t size;
    uint64_t *data = xdpvm_object_map__initial_value(xdpvm_object__find_map_by_name(obj, ".data"), &size);
    uint64_t *bss = xdpvm_object_map__initial_value(xdpvm_object__find_map_by_name(obj, ".bss"), &size);
    uint32_t *extra = xdpvm_object_map__initial_value(xdpvm_object__find_map_by_name(obj, ".data.extra"), &size);
    if (ok)
        test_check(data && bss && extra && *data == 100 + PACKET_COUNT && *bss == bytes &&
                       *extra == 1500 + (set_knob ? 2 : 0),
                   test, "globals after run: packets_seen %llu bytes_seen %llu last_length %u",
                   data ? (unsigned long long)*data : 0ull, bss ? (unsigned long long)*bss : 0ull, extra ? *extra : 0);
    xdpvm_object__close(obj);
}

static uint32_t mix(uint32_t x)
{
    return (x * 2654435761u) >> 16;
}

static void test_run_subprograms(void)
{
    const char *test = "run_subprograms";
    struct xdpvm_object *obj = open_and_load(test, "loader_subprogs");
    if (!obj)
        return;
    uint8_t pkt[1600];
    size_t len = make_packet(2, pkt); /* 98 bytes */
    struct xdpvm_outcome a, b;
    bool ok = run_xdpvm(test, obj, "first", pkt, len, &a) && run_xdpvm(test, obj, "second", pkt, len, &b);
    /* classify (tc) does not read its context: run it directly on a zeroed one. */
    struct xdpvm_prog *classify = xdpvm_program__prog(xdpvm_object__find_program_by_name(obj, "classify"));
    uint64_t skb[32] = {0}, r0 = 99;
    struct xdpvm_run run = {.prog = classify, .ctx = skb};
    int err = ok && classify ? classify->exec(&run, &r0) : -1;
    uint32_t n = (uint32_t)len;
    if (ok)
        test_check(err == 0 && r0 == 0 && a.ret == XDPVM_XDP_PASS && b.ret == XDPVM_XDP_PASS &&
                       lookup_u64(obj, "results", 0) == (uint32_t)(mix(n) + mix(n + 1)) &&
                       lookup_u64(obj, "results", 1) == ((n + 3) & 0xffff) && lookup_u64(obj, "results", 2) == mix(n) &&
                       lookup_u64(obj, "results", 3) == ((n + 1000) & 0xffff) &&
                       lookup_u64(obj, "results", 4) == (uint32_t)(mix(7) + mix(8)),
                   test, "subprogram results differ (classify: err %d r0 %llu %s)", err, (unsigned long long)r0,
                   run.error_message);
    xdpvm_object__close(obj);
}

static void test_run_callbacks(void)
{
    const char *test = "run_loop_callback_and_tail_call";
    struct xdpvm_object *obj = open_and_load(test, "loader_callbacks");
    if (!obj)
        return;
    uint8_t pkt[1600];
    size_t len = make_packet(2, pkt); /* 98 bytes: 98 & 15 = 2 iterations */
    struct xdpvm_outcome loop, tail;
    bool ok = run_xdpvm(test, obj, "looper", pkt, len, &loop) && run_xdpvm(test, obj, "tail_caller", pkt, len, &tail);
    uint64_t expect_sum = 0;
    for (uint32_t i = 0; i < (len & 15); i++)
        expect_sum += 3ull * i;
    if (ok)
        test_check(loop.ret == XDPVM_XDP_PASS && lookup_u64(obj, "results", 0) == expect_sum &&
                       tail.ret == XDPVM_XDP_DROP && lookup_u64(obj, "results", 1) == 0x7a11,
                   test, "loop sum %llu (expected %llu), tail call action %u marker %llx",
                   (unsigned long long)lookup_u64(obj, "results", 0), (unsigned long long)expect_sum, tail.ret,
                   (unsigned long long)lookup_u64(obj, "results", 1));
    xdpvm_object__close(obj);
}

/* ---- the kernel as oracle ---- */

/* Compare every map of the object that both sides have, by name: same keys, same values (for
 * per-CPU maps, the sums of each 64-bit word over the CPUs, as the runs used different CPUs). */
static bool compare_maps(const char *test, struct xdpvm_object *obj, struct xdpvm_kernel_object *kobj)
{
    struct xdpvm_object_map *om;
    xdpvm_object__for_each_map(om, obj) {
        const char *name = xdpvm_object_map__name(om);
        struct xdpvm_map *map = xdpvm_object_map__map(om);
        struct xdpvm_kernel_map_info info;
        if (xdpvm_object_map__type(om) == XDPVM_MAP_PROG_ARRAY)
            continue; /* slots hold programs, fds in the kernel */
        if (xdpvm_kernel_map_info(kobj, name, &info)) {
            test_fail(test, "libbpf has no map '%s' (xdpvm named it so)", name);
            return false;
        }
        bool percpu = xdpvm_map_is_percpu(info.type);
        size_t vsize = xdpvm_object_map__value_size(om);
        size_t xsize = xdpvm_map_user_value_size(map);
        uint8_t *kkey = calloc(1, info.key_size + 1), *knext = calloc(1, info.key_size + 1);
        uint8_t *kval = calloc(1, info.user_value_size), *xval = calloc(1, xsize);
        size_t kcount = 0, xcount = 0;
        bool ok = kkey && knext && kval && xval;
        for (int r = ok ? xdpvm_kernel_map_get_next_key(kobj, name, NULL, knext) : -1; ok && r == 0;
             r = xdpvm_kernel_map_get_next_key(kobj, name, kkey, knext)) {
            memcpy(kkey, knext, info.key_size);
            kcount++;
            if (xdpvm_kernel_map_lookup(kobj, name, kkey, kval) || xdpvm_map_user_lookup(map, kkey, xval)) {
                test_fail(test, "map '%s': key %zu is in the kernel's map only", name, kcount);
                ok = false;
                break;
            }
            if (percpu) {
                size_t slot = (vsize + 7) & ~(size_t)7;
                for (size_t w = 0; w + 8 <= vsize; w += 8) {
                    uint64_t ksum = 0, xsum = 0, word;
                    for (unsigned c = 0; c < xdpvm_kernel_possible_cpus(); c++) {
                        memcpy(&word, kval + c * slot + w, 8);
                        ksum += word;
                    }
                    for (unsigned c = 0; c < xdpvm_map_ncpus(map); c++) {
                        memcpy(&word, xval + c * slot + w, 8);
                        xsum += word;
                    }
                    if (ksum != xsum) {
                        test_fail(test, "map '%s': per-CPU sums differ: kernel %llu, xdpvm %llu", name,
                                  (unsigned long long)ksum, (unsigned long long)xsum);
                        ok = false;
                    }
                }
            } else if (memcmp(kval, xval, vsize)) {
                test_fail(test, "map '%s': value of key %zu differs from the kernel's", name, kcount);
                ok = false;
            }
        }
        for (int r = ok ? xdpvm_map_get_next_key(map, NULL, knext) : -1; ok && r == 0;
             r = xdpvm_map_get_next_key(map, kkey, knext)) {
            memcpy(kkey, knext, info.key_size);
            xcount++;
        }
        if (ok && xcount != kcount) {
            test_fail(test, "map '%s': %zu keys in xdpvm, %zu in the kernel", name, xcount, kcount);
            ok = false;
        }
        free(kkey);
        free(knext);
        free(kval);
        free(xval);
        if (!ok)
            return false;
    }
    return true;
}

typedef void (*configure_fn)(void *rodata);

static void knobs_drop_over_100(void *rodata)
{
    uint32_t *ro = rodata;
    ro[0] = 100;
    ro[1] = 2;
}

/* Run each packet through every listed XDP program in both engines; compare actions, output
 * packets, then all maps. */
static void differential(const char *test, const char *object, const char *const *progs, size_t prog_count,
                         configure_fn configure)
{
    const char *why;
    if (!test_kernel_bpf_available(&why)) {
        test_skip(test, "%s", why);
        return;
    }
    struct xdpvm_object *obj = open_object(object, xdpvm_kernel_possible_cpus());
    struct xdpvm_kernel_object *kobj = xdpvm_kernel_open(object_path(object));
    if (!obj || !kobj) {
        test_fail(test, "open: %s", !obj ? xdpvm_last_error() : xdpvm_kernel_error());
        goto out;
    }
    if (configure) {
        size_t size;
        void *ro = xdpvm_object_map__initial_value(xdpvm_object__find_map_by_name(obj, ".rodata"), &size);
        void *kro = xdpvm_kernel_initial_value(kobj, ".rodata", &size);
        if (!ro || !kro) {
            test_fail(test, "no .rodata: %s", xdpvm_kernel_error());
            goto out;
        }
        configure(ro);
        configure(kro);
    }
    if (xdpvm_object__load(obj) || xdpvm_kernel_load(kobj)) {
        test_fail(test, "load: %s", xdpvm_object__loaded(obj) ? xdpvm_kernel_error() : xdpvm_last_error());
        goto out;
    }
    uint8_t pkt[1600], kout[4096];
    struct xdpvm_outcome xout;
    for (size_t p = 0; p < prog_count; p++) {
        for (unsigned i = 0; i < PACKET_COUNT; i++) {
            size_t len = make_packet(i, pkt);
            struct xdpvm_kernel_test_run krun = {.data_in = pkt, .data_size_in = (uint32_t)len, .data_out = kout,
                                                 .data_size_out = sizeof(kout), .repeat = 1};
            if (xdpvm_kernel_test_run(kobj, progs[p], &krun)) {
                test_fail(test, "kernel run: %s", xdpvm_kernel_error());
                goto out;
            }
            if (!run_xdpvm(test, obj, progs[p], pkt, len, &xout))
                goto out;
            if (xout.ret != krun.retval || xout.len != krun.data_size_out || memcmp(xout.data, kout, xout.len)) {
                test_fail(test, "%s, packet %u: xdpvm action %u (%u bytes), kernel %u (%u bytes)", progs[p], i,
                          xout.ret, xout.len, krun.retval, krun.data_size_out);
                goto out;
            }
        }
    }
    if (compare_maps(test, obj, kobj))
        test_pass(test);
out:
    xdpvm_object__close(obj);
    xdpvm_kernel_close(kobj);
}

/* Names and definitions of every map as libbpf sees them (open only, no privileges needed). */
static void test_names_match_libbpf(const char *object)
{
    char test[128];
    snprintf(test, sizeof(test), "map_definitions_match_libbpf_%s", object);
    struct xdpvm_object *obj = open_object(object, 1);
    struct xdpvm_kernel_object *kobj = xdpvm_kernel_open(object_path(object));
    bool ok = obj && kobj;
    if (!ok)
        test_fail(test, "open: %s", !obj ? xdpvm_last_error() : xdpvm_kernel_error());
    struct xdpvm_object_map *m;
    size_t count = 0;
    if (ok) {
        xdpvm_object__for_each_map(m, obj) {
            struct xdpvm_kernel_map_info info;
            count++;
            if (xdpvm_kernel_map_info(kobj, xdpvm_object_map__name(m), &info) || info.type != xdpvm_object_map__type(m) ||
                info.key_size != xdpvm_object_map__key_size(m) || info.value_size != xdpvm_object_map__value_size(m) ||
                info.max_entries != xdpvm_object_map__max_entries(m) || info.map_flags != xdpvm_object_map__map_flags(m)) {
                test_fail(test, "map '%s' differs from libbpf's: %s", xdpvm_object_map__name(m), xdpvm_kernel_error());
                ok = false;
                break;
            }
        }
    }
    if (ok)
        test_check(count > 0, test, "no maps");
    xdpvm_object__close(obj);
    xdpvm_kernel_close(kobj);
}

int main(void)
{
    test_open_btf_maps();
    test_open_legacy_maps();
    test_iproute2_maps();
    test_open_global_data();
    test_open_programs();
    test_link_subprograms();
    test_skipped_program_type();
    test_autoload();
    test_rodata_frozen_after_load();
    test_errors();

    test_damaged_objects();
    test_truncated("loader_subprogs");
    test_truncated("loader_globals");
    test_corrupted("loader_subprogs");
    test_corrupted("loader_callbacks");

    test_run_maps();
    test_run_legacy();
    test_run_globals(false);
    test_run_globals(true);
    test_run_subprograms();
    test_run_callbacks();
    test_core_relocations();

    test_names_match_libbpf("loader_maps");
    test_names_match_libbpf("loader_globals");
    test_names_match_libbpf("loader_callbacks");

    static const char *const count_packets[] = {"count_packets"};
    static const char *const globals[] = {"globals"};
    static const char *const subprogs[] = {"first", "second"};
    static const char *const callbacks[] = {"looper", "tail_caller"};
    differential("kernel_same_results_btf_maps", "loader_maps", count_packets, 1, NULL);
    differential("kernel_same_results_globals_default", "loader_globals", globals, 1, NULL);
    differential("kernel_same_results_globals_knob_set", "loader_globals", globals, 1, knobs_drop_over_100);
    differential("kernel_same_results_subprograms", "loader_subprogs", subprogs, 2, NULL);
    differential("kernel_same_results_callbacks_tail_calls", "loader_callbacks", callbacks, 2, NULL);
    static const char *const core[] = {"core_length"};
    differential("kernel_same_results_core_relocations", "loader_core", core, 1, NULL);
    close_warnings();
    return test_exit_code();
}
