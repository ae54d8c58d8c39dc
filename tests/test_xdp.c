/* The XDP layer (src/xdp): frame layout, action accounting, unknown actions, redirect
 * resolution, run errors in the middle of a packet stream.
 *
 * Most cases drive the layer through the executor contract (struct xdpvm_prog.exec) with small
 * executors written in C, so they test the XDP layer alone; the adjust_* limits run real
 * clang-built programs (tests/bpf/xdp_adjust.bpf.c) through the loader and interpreter. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/helpers.h"
#include "interp/interp.h"
#include "io/io.h"
#include "isa/asm.h"
#include "kernel/kernel.h"
#include "lib/packets.h"
#include "lib/testlib.h"
#include "maps/maps.h"
#include "xdp/xdp.h"
#include "xdpvm/object.h"

/* What the layout executor saw at entry. */
static struct {
    struct xdpvm_xdp_md md;
    uint8_t *frame;
    uint32_t frame_size, tailroom_reserve;
    bool headroom_zero;
    bool region_is_packet; /* a writable region spans data_meta..data_end exactly */
    bool ctx_is_md;
} seen;

static int exec_record_layout(struct xdpvm_run *run, uint64_t *r0)
{
    struct xdpvm_xdp_buff *buff = run->xdp;
    seen.md = *(struct xdpvm_xdp_md *)run->ctx;
    seen.ctx_is_md = run->ctx == &buff->md;
    seen.frame = buff->frame;
    seen.frame_size = buff->frame_size;
    seen.tailroom_reserve = buff->tailroom_reserve;
    seen.headroom_zero = true;
    for (uintptr_t p = (uintptr_t)buff->frame; p < buff->md.data; p++)
        if (*(uint8_t *)p)
            seen.headroom_zero = false;
    seen.region_is_packet = false;
    for (unsigned i = 0; i < run->region_count; i++)
        if (run->regions[i].start == buff->md.data_meta &&
            run->regions[i].len == buff->md.data_end - buff->md.data_meta && run->regions[i].writable &&
            run->regions[i].what == xdpvm_region_packet)
            seen.region_is_packet = true;
    /* Dirty the headroom: the next packet must not see it. */
    memset(buff->frame, 0xee, 16);
    *r0 = XDPVM_XDP_PASS;
    return 0;
}

/* Returns the packet's first byte as the action; byte 1 selects extra behaviour:
 * 1 = fail the run (checked-mode error), 2 = bpf_redirect(byte 2), 3 = drop 4 head bytes,
 * 4 = set r0 with high bits set above the action. */
static int exec_byte_action(struct xdpvm_run *run, uint64_t *r0)
{
    struct xdpvm_xdp_buff *buff = run->xdp;
    const uint8_t *pkt = (const uint8_t *)(uintptr_t)buff->md.data;
    uint32_t len = buff->md.data_end - buff->md.data;
    if (len < 3) {
        *r0 = XDPVM_XDP_DROP;
        return 0;
    }
    switch (pkt[1]) {
    case 1:
        xdpvm_run_fail(run, 7, -EACCES, "invalid read of 8 bytes at packet+4000");
        return run->error;
    case 2:
        buff->redirect_set = true;
        buff->redirect_ifindex = pkt[2];
        break;
    case 3: /* what bpf_xdp_adjust_head(ctx, 4) does */
        buff->md.data += 4;
        buff->md.data_meta += 4;
        break;
    case 4:
        *r0 = 0xabcd00000000ull | pkt[0];
        return 0;
    }
    *r0 = pkt[0];
    return 0;
}

static struct xdpvm_prog make_prog(const char *name, int (*exec)(struct xdpvm_run *, uint64_t *))
{
    struct xdpvm_prog prog;
    memset(&prog, 0, sizeof(prog));
    snprintf(prog.name, sizeof(prog.name), "%s", name);
    prog.type = XDPVM_PROG_XDP;
    prog.exec = exec;
    return prog;
}

/* The runner for prog, or NULL after failing test name with the reason. */
static struct xdpvm_xdp_runner *new_runner(const char *name, const struct xdpvm_prog *prog,
                                           const struct xdpvm_xdp_opts *opts)
{
    char err[256];
    struct xdpvm_xdp_runner *runner = xdpvm_xdp_runner_new(prog, opts, err, sizeof(err));
    if (!runner)
        test_fail(name, "runner: %s", err);
    return runner;
}

