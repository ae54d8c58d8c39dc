/* xdpvm run PROG.o --dev IF[,IF...] [--queues N] [--mode auto|afxdp|afpacket] [--busy-poll]
 *                  [--skb] [--no-tap] [--section S] [--duration S] [--map-set ...]
 *                  [--maps-file F] [--dump-maps] [--json] [--quiet]
 *
 * The user-space data path on live interfaces (src/io/live.h): the program runs in xdpvm on
 * every frame the ports receive; a status line once a second; a summary (and the frame
 * accounting) on exit, which SIGINT, SIGTERM or --duration trigger. */
#include "commands.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include "io/live.h"
#include "jit/jit.h"
#include "verifier/verifier.h"
#include "map_print.h"
#include "xdpvm/xdpvm.h"

#define MAX_MAP_SETS 256

static const char live_usage[] =
    "usage: xdpvm run PROG.o --dev IF[,IF...] [--queues N] [--mode auto|afxdp|afpacket]\n"
    "                 [--busy-poll] [--skb] [--no-tap] [--section S] [--duration SECONDS]\n"
    "                 [--map-set MAP:KEYHEX:VALUEHEX ...] [--maps-file F.json] [--dump-maps]\n"
    "                 [--no-verify] [--interp] [--json] [--quiet]\n"
    "  The program is verified (refused when unsafe), then JIT-compiled (--interp: interpreted\n"
    "  without run-time checks); --no-verify runs it in the checked interpreter.\n"
    "  XDP_PASS frames go to a TAP device per port named xv-<ifname> (created, up, with the\n"
    "  port's MAC), where the host stack receives them; --no-tap drops them instead.\n";

static volatile sig_atomic_t live_stop;
static void on_signal(int sig) { (void)sig; live_stop = 1; }

/* libbpf and libxdp narrate (skipped ELF sections, dispatcher fallbacks) on stderr; our own
 * messages say what failed, so theirs show only with XDPVM_VERBOSE=1. */
static int library_print(const char *fmt, va_list ap)
{
    return getenv("XDPVM_VERBOSE") ? vfprintf(stderr, fmt, ap) : 0;
}
static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
    (void)level;
    return library_print(fmt, ap);
}
static int libxdp_print(enum libxdp_print_level level, const char *fmt, va_list ap)
{
    (void)level;
    return library_print(fmt, ap);
}

void live_quiet_libraries(void)
{
    libbpf_set_print(libbpf_print);
    libxdp_set_print(libxdp_print);
}

struct live_args {
    const char *object, *section, *maps_file, *devs;
    const char *map_sets[MAX_MAP_SETS];
    unsigned map_set_count;
    unsigned queues;
    double duration;
    enum xdpvm_port_mode mode;
    bool busy_poll, skb, no_tap, json, quiet, dump_maps, no_verify, interp;
};

static int usage_error(const char *what, const char *arg)
{
    fprintf(stderr, "xdpvm: error: run: ");
    fprintf(stderr, what, arg);
    fprintf(stderr, "\n%s", live_usage);
    return 2;
}

static int parse_live_args(int argc, char **argv, struct live_args *a)
{
    memset(a, 0, sizeof(*a));
    a->queues = 1;
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(o, "--json")) a->json = true;
        else if (!strcmp(o, "--quiet")) a->quiet = true;
        else if (!strcmp(o, "--busy-poll")) a->busy_poll = true;
        else if (!strcmp(o, "--skb")) a->skb = true;
        else if (!strcmp(o, "--no-tap")) a->no_tap = true;
        else if (!strcmp(o, "--dump-maps")) a->dump_maps = true;
        else if (!strcmp(o, "--no-verify")) a->no_verify = true;
        else if (!strcmp(o, "--interp")) a->interp = true;
        else if (!strcmp(o, "--jit")) a->interp = false;
        else if (o[0] == '-' && o[1]) {
            if (!v)
                return usage_error("%s needs a value", o);
            i++;
            if (!strcmp(o, "--dev")) a->devs = v;
            else if (!strcmp(o, "--section")) a->section = v;
            else if (!strcmp(o, "--maps-file")) a->maps_file = v;
            else if (!strcmp(o, "--map-set")) {
                if (a->map_set_count == MAX_MAP_SETS)
                    return usage_error("more than 256 %s options; use --maps-file", o);
                a->map_sets[a->map_set_count++] = v;
            } else if (!strcmp(o, "--queues")) {
                char *end;
                unsigned long q = strtoul(v, &end, 10);
                if (end == v || *end || q == 0 || q > XDPVM_LIVE_MAX_QUEUES)
                    return usage_error("--queues expects 1..64, got '%s'", v);
                a->queues = (unsigned)q;
            } else if (!strcmp(o, "--duration")) {
                char *end;
                a->duration = strtod(v, &end);
                if (end == v || *end || !(a->duration > 0))
                    return usage_error("--duration expects seconds > 0, got '%s'", v);
            } else if (!strcmp(o, "--mode")) {
                if (xdpvm_port_mode_parse(v, &a->mode))
                    return usage_error("--mode expects auto, afxdp or afpacket, got '%s'", v);
            } else {
                return usage_error("unknown option '%s' with --dev", o);
            }
        } else if (!a->object) a->object = o;
        else return usage_error("unexpected argument '%s' (one object file per run)", o);
    }
    if (!a->object)
        return usage_error("%s", "no object file given");
    if (!a->devs || !a->devs[0])
        return usage_error("%s", "--dev needs an interface name");
    return 0;
}

