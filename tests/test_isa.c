/* ISA unit tests: opcode table round trips (encode/decode, disassemble/assemble), decoder
 * errors, and the assembler over every program of the conformance suites. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>

#include "isa/asm.h"
#include "isa/disasm.h"
#include "isa/isa.h"
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

typedef void (*data_visitor)(const char *dir, const char *file, const char *data, void *ctx);

static void visit_data_files(const char *dir, data_visitor visit, void *ctx)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    char **names = NULL;
    size_t n = 0;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        names = realloc(names, (n + 1) * sizeof(*names));
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    for (size_t i = 0; i < n; i++) {
        char path[1024];
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        size_t len = strlen(names[i]);
        if (len > 5 && !strcmp(names[i] + len - 5, ".data")) {
            char *data = test_read_file(path, NULL);
            if (data)
                visit(dir, names[i], data, ctx);
            free(data);
        } else {
            DIR *sub = opendir(path);
            if (sub) {
                closedir(sub);
                visit_data_files(path, visit, ctx);
            }
        }
        free(names[i]);
    }
    free(names);
}

struct corpus_stats {
    unsigned programs, failed, raw_checked;
    char first_failure[400];
};

static void assemble_suite_file(const char *dir, const char *file, const char *data, void *ctx)
{
    struct corpus_stats *st = ctx;
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
        visit_data_files(dir, assemble_suite_file, &st);
        test_check(st.programs > 50 && st.raw_checked > 0 && !st.failed, name, "%u of %u programs failed (raw checked %u); first: %s",
                   st.failed, st.programs, st.raw_checked, st.first_failure);
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

int main(void)
{
    test_conformance_corpus();
    test_negative_assembly();
    return test_exit_code();
}
