/* JIT benchmark: ns per packet of the same XDP program under the xdpvm interpreter, the xdpvm
 * JIT, the kernel's JIT (BPF_PROG_TEST_RUN with repeat, when the kernel allows it) and the
 * same C logic compiled for the host by clang -O2 and called directly (the practical limit):
 * for the micro-programs bench/micro/native.c, for the examples their unchanged sources as
 * build/bench/native/NAME.so (bench/native/bpf_host.h), entered like the JIT's code through
 * the program's exec, which look up arrays inline as the JIT does and call xdpvm's own
 * helpers for the rest, on the maps of the object benchmarked here
 * (tests/lib/native_example.h): only the program's code differs between the jit and native
 * columns. Before the native version is timed, every packet
 * runs once natively and once under the JIT, each on a fresh copy, and any difference in
 * action, packet place, length or bytes or redirect target is a `!` line and a non-zero exit.
 * Each packet is run `repeat` times in place, as BPF_PROG_TEST_RUN does (no copy between runs),
 * so every column measures the program plus the smallest per-run overhead of its executor.
 *
 *   build/bench/bench_jit [--repeat N] [--quick] [PROGRAM.o ...]
 *
 * Without objects: the micro-programs (empty, ALU loop, map lookup, packet parse) on one UDP
 * packet (the empty program shows each executor's fixed cost per run; its native column is
 * the benchmark loop itself),
 * then every example over the bundled pcap (build/data/mixed.pcap). The interpreter runs the
 * programs unchecked (prog->verified), as it would after the verifier: the kernel's verifier
 * accepts the same objects in this run (its column), and the JIT trusts them the same way. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>


#include "io/io.h"
#include "../tests/lib/example_config.h"
#include "../tests/lib/native_example.h"
#include "maps/maps.h"
#include "jit/jit.h"
#include "kernel/kernel.h"
#include "micro/native.h"
#include "runtime/runtime.h"
#include "xdp/xdp.h"
#include "xdpvm/object.h"

#define HEADROOM 256
#define FRAME_SIZE 4096
#define MAX_PACKETS 4096

struct packet {
    uint8_t *data;
    uint32_t len;
};

struct packet_set {
    struct packet *items;
    size_t count;
};

typedef int (*native_fn)(struct xdpvm_run *run, uint64_t *r0);

struct column {
    double ns;       /* per packet; < 0 when not measured */
    const char *why; /* why not */
    uint32_t first_ret; /* the first packet's action after its last repetition */
};

/* CPU time of this thread: the machine is shared, and time spent preempted is not the
 * program's. Every measurement is also the best of ROUNDS passes. */
