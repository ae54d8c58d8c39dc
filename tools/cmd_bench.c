/* xdpvm bench: how fast one XDP program runs over a capture, in xdpvm's interpreter, its JIT
 * and the kernel (BPF_PROG_TEST_RUN), all measured in the same run.
 *
 * The capture is read into memory first, so only the program runs are timed. The timing loops
 * themselves are shared with `make bench`: xdpvm_xdp_time_packets (src/xdp) and
 * xdpvm_kernel_time_packets (src/kernel). The kernel gets the maps as xdpvm has them after
 * --map-set/--maps-file, before any engine has run. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/bpf.h>

#include "commands.h"
#include "io/io.h"
#include "jit/jit.h"
#include "kernel/kernel.h"
#include "maps/maps.h"
#include "xdp/xdp.h"
#include "xdpvm/object.h"

#define MAX_MAP_SETS 256
/* Without --repeat: enough runs per engine that the clock and the start-up do not matter. */
#define DEFAULT_TOTAL_RUNS 1000000u
/* BPF_PROG_TEST_RUN refuses XDP frames shorter than an Ethernet header. */
#define MIN_PACKET 14u

enum engine { ENGINE_INTERP, ENGINE_JIT, ENGINE_KERNEL, ENGINE_COUNT };
static const char *const engine_names[ENGINE_COUNT] = {"interp", "jit", "kernel"};

struct bench_args {
    const char *object, *section, *in, *maps_file;
    const char *map_sets[MAX_MAP_SETS];
    unsigned map_set_count;
    uint32_t repeat;          /* runs per packet; 0: DEFAULT_TOTAL_RUNS over the capture */
    bool engines[ENGINE_COUNT];
    bool engines_named;       /* --engine listed them (not all): a missing one is an error */
    bool json;
};

struct engine_result {
    bool measured;
    char reason[512];         /* why not measured */
    uint64_t runs;
    double ns_per_packet;
    const char *action_names[XDPVM_XDP_OUT_COUNT];
    uint64_t actions[XDPVM_XDP_OUT_COUNT]; /* each packet's outcome, once */
    unsigned action_count;
};

static const char bench_usage[] =
    "usage: xdpvm bench PROG.o [--section S] --in IN.pcap [--repeat N]\n"
    "                   [--engine interp|jit|kernel|all] [--map-set MAP:KEYHEX:VALUEHEX ...]\n"
    "                   [--maps-file F.json] [--json]\n"
    "  Runs the program over the capture's packets repeatedly and prints, per engine,\n"
    "  packets/s, ns/packet and the time relative to the kernel's BPF_PROG_TEST_RUN (root).\n"
    "  --repeat N   runs per packet (default: about 1e6 runs over the capture)\n"
    "  --engine     one engine, a comma-separated list, or all (default); the kernel needs\n"
    "               root and the bpf syscall\n"
    "  --map-set    put one entry before the run (per-CPU maps: one value for every CPU)\n"
    "  --maps-file  entries from JSON: {\"MAP\": [{\"key\": \"HEX\", \"value\": \"HEX\"}, ...]}\n";

static int usage_error(const char *fmt, const char *arg)
{
    return cli_usage_error(bench_usage, fmt, arg);
}

static bool parse_engines(const char *text, struct bench_args *args)
{
    memset(args->engines, 0, sizeof(args->engines));
    if (!strcmp(text, "all")) {
        for (int e = 0; e < ENGINE_COUNT; e++)
            args->engines[e] = true;
        args->engines_named = false;
        return true;
    }
    args->engines_named = true;
    for (const char *p = text; *p;) {
        size_t len = strcspn(p, ",");
        int found = -1;
        for (int e = 0; e < ENGINE_COUNT; e++)
            if (strlen(engine_names[e]) == len && !strncmp(p, engine_names[e], len))
                found = e;
        if (found < 0)
            return false;
        args->engines[found] = true;
        p += len;
        if (*p == ',')
            p++;
    }
    return args->engines[ENGINE_INTERP] || args->engines[ENGINE_JIT] || args->engines[ENGINE_KERNEL];
}

