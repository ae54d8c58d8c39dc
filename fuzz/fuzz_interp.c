/* libFuzzer target for the checked interpreter: fuzzed bytecode (unverified) runs on a fuzzed
 * packet through the XDP layer with the XDP helpers and a few maps; it must load or be
 * refused with a sentence, and run to an action or fail with a sentence, never crash. When
 * the verifier accepts the program, it also runs unchecked (verified), and its checked run
 * must not have failed on anything but the instruction budget: the verifier's soundness.
 *
 * Input: 2 bytes of packet length (little-endian, capped at the input), the packet, then the
 * program (8-byte instructions). lddw with src=1 (map_fd) or src=2 (map_value) take their imm
 * as an index into the maps below (map_value: plus the second slot's imm as offset), so the
 * fuzzer reaches the map helpers without guessing addresses. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/helpers.h"
#include "interp/interp.h"
#include "maps/maps.h"
#include "verifier/verifier.h"
#include "xdp/xdp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct xdpvm_map_spec specs[] = {
    {"arr", XDPVM_MAP_ARRAY, 4, 16, 4, 0},
    {"hash", XDPVM_MAP_HASH, 4, 8, 8, 0},
    {"rb", XDPVM_MAP_RINGBUF, 0, 0, 4096, 0},
    {"queue", XDPVM_MAP_QUEUE, 0, 8, 4, 0},
    {"progs", XDPVM_MAP_PROG_ARRAY, 4, 4, 2, 0},
    {"devs", XDPVM_MAP_DEVMAP, 4, 4, 4, 0},
    {"lpm", XDPVM_MAP_LPM_TRIE, 8, 8, 4, 1 /* BPF_F_NO_PREALLOC */},
    {"pcpu", XDPVM_MAP_PERCPU_HASH, 4, 8, 4, 0},
};
#define MAP_COUNT (sizeof(specs) / sizeof(specs[0]))
static struct xdpvm_map *maps[MAP_COUNT];
static FILE *trace_sink;

/* Fresh maps for every input, so that an input's outcome does not depend on the ones before
 * (a crash reproduces from its input alone). */
static void maps_create(void)
{
    char err[256];
    for (size_t i = 0; i < MAP_COUNT; i++)
        if (!(maps[i] = xdpvm_map_create(&specs[i], 2, err, sizeof(err)))) {
            fprintf(stderr, "fuzz_interp: %s\n", err);
            abort();
        }
    if (!trace_sink)
        trace_sink = fopen("/dev/null", "w");
}

static void maps_free(void)
{
    for (size_t i = 0; i < MAP_COUNT; i++)
        xdpvm_map_free(maps[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t pkt_len = (size_t)(data[0] | data[1] << 8);
    if (pkt_len > size - 2)
        pkt_len = size - 2;
    const uint8_t *pkt = data + 2;
    size_t count = (size - 2 - pkt_len) / sizeof(struct xdpvm_insn);
    if (count == 0 || count > 4096)
        return 0;
    struct xdpvm_insn *insns = malloc(count * sizeof(*insns));
    if (!insns)
        return 0;
    maps_create();
    memcpy(insns, pkt + pkt_len, count * sizeof(*insns));
    for (size_t i = 0; i + 1 < count; i++) {
        if (insns[i].code != 0x18)
            continue;
        uint64_t value = 0;
        struct xdpvm_map *m = maps[(uint32_t)insns[i].imm % MAP_COUNT];
        if (insns[i].src == XDPVM_PSEUDO_MAP_FD) {
            value = (uint64_t)(uintptr_t)m;
        } else if (insns[i].src == XDPVM_PSEUDO_MAP_VALUE) {
            void *start;
            size_t len;
            xdpvm_map_storage(m, &start, &len);
            value = (uint64_t)(uintptr_t)start + (len ? (uint32_t)insns[i + 1].imm % len : 0);
        } else {
            i++;
            continue;
        }
        insns[i].imm = (int32_t)(uint32_t)value;
        insns[i + 1].imm = (int32_t)(uint32_t)(value >> 32);
        i++;
    }
    struct xdpvm_prog prog = {.type = XDPVM_PROG_XDP, .insns = insns, .count = count, .maps = maps,
                              .map_count = MAP_COUNT, .helpers = xdpvm_helpers_for(XDPVM_PROG_XDP),
                              .exec = xdpvm_interp_run};
    snprintf(prog.name, sizeof(prog.name), "fuzz");
    /* the program may tail call itself */
    xdpvm_map_prog_array_set(maps[4], 0, &prog);
    char err[512] = "";
    if (xdpvm_interp_prepare(&prog, err, sizeof(err))) {
        if (!err[0])
            __builtin_trap();
        if (getenv("XDPVM_FUZZ_VERBOSE"))
            fprintf(stderr, "refused: %s\n", err);
    } else {
        struct xdpvm_xdp_opts opts = {.ingress_ifindex = 1, .trace = trace_sink, .insn_budget = 20000};
        struct xdpvm_xdp_runner *runner = xdpvm_xdp_runner_new(&prog, &opts, err, sizeof(err));
        if (runner) {
            struct xdpvm_xdp_result result;
            xdpvm_xdp_run_packet(runner, pkt, pkt_len, &result);
            if (result.error && !result.message[0])
                __builtin_trap(); /* a failure must say why */
            bool verbose = getenv("XDPVM_FUZZ_VERBOSE") != NULL; /* what a seed does */
            if (verbose)
                fprintf(stderr, "checked: %s: return %u %s\n", xdpvm_xdp_outcome_name(result.outcome),
                        result.ret, result.message);
            /* A program the verifier accepts runs unchecked too: a memory error there (ASan)
             * is the verifier's; and the checked run of it may not have failed on memory. */
            struct xdpvm_verify_result verdict;
            if (xdpvm_verify(&prog, NULL, &verdict) == 0) {
                bool memory_error = result.outcome == XDPVM_XDP_OUT_ABORTED && result.error &&
                                    result.error != -ELOOP;
                if (verbose || memory_error)
                    fprintf(stderr, "verifier accepted; the checked run said: %s\n",
                            result.error ? result.message : "(nothing)");
                if (memory_error)
                    __builtin_trap();
                xdpvm_xdp_run_packet(runner, pkt, pkt_len, &result);
                if (verbose)
                    fprintf(stderr, "unchecked: %s: return %u %s\n",
                            xdpvm_xdp_outcome_name(result.outcome), result.ret, result.message);
            } else if (verbose) {
                fprintf(stderr, "verifier: instruction %zu: %s\n", verdict.error_insn, verdict.reason);
            }
            xdpvm_xdp_runner_free(runner);
        }
        xdpvm_interp_release(&prog);
    }
    maps_free();
    free(insns);
    return 0;
}
