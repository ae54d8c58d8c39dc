/* ISA unit tests: opcode table round trips (encode/decode, disassemble/assemble), decoder
 * errors, and the assembler over every program of the conformance suites. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <unistd.h>

#include "isa/asm.h"
#include "isa/disasm.h"
#include "isa/isa.h"
#include "lib/conformance.h"
#include "lib/testlib.h"

/* ---- conformance .data files ---------------------------------------------------------------- */

/* Text of section "-- NAME" (up to the next "--" line), or NULL. *at_file receives the FILE of
 * "-- NAME @ FILE" forms. Caller frees. */
static char *data_section(const char *data, const char *name, char *at_file, size_t at_size)
{
    size_t name_len = strlen(name);
    at_file[0] = '\0';
    for (const char *line = data; line && *line;) {
        const char *next = strchr(line, '\n');
        next = next ? next + 1 : NULL;
        if (!strncmp(line, "-- ", 3) && !strncmp(line + 3, name, name_len) &&
            (line[3 + name_len] == '\n' || line[3 + name_len] == ' ' || line[3 + name_len] == '\0')) {
            const char *at = line + 3 + name_len;
            if (!strncmp(at, " @ ", 3)) {
                size_t len = strcspn(at + 3, "\n");
                snprintf(at_file, at_size, "%.*s", (int)len, at + 3);
            }
            const char *end = next;
            while (end && *end && strncmp(end, "--", 2)) {
                const char *nl = strchr(end, '\n');
                end = nl ? nl + 1 : end + strlen(end);
            }
            if (!next)
                return strdup("");
            return strndup(next, (size_t)(end - next));
        }
        line = next;
    }
    return NULL;
}

/* The program text of a .data file (its asm section, or the file it points to), or NULL. */
static char *data_asm(const char *dir, const char *data)
{
    char at_file[256];
    char *text = data_section(data, "asm", at_file, sizeof(at_file));
    if (text && at_file[0]) {
        free(text);
        char path[1024];
        snprintf(path, sizeof(path), "%s/%s", dir, at_file);
        return test_read_file(path, NULL);
    }
    return text;
}

/* Parse "-- raw" (one 0x%016 per instruction) into insns. Returns count or -1. */
static long data_raw(const char *data, struct xdpvm_insn **out)
{
    char at_file[256];
    char *text = data_section(data, "raw", at_file, sizeof(at_file));
    if (!text)
        return -1;
    size_t cap = 16, n = 0;
    struct xdpvm_insn *insns = malloc(cap * sizeof(*insns));
    for (char *tok = strtok(text, " \t\n"); tok; tok = strtok(NULL, " \t\n")) {
        if (tok[0] == '#')
            continue;
        uint64_t v = strtoull(tok, NULL, 16);
        if (n == cap)
            insns = realloc(insns, (cap *= 2) * sizeof(*insns));
        memcpy(&insns[n++], &v, sizeof(v)); /* the suites write the little-endian slot as a u64 */
    }
    free(text);
    *out = insns;
    return (long)n;
}

struct corpus_stats {
    unsigned programs, failed, raw_checked, round_trips;
    char first_failure[400];
};

/* Disassemble a whole program in the suites' syntax and assemble the text again: same bytes.
 * Programs with undecodable instructions (error tests) count as passing. */
static bool reassembles(const struct xdpvm_insn *insns, size_t count)
{
    size_t capacity = count * 64 + 1, used = 0;
    char *text = malloc(capacity);
    struct xdpvm_decoded d;
    for (size_t i = 0; i < count; i += d.slots) {
        if (xdpvm_isa_decode(insns, count, i, &d, NULL)) {
            free(text);
            return true;
        }
        used += (size_t)xdpvm_disasm_insn(&d, i, XDPVM_SYNTAX_ASM, text + used, capacity - used - 1);
        text[used++] = '\n';
        text[used] = '\0';
    }
    struct xdpvm_insn *again = NULL;
    size_t again_count = 0;
    struct xdpvm_asm_error err;
    bool same = !xdpvm_asm(text, &again, &again_count, &err) && again_count == count &&
                !memcmp(again, insns, count * sizeof(*insns));
    free(again);
    free(text);
    return same;
}

