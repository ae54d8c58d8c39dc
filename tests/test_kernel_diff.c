/* Differential test against the kernel: every example, every packet of the bundled capture,
 * run by the kernel (BPF_PROG_TEST_RUN through libbpf) and by xdpvm with the same map
 * contents. The action and the output bytes must be identical for each packet, and so must
 * every map after the whole capture (per-CPU maps: the sum over CPUs, since the kernel runs
 * the test on whichever CPU it is on and xdpvm on worker 0). xdpvm runs each example twice:
 * in the checked interpreter as loaded, then verified and JIT-compiled. Skipped with the reason when
 * the kernel cannot load BPF programs here. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/io.h"
#include "kernel/kernel.h"
#include "lib/example_config.h"
#include "lib/object_runner.h"
#include "lib/packets.h"
#include "lib/testlib.h"
#include "jit/jit.h"
#include "maps/maps.h"
#include "verifier/verifier.h"
#include "xdp/xdp.h"
#include "xdpvm/object.h"

#define ETH_HLEN 14

struct pair {
    const char *name;
    struct xdpvm_object *obj;
    struct xdpvm_prog *prog;
    const char *prog_name;
    struct xdpvm_xdp_runner *runner;
    struct xdpvm_kernel_object *kobj;
};

static void pair_close(struct pair *p)
{
    xdpvm_xdp_runner_free(p->runner);
    if (p->prog && p->prog->jit_code)
        xdpvm_jit_free(p->prog);
    xdpvm_object__close(p->obj);
    xdpvm_kernel_close(p->kobj);
}

static bool pair_open(struct pair *p, const char *name, bool jit, const char *test)
{
    memset(p, 0, sizeof(*p));
    p->name = name;
    char path[1024], err[256];
    snprintf(path, sizeof(path), "%s/examples/%s.o", test_bpf_dir(), name);
    struct xdpvm_program *prog;
    p->obj = object_open_xdp(path, &prog);
    if (!p->obj) {
        test_fail(test, "xdpvm: %s", xdpvm_last_error());
        pair_close(p);
        return false;
    }
    if (!prog) {
        test_fail(test, "%s: no XDP program", path);
        pair_close(p);
        return false;
    }
    p->prog = xdpvm_program__prog(prog);
    if (jit) {
        struct xdpvm_verify_opts vo = {0};
        struct xdpvm_verify_result vr;
        struct xdpvm_jit_opts jo = {0};
        if (xdpvm_verify(p->prog, &vo, &vr) < 0) {
            test_fail(test, "xdpvm's verifier rejects it at instruction %zu: %s", vr.error_insn,
                      vr.reason);
            pair_close(p);
            return false;
        }
        if (xdpvm_jit_compile(p->prog, &jo, err, sizeof(err)) < 0) {
            test_fail(test, "JIT: %s", err);
            pair_close(p);
            return false;
        }
    }
    p->prog_name = xdpvm_program__name(prog);
    /* The kernel's test run presents the packet as arriving on lo (ifindex 1), queue 0. */
    struct xdpvm_xdp_opts xo = {.ingress_ifindex = 1};
    p->runner = xdpvm_xdp_runner_new(p->prog, &xo, err, sizeof(err));
    if (!p->runner) {
        test_fail(test, "%s", err);
        pair_close(p);
        return false;
    }
    p->kobj = xdpvm_kernel_open(path);
    if (!p->kobj || xdpvm_kernel_load(p->kobj) < 0) {
        test_fail(test, "kernel: %s", xdpvm_kernel_error());
        pair_close(p);
        return false;
    }
    return true;
}

/* The same entry in both. */
static bool pair_put(struct pair *p, const char *map, const void *key, const void *value,
                     const char *test)
{
    int rc = example_map_update(p->obj, map, key, value);
    if (rc) {
        test_fail(test, "xdpvm map '%s' update: %s", map, strerror(-rc));
        return false;
    }
    rc = xdpvm_kernel_map_update(p->kobj, map, key, value, 0);
    if (rc) {
        test_fail(test, "kernel map '%s' update: %s", map, xdpvm_kernel_error());
        return false;
    }
    return true;
}

struct put_ctx {
    struct pair *pair;
    const char *test;
};

static bool put_both(void *ctx, const char *map, const void *key, const void *value)
{
    struct put_ctx *pc = ctx;
    return pair_put(pc->pair, map, key, value, pc->test);
}

