/* The kernel oracle (src/kernel) itself: load through libbpf, BPF_PROG_TEST_RUN with packet in
 * and out, map reads and writes (per-CPU aware), .rodata set before load, the verifier's verdict
 * and log. Needs root and the bpf syscall; SKIP with the reason otherwise. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/kernel.h"
#include "lib/testlib.h"

static const char *object_path(const char *name)
{
    static char path[512];
    snprintf(path, sizeof(path), "%s/tests/bpf/%s.o", test_bpf_dir(), name);
    return path;
}

static void make_packet(uint8_t *pkt, size_t len, uint16_t proto)
{
    for (size_t i = 0; i < len; i++)
        pkt[i] = (uint8_t)i;
    pkt[12] = (uint8_t)(proto >> 8);
    pkt[13] = (uint8_t)proto;
}

static void test_run_and_maps(void)
{
    const char *test = "kernel_test_run_and_maps";
    struct xdpvm_kernel_object *obj = xdpvm_kernel_open(object_path("loader_maps"));
    if (!obj || xdpvm_kernel_load(obj)) {
        test_fail(test, "%s", xdpvm_kernel_error());
        xdpvm_kernel_close(obj);
        return;
    }
    uint8_t pkt[200], out[256];
    make_packet(pkt, 64, 0x0800);
    struct xdpvm_kernel_test_run run = {.data_in = pkt, .data_size_in = 64, .data_out = out,
                                        .data_size_out = sizeof(out), .repeat = 3};
    int err = xdpvm_kernel_test_run(obj, "count_packets", &run);
    make_packet(pkt, 150, 0x0800);
    struct xdpvm_kernel_test_run run2 = {.data_in = pkt, .data_size_in = 150};
    int err2 = xdpvm_kernel_test_run(obj, "count_packets", &run2);
    if (err || err2) {
        test_fail(test, "%s", xdpvm_kernel_error());
        xdpvm_kernel_close(obj);
        return;
    }
    /* repeat 3 + 1 run: lengths 64 (x3) and 150. */
    uint32_t key = 0;
    uint64_t stats[2] = {0, 0};
    int lookup = xdpvm_kernel_map_lookup(obj, "stats_by_len_mod4", &key, stats);
    struct xdpvm_kernel_map_info info;
    int info_err = xdpvm_kernel_map_info(obj, "percpu_packets", &info);
    unsigned cpus = xdpvm_kernel_possible_cpus();
    uint64_t *percpu = calloc(cpus, 8), sum = 0;
    int percpu_err = percpu ? xdpvm_kernel_map_lookup(obj, "percpu_packets", &key, percpu) : -ENOMEM;
    for (unsigned c = 0; percpu && c < cpus; c++)
        sum += percpu[c];
    uint32_t len_key = 150;
    uint64_t count = 0, ten = 10;
    int update = xdpvm_kernel_map_update(obj, "packets_by_len", &len_key, &ten, 0);
    int reread = xdpvm_kernel_map_lookup(obj, "packets_by_len", &len_key, &count);
    uint32_t first, next;
    int keys = 0;
    for (int r = xdpvm_kernel_map_get_next_key(obj, "packets_by_len", NULL, &next); r == 0;
         r = xdpvm_kernel_map_get_next_key(obj, "packets_by_len", &first, &next)) {
        first = next;
        keys++;
    }
    int missing = xdpvm_kernel_map_lookup(obj, "no_such_map", &key, stats);
    test_check(run.retval == 2 && run.data_size_out == 64 && memcmp(out, pkt, 12) == 0 && run2.retval == 1 &&
                   lookup == 0 && stats[0] == 3 && stats[1] == 3 * 64 && info_err == 0 &&
                   info.user_value_size == cpus * 8u && percpu_err == 0 && sum == 4 && update == 0 && reread == 0 &&
                   count == 10 && keys == 2 && missing == -ENOENT && strstr(xdpvm_kernel_error(), "no_such_map"),
               test,
               "retvals %u/%u, out %u bytes, stats %llu/%llu, per-CPU sum %llu over %u CPUs, count %llu, %d keys (%s)",
               run.retval, run2.retval, run.data_size_out, (unsigned long long)stats[0], (unsigned long long)stats[1],
               (unsigned long long)sum, cpus, (unsigned long long)count, keys, xdpvm_kernel_error());
    free(percpu);
    xdpvm_kernel_close(obj);
}

