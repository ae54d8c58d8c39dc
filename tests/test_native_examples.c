/* The benchmark's native baseline (build/bench/native/NAME.so: each unchanged example compiled
 * for the host by clang -O2 with bench/native/bpf_host.h) is the same logic as the BPF
 * program: every example over the bundled capture in the checked interpreter and natively,
 * each with its own loaded object and the same map contents (tests/lib/example_config). For
 * every packet the action, the packet's place, length and bytes and the redirect target must
 * be identical, and so must every map afterwards. The last case shows that the comparison
 * notices a difference (the native router with routes that send packets elsewhere).
 * native_array_lookup checks the shim's inline array lookups where the examples' traffic does
 * not go: keys past the end, every per-CPU slot and a cpu the per-CPU map has none for. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/io.h"
#include "lib/example_config.h"
#include "lib/map_compare.h"
#include "lib/native_example.h"
#include "lib/object_runner.h"
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

static const struct xdpvm_xdp_opts run_opts = {.ingress_ifindex = 1};

/* One loaded, configured object; with native, the native code bound to its maps runs it. */
static bool side_open(struct pair *p, struct side *s, const char *name, uint32_t redirect_ifindex,
                      bool native)
{
    char path[1024], err[512];
    snprintf(path, sizeof(path), "%s/examples/%s.o", test_bpf_dir(), name);
    struct xdpvm_program *program;
    s->obj = object_open_xdp(path, &program);
    if (!s->obj) {
        test_fail(p->test, "%s", xdpvm_last_error());
        return false;
    }
    if (!example_configure(name, example_put_object, s->obj, redirect_ifindex)) {
        test_fail(p->test, "%s: cannot fill the example's maps", path);
        return false;
    }
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
        } else {
            pass_if_maps_equal(test, name, packets, "the interpreter and natively", outcomes, p.interp.obj,
                               p.native.obj);
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

/* tests/bpf/native_lookup.bpf.c: the maps' values, and what the program reports for them. */
#define LOOKUP_NCPUS 2
#define LOOKUP_ENTRIES 5
#define LOOKUP_HASH_KEY 7
#define LOOKUP_PACKET_LEN (4 + 3 * 16)

struct lookup_value {
    uint32_t first, second, hits;
};

static struct lookup_value array_value(uint32_t index)
{
    return (struct lookup_value){100 + index, 200 + index, 0};
}

static struct lookup_value percpu_value(uint32_t index, unsigned cpu)
{
    return (struct lookup_value){1000 * (cpu + 1) + index, 2000 * (cpu + 1) + index, 0};
}

static const struct lookup_value hash_value = {77, 777, 0};

static struct xdpvm_map *object_map(struct xdpvm_object *obj, const char *name)
{
    struct xdpvm_object_map *om = xdpvm_object__find_map_by_name(obj, name);
    return om ? xdpvm_object_map__map(om) : NULL;
}

static bool fill_lookup_maps(const char *test, struct xdpvm_object *obj)
{
    struct xdpvm_map *array = object_map(obj, "array_values");
    struct xdpvm_map *percpu = object_map(obj, "percpu_values");
    struct xdpvm_map *hash = object_map(obj, "hash_values");
    if (!array || !percpu || !hash)
        return test_fail(test, "native_lookup.o: a map is missing"), false;
    /* a per-CPU value from user space: every cpu's, each in a slot rounded up to 8 bytes */
    size_t slot = (sizeof(struct lookup_value) + 7) & ~(size_t)7;
    if (xdpvm_map_user_value_size(percpu) != LOOKUP_NCPUS * slot)
        return test_fail(test, "percpu_values: user value of %zu bytes, expected %zu",
                         xdpvm_map_user_value_size(percpu), LOOKUP_NCPUS * slot), false;
    for (uint32_t index = 0; index < LOOKUP_ENTRIES; index++) {
        struct lookup_value value = array_value(index);
        uint8_t all_cpus[LOOKUP_NCPUS * 16] = {0};
        for (unsigned cpu = 0; cpu < LOOKUP_NCPUS; cpu++) {
            struct lookup_value v = percpu_value(index, cpu);
            memcpy(all_cpus + cpu * slot, &v, sizeof(v));
        }
        if (xdpvm_map_user_update(array, &index, &value, XDPVM_ANY) ||
            xdpvm_map_user_update(percpu, &index, all_cpus, XDPVM_ANY))
            return test_fail(test, "cannot fill index %u of the arrays", index), false;
    }
    uint32_t key = LOOKUP_HASH_KEY;
    if (xdpvm_map_user_update(hash, &key, &hash_value, XDPVM_ANY))
        return test_fail(test, "cannot fill hash_values"), false;
    return true;
}

/* What the program writes for one map: 1 and the value (its hits counted up by this run), or
 * 0 and zeros. */
static void expect_report(uint8_t *out, bool found, struct lookup_value value, uint32_t *hits)
{
    memset(out, 0, 16);
    if (!found)
        return;
    value.hits = ++*hits;
    uint32_t one = 1;
    memcpy(out, &one, sizeof(one));
    memcpy(out + 4, &value, sizeof(value));
}

/* tests/bpf/native_lookup.bpf.c in the checked interpreter (xdpvm's generic lookup) and
 * natively (the shim's inline lookup for both arrays, the helper for the hash), on every cpu
 * of the per-CPU map and one past it, for keys inside and past the arrays: identical results,
 * the expected values in the native packet, identical maps afterwards. */
static void native_array_lookup(void)
{
    const char *test = "native_array_lookup";
    static const uint32_t keys[] = {0, 1, LOOKUP_ENTRIES - 1, LOOKUP_ENTRIES, LOOKUP_HASH_KEY,
                                    UINT32_MAX, 2};
    char path[1024], so[1024], err[512], why[1280];
    snprintf(path, sizeof(path), "%s/tests/bpf/native_lookup.o", test_bpf_dir());
    native_example_path("tests/native_lookup", so, sizeof(so));
    XDPVM_OPEN_OPTS(opts, .ncpus = LOOKUP_NCPUS, .quiet = true);
    struct xdpvm_object *interp_obj = xdpvm_object__open(path, &opts);
    struct xdpvm_object *native_obj = xdpvm_object__open(path, &opts);
    struct native_example *native = NULL;
    uint8_t *interp_frame = xdpvm_xdp_low_alloc(XDPVM_XDP_FRAME_SIZE);
    uint8_t *native_frame = xdpvm_xdp_low_alloc(XDPVM_XDP_FRAME_SIZE);
    struct xdpvm_program *interp_program = NULL;
    if (!interp_obj || !native_obj || xdpvm_object__load(interp_obj) < 0 ||
        xdpvm_object__load(native_obj) < 0) {
        test_fail(test, "%s", xdpvm_last_error());
    } else if (!interp_frame || !native_frame) {
        test_fail(test, "no frame below 4 GiB");
    } else if (!(interp_program = xdpvm_object__find_program_by_name(interp_obj, "native_lookup"))) {
        test_fail(test, "%s: no program native_lookup", path);
    } else if (!(native = native_example_open(so, native_obj, "native_lookup", err, sizeof(err)))) {
        test_fail(test, "%s", err);
    } else if (fill_lookup_maps(test, interp_obj) && fill_lookup_maps(test, native_obj)) {
        uint32_t array_hits[LOOKUP_ENTRIES] = {0}, percpu_hits[LOOKUP_ENTRIES][LOOKUP_NCPUS] = {{0}};
        uint32_t hash_hits = 0, past_slots = 0;
        bool ok = true;
        for (unsigned cpu = 0; ok && cpu <= LOOKUP_NCPUS; cpu++) {
            struct xdpvm_xdp_opts run = {.cpu = cpu, .ingress_ifindex = 1};
            struct xdpvm_xdp_runner *a =
                xdpvm_xdp_runner_new(xdpvm_program__prog(interp_program), &run, err, sizeof(err));
            struct xdpvm_xdp_runner *b =
                a ? xdpvm_xdp_runner_new(native_example_prog(native), &run, err, sizeof(err)) : NULL;
            if (!b) {
                test_fail(test, "%s", err);
                ok = false;
            }
            for (size_t k = 0; ok && k < sizeof(keys) / sizeof(keys[0]); k++) {
                uint32_t key = keys[k];
                uint8_t packet[LOOKUP_PACKET_LEN], expected[LOOKUP_PACKET_LEN];
                memset(packet, 0xaa, sizeof(packet));
                memcpy(packet, &key, sizeof(key));
                memcpy(expected, packet, 4);
                bool in_array = key < LOOKUP_ENTRIES, in_slots = cpu < LOOKUP_NCPUS;
                past_slots += in_array && !in_slots;
                expect_report(expected + 4, in_array, in_array ? array_value(key) : hash_value,
                              in_array ? &array_hits[key] : NULL);
                expect_report(expected + 20, in_array && in_slots,
                              in_array && in_slots ? percpu_value(key, cpu) : hash_value,
                              in_array && in_slots ? &percpu_hits[key][cpu] : NULL);
                expect_report(expected + 36, key == LOOKUP_HASH_KEY, hash_value, &hash_hits);
                if (!xdp_runs_agree(a, interp_frame, "interpreter", b, native_frame, "native", packet,
                                    sizeof(packet), why, sizeof(why))) {
                    test_fail(test, "cpu %u, key %u: %s", cpu, key, why);
                    ok = false;
                } else if (memcmp(native_frame + XDPVM_XDP_HEADROOM, expected, sizeof(expected))) {
                    test_fail(test, "cpu %u, key %u: the native run reported other lookups than "
                              "the maps hold", cpu, key);
                    ok = false;
                }
            }
            xdpvm_xdp_runner_free(b);
            xdpvm_xdp_runner_free(a);
        }
        if (ok && objects_maps_equal(test, interp_obj, native_obj)) {
            printf("# %zu keys on %d cpus and one past the per-CPU map's slots (%u lookups there "
                   "NULL): identical, maps identical\n", sizeof(keys) / sizeof(keys[0]),
                   LOOKUP_NCPUS, past_slots);
            test_pass(test);
        }
    }
    native_example_close(native);
    xdpvm_object__close(native_obj);
    xdpvm_object__close(interp_obj);
    if (interp_frame)
        xdpvm_xdp_low_free(interp_frame, XDPVM_XDP_FRAME_SIZE);
    if (native_frame)
        xdpvm_xdp_low_free(native_frame, XDPVM_XDP_FRAME_SIZE);
}

int main(void)
{
    char pcap_path[1024];
    snprintf(pcap_path, sizeof(pcap_path), "%s/build/data/mixed.pcap", test_root_dir());
    for (size_t i = 0; i < sizeof(example_names) / sizeof(example_names[0]); i++)
        compare_example(example_names[i], pcap_path);
    mismatch_detected(pcap_path);
    native_array_lookup();
    return test_exit_code();
}