static void test_frame_layout(void)
{
    const char *name = "xdp_frame_layout";
    struct xdpvm_prog prog = make_prog("layout", exec_record_layout);
    struct xdpvm_xdp_opts opts = {.ingress_ifindex = 7, .rx_queue_index = 3};
    struct xdpvm_xdp_runner *runner = new_runner(name, &prog, &opts);
    if (!runner)
        return;
    uint8_t packet[60];
    for (size_t i = 0; i < sizeof(packet); i++)
        packet[i] = (uint8_t)(i + 1);
    struct xdpvm_xdp_result result;
    bool ok = true;
    for (int round = 0; round < 2 && ok; round++) {
        enum xdpvm_xdp_outcome outcome = xdpvm_xdp_run_packet(runner, packet, sizeof(packet), &result);
        uintptr_t frame = (uintptr_t)seen.frame;
        if (outcome != XDPVM_XDP_OUT_PASS || result.ret != XDPVM_XDP_PASS) {
            test_fail(name, "outcome %s ret %u, want pass", xdpvm_xdp_outcome_name(outcome), result.ret);
            ok = false;
        } else if (frame + XDPVM_XDP_FRAME_SIZE > 0x100000000ull || frame % 4096) {
            test_fail(name, "frame at %#lx is not a page below 4 GiB", (unsigned long)frame);
            ok = false;
        } else if (seen.md.data != frame + 256 || seen.md.data_end != seen.md.data + 60 ||
                   seen.md.data_meta != seen.md.data) {
            test_fail(name, "md data %#x end %#x meta %#x for frame %#lx; want data = frame + 256, "
                      "end = data + 60, meta = data", seen.md.data, seen.md.data_end,
                      seen.md.data_meta, (unsigned long)frame);
            ok = false;
        } else if (seen.md.ingress_ifindex != 7 || seen.md.rx_queue_index != 3 ||
                   seen.md.egress_ifindex != 0) {
            test_fail(name, "ifindex %u rxq %u egress %u, want 7 3 0", seen.md.ingress_ifindex,
                      seen.md.rx_queue_index, seen.md.egress_ifindex);
            ok = false;
        } else if (seen.frame_size != 4096 || seen.tailroom_reserve != 320) {
            test_fail(name, "frame size %u tailroom reserve %u, want 4096 and 320",
                      seen.frame_size, seen.tailroom_reserve);
            ok = false;
        } else if (!seen.ctx_is_md || !seen.headroom_zero || !seen.region_is_packet) {
            test_fail(name, "ctx is md: %d, headroom zeroed: %d, the packet is a writable region: %d",
                      seen.ctx_is_md, seen.headroom_zero, seen.region_is_packet);
            ok = false;
        } else if (result.len != 60 || memcmp(result.data, packet, 60) != 0) {
            test_fail(name, "result is %u bytes, not the 60 unchanged packet bytes", result.len);
            ok = false;
        }
    }
    if (ok)
        test_pass(name);
    xdpvm_xdp_runner_free(runner);
}

static void test_verified_prog_keeps_regions(void)
{
    /* A verified program may tail-call one that is not, which then runs checked. */
    const char *name = "xdp_regions_set_for_verified_programs_too";
    struct xdpvm_prog prog = make_prog("layout", exec_record_layout);
    prog.verified = true;
    struct xdpvm_xdp_runner *runner = new_runner(name, &prog, NULL);
    if (!runner)
        return;
    uint8_t packet[14] = {0};
    struct xdpvm_xdp_result result;
    xdpvm_xdp_run_packet(runner, packet, sizeof(packet), &result);
    test_check(seen.region_is_packet && result.outcome == XDPVM_XDP_OUT_PASS, name,
               "packet region set: %d, outcome %s", seen.region_is_packet,
               xdpvm_xdp_outcome_name(result.outcome));
    xdpvm_xdp_runner_free(runner);
}