static int parse_args(int argc, char **argv, struct bench_args *args)
{
    memset(args, 0, sizeof(*args));
    parse_engines("all", args);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *next = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(bench_usage, stdout);
            return -1;
        }
        if (!strcmp(a, "--json")) {
            args->json = true;
            continue;
        }
        if (a[0] == '-' && a[1]) {
            if (!next)
                return usage_error("%s needs a value", a);
            i++;
            if (!strcmp(a, "--section")) {
                args->section = next;
            } else if (!strcmp(a, "--in")) {
                args->in = next;
            } else if (!strcmp(a, "--maps-file")) {
                args->maps_file = next;
            } else if (!strcmp(a, "--map-set")) {
                if (args->map_set_count == MAX_MAP_SETS)
                    return usage_error("more than 256 %s options; use --maps-file", a);
                args->map_sets[args->map_set_count++] = next;
            } else if (!strcmp(a, "--repeat")) {
                char *end;
                errno = 0;
                unsigned long long v = strtoull(next, &end, 0);
                if (errno || end == next || *end || next[0] == '-' || v == 0 || v > UINT32_MAX)
                    return usage_error("--repeat needs a number of runs per packet from 1 to "
                                       "4294967295, not '%s'", next);
                args->repeat = (uint32_t)v;
            } else if (!strcmp(a, "--engine")) {
                if (!parse_engines(next, args))
                    return usage_error("--engine takes interp, jit, kernel (or a comma-separated "
                                       "list of them) or all, not '%s'", next);
            } else {
                return usage_error("unknown option '%s'", a);
            }
            continue;
        }
        if (args->object)
            return usage_error("unexpected argument '%s' (one object file per run)", a);
        args->object = a;
    }
    if (!args->object)
        return usage_error("%s", "no object file given");
    if (!args->in)
        return usage_error("%s", "no input given (--in IN.pcap)");
    return 0;
}

static void set_reason(struct engine_result *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void set_reason(struct engine_result *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->reason, sizeof(r->reason), fmt, ap);
    va_end(ap);
    /* One line: the kernel's verifier log that may follow belongs to `xdpvm verify`. */
    r->reason[strcspn(r->reason, "\n")] = '\0';
}

/* Give the kernel's maps what xdpvm's hold: every entry that differs (per-CPU values go to
 * every CPU, as --map-set does in xdpvm). .rodata is skipped (frozen in the kernel, equal
 * from the ELF on both sides), and so are program arrays and maps of maps, which the two
 * loaders fill from the object the same way and which hold objects, not bytes. */
static int copy_maps_to_kernel(struct xdpvm_object *obj, struct xdpvm_kernel_object *kobj,
                               struct engine_result *r)
{
    struct xdpvm_object_map *omap;
    xdpvm_object__for_each_map(omap, obj) {
        const char *name = xdpvm_object_map__name(omap);
        uint32_t type = xdpvm_object_map__type(omap);
        const char *section = xdpvm_object_map__section(omap);
        struct xdpvm_map *map = xdpvm_object_map__map(omap);
        if (!map || type == BPF_MAP_TYPE_PROG_ARRAY || type == BPF_MAP_TYPE_ARRAY_OF_MAPS ||
            type == BPF_MAP_TYPE_HASH_OF_MAPS || xdpvm_object_map__key_size(omap) == 0 ||
            (section && !strncmp(section, ".rodata", 7)))
            continue;
        struct xdpvm_kernel_map_info info;
        if (xdpvm_kernel_map_info(kobj, name, &info) < 0) {
            set_reason(r, "not measured: %s", xdpvm_kernel_error());
            return -1;
        }
        size_t ours_size = xdpvm_map_user_value_size(map);
        size_t slot = ((size_t)info.value_size + 7u) & ~(size_t)7u;
        uint8_t *key = calloc(2, info.key_size);
        uint8_t *ours = calloc(1, ours_size);
        uint8_t *theirs = calloc(1, info.user_value_size);
        uint8_t *current = calloc(1, info.user_value_size);
        int rc = 0;
        if (!key || !ours || !theirs || !current) {
            set_reason(r, "not measured: %s", "out of memory copying the maps");
            rc = -1;
        }
        uint8_t *prev = key, *next = key + info.key_size;
        bool first = true;
        while (rc == 0 && xdpvm_map_get_next_key(map, first ? NULL : prev, next) == 0) {
            first = false;
            memcpy(prev, next, info.key_size);
            if (xdpvm_map_user_lookup(map, prev, ours) < 0)
                continue;
            if (info.user_value_size == info.value_size) {
                memcpy(theirs, ours, info.value_size);
            } else {
                for (size_t off = 0; off + slot <= info.user_value_size; off += slot)
                    memcpy(theirs + off, ours, slot <= ours_size ? slot : ours_size);
            }
            if (xdpvm_kernel_map_lookup(kobj, name, prev, current) == 0 &&
                !memcmp(current, theirs, info.user_value_size))
                continue;
            if (xdpvm_kernel_map_update(kobj, name, prev, theirs, BPF_ANY) < 0) {
                set_reason(r, "not measured: map '%s': the kernel refused an entry xdpvm has: %s",
                           name, xdpvm_kernel_error());
                rc = -1;
            }
        }
        free(key);
        free(ours);
        free(theirs);
        free(current);
        if (rc < 0)
            return -1;
    }
    return 0;
}