static bool accounted(const struct xdpvm_live_counts *c)
{
    uint64_t sum = 0;
    for (int o = 0; o < XDPVM_XDP_OUT_COUNT; o++)
        sum += c->outcome[o];
    return sum == c->received;
}

/* With --json, the status is one JSON object per line on stderr (stdout keeps the single
 * summary document). */
static void print_status_json(struct xdpvm_live *live, struct xdpvm_live_counts *prev, double dt,
                              double elapsed)
{
    unsigned n = xdpvm_live_port_count(live);
    fprintf(stderr, "{\"t\":%.1f,\"ports\":[", elapsed);
    for (unsigned p = 0; p < n; p++) {
        struct xdpvm_live_counts c;
        xdpvm_live_counts(live, p, &c);
        fprintf(stderr, "%s{\"dev\":\"%s\",\"received\":%" PRIu64 ",\"pps\":%.0f,\"actions\":{",
                p ? "," : "", xdpvm_live_port_name(live, p), c.received,
                (double)(c.received - prev[p].received) / dt);
        for (int o = 0; o < XDPVM_XDP_OUT_COUNT; o++)
            fprintf(stderr, "%s\"%s\":%" PRIu64, o ? "," : "", xdpvm_xdp_outcome_name(o), c.outcome[o]);
        fprintf(stderr, "}}");
        prev[p] = c;
    }
    fprintf(stderr, "]}\n");
}

static void print_status(struct xdpvm_live *live, struct xdpvm_live_counts *prev, double dt, bool tty)
{
    FILE *out = stderr;
    unsigned n = xdpvm_live_port_count(live);
    if (tty)
        fputs("\r\033[K", out);
    for (unsigned p = 0; p < n; p++) {
        struct xdpvm_live_counts c;
        xdpvm_live_counts(live, p, &c);
        fprintf(out, "%s%s: rx %" PRIu64 " (%.0f pps)", p ? " | " : "", xdpvm_live_port_name(live, p),
                c.received, (double)(c.received - prev[p].received) / dt);
        for (int o = 0; o < XDPVM_XDP_OUT_COUNT; o++)
            if (c.outcome[o])
                fprintf(out, " %s %" PRIu64 " (%.0f/s)", xdpvm_xdp_outcome_name(o), c.outcome[o],
                        (double)(c.outcome[o] - prev[p].outcome[o]) / dt);
        prev[p] = c;
    }
    if (!tty)
        fputc('\n', out);
    fflush(out);
}