static void test_action_accounting(void)
{
    const char *name = "xdp_action_accounting";
    struct xdpvm_prog prog = make_prog("byte_action", exec_byte_action);
    struct xdpvm_xdp_runner *runner = new_runner(name, &prog, NULL);
    if (!runner)
        return;
    /* {action byte, behaviour byte, arg}: expected outcome */
    static const struct {
        uint8_t bytes[3];
        enum xdpvm_xdp_outcome want;
        uint32_t want_ret;
    } cases[] = {
        {{0, 0, 0}, XDPVM_XDP_OUT_ABORTED, 0},
        {{1, 0, 0}, XDPVM_XDP_OUT_DROP, 1},
        {{2, 0, 0}, XDPVM_XDP_OUT_PASS, 2},
        {{2, 0, 0}, XDPVM_XDP_OUT_PASS, 2},
        {{3, 0, 0}, XDPVM_XDP_OUT_TX, 3},
        {{4, 2, 9}, XDPVM_XDP_OUT_REDIRECT, 4},
        {{4, 0, 0}, XDPVM_XDP_OUT_REDIRECT_ERROR, 4}, /* XDP_REDIRECT with no target */
        {{4, 2, 0}, XDPVM_XDP_OUT_REDIRECT_ERROR, 4}, /* ifindex 0 does not exist */
        {{5, 0, 0}, XDPVM_XDP_OUT_INVALID, 5},
        {{200, 0, 0}, XDPVM_XDP_OUT_INVALID, 200},
        {{3, 4, 0}, XDPVM_XDP_OUT_TX, 3},             /* only r0's low 32 bits count */
    };
    uint64_t want_counts[XDPVM_XDP_OUT_COUNT] = {0};
    bool ok = true;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint8_t packet[20] = {0};
        memcpy(packet, cases[i].bytes, 3);
        struct xdpvm_xdp_result result;
        enum xdpvm_xdp_outcome got = xdpvm_xdp_run_packet(runner, packet, sizeof(packet), &result);
        want_counts[cases[i].want]++;
        if (got != cases[i].want || result.outcome != got || result.ret != cases[i].want_ret) {
            test_fail(name, "case %zu: outcome %s ret %u, want %s ret %u", i,
                      xdpvm_xdp_outcome_name(got), result.ret,
                      xdpvm_xdp_outcome_name(cases[i].want), cases[i].want_ret);
            ok = false;
        }
        if (got == XDPVM_XDP_OUT_REDIRECT && result.redirect_ifindex != 9) {
            test_fail(name, "redirect ifindex %u, want 9", result.redirect_ifindex);
            ok = false;
        }
        if ((got == XDPVM_XDP_OUT_REDIRECT_ERROR || got == XDPVM_XDP_OUT_INVALID) &&
            !result.message[0]) {
            test_fail(name, "case %zu: %s without a message", i, xdpvm_xdp_outcome_name(got));
            ok = false;
        }
    }
    const struct xdpvm_xdp_stats *stats = xdpvm_xdp_runner_stats(runner);
    for (int i = 0; i < XDPVM_XDP_OUT_COUNT; i++)
        if (stats->outcome[i] != want_counts[i]) {
            test_fail(name, "%s counted %llu times, want %llu", xdpvm_xdp_outcome_name(i),
                      (unsigned long long)stats->outcome[i], (unsigned long long)want_counts[i]);
            ok = false;
        }
    if (stats->packets != sizeof(cases) / sizeof(cases[0]) || stats->errors != 0) {
        test_fail(name, "%llu packets %llu errors", (unsigned long long)stats->packets,
                  (unsigned long long)stats->errors);
        ok = false;
    }
    if (ok)
        test_pass(name);
    xdpvm_xdp_runner_free(runner);
}

static bool only_ifindex_5(void *arg, uint32_t ifindex)
{
    (void)arg;
    return ifindex == 5;
}

static void test_redirect_device_check(void)
{
    const char *name = "xdp_redirect_to_missing_device_is_an_error";
    struct xdpvm_prog prog = make_prog("byte_action", exec_byte_action);
    struct xdpvm_xdp_opts opts = {.ifindex_exists = only_ifindex_5};
    struct xdpvm_xdp_runner *runner = new_runner(name, &prog, &opts);
    if (!runner)
        return;
    uint8_t to5[20] = {4, 2, 5}, to6[20] = {4, 2, 6};
    struct xdpvm_xdp_result r5, r6;
    enum xdpvm_xdp_outcome o5 = xdpvm_xdp_run_packet(runner, to5, sizeof(to5), &r5);
    enum xdpvm_xdp_outcome o6 = xdpvm_xdp_run_packet(runner, to6, sizeof(to6), &r6);
    test_check(o5 == XDPVM_XDP_OUT_REDIRECT && r5.redirect_ifindex == 5 &&
                   o6 == XDPVM_XDP_OUT_REDIRECT_ERROR && r6.error == -EINVAL &&
                   strstr(r6.message, "ifindex 6"),
               name, "to 5: %s, to 6: %s (%s)", xdpvm_xdp_outcome_name(o5),
               xdpvm_xdp_outcome_name(o6), r6.message);
    xdpvm_xdp_runner_free(runner);
}

