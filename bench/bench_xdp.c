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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tests/lib/example_config.h"
#include "../tests/lib/object_runner.h"
#include "io/io.h"
#include "jit/jit.h"
#include "kernel/kernel.h"
#include "maps/maps.h"
#include "verifier/verifier.h"
#include "xdp/xdp.h"
#include "xdpvm/object.h"

static uint64_t env_u64(const char *name, uint64_t fallback)
{
    const char *v = getenv(name);
    return v && *v ? strtoull(v, NULL, 0) : fallback;
}

/* Wall ns per packet over the capture, looped until XDPVM_BENCH_RUNS runs and 0.3 s. */
static double measure(struct xdpvm_xdp_runner *runner, const struct xdpvm_xdp_packet_ref *pkts, size_t n)
{
    struct xdpvm_xdp_timing timing;
    xdpvm_xdp_time_packets(runner, pkts, n, env_u64("XDPVM_BENCH_RUNS", 1000000), 0.3, &timing);
    return timing.ns_per_packet;
}

struct xdpvm_times {
    double interp_ns;  /* interpreter; checked unless the program was verified */
    double jit_ns;     /* JIT; < 0 when not measured */
    const char *interp_mode;
    char jit_note[320];
};

/* Measure the example in xdpvm: interpreter, then JIT when the program is known safe
 * (kernel_verified: the kernel's verifier accepted this very object). False on failure. */
static bool bench_xdpvm(const char *path, const char *name, const struct xdpvm_xdp_packet_ref *pkts, size_t n,
                        uint32_t redirect_ifindex, bool kernel_verified, struct xdpvm_times *t)
{
    t->interp_ns = t->jit_ns = -1;
    t->interp_mode = "?";
    t->jit_note[0] = 0;
    struct xdpvm_program *p;
    struct xdpvm_object *obj = object_open_xdp(path, &p);
    if (!obj) {
        fprintf(stderr, "bench_xdp: %s: %s\n", name, xdpvm_last_error());
        return false;
    }
    struct xdpvm_prog *prog = p ? xdpvm_program__prog(p) : NULL;
    char err[256];
    struct xdpvm_xdp_opts xo = {.ingress_ifindex = 1};
    struct xdpvm_xdp_runner *runner = prog ? xdpvm_xdp_runner_new(prog, &xo, err, sizeof(err)) : NULL;
    bool ok = runner && example_configure(name, example_put_object, obj, redirect_ifindex);
    if (!ok) {
        fprintf(stderr, "bench_xdp: %s: cannot set up the xdpvm run\n", name);
    } else {
        struct xdpvm_verify_opts vo = {0};
        struct xdpvm_verify_result vr;
        if (xdpvm_verify(prog, &vo, &vr) < 0)
            fprintf(stderr, "bench_xdp: %s: xdpvm's verifier rejects it at instruction %zu: %s\n",
                    name, vr.error_insn, vr.reason);
        t->interp_mode = prog->verified ? "interp" : "interp-checked";
        t->interp_ns = measure(runner, pkts, n);
        if (xdpvm_xdp_runner_stats(runner)->errors)
            fprintf(stderr, "bench_xdp: %s: %llu run errors in xdpvm\n", name,
                    (unsigned long long)xdpvm_xdp_runner_stats(runner)->errors);
        if (!xdpvm_jit_available()) {
            snprintf(t->jit_note, sizeof(t->jit_note), "no JIT on this host");
        } else if (!prog->verified && !kernel_verified) {
            snprintf(t->jit_note, sizeof(t->jit_note), "not verified");
        } else {
            struct xdpvm_jit_opts jo = {0};
            if (xdpvm_jit_compile(prog, &jo, err, sizeof(err)) < 0) {
                snprintf(t->jit_note, sizeof(t->jit_note), "JIT failed: %s", err);
            } else {
                t->jit_ns = measure(runner, pkts, n);
                xdpvm_jit_free(prog);
            }
        }
    }
    xdpvm_xdp_runner_free(runner);
    xdpvm_object__close(obj);
    return ok;
}

