/* x86-64 JIT for verified programs.
 *
 * Compiles a linked struct xdpvm_prog to x86-64 machine code. The code does no run-time
 * memory checks: only programs the verifier accepted (or trusted test programs) may be
 * compiled. BPF registers live in machine registers as in the kernel's JIT (r0=rax, r1=rdi,
 * r2=rsi, r3=rdx, r4=rcx, r5=r8, r6=rbx, r7=r13, r8=r14, r9=r15, r10=rbp); every BPF function
 * gets a 512-byte frame on the native stack; helpers are called directly with r1..r5 in
 * place and the run as the sixth argument (runtime.h helper ABI). */
#ifndef XDPVM_JIT_H
#define XDPVM_JIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/runtime.h"

struct xdpvm_jit_opts {
    bool blind_constants;   /* like the kernel's bpf_jit_harden: ALU, jump, store and lddw
                             * immediates are XORed with a random key and never appear verbatim
                             * in executable memory */
};

/* Whether this host can run JIT code (x86-64). When false, callers keep the interpreter and
 * say so (xdpvm_jit_compile fails with -EOPNOTSUPP and a message). */
bool xdpvm_jit_available(void);

/* Compile prog: on success sets prog->jit_code/jit_size/jit_state and prog->exec (the native
 * entry itself, same contract as xdpvm_jit_run) and returns 0; on failure leaves prog untouched and returns a
 * negative errno with a message naming the instruction in err. Code memory is mapped
 * writable, filled, then made read+execute (never both). */
int xdpvm_jit_compile(struct xdpvm_prog *prog, const struct xdpvm_jit_opts *opts, char *err,
                      size_t err_size);
/* Release the code; prog->exec goes back to NULL when it was the JIT's (callers reinstall the
 * interpreter). */
void xdpvm_jit_free(struct xdpvm_prog *prog);

/* Run run->prog (JIT-compiled) with r1 = run->ctx: the prog->exec entry. Follows tail calls
 * (run->next_prog), into interpreted programs too. Sets *r0 and returns 0, or returns
 * run->error (set by a helper or a run-time trap such as callx of an unknown helper). */
int xdpvm_jit_run(struct xdpvm_run *run, uint64_t *r0);
/* Same with explicit r1..r5 (the conformance suites pass memory in r1, length in r2). */
int xdpvm_jit_run_args(struct xdpvm_run *run, const uint64_t args[5], uint64_t *r0);

/* Offset in prog->jit_code of the native code of BPF instruction pc (for `disasm --jited`);
 * SIZE_MAX when pc is not an instruction start or prog is not compiled. The code of pc
 * ends where the next instruction's begins (or at jit_body_end). */
size_t xdpvm_jit_insn_offset(const struct xdpvm_prog *prog, size_t pc);
/* The instruction whose native code also does the work of pc (the JIT merges byte copies,
 * byte stores of one value and byte-assembled 16-bit loads into wider accesses), SIZE_MAX
 * when pc has code of its own. */
size_t xdpvm_jit_merged_into(const struct xdpvm_prog *prog, size_t pc);
/* Where the instruction code ends: after it come the shared run-time stubs. */
size_t xdpvm_jit_body_end(const struct xdpvm_prog *prog);

#endif