#define ROUNDS 3
static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* One UDP/IPv4 frame to port 4242 with a valid IP checksum (the micro-programs' packet). */
static void micro_packet(struct packet_set *set)
{
    static uint8_t frame[64] = {
        0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01, 0x08, 0x00,          /* Ethernet */
        0x45, 0, 0, 50, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,  /* IPv4 */
        0x30, 0x39, 0x10, 0x92, 0, 30, 0, 0,                                 /* UDP 12345->4242 */
    };
    uint32_t sum = 0;
    for (int i = 14; i < 34; i += 2)
        sum += (uint32_t)(frame[i] << 8 | frame[i + 1]);
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    frame[24] = (uint8_t)(~sum >> 8);
    frame[25] = (uint8_t)~sum;
    static struct packet one = {frame, sizeof(frame)};
    set->items = &one;
    set->count = 1;
}

static int read_pcap(const char *path, struct packet_set *set)
{
    char err[256];
    struct xdpvm_pcap_reader *reader = xdpvm_pcap_open(path, err, sizeof(err));
    if (!reader) {
        fprintf(stderr, "bench_jit: %s\n", err);
        return -1;
    }
    set->items = calloc(MAX_PACKETS, sizeof(*set->items));
    set->count = 0;
    struct xdpvm_packet p;
    int rc;
    while (set->items && set->count < MAX_PACKETS && (rc = xdpvm_pcap_next(reader, &p, err, sizeof(err))) == 1) {
        if (p.caplen < 14 || p.caplen > FRAME_SIZE - HEADROOM - 512)
            continue;
        struct packet *dst = &set->items[set->count++];
        dst->data = malloc(p.caplen);
        memcpy(dst->data, p.data, p.caplen);
        dst->len = p.caplen;
    }
    xdpvm_pcap_close(reader);
    return set->items && set->count ? 0 : -1;
}

/* xdpvm: prog->exec on a frame below 4 GiB, `repeat` runs per packet. */
static struct column time_xdpvm(struct xdpvm_prog *prog, const struct packet_set *set, uint64_t repeat)
{
    struct column col = {.ns = -1};
    uint8_t *frame = xdpvm_xdp_low_alloc(FRAME_SIZE);
    if (!frame) {
        col.why = "no memory below 4 GiB";
        return col;
    }
    struct xdpvm_xdp_buff buff = {.frame = frame, .frame_size = FRAME_SIZE, .tailroom_reserve = 320};
    struct xdpvm_run run = {.prog = prog, .ctx = &buff.md, .xdp = &buff};
    double best = -1;
    /* round -1 warms up (caches, branch predictors, the core's clock) and is not counted */
    for (int round = -1; round < ROUNDS; round++) {
    double total = 0;
    for (size_t i = 0; i < set->count; i++) {
        const struct packet *p = &set->items[i];
        memcpy(frame + HEADROOM, p->data, p->len);
        /* Like BPF_PROG_TEST_RUN, the repetitions share one buffer: a program that moves the
         * packet (bpf_xdp_adjust_head) sees its own previous run's result. */
        uint32_t data = (uint32_t)(uintptr_t)(frame + HEADROOM);
        buff.md.data = buff.md.data_meta = data;
        buff.md.data_end = data + p->len;
        buff.md.ingress_ifindex = 1; /* lo, as in the kernel's test run */
        double t0 = now_ns();
        for (uint64_t r = 0; r < repeat; r++) {
            buff.redirect_set = false;
            run.prog = prog;
            run.error = 0;
            run.stop = false;
            run.next_prog = NULL;
            run.tail_call_count = 0;
            uint64_t r0 = 0;
            if (prog->exec(&run, &r0)) {
                col.why = "run error";
                fprintf(stderr, "bench_jit: %s: %s\n", prog->name, run.error_message);
                xdpvm_xdp_low_free(frame, FRAME_SIZE);
                return col;
            }
            if (round == 0 && i == 0 && r == repeat - 1) /* the kernel reports the last run's */
                col.first_ret = (uint32_t)r0;
        }
        total += now_ns() - t0;
    }
    if (round >= 0 && (best < 0 || total < best))
        best = total;
    }
    xdpvm_xdp_low_free(frame, FRAME_SIZE);
    col.ns = best / (double)(repeat * set->count);
    return col;
}

static struct column time_kernel(const char *path, const char *prog_name, const char *example,
                                 const struct packet_set *set, uint64_t repeat, bool kernel_ok,
                                 const char *kernel_why)
{
    struct column col = {.ns = -1, .why = kernel_why};
    if (!kernel_ok)
        return col;
    struct xdpvm_kernel_object *obj = xdpvm_kernel_open(path);
    if (!obj || xdpvm_kernel_load(obj)) {
        static char why[256];
        snprintf(why, sizeof(why), "kernel load failed: %.200s", xdpvm_kernel_error());
        col.why = why;
        xdpvm_kernel_close(obj);
        return col;
    }
    if (example && !example_configure(example, example_put_kernel, obj, example_redirect_ifindex())) {
        col.why = "cannot fill the example's maps in the kernel";
        xdpvm_kernel_close(obj);
        return col;
    }
    double best = -1;
    for (int round = 0; round < ROUNDS; round++) {
    double total = 0;
    static uint8_t out[FRAME_SIZE];
    for (size_t i = 0; i < set->count; i++) {
        struct xdpvm_kernel_test_run tr = {
            .data_in = set->items[i].data, .data_size_in = set->items[i].len,
            .data_out = out, .data_size_out = sizeof(out), .repeat = (uint32_t)repeat,
        };
        if (xdpvm_kernel_test_run(obj, prog_name, &tr)) {
            static char why[256];
            snprintf(why, sizeof(why), "test run failed: %.200s", xdpvm_kernel_error());
            col.why = why;
            xdpvm_kernel_close(obj);
            return col;
        }
        if (round == 0 && i == 0)
            col.first_ret = tr.retval;
        total += (double)tr.duration * (double)repeat;
    }
    if (best < 0 || total < best)
        best = total;
    }
    xdpvm_kernel_close(obj);
    col.ns = best / (double)(repeat * set->count);
    return col;
}

/* Before any native timing: every packet once through the native version and once through
 * prog (the JIT, or the interpreter if it did not compile), each on a fresh copy in its own
 * frame, with the same map contents (the same maps: counters move alike in both). A native
 * version that computes something else would make its column meaningless. */
static bool native_agrees(struct xdpvm_prog *prog, const char *prog_kind, struct xdpvm_prog *native,
                          const char *name, const struct packet_set *set)
{
    const struct xdpvm_xdp_opts opts = {.ingress_ifindex = 1}; /* as in time_xdpvm */
    char err[256], why[1280];
    struct xdpvm_xdp_runner *a = xdpvm_xdp_runner_new(prog, &opts, err, sizeof(err));
    struct xdpvm_xdp_runner *b = a ? xdpvm_xdp_runner_new(native, &opts, err, sizeof(err)) : NULL;
    uint8_t *frame_a = xdpvm_xdp_low_alloc(FRAME_SIZE), *frame_b = xdpvm_xdp_low_alloc(FRAME_SIZE);
    bool ok = a && b && frame_a && frame_b;
    if (!ok)
        printf("  ! %s: cannot compare native with %s: %s\n", name, prog_kind,
               b ? "no frame below 4 GiB" : err);
    for (size_t i = 0; ok && i < set->count; i++) {
        ok = xdp_runs_agree(a, frame_a, prog_kind, b, frame_b, "native", set->items[i].data,
                            set->items[i].len, why, sizeof(why));
        if (!ok)
            printf("  ! %s: native version differs from %s on packet %zu: %s\n", name, prog_kind,
                   i + 1, why);
    }
    if (frame_a)
        xdpvm_xdp_low_free(frame_a, FRAME_SIZE);
    if (frame_b)
        xdpvm_xdp_low_free(frame_b, FRAME_SIZE);
    xdpvm_xdp_runner_free(b);
    xdpvm_xdp_runner_free(a);
    return ok;
}

static void print_ns(struct column c)
{
    if (c.ns < 0)
        printf(" %10s", "-");
    else
        printf(" %10.1f", c.ns);
}
static void print_ratio(struct column a, struct column b)
{
    if (a.ns < 0 || b.ns <= 0)
        printf(" %10s", "-");
    else
        printf(" %9.2fx", a.ns / b.ns);
}

/* One row. The native column: micro_native (a micro-program's exec) or, for an example, its
 * native library bound to this object's maps (tests/lib/native_example.h). */
static int bench_object(const char *path, const char *example, const struct packet_set *set,
                        native_fn micro_native, uint64_t total_runs, bool kernel_ok, const char *kernel_why)
{
    struct xdpvm_object *obj = xdpvm_object__open(path, NULL);
    if (!obj || xdpvm_object__load(obj)) {
        fprintf(stderr, "bench_jit: %s: %s\n", path, xdpvm_last_error());
        xdpvm_object__close(obj);
        return -1;
    }
    if (example && !example_configure(example, example_put_object, obj, example_redirect_ifindex())) {
        fprintf(stderr, "bench_jit: %s: cannot fill the example's maps\n", path);
        xdpvm_object__close(obj);
        return -1;
    }
    struct xdpvm_program *program = NULL, *pos;
    xdpvm_object__for_each_program(pos, obj)
        if (!program && xdpvm_program__type(pos) == XDPVM_PROG_XDP && xdpvm_program__prog(pos))
            program = pos;
    if (!program) {
        fprintf(stderr, "bench_jit: %s: no XDP program\n", path);
        xdpvm_object__close(obj);
        return -1;
    }
    struct xdpvm_prog *prog = xdpvm_program__prog(program);
    uint64_t repeat = (total_runs + set->count - 1) / set->count;

    struct xdpvm_prog micro_prog = {.name = "native", .type = XDPVM_PROG_XDP, .exec = micro_native};
    struct xdpvm_prog *native = micro_native ? &micro_prog : NULL;
    struct native_example *native_code = NULL;
    const char *native_why = "no native version";
    char native_err[512];
    if (example) {
        char so[1024];
        native_example_path(example, so, sizeof(so));
        native_code = native_example_open(so, obj, xdpvm_program__name(program), native_err,
                                          sizeof(native_err));
        if (native_code)
            native = native_example_prog(native_code);
        else
            native_why = native_err;
    }

    struct column kernel = time_kernel(path, xdpvm_program__name(program), example, set, repeat,
                                       kernel_ok, kernel_why);
    prog->verified = true; /* see the header comment */
    struct column interp = time_xdpvm(prog, set, repeat < 10 ? repeat : repeat / 10);
    char err[256];
    struct column jit = {.ns = -1, .why = err};
    bool jitted = xdpvm_jit_compile(prog, NULL, err, sizeof(err)) == 0;
    if (!jitted)
        fprintf(stderr, "bench_jit: %s\n", err);
    bool native_ok = !native || native_agrees(prog, jitted ? "JIT" : "interpreter", native,
                                              xdpvm_object__name(obj), set);
    if (jitted)
        jit = time_xdpvm(prog, set, repeat);
    struct column nat = {.ns = -1, .why = native_why};
    if (native && native_ok)
        nat = time_xdpvm(native, set, repeat);

    char name[40];
    snprintf(name, sizeof(name), "%s", xdpvm_object__name(obj));
    printf("%-14s %7zu", name, set->count);
    print_ns(interp);
    print_ns(jit);
    print_ns(kernel);
    print_ns(nat);
    print_ratio(jit, kernel);
    print_ratio(jit, nat);
    print_ratio(interp, jit);
    printf("\n");
    if (jit.ns >= 0 && interp.ns >= 0 && jit.first_ret != interp.first_ret)
        printf("  ! %s: first packet: interpreter returned %u, JIT %u\n", name, interp.first_ret,
               jit.first_ret);
    if (jit.ns >= 0 && kernel.ns >= 0 && jit.first_ret != kernel.first_ret)
        printf("  ! %s: first packet: kernel returned %u, JIT %u\n", name, kernel.first_ret,
               jit.first_ret);
    if (jit.ns >= 0 && nat.ns >= 0 && jit.first_ret != nat.first_ret)
        printf("  ! %s: first packet: native returned %u, JIT %u\n", name, nat.first_ret, jit.first_ret);
    if (kernel.ns < 0 && kernel.why && kernel_ok)
        printf("  (kernel: %s)\n", kernel.why);
    bool native_missing = example && !native_code; /* make builds every example's */
    if (native_missing)
        printf("  ! %s: no native version: %s\n", name, native_why);
    native_example_close(native_code);
    xdpvm_object__close(obj);
    return native_ok && !native_missing ? 0 : -1;
}

int main(int argc, char **argv)
{
    uint64_t total_runs = 1000000;
    int first_object = argc;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--repeat") && i + 1 < argc) {
            total_runs = strtoull(argv[++i], NULL, 10);
        } else if (!strcmp(argv[i], "--quick")) {
            total_runs = 20000;
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "usage: bench_jit [--repeat N] [--quick] [PROGRAM.o ...]\n");
            return 2;
        } else {
            first_object = i;
            break;
        }
    }
    if (total_runs == 0)
        total_runs = 1;
    if (!xdpvm_jit_available()) {
        printf("bench_jit: the JIT is not available on this host (not x86-64): nothing to compare\n");
        return 0;
    }
    char kernel_why[256] = "";
    bool kernel_ok = xdpvm_kernel_available(kernel_why, sizeof(kernel_why));
    const char *root = getenv("XDPVM_ROOT") ? getenv("XDPVM_ROOT") : ".";
    const char *bpf_dir = getenv("XDPVM_BPF_DIR") ? getenv("XDPVM_BPF_DIR") : "build/bpf";

    printf("JIT benchmark: ns per packet, %" PRIu64 " runs per program (interpreter: a tenth)%s\n",
           total_runs, kernel_ok ? "" : "");
    if (!kernel_ok)
        printf("kernel column skipped: %s\n", kernel_why);
    printf("%-14s %7s %10s %10s %10s %10s %10s %10s %10s\n", "program", "packets", "interp", "jit",
           "kernel-jit", "native", "jit/kernel", "jit/native", "interp/jit");

    int failures = 0;
    if (first_object < argc) {
        struct packet_set set;
        micro_packet(&set);
        for (int i = first_object; i < argc; i++)
            failures += bench_object(argv[i], NULL, &set, NULL, total_runs, kernel_ok, kernel_why) != 0;
        return failures ? 1 : 0;
    }

    static const struct {
        const char *name;
        native_fn native;
    } micro[] = {
        {"micro_empty", micro_native_nothing}, /* each executor's cost per run */
        {"micro_alu", micro_native_alu},
        {"micro_map", micro_native_map},
        {"micro_parse", micro_native_parse},
    };
    struct packet_set one;
    micro_packet(&one);
    for (size_t i = 0; i < sizeof(micro) / sizeof(micro[0]); i++) {
        char path[1024];
        snprintf(path, sizeof(path), "%s/bench/bpf/%s.o", bpf_dir, micro[i].name);
        failures += bench_object(path, NULL, &one, micro[i].native, total_runs, kernel_ok, kernel_why) != 0;
    }

    char pcap[1024];
    snprintf(pcap, sizeof(pcap), "%s/build/data/mixed.pcap", root);
    struct packet_set mixed;
    if (read_pcap(pcap, &mixed)) {
        printf("examples skipped: cannot read %s\n", pcap);
        return failures ? 1 : 0;
    }
    for (size_t i = 0; i < sizeof(example_names) / sizeof(example_names[0]); i++) {
        char path[1024];
        snprintf(path, sizeof(path), "%s/examples/%s.o", bpf_dir, example_names[i]);
        failures += bench_object(path, example_names[i], &mixed, NULL, total_runs, kernel_ok,
                                 kernel_why) != 0;
    }
    printf("native: the same C by clang -O2; the examples' native builds look up (per-CPU) arrays\n"
           "inline, as the JIT does, and call xdpvm's helpers on the same maps for the rest\n"
           "(docs/JIT.md)\n");
    for (size_t i = 0; i < mixed.count; i++)
        free(mixed.items[i].data);
    free(mixed.items);
    return failures ? 1 : 0;
}
