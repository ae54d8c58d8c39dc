/* The interpreter: runs a struct xdpvm_prog (see runtime.h) instruction by instruction.
 *
 * Dispatch expands the opcode table in isa.h (computed goto, one label per table row) over a
 * pre-decoded copy of the program built once per program (prog->interp_cache). When the
 * program is not verified (prog->verified false) every load/store/atomic is checked against
 * the run's regions, the active stack frames and the storage of the program's maps, reads of
 * registers that hold no value are refused, and an instruction budget stops runaway loops; a
 * verified program runs without those checks.
 *
 * Calls: helpers through prog->helpers->by_id (runtime.h ABI); bpf-to-bpf calls get their own
 * 512-byte frame, at most XDPVM_MAX_CALL_DEPTH frames in all (main program included, like the
 * kernel's MAX_CALL_FRAMES); tail calls (run->next_prog set by a helper) replace the current
 * frame's program; run->call_subprog is provided for callback helpers. */
#ifndef XDPVM_INTERP_H
#define XDPVM_INTERP_H

#include <stddef.h>

#include "runtime/runtime.h"

/* Largest program the interpreter loads: the kernel's limit for privileged programs
 * (BPF_COMPLEXITY_LIMIT_INSNS). */
#define XDPVM_INTERP_MAX_INSNS 1000000u

/* Load-time checks and pre-decoding; idempotent, safe to call before sharing the program
 * between threads. Refuses (with a sentence naming the instruction in err): what
 * xdpvm_isa_check_program refuses, programs larger than XDPVM_INTERP_MAX_INSNS, writes to
 * r10, calls to helper ids missing from prog->helpers, local calls or callback references
 * (lddw src=BPF_PSEUDO_FUNC) outside the program, subprograms that do not end with exit or an
 * unconditional jump, jumps from one subprogram into another, jumps to themselves, and lddw
 * map references that are not one of prog->maps. Returns 0 or -EINVAL (-ENOMEM). */
int xdpvm_interp_prepare(struct xdpvm_prog *prog, char *err, size_t err_size);

/* Free prog->interp_cache (no-op when none). */
void xdpvm_interp_release(struct xdpvm_prog *prog);

/* Run run->prog with r1 = (uint64_t)run->ctx. Sets *r0 and returns 0, or returns a negative
 * errno with run->error_pc / run->error_message saying which instruction failed and why.
 * Prepares the program on first use when xdpvm_interp_prepare was not called. The caller
 * provides a zeroed run apart from its inputs. Suitable as struct xdpvm_prog.exec; a tail
 * call into a program whose exec is another executor is made by setting run->prog to it and
 * calling its exec. */
int xdpvm_interp_run(struct xdpvm_run *run, uint64_t *r0);

/* Same, with explicit r1..r5 (the conformance suites pass memory in r1 and length in r2). */
int xdpvm_interp_run_args(struct xdpvm_run *run, const uint64_t args[5], uint64_t *r0);

/* Whether [addr, addr+size) is memory the running program may access (write: and modify):
 * the active stack frames, run->regions or a map of run->prog. For helpers that take
 * pointers in checked mode. Only valid while the interpreter runs (inside a helper). */
bool xdpvm_interp_access_ok(const struct xdpvm_run *run, uint64_t addr, uint64_t size, bool write);

#endif
