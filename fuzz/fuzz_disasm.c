/* libFuzzer target for the decoder and disassembler: any bytes, read as instructions, must
 * decode or be refused with a sentence, and every instruction that decodes must print in both
 * syntaxes and encode back to the same bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "isa/disasm.h"
#include "isa/isa.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t count = size / sizeof(struct xdpvm_insn);
    if (count == 0 || count > 4096)
        return 0;
    struct xdpvm_insn *insns = malloc(count * sizeof(*insns));
    if (!insns)
        return 0;
    memcpy(insns, data, count * sizeof(*insns));
    struct xdpvm_decode_error err = {0};
    if (xdpvm_isa_check_program(insns, count, &err) && !err.message[0])
        __builtin_trap();
    for (size_t i = 0; i < count; i++) {
        struct xdpvm_decoded d;
        err.message[0] = '\0';
        if (xdpvm_isa_decode(insns, count, i, &d, &err)) {
            if (!err.message[0])
                __builtin_trap();
            continue;
        }
        char line[128];
        if (xdpvm_disasm_insn(&d, i, XDPVM_SYNTAX_LLVM, line, sizeof(line)) <= 0 ||
            xdpvm_disasm_insn(&d, i, XDPVM_SYNTAX_ASM, line, sizeof(line)) <= 0)
            __builtin_trap();
        xdpvm_disasm_insn(&d, i, XDPVM_SYNTAX_LLVM, line, 8); /* truncated output */
        struct xdpvm_insn back[2];
        size_t slots = xdpvm_isa_encode(&d, back);
        if (slots != d.slots || memcmp(back, &insns[i], slots * sizeof(*back)))
            __builtin_trap(); /* decoding lost or invented a field */
        (void)xdpvm_isa_jump_target(&d, i);
    }
    free(insns);
    return 0;
}
