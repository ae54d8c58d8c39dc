/* The eBPF instruction set: the one opcode table and the typed instruction model.
 *
 * Every other component (assembler, disassembler, interpreter, verifier, JIT) expands
 * XDPVM_OPCODES below instead of keeping its own list; adding an instruction is one row.
 * Numbering follows the kernel's include/uapi/linux/bpf.h. This header depends on nothing
 * but libc.
 */
#ifndef XDPVM_ISA_H
#define XDPVM_ISA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Raw instruction: same layout as the kernel's struct bpf_insn. */
struct xdpvm_insn {
    uint8_t code;
    uint8_t dst : 4;
    uint8_t src : 4;
    int16_t off;
    int32_t imm;
};
_Static_assert(sizeof(struct xdpvm_insn) == 8, "eBPF instructions are 8 bytes");

/* Instruction classes, sizes, modes, operations and sources (linux/bpf.h numbering). */
enum {
    XDPVM_CLASS_LD = 0x00, XDPVM_CLASS_LDX = 0x01, XDPVM_CLASS_ST = 0x02, XDPVM_CLASS_STX = 0x03,
    XDPVM_CLASS_ALU = 0x04, XDPVM_CLASS_JMP = 0x05, XDPVM_CLASS_JMP32 = 0x06, XDPVM_CLASS_ALU64 = 0x07,
};
#define XDPVM_CLASS(code) ((code) & 0x07)

enum { XDPVM_SIZE_W = 0x00, XDPVM_SIZE_H = 0x08, XDPVM_SIZE_B = 0x10, XDPVM_SIZE_DW = 0x18 };
enum { XDPVM_MODE_IMM = 0x00, XDPVM_MODE_MEM = 0x60, XDPVM_MODE_MEMSX = 0x80, XDPVM_MODE_ATOMIC = 0xc0 };
enum { XDPVM_SRC_K = 0x00, XDPVM_SRC_X = 0x08 };

enum {
    XDPVM_ALU_ADD = 0x00, XDPVM_ALU_SUB = 0x10, XDPVM_ALU_MUL = 0x20, XDPVM_ALU_DIV = 0x30,
    XDPVM_ALU_OR = 0x40, XDPVM_ALU_AND = 0x50, XDPVM_ALU_LSH = 0x60, XDPVM_ALU_RSH = 0x70,
    XDPVM_ALU_NEG = 0x80, XDPVM_ALU_MOD = 0x90, XDPVM_ALU_XOR = 0xa0, XDPVM_ALU_MOV = 0xb0,
    XDPVM_ALU_ARSH = 0xc0, XDPVM_ALU_END = 0xd0,
};
enum {
    XDPVM_JMP_JA = 0x00, XDPVM_JMP_JEQ = 0x10, XDPVM_JMP_JGT = 0x20, XDPVM_JMP_JGE = 0x30,
    XDPVM_JMP_JSET = 0x40, XDPVM_JMP_JNE = 0x50, XDPVM_JMP_JSGT = 0x60, XDPVM_JMP_JSGE = 0x70,
    XDPVM_JMP_CALL = 0x80, XDPVM_JMP_EXIT = 0x90, XDPVM_JMP_JLT = 0xa0, XDPVM_JMP_JLE = 0xb0,
    XDPVM_JMP_JSLT = 0xc0, XDPVM_JMP_JSLE = 0xd0,
};
/* Atomic operations, carried in imm (linux/bpf.h BPF_ADD.. | BPF_FETCH, BPF_XCHG, BPF_CMPXCHG). */
enum {
    XDPVM_ATOMIC_FETCH = 0x01,
    XDPVM_ATOMIC_ADD = 0x00, XDPVM_ATOMIC_OR = 0x40, XDPVM_ATOMIC_AND = 0x50, XDPVM_ATOMIC_XOR = 0xa0,
    XDPVM_ATOMIC_XCHG = 0xe0 | 0x01, XDPVM_ATOMIC_CMPXCHG = 0xf0 | 0x01,
};
/* src field of a call and of lddw (BPF_PSEUDO_*). */
enum { XDPVM_CALL_HELPER = 0, XDPVM_CALL_LOCAL = 1, XDPVM_CALL_KFUNC = 2 };
enum {
    XDPVM_PSEUDO_NONE = 0, XDPVM_PSEUDO_MAP_FD = 1, XDPVM_PSEUDO_MAP_VALUE = 2,
    XDPVM_PSEUDO_BTF_ID = 3, XDPVM_PSEUDO_FUNC = 4, XDPVM_PSEUDO_MAP_IDX = 5,
    XDPVM_PSEUDO_MAP_IDX_VALUE = 6,
};