/* Executor for the devmap case: redirect through the map in the global below. */
static struct xdpvm_map *devmap_for_exec;
static int exec_redirect_map(struct xdpvm_run *run, uint64_t *r0)
{
    struct xdpvm_xdp_buff *buff = run->xdp;
    const uint8_t *pkt = (const uint8_t *)(uintptr_t)buff->md.data;
    buff->redirect_set = true;
    buff->redirect_map = devmap_for_exec;
    buff->redirect_key = pkt[0];
    *r0 = XDPVM_XDP_REDIRECT;
    return 0;
}

static void test_devmap_redirect_entries(void)
{
    const char *name = "xdp_redirect_devmap_entry_to_ifindex";
    char err[256];
    struct xdpvm_map_spec spec = {.name = "ports", .type = XDPVM_MAP_DEVMAP, .key_size = 4,
                                  .value_size = 4, .max_entries = 8};
    devmap_for_exec = xdpvm_map_create(&spec, 1, err, sizeof(err));
    if (!devmap_for_exec) {
        test_fail(name, "devmap: %s", err);
        return;
    }
    uint32_t key = 2, ifindex = 12;
    int rc = xdpvm_map_user_update(devmap_for_exec, &key, &ifindex, XDPVM_ANY);
    struct xdpvm_prog prog = make_prog("redirect_map", exec_redirect_map);
    struct xdpvm_xdp_runner *runner = xdpvm_xdp_runner_new(&prog, NULL, err, sizeof(err));
    if (rc == 0 && runner) {
        uint8_t present[20] = {2}, absent[20] = {3};
        struct xdpvm_xdp_result rp, ra;
        enum xdpvm_xdp_outcome op = xdpvm_xdp_run_packet(runner, present, sizeof(present), &rp);
        enum xdpvm_xdp_outcome oa = xdpvm_xdp_run_packet(runner, absent, sizeof(absent), &ra);
        test_check(op == XDPVM_XDP_OUT_REDIRECT && rp.redirect_ifindex == 12 &&
                       rp.redirect_map == devmap_for_exec && rp.redirect_key == 2 &&
                       oa == XDPVM_XDP_OUT_REDIRECT_ERROR && ra.error == -ENOENT,
                   name, "key 2: %s ifindex %u; key 3: %s (%s)", xdpvm_xdp_outcome_name(op),
                   rp.redirect_ifindex, xdpvm_xdp_outcome_name(oa), ra.message);
    } else {
        test_fail(name, "devmap update %d / runner: %s", rc, runner ? "ok" : err);
    }
    xdpvm_xdp_runner_free(runner);
    xdpvm_map_free(devmap_for_exec);
    devmap_for_exec = NULL;
}

static void test_run_error_keeps_going(void)
{
    const char *name = "xdp_run_error_mid_stream_keeps_going";
    struct xdpvm_prog prog = make_prog("byte_action", exec_byte_action);
    struct xdpvm_xdp_runner *runner = new_runner(name, &prog, NULL);
    if (!runner)
        return;
    bool ok = true;
    for (int i = 0; i < 10; i++) {
        uint8_t packet[20] = {XDPVM_XDP_PASS, i == 4 || i == 7 ? 1 : 0};
        struct xdpvm_xdp_result result;
        enum xdpvm_xdp_outcome got = xdpvm_xdp_run_packet(runner, packet, sizeof(packet), &result);
        bool failing = i == 4 || i == 7;
        if (failing && (got != XDPVM_XDP_OUT_ABORTED || result.error != -EACCES ||
                        !strstr(result.message, "program 'byte_action'") ||
                        !strstr(result.message, "packet+4000"))) {
            test_fail(name, "packet %d: outcome %s error %d message '%s'", i,
                      xdpvm_xdp_outcome_name(got), result.error, result.message);
            ok = false;
        } else if (!failing && (got != XDPVM_XDP_OUT_PASS || result.error)) {
            test_fail(name, "packet %d after an error: outcome %s error %d", i,
                      xdpvm_xdp_outcome_name(got), result.error);
            ok = false;
        }
    }
    const struct xdpvm_xdp_stats *stats = xdpvm_xdp_runner_stats(runner);
    if (ok && (stats->outcome[XDPVM_XDP_OUT_ABORTED] != 2 || stats->errors != 2 ||
               stats->outcome[XDPVM_XDP_OUT_PASS] != 8)) {
        test_fail(name, "aborted %llu errors %llu pass %llu, want 2 2 8",
                  (unsigned long long)stats->outcome[XDPVM_XDP_OUT_ABORTED],
                  (unsigned long long)stats->errors,
                  (unsigned long long)stats->outcome[XDPVM_XDP_OUT_PASS]);
        ok = false;
    }
    if (ok)
        test_pass(name);
    xdpvm_xdp_runner_free(runner);
}