/* CPU time of the whole process (all workers), user and system. */
static void cpu_seconds(double *user, double *sys)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    *user = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
    *sys = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void print_summary(struct xdpvm_live *live, const struct live_args *a, double seconds)
{
    unsigned n = xdpvm_live_port_count(live);
    double user, sys;
    cpu_seconds(&user, &sys);
    if (a->json) {
        printf("{\"seconds\":%.3f,\"queues\":%u,\"cpu_user\":%.3f,\"cpu_sys\":%.3f,\"ports\":[",
               seconds, a->queues, user, sys);
        for (unsigned p = 0; p < n; p++) {
            struct xdpvm_live_counts c;
            xdpvm_live_counts(live, p, &c);
            printf("%s{\"dev\":\"%s\",\"ifindex\":%u,\"mode\":\"%s\",\"zero_copy\":%s,\"tap\":\"%s\",\"received\":%" PRIu64
                   ",\"rx_bytes\":%" PRIu64 ",\"pps\":%.0f,\"actions\":{",
                   p ? "," : "", xdpvm_live_port_name(live, p), xdpvm_live_port_ifindex(live, p),
                   xdpvm_port_mode_name(xdpvm_live_port_mode(live, p)),
                   xdpvm_live_port_zero_copy(live, p) ? "true" : "false", xdpvm_live_tap_name(live, p),
                   c.received, c.rx_bytes, seconds > 0 ? (double)c.received / seconds : 0);
            for (int o = 0; o < XDPVM_XDP_OUT_COUNT; o++)
                printf("%s\"%s\":%" PRIu64, o ? "," : "", xdpvm_xdp_outcome_name(o), c.outcome[o]);
            printf("},\"sent\":%" PRIu64 ",\"sent_bytes\":%" PRIu64 ",\"tx_dropped\":%" PRIu64
                   ",\"pass_dropped\":%" PRIu64 ",\"kernel_drops\":%" PRIu64 ",\"from_stack\":%" PRIu64 ",\"in_flight\":%" PRIu64
                   ",\"accounted\":%s}",
                   c.sent, c.sent_bytes, c.tx_dropped, c.pass_dropped, c.kernel_drops, c.from_stack, c.in_flight,
                   accounted(&c) && !c.in_flight ? "true" : "false");
        }
        printf("]}\n");
        return;
    }
    printf("%-15s %-8s %10s %10s %10s %10s %10s %10s %10s %10s %10s\n", "port", "mode", "received",
           "drop", "tx", "redirect", "pass", "aborted", "redir_err", "invalid", "sent");
    for (unsigned p = 0; p < n; p++) {
        struct xdpvm_live_counts c;
        xdpvm_live_counts(live, p, &c);
        printf("%-15s %-8s %10" PRIu64 " %10" PRIu64 " %10" PRIu64 " %10" PRIu64 " %10" PRIu64
               " %10" PRIu64 " %10" PRIu64 " %10" PRIu64 " %10" PRIu64 "\n",
               xdpvm_live_port_name(live, p), xdpvm_port_mode_name(xdpvm_live_port_mode(live, p)),
               c.received, c.outcome[XDPVM_XDP_OUT_DROP], c.outcome[XDPVM_XDP_OUT_TX],
               c.outcome[XDPVM_XDP_OUT_REDIRECT], c.outcome[XDPVM_XDP_OUT_PASS],
               c.outcome[XDPVM_XDP_OUT_ABORTED], c.outcome[XDPVM_XDP_OUT_REDIRECT_ERROR],
               c.outcome[XDPVM_XDP_OUT_INVALID], c.sent);
        if (c.tx_dropped || c.pass_dropped || c.kernel_drops)
            printf("  %s: %" PRIu64 " refused by the TX ring/device, %" PRIu64
                   " refused by the TAP device, %" PRIu64 " dropped by the kernel before xdpvm saw them\n",
                   xdpvm_live_port_name(live, p), c.tx_dropped, c.pass_dropped, c.kernel_drops);
        if (c.from_stack)
            printf("  %s: %" PRIu64 " frames from the host stack (TAP %s) sent out\n",
                   xdpvm_live_port_name(live, p), c.from_stack, xdpvm_live_tap_name(live, p));
        printf("  accounting %s: received %" PRIu64 " = drop + tx + redirect + pass + aborted + "
               "redirect errors + invalid; %" PRIu64 " in flight\n",
               accounted(&c) && !c.in_flight ? "ok" : "MISMATCH", c.received, c.in_flight);
    }
    printf("%.3f s, %u worker%s, CPU %.3f s user + %.3f s system\n", seconds, a->queues,
           a->queues == 1 ? "" : "s", user, sys);
}