#define XDPVM_REG_COUNT 11 /* r0..r10 */
#define XDPVM_REG_FP 10
#define XDPVM_STACK_SIZE 512
#define XDPVM_MAX_CALL_DEPTH 8

/* Operand shapes: which fields an instruction uses and how the syntaxes print it. A field an
 * instruction does not use must be zero (the decoder rejects it, naming the field). */
enum xdpvm_shape {
    XDPVM_SHAPE_ALU_IMM,    /* dst op= imm */
    XDPVM_SHAPE_ALU_REG,    /* dst op= src */
    XDPVM_SHAPE_NEG,        /* dst = -dst */
    XDPVM_SHAPE_MOVSX,      /* dst = (sN)src; off is the source width */
    XDPVM_SHAPE_END,        /* byte swap of dst; imm is the width 16/32/64 */
    XDPVM_SHAPE_JMP_IMM,    /* if dst op imm goto off */
    XDPVM_SHAPE_JMP_REG,    /* if dst op src goto off */
    XDPVM_SHAPE_JA,         /* goto off */
    XDPVM_SHAPE_GOTOL,      /* goto imm (32-bit range) */
    XDPVM_SHAPE_CALL,       /* call helper imm */
    XDPVM_SHAPE_CALL_LOCAL, /* call pc + imm + 1 */
    XDPVM_SHAPE_CALLX,      /* call helper whose id is in dst (uBPF/clang callx) */
    XDPVM_SHAPE_EXIT,
    XDPVM_SHAPE_LDX,        /* dst = *(size *)(src + off) */
    XDPVM_SHAPE_ST,         /* *(size *)(dst + off) = imm */
    XDPVM_SHAPE_STX,        /* *(size *)(dst + off) = src */
    XDPVM_SHAPE_ATOMIC,     /* atomic op on *(size *)(dst + off) with src; imm is the op */
    XDPVM_SHAPE_LDDW,       /* dst = imm64, two slots; src is the pseudo kind */
};

/* Which field, if any, tells apart rows that share an opcode byte. */
enum xdpvm_match { XDPVM_MATCH_NONE, XDPVM_MATCH_OFF, XDPVM_MATCH_IMM, XDPVM_MATCH_SRC };

/* THE opcode table.
 * X(NAME, code byte, match field, match value, asm mnemonic (conformance-suite syntax),
 *   C-style operator (llvm-objdump syntax), shape, ISA version)
 * The asm mnemonic of 32-bit ALU, JMP32 and atomic rows carries the "32" suffix itself.
 */
#define XDPVM_ALU_BINARY_OPS(Y, X)                                   \
    Y(X, ADD, XDPVM_ALU_ADD, "add", "+=")                            \
    Y(X, SUB, XDPVM_ALU_SUB, "sub", "-=")                            \
    Y(X, MUL, XDPVM_ALU_MUL, "mul", "*=")                            \
    Y(X, OR, XDPVM_ALU_OR, "or", "|=")                               \
    Y(X, AND, XDPVM_ALU_AND, "and", "&=")                            \
    Y(X, LSH, XDPVM_ALU_LSH, "lsh", "<<=")                           \
    Y(X, RSH, XDPVM_ALU_RSH, "rsh", ">>=")                           \
    Y(X, XOR, XDPVM_ALU_XOR, "xor", "^=")                            \
    Y(X, ARSH, XDPVM_ALU_ARSH, "arsh", "s>>=")

