/* XDP benchmark: each example over the bundled capture, in xdpvm and in the kernel, measured
 * in the same run.
 *
 * xdpvm: every packet is copied into the frame and run (xdpvm_xdp_run_packet), the capture
 * looped until at least XDPVM_BENCH_RUNS runs (default 1e6) and 0.3 s. Kernel: the same
 * packets through BPF_PROG_TEST_RUN, each with a repeat count so the capture totals at least
 * XDPVM_BENCH_KERNEL_RUNS runs (default 1e6); its duration is the kernel's own average per
 * run. The kernel repeats a run on the buffer the previous run left (it does not restore the
 * packet), while xdpvm starts each run from the original bytes. Frames under 14 bytes, which
 * BPF_PROG_TEST_RUN refuses, are left out of both. Maps are configured identically
 * (tests/lib/example_config.c). */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../tests/lib/example_config.h"
#include "io/io.h"
#include "kernel/kernel.h"
#include "maps/maps.h"
#include "xdp/xdp.h"
#include "xdpvm/object.h"

struct packet {
    uint8_t *data;
    uint32_t len;
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t env_u64(const char *name, uint64_t fallback)
{
    const char *v = getenv(name);
    return v && *v ? strtoull(v, NULL, 0) : fallback;
}

static size_t load_packets(const char *path, struct packet **out)
{
    char err[512];
    struct xdpvm_pcap_reader *r = xdpvm_pcap_open(path, err, sizeof(err));
    if (!r) {
        fprintf(stderr, "bench_xdp: %s\n", err);
        return 0;
    }
    size_t n = 0, cap = 256;
    struct packet *pkts = malloc(cap * sizeof(*pkts));
    struct xdpvm_packet p;
    while (pkts && xdpvm_pcap_next(r, &p, err, sizeof(err)) == 1) {
        if (p.caplen < 14 || p.caplen > XDPVM_XDP_MAX_PACKET)
            continue;
        if (n == cap) {
            struct packet *bigger = realloc(pkts, (cap *= 2) * sizeof(*pkts));
            if (!bigger)
                break;
            pkts = bigger;
        }
        pkts[n].data = malloc(p.caplen);
        if (!pkts[n].data)
            break;
        memcpy(pkts[n].data, p.data, p.caplen);
        pkts[n].len = p.caplen;
        n++;
    }
    xdpvm_pcap_close(r);
    *out = pkts;
    return n;
}

static bool put_xdpvm(void *ctx, const char *map, const void *key, const void *value)
{
    struct xdpvm_object_map *om = xdpvm_object__find_map_by_name(ctx, map);
    struct xdpvm_map *m = om ? xdpvm_object_map__map(om) : NULL;
    return m && xdpvm_map_user_update(m, key, value, XDPVM_ANY) == 0;
}

static bool put_kernel(void *ctx, const char *map, const void *key, const void *value)
{
    return xdpvm_kernel_map_update(ctx, map, key, value, 0) == 0;
}

static uint32_t other_ifindex(void)
{
    uint32_t found = 0;
    struct if_nameindex *names = if_nameindex();
    for (struct if_nameindex *n = names; n && n->if_index; n++)
        if (n->if_index != 1 && !found)
            found = n->if_index;
    if (names)
        if_freenameindex(names);
    return found;
}

/* ns per packet in xdpvm, or a negative value on failure. */
static double bench_xdpvm(const char *path, const char *name, const struct packet *pkts, size_t n,
                          const char **mode, uint32_t redirect_ifindex)
{
    XDPVM_OPEN_OPTS(opts, .ncpus = 1, .quiet = true);
    struct xdpvm_object *obj = xdpvm_object__open(path, &opts);
    if (!obj || xdpvm_object__load(obj) < 0) {
        fprintf(stderr, "bench_xdp: %s: %s\n", name, xdpvm_last_error());
        xdpvm_object__close(obj);
        return -1;
    }
    struct xdpvm_program *p;
    xdpvm_object__for_each_program(p, obj)
        if (xdpvm_program__type(p) == XDPVM_PROG_XDP)
            break;
    struct xdpvm_prog *prog = p ? xdpvm_program__prog(p) : NULL;
    char err[256];
    struct xdpvm_xdp_opts xo = {.ingress_ifindex = 1};
    struct xdpvm_xdp_runner *runner = prog ? xdpvm_xdp_runner_new(prog, &xo, err, sizeof(err)) : NULL;
    double ns = -1;
    if (!runner || !example_configure(name, put_xdpvm, obj, redirect_ifindex)) {
        fprintf(stderr, "bench_xdp: %s: cannot set up the xdpvm run\n", name);
    } else {
        *mode = prog->jit_code ? "jit" : prog->verified ? "interp" : "interp-checked";
        uint64_t min_runs = env_u64("XDPVM_BENCH_RUNS", 1000000);
        struct xdpvm_xdp_result r;
        for (size_t i = 0; i < n; i++) /* warm-up */
            xdpvm_xdp_run_packet(runner, pkts[i].data, pkts[i].len, &r);
        uint64_t runs = 0;
        double start = now(), elapsed = 0;
        while (runs < min_runs || elapsed < 0.3) {
            for (size_t i = 0; i < n; i++)
                xdpvm_xdp_run_packet(runner, pkts[i].data, pkts[i].len, &r);
            runs += n;
            elapsed = now() - start;
        }
        ns = elapsed * 1e9 / (double)runs;
        if (xdpvm_xdp_runner_stats(runner)->errors)
            fprintf(stderr, "bench_xdp: %s: %llu run errors in xdpvm\n", name,
                    (unsigned long long)xdpvm_xdp_runner_stats(runner)->errors);
    }
    xdpvm_xdp_runner_free(runner);
    xdpvm_object__close(obj);
    return ns;
}

/* Kernel's average ns per run over the capture, or a negative value on failure. */
static double bench_kernel(const char *path, const char *name, const struct packet *pkts, size_t n,
                           uint32_t redirect_ifindex, uint64_t *total_runs)
{
    struct xdpvm_kernel_object *k = xdpvm_kernel_open(path);
    if (!k || xdpvm_kernel_load(k) < 0 || !example_configure(name, put_kernel, k, redirect_ifindex)) {
        fprintf(stderr, "bench_xdp: %s: kernel: %s\n", name, xdpvm_kernel_error());
        xdpvm_kernel_close(k);
        return -1;
    }
    char prog_name[64];
    snprintf(prog_name, sizeof(prog_name), "xdp_%s", name);
    uint64_t want = env_u64("XDPVM_BENCH_KERNEL_RUNS", 1000000);
    uint32_t repeat = (uint32_t)((want + n - 1) / n);
    static uint8_t out[XDPVM_XDP_FRAME_SIZE];
    double total_ns = 0;
    *total_runs = 0;
    for (size_t i = 0; i < n; i++) {
        struct xdpvm_kernel_test_run run = {.data_in = pkts[i].data, .data_size_in = pkts[i].len,
                                            .data_out = out, .data_size_out = sizeof(out),
                                            .repeat = repeat};
        if (xdpvm_kernel_test_run(k, prog_name, &run) < 0) {
            fprintf(stderr, "bench_xdp: %s: kernel test run: %s\n", name, xdpvm_kernel_error());
            xdpvm_kernel_close(k);
            return -1;
        }
        total_ns += (double)run.duration * repeat;
        *total_runs += repeat;
    }
    xdpvm_kernel_close(k);
    return total_ns / (double)*total_runs;
}

int main(void)
{
    const char *root = getenv("XDPVM_ROOT") ? getenv("XDPVM_ROOT") : ".";
    const char *bpf_dir = getenv("XDPVM_BPF_DIR") ? getenv("XDPVM_BPF_DIR") : "build/bpf";
    char pcap[1024];
    snprintf(pcap, sizeof(pcap), "%s/build/data/mixed.pcap", root);
    struct packet *pkts = NULL;
    size_t n = load_packets(pcap, &pkts);
    if (!n)
        return 1;
    char why[256];
    bool kernel = xdpvm_kernel_available(why, sizeof(why));
    uint32_t redirect_ifindex = kernel ? other_ifindex() : 0;
    printf("XDP examples over %s (%zu frames of 14 bytes or more), same map configuration in both\n",
           pcap, n);
    if (!kernel)
        printf("kernel: not measured: %s\n", why);
    printf("%-9s %-15s %12s %10s %14s %10s %14s\n", "example", "xdpvm mode", "xdpvm pps",
           "xdpvm ns", "kernel ns/run", "kernel pps", "xdpvm/kernel");
    int status = 0;
    for (size_t e = 0; e < 6; e++) {
        const char *name = example_names[e];
        char path[1024];
        snprintf(path, sizeof(path), "%s/examples/%s.o", bpf_dir, name);
        const char *mode = "?";
        double ours = bench_xdpvm(path, name, pkts, n, &mode, redirect_ifindex);
        uint64_t kruns = 0;
        double theirs = kernel ? bench_kernel(path, name, pkts, n, redirect_ifindex, &kruns) : -1;
        if (ours < 0)
            status = 1;
        printf("%-9s %-15s %12.0f %10.1f", name, mode, ours > 0 ? 1e9 / ours : 0, ours);
        if (theirs > 0)
            printf(" %14.1f %10.0f %13.1fx\n", theirs, 1e9 / theirs, ours / theirs);
        else
            printf(" %14s %10s %14s\n", "-", "-", "-");
        fflush(stdout);
    }
    printf("xdpvm ns: wall time per packet including the copy into the frame; kernel ns/run: "
           "BPF_PROG_TEST_RUN's own average over >= %llu runs per example.\n",
           (unsigned long long)env_u64("XDPVM_BENCH_KERNEL_RUNS", 1000000));
    for (size_t i = 0; i < n; i++)
        free(pkts[i].data);
    free(pkts);
    return status;
}