int run_live(int argc, char **argv)
{
    struct live_args a;
    int rc = parse_live_args(argc, argv, &a);
    if (rc)
        return rc;

    struct xdpvm_live_opts opts = {
        .queues = a.queues, .mode = a.mode, .busy_poll = a.busy_poll, .skb_mode = a.skb,
        .no_tap = a.no_tap, .quiet = a.quiet,
    };
    char *devs = strdup(a.devs);
    if (!devs) {
        cli_error("out of memory");
        return 1;
    }
    for (char *save = NULL, *tok = strtok_r(devs, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (opts.port_count == XDPVM_LIVE_MAX_PORTS) {
            cli_error("run: at most %d ports in --dev", XDPVM_LIVE_MAX_PORTS);
            free(devs);
            return 2;
        }
        opts.ifnames[opts.port_count++] = tok;
    }
    if (geteuid() != 0) {
        cli_error("run --dev: live ports need root (AF_XDP and AF_PACKET sockets, TAP devices)");
        free(devs);
        return 1;
    }

    int status = 1;
    struct xdpvm_live *live = NULL;
    XDPVM_OPEN_OPTS(open_opts, .ncpus = a.queues);
    struct xdpvm_object *obj = xdpvm_object__open(a.object, &open_opts);
    if (!obj || xdpvm_object__load(obj) < 0) {
        cli_error("%s", xdpvm_last_error());
        goto out;
    }
    struct xdpvm_program *program = pick_program(obj, a.object, a.section);
    if (!program)
        goto out;
    opts.prog = xdpvm_program__prog(program);
    if (apply_map_options(obj, a.map_sets, a.map_set_count, a.maps_file) < 0)
        goto out;

    struct xdpvm_prog *runnable = xdpvm_program__prog(program);
    if (!a.no_verify) {
        struct xdpvm_verify_opts vopts = {0};
        struct xdpvm_verify_result vres;
        if (xdpvm_verify(runnable, &vopts, &vres) != 0) {
            cli_error("%s: the verifier rejects program '%s' at instruction %zu: %s (--no-verify "
                      "runs it in the checked interpreter)", a.object, xdpvm_program__name(program),
                      vres.error_insn, vres.reason);
            goto out;
        } else if (!a.interp && xdpvm_jit_available()) {
            char jit_err[512];
            if (xdpvm_jit_compile(runnable, &(struct xdpvm_jit_opts){0}, jit_err, sizeof(jit_err)) < 0)
                fprintf(stderr, "xdpvm: %s: JIT: %s; interpreting\n", a.object, jit_err);
        }
    }

    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    live_quiet_libraries();

    char err[512], note[512];
    live = xdpvm_live_start(&opts, note, sizeof(note), err, sizeof(err));
    if (!live) {
        cli_error("run: %s", err);
        goto out;
    }
    if (note[0])
        fprintf(stderr, "xdpvm: %s\n", note);
    if (!a.quiet) {
        for (unsigned p = 0; p < opts.port_count; p++)
            fprintf(stderr, "xdpvm: %s (ifindex %u): %s%s, %u queue%s%s%s\n", xdpvm_live_port_name(live, p),
                    xdpvm_live_port_ifindex(live, p), xdpvm_port_mode_name(xdpvm_live_port_mode(live, p)),
                    xdpvm_live_port_mode(live, p) != XDPVM_PORT_AFXDP ? ""
                    : xdpvm_live_port_zero_copy(live, p) ? " zero-copy" : " copy mode",
                    a.queues, a.queues == 1 ? "" : "s",
                    xdpvm_live_tap_name(live, p)[0] ? ", XDP_PASS to TAP " : "",
                    xdpvm_live_tap_name(live, p));
    }
    /* Even with --quiet: scripts wait for this line to know traffic will be handled. */
    fprintf(stderr, "xdpvm: running %s (%s); Ctrl-C stops\n", xdpvm_program__name(program),
            opts.prog->jit_code ? "jit" : opts.prog->verified ? "interpreter" : "interpreter (checked)");

    bool tty = isatty(STDERR_FILENO);
    struct xdpvm_live_counts prev[XDPVM_LIVE_MAX_PORTS];
    memset(prev, 0, sizeof(prev));
    double start = cli_now_seconds(), last = start;
    while (!live_stop) {
        struct timespec tick = {0, 100000000};
        nanosleep(&tick, NULL);
        double now = cli_now_seconds();
        if (a.duration && now - start >= a.duration)
            break;
        if (now - last >= 1.0) {
            if (!a.quiet && a.json)
                print_status_json(live, prev, now - last, now - start);
            else if (!a.quiet)
                print_status(live, prev, now - last, tty);
            last = now;
        }
    }
    double seconds = cli_now_seconds() - start;
    xdpvm_live_stop(live);
    if (!a.quiet && tty && !a.json)
        fputc('\n', stderr);
    print_summary(live, &a, seconds);
    if (a.dump_maps)
        map_print_object(stdout, obj, NULL, a.json);
    status = 0;
    for (unsigned p = 0; p < opts.port_count; p++) {
        struct xdpvm_live_counts c;
        xdpvm_live_counts(live, p, &c);
        if (!accounted(&c) || c.in_flight)
            status = 1;
    }
out:
    xdpvm_live_free(live);
    xdpvm_object__close(obj);
    free(devs);
    return status;
}