static void bench_kernel(const struct bench_args *args, struct xdpvm_object *obj,
                         const char *prog_name, const struct xdpvm_pcap_contents *capture,
                         uint32_t repeat, struct engine_result *r)
{
    char why[256];
    if (!xdpvm_kernel_available(why, sizeof(why))) {
        set_reason(r, "not measured: %s", why);
        return;
    }
    struct xdpvm_kernel_object *kobj = xdpvm_kernel_open(args->object);
    if (!kobj || xdpvm_kernel_load(kobj) < 0) {
        set_reason(r, "not measured: the kernel did not load the object: %s", xdpvm_kernel_error());
        xdpvm_kernel_close(kobj);
        return;
    }
    if (copy_maps_to_kernel(obj, kobj, r) == 0) {
        if (capture->count >= 50 && repeat > 1)
            fprintf(stderr, "xdpvm: kernel: one BPF_PROG_TEST_RUN per packet (%zu), each waiting "
                    "for the kernel's XDP dispatcher switch; this takes a while\n", capture->count);
        struct xdpvm_kernel_timing timing;
        if (xdpvm_kernel_time_packets(kobj, prog_name, capture->packets, capture->count, repeat,
                                      &timing) < 0) {
            set_reason(r, "not measured: %s", xdpvm_kernel_error());
        } else {
            r->measured = true;
            r->runs = timing.runs;
            r->ns_per_packet = timing.ns_per_run;
            /* The kernel counts by enum xdp_action, other codes last: the order of the
             * outcomes up to invalid. */
            _Static_assert(sizeof(timing.actions) / sizeof(timing.actions[0]) ==
                               XDPVM_XDP_OUT_INVALID + 1, "kernel actions are outcomes");
            r->action_count = XDPVM_XDP_OUT_INVALID + 1;
            for (unsigned i = 0; i < r->action_count; i++) {
                r->action_names[i] = xdpvm_xdp_outcome_name(i);
                r->actions[i] = timing.actions[i];
            }
        }
    }
    xdpvm_kernel_close(kobj);
}

static void bench_xdpvm(struct xdpvm_prog *prog, const struct xdpvm_pcap_contents *capture,
                        uint32_t repeat, struct engine_result *r)
{
    char err[256];
    struct xdpvm_xdp_opts opts = {.ingress_ifindex = 1}; /* lo, as the kernel's test run */
    struct xdpvm_xdp_runner *runner = xdpvm_xdp_runner_new(prog, &opts, err, sizeof(err));
    if (!runner) {
        set_reason(r, "not measured: %s", err);
        return;
    }
    struct xdpvm_xdp_timing timing;
    xdpvm_xdp_time_packets(runner, capture->packets, capture->count,
                           (uint64_t)repeat * capture->count, 0, &timing);
    xdpvm_xdp_runner_free(runner);
    r->measured = true;
    r->runs = timing.runs;
    r->ns_per_packet = timing.ns_per_packet;
    r->action_count = XDPVM_XDP_OUT_COUNT;
    for (unsigned i = 0; i < r->action_count; i++) {
        r->action_names[i] = xdpvm_xdp_outcome_name(i);
        r->actions[i] = timing.warmup.outcome[i];
    }
}