static void hexdump_around(char *out, size_t cap, const uint8_t *p, size_t len, long at)
{
    size_t from = at > 6 ? (size_t)at - 6 : 0, n = 0;
    out[0] = 0;
    for (size_t i = from; i < len && i < from + 16 && n + 4 < cap; i++)
        n += (size_t)snprintf(out + n, cap - n, "%s%02x", (long)i == at ? "[" : " ", p[i]);
}

/* Every map: same keys, same values (per-CPU: summed per 64-bit word over CPUs). */
static bool compare_maps(struct pair *p, const char *test)
{
    struct xdpvm_object_map *om;
    xdpvm_object__for_each_map(om, p->obj) {
        const char *name = xdpvm_object_map__name(om);
        struct xdpvm_map *m = xdpvm_object_map__map(om);
        const struct xdpvm_map_spec *spec = xdpvm_map_get_spec(m);
        struct xdpvm_kernel_map_info kinfo;
        if (xdpvm_kernel_map_info(p->kobj, name, &kinfo) < 0) {
            test_fail(test, "kernel map '%s': %s", name, xdpvm_kernel_error());
            return false;
        }
        bool percpu = xdpvm_map_is_percpu(spec->type);
        size_t ours_size = xdpvm_map_user_value_size(m);
        uint8_t *key = calloc(1, spec->key_size + 1), *next = calloc(1, spec->key_size + 1);
        uint8_t *ours = calloc(1, ours_size + 8), *theirs = calloc(1, kinfo.user_value_size + 8);
        bool ok = key && next && ours && theirs;
        unsigned ours_keys = 0, their_keys = 0;
        const void *prev = NULL;
        while (ok && xdpvm_map_get_next_key(m, prev, next) == 0) {
            memcpy(key, next, spec->key_size);
            prev = key;
            ours_keys++;
            /* Array-like maps (devmap) list every index, present or not, in both. */
            bool ours_present = xdpvm_map_user_lookup(m, key, ours) == 0;
            bool theirs_present = xdpvm_kernel_map_lookup(p->kobj, name, key, theirs) == 0;
            if (ours_present != theirs_present) {
                test_fail(test, "map '%s': a key is %s in xdpvm but %s in the kernel", name,
                          ours_present ? "present" : "absent", theirs_present ? "present" : "absent");
                ok = false;
                break;
            }
            if (!ours_present)
                continue;
            if (percpu) {
                size_t stride = (spec->value_size + 7) / 8 * 8;
                unsigned kcpus = (unsigned)(kinfo.user_value_size / stride);
                for (size_t w = 0; w + 8 <= spec->value_size && ok; w += 8) {
                    uint64_t a = 0, b = 0, v;
                    for (unsigned c = 0; c < xdpvm_map_ncpus(m); c++) {
                        memcpy(&v, ours + c * stride + w, 8);
                        a += v;
                    }
                    for (unsigned c = 0; c < kcpus; c++) {
                        memcpy(&v, theirs + c * stride + w, 8);
                        b += v;
                    }
                    if (a != b) {
                        test_fail(test, "map '%s': per-CPU sum of word %zu differs: xdpvm %llu "
                                  "kernel %llu", name, w / 8, (unsigned long long)a,
                                  (unsigned long long)b);
                        ok = false;
                    }
                }
            } else if (memcmp(ours, theirs, spec->value_size) != 0) {
                test_fail(test, "map '%s': value differs between xdpvm and the kernel", name);
                ok = false;
            }
        }
        prev = NULL;
        while (ok && xdpvm_kernel_map_get_next_key(p->kobj, name, prev, next) == 0) {
            memcpy(key, next, spec->key_size);
            prev = key;
            their_keys++;
        }
        if (ok && ours_keys != their_keys) {
            test_fail(test, "map '%s': %u keys in xdpvm, %u in the kernel", name, ours_keys, their_keys);
            ok = false;
        }
        free(key);
        free(next);
        free(ours);
        free(theirs);
        if (!ok)
            return false;
    }
    return true;
}

