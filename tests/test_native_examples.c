/* The benchmark's native baseline (build/bench/native/NAME.so: each unchanged example compiled
 * for the host by clang -O2 with bench/native/bpf_host.h) is the same logic as the BPF
 * program: every example over the bundled capture in the checked interpreter and natively,
 * each with its own loaded object and the same map contents (tests/lib/example_config). For
 * every packet the action, the packet's place, length and bytes and the redirect target must
 * be identical, and so must every map afterwards. The last case shows that the comparison
 * notices a difference (the native router with routes that send packets elsewhere). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/io.h"
#include "lib/example_config.h"
#include "lib/map_compare.h"
#include "lib/native_example.h"
#include "lib/testlib.h"
#include "maps/maps.h"
#include "xdp/xdp.h"
#include "xdpvm/object.h"

/* Router's redirect target for the default route (any ifindex but 0 and the ingress 1). */
#define REDIRECT_IFINDEX 3

struct side {
    struct xdpvm_object *obj;
    struct xdpvm_xdp_runner *runner;
    uint8_t *frame;
};

struct pair {
    struct side interp, native;
    struct native_example *native_code;
    const char *test;
};

static void side_close(struct side *s)
{
    xdpvm_xdp_runner_free(s->runner);
    xdpvm_object__close(s->obj);
    if (s->frame)
        xdpvm_xdp_low_free(s->frame, XDPVM_XDP_FRAME_SIZE);
}

static void pair_close(struct pair *p)
{
    side_close(&p->native); /* the runner uses the native program: free it first */
    native_example_close(p->native_code);
    side_close(&p->interp);
}

static bool put_object(void *ctx, const char *map, const void *key, const void *value)
{
    struct xdpvm_object_map *om = xdpvm_object__find_map_by_name(ctx, map);
    struct xdpvm_map *m = om ? xdpvm_object_map__map(om) : NULL;
    return m && xdpvm_map_user_update(m, key, value, XDPVM_ANY) == 0;
}

static const struct xdpvm_xdp_opts run_opts = {.ingress_ifindex = 1};

/* One loaded, configured object; with native, the native code bound to its maps runs it. */
static bool side_open(struct pair *p, struct side *s, const char *name, uint32_t redirect_ifindex,
                      bool native)
{
    char path[1024], err[512];
    snprintf(path, sizeof(path), "%s/examples/%s.o", test_bpf_dir(), name);
    XDPVM_OPEN_OPTS(opts, .ncpus = 1, .quiet = true);
    s->obj = xdpvm_object__open(path, &opts);
    if (!s->obj || xdpvm_object__load(s->obj) < 0) {
        test_fail(p->test, "%s", xdpvm_last_error());
        return false;
    }
    if (!example_configure(name, put_object, s->obj, redirect_ifindex)) {
        test_fail(p->test, "%s: cannot fill the example's maps", path);
        return false;
    }
    struct xdpvm_program *program;
    xdpvm_object__for_each_program(program, s->obj)
        if (xdpvm_program__type(program) == XDPVM_PROG_XDP)
            break;
    struct xdpvm_prog *prog = program ? xdpvm_program__prog(program) : NULL;
    if (!prog) {
        test_fail(p->test, "%s: no XDP program", path);
        return false;
    }
    if (native) {
        char so[1024];
        native_example_path(name, so, sizeof(so));
        p->native_code = native_example_open(so, s->obj, xdpvm_program__name(program), err, sizeof(err));
        if (!p->native_code) {
            test_fail(p->test, "%s", err);
            return false;
        }
        prog = native_example_prog(p->native_code);
    }
    s->runner = xdpvm_xdp_runner_new(prog, &run_opts, err, sizeof(err));
    s->frame = xdpvm_xdp_low_alloc(XDPVM_XDP_FRAME_SIZE);
    if (!s->runner || !s->frame) {
        test_fail(p->test, "%s", s->runner ? "no frame below 4 GiB" : err);
        return false;
    }
    return true;
}

