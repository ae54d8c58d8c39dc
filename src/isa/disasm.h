/* Disassembler. Two syntaxes from the same opcode table:
 *  - XDPVM_SYNTAX_LLVM: what `llvm-objdump -d` prints for BPF ("r0 = 0x1", "if w1 > 0x2 goto +3",
 *    "r1 = *(u32 *)(r1 + 0x4)", "lock *(u64 *)(r1 + 0x0) += r2", "r1 = 0x1234 ll").
 *  - XDPVM_SYNTAX_ASM: the conformance suites' assembler syntax, which xdpvm_asm reads back. */
#ifndef XDPVM_DISASM_H
#define XDPVM_DISASM_H

#include <stddef.h>

#include "isa.h"

enum xdpvm_syntax { XDPVM_SYNTAX_LLVM, XDPVM_SYNTAX_ASM };

/* Print one decoded instruction at index into buf. Returns the length written (snprintf rules). */
int xdpvm_disasm_insn(const struct xdpvm_decoded *d, size_t index, enum xdpvm_syntax syntax,
                      char *buf, size_t size);

#endif