static void test_result_follows_md(void)
{
    const char *name = "xdp_result_bytes_follow_md";
    struct xdpvm_prog prog = make_prog("byte_action", exec_byte_action);
    struct xdpvm_xdp_runner *runner = new_runner(name, &prog, NULL);
    if (!runner)
        return;
    uint8_t packet[20] = {XDPVM_XDP_TX, 3, 0, 0, 0xaa, 0xbb};
    struct xdpvm_xdp_result result;
    xdpvm_xdp_run_packet(runner, packet, sizeof(packet), &result);
    test_check(result.outcome == XDPVM_XDP_OUT_TX && result.len == 16 && result.data[0] == 0xaa &&
                   result.data[1] == 0xbb && result.meta_len == 0,
               name, "outcome %s len %u first %02x", xdpvm_xdp_outcome_name(result.outcome),
               result.len, result.len ? result.data[0] : 0);
    xdpvm_xdp_runner_free(runner);
}

static void test_oversize_packet(void)
{
    const char *name = "xdp_oversize_packet_is_an_error";
    struct xdpvm_prog prog = make_prog("byte_action", exec_byte_action);
    struct xdpvm_xdp_runner *runner = new_runner(name, &prog, NULL);
    if (!runner)
        return;
    static uint8_t big[9000], fits[XDPVM_XDP_MAX_PACKET];
    big[0] = fits[0] = XDPVM_XDP_PASS;
    struct xdpvm_xdp_result rb, rf;
    enum xdpvm_xdp_outcome ob = xdpvm_xdp_run_packet(runner, big, sizeof(big), &rb);
    enum xdpvm_xdp_outcome of = xdpvm_xdp_run_packet(runner, fits, sizeof(fits), &rf);
    test_check(XDPVM_XDP_MAX_PACKET == 3520 && ob == XDPVM_XDP_OUT_ABORTED && rb.error == -EMSGSIZE &&
                   of == XDPVM_XDP_OUT_PASS && rf.len == 3520,
               name, "9000 bytes: %s (%s); 3520 bytes: %s", xdpvm_xdp_outcome_name(ob), rb.message,
               xdpvm_xdp_outcome_name(of));
    xdpvm_xdp_runner_free(runner);
}

static void test_low_alloc(void)
{
    const char *name = "xdp_low_alloc_below_4g";
    void *blocks[64];
    bool ok = true;
    for (int i = 0; i < 64; i++) {
        blocks[i] = xdpvm_xdp_low_alloc(i % 2 ? 4096 : 1 << 20);
        if (!blocks[i] || (uintptr_t)blocks[i] + (1 << 20) > 0x100000000ull) {
            test_fail(name, "block %d at %p", i, blocks[i]);
            ok = false;
        }
    }
    for (int i = 0; i < 64; i++)
        xdpvm_xdp_low_free(blocks[i], i % 2 ? 4096 : 1 << 20);
    if (ok)
        test_pass(name);
}

/* bpf_xdp_adjust_head/tail/meta limits through a clang-built program
 * (tests/bpf/xdp_adjust.bpf.c), with the kernel's numbers for a 4096-byte frame, 256 bytes of
 * headroom, a 40-byte struct xdp_frame and a 320-byte skb_shared_info; where the kernel is
 * available, each case also runs there and must give the same action, bytes and return code.
 * (The kernel's test run returns the metadata in front of the packet, so the comparison
 * includes it.) */
static const struct adjust_case {
    const char *name;
    uint8_t op;
    int32_t delta;
    bool ok;
    int rc;           /* the helper's return code */
    uint32_t out_len; /* packet bytes after the program (64 in) */
} adjust_cases[] = {
    {"head_grow_to_limit", 1, -216, true, 0, 280},
    {"head_grow_past_limit", 1, -217, false, -EINVAL, 64},
    {"head_grow_4", 1, -4, true, 0, 68},
    {"head_shrink_to_ethernet", 1, 50, true, 0, 14},
    {"head_shrink_below_ethernet", 1, 51, false, -EINVAL, 64},
    {"tail_grow_to_frame_end", 2, 3456, true, 0, 3520},
    {"tail_grow_into_tailroom", 2, 3457, false, -EINVAL, 64},
    {"tail_shrink_to_ethernet", 2, -50, true, 0, 14},
    {"tail_shrink_below_ethernet", 2, -51, false, -EINVAL, 64},
    {"meta_32", 3, -32, true, 0, 64},
    {"meta_36", 3, -36, true, 0, 64},               /* above the old 32-byte limit */
    {"meta_to_frame_start", 3, -216, true, 0, 64},  /* all headroom but struct xdp_frame */
    {"meta_past_frame_start", 3, -220, false, -EINVAL, 64},
    {"meta_unaligned", 3, -6, false, -EACCES, 64},
    {"meta_after_data", 3, 4, false, -EINVAL, 64},
    {"meta_then_head_to_limit", 4, -208, true, 0, 272},
    {"meta_then_head_past_limit", 4, -209, false, -EINVAL, 64},
};