static void assemble_suite_file(const char *dir, const char *file, const char *data, struct corpus_stats *st)
{
    char *text = data_asm(dir, data);
    if (!text)
        return;
    char at_file[8];
    char *error_section = data_section(data, "error", at_file, sizeof(at_file));
    free(error_section);
    struct xdpvm_insn *insns;
    size_t count;
    struct xdpvm_asm_error err;
    st->programs++;
    int rc = xdpvm_asm(text, &insns, &count, &err);
    /* Tests that expect an error may fail to assemble; every other one must assemble. */
    if (rc && !error_section) {
        if (!st->failed++)
            snprintf(st->first_failure, sizeof(st->first_failure), "%s/%s line %u: %s", dir, file,
                     err.line, err.message);
    }
    if (!rc && !reassembles(insns, count)) {
        if (!st->failed++)
            snprintf(st->first_failure, sizeof(st->first_failure),
                     "%s/%s: disassembling and assembling again changes the program", dir, file);
    } else if (!rc) {
        st->round_trips++;
    }
    struct xdpvm_insn *raw;
    long raw_count = data_raw(data, &raw);
    if (!rc && raw_count >= 0) {
        st->raw_checked++;
        if ((size_t)raw_count != count || memcmp(raw, insns, count * sizeof(*insns))) {
            if (!st->failed++)
                snprintf(st->first_failure, sizeof(st->first_failure),
                         "%s/%s: assembled bytes differ from its -- raw section", dir, file);
        }
    }
    if (raw_count >= 0)
        free(raw);
    if (!rc)
        free(insns);
    free(text);
}

static void test_conformance_corpus(void)
{
    char dir[1024];
    const char *suites[] = {"bpf_conformance/tests", "ubpf/tests"};
    for (size_t i = 0; i < 2; i++) {
        char name[128];
        snprintf(name, sizeof(name), "asm_corpus_%s", suites[i]);
        snprintf(dir, sizeof(dir), "%s/conformance/%s", test_shared_dir(), suites[i]);
        DIR *d = opendir(dir);
        if (!d) {
            test_skip(name, "conformance data not found at %s (set XDPVM_SHARED)", dir);
            continue;
        }
        closedir(d);
        struct corpus_stats st = {0};
        char **paths;
        int count = conformance_list(dir, &paths);
        for (int f = 0; f < count; f++) {
            char *data = test_read_file(paths[f], NULL);
            char *slash = strrchr(paths[f], '/');
            *slash = 0; /* paths[f] becomes the file's folder, which its includes are relative to */
            if (data)
                assemble_suite_file(paths[f], slash + 1, data, &st);
            free(data);
        }
        if (count > 0)
            conformance_free_paths(paths, count);
        test_check(st.programs > 50 && st.raw_checked > 0 && st.round_trips > 50 && !st.failed, name,
                   "%u of %u programs failed (raw checked %u, round trips %u); first: %s", st.failed, st.programs,
                   st.raw_checked, st.round_trips, st.first_failure);
    }
}

/* Every malformed program in bpf_conformance/negative must be refused by the assembler with a
 * message naming the problem. */
