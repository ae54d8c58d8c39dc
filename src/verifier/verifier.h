/* The verifier: proves a program safe by the kernel's rules before it runs. */
#ifndef XDPVM_VERIFIER_H
#define XDPVM_VERIFIER_H

#include <stddef.h>
#include <stdio.h>

#include "runtime/runtime.h"

struct xdpvm_verify_opts {
    int log_level;          /* 0 none, 1 rejections and statistics, 2 every instruction */
    FILE *log;              /* where the log goes (NULL: collected in result only) */
};

struct xdpvm_verify_result {
    bool accepted;
    size_t error_insn;      /* instruction index of the rejection */
    char reason[512];       /* one sentence in plain words */
    uint64_t insns_processed;
    uint64_t states, peak_states;
    double seconds;
};

/* Verify prog (its helpers table and maps must be set). On acceptance sets prog->verified
 * and prog->stack_depth. Returns 0 when accepted, -EACCES/-EINVAL when rejected. */
int xdpvm_verify(struct xdpvm_prog *prog, const struct xdpvm_verify_opts *opts,
                 struct xdpvm_verify_result *result);

#endif
