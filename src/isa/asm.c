/* Assembler for the conformance suites' syntax. Mnemonics, operand shapes and the fields that
 * tell rows apart all come from the opcode table; this file only knows how each shape is
 * written. */
#include "asm.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_OPERANDS 4

struct label {
    char *name;
    size_t index;
    unsigned line;
};

/* A jump or local call whose target is a label, resolved once every label is known. */
struct fixup {
    size_t index;
    char *label;
    unsigned line;
    bool target_in_imm; /* gotol and call local carry the offset in imm, other jumps in off */
};

struct assembler {
    struct xdpvm_insn *insns;
    size_t count, capacity;
    struct label *labels;
    size_t label_count, label_capacity;
    struct fixup *fixups;
    size_t fixup_count, fixup_capacity;
    bool have_exit;
    size_t first_exit; /* the implicit "exit" label */
    unsigned line;
    struct xdpvm_asm_error *err;
};

static int asm_fail(struct assembler *as, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int asm_fail(struct assembler *as, const char *fmt, ...)
{
    if (as->err) {
        va_list ap;
        va_start(ap, fmt);
        as->err->line = as->line;
        vsnprintf(as->err->message, sizeof(as->err->message), fmt, ap);
        va_end(ap);
    }
    return -EINVAL;
}

static bool grow(void **array, size_t *capacity, size_t needed, size_t elem_size)
{
    if (needed <= *capacity)
        return true;
    size_t next = *capacity ? *capacity * 2 : 64;
    while (next < needed)
        next *= 2;
    void *bigger = realloc(*array, next * elem_size);
    if (!bigger)
        return false;
    *array = bigger;
    *capacity = next;
    return true;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t len = strlen(s);
    while (len && isspace((unsigned char)s[len - 1]))
        s[--len] = '\0';
    return s;
}

static bool is_label_char(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == '.' || c == '$';
}

static bool is_label_name(const char *s)
{
    if (!*s || isdigit((unsigned char)*s))
        return false;
    for (; *s; s++)
        if (!is_label_char(*s))
            return false;
    return true;
}

/* ---- numbers ------------------------------------------------------------------------------ */

/* A number as written: sign, magnitude and whether it was hex (hex immediates may spell the
 * unsigned bit pattern, e.g. 0xffffffff for a 32-bit -1; decimal ones must fit signed). */
struct number {
    bool negative, hex;
    uint64_t magnitude;
};

static bool parse_number(const char *s, struct number *n)
{
    n->negative = false;
    if (*s == '+' || *s == '-')
        n->negative = *s++ == '-';
    n->hex = s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
    if (n->hex)
        s += 2;
    if (!(n->hex ? isxdigit((unsigned char)*s) : isdigit((unsigned char)*s)))
        return false;
    uint64_t value = 0;
    unsigned base = n->hex ? 16 : 10;
    for (; *s; s++) {
        unsigned digit;
        if (isdigit((unsigned char)*s))
            digit = (unsigned)(*s - '0');
        else if (n->hex && isxdigit((unsigned char)*s))
            digit = (unsigned)(tolower((unsigned char)*s) - 'a' + 10);
        else
            return false;
        if (value > (UINT64_MAX - digit) / base)
            return false; /* overflow: reported as out of range by the caller */
        value = value * base + digit;
    }
    n->magnitude = value;
    return true;
}

static bool looks_numeric(const char *s)
{
    if (*s == '+' || *s == '-')
        s++;
    return isdigit((unsigned char)*s);
}

/* Parse a signed value that must fit in [min, max]; hex spellings may also give the unsigned
 * bit pattern up to umax (two's complement of the field width). */
static int parse_ranged(struct assembler *as, const char *text, const char *what, int64_t min,
                        int64_t max, uint64_t hex_umax, int64_t *out)
{
    struct number n;
    if (!parse_number(text, &n)) {
        if (looks_numeric(text))
            return asm_fail(as, "%s '%s' is out of range or not a valid number", what, text);
        return asm_fail(as, "%s '%s' is not a number (decimal or 0x hex)", what, text);
    }
    if (n.negative) {
        if (n.magnitude > (uint64_t)-(min + 1) + 1)
            goto out_of_range;
        *out = n.magnitude ? -(int64_t)(n.magnitude - 1) - 1 : 0;
        return 0;
    }
    if (n.magnitude <= (uint64_t)max) {
        *out = (int64_t)n.magnitude;
        return 0;
    }
    if (n.hex && n.magnitude <= hex_umax) {
        /* two's complement reinterpretation within the field width */
        *out = (int64_t)(n.magnitude - hex_umax - 1);
        return 0;
    }
out_of_range:
    return asm_fail(as, "%s '%s' is out of range (%" PRId64 "..%" PRId64 "%s)", what, text, min, max,
                    hex_umax > (uint64_t)max ? ", or a hex bit pattern" : "");
}

static int parse_imm32(struct assembler *as, const char *text, int32_t *out)
{
    int64_t v;
    int rc = parse_ranged(as, text, "immediate", INT32_MIN, INT32_MAX, UINT32_MAX, &v);
    if (!rc)
        *out = (int32_t)v;
    return rc;
}

static int parse_imm64(struct assembler *as, const char *text, uint64_t *out)
{
    struct number n;
    if (!parse_number(text, &n))
        return asm_fail(as, "64-bit immediate '%s' is %s", text,
                        looks_numeric(text) ? "out of range (more than 64 bits)" : "not a number");
    if (n.negative && n.magnitude > (uint64_t)INT64_MAX + 1)
        return asm_fail(as, "64-bit immediate '%s' is out of range", text);
    *out = n.negative ? (uint64_t)0 - n.magnitude : n.magnitude;
    return 0;
}

static int parse_off16(struct assembler *as, const char *text, const char *what, int16_t *out)
{
    int64_t v;
    int rc = parse_ranged(as, text, what, INT16_MIN, INT16_MAX, INT16_MAX, &v);
    if (!rc)
        *out = (int16_t)v;
    return rc;
}

/* ---- operands ----------------------------------------------------------------------------- */

static int parse_register(struct assembler *as, const char *text, uint8_t *out)
{
    const char *p = text;
    if (p[0] == '%' && p[1] == 'r' && isdigit((unsigned char)p[2])) {
        unsigned value = 0;
        for (p += 2; isdigit((unsigned char)*p) && value < 100; p++)
            value = value * 10 + (unsigned)(*p - '0');
        if (!*p && value <= XDPVM_REG_FP) {
            *out = (uint8_t)value;
            return 0;
        }
    }
    return asm_fail(as, "invalid register '%s' (registers are %%r0..%%r10)", text);
}

/* [%rN], [%rN+off], [%rN-off] */
static int parse_memory(struct assembler *as, const char *text, uint8_t *reg, int16_t *off)
{
    size_t len = strlen(text);
    if (len < 2 || text[0] != '[' || text[len - 1] != ']')
        return asm_fail(as, "memory operand '%s' must look like [%%rN], [%%rN+off] or [%%rN-off]", text);
    char inner[64];
    if (len - 2 >= sizeof(inner))
        return asm_fail(as, "memory operand '%s' is too long", text);
    memcpy(inner, text + 1, len - 2);
    inner[len - 2] = '\0';
    char *base = trim(inner);
    char *sign = strpbrk(base, "+-");
    char offset_text[64] = "0";
    if (sign) {
        snprintf(offset_text, sizeof(offset_text), "%c%s", *sign, trim(sign + 1));
        *sign = '\0';
        base = trim(base);
    }
    int rc = parse_register(as, base, reg);
    if (rc)
        return rc;
    return parse_off16(as, offset_text, "memory offset", off);
}

static void split_operands(char *text, char **operands, int *count, int max)
{
    *count = 0;
    if (!*text)
        return;
    for (;;) {
        char *comma = strchr(text, ',');
        if (comma)
            *comma = '\0';
        if (*count < max)
            operands[*count] = trim(text);
        (*count)++;
        if (!comma)
            return;
        text = comma + 1;
    }
}

/* Operand letters per shape: r register, i 32-bit immediate, L 64-bit immediate, m memory
 * [reg+off], t jump target (label or +N/-N). */
static const char *shape_operands(enum xdpvm_shape shape)
{
    switch (shape) {
    case XDPVM_SHAPE_ALU_IMM: return "ri";
    case XDPVM_SHAPE_ALU_REG: return "rr";
    case XDPVM_SHAPE_NEG: return "r";
    case XDPVM_SHAPE_MOVSX: return "rr";
    case XDPVM_SHAPE_END: return "r";
    case XDPVM_SHAPE_JMP_IMM: return "rit";
    case XDPVM_SHAPE_JMP_REG: return "rrt";
    case XDPVM_SHAPE_JA: return "t";
    case XDPVM_SHAPE_GOTOL: return "t";
    case XDPVM_SHAPE_CALL: return "i";
    case XDPVM_SHAPE_CALL_LOCAL: return "t";
    case XDPVM_SHAPE_CALLX: return "r";
    case XDPVM_SHAPE_EXIT: return "";
    case XDPVM_SHAPE_LDX: return "rm";
    case XDPVM_SHAPE_ST: return "mi";
    case XDPVM_SHAPE_STX: return "mr";
    case XDPVM_SHAPE_ATOMIC: return "mr";
    case XDPVM_SHAPE_LDDW: return "rL";
    }
    return "";
}

static const char *operand_kind_name(char kind)
{
    switch (kind) {
    case 'r': return "a register %rN";
    case 'i': return "a 32-bit immediate";
    case 'L': return "a 64-bit immediate";
    case 'm': return "a memory operand [%rN+off]";
    default: return "a jump target (label, +N or -N)";
    }
}

static bool operand_fits(char kind, const char *text)
{
    switch (kind) {
    case 'r': return text[0] == '%';
    case 'm': return text[0] == '[';
    case 'i':
    case 'L': return text[0] != '%' && text[0] != '[';
    default: return text[0] != '%' && text[0] != '[';
    }
}

/* lddw's optional third operand names the pseudo source (what the loader resolves imm to). */
static const char *const pseudo_names[] = {
    [XDPVM_PSEUDO_NONE] = "imm", [XDPVM_PSEUDO_MAP_FD] = "map_fd",
    [XDPVM_PSEUDO_MAP_VALUE] = "map_value", [XDPVM_PSEUDO_BTF_ID] = "btf_id",
    [XDPVM_PSEUDO_FUNC] = "func", [XDPVM_PSEUDO_MAP_IDX] = "map_idx",
    [XDPVM_PSEUDO_MAP_IDX_VALUE] = "map_idx_value",
};

const char *xdpvm_asm_pseudo_name(unsigned src)
{
    return src < sizeof(pseudo_names) / sizeof(pseudo_names[0]) ? pseudo_names[src] : NULL;
}

/* ---- mnemonics ---------------------------------------------------------------------------- */

/* Length of the longest table mnemonic that starts the line at a word boundary, 0 if none.
 * Mnemonics may be several words ("lock fetch add32", "call local"). */
static size_t match_mnemonic(const char *line, const char **mnemonic)
{
    size_t best = 0;
    for (int op = 1; op < XDPVM_OP__COUNT; op++) {
        const char *mn = xdpvm_op_table[op].mnemonic;
        size_t len = strlen(mn);
        if (len > best && !strncmp(line, mn, len) && (!line[len] || isspace((unsigned char)line[len]))) {
            best = len;
            *mnemonic = mn;
        }
    }
    return best;
}

/* ---- instructions ------------------------------------------------------------------------- */

static int emit(struct assembler *as, const struct xdpvm_insn *slots, size_t n)
{
    if (!grow((void **)&as->insns, &as->capacity, as->count + n, sizeof(*as->insns)))
        return asm_fail(as, "out of memory at instruction %zu", as->count);
    memcpy(&as->insns[as->count], slots, n * sizeof(*slots));
    as->count += n;
    return 0;
}

static int add_fixup(struct assembler *as, const char *label, bool target_in_imm)
{
    if (!grow((void **)&as->fixups, &as->fixup_capacity, as->fixup_count + 1, sizeof(*as->fixups)))
        return asm_fail(as, "out of memory");
    char *copy = strdup(label);
    if (!copy)
        return asm_fail(as, "out of memory");
    as->fixups[as->fixup_count++] =
        (struct fixup){.index = as->count, .label = copy, .line = as->line, .target_in_imm = target_in_imm};
    return 0;
}

static const struct label *find_label(const struct assembler *as, const char *name)
{
    for (size_t i = 0; i < as->label_count; i++)
        if (!strcmp(as->labels[i].name, name))
            return &as->labels[i];
    return NULL;
}

static int define_label(struct assembler *as, const char *name)
{
    const struct label *previous = find_label(as, name);
    if (previous)
        return asm_fail(as, "duplicate label '%s' (first defined on line %u)", name, previous->line);
    if (!grow((void **)&as->labels, &as->label_capacity, as->label_count + 1, sizeof(*as->labels)))
        return asm_fail(as, "out of memory");
    char *copy = strdup(name);
    if (!copy)
        return asm_fail(as, "out of memory");
    as->labels[as->label_count++] = (struct label){.name = copy, .index = as->count, .line = as->line};
    return 0;
}

/* Jump target operand: +N/-N is an offset, anything else a label resolved at the end. */
static int parse_target(struct assembler *as, const char *text, bool wide, struct xdpvm_decoded *d)
{
    if (text[0] == '+' || text[0] == '-') {
        if (wide) {
            int64_t v;
            int rc = parse_ranged(as, text, "jump offset", INT32_MIN, INT32_MAX, INT32_MAX, &v);
            d->imm = (int32_t)v;
            return rc;
        }
        return parse_off16(as, text, "jump offset", &d->off);
    }
    if (!is_label_name(text))
        return asm_fail(as, "jump target '%s' is neither a label nor an offset +N/-N", text);
    return add_fixup(as, text, wide);
}

static int assemble_operands(struct assembler *as, enum xdpvm_op op, char **operands, int count)
{
    const struct xdpvm_op_info *info = &xdpvm_op_table[op];
    const char *kinds = shape_operands(info->shape);
    struct xdpvm_decoded d = {.op = op};
    bool wide_target = info->shape == XDPVM_SHAPE_GOTOL || info->shape == XDPVM_SHAPE_CALL_LOCAL;
    bool dst_done = false;
    int rc = 0;
    for (int i = 0; i < count && !rc; i++) {
        const char *text = operands[i];
        if (i >= (int)strlen(kinds)) { /* lddw's pseudo kind */
            unsigned src;
            for (src = 0; src < sizeof(pseudo_names) / sizeof(pseudo_names[0]); src++)
                if (!strcmp(text, pseudo_names[src]))
                    break;
            if (src == sizeof(pseudo_names) / sizeof(pseudo_names[0]))
                return asm_fail(as, "lddw: unknown pseudo source '%s' (map_fd, map_value, btf_id, "
                                "func, map_idx, map_idx_value)", text);
            d.src = (uint8_t)src;
            continue;
        }
        switch (kinds[i]) {
        case 'r':
            if (!dst_done && info->shape != XDPVM_SHAPE_STX && info->shape != XDPVM_SHAPE_ATOMIC) {
                rc = parse_register(as, text, &d.dst);
                dst_done = true;
            } else {
                rc = parse_register(as, text, &d.src);
            }
            break;
        case 'm':
            if (info->shape == XDPVM_SHAPE_LDX)
                rc = parse_memory(as, text, &d.src, &d.off);
            else
                rc = parse_memory(as, text, &d.dst, &d.off);
            dst_done = true;
            break;
        case 'i':
            rc = parse_imm32(as, text, &d.imm);
            break;
        case 'L':
            rc = parse_imm64(as, text, &d.imm64);
            break;
        case 't':
            rc = parse_target(as, text, wide_target, &d);
            break;
        }
    }
    if (rc)
        return rc;
    switch (info->match) {
    case XDPVM_MATCH_OFF: d.off = (int16_t)info->match_value; break;
    case XDPVM_MATCH_IMM: d.imm = info->match_value; break;
    case XDPVM_MATCH_SRC: d.src = (uint8_t)info->match_value; break;
    default: break;
    }
    struct xdpvm_insn slots[2];
    size_t n = xdpvm_isa_encode(&d, slots);
    return emit(as, slots, n);
}

/* Pick the table row for a mnemonic from how its operands are written (e.g. "add" with a
 * register or an immediate source, "call" with a number or a register). */
static int assemble_instruction(struct assembler *as, const char *mnemonic, char *operand_text)
{
    char *operands[MAX_OPERANDS];
    int count;
    split_operands(operand_text, operands, &count, MAX_OPERANDS);
    for (int i = 0; i < count && i < MAX_OPERANDS; i++)
        if (!*operands[i])
            return asm_fail(as, "%s: operand %d is empty", mnemonic, i + 1);

    enum xdpvm_op count_match = XDPVM_OP_INVALID;
    for (int op = 1; op < XDPVM_OP__COUNT; op++) {
        const struct xdpvm_op_info *info = &xdpvm_op_table[op];
        if (strcmp(info->mnemonic, mnemonic))
            continue;
        const char *kinds = shape_operands(info->shape);
        int wanted = (int)strlen(kinds);
        bool optional_pseudo = info->shape == XDPVM_SHAPE_LDDW && count == wanted + 1;
        if (count != wanted && !optional_pseudo)
            continue;
        if (!count_match)
            count_match = (enum xdpvm_op)op;
        bool fits = true;
        for (int i = 0; i < wanted && fits; i++)
            fits = operand_fits(kinds[i], operands[i]);
        if (fits)
            return assemble_operands(as, (enum xdpvm_op)op, operands, count);
    }
    if (count_match) {
        const char *kinds = shape_operands(xdpvm_op_table[count_match].shape);
        for (int i = 0; kinds[i]; i++)
            if (!operand_fits(kinds[i], operands[i]))
                return asm_fail(as, "%s: operand %d '%s' should be %s", mnemonic, i + 1, operands[i],
                                operand_kind_name(kinds[i]));
    }
    /* Wrong operand count: list the forms the table has for this mnemonic. */
    char forms[120] = "";
    size_t used = 0;
    for (int op = 1; op < XDPVM_OP__COUNT; op++) {
        const struct xdpvm_op_info *info = &xdpvm_op_table[op];
        if (strcmp(info->mnemonic, mnemonic))
            continue;
        int n = (int)strlen(shape_operands(info->shape));
        char form[8];
        snprintf(form, sizeof(form), "%d", n);
        if (!strstr(forms, form) && used + strlen(form) + 4 < sizeof(forms))
            used += (size_t)snprintf(forms + used, sizeof(forms) - used, "%s%s", used ? " or " : "", form);
    }
    return asm_fail(as, "invalid number of operands for %s: got %d, expected %s", mnemonic, count, forms);
}

static int assemble_line(struct assembler *as, char *line)
{
    char *hash = strchr(line, '#');
    if (hash)
        *hash = '\0';
    /* one space between words, so "lock\tfetch  add" matches the table's "lock fetch add" */
    char *to = line;
    for (const char *from = line; *from; from++) {
        if (isspace((unsigned char)*from)) {
            if (to > line && to[-1] != ' ')
                *to++ = ' ';
        } else {
            *to++ = *from;
        }
    }
    *to = '\0';
    line = trim(line);

    /* "name:" defines a label for the next instruction, possibly followed by it. */
    for (;;) {
        char *p = line;
        while (is_label_char(*p))
            p++;
        if (p == line || *p != ':')
            break;
        *p = '\0';
        if (!is_label_name(line))
            return asm_fail(as, "invalid label name '%s'", line);
        int rc = define_label(as, line);
        if (rc)
            return rc;
        line = trim(p + 1);
    }
    if (!*line)
        return 0;
    if (line[0] == '.' || !strncmp(line, "--", 2))
        return asm_fail(as, "unknown directive '%s'", line);

    const char *mnemonic = NULL;
    size_t len = match_mnemonic(line, &mnemonic);
    char alias[32];
    if (!len && !strncmp(line, "swap", 4)) {
        /* The suites also spell the unconditional byte swaps (bswap16/32/64) "swap16" etc. */
        size_t word = strcspn(line, " \t");
        if (word + 2 < sizeof(alias)) {
            snprintf(alias, sizeof(alias), "b%.*s", (int)word, line);
            if (match_mnemonic(alias, &mnemonic) == word + 1)
                len = word;
        }
    }
    if (!len) {
        size_t word = strcspn(line, " \t");
        if (word == 4 && !strncmp(line, "lock", 4))
            return asm_fail(as, "invalid lock instruction '%s': expected lock [fetch] add|or|and|xor[32] "
                            "or lock xchg|cmpxchg[32], then [%%rD+off], %%rS", line);
        return asm_fail(as, "invalid mnemonic '%.*s'", (int)word, line);
    }
    bool is_exit = !strcmp(mnemonic, xdpvm_op_table[XDPVM_OP_EXIT].mnemonic);
    if (is_exit && !as->have_exit) {
        as->have_exit = true;
        as->first_exit = as->count;
    }
    return assemble_instruction(as, mnemonic, trim(line + len));
}

static int resolve_fixups(struct assembler *as)
{
    for (size_t i = 0; i < as->fixup_count; i++) {
        const struct fixup *f = &as->fixups[i];
        as->line = f->line;
        const struct label *label = find_label(as, f->label);
        size_t target;
        if (label)
            target = label->index;
        else if (!strcmp(f->label, "exit") && as->have_exit)
            target = as->first_exit;
        else
            return asm_fail(as, "invalid label '%s': not defined%s", f->label,
                            !strcmp(f->label, "exit") ? " and the program has no exit instruction" : "");
        int64_t offset = (int64_t)target - (int64_t)f->index - 1;
        struct xdpvm_insn *insn = &as->insns[f->index];
        if (f->target_in_imm) {
            if (offset < INT32_MIN || offset > INT32_MAX)
                return asm_fail(as, "label '%s' is too far (%" PRId64 " instructions)", f->label, offset);
            insn->imm = (int32_t)offset;
        } else {
            if (offset < INT16_MIN || offset > INT16_MAX)
                return asm_fail(as, "label '%s' is %" PRId64 " instructions away, beyond a 16-bit jump "
                                "offset (use ja32 for long jumps)", f->label, offset);
            insn->off = (int16_t)offset;
        }
    }
    return 0;
}

static void release(struct assembler *as)
{
    for (size_t i = 0; i < as->label_count; i++)
        free(as->labels[i].name);
    for (size_t i = 0; i < as->fixup_count; i++)
        free(as->fixups[i].label);
    free(as->labels);
    free(as->fixups);
}

int xdpvm_asm(const char *text, struct xdpvm_insn **out, size_t *count, struct xdpvm_asm_error *err)
{
    struct assembler as = {.err = err};
    *out = NULL;
    *count = 0;
    int rc = 0;
    char *line = NULL;
    size_t line_capacity = 0;
    for (const char *p = text; *p && !rc;) {
        size_t len = strcspn(p, "\n");
        as.line++;
        if (!grow((void **)&line, &line_capacity, len + 1, 1)) {
            rc = asm_fail(&as, "out of memory");
            break;
        }
        memcpy(line, p, len);
        line[len] = '\0';
        if (len && line[len - 1] == '\r')
            line[len - 1] = '\0';
        rc = assemble_line(&as, line);
        p += len;
        if (*p == '\n')
            p++;
    }
    free(line);
    if (!rc)
        rc = resolve_fixups(&as);
    if (!rc && as.count == 0) {
        as.line = 0;
        rc = asm_fail(&as, "empty program: no instructions");
    }
    release(&as);
    if (rc) {
        free(as.insns);
        return rc;
    }
    *out = as.insns;
    *count = as.count;
    return 0;
}