static void bench_jit(struct xdpvm_program *program, const struct xdpvm_pcap_contents *capture,
                      uint32_t repeat, struct engine_result *r)
{
    struct xdpvm_prog *prog = xdpvm_program__prog(program);
    if (!xdpvm_jit_available()) {
        set_reason(r, "not measured: %s", "the JIT targets x86-64, not this host");
        return;
    }
    char err[256];
    struct xdpvm_jit_opts opts = {0};
    if (xdpvm_jit_compile(prog, &opts, err, sizeof(err)) < 0) {
        set_reason(r, "not measured: the JIT failed: %s", err);
        return;
    }
    bench_xdpvm(prog, capture, repeat, r);
    xdpvm_jit_free(prog);
}

static void print_json(const struct bench_args *args, struct xdpvm_program *program,
                       const struct xdpvm_pcap_contents *capture, uint32_t repeat,
                       const struct engine_result results[ENGINE_COUNT])
{
    const struct engine_result *kernel = &results[ENGINE_KERNEL];
    printf("{\"object\":");
    cli_json_string(stdout, args->object);
    printf(",\"program\":");
    cli_json_string(stdout, xdpvm_program__name(program));
    printf(",\"section\":");
    cli_json_string(stdout, xdpvm_program__section(program));
    printf(",\"verified\":true,\"input\":");
    cli_json_string(stdout, args->in);
    printf(",\"packets\":%zu,\"packets_left_out\":%" PRIu64 ",\"repeat\":%u,\"engines\":[",
           capture->count, capture->skipped, repeat);
    bool first = true;
    for (int e = 0; e < ENGINE_COUNT; e++) {
        const struct engine_result *r = &results[e];
        if (!args->engines[e])
            continue;
        printf("%s{\"engine\":\"%s\",\"measured\":%s", first ? "" : ",", engine_names[e],
               r->measured ? "true" : "false");
        first = false;
        if (!r->measured) {
            printf(",\"reason\":");
            cli_json_string(stdout, r->reason);
            printf("}");
            continue;
        }
        printf(",\"runs\":%" PRIu64 ",\"ns_per_packet\":%.1f,\"packets_per_second\":%.0f,"
               "\"vs_kernel\":", r->runs, r->ns_per_packet,
               r->ns_per_packet > 0 ? 1e9 / r->ns_per_packet : 0);
        if (kernel->measured && kernel->ns_per_packet > 0)
            printf("%.3f", r->ns_per_packet / kernel->ns_per_packet);
        else
            printf("null");
        printf(",\"actions\":{");
        for (unsigned i = 0; i < r->action_count; i++)
            printf("%s\"%s\":%" PRIu64, i ? "," : "", r->action_names[i], r->actions[i]);
        printf("}}");
    }
    printf("]}\n");
}

static void print_text(const struct bench_args *args, struct xdpvm_program *program,
                       const struct xdpvm_pcap_contents *capture, uint32_t repeat,
                       const struct engine_result results[ENGINE_COUNT])
{
    const struct engine_result *kernel = &results[ENGINE_KERNEL];
    printf("%s: program %s (section %s), %zu packets from %s", args->object,
           xdpvm_program__name(program), xdpvm_program__section(program), capture->count, args->in);
    if (capture->skipped)
        printf(" (%" PRIu64 " left out: under %u or over %u bytes)", capture->skipped, MIN_PACKET,
               XDPVM_XDP_MAX_PACKET);
    printf(", %u runs per packet\n", repeat);
    printf("%-7s %12s %10s %12s %10s\n", "engine", "packets/s", "ns/packet", "runs", "vs kernel");
    for (int e = 0; e < ENGINE_COUNT; e++) {
        const struct engine_result *r = &results[e];
        if (!args->engines[e])
            continue;
        if (!r->measured) {
            printf("%-7s %12s %10s %12s %10s  %s\n", engine_names[e], "-", "-", "-", "-", r->reason);
            continue;
        }
        printf("%-7s %12.0f %10.1f %12" PRIu64, engine_names[e],
               r->ns_per_packet > 0 ? 1e9 / r->ns_per_packet : 0, r->ns_per_packet, r->runs);
        if (kernel->measured && kernel->ns_per_packet > 0)
            printf(" %9.2fx\n", r->ns_per_packet / kernel->ns_per_packet);
        else
            printf(" %10s\n", "-");
    }
    printf("ns/packet: xdpvm's wall time per run, copy into the frame included; the kernel's is\n"
           "BPF_PROG_TEST_RUN's own average per run (it repeats on the buffer the previous run left).\n");
}

