/* libFuzzer target for the assembler: any text must assemble or fail with a line and a
 * sentence, never crash. What assembles must disassemble (both syntaxes), and the assembler
 * syntax must assemble back to the same instructions (the round trip the disassembler
 * promises). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "isa/asm.h"
#include "isa/disasm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 16384)
        return 0;
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    struct xdpvm_insn *insns = NULL;
    size_t count = 0;
    struct xdpvm_asm_error err = {0};
    if (xdpvm_asm(text, &insns, &count, &err)) {
        if (!err.message[0])
            __builtin_trap(); /* a failure must say why */
        free(text);
        return 0;
    }
    /* Disassemble in the assembler's syntax, jumps as relative offsets, and assemble again. */
    size_t cap = count * 96 + 1, len = 0;
    char *again = malloc(cap);
    bool whole = again != NULL;
    for (size_t i = 0; whole && i < count;) {
        struct xdpvm_decoded d;
        if (xdpvm_isa_decode(insns, count, i, &d, NULL)) {
            whole = false; /* e.g. a lone lddw half at the end: nothing to compare */
            break;
        }
        char line[96];
        xdpvm_disasm_insn(&d, i, XDPVM_SYNTAX_LLVM, line, sizeof(line));
        int n = xdpvm_disasm_insn(&d, i, XDPVM_SYNTAX_ASM, line, sizeof(line));
        if (n < 0 || (size_t)n >= sizeof(line) || len + (size_t)n + 2 > cap)
            __builtin_trap();
        memcpy(again + len, line, (size_t)n);
        len += (size_t)n;
        again[len++] = '\n';
        i += d.slots;
    }
    if (whole) {
        again[len] = '\0';
        struct xdpvm_insn *insns2 = NULL;
        size_t count2 = 0;
        if (xdpvm_asm(again, &insns2, &count2, &err) || count2 != count ||
            memcmp(insns, insns2, count * sizeof(*insns)))
            __builtin_trap(); /* disassembly that does not assemble back to itself */
        free(insns2);
    }
    free(again);
    free(insns);
    free(text);
    return 0;
}