static void test_negative_assembly(void)
{
    static const struct {
        const char *file, *expect;
    } cases[] = {
        {"invalid_imm32_dec_range.data", "out of range"},
        {"invalid_imm32_hex_range.data", "out of range"},
        {"invalid_label.data", "invalid label 'NOT_A_LABEL'"},
        {"invalid_lock.data", "invalid number of operands for lock or"},
        {"invalid_lock2.data", "invalid lock"},
        {"invalid_mnemonic.data", "invalid mnemonic 'ldxq'"},
        {"invalid_offset.data", "memory operand"},
        {"invalid_offset_range.data", "out of range"},
        {"invalid_operand_count.data", "invalid number of operands for lddw"},
        {"invalid_register.data", "invalid register '%r50'"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char path[1024], name[128];
        snprintf(name, sizeof(name), "asm_negative_%s", cases[i].file);
        snprintf(path, sizeof(path), "%s/conformance/bpf_conformance/negative/%s", test_shared_dir(), cases[i].file);
        char *data = test_read_file(path, NULL);
        if (!data) {
            test_skip(name, "%s not found", path);
            continue;
        }
        char *text = data_asm(".", data);
        struct xdpvm_insn *insns = NULL;
        size_t count;
        struct xdpvm_asm_error err = {0};
        int rc = text ? xdpvm_asm(text, &insns, &count, &err) : 0;
        test_check(rc == -EINVAL && strstr(err.message, cases[i].expect) && err.line >= 1, name,
                   "rc=%d line=%u message '%s', expected '%s'", rc, err.line, err.message, cases[i].expect);
        if (!rc)
            free(insns);
        free(text);
        free(data);
    }
}

/* ---- every row of the opcode table ------------------------------------------------------------ */

/* Which fields each shape uses, stated independently of isa.c so the decoder is checked
 * against a second reading of the ISA. */
enum { USE_DST = 1, USE_SRC = 2, USE_OFF = 4, USE_IMM = 8 };
static unsigned shape_uses(enum xdpvm_shape shape)
{
    switch (shape) {
    case XDPVM_SHAPE_ALU_IMM: return USE_DST | USE_IMM;
    case XDPVM_SHAPE_ALU_REG: return USE_DST | USE_SRC;
    case XDPVM_SHAPE_NEG: return USE_DST;
    case XDPVM_SHAPE_MOVSX: return USE_DST | USE_SRC;
    case XDPVM_SHAPE_END: return USE_DST;
    case XDPVM_SHAPE_JMP_IMM: return USE_DST | USE_OFF | USE_IMM;
    case XDPVM_SHAPE_JMP_REG: return USE_DST | USE_SRC | USE_OFF;
    case XDPVM_SHAPE_JA: return USE_OFF;
    case XDPVM_SHAPE_GOTOL: return USE_IMM;
    case XDPVM_SHAPE_CALL: return USE_IMM;
    case XDPVM_SHAPE_CALL_LOCAL: return USE_IMM;
    case XDPVM_SHAPE_CALLX: return USE_DST;
    case XDPVM_SHAPE_EXIT: return 0;
    case XDPVM_SHAPE_LDX: return USE_DST | USE_SRC | USE_OFF;
    case XDPVM_SHAPE_ST: return USE_DST | USE_OFF | USE_IMM;
    case XDPVM_SHAPE_STX: return USE_DST | USE_SRC | USE_OFF;
    case XDPVM_SHAPE_ATOMIC: return USE_DST | USE_SRC | USE_OFF;
    case XDPVM_SHAPE_LDDW: return USE_DST | USE_SRC | USE_IMM;
    }
    return 0;
}

#define VARIANTS 6

/* A representative instruction of table row op; variants walk every register and the edge
 * values of off and imm. */
static struct xdpvm_decoded representative(enum xdpvm_op op, unsigned variant)
{
    static const int16_t offs[VARIANTS] = {0, 1, -1, INT16_MAX, INT16_MIN, -8};
    static const int32_t imms[VARIANTS] = {0, 1, -1, INT32_MAX, INT32_MIN, 0x12345};
    static const uint64_t imm64s[VARIANTS] = {0, 1, UINT64_MAX, 0x8000000000000000ull,
                                              0x123456789abcdef0ull, 0x00000000ffffffffull};
    const struct xdpvm_op_info *info = &xdpvm_op_table[op];
    unsigned uses = shape_uses(info->shape);
    struct xdpvm_decoded d = {.op = op, .slots = 1};
    if (uses & USE_DST)
        d.dst = (uint8_t)((op + variant * 3) % XDPVM_REG_COUNT);
    if (uses & USE_SRC)
        d.src = (uint8_t)((op * 7 + variant * 5 + 1) % XDPVM_REG_COUNT);
    if (uses & USE_OFF)
        d.off = offs[variant];
    if (uses & USE_IMM)
        d.imm = imms[variant];
    if (info->shape == XDPVM_SHAPE_LDDW) {
        d.src = variant == 5 ? XDPVM_PSEUDO_MAP_FD : XDPVM_PSEUDO_NONE;
        d.imm64 = imm64s[variant];
        d.imm = (int32_t)(uint32_t)d.imm64;
        d.slots = 2;
    } else {
        d.imm64 = (uint64_t)(int64_t)d.imm;
    }
    switch (info->match) {
    case XDPVM_MATCH_OFF: d.off = (int16_t)info->match_value; break;
    case XDPVM_MATCH_IMM: d.imm = info->match_value; d.imm64 = (uint64_t)(int64_t)d.imm; break;
    case XDPVM_MATCH_SRC: d.src = (uint8_t)info->match_value; break;
    default: break;
    }
    return d;
}

static bool same_decoded(const struct xdpvm_decoded *a, const struct xdpvm_decoded *b)
{
    return a->op == b->op && a->dst == b->dst && a->src == b->src && a->off == b->off && a->imm == b->imm &&
           a->imm64 == b->imm64 && a->slots == b->slots;
}

static void test_table_round_trips(void)
{
    unsigned checked = 0;
    for (int op = 1; op < XDPVM_OP__COUNT; op++) {
        const struct xdpvm_op_info *info = &xdpvm_op_table[op];
        char name[96];
        snprintf(name, sizeof(name), "round_trip_%s", info->name);
        bool ok = true;
        for (unsigned v = 0; v < VARIANTS && ok; v++) {
            struct xdpvm_decoded d = representative((enum xdpvm_op)op, v), back;
            struct xdpvm_insn slots[2];
            size_t n = xdpvm_isa_encode(&d, slots);
            struct xdpvm_decode_error derr = {0};
            /* encode -> decode -> same fields */
            if (n != d.slots || xdpvm_isa_decode(slots, n, 0, &back, &derr) || !same_decoded(&d, &back)) {
                test_fail(name, "variant %u: encode/decode mismatch (%s)", v, derr.message);
                ok = false;
                break;
            }
            /* disassemble (asm syntax) -> assemble -> same bytes */
            char text[160], again[160];
            xdpvm_disasm_insn(&d, 0, XDPVM_SYNTAX_ASM, text, sizeof(text));
            struct xdpvm_insn *insns = NULL;
            size_t count = 0;
            struct xdpvm_asm_error aerr = {0};
            if (xdpvm_asm(text, &insns, &count, &aerr) || count != n || memcmp(insns, slots, n * sizeof(*slots))) {
                test_fail(name, "variant %u: '%s' does not assemble back to the same bytes (%s)", v, text,
                          aerr.message);
                ok = false;
            } else {
                /* assembled text -> disassemble -> same text */
                xdpvm_isa_decode(insns, count, 0, &back, NULL);
                xdpvm_disasm_insn(&back, 0, XDPVM_SYNTAX_ASM, again, sizeof(again));
                if (strcmp(text, again)) {
                    test_fail(name, "variant %u: '%s' disassembles back as '%s'", v, text, again);
                    ok = false;
                }
            }
            free(insns);
            /* the llvm syntax prints something for every row, and the length contract holds */
            int len = xdpvm_disasm_insn(&d, 0, XDPVM_SYNTAX_LLVM, text, sizeof(text));
            char tiny[4];
            if (len <= 0 || (size_t)len != strlen(text) || xdpvm_disasm_insn(&d, 0, XDPVM_SYNTAX_LLVM, tiny, sizeof(tiny)) != len ||
                strlen(tiny) != sizeof(tiny) - 1) {
                test_fail(name, "variant %u: llvm text '%s' length %d breaks snprintf rules", v, text, len);
                ok = false;
            }
            checked++;
        }
        if (ok)
            test_pass(name);
    }
    test_check(checked == (XDPVM_OP__COUNT - 1) * VARIANTS, "round_trip_covers_every_row", "%u checked", checked);
}

/* Every field a row does not use, set non-zero, is refused with the field named. */
static void test_unused_fields(void)
{
    static const struct {
        unsigned use;
        const char *word;
    } fields[] = {{USE_DST, "destination"}, {USE_SRC, "source"}, {USE_OFF, "offset"}, {USE_IMM, "immediate"}};
    unsigned checked = 0, failed = 0;
    char first[300] = "";
    for (int op = 1; op < XDPVM_OP__COUNT; op++) {
        const struct xdpvm_op_info *info = &xdpvm_op_table[op];
        unsigned uses = shape_uses(info->shape);
        for (size_t f = 0; f < 4; f++) {
            unsigned matched = info->match == XDPVM_MATCH_OFF ? USE_OFF : info->match == XDPVM_MATCH_IMM ? USE_IMM
                             : info->match == XDPVM_MATCH_SRC ? USE_SRC : 0;
            if ((uses | matched) & fields[f].use)
                continue;
            struct xdpvm_decoded d = representative((enum xdpvm_op)op, 1);
            struct xdpvm_insn slots[2] = {0};
            size_t n = xdpvm_isa_encode(&d, slots);
            if (fields[f].use == USE_DST) slots[0].dst = 3;
            if (fields[f].use == USE_SRC) slots[0].src = 2;
            if (fields[f].use == USE_OFF) slots[0].off = -4;
            if (fields[f].use == USE_IMM) slots[0].imm = 9;
            struct xdpvm_decoded out;
            struct xdpvm_decode_error err = {0};
            int rc = xdpvm_isa_decode(slots, n, 0, &out, &err);
            checked++;
            if (rc != -EINVAL || !strstr(err.message, fields[f].word)) {
                if (!failed++)
                    snprintf(first, sizeof(first), "%s with %s set: rc=%d '%s'", info->name, fields[f].word, rc,
                             err.message);
            }
        }
    }
    test_check(checked > 100 && !failed, "decode_unused_fields_named", "%u of %u cases wrong; first: %s", failed,
               checked, first);
}

struct decode_case {
    const char *name;
    struct xdpvm_insn insns[4];
    size_t count;
    bool whole_program; /* xdpvm_isa_check_program rather than one decode */
    size_t index;       /* instruction the error must name */
    const char *expect;
};

static void test_decoder_errors(void)
{
    static const struct decode_case cases[] = {
        {"decode_unknown_opcode", {{.code = 0x00}}, 1, false, 0, "unknown opcode 0x00"},
        {"decode_bad_dst_register", {{.code = 0xb7, .dst = 11}}, 1, false, 0, "invalid destination register r11"},
        {"decode_bad_src_register", {{.code = 0xbf, .dst = 1, .src = 15}}, 1, false, 0, "invalid source register r15"},
        {"decode_bad_endian_width", {{.code = 0xdc, .imm = 0x30}}, 1, false, 0, "invalid immediate"},
        {"decode_bad_atomic_op", {{.code = 0xdb, .imm = 0x10}}, 1, false, 0, "invalid immediate"},
        {"decode_incomplete_lddw", {{.code = 0x18, .imm = 1}}, 1, false, 0, "incomplete"},
        {"decode_lddw_second_half", {{.code = 0x18}, {.code = 0, .src = 1}}, 2, false, 1, "second half"},
        {"decode_lddw_bad_pseudo", {{.code = 0x18, .src = 9}, {0}}, 2, false, 0, "pseudo"},
        {"decode_lddw_bad_pseudo_high", {{.code = 0x18, .src = 12}, {0}}, 2, false, 0, "pseudo"},
        {"check_jump_into_lddw", {{.code = 0x05, .off = 1}, {.code = 0x18}, {0}, {.code = 0x95}}, 4, true, 0,
         "middle of an lddw"},
        {"check_jump_out_of_program", {{.code = 0x05, .off = 2}, {.code = 0x95}}, 2, true, 0, "outside the program"},
        {"check_jump_before_program", {{.code = 0x15, .off = -2}, {.code = 0x95}}, 2, true, 0, "outside the program"},
        {"check_gotol_out_of_program", {{.code = 0x06, .imm = 5}, {.code = 0x95}}, 2, true, 0, "outside the program"},
        {"check_call_local_out", {{.code = 0x85, .src = 1, .imm = 7}, {.code = 0x95}}, 2, true, 0, "outside the program"},
        {"check_no_final_exit", {{.code = 0xb7}}, 1, true, 0, "does not end with exit"},
        {"check_empty_program", {{0}}, 0, true, 0, "empty program"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct decode_case *c = &cases[i];
        struct xdpvm_decode_error err = {.index = 999};
        struct xdpvm_decoded d;
        int rc = c->whole_program ? xdpvm_isa_check_program(c->insns, c->count, &err)
                                  : xdpvm_isa_decode(c->insns, c->count, 0, &d, &err);
        test_check(rc == -EINVAL && err.index == c->index && strstr(err.message, c->expect), c->name,
                   "rc=%d index=%zu message '%s', expected index %zu and '%s'", rc, err.index, err.message, c->index,
                   c->expect);
    }
    /* and a program that is fine passes */
    struct xdpvm_insn good[] = {{.code = 0x18, .dst = 1}, {0}, {.code = 0x05, .off = -3}, {.code = 0x95}};
    struct xdpvm_decode_error err = {0};
    test_check(!xdpvm_isa_check_program(good, 4, &err), "check_valid_program", "refused: %s", err.message);
}

/* Assembler forms and errors not covered by the suites' files. */
static void test_assembler_forms(void)
{
    static const struct {
        const char *name, *text;
        uint8_t code, dst, src;
        int16_t off;
        int32_t imm;
    } forms[] = {
        {"asm_callx", "call %r2\nexit", 0x8d, 2, 0, 0, 0},
        {"asm_call_helper_hex", "call 0x10 # helper\nexit", 0x85, 0, 0, 0, 16},
        {"asm_call_local_label", "call local f\nexit\nf:\nexit", 0x85, 0, 1, 0, 1},
        {"asm_ja32_label", "ja32 end\nmov %r0, 1\nend: exit", 0x06, 0, 0, 0, 1},
        {"asm_implicit_exit_label", "jeq %r1, 0, exit\nmov %r0, 1\nexit", 0x15, 1, 0, 1, 0},
        {"asm_negative_offset", "x:\nja x\nexit", 0x05, 0, 0, -1, 0},
        {"asm_swap_alias", "swap32 %r3\nexit", 0xd7, 3, 0, 0, 32},
        {"asm_hex_bit_pattern", "mov32 %r0, 0xffffffff\nexit", 0xb4, 0, 0, 0, -1},
        {"asm_min_imm", "mov %r0, -2147483648\nexit", 0xb7, 0, 0, 0, INT32_MIN},
        {"asm_mem_spaces", "ldxw %r1, [ %r10 - 0x10 ]\nexit", 0x61, 1, 10, -16, 0},
        {"asm_lock_fetch_32", "lock fetch xor32 [%r1+4], %r2\nexit", 0xc3, 1, 2, 4, 0xa1},
        {"asm_cmpxchg", "lock cmpxchg [%r1], %r2\nexit", 0xdb, 1, 2, 0, 0xf1},
        {"asm_sdiv_off", "sdiv32 %r1, -3\nexit", 0x34, 1, 0, 1, -3},
        {"asm_movsx", "movsx1632 %r1, %r2\nexit", 0xbc, 1, 2, 16, 0},
        {"asm_ldxsw", "ldxsw %r1, [%r2-4]\nexit", 0x81, 1, 2, -4, 0},
        {"asm_crlf", "mov %r0, 7\r\nexit\r\n", 0xb7, 0, 0, 0, 7},
        {"asm_whitespace", "\tlock \t fetch  or  [%r1+4] ,\t%r2 \nexit", 0xdb, 1, 2, 4, 0x41},
    };
    for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        struct xdpvm_insn *insns = NULL;
        size_t count = 0;
        struct xdpvm_asm_error err = {0};
        int rc = xdpvm_asm(forms[i].text, &insns, &count, &err);
        bool ok = !rc && count >= 2 && insns[0].code == forms[i].code && insns[0].dst == forms[i].dst &&
                  insns[0].src == forms[i].src && insns[0].off == forms[i].off && insns[0].imm == forms[i].imm;
        test_check(ok, forms[i].name, "rc=%d (%s) code=%02x dst=%u src=%u off=%d imm=%d", rc, err.message,
                   count ? insns[0].code : 0, count ? insns[0].dst : 0, count ? insns[0].src : 0,
                   count ? insns[0].off : 0, count ? insns[0].imm : 0);
        free(insns);
    }
    static const struct {
        const char *name, *text, *expect;
        unsigned line;
    } errors[] = {
        {"asm_err_duplicate_label", "a:\nexit\na:\nexit", "duplicate label 'a'", 3},
        {"asm_err_directive", "mov %r0, 1\n.section foo\nexit", "unknown directive", 2},
        {"asm_err_r11", "mov %r11, 1\nexit", "invalid register '%r11'", 1},
        {"asm_err_jump_range", "ja +32768\nexit", "out of range", 1},
        {"asm_err_ja32_needs_label_or_offset", "ja32 [%r1]\nexit", "operand 1", 1},
        {"asm_err_imm_not_number", "mov %r0, 12abc\nexit", "not a valid number", 1},
        {"asm_err_lddw_range", "lddw %r0, 0x10000000000000000\nexit", "out of range", 1},
        {"asm_err_lddw_pseudo", "lddw %r0, 1, bogus\nexit", "unknown pseudo source", 1},
        {"asm_err_too_many_operands", "exit %r0", "invalid number of operands for exit", 1},
        {"asm_err_empty_operand", "add %r0, , 1", "empty", 1},
        {"asm_err_memory_register", "ldxw %r0, [%r1+1+]\nexit", "not a valid number", 1},
        {"asm_err_no_exit_label", "ja exit\nmov %r0, 0", "no exit instruction", 1},
        {"asm_err_empty", "# nothing\n\n", "empty program", 0},
        {"asm_err_far_label", NULL, "beyond a 16-bit jump offset", 1},
    };
    for (size_t i = 0; i < sizeof(errors) / sizeof(errors[0]); i++) {
        char *owned = NULL;
        const char *text = errors[i].text;
        if (!text) { /* a label 40000 instructions away */
            size_t len = 40000 * 12 + 64;
            owned = malloc(len);
            size_t used = (size_t)snprintf(owned, len, "ja far\n");
            for (int k = 0; k < 40000; k++)
                used += (size_t)snprintf(owned + used, len - used, "mov %%r0, 1\n");
            snprintf(owned + used, len - used, "far: exit\n");
            text = owned;
        }
        struct xdpvm_insn *insns = NULL;
        size_t count = 0;
        struct xdpvm_asm_error err = {0};
        int rc = xdpvm_asm(text, &insns, &count, &err);
        test_check(rc == -EINVAL && err.line == errors[i].line && strstr(err.message, errors[i].expect) && !insns,
                   errors[i].name, "rc=%d line %u '%s', expected line %u '%s'", rc, err.line, err.message,
                   errors[i].line, errors[i].expect);
        free(insns);
        free(owned);
    }
}

/* ---- the llvm syntax against llvm-objdump, every row ------------------------------------------- */

static bool tool_available(const char *tool)
{
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", tool);
    return system(cmd) == 0;
}

/* Assemble every representative with llvm-mc (as raw .byte data) and check that llvm-objdump
 * prints the text our llvm syntax prints. 32-bit atomics are compared with the alu32 decoder
 * (the default one shows them as <unknown>, or wrongly as a plain add). */
static void test_llvm_every_row(void)
{
    const char *name = "llvm_objdump_every_row";
    if (!tool_available("llvm-mc-19") || !tool_available("llvm-objdump-19")) {
        test_skip(name, "llvm-mc-19 or llvm-objdump-19 not installed");
        return;
    }
    char dir[] = "/tmp/xdpvm-isa-XXXXXX";
    if (!mkdtemp(dir)) {
        test_fail(name, "mkdtemp: %s", strerror(errno));
        return;
    }
    char path_s[64], path_o[64], cmd[512];
    snprintf(path_s, sizeof(path_s), "%s/rows.s", dir);
    snprintf(path_o, sizeof(path_o), "%s/rows.o", dir);
    FILE *f = fopen(path_s, "w");
    size_t total = (XDPVM_OP__COUNT - 1) * VARIANTS;
    char (*expected)[160] = calloc(total, sizeof(*expected));
    bool *atomic32 = calloc(total, sizeof(*atomic32));
    size_t k = 0;
    for (int op = 1; op < XDPVM_OP__COUNT; op++) {
        for (unsigned v = 0; v < VARIANTS; v++, k++) {
            struct xdpvm_decoded d = representative((enum xdpvm_op)op, v);
            struct xdpvm_insn slots[2];
            size_t n = xdpvm_isa_encode(&d, slots);
            const uint8_t *bytes = (const uint8_t *)slots;
            fprintf(f, ".byte ");
            for (size_t b = 0; b < n * 8; b++)
                fprintf(f, "%s0x%02x", b ? ", " : "", bytes[b]);
            fprintf(f, "\n");
            xdpvm_disasm_insn(&d, 0, XDPVM_SYNTAX_LLVM, expected[k], sizeof(expected[k]));
            atomic32[k] = xdpvm_op_table[op].shape == XDPVM_SHAPE_ATOMIC && xdpvm_op_table[op].code == 0xc3 &&
                          xdpvm_op_table[op].match_value != XDPVM_ATOMIC_ADD;
        }
    }
    fclose(f);
    snprintf(cmd, sizeof(cmd), "llvm-mc-19 -triple bpfel -filetype=obj %s -o %s 2>&1", path_s, path_o);
    if (system(cmd)) {
        test_fail(name, "llvm-mc-19 could not assemble %s", path_s);
        goto out;
    }
    unsigned mismatches = 0, compared = 0;
    char first[400] = "";
    for (int pass = 0; pass < 2; pass++) {
        snprintf(cmd, sizeof(cmd), "llvm-objdump-19 -d %s %s", pass ? "--mattr=+alu32" : "", path_o);
        FILE *p = popen(cmd, "r");
        char line[512];
        k = 0;
        while (p && fgets(line, sizeof(line), p)) {
            /* "   12:\t<bytes>\t<text>[ <annotation>]" */
            char *tab1 = strchr(line, '\t'), *tab2 = tab1 ? strchr(tab1 + 1, '\t') : NULL;
            if (!tab2 || !strchr(line, ':') || strchr(line, ':') > tab1)
                continue;
            char *text = tab2 + 1;
            text[strcspn(text, "\n")] = '\0';
            /* drop the jump annotation " <sym+0x..>" (not the "<<=" operator) */
            size_t text_len = strlen(text);
            char *annotation = NULL;
            for (char *q = strstr(text, " <"); q; q = strstr(q + 1, " <"))
                annotation = q;
            if (annotation && text_len && text[text_len - 1] == '>' && annotation[2] != '<')
                *annotation = '\0';
            if (k < total && atomic32[k] == (pass == 1)) {
                compared++;
                if (strcmp(text, expected[k]) && !mismatches++)
                    snprintf(first, sizeof(first), "row %s variant %zu: llvm '%s', ours '%s'",
                             xdpvm_op_table[k / VARIANTS + 1].name, k % VARIANTS, text, expected[k]);
            }
            k++;
        }
        if (p)
            pclose(p);
    }
    test_check(compared == total && !mismatches, name, "%u of %u lines differ (compared %u); first: %s", mismatches,
               (unsigned)total, compared, first);
out:
    unlink(path_s);
    unlink(path_o);
    rmdir(dir);
    free(expected);
    free(atomic32);
}

/* ---- robustness: random instructions and mangled text ------------------------------------------ */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rng(void)
{
    return test_xorshift64(&rng_state);
}

/* Random slots: whatever decodes must print in both syntaxes and assemble back bit for bit. */
static void test_random_instructions(void)
{
    unsigned rounds = test_sanitized() ? 20000 : 200000, decoded = 0, failed = 0;
    char first[600] = "";
    for (unsigned i = 0; i < rounds; i++) {
        struct xdpvm_insn slots[2];
        uint64_t a = rng(), b = rng();
        memcpy(&slots[0], &a, 8);
        /* bias towards known opcodes and small fields so many candidates decode */
        if (i & 1) {
            slots[0].code = xdpvm_op_table[1 + rng() % (XDPVM_OP__COUNT - 1)].code;
            slots[0].dst = (uint8_t)(rng() % 12);
            slots[0].src = (uint8_t)(rng() % 12);
            if (rng() & 1) slots[0].off = (int16_t)(rng() % 3) * 8;
            if (rng() & 1) slots[0].imm = (int32_t)(rng() % 3) * 16;
        }
        slots[1] = (struct xdpvm_insn){.imm = (int32_t)b};
        struct xdpvm_decoded d;
        if (xdpvm_isa_decode(slots, 2, 0, &d, NULL))
            continue;
        decoded++;
        char llvm[160], text[160];
        xdpvm_disasm_insn(&d, 0, XDPVM_SYNTAX_LLVM, llvm, sizeof(llvm));
        xdpvm_disasm_insn(&d, 0, XDPVM_SYNTAX_ASM, text, sizeof(text));
        struct xdpvm_insn *insns = NULL;
        size_t count = 0;
        struct xdpvm_asm_error err = {0};
        if (xdpvm_asm(text, &insns, &count, &err) || count != d.slots || memcmp(insns, slots, count * 8)) {
            if (!failed++)
                snprintf(first, sizeof(first), "'%s' (%s) does not assemble back: %s", text, llvm, err.message);
        }
        free(insns);
    }
    test_check(decoded > rounds / 50 && !failed, "random_instructions_round_trip",
               "%u of %u decodable instructions failed; first: %s", failed, decoded, first);
}

/* Mangled program text never crashes the assembler; refusals carry a line and a message. */
static void test_mangled_text(void)
{
    static const char *const program =
        "mov %r0, 0\nlddw %r1, 0x1122334455667788\nlabel:\njne %r1, 0x33, +1\n"
        "lock fetch add32 [%r10-8], %r1\nstxdw [%r10-16], %r1\ncall local f\nja label\nexit\n"
        "f:\nbe16 %r0\nmovsx832 %r0, %r1\nja32 exit\ncall %r2\nexit\n";
    static const char alphabet[] = "%r[]+-,:#x0123456789 \nabcdefgjklmnopqstuvwyz.lock";
    unsigned rounds = test_sanitized() ? 3000 : 30000, refused = 0, bad = 0;
    size_t len = strlen(program);
    char *text = malloc(len + 1);
    for (unsigned i = 0; i < rounds; i++) {
        memcpy(text, program, len + 1);
        for (unsigned k = 1 + (unsigned)(rng() % 3); k; k--)
            text[rng() % len] = alphabet[rng() % (sizeof(alphabet) - 1)];
        struct xdpvm_insn *insns = NULL;
        size_t count = 0;
        struct xdpvm_asm_error err = {0};
        if (xdpvm_asm(text, &insns, &count, &err)) {
            refused++;
            if (!err.message[0] || insns || count)
                bad++;
        } else if (!count || !insns) {
            bad++;
        }
        free(insns);
    }
    free(text);
    test_check(!bad && refused > 0, "asm_mangled_text", "%u inconsistent results, %u refused of %u", bad,
               refused, rounds);
}

int main(void)
{
    test_conformance_corpus();
    test_negative_assembly();
    test_table_round_trips();
    test_unused_fields();
    test_decoder_errors();
    test_assembler_forms();
    test_llvm_every_row();
    test_random_instructions();
    test_mangled_text();
    return test_exit_code();
}