static int64_t read_last_rc(struct xdpvm_object *obj)
{
    struct xdpvm_object_map *bss = xdpvm_object__find_map_by_name(obj, ".bss");
    size_t size = 0;
    const void *value = bss ? xdpvm_object_map__initial_value(bss, &size) : NULL;
    int64_t rc = INT64_MIN;
    if (value && size >= sizeof(rc))
        memcpy(&rc, value, sizeof(rc));
    return rc;
}

static void test_adjust_limits(void)
{
    char path[1024], err[256];
    snprintf(path, sizeof(path), "%s/tests/bpf/xdp_adjust.o", test_bpf_dir());
    XDPVM_OPEN_OPTS(opts, .ncpus = 1, .quiet = true);
    struct xdpvm_object *obj = xdpvm_object__open(path, &opts);
    if (!obj || xdpvm_object__load(obj) < 0) {
        test_fail("xdp_adjust_limits", "%s", xdpvm_last_error());
        xdpvm_object__close(obj);
        return;
    }
    struct xdpvm_prog *prog =
        xdpvm_program__prog(xdpvm_object__find_program_by_name(obj, "xdp_adjust"));
    struct xdpvm_xdp_runner *runner = prog ? xdpvm_xdp_runner_new(prog, NULL, err, sizeof(err)) : NULL;
    if (!runner) {
        test_fail("xdp_adjust_limits", "%s", prog ? err : "no program xdp_adjust");
        xdpvm_object__close(obj);
        return;
    }
    char why[256];
    struct xdpvm_kernel_object *kobj = NULL;
    if (xdpvm_kernel_available(why, sizeof(why))) {
        kobj = xdpvm_kernel_open(path);
        if (!kobj || xdpvm_kernel_load(kobj) < 0) {
            test_fail("xdp_adjust_limits_kernel", "%s", xdpvm_kernel_error());
            xdpvm_kernel_close(kobj);
            kobj = NULL;
        }
    } else {
        test_skip("xdp_adjust_limits_kernel", "%s", why);
    }
    for (size_t i = 0; i < sizeof(adjust_cases) / sizeof(adjust_cases[0]); i++) {
        const struct adjust_case *c = &adjust_cases[i];
        char name[96];
        snprintf(name, sizeof(name), "xdp_adjust_%s", c->name);
        uint8_t packet[64];
        for (size_t b = 0; b < sizeof(packet); b++)
            packet[b] = (uint8_t)(0x40 + b);
        packet[0] = c->op;
        memcpy(packet + 4, &c->delta, 4);
        struct xdpvm_xdp_result r;
        xdpvm_xdp_run_packet(runner, packet, sizeof(packet), &r);
        int64_t rc = read_last_rc(obj);
        uint32_t want_ret = c->ok ? XDPVM_XDP_PASS : XDPVM_XDP_DROP;
        if (r.error) {
            test_fail(name, "run error: %s", r.message);
            continue;
        }
        if (r.ret != want_ret || rc != c->rc || r.len != c->out_len) {
            test_fail(name, "action %u rc %lld len %u, want %u rc %d len %u", r.ret, (long long)rc,
                      r.len, want_ret, c->rc, c->out_len);
            continue;
        }
        /* Bytes: grown head and tail read as zeros (the kernel's zeroed test buffer and
         * bpf_xdp_adjust_tail's memset), the rest is the original packet. */
        uint8_t want[4096];
        memset(want, 0, sizeof(want));
        uint32_t head_grow = c->ok && (c->op == 1 || c->op == 4) && c->delta < 0 ? (uint32_t)-c->delta : 0;
        uint32_t head_cut = c->ok && c->op == 1 && c->delta > 0 ? (uint32_t)c->delta : 0;
        uint32_t keep = c->ok && c->op == 2 && c->delta < 0 ? 64 - (uint32_t)-c->delta : 64 - head_cut;
        memcpy(want + head_grow, packet + head_cut, keep);
        if (c->op == 4 && c->ok)
            memset(want + head_grow - 8, 0, 8); /* metadata moved along: still zeros */
        long at = pkt_diff(r.data, r.len, want, c->out_len);
        if (at >= 0) {
            test_fail(name, "output byte %ld is %#x, want %#x", at, at < (long)r.len ? r.data[at] : 0,
                      want[at]);
            continue;
        }
        test_pass(name);
        if (!kobj)
            continue;
        uint8_t kout[4096];
        struct xdpvm_kernel_test_run kr = {.data_in = packet, .data_size_in = sizeof(packet),
                                           .data_out = kout, .data_size_out = sizeof(kout), .repeat = 1};
        uint32_t zero = 0;
        int64_t krc = INT64_MIN;
        snprintf(name, sizeof(name), "xdp_adjust_%s_same_as_kernel", c->name);
        if (xdpvm_kernel_test_run(kobj, "xdp_adjust", &kr) < 0 ||
            xdpvm_kernel_map_lookup(kobj, ".bss", &zero, &krc) < 0) {
            test_fail(name, "%s", xdpvm_kernel_error());
            continue;
        }
        at = pkt_diff(r.data - r.meta_len, r.len + r.meta_len, kout, kr.data_size_out);
        test_check(kr.retval == r.ret && krc == rc && at < 0, name,
                   "kernel: action %u rc %lld %u bytes with metadata (xdpvm %u %lld %u), first "
                   "differing byte %ld", kr.retval, (long long)krc, kr.data_size_out, r.ret,
                   (long long)rc, r.len + r.meta_len, at);
    }
    xdpvm_kernel_close(kobj);
    xdpvm_xdp_runner_free(runner);
    xdpvm_object__close(obj);
}

