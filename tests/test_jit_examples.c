/* Every example program over the bundled capture, twice: in the checked interpreter and as
 * JIT code, each in its own loaded object with the same map contents (tests/lib/
 * example_config). For every packet the action, the outcome, the output bytes (metadata
 * included) and the redirect target must be identical, and so must every map afterwards. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/io.h"
#include "jit/jit.h"
#include "lib/example_config.h"
#include "lib/map_compare.h"
#include "lib/object_runner.h"
#include "lib/testlib.h"
#include "maps/maps.h"
#include "xdp/xdp.h"
#include "xdpvm/object.h"

struct side {
    struct xdpvm_object *obj;
    struct xdpvm_prog *prog;
    struct xdpvm_xdp_runner *runner;
};

struct pair {
    struct side interp, jit;
    const char *test;
};

static void side_close(struct side *s)
{
    xdpvm_xdp_runner_free(s->runner);
    xdpvm_object__close(s->obj);
}

static bool side_open(struct side *s, const char *name, bool jit, const char *test)
{
    memset(s, 0, sizeof(*s));
    char path[1024], err[256];
    snprintf(path, sizeof(path), "%s/examples/%s.o", test_bpf_dir(), name);
    struct xdpvm_program *program;
    s->obj = object_open_xdp(path, &program);
    if (!s->obj) {
        test_fail(test, "%s", xdpvm_last_error());
        return false;
    }
    s->prog = program ? xdpvm_program__prog(program) : NULL;
    if (!s->prog) {
        test_fail(test, "%s: no XDP program", path);
        return false;
    }
    if (jit && xdpvm_jit_compile(s->prog, NULL, err, sizeof(err))) {
        test_fail(test, "%s", err);
        return false;
    }
    s->runner = xdpvm_xdp_runner_new(s->prog, NULL, err, sizeof(err));
    if (!s->runner) {
        test_fail(test, "%s", err);
        return false;
    }
    return true;
}

static bool put_both(void *ctx, const char *map, const void *key, const void *value)
{
    struct pair *p = ctx;
    struct side *sides[2] = {&p->interp, &p->jit};
    for (int i = 0; i < 2; i++) {
        int rc = example_map_update(sides[i]->obj, map, key, value);
        if (rc) {
            test_fail(p->test, "map '%s' update: %s", map, strerror(-rc));
            return false;
        }
    }
    return true;
}

static bool same_map(const struct xdpvm_map *a, const struct xdpvm_map *b)
{
    return a == b || (a && b && !strcmp(xdpvm_map_get_spec(a)->name, xdpvm_map_get_spec(b)->name));
}

static void compare_example(const char *name, const char *pcap_path)
{
    char test[80], err[256];
    snprintf(test, sizeof(test), "jit_example_%s", name);
    struct pair p = {.test = test};
    if (!side_open(&p.interp, name, false, test) || !side_open(&p.jit, name, true, test) ||
        !example_configure(name, put_both, &p, 3)) {
        side_close(&p.interp);
        side_close(&p.jit);
        return;
    }
    struct xdpvm_pcap_reader *reader = xdpvm_pcap_open(pcap_path, err, sizeof(err));
    if (!reader) {
        test_fail(test, "%s", err);
        side_close(&p.interp);
        side_close(&p.jit);
        return;
    }
    struct xdpvm_packet pkt;
    int got;
    bool ok = true;
    unsigned packets = 0;
    uint64_t outcomes[XDPVM_XDP_OUT_COUNT] = {0};
    while (ok && (got = xdpvm_pcap_next(reader, &pkt, err, sizeof(err))) == 1) {
        struct xdpvm_xdp_result a, b;
        xdpvm_xdp_run_packet(p.interp.runner, pkt.data, pkt.caplen, &a);
        xdpvm_xdp_run_packet(p.jit.runner, pkt.data, pkt.caplen, &b);
        bool same = a.outcome == b.outcome && a.ret == b.ret && a.len == b.len &&
                    a.meta_len == b.meta_len && a.error == b.error &&
                    !memcmp(a.data - a.meta_len, b.data - b.meta_len, a.len + a.meta_len) &&
                    a.redirect_ifindex == b.redirect_ifindex && a.redirect_key == b.redirect_key &&
                    same_map(a.redirect_map, b.redirect_map);
        if (!same) {
            test_fail(test, "packet %llu: interpreter %s (action %u, %u bytes%s%s), JIT %s (action %u, "
                      "%u bytes%s%s)", (unsigned long long)pkt.index + 1,
                      xdpvm_xdp_outcome_name(a.outcome), a.ret, a.len, a.error ? ": " : "",
                      a.error ? a.message : "", xdpvm_xdp_outcome_name(b.outcome), b.ret, b.len,
                      b.error ? ": " : "", b.error ? b.message : "");
            ok = false;
        }
        outcomes[a.outcome]++;
        packets++;
    }
    if (ok && got < 0) {
        test_fail(test, "%s", err);
        ok = false;
    }
    if (ok)
        pass_if_maps_equal(test, name, packets, "the interpreter and the JIT", outcomes, p.interp.obj,
                           p.jit.obj);
    xdpvm_pcap_close(reader);
    side_close(&p.interp);
    side_close(&p.jit);
}

int main(void)
{
    if (!xdpvm_jit_available()) {
        test_skip("jit_examples", "the JIT needs an x86-64 host");
        return test_exit_code();
    }
    char pcap_path[1024];
    snprintf(pcap_path, sizeof(pcap_path), "%s/build/data/mixed.pcap", test_root_dir());
    for (size_t i = 0; i < 6; i++)
        compare_example(example_names[i], pcap_path);
    return test_exit_code();
}
