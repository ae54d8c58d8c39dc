/* An example program compiled natively (build/bench/native/NAME.so: the unchanged
 * examples/NAME.bpf.c with bench/native/bpf_host.h, clang -O2 for the host), bound to the
 * maps of a loaded xdpvm object and to xdpvm's own helpers, as a struct xdpvm_prog whose exec
 * is the library's (the program inlined into an executor-shaped function): it runs wherever a
 * program runs (xdpvm_xdp_runner, the benchmark's loop), entered as the JIT's code is, so only
 * the program's code differs from the interpreter and the JIT.
 *
 * dlopen shares one copy of a library per process, so one binding per example at a time:
 * opening an example again rebinds the same library. Runs are not thread-safe (the library
 * holds the current run). */
#ifndef XDPVM_TESTLIB_NATIVE_EXAMPLE_H
#define XDPVM_TESTLIB_NATIVE_EXAMPLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/runtime.h"
#include "xdp/xdp.h"
#include "xdpvm/object.h"

struct native_example;

/* build/bench/native/<name>.so under root (XDPVM_ROOT, else the current directory). */
void native_example_path(const char *name, char *path, size_t size);

/* Load the native library at so_path and bind it to obj (loaded): the program prog_name and
 * every map of obj by name. NULL with a sentence in err (missing library, program or map). */
struct native_example *native_example_open(const char *so_path, struct xdpvm_object *obj,
                                           const char *prog_name, char *err, size_t err_size);
struct xdpvm_prog *native_example_prog(struct native_example *native);
void native_example_close(struct native_example *native); /* NULL is fine */

/* One packet through two runners, each on a fresh copy in its own frame (from
 * xdpvm_xdp_low_alloc, XDPVM_XDP_FRAME_SIZE bytes, packet at XDPVM_XDP_HEADROOM). Compares
 * outcome, action, data offset, length, metadata and packet bytes, redirect target and run
 * error; false with the first difference in why (names_a/names_b: "interpreter", "native"). */
bool xdp_runs_agree(struct xdpvm_xdp_runner *a, uint8_t *frame_a, const char *name_a,
                    struct xdpvm_xdp_runner *b, uint8_t *frame_b, const char *name_b,
                    const void *packet, uint32_t len, char *why, size_t why_size);

#endif
