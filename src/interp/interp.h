/* The interpreter: runs a struct xdpvm_prog (see runtime.h) instruction by instruction.
 *
 * Dispatch expands the opcode table in isa.h (computed goto). When the program is not
 * verified (prog->verified false) every load/store is checked against the run's regions,
 * the stack and the storage of the program's maps, and an instruction budget stops
 * runaway loops; a verified program runs without those checks. */
#ifndef XDPVM_INTERP_H
#define XDPVM_INTERP_H

#include "runtime/runtime.h"

/* Run run->prog with r1 = (uint64_t)run->ctx. Sets *r0 and returns 0, or returns a negative
 * errno with run->error_pc / run->error_message saying which instruction failed and why.
 * Suitable as struct xdpvm_prog.exec. */
int xdpvm_interp_run(struct xdpvm_run *run, uint64_t *r0);

/* Same, with explicit r1..r5 (the conformance suites pass memory in r1 and length in r2). */
int xdpvm_interp_run_args(struct xdpvm_run *run, const uint64_t args[5], uint64_t *r0);

#endif
