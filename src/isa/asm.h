/* Assembler for the conformance suites' syntax (bpf_conformance / uBPF):
 *   mov32 %r0, 1 / ldxdw %r0, [%r1+2] / stxdw [%r10-8], %r1 / lddw %r1, 0x1111111111111111
 *   lock fetch add [%r10-8], %r1 / be16 %r0 / jne %r2, %r0, exit / call 1 / call %r2 /
 *   call local func1 / labels "name:" / numeric offsets +3 -2 / "exit" as implicit label.
 * Driven by the opcode table in isa.h (mnemonics come from there). */
#ifndef XDPVM_ASM_H
#define XDPVM_ASM_H

#include <stddef.h>

#include "isa.h"

struct xdpvm_asm_error {
    unsigned line;        /* 1-based source line */
    char message[200];
};

/* Assemble text into *out (malloc'd, caller frees). Returns 0 or -EINVAL with err set. */
int xdpvm_asm(const char *text, struct xdpvm_insn **out, size_t *count, struct xdpvm_asm_error *err);

/* Name of an lddw pseudo source (src field) in this syntax, written as lddw's optional third
 * operand: "map_fd", "map_value", ...; "imm" for 0; NULL when src is not a pseudo kind. */
const char *xdpvm_asm_pseudo_name(unsigned src);

#endif