/* A real unsafe program (tests/bpf/xdp_cli_oob.bpf.c), unverified so the interpreter checks
 * it, over the bundled capture: its broadcast frames read past the frame and abort with the
 * error, every other packet, before and after them, still runs and passes. */
/* The checked interpreter's packet is data_meta..data_end, not the whole frame: reading byte
 * 100 of a 60-byte packet (no data_end check, as --no-verify allows) stops the run, while
 * after bpf_xdp_adjust_tail(+64) or on a longer packet the same read is fine, and a packet
 * shrunk by bpf_xdp_adjust_head no longer reaches it. */
static void test_checked_packet_bounds(void)
{
    static const struct {
        const char *name, *text;
        uint32_t len;
        bool ok;
    } cases[] = {
        {"xdp_checked_read_past_data_end_stops",
         "ldxw %r2, [%r1+0]\nldxb %r0, [%r2+100]\nmov %r0, 2\nexit\n", 60, false},
        {"xdp_checked_read_inside_packet", "ldxw %r2, [%r1+0]\nldxb %r0, [%r2+100]\nmov %r0, 2\nexit\n", 101,
         true},
        {"xdp_checked_read_after_adjust_tail_grows",
         "mov %r6, %r1\nmov %r2, 64\ncall 65\njne %r0, 0, fail\nldxw %r2, [%r6+0]\nldxb %r0, [%r2+100]\n"
         "mov %r0, 2\nexit\nfail:\nmov %r0, 0\nexit\n",
         60, true},
        {"xdp_checked_read_after_adjust_head_shrinks_stops",
         "mov %r6, %r1\nmov %r2, 20\ncall 44\njne %r0, 0, fail\nldxw %r2, [%r6+0]\nldxb %r0, [%r2+100]\n"
         "mov %r0, 2\nexit\nfail:\nmov %r0, 0\nexit\n",
         110, false},
        {"xdp_checked_read_headroom_stops", "ldxw %r2, [%r1+0]\nldxb %r0, [%r2-1]\nmov %r0, 2\nexit\n", 60, false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *name = cases[i].name;
        struct xdpvm_insn *insns = NULL;
        size_t count = 0;
        struct xdpvm_asm_error aerr;
        if (xdpvm_asm(cases[i].text, &insns, &count, &aerr) < 0) {
            test_fail(name, "assembler: %s", aerr.message);
            continue;
        }
        struct xdpvm_prog prog = {.type = XDPVM_PROG_XDP, .insns = insns, .count = count,
                                  .helpers = xdpvm_helpers_for(XDPVM_PROG_XDP), .exec = xdpvm_interp_run};
        snprintf(prog.name, sizeof(prog.name), "bounds%zu", i);
        char err[256];
        struct xdpvm_xdp_runner *runner = xdpvm_xdp_runner_new(&prog, NULL, err, sizeof(err));
        if (!runner) {
            test_fail(name, "runner: %s", err);
        } else {
            uint8_t packet[200] = {0};
            struct xdpvm_xdp_result result;
            enum xdpvm_xdp_outcome outcome = xdpvm_xdp_run_packet(runner, packet, cases[i].len, &result);
            if (cases[i].ok)
                test_check(outcome == XDPVM_XDP_OUT_PASS && !result.error, name, "outcome %s: %s",
                           xdpvm_xdp_outcome_name(outcome), result.message);
            else
                test_check(outcome == XDPVM_XDP_OUT_ABORTED && result.error &&
                               strstr(result.message, "instruction") && strstr(result.message, "packet"),
                           name, "outcome %s, error %d: '%s'", xdpvm_xdp_outcome_name(outcome), result.error,
                           result.message);
            xdpvm_xdp_runner_free(runner);
        }
        xdpvm_interp_release(&prog);
        free(insns);
    }
}

static void test_run_error_mid_pcap(void)
{
    const char *name = "xdp_checked_error_mid_pcap_keeps_going";
    char path[1024], pcap[1024], err[512];
    snprintf(path, sizeof(path), "%s/tests/bpf/xdp_cli_oob.o", test_bpf_dir());
    snprintf(pcap, sizeof(pcap), "%s/build/data/mixed.pcap", test_root_dir());
    XDPVM_OPEN_OPTS(opts, .ncpus = 1, .quiet = true);
    struct xdpvm_object *obj = xdpvm_object__open(path, &opts);
    if (!obj || xdpvm_object__load(obj) < 0) {
        test_fail(name, "%s", xdpvm_last_error());
        xdpvm_object__close(obj);
        return;
    }
    struct xdpvm_prog *prog =
        xdpvm_program__prog(xdpvm_object__find_program_by_name(obj, "xdp_cli_oob"));
    struct xdpvm_xdp_runner *runner = prog ? xdpvm_xdp_runner_new(prog, NULL, err, sizeof(err)) : NULL;
    struct xdpvm_pcap_reader *reader = runner ? xdpvm_pcap_open(pcap, err, sizeof(err)) : NULL;
    if (!reader) {
        test_fail(name, "%s", prog ? err : "no program xdp_cli_oob");
        xdpvm_xdp_runner_free(runner);
        xdpvm_object__close(obj);
        return;
    }
    struct xdpvm_packet pkt;
    uint64_t broadcast = 0, others = 0;
    bool ok = true;
    while (ok && xdpvm_pcap_next(reader, &pkt, err, sizeof(err)) == 1) {
        struct xdpvm_xdp_result r;
        enum xdpvm_xdp_outcome o = xdpvm_xdp_run_packet(runner, pkt.data, pkt.caplen, &r);
        bool bad = pkt.caplen >= 1 && pkt.data[0] == 0xff;
        broadcast += bad;
        others += !bad;
        if (bad ? (o != XDPVM_XDP_OUT_ABORTED || r.error == 0 || !strstr(r.message, "xdp_cli_oob"))
                : (o != XDPVM_XDP_OUT_PASS || r.error != 0)) {
            test_fail(name, "packet %llu: outcome %s error %d (%s)", (unsigned long long)pkt.index + 1,
                      xdpvm_xdp_outcome_name(o), r.error, r.message);
            ok = false;
        }
    }
    const struct xdpvm_xdp_stats *st = xdpvm_xdp_runner_stats(runner);
    if (ok)
        test_check(broadcast > 1 && others > broadcast && st->errors == broadcast &&
                       st->outcome[XDPVM_XDP_OUT_ABORTED] == broadcast &&
                       st->outcome[XDPVM_XDP_OUT_PASS] == others,
                   name, "%llu broadcast frames, %llu others; stats: %llu errors, %llu aborted, %llu pass",
                   (unsigned long long)broadcast, (unsigned long long)others,
                   (unsigned long long)st->errors,
                   (unsigned long long)st->outcome[XDPVM_XDP_OUT_ABORTED],
                   (unsigned long long)st->outcome[XDPVM_XDP_OUT_PASS]);
    xdpvm_pcap_close(reader);
    xdpvm_xdp_runner_free(runner);
    xdpvm_object__close(obj);
}

int main(void)
{
    test_checked_packet_bounds();
    test_run_error_mid_pcap();
    test_adjust_limits();
    test_frame_layout();
    test_verified_prog_keeps_regions();
    test_action_accounting();
    test_redirect_device_check();
    test_devmap_redirect_entries();
    test_run_error_keeps_going();
    test_result_follows_md();
    test_oversize_packet();
    test_low_alloc();
    return test_exit_code();
}
