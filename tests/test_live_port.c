/* The live-port layer's pieces that need no network namespace (src/io/port.h, live.h): the
 * frame pool, mode names, interface checks and their messages. The data path itself is tested
 * on veth pairs by tests/test_live_*.sh. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "io/live.h"
#include "io/port.h"
#include "lib/testlib.h"

static void test_frame_pool(void)
{
    const char *name = "live_frame_pool";
    struct xdpvm_frame_pool pool;
    char err[256];
    if (xdpvm_frame_pool_init(&pool, 16, err, sizeof(err)) < 0) {
        test_fail(name, "init: %s", err);
        return;
    }
    bool ok = (uintptr_t)pool.base + 16u * XDPVM_PORT_FRAME_SIZE <= 0x100000000ull;
    uint64_t seen[16];
    for (int i = 0; i < 16 && ok; i++) {
        seen[i] = xdpvm_frame_pool_get(&pool);
        ok = seen[i] != UINT64_MAX && seen[i] % XDPVM_PORT_FRAME_SIZE == 0 &&
             seen[i] < 16u * XDPVM_PORT_FRAME_SIZE;
        for (int j = 0; j < i && ok; j++)
            ok = seen[j] != seen[i];
    }
    bool exhausted = xdpvm_frame_pool_get(&pool) == UINT64_MAX;
    /* A frame comes back by any address inside it (a packet's, after adjust_head...). */
    xdpvm_frame_pool_put(&pool, seen[3] + XDPVM_PORT_HEADROOM + 17);
    uint64_t again = xdpvm_frame_pool_get(&pool);
    test_check(ok && exhausted && again == seen[3] && pool.free_count == 0, name,
               "below 4 GiB, distinct aligned frames: %d, exhausted: %d, returned frame %#llx "
               "(want %#llx)", ok, exhausted, (unsigned long long)again, (unsigned long long)seen[3]);
    xdpvm_frame_pool_destroy(&pool);
}

static void test_mode_names(void)
{
    enum xdpvm_port_mode mode;
    bool ok = xdpvm_port_mode_parse("afxdp", &mode) == 0 && mode == XDPVM_PORT_AFXDP &&
              xdpvm_port_mode_parse("afpacket", &mode) == 0 && mode == XDPVM_PORT_AFPACKET &&
              xdpvm_port_mode_parse("auto", &mode) == 0 && mode == XDPVM_PORT_AUTO &&
              xdpvm_port_mode_parse("dpdk", &mode) < 0 &&
              !strcmp(xdpvm_port_mode_name(XDPVM_PORT_AFPACKET), "afpacket");
    test_check(ok, "live_port_mode_names", "parse/name round trip failed");
}

static void test_missing_interface(void)
{
    struct xdpvm_frame_pool pool;
    char err[256], note[256];
    if (xdpvm_frame_pool_init(&pool, 4, err, sizeof(err)) < 0) {
        test_fail("live_port_missing_interface", "pool: %s", err);
        return;
    }
    struct xdpvm_port_opts opts = {.ifname = "xdpvm-none0", .rx = true, .tx = true};
    struct xdpvm_port *port = xdpvm_port_open(&opts, &pool, note, sizeof(note), err, sizeof(err));
    test_check(!port && strstr(err, "'xdpvm-none0' does not exist"), "live_port_missing_interface",
               "got %s: %s", port ? "a port" : "no port", err);
    xdpvm_port_close(port);
    opts.ifname = "a-name-longer-than-fifteen";
    port = xdpvm_port_open(&opts, &pool, note, sizeof(note), err, sizeof(err));
    test_check(!port && strstr(err, "longer than 15"), "live_port_long_name", "%s", err);
    xdpvm_port_close(port);
    xdpvm_frame_pool_destroy(&pool);
}

static void test_live_start_errors(void)
{
    char err[256], note[256];
    struct xdpvm_live_opts opts = {.port_count = 0};
    struct xdpvm_live *live = xdpvm_live_start(&opts, note, sizeof(note), err, sizeof(err));
    bool none = !live && strstr(err, "between 1 and");
    xdpvm_live_free(live);
    opts.port_count = 1;
    opts.ifnames[0] = "xdpvm-none0";
    live = xdpvm_live_start(&opts, note, sizeof(note), err, sizeof(err));
    bool missing = !live && strstr(err, "does not exist");
    xdpvm_live_free(live);
    opts.ifnames[0] = "lo";
    opts.queues = 65;
    live = xdpvm_live_start(&opts, note, sizeof(note), err, sizeof(err));
    bool too_many = !live && strstr(err, "at most 64 queues");
    xdpvm_live_free(live);
    test_check(none && missing && too_many, "live_start_errors", "no ports: %d, missing: %d, "
               "65 queues: %d (last: %s)", none, missing, too_many, err);
}

static void test_lo_queues(void)
{
    uint32_t ifindex;
    char err[256];
    bool ok = xdpvm_iface_lookup("lo", &ifindex, err, sizeof(err)) == 0 && ifindex >= 1 &&
              xdpvm_iface_rx_queues("lo") >= 1 && xdpvm_iface_check_up("lo", err, sizeof(err)) == 0;
    if (!ok && access("/sys/class/net/lo", F_OK) != 0)
        test_skip("live_iface_lo", "no /sys/class/net/lo here");
    else
        test_check(ok, "live_iface_lo", "lo: %s", err);
}

int main(void)
{
    test_frame_pool();
    test_mode_names();
    test_missing_interface();
    test_live_start_errors();
    test_lo_queues();
    return test_exit_code();
}