#define XDPVM_JMP_COND_OPS(Y, X)                                     \
    Y(X, JEQ, XDPVM_JMP_JEQ, "jeq", "==", 1)                         \
    Y(X, JGT, XDPVM_JMP_JGT, "jgt", ">", 1)                          \
    Y(X, JGE, XDPVM_JMP_JGE, "jge", ">=", 1)                         \
    Y(X, JSET, XDPVM_JMP_JSET, "jset", "&", 1)                       \
    Y(X, JNE, XDPVM_JMP_JNE, "jne", "!=", 1)                         \
    Y(X, JSGT, XDPVM_JMP_JSGT, "jsgt", "s>", 1)                      \
    Y(X, JSGE, XDPVM_JMP_JSGE, "jsge", "s>=", 1)                     \
    Y(X, JLT, XDPVM_JMP_JLT, "jlt", "<", 2)                          \
    Y(X, JLE, XDPVM_JMP_JLE, "jle", "<=", 2)                         \
    Y(X, JSLT, XDPVM_JMP_JSLT, "jslt", "s<", 2)                      \
    Y(X, JSLE, XDPVM_JMP_JSLE, "jsle", "s<=", 2)

#define XDPVM_SIZES(Y, X)                                            \
    Y(X, B, XDPVM_SIZE_B, "b", 1)                                    \
    Y(X, H, XDPVM_SIZE_H, "h", 2)                                    \
    Y(X, W, XDPVM_SIZE_W, "w", 4)                                    \
    Y(X, DW, XDPVM_SIZE_DW, "dw", 8)

#define XDPVM_ATOMIC_OPS(Y, X)                                                           \
    Y(X, ADD, XDPVM_ATOMIC_ADD, "add", "+=")                                             \
    Y(X, OR, XDPVM_ATOMIC_OR, "or", "|=")                                                \
    Y(X, AND, XDPVM_ATOMIC_AND, "and", "&=")                                             \
    Y(X, XOR, XDPVM_ATOMIC_XOR, "xor", "^=")                                             \
    Y(X, FETCH_ADD, XDPVM_ATOMIC_ADD | XDPVM_ATOMIC_FETCH, "fetch add", "fetch_add")     \
    Y(X, FETCH_OR, XDPVM_ATOMIC_OR | XDPVM_ATOMIC_FETCH, "fetch or", "fetch_or")         \
    Y(X, FETCH_AND, XDPVM_ATOMIC_AND | XDPVM_ATOMIC_FETCH, "fetch and", "fetch_and")     \
    Y(X, FETCH_XOR, XDPVM_ATOMIC_XOR | XDPVM_ATOMIC_FETCH, "fetch xor", "fetch_xor")     \
    Y(X, XCHG, XDPVM_ATOMIC_XCHG, "xchg", "xchg")                                        \
    Y(X, CMPXCHG, XDPVM_ATOMIC_CMPXCHG, "cmpxchg", "cmpxchg")

#define XDPVM_A64 (XDPVM_CLASS_ALU64)
#define XDPVM_A32 (XDPVM_CLASS_ALU)