int cmd_bench(int argc, char **argv)
{
    struct bench_args args;
    int rc = parse_args(argc, argv, &args);
    if (rc)
        return rc < 0 ? 0 : rc; /* -1: help was asked for and printed */

    int status = 1;
    struct xdpvm_pcap_contents capture = {0};
    struct engine_result results[ENGINE_COUNT] = {0};
    char err[512];

    XDPVM_OPEN_OPTS(open_opts, .ncpus = 1);
    struct xdpvm_object *obj = xdpvm_object__open(args.object, &open_opts);
    if (!obj || xdpvm_object__load(obj) < 0) {
        cli_error("%s", xdpvm_last_error());
        goto out;
    }
    struct xdpvm_program *program = pick_program(obj, args.object, args.section);
    if (!program)
        goto out;
    struct xdpvm_prog *prog = xdpvm_program__prog(program);
    /* Only programs the verifier accepts are timed: the engines then run them unchecked, as
     * `xdpvm run` does, and the kernel would refuse the others anyway. */
    if (verify_for_run(obj, args.object, program, " (bench times verified programs only)") < 0)
        goto out;
    if (apply_map_options(obj, args.map_sets, args.map_set_count, args.maps_file) < 0)
        goto out;

    if (xdpvm_pcap_read_all(args.in, MIN_PACKET, XDPVM_XDP_MAX_PACKET, &capture, err,
                            sizeof(err)) < 0) {
        cli_error("%s", err);
        goto out;
    }
    if (capture.count == 0 && capture.skipped == 0) {
        cli_error("%s: the capture holds no packets", args.in);
        goto out;
    }
    if (capture.count == 0) {
        cli_error("%s: no packet of %u to %u bytes to run (%" PRIu64 " left out; the kernel's "
                  "test run needs an Ethernet header, a frame holds at most %u)", args.in,
                  MIN_PACKET, XDPVM_XDP_MAX_PACKET, capture.skipped, XDPVM_XDP_MAX_PACKET);
        goto out;
    }
    uint32_t repeat = args.repeat;
    if (!repeat) {
        uint64_t per_packet = (DEFAULT_TOTAL_RUNS + capture.count - 1) / capture.count;
        repeat = (uint32_t)(per_packet ? per_packet : 1);
    }

    /* The kernel first: it gets the maps before xdpvm's runs change them. */
    if (args.engines[ENGINE_KERNEL])
        bench_kernel(&args, obj, xdpvm_program__name(program), &capture, repeat,
                     &results[ENGINE_KERNEL]);
    if (args.engines[ENGINE_INTERP])
        bench_xdpvm(prog, &capture, repeat, &results[ENGINE_INTERP]);
    if (args.engines[ENGINE_JIT])
        bench_jit(program, &capture, repeat, &results[ENGINE_JIT]);

    if (args.json)
        print_json(&args, program, &capture, repeat, results);
    else
        print_text(&args, program, &capture, repeat, results);
    status = 0;
    /* An engine asked for by name must have been measured; with `all` the kernel (not root)
     * or the JIT (not x86-64) may be missing: the table says why. */
    for (int e = 0; e < ENGINE_COUNT; e++) {
        if (!args.engines[e] || results[e].measured)
            continue;
        if (args.engines_named || e == ENGINE_INTERP) {
            cli_error("%s: %s", engine_names[e], results[e].reason);
            status = 1;
        }
    }

out:
    xdpvm_pcap_contents_free(&capture);
    xdpvm_object__close(obj);
    return status;
}