static void diff_example(const char *name, const char *pcap_path, bool jit)
{
    char test[80], err[512];
    snprintf(test, sizeof(test), "kernel_diff_%s%s", name, jit ? "_jit" : "");
    struct pair p;
    if (!pair_open(&p, name, jit, test))
        return;
    struct put_ctx pc = {&p, test};
    if (!example_configure(name, put_both, &pc, example_redirect_ifindex())) {
        pair_close(&p);
        return;
    }
    struct xdpvm_pcap_reader *reader = xdpvm_pcap_open(pcap_path, err, sizeof(err));
    if (!reader) {
        test_fail(test, "%s", err);
        pair_close(&p);
        return;
    }
    struct xdpvm_packet pkt;
    int got;
    bool ok = true;
    unsigned compared = 0, runts = 0;
    uint64_t actions[5] = {0};
    static uint8_t kout[XDPVM_XDP_FRAME_SIZE];
    while (ok && (got = xdpvm_pcap_next(reader, &pkt, err, sizeof(err))) == 1) {
        if (pkt.caplen < ETH_HLEN) {
            runts++; /* BPF_PROG_TEST_RUN refuses frames shorter than an Ethernet header */
            continue;
        }
        struct xdpvm_kernel_test_run kr = {.data_in = pkt.data, .data_size_in = pkt.caplen,
                                           .data_out = kout, .data_size_out = sizeof(kout),
                                           .repeat = 1};
        if (xdpvm_kernel_test_run(p.kobj, p.prog_name, &kr) < 0) {
            test_fail(test, "packet %llu: kernel test run: %s", (unsigned long long)pkt.index + 1,
                      xdpvm_kernel_error());
            ok = false;
            break;
        }
        struct xdpvm_xdp_result r;
        xdpvm_xdp_run_packet(p.runner, pkt.data, pkt.caplen, &r);
        if (r.error && r.outcome == XDPVM_XDP_OUT_ABORTED) {
            test_fail(test, "packet %llu: xdpvm: %s", (unsigned long long)pkt.index + 1, r.message);
            ok = false;
            break;
        }
        /* The kernel's test run hands back the metadata too, in front of the packet. */
        long at = pkt_diff(r.data - r.meta_len, r.len + r.meta_len, kout, kr.data_size_out);
        if (r.ret != kr.retval || at >= 0) {
            char a[80] = "", b[80] = "";
            if (at >= 0) {
                hexdump_around(a, sizeof(a), r.data - r.meta_len, r.len + r.meta_len, at);
                hexdump_around(b, sizeof(b), kout, kr.data_size_out, at);
            }
            test_fail(test, "packet %llu (%u bytes): xdpvm action %u, %u bytes; kernel action %u, "
                      "%u bytes%s%s%s%s", (unsigned long long)pkt.index + 1, pkt.caplen, r.ret,
                      r.len, kr.retval, kr.data_size_out, at >= 0 ? "; first difference: xdpvm .." : "",
                      a, at >= 0 ? ".. kernel .." : "", b);
            ok = false;
            break;
        }
        if (r.ret < 5)
            actions[r.ret]++;
        compared++;
    }
    if (ok && got < 0) {
        test_fail(test, "%s", err);
        ok = false;
    }
    if (ok && compare_maps(&p, test)) {
        printf("# %s%s: %u packets identical (aborted %llu, drop %llu, pass %llu, tx %llu, "
               "redirect %llu), maps identical\n", name, jit ? " (JIT)" : "", compared, (unsigned long long)actions[0],
               (unsigned long long)actions[1], (unsigned long long)actions[2],
               (unsigned long long)actions[3], (unsigned long long)actions[4]);
        test_pass(test);
    }
    if (ok && runts && !jit) {
        char skip[80];
        snprintf(skip, sizeof(skip), "kernel_diff_%s_runt_frames", name);
        test_skip(skip, "%u frames shorter than 14 bytes: the kernel's BPF_PROG_TEST_RUN refuses "
                  "them (xdpvm runs them; test_examples checks their outcome)", runts);
    }
    xdpvm_pcap_close(reader);
    pair_close(&p);
}

int main(void)
{
    char why[256];
    if (!xdpvm_kernel_available(why, sizeof(why))) {
        for (size_t i = 0; i < 6; i++) {
            char test[80];
            snprintf(test, sizeof(test), "kernel_diff_%s", example_names[i]);
            test_skip(test, "%s", why);
        }
        return test_exit_code();
    }
    char pcap_path[1024];
    snprintf(pcap_path, sizeof(pcap_path), "%s/build/data/mixed.pcap", test_root_dir());
    for (size_t i = 0; i < 6; i++)
        diff_example(example_names[i], pcap_path, false);
    if (xdpvm_jit_available())
        for (size_t i = 0; i < 6; i++)
            diff_example(example_names[i], pcap_path, true);
    return test_exit_code();
}
