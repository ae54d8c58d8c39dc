/* x86-64 JIT for verified programs. */
#ifndef XDPVM_JIT_H
#define XDPVM_JIT_H

#include <stdbool.h>
#include <stddef.h>

#include "runtime/runtime.h"

struct xdpvm_jit_opts {
    bool blind_constants;   /* like the kernel's bpf_jit_harden */
};

/* Whether this host can run JIT code (x86-64). */
bool xdpvm_jit_available(void);

/* Compile prog: on success sets prog->jit_code/jit_size/exec and returns 0; on failure
 * leaves prog interpreted and returns a negative errno with a message in err. */
int xdpvm_jit_compile(struct xdpvm_prog *prog, const struct xdpvm_jit_opts *opts, char *err,
                      size_t err_size);
void xdpvm_jit_free(struct xdpvm_prog *prog);

#endif