/* Every packet of pcap_path through both; returns how many agreed, -1 after the first that did
 * not (its difference in why) or a capture error. */
static long run_all(struct pair *p, const char *pcap_path, uint64_t outcomes[XDPVM_XDP_OUT_COUNT],
                    char *why, size_t why_size)
{
    struct xdpvm_pcap_reader *reader = xdpvm_pcap_open(pcap_path, why, why_size);
    if (!reader)
        return -1;
    struct xdpvm_packet pkt;
    int got;
    long agreed = 0;
    while ((got = xdpvm_pcap_next(reader, &pkt, why, why_size)) == 1) {
        if (pkt.caplen > XDPVM_XDP_MAX_PACKET)
            continue; /* no frame holds it: neither executor would run */
        char diff[1024];
        if (!xdp_runs_agree(p->interp.runner, p->interp.frame, "interpreter", p->native.runner,
                            p->native.frame, "native", pkt.data, pkt.caplen, diff, sizeof(diff))) {
            snprintf(why, why_size, "packet %llu: %s", (unsigned long long)pkt.index + 1, diff);
            xdpvm_pcap_close(reader);
            return -1;
        }
        agreed++;
    }
    xdpvm_pcap_close(reader);
    if (got < 0)
        return -1;
    const struct xdpvm_xdp_stats *stats = xdpvm_xdp_runner_stats(p->native.runner);
    for (int o = 0; o < XDPVM_XDP_OUT_COUNT; o++)
        outcomes[o] = stats->outcome[o];
    return agreed;
}

static void compare_example(const char *name, const char *pcap_path)
{
    char test[80], why[1280];
    snprintf(test, sizeof(test), "native_example_%s", name);
    struct pair p = {.test = test};
    if (side_open(&p, &p.interp, name, REDIRECT_IFINDEX, false) &&
        side_open(&p, &p.native, name, REDIRECT_IFINDEX, true)) {
        uint64_t outcomes[XDPVM_XDP_OUT_COUNT];
        long packets = run_all(&p, pcap_path, outcomes, why, sizeof(why));
        if (packets <= 0) {
            test_fail(test, "%s", packets < 0 ? why : "no packet in the capture");
        } else if (objects_maps_equal(test, p.interp.obj, p.native.obj)) {
            printf("# %s: %ld packets identical in the interpreter and natively (", name, packets);
            for (int o = 0; o < XDPVM_XDP_OUT_COUNT; o++)
                printf("%s%s %llu", o ? ", " : "", xdpvm_xdp_outcome_name((enum xdpvm_xdp_outcome)o),
                       (unsigned long long)outcomes[o]);
            printf("), maps identical\n");
            test_pass(test);
        }
    }
    pair_close(&p);
}

/* The native router with a default route out of the ingress port (XDP_TX) instead of to
 * another device (XDP_REDIRECT): the comparison must report the first routed packet. */
static void mismatch_detected(const char *pcap_path)
{
    const char *test = "native_example_mismatch_detected";
    char why[1280];
    struct pair p = {.test = test};
    if (side_open(&p, &p.interp, "router", REDIRECT_IFINDEX, false) &&
        side_open(&p, &p.native, "router", 0, true)) {
        uint64_t outcomes[XDPVM_XDP_OUT_COUNT];
        long packets = run_all(&p, pcap_path, outcomes, why, sizeof(why));
        if (test_check(packets < 0 && strstr(why, "different results"), test,
                       "differently configured routers agreed (%ld packets): %s", packets,
                       packets < 0 ? why : "no difference found"))
            printf("# reported: %s\n", why);
    }
    pair_close(&p);
}

int main(void)
{
    char pcap_path[1024];
    snprintf(pcap_path, sizeof(pcap_path), "%s/build/data/mixed.pcap", test_root_dir());
    for (size_t i = 0; i < sizeof(example_names) / sizeof(example_names[0]); i++)
        compare_example(example_names[i], pcap_path);
    mismatch_detected(pcap_path);
    return test_exit_code();
}
