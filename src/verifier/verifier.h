/* The verifier: proves a program safe by the kernel's rules before it runs (docs/VERIFIER.md).
 * Thread-safe: verifications of different programs may run at the same time. */
#ifndef XDPVM_VERIFIER_H
#define XDPVM_VERIFIER_H

#include <stddef.h>
#include <stdio.h>

#include "runtime/runtime.h"

struct xdpvm_verify_opts {
    int log_level;          /* 0 none, 1 rejections and statistics, 2 every instruction */
    FILE *log;              /* where the log goes (NULL: no log; the verdict is in the result) */
};

struct xdpvm_verify_result {
    bool accepted;
    size_t error_insn;      /* instruction index of the rejection */
    char reason[512];       /* one sentence in plain words */
    uint64_t insns_processed; /* over all paths, like the kernel's "processed N insns" */
    uint64_t states, peak_states; /* states remembered; most alive (remembered + pending) */
    double seconds;
};

/* Verify prog (its helpers table and maps must be set; opts and result may be NULL). On
 * acceptance sets prog->verified and prog->stack_depth, on rejection clears prog->verified.
 * Returns 0 when accepted, -EACCES when rejected. */
int xdpvm_verify(struct xdpvm_prog *prog, const struct xdpvm_verify_opts *opts,
                 struct xdpvm_verify_result *result);

#endif
