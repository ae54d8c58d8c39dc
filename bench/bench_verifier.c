/* Verification time: for every XDP program of the examples, the test objects and bench/bpf,
 * xdpvm's verifier time (median of several runs), instructions processed and states, next to
 * the kernel verifier's own report for the same object in the same run ("verification time",
 * "processed", "total_states", "peak_states" from its statistics log). Kernel columns show
 * "-" when the kernel cannot load BPF here. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/kernel.h"
#include "../tests/lib/object_runner.h"
#include "../tests/lib/testlib.h"
#include "verifier/verifier.h"
#include "xdpvm/object.h"

#define RUNS 15

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static long log_number(const char *log, const char *key)
{
    const char *p = strstr(log, key);
    return p ? strtol(p + strlen(key), NULL, 10) : -1;
}

static bool kernel_ok;
static double sum_ours, sum_kernel;
static unsigned compared;

static void bench_object(const char *path, const char *file, struct xdpvm_object *obj, void *ctx)
{
    (void)ctx;
    static char log[1 << 20];
    for (struct xdpvm_program *p = xdpvm_object__next_program(obj, NULL); p; p = xdpvm_object__next_program(obj, p)) {
        struct xdpvm_prog *prog = xdpvm_program__prog(p);
        if (!prog || prog->type != XDPVM_PROG_XDP)
            continue;
        double times[RUNS];
        struct xdpvm_verify_result res = {0};
        for (int r = 0; r < RUNS; r++) {
            xdpvm_verify(prog, NULL, &res);
            times[r] = res.seconds * 1e6;
        }
        qsort(times, RUNS, sizeof(times[0]), compare_double);
        char name[160];
        snprintf(name, sizeof(name), "%.*s:%s", (int)(strlen(file) - 2), file, xdpvm_program__name(p));
        printf("%-40s %6zu %-8s %10.1f %9llu %7llu %6llu", name, prog->count, res.accepted ? "accepted" : "rejected",
               times[RUNS / 2], (unsigned long long)res.insns_processed, (unsigned long long)res.states,
               (unsigned long long)res.peak_states);
        long k_usec = -1, k_insns = -1, k_states = -1, k_peak = -1;
        const char *k_verdict = "-";
        if (kernel_ok) {
            log[0] = 0;
            int rc = xdpvm_kernel_verify(path, xdpvm_program__name(p), 1 | 4, log, sizeof(log));
            if (rc == -EBADF && strstr(log, "processed "))
                rc = 0; /* verified; libbpf then failed filling a prog_array (see test_verifier_kernel) */
            if (log[0]) {
                k_verdict = rc ? "rejected" : "accepted";
                k_usec = log_number(log, "verification time ");
                k_insns = log_number(log, "processed ");
                k_states = log_number(log, "total_states ");
                k_peak = log_number(log, "peak_states ");
            }
        }
        if (k_usec >= 0) {
            printf("   %-8s %10ld %9ld %7ld %6ld %7.2f\n", k_verdict, k_usec, k_insns, k_states, k_peak,
                   times[RUNS / 2] > 0 ? (double)k_usec / times[RUNS / 2] : 0.0);
            sum_ours += times[RUNS / 2];
            sum_kernel += (double)k_usec;
            compared++;
        } else {
            printf("   %-8s %10s %9s %7s %6s %7s\n", k_verdict, "-", "-", "-", "-", "-");
        }
    }
}

int main(void)
{
    char why[256];
    kernel_ok = xdpvm_kernel_available(why, sizeof(why));
    if (!kernel_ok)
        printf("(kernel columns empty: %s)\n", why);
    printf("%-40s %6s %-8s %10s %9s %7s %6s   %-8s %10s %9s %7s %6s %7s\n", "object:program", "insns", "xdpvm",
           "time_us", "processed", "states", "peak", "kernel", "time_us", "processed", "states", "peak",
           "k/xdpvm");
    const char *subdirs[] = {"examples", "tests/bpf", "bench/bpf"};
    for (size_t i = 0; i < sizeof(subdirs) / sizeof(subdirs[0]); i++) {
        char dir[512];
        snprintf(dir, sizeof(dir), "%s/%s", test_bpf_dir(), subdirs[i]);
        object_for_each_loaded(dir, bench_object, NULL);
    }
    if (compared)
        printf("total over %u programs: xdpvm %.1f us, kernel %.1f us (kernel/xdpvm %.2f)\n", compared, sum_ours,
               sum_kernel, sum_ours > 0 ? sum_kernel / sum_ours : 0.0);
    return 0;
}