static void test_rodata_before_load(void)
{
    const char *test = "kernel_rodata_set_before_load";
    struct xdpvm_kernel_object *obj = xdpvm_kernel_open(object_path("loader_globals"));
    size_t size = 0;
    uint32_t *ro = obj ? xdpvm_kernel_initial_value(obj, ".rodata", &size) : NULL;
    if (!ro || size != 8) {
        test_fail(test, "no .rodata of 8 bytes: %s", xdpvm_kernel_error());
        xdpvm_kernel_close(obj);
        return;
    }
    ro[0] = 50; /* drop_longer_than */
    if (xdpvm_kernel_load(obj)) {
        test_fail(test, "%s", xdpvm_kernel_error());
        xdpvm_kernel_close(obj);
        return;
    }
    uint8_t pkt[100];
    make_packet(pkt, sizeof(pkt), 0x0800);
    struct xdpvm_kernel_test_run small = {.data_in = pkt, .data_size_in = 40};
    struct xdpvm_kernel_test_run big = {.data_in = pkt, .data_size_in = 100};
    int err = xdpvm_kernel_test_run(obj, "globals", &small) | xdpvm_kernel_test_run(obj, "globals", &big);
    uint32_t key = 0;
    uint64_t packets = 0;
    int lookup = xdpvm_kernel_map_lookup(obj, ".data", &key, &packets);
    test_check(err == 0 && small.retval == 2 && big.retval == 1 && lookup == 0 && packets == 102, test,
               "actions %u %u (expected 2 1), packets_seen %llu (expected 102): %s", small.retval, big.retval,
               (unsigned long long)packets, xdpvm_kernel_error());
    xdpvm_kernel_close(obj);
}

static void test_verifier_verdicts(void)
{
    char *log = malloc(1 << 16);
    if (!log) {
        test_fail("kernel_verifier_rejects_unchecked_packet_read", "out of memory");
        return;
    }
    int rejected = xdpvm_kernel_verify(object_path("loader_kernel_reject"), "unchecked_read", 1, log, 1 << 16);
    test_check(rejected == -EACCES && strstr(log, "invalid access to packet") &&
                   strstr(xdpvm_kernel_error(), "rejected"),
               "kernel_verifier_rejects_unchecked_packet_read", "verdict %d, log: %.300s", rejected, log);
    int accepted = xdpvm_kernel_verify(object_path("loader_kernel_reject"), "checked_read", 1, log, 1 << 16);
    test_check(accepted == 0 && strstr(log, "processed"), "kernel_verifier_accepts_checked_packet_read",
               "verdict %d, log: %.300s (%s)", accepted, log, xdpvm_kernel_error());
    /* Loading looper alone leaves the tail call target unloaded, so libbpf fails to fill the
     * prog_array after the verifier accepted looper: still an accepting verdict. */
    int alone = xdpvm_kernel_verify(object_path("loader_callbacks"), "looper", 1, log, 1 << 16);
    test_check(alone == 0 && strstr(log, "processed"), "kernel_verify_accepts_despite_other_failures",
               "verdict %d (%s)", alone, xdpvm_kernel_error());
    int missing = xdpvm_kernel_verify(object_path("loader_kernel_reject"), "nope", 1, log, 1 << 16);
    test_check(missing == -ENOENT && strstr(xdpvm_kernel_error(), "nope"), "kernel_verify_unknown_program",
               "got %d: %s", missing, xdpvm_kernel_error());
    free(log);
}

int main(void)
{
    char why[256];
    if (!xdpvm_kernel_available(why, sizeof(why))) {
        test_skip("kernel_test_run_and_maps", "%s", why);
        test_skip("kernel_rodata_set_before_load", "%s", why);
        test_skip("kernel_verifier_rejects_unchecked_packet_read", "%s", why);
        test_skip("kernel_verifier_accepts_checked_packet_read", "%s", why);
        test_skip("kernel_verify_unknown_program", "%s", why);
        test_skip("kernel_verify_accepts_despite_other_failures", "%s", why);
        return test_exit_code();
    }
    test_run_and_maps();
    test_rodata_before_load();
    test_verifier_verdicts();
    return test_exit_code();
}
