/* Random differential runs of helpers against the kernel: tests/bpf/helper_fuzz.bpf.c takes its
 * inputs from a params map; each round writes the same random parameters (and packet) to
 * xdpvm and to the kernel, runs the program on both (interpreter; BPF_PROG_TEST_RUN) and
 * compares every helper result, the return code and the packet with its metadata.
 * Covers xdp_adjust_head/meta/tail offsets, csum_diff sizes/data/seeds, trace_printk
 * formats, and redirect/redirect_map keys and flags. Needs root and the bpf syscall: SKIP otherwise. */
#include "kernel/kernel.h"
#include "lib/testlib.h"
#include "maps/maps.h"
#include "xdp/xdp.h"
#include "xdpvm/object.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct params {
    int32_t offsets[6];
    uint32_t from_size, to_size, seed;
    uint8_t from[64], to[64];
    uint64_t args[3];
    char fmt[64];
    uint32_t fmt_size;
};

struct side {
    uint32_t ret;
    uint8_t packet[XDPVM_XDP_MAX_PACKET + 256];
    uint32_t len;
    int64_t results[16];
};

struct fuzz {
    struct xdpvm_object *obj;
    struct xdpvm_kernel_object *kobj;
    struct xdpvm_map *params, *results, *ports, *ports_hash;
    FILE *trace;
};

static const char *object_path(void)
{
    static char path[512];
    snprintf(path, sizeof(path), "%s/tests/bpf/helper_fuzz.o", test_bpf_dir());
    return path;
}

static bool run_both(const char *test, struct fuzz *f, const char *prog_name,
                     const struct params *p, const uint8_t *pkt, uint32_t len, struct side *mine,
                     struct side *theirs)
{
    uint32_t zero = 0;
    int64_t cleared[16];
    for (int i = 0; i < 16; i++)
        cleared[i] = INT64_MIN;
    for (uint32_t i = 0; i < 16; i++) {
        if (xdpvm_map_user_update(f->results, &i, &cleared[i], 0) ||
            xdpvm_kernel_map_update(f->kobj, "results", &i, &cleared[i], 0)) {
            test_fail(test, "cannot reset results: %s", xdpvm_kernel_error());
            return false;
        }
    }
    if (xdpvm_map_user_update(f->params, &zero, p, 0) ||
        xdpvm_kernel_map_update(f->kobj, "params", &zero, p, 0)) {
        test_fail(test, "cannot set params: %s", xdpvm_kernel_error());
        return false;
    }
    struct xdpvm_program *program = xdpvm_object__find_program_by_name(f->obj, prog_name);
    char err[256];
    struct xdpvm_xdp_opts opts = {.ingress_ifindex = 1, .trace = f->trace};
    struct xdpvm_xdp_runner *runner =
        program ? xdpvm_xdp_runner_new(xdpvm_program__prog(program), &opts, err, sizeof(err)) : NULL;
    if (!runner) {
        test_fail(test, "%s: no runner: %s", prog_name, program ? err : "no program");
        return false;
    }
    struct xdpvm_xdp_result result;
    xdpvm_xdp_run_packet(runner, pkt, len, &result);
    mine->ret = result.ret;
    mine->len = result.meta_len + result.len;
    memcpy(mine->packet, result.data - result.meta_len, mine->len);
    xdpvm_xdp_runner_free(runner);
    bool ok = result.error == 0;
    if (!ok)
        test_fail(test, "%s: run error: %s", prog_name, result.message);
    struct xdpvm_kernel_test_run run = {.data_in = pkt, .data_size_in = len, .data_out = theirs->packet,
                                        .data_size_out = sizeof(theirs->packet)};
    if (ok && xdpvm_kernel_test_run(f->kobj, prog_name, &run)) {
        test_fail(test, "%s: kernel run: %s", prog_name, xdpvm_kernel_error());
        ok = false;
    }
    theirs->ret = run.retval;
    theirs->len = run.data_size_out;
    for (uint32_t i = 0; ok && i < 16; i++)
        if (xdpvm_map_user_lookup(f->results, &i, &mine->results[i]) ||
            xdpvm_kernel_map_lookup(f->kobj, "results", &i, &theirs->results[i]))
            ok = false;
    return ok;
}

static bool same_sides(const char *test, int round, const char *what, const struct side *mine,
                       const struct side *theirs)
{
    for (int i = 0; i < 16; i++) {
        if (mine->results[i] != theirs->results[i]) {
            test_fail(test, "round %d (%s): results[%d] xdpvm %lld, kernel %lld", round, what, i,
                      (long long)mine->results[i], (long long)theirs->results[i]);
            return false;
        }
    }
    if (mine->ret != theirs->ret || mine->len != theirs->len ||
        memcmp(mine->packet, theirs->packet, mine->len)) {
        test_fail(test, "round %d (%s): xdpvm returned %u with %u bytes, kernel %u with %u bytes%s",
                  round, what, mine->ret, mine->len, theirs->ret, theirs->len,
                  mine->len == theirs->len ? " (contents differ)" : "");
        return false;
    }
    return true;
}