#define XDPVM_OPCODES(X)                                                                          \
    /* ALU64 and ALU32 binary operations, immediate and register source */                        \
    XDPVM_ALU_BINARY_OPS(XDPVM_ROW_ALU_BINARY, X)                                                \
    X(DIV64_IMM, XDPVM_A64 | XDPVM_ALU_DIV | XDPVM_SRC_K, OFF, 0, "div", "/=", ALU_IMM, 1)        \
    X(DIV64_REG, XDPVM_A64 | XDPVM_ALU_DIV | XDPVM_SRC_X, OFF, 0, "div", "/=", ALU_REG, 1)        \
    X(DIV32_IMM, XDPVM_A32 | XDPVM_ALU_DIV | XDPVM_SRC_K, OFF, 0, "div32", "/=", ALU_IMM, 1)      \
    X(DIV32_REG, XDPVM_A32 | XDPVM_ALU_DIV | XDPVM_SRC_X, OFF, 0, "div32", "/=", ALU_REG, 1)      \
    X(SDIV64_IMM, XDPVM_A64 | XDPVM_ALU_DIV | XDPVM_SRC_K, OFF, 1, "sdiv", "s/=", ALU_IMM, 4)     \
    X(SDIV64_REG, XDPVM_A64 | XDPVM_ALU_DIV | XDPVM_SRC_X, OFF, 1, "sdiv", "s/=", ALU_REG, 4)     \
    X(SDIV32_IMM, XDPVM_A32 | XDPVM_ALU_DIV | XDPVM_SRC_K, OFF, 1, "sdiv32", "s/=", ALU_IMM, 4)   \
    X(SDIV32_REG, XDPVM_A32 | XDPVM_ALU_DIV | XDPVM_SRC_X, OFF, 1, "sdiv32", "s/=", ALU_REG, 4)   \
    X(MOD64_IMM, XDPVM_A64 | XDPVM_ALU_MOD | XDPVM_SRC_K, OFF, 0, "mod", "%=", ALU_IMM, 1)        \
    X(MOD64_REG, XDPVM_A64 | XDPVM_ALU_MOD | XDPVM_SRC_X, OFF, 0, "mod", "%=", ALU_REG, 1)        \
    X(MOD32_IMM, XDPVM_A32 | XDPVM_ALU_MOD | XDPVM_SRC_K, OFF, 0, "mod32", "%=", ALU_IMM, 1)      \
    X(MOD32_REG, XDPVM_A32 | XDPVM_ALU_MOD | XDPVM_SRC_X, OFF, 0, "mod32", "%=", ALU_REG, 1)      \
    X(SMOD64_IMM, XDPVM_A64 | XDPVM_ALU_MOD | XDPVM_SRC_K, OFF, 1, "smod", "s%=", ALU_IMM, 4)     \
    X(SMOD64_REG, XDPVM_A64 | XDPVM_ALU_MOD | XDPVM_SRC_X, OFF, 1, "smod", "s%=", ALU_REG, 4)     \
    X(SMOD32_IMM, XDPVM_A32 | XDPVM_ALU_MOD | XDPVM_SRC_K, OFF, 1, "smod32", "s%=", ALU_IMM, 4)   \
    X(SMOD32_REG, XDPVM_A32 | XDPVM_ALU_MOD | XDPVM_SRC_X, OFF, 1, "smod32", "s%=", ALU_REG, 4)   \
    X(NEG64, XDPVM_A64 | XDPVM_ALU_NEG, NONE, 0, "neg", "-", NEG, 1)                             \
    X(NEG32, XDPVM_A32 | XDPVM_ALU_NEG, NONE, 0, "neg32", "-", NEG, 1)                           \
    X(MOV64_IMM, XDPVM_A64 | XDPVM_ALU_MOV | XDPVM_SRC_K, NONE, 0, "mov", "=", ALU_IMM, 1)        \
    X(MOV64_REG, XDPVM_A64 | XDPVM_ALU_MOV | XDPVM_SRC_X, OFF, 0, "mov", "=", ALU_REG, 1)         \
    X(MOV32_IMM, XDPVM_A32 | XDPVM_ALU_MOV | XDPVM_SRC_K, NONE, 0, "mov32", "=", ALU_IMM, 1)      \
    X(MOV32_REG, XDPVM_A32 | XDPVM_ALU_MOV | XDPVM_SRC_X, OFF, 0, "mov32", "=", ALU_REG, 1)       \
    X(MOVSX8_64, XDPVM_A64 | XDPVM_ALU_MOV | XDPVM_SRC_X, OFF, 8, "movsx864", "=", MOVSX, 4)      \
    X(MOVSX16_64, XDPVM_A64 | XDPVM_ALU_MOV | XDPVM_SRC_X, OFF, 16, "movsx1664", "=", MOVSX, 4)   \
    X(MOVSX32_64, XDPVM_A64 | XDPVM_ALU_MOV | XDPVM_SRC_X, OFF, 32, "movsx3264", "=", MOVSX, 4)   \
    X(MOVSX8_32, XDPVM_A32 | XDPVM_ALU_MOV | XDPVM_SRC_X, OFF, 8, "movsx832", "=", MOVSX, 4)      \
    X(MOVSX16_32, XDPVM_A32 | XDPVM_ALU_MOV | XDPVM_SRC_X, OFF, 16, "movsx1632", "=", MOVSX, 4)   \
    /* byte swaps: ALU|END|TO_LE/TO_BE convert to an endianness, ALU64|END swaps always */        \
    X(LE16, XDPVM_A32 | XDPVM_ALU_END | XDPVM_SRC_K, IMM, 16, "le16", "le16", END, 1)             \
    X(LE32, XDPVM_A32 | XDPVM_ALU_END | XDPVM_SRC_K, IMM, 32, "le32", "le32", END, 1)             \
    X(LE64, XDPVM_A32 | XDPVM_ALU_END | XDPVM_SRC_K, IMM, 64, "le64", "le64", END, 1)             \
    X(BE16, XDPVM_A32 | XDPVM_ALU_END | XDPVM_SRC_X, IMM, 16, "be16", "be16", END, 1)             \
    X(BE32, XDPVM_A32 | XDPVM_ALU_END | XDPVM_SRC_X, IMM, 32, "be32", "be32", END, 1)             \
    X(BE64, XDPVM_A32 | XDPVM_ALU_END | XDPVM_SRC_X, IMM, 64, "be64", "be64", END, 1)             \
    X(BSWAP16, XDPVM_A64 | XDPVM_ALU_END | XDPVM_SRC_K, IMM, 16, "bswap16", "bswap16", END, 4)    \
    X(BSWAP32, XDPVM_A64 | XDPVM_ALU_END | XDPVM_SRC_K, IMM, 32, "bswap32", "bswap32", END, 4)    \
    X(BSWAP64, XDPVM_A64 | XDPVM_ALU_END | XDPVM_SRC_K, IMM, 64, "bswap64", "bswap64", END, 4)    \
    /* jumps */                                                                                   \
    X(JA, XDPVM_CLASS_JMP | XDPVM_JMP_JA, NONE, 0, "ja", "goto", JA, 1)                           \
    X(GOTOL, XDPVM_CLASS_JMP32 | XDPVM_JMP_JA, NONE, 0, "ja32", "gotol", GOTOL, 4)                \
    XDPVM_JMP_COND_OPS(XDPVM_ROW_JMP_COND, X)                                                    \
    X(CALL, XDPVM_CLASS_JMP | XDPVM_JMP_CALL | XDPVM_SRC_K, SRC, 0, "call", "call", CALL, 1)      \
    X(CALL_LOCAL, XDPVM_CLASS_JMP | XDPVM_JMP_CALL | XDPVM_SRC_K, SRC, 1, "call local", "call",   \
      CALL_LOCAL, 1)                                                                              \
    X(CALLX, XDPVM_CLASS_JMP | XDPVM_JMP_CALL | XDPVM_SRC_X, NONE, 0, "call", "callx", CALLX, 4)  \
    X(EXIT, XDPVM_CLASS_JMP | XDPVM_JMP_EXIT, NONE, 0, "exit", "exit", EXIT, 1)                   \
    /* memory */                                                                                  \
    XDPVM_SIZES(XDPVM_ROW_MEM, X)                                                                \
    X(LDXSB, XDPVM_CLASS_LDX | XDPVM_MODE_MEMSX | XDPVM_SIZE_B, NONE, 0, "ldxsb", "s8", LDX, 4)   \
    X(LDXSH, XDPVM_CLASS_LDX | XDPVM_MODE_MEMSX | XDPVM_SIZE_H, NONE, 0, "ldxsh", "s16", LDX, 4)  \
    X(LDXSW, XDPVM_CLASS_LDX | XDPVM_MODE_MEMSX | XDPVM_SIZE_W, NONE, 0, "ldxsw", "s32", LDX, 4)  \
    XDPVM_ATOMIC_OPS(XDPVM_ROW_ATOMIC, X)                                                        \
    X(LDDW, XDPVM_CLASS_LD | XDPVM_MODE_IMM | XDPVM_SIZE_DW, NONE, 0, "lddw", "=", LDDW, 1)