/* Kernel's average ns per run over the capture, or a negative value on failure. */
static double bench_kernel(const char *path, const char *name, const struct xdpvm_xdp_packet_ref *pkts, size_t n,
                           uint32_t redirect_ifindex, uint64_t *total_runs)
{
    struct xdpvm_kernel_object *k = xdpvm_kernel_open(path);
    if (!k || xdpvm_kernel_load(k) < 0 || !example_configure(name, example_put_kernel, k, redirect_ifindex)) {
        fprintf(stderr, "bench_xdp: %s: kernel: %s\n", name, xdpvm_kernel_error());
        xdpvm_kernel_close(k);
        return -1;
    }
    char prog_name[64];
    snprintf(prog_name, sizeof(prog_name), "xdp_%s", name);
    uint64_t want = env_u64("XDPVM_BENCH_KERNEL_RUNS", 1000000);
    uint32_t repeat = (uint32_t)((want + n - 1) / n);
    struct xdpvm_kernel_timing timing;
    if (xdpvm_kernel_time_packets(k, prog_name, pkts, n, repeat, &timing) < 0) {
        fprintf(stderr, "bench_xdp: %s: kernel test run: %s\n", name, xdpvm_kernel_error());
        xdpvm_kernel_close(k);
        return -1;
    }
    xdpvm_kernel_close(k);
    *total_runs = timing.runs;
    return timing.ns_per_run;
}

int main(void)
{
    const char *root = getenv("XDPVM_ROOT") ? getenv("XDPVM_ROOT") : ".";
    const char *bpf_dir = getenv("XDPVM_BPF_DIR") ? getenv("XDPVM_BPF_DIR") : "build/bpf";
    char pcap[1024];
    snprintf(pcap, sizeof(pcap), "%s/build/data/mixed.pcap", root);
    struct xdpvm_pcap_contents capture;
    char err[512];
    if (xdpvm_pcap_read_all(pcap, 14, XDPVM_XDP_MAX_PACKET, &capture, err, sizeof(err)) < 0) {
        fprintf(stderr, "bench_xdp: %s\n", err);
        return 1;
    }
    const struct xdpvm_xdp_packet_ref *pkts = capture.packets;
    size_t n = capture.count;
    if (!n) {
        fprintf(stderr, "bench_xdp: %s: no frame of 14 bytes or more\n", pcap);
        return 1;
    }
    char why[256];
    bool kernel = xdpvm_kernel_available(why, sizeof(why));
    uint32_t redirect_ifindex = kernel ? example_redirect_ifindex() : 0;
    printf("XDP examples over %s (%zu frames of 14 bytes or more), same map configuration in both\n",
           pcap, n);
    if (!kernel)
        printf("kernel: not measured: %s\n", why);
    printf("%-9s %-15s %10s %9s %10s %9s %12s %10s %9s %9s\n", "example", "interp mode",
           "interp pps", "ns/pkt", "jit pps", "ns/pkt", "kernel ns/run", "kernel pps",
           "interp/k", "jit/k");
    int status = 0;
    for (size_t e = 0; e < 6; e++) {
        const char *name = example_names[e];
        char path[1024];
        snprintf(path, sizeof(path), "%s/examples/%s.o", bpf_dir, name);
        uint64_t kruns = 0;
        double theirs = kernel ? bench_kernel(path, name, pkts, n, redirect_ifindex, &kruns) : -1;
        struct xdpvm_times t;
        if (!bench_xdpvm(path, name, pkts, n, redirect_ifindex, theirs > 0, &t))
            status = 1;
        printf("%-9s %-15s %10.0f %9.1f", name, t.interp_mode,
               t.interp_ns > 0 ? 1e9 / t.interp_ns : 0, t.interp_ns);
        if (t.jit_ns > 0)
            printf(" %10.0f %9.1f", 1e9 / t.jit_ns, t.jit_ns);
        else
            printf(" %10s %9s", "-", "-");
        if (theirs > 0) {
            printf(" %12.1f %10.0f %8.1fx", theirs, 1e9 / theirs, t.interp_ns / theirs);
            if (t.jit_ns > 0)
                printf(" %8.1fx", t.jit_ns / theirs);
            else
                printf(" %9s", "-");
        } else {
            printf(" %12s %10s %9s %9s", "-", "-", "-", "-");
        }
        printf("%s%s\n", t.jit_note[0] ? "  jit: " : "", t.jit_note);
        fflush(stdout);
    }
    printf("ns/pkt: xdpvm wall time per packet, including the copy into the frame; kernel ns/run:\n"
           "BPF_PROG_TEST_RUN's own average over >= %llu runs per example (each packet repeated; the\n"
           "kernel repeats on the buffer the previous run left). x/k: xdpvm time over the kernel's.\n"
           "interp: unchecked after xdpvm's verifier accepted the program, checked otherwise; JIT\n"
           "runs programs xdpvm's verifier or the kernel's (this same object) accepted.\n",
           (unsigned long long)env_u64("XDPVM_BENCH_KERNEL_RUNS", 1000000));
    xdpvm_pcap_contents_free(&capture);
    return status;
}
