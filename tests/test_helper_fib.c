/* bpf_fib_lookup against the kernel's FIB: in a private network namespace the test gives the
 * kernel a veth device, routes and a neighbour, gives xdpvm the same routes through
 * xdpvm_helpers_set_fib, runs the `fib` program of tests/bpf/helper_xdp.bpf.c on both and
 * compares the lookup results, the rewritten packet and the redirect. Three cases: a route
 * with a resolved neighbour (SUCCESS), a route whose gateway has no neighbour (NO_NEIGH), no
 * route (NOT_FWDED). Needs root, the bpf syscall and `ip`: SKIP otherwise. */
#include "helpers/helpers.h"
#include "kernel/kernel.h"
#include "lib/testlib.h"
#include "maps/maps.h"
#include "xdp/xdp.h"
#include "xdpvm/object.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <sys/socket.h>

#define DEV "xfib0"

static const uint8_t dev_mac[6] = {0x02, 0, 0, 0, 0, 0x07};
static const uint8_t gw_mac[6] = {0x02, 0, 0, 0, 0, 0x77};

static const char *object_path(void)
{
    static char path[512];
    snprintf(path, sizeof(path), "%s/tests/bpf/helper_xdp.o", test_bpf_dir());
    return path;
}

/* The packet of test_helper_progs: 10.0.0.1 -> 10.0.0.2, UDP, 64 bytes. */
static void make_packet(uint8_t pkt[64])
{
    static const uint8_t head[42] = {
        0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02, 0x08, 0x00,
        0x45, 0, 0, 50, 0x12, 0x34, 0x40, 0, 64, 17, 0x14, 0x85, 10, 0, 0, 1, 10, 0, 0, 2,
        0x30, 0x39, 0x00, 0x35, 0, 30, 0, 0,
    };
    memcpy(pkt, head, sizeof(head));
    for (int i = 42; i < 64; i++)
        pkt[i] = (uint8_t)(i * 3);
}

static bool sh(const char *cmd)
{
    char line[512];
    snprintf(line, sizeof(line), "%s >/dev/null 2>&1", cmd);
    return system(line) == 0;
}

struct outcome {
    uint32_t ret, len;
    uint8_t data[128];
    int64_t rc, ifindex;
};

static bool run_xdpvm(struct xdpvm_object *obj, struct outcome *out, char *err, size_t err_size)
{
    struct xdpvm_prog *prog = xdpvm_program__prog(xdpvm_object__find_program_by_name(obj, "fib"));
    struct xdpvm_xdp_opts opts = {.ingress_ifindex = 1};
    struct xdpvm_xdp_runner *runner = prog ? xdpvm_xdp_runner_new(prog, &opts, err, err_size) : NULL;
    if (!runner)
        return false;
    uint8_t pkt[64];
    make_packet(pkt);
    struct xdpvm_xdp_result result;
    xdpvm_xdp_run_packet(runner, pkt, sizeof(pkt), &result);
    out->ret = result.ret;
    out->len = result.len;
    memcpy(out->data, result.data, result.len);
    xdpvm_xdp_runner_free(runner);
    struct xdpvm_map *results = xdpvm_object_map__map(xdpvm_object__find_map_by_name(obj, "results"));
    uint32_t k48 = 48, k49 = 49;
    return xdpvm_map_user_lookup(results, &k48, &out->rc) == 0 &&
           xdpvm_map_user_lookup(results, &k49, &out->ifindex) == 0;
}

static bool run_kernel(struct xdpvm_kernel_object *kobj, struct outcome *out)
{
    uint8_t pkt[64];
    make_packet(pkt);
    struct xdpvm_kernel_test_run run = {.data_in = pkt, .data_size_in = sizeof(pkt),
                                        .data_out = out->data, .data_size_out = sizeof(out->data)};
    uint32_t k48 = 48, k49 = 49;
    if (xdpvm_kernel_test_run(kobj, "fib", &run) ||
        xdpvm_kernel_map_lookup(kobj, "results", &k48, &out->rc) ||
        xdpvm_kernel_map_lookup(kobj, "results", &k49, &out->ifindex))
        return false;
    out->ret = run.retval;
    out->len = run.data_size_out;
    return true;
}