static int32_t pick_offset(unsigned *seed, uint32_t len)
{
    static const int32_t special[] = {0, -1, 1, -4, 4, -32, 32, -36, 36, -40, -216, -217, -252,
                                      -256, 256, 3456, -3456, 4096, -4096, INT32_MIN, INT32_MAX};
    switch (rand_r(seed) % 4) {
    case 0: return special[(unsigned)rand_r(seed) % (sizeof(special) / sizeof(special[0]))];
    case 1: return (int32_t)len - 14 + (rand_r(seed) % 3 - 1);
    case 2: return 14 - (int32_t)len + (rand_r(seed) % 3 - 1);
    default: return rand_r(seed) % 601 - 300;
    }
}

static void adjust_rounds(struct fuzz *f, unsigned rounds)
{
    const char *test = "helper_fuzz_adjust_vs_kernel";
    static struct side mine, theirs;
    unsigned seed = 2024, accepted = 0, refused = 0;
    uint8_t pkt[400];
    for (unsigned r = 0; r < rounds; r++) {
        uint32_t len = 14 + (uint32_t)rand_r(&seed) % 300;
        for (uint32_t i = 0; i < len; i++)
            pkt[i] = (uint8_t)(i * 13 + r);
        struct params p = {0};
        for (int i = 0; i < 6; i++)
            p.offsets[i] = pick_offset(&seed, len);
        p.fmt_size = 1;
        if (!run_both(test, f, "adjust_fuzz", &p, pkt, len, &mine, &theirs) ||
            !same_sides(test, (int)r, "adjust", &mine, &theirs))
            return;
        for (int i = 0; i < 6; i++)
            mine.results[i] == 0 ? accepted++ : refused++;
    }
    /* the offsets must exercise both sides of the limits, or the rounds prove little */
    test_check(accepted > rounds && refused > rounds, test, "%u adjustments accepted, %u refused",
               accepted, refused);
}

static void csum_rounds(struct fuzz *f, unsigned rounds)
{
    const char *test = "helper_fuzz_csum_diff_vs_kernel";
    static struct side mine, theirs;
    unsigned seed = 77, distinct = 0;
    int64_t previous = -1;
    uint8_t pkt[64] = {0};
    for (unsigned r = 0; r < rounds; r++) {
        struct params p = {0};
        p.from_size = (uint32_t)rand_r(&seed) % 64;
        p.to_size = (uint32_t)rand_r(&seed) % 64;
        if (r % 3 == 0)
            p.from_size &= ~3u, p.to_size &= ~3u;
        if (r % 5 == 0)
            p.from_size = 0;
        if (r % 7 == 0)
            p.to_size = 0;
        p.seed = r % 4 == 0 ? 0 : (uint32_t)rand_r(&seed) * 2654435761u;
        for (int i = 0; i < 64; i++) {
            p.from[i] = (uint8_t)rand_r(&seed);
            p.to[i] = r % 6 == 0 ? p.from[i] : (uint8_t)rand_r(&seed);
        }
        p.fmt_size = 1;
        if (!run_both(test, f, "csum_fuzz", &p, pkt, sizeof(pkt), &mine, &theirs) ||
            !same_sides(test, (int)r, "csum_diff", &mine, &theirs))
            return;
        distinct += mine.results[8] != previous;
        previous = mine.results[8];
    }
    test_check(distinct > rounds / 2, test, "only %u distinct results in %u rounds", distinct, rounds);
}

static void printk_rounds(struct fuzz *f)
{
    const char *test = "helper_fuzz_trace_printk_vs_kernel";
    static const char *const formats[] = {
        "%d\n", "%i %u", "%x|%X", "%ld %lu %lx", "%lld %llu %llx", "%5d|%-5d|%05d", "% d|%+d",
        "%c%c%c", "100%%", "%", "%q", "%.2d", "%hhd", "%zu", "%lllx", "%10x|%-08x", "tab\there",
        "bell\a", "%d %d %d %d", "%llx%llx%llx", "caf\xc3\xa9", "%L", "%lc", "%ls", "%0d",
        "%+5u", "%#x", "%5%", "%%%d", "no newline", "", "%-+ 0d", "%li|%lli|%lX", "%07llx",
        "%p", "%pK", "%px", "%pI4", "%s", "%ld%%%lu", "%d\n\n", "x\ry", "%u%",
    };
    static struct side mine, theirs;
    static char mismatches[2048];
    mismatches[0] = '\0';
    unsigned seed = 5;
    uint8_t pkt[64] = {0};
    int round = 0;
    for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
        /* %s and %pI4 read through the pointer: only NULL is safe to hand both sides */
        bool deref = strstr(formats[i], "%pI") || strstr(formats[i], "%s");
        for (int variant = 0; variant < 3; variant++, round++) {
            struct params p = {0};
            size_t n = strlen(formats[i]);
            memcpy(p.fmt, formats[i], n);
            p.fmt_size = variant == 0 ? (uint32_t)n + 1 : variant == 1 ? sizeof(p.fmt) : (uint32_t)n;
            if (p.fmt_size == 0)
                continue; /* an empty size never reaches the helper */
            for (int a = 0; a < 3; a++)
                p.args[a] = ((uint64_t)rand_r(&seed) << 33) ^ (uint64_t)rand_r(&seed);
            if (deref || variant == 2)
                p.args[0] = p.args[1] = p.args[2] = 0;
            if (!run_both(test, f, "printk_fuzz", &p, pkt, sizeof(pkt), &mine, &theirs))
                return;
            if (mine.results[9] != theirs.results[9]) {
                size_t used = strlen(mismatches);
                snprintf(mismatches + used, sizeof(mismatches) - used, " ['%s' size %u: xdpvm %lld, kernel %lld]",
                         formats[i], p.fmt_size, (long long)mine.results[9], (long long)theirs.results[9]);
            }
        }
    }
    if (mismatches[0])
        test_fail(test, "return values differ:%s", mismatches);
    else
        test_pass(test);
}