/* Row generators for the families above; each expands to the X rows of one family member. */
#define XDPVM_ROW_ALU_BINARY(X, NAME, OP, MN, COP)                                                 \
    X(NAME##64_IMM, XDPVM_A64 | OP | XDPVM_SRC_K, NONE, 0, MN, COP, ALU_IMM, 1)                   \
    X(NAME##64_REG, XDPVM_A64 | OP | XDPVM_SRC_X, NONE, 0, MN, COP, ALU_REG, 1)                   \
    X(NAME##32_IMM, XDPVM_A32 | OP | XDPVM_SRC_K, NONE, 0, MN "32", COP, ALU_IMM, 1)              \
    X(NAME##32_REG, XDPVM_A32 | OP | XDPVM_SRC_X, NONE, 0, MN "32", COP, ALU_REG, 1)
#define XDPVM_ROW_JMP_COND(X, NAME, OP, MN, COP, VER)                                              \
    X(NAME##_IMM, XDPVM_CLASS_JMP | OP | XDPVM_SRC_K, NONE, 0, MN, COP, JMP_IMM, VER)             \
    X(NAME##_REG, XDPVM_CLASS_JMP | OP | XDPVM_SRC_X, NONE, 0, MN, COP, JMP_REG, VER)             \
    X(NAME##32_IMM, XDPVM_CLASS_JMP32 | OP | XDPVM_SRC_K, NONE, 0, MN "32", COP, JMP_IMM, 3)      \
    X(NAME##32_REG, XDPVM_CLASS_JMP32 | OP | XDPVM_SRC_X, NONE, 0, MN "32", COP, JMP_REG, 3)
/* The C-style operator of a memory row is its access type as llvm-objdump names it, in bits:
 * "u8" .. "u64". */
#define XDPVM_MEM_BITS(BYTES) XDPVM_MEM_BITS_##BYTES
#define XDPVM_MEM_BITS_1 "8"
#define XDPVM_MEM_BITS_2 "16"
#define XDPVM_MEM_BITS_4 "32"
#define XDPVM_MEM_BITS_8 "64"
#define XDPVM_ROW_MEM(X, NAME, SZ, SFX, BYTES)                                                     \
    X(LDX##NAME, XDPVM_CLASS_LDX | XDPVM_MODE_MEM | SZ, NONE, 0, "ldx" SFX,                       \
      "u" XDPVM_MEM_BITS(BYTES), LDX, 1)                                                          \
    X(ST##NAME, XDPVM_CLASS_ST | XDPVM_MODE_MEM | SZ, NONE, 0, "st" SFX,                          \
      "u" XDPVM_MEM_BITS(BYTES), ST, 1)                                                           \
    X(STX##NAME, XDPVM_CLASS_STX | XDPVM_MODE_MEM | SZ, NONE, 0, "stx" SFX,                       \
      "u" XDPVM_MEM_BITS(BYTES), STX, 1)
#define XDPVM_ROW_ATOMIC(X, NAME, OP, MN, COP)                                                     \
    X(ATOMIC32_##NAME, XDPVM_CLASS_STX | XDPVM_MODE_ATOMIC | XDPVM_SIZE_W, IMM, OP,               \
      "lock " MN "32", COP, ATOMIC, 3)                                                            \
    X(ATOMIC64_##NAME, XDPVM_CLASS_STX | XDPVM_MODE_ATOMIC | XDPVM_SIZE_DW, IMM, OP,              \
      "lock " MN, COP, ATOMIC, 3)

/* Dense operation ids, one per table row; XDPVM_OP_INVALID is 0 so zeroed memory is invalid. */
enum xdpvm_op {
    XDPVM_OP_INVALID = 0,
#define XDPVM_ENUM_ROW(NAME, ...) XDPVM_OP_##NAME,
    XDPVM_OPCODES(XDPVM_ENUM_ROW)
    XDPVM_OP__COUNT
};

/* What the table says about one operation. */
struct xdpvm_op_info {
    const char *name;       /* "ADD64_IMM" */
    uint8_t code;           /* opcode byte */
    enum xdpvm_match match; /* field that tells rows with the same code apart */
    int32_t match_value;
    const char *mnemonic;   /* conformance-suite assembler mnemonic: "add32", "lock fetch add" */
    const char *c_op;       /* llvm-objdump operator or keyword: "+=", "s>", "u32", "bswap16" */
    enum xdpvm_shape shape;
    uint8_t version;        /* first ISA version (v1..v4) that has it */
};

extern const struct xdpvm_op_info xdpvm_op_table[XDPVM_OP__COUNT];

/* Derived facts of an operation, from its table row. */
static inline unsigned xdpvm_op_access_size(const struct xdpvm_op_info *info)
{
    switch (info->code & 0x18) {
    case XDPVM_SIZE_B: return 1;
    case XDPVM_SIZE_H: return 2;
    case XDPVM_SIZE_W: return 4;
    default: return 8;
    }
}
static inline bool xdpvm_op_is_alu32(const struct xdpvm_op_info *info)
{
    return XDPVM_CLASS(info->code) == XDPVM_CLASS_ALU || XDPVM_CLASS(info->code) == XDPVM_CLASS_JMP32;
}

/* A jump inside the function, conditional or not (a local call is not one). */
static inline bool xdpvm_shape_is_jump(enum xdpvm_shape shape)
{
    return shape == XDPVM_SHAPE_JMP_IMM || shape == XDPVM_SHAPE_JMP_REG || shape == XDPVM_SHAPE_JA ||
           shape == XDPVM_SHAPE_GOTOL;
}
/* Execution never goes on to the next instruction: exit or an unconditional jump. */
static inline bool xdpvm_shape_ends_flow(enum xdpvm_shape shape)
{
    return shape == XDPVM_SHAPE_EXIT || shape == XDPVM_SHAPE_JA || shape == XDPVM_SHAPE_GOTOL;
}

/* A decoded instruction: the operation plus its operands, lddw already joined. */
struct xdpvm_decoded {
    enum xdpvm_op op;
    uint8_t dst, src;
    int16_t off;
    int32_t imm;
    uint64_t imm64; /* lddw only: both halves joined */
    uint8_t slots;  /* 1, or 2 for lddw */
};

/* Decode failure: which instruction, which field, and a sentence saying why. */
struct xdpvm_decode_error {
    size_t index;
    char message[160];
};

/* Decode the instruction at insns[index]. Returns 0, or -EINVAL with err filled in. Checks the
 * opcode, register numbers (r0..r10), fields the operation does not use being zero, and the
 * second lddw slot. Does not check jump targets (see xdpvm_isa_check_program). */
int xdpvm_isa_decode(const struct xdpvm_insn *insns, size_t count, size_t index,
                     struct xdpvm_decoded *out, struct xdpvm_decode_error *err);

/* Decode a whole program and check what can be checked without types: every instruction
 * decodes, jumps and local calls land inside the program and not on a second lddw slot,
 * and the last instruction is an exit or an unconditional jump. */
int xdpvm_isa_check_program(const struct xdpvm_insn *insns, size_t count,
                            struct xdpvm_decode_error *err);

/* Find the operation of a (code, off, imm, src) combination, or XDPVM_OP_INVALID. */
enum xdpvm_op xdpvm_isa_lookup(uint8_t code, uint8_t src, int16_t off, int32_t imm);

/* Registers an instruction's operands read and write, as bit masks (bit n: rn). Calls count
 * only their operand (callx reads dst): what a call does to r0..r5 is the calling convention,
 * left to the caller. r10 is read by no operand but a base register. */
void xdpvm_isa_regs(const struct xdpvm_decoded *d, uint16_t *reads, uint16_t *writes);

/* Encode a decoded instruction back to raw slot(s); returns the number of slots written. */
size_t xdpvm_isa_encode(const struct xdpvm_decoded *d, struct xdpvm_insn out[2]);

/* Target instruction of the jump, local call or callback reference (lddw with src
 * XDPVM_PSEUDO_FUNC) at index, given its decoded form. */
static inline int64_t xdpvm_isa_jump_target(const struct xdpvm_decoded *d, size_t index)
{
    if (d->op == XDPVM_OP_GOTOL || d->op == XDPVM_OP_CALL_LOCAL || d->op == XDPVM_OP_LDDW)
        return (int64_t)index + 1 + d->imm;
    return (int64_t)index + 1 + d->off;
}

#endif
