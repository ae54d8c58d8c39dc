/* Random XDP programs for soundness and differential tests (verifier, JIT).
 *
 * Programs are mostly plausible (packet bounds checks against data_end, NULL checks after
 * map lookups, masked indexes, initialised stack) with a deliberate mistake now and then, so
 * that a verifier accepts many and rejects some. Shape: r9 = ctx, r7 = data, r8 = data_end
 * are set in a prologue; r0..r6 start with random numbers; then random blocks (ALU of every
 * kind incl. 32-bit, div/mod, shifts, byte swaps; packet loads/stores; stack spills and
 * fills; map lookups; helper calls; forward branches over blocks; small counted loops;
 * optionally calls of small functions, some given a pointer into the caller's stack); the
 * program returns r0 & 3. Helpers used: 1 map_lookup_elem, 5 ktime_get_ns,
 * 7 get_prandom_u32 (kernel ids). Deterministic for a seed. */
#ifndef XDPVM_TESTS_RANDPROG_H
#define XDPVM_TESTS_RANDPROG_H

#include <stddef.h>
#include <stdint.h>

#include "isa/isa.h"

struct xdpvm_map;

struct randprog_opts {
    uint64_t seed;
    unsigned blocks;              /* random blocks; 0 means 12 */
    struct xdpvm_map *array_map;  /* NULL: no map lookups; else key 4 bytes, value >= 16 bytes */
    uint32_t value_size;          /* of array_map's values */
    unsigned mistake_percent;     /* chance of a deliberate mistake per block; 0 means 3 */
    bool subprograms;             /* also bpf-to-bpf calls (functions after the main exit) */
    bool callbacks;               /* also bpf_loop (helper 181) with callbacks on a stack context */
};

/* A malloc'd program (caller frees) of *count instructions; NULL when out of memory. */
struct xdpvm_insn *randprog_generate(const struct randprog_opts *opts, size_t *count);

#endif