static void redirect_rounds(struct fuzz *f, unsigned rounds)
{
    const char *test = "helper_fuzz_redirect_vs_kernel";
    static struct side mine, theirs;
    static const uint64_t flag_bits[] = {0, 1, 2, 3, 4, 7, 8, 16, 24, 9, 18, 1u << 5, 1ull << 40};
    const size_t nflags = sizeof(flag_bits) / sizeof(flag_bits[0]);
    unsigned seed = 31;
    uint8_t pkt[64] = {0};
    /* devmap and devmap_hash: keys 0 and 2 lead to ifindex 1 (lo) on both sides */
    uint32_t ifindex = 1;
    for (uint32_t key = 0; key <= 2; key += 2) {
        if (xdpvm_map_user_update(f->ports, &key, &ifindex, 0) ||
            xdpvm_map_user_update(f->ports_hash, &key, &ifindex, 0) ||
            xdpvm_kernel_map_update(f->kobj, "ports", &key, &ifindex, 0) ||
            xdpvm_kernel_map_update(f->kobj, "ports_hash", &key, &ifindex, 0)) {
            test_fail(test, "cannot fill the devmaps: %s", xdpvm_kernel_error());
            return;
        }
    }
    for (unsigned r = 0; r < rounds; r++) {
        struct params p = {0};
        p.offsets[0] = rand_r(&seed) % 6;
        p.offsets[1] = rand_r(&seed) % 3;
        p.args[0] = flag_bits[(unsigned)rand_r(&seed) % nflags] | flag_bits[(unsigned)rand_r(&seed) % nflags];
        p.args[1] = r % 4 == 0 ? flag_bits[(unsigned)rand_r(&seed) % nflags] : 0;
        p.fmt_size = 1;
        if (!run_both(test, f, "redirect_fuzz", &p, pkt, sizeof(pkt), &mine, &theirs) ||
            !same_sides(test, (int)r, "redirect", &mine, &theirs))
            return;
    }
    test_pass(test);
}

int main(void)
{
    const char *why;
    if (!test_kernel_bpf_available(&why)) {
        test_skip("helper_fuzz_vs_kernel", "%s", why);
        return test_exit_code();
    }
    struct fuzz f = {0};
    XDPVM_OPEN_OPTS(opts, .ncpus = 1, .quiet = true);
    f.obj = xdpvm_object__open(object_path(), &opts);
    if (!f.obj || xdpvm_object__load(f.obj)) {
        test_fail("helper_fuzz_vs_kernel", "xdpvm: %s", xdpvm_last_error());
        goto done;
    }
    f.kobj = xdpvm_kernel_open(object_path());
    if (!f.kobj || xdpvm_kernel_load(f.kobj)) {
        test_fail("helper_fuzz_vs_kernel", "kernel: %s", xdpvm_kernel_error());
        goto done;
    }
    f.params = xdpvm_object_map__map(xdpvm_object__find_map_by_name(f.obj, "params"));
    f.results = xdpvm_object_map__map(xdpvm_object__find_map_by_name(f.obj, "results"));
    f.ports = xdpvm_object_map__map(xdpvm_object__find_map_by_name(f.obj, "ports"));
    f.ports_hash = xdpvm_object_map__map(xdpvm_object__find_map_by_name(f.obj, "ports_hash"));
    f.trace = fopen("/dev/null", "w");
    if (!f.params || !f.results || !f.ports || !f.ports_hash || !f.trace) {
        test_fail("helper_fuzz_vs_kernel", "setup failed");
        goto done;
    }
    unsigned rounds = test_sanitized() ? 150 : 600;
    adjust_rounds(&f, rounds);
    csum_rounds(&f, rounds);
    printk_rounds(&f);
    redirect_rounds(&f, rounds / 2);
done:
    if (f.trace)
        fclose(f.trace);
    xdpvm_kernel_close(f.kobj);
    xdpvm_object__close(f.obj);
    return test_exit_code();
}