static void compare(const char *test, struct xdpvm_object *obj, struct xdpvm_kernel_object *kobj,
                    int64_t want_rc)
{
    struct outcome mine = {0}, theirs = {0};
    char err[256] = "";
    if (!run_xdpvm(obj, &mine, err, sizeof(err)) || !run_kernel(kobj, &theirs)) {
        test_fail(test, "run failed: %s %s", err, xdpvm_kernel_error());
        return;
    }
    if (theirs.rc != want_rc) {
        test_fail(test, "the kernel's lookup gave %lld, the test expected %lld (namespace setup?)",
                  (long long)theirs.rc, (long long)want_rc);
        return;
    }
    if (mine.rc != theirs.rc || mine.ifindex != theirs.ifindex || mine.ret != theirs.ret ||
        mine.len != theirs.len || memcmp(mine.data, theirs.data, mine.len)) {
        test_fail(test, "xdpvm: rc %lld ifindex %lld ret %u; kernel: rc %lld ifindex %lld ret %u%s",
                  (long long)mine.rc, (long long)mine.ifindex, mine.ret, (long long)theirs.rc,
                  (long long)theirs.ifindex, theirs.ret,
                  mine.len == theirs.len && memcmp(mine.data, theirs.data, mine.len) ? " (packets differ)" : "");
        return;
    }
    test_pass(test);
}

int main(void)
{
    const char *why;
    if (!test_kernel_bpf_available(&why)) {
        test_skip("helper_fib_vs_kernel", "%s", why);
        return test_exit_code();
    }
    errno = 0;
    if (unshare(CLONE_NEWNET) != 0 || !sh("ip link set lo up") ||
        !sh("ip link add " DEV " type veth peer name " DEV "p") ||
        !sh("ip link set " DEV "p up") ||
        !sh("ip link set " DEV " address 02:00:00:00:00:07 up") ||
        !sh("ip addr add 192.0.2.1/24 dev " DEV) || !sh("sysctl -w net.ipv4.ip_forward=1") ||
        !sh("ip route add 10.0.0.0/8 via 192.0.2.2 dev " DEV) ||
        !sh("ip neigh add 192.0.2.2 lladdr 02:00:00:00:00:77 dev " DEV " nud permanent")) {
        test_skip("helper_fib_vs_kernel", "cannot set up a network namespace with a veth pair%s%s",
                  errno ? ": " : "", errno ? strerror(errno) : "");
        return test_exit_code();
    }
    uint32_t ifindex = if_nametoindex(DEV);
    XDPVM_OPEN_OPTS(opts, .ncpus = 1, .quiet = true);
    struct xdpvm_object *obj = xdpvm_object__open(object_path(), &opts);
    struct xdpvm_kernel_object *kobj = xdpvm_kernel_open(object_path());
    if (!obj || xdpvm_object__load(obj) || !kobj || xdpvm_kernel_load(kobj)) {
        test_fail("helper_fib_vs_kernel", "load: %s / %s", xdpvm_last_error(), xdpvm_kernel_error());
        goto done;
    }
    struct xdpvm_fib_route route = {.family = AF_INET, .prefix = {10}, .prefix_len = 8,
                                    .ifindex = ifindex};
    memcpy(route.smac, dev_mac, 6);
    memcpy(route.dmac, gw_mac, 6);
    xdpvm_helpers_set_fib(&route, 1);
    compare("helper_fib_vs_kernel_success", obj, kobj, 0 /* BPF_FIB_LKUP_RET_SUCCESS */);

    /* the gateway changes to one without a neighbour entry */
    if (!sh("ip route replace 10.0.0.0/8 via 192.0.2.3 dev " DEV)) {
        test_fail("helper_fib_vs_kernel_no_neigh", "ip route replace failed");
        goto done;
    }
    memset(route.dmac, 0, 6);
    xdpvm_helpers_set_fib(&route, 1);
    compare("helper_fib_vs_kernel_no_neigh", obj, kobj, 7 /* BPF_FIB_LKUP_RET_NO_NEIGH */);

    if (!sh("ip route del 10.0.0.0/8")) {
        test_fail("helper_fib_vs_kernel_no_route", "ip route del failed");
        goto done;
    }
    xdpvm_helpers_set_fib(NULL, 0);
    compare("helper_fib_vs_kernel_no_route", obj, kobj, 4 /* BPF_FIB_LKUP_RET_NOT_FWDED */);
done:
    xdpvm_helpers_set_fib(NULL, 0);
    xdpvm_kernel_close(kobj);
    xdpvm_object__close(obj);
    return test_exit_code();
}
