#include "conformance.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "interp/interp.h"
#include "isa/asm.h"
#include "testlib.h"

/* uBPF refuses programs longer than this at load (UBPF_MAX_INSTS); its errors/ suite tests it. */
#define UBPF_MAX_INSNS 65536

/* ---- the suites' helpers ---- */

/* Whether a helper may touch [addr, addr+len): a run region, or (interpreter) the stack.
 * A verified program's arguments were proven by the verifier (for the suites: trusted), and
 * an executor without checks (the JIT) cannot tell its stack apart, so they pass. */
static bool helper_mem_ok(struct xdpvm_run *run, uint64_t addr, uint64_t len, bool write)
{
    if (run->prog && run->prog->verified)
        return true;
    for (unsigned i = 0; i < run->region_count; i++) {
        const struct xdpvm_region *r = &run->regions[i];
        if (addr >= r->start && len <= r->len && addr - r->start <= r->len - len && (r->writable || !write))
            return true;
    }
    return xdpvm_interp_access_ok(run, addr, len, write);
}

static uint64_t gather_bytes(uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e,
                             struct xdpvm_run *run)
{
    return (a & 0xff) << 32 | (b & 0xff) << 24 | (c & 0xff) << 16 | (d & 0xff) << 8 | (e & 0xff);
}

static uint64_t memfrob_helper(uint64_t p, uint64_t n, uint64_t c, uint64_t d, uint64_t e,
                               struct xdpvm_run *run)
{
    if (n == 0)
        return 0;
    if (!helper_mem_ok(run, p, n, true)) {
        xdpvm_run_fail(run, run->error_pc, -EFAULT, "instruction %zu: memfrob: %" PRIu64 " bytes at "
                       "0x%" PRIx64 " are not writable memory of the program", run->error_pc, n, p);
        return 0;
    }
    uint8_t *bytes = (uint8_t *)(uintptr_t)p;
    for (uint64_t i = 0; i < n; i++)
        bytes[i] ^= 42;
    return 0;
}

static uint64_t no_op(uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e, struct xdpvm_run *run)
{
    return 0;
}

static uint64_t sqrti(uint64_t x, uint64_t b, uint64_t c, uint64_t d, uint64_t e, struct xdpvm_run *run)
{
    /* Bit-by-bit integer square root: exact for every 64-bit x. */
    uint64_t root = 0, bit = 1ull << 62;
    while (bit > x)
        bit >>= 2;
    while (bit) {
        if (x >= root + bit) {
            x -= root + bit;
            root = (root >> 1) + bit;
        } else {
            root >>= 1;
        }
        bit >>= 2;
    }
    return root;
}

/* Length of the NUL-terminated string at addr, or -1 when it leaves accessible memory. */
static int64_t checked_strlen(struct xdpvm_run *run, uint64_t addr)
{
    for (uint64_t i = 0;; i++) {
        if (!helper_mem_ok(run, addr + i, 1, false))
            return -1;
        if (*(const char *)(uintptr_t)(addr + i) == '\0')
            return (int64_t)i;
    }
}

static uint64_t strcmp_ext(uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e,
                           struct xdpvm_run *run)
{
    if (checked_strlen(run, a) < 0 || checked_strlen(run, b) < 0) {
        xdpvm_run_fail(run, run->error_pc, -EFAULT, "instruction %zu: strcmp_ext: an argument is not "
                       "a NUL-terminated string in the program's memory", run->error_pc);
        return 0;
    }
    return (uint64_t)(int64_t)strcmp((const char *)(uintptr_t)a, (const char *)(uintptr_t)b);
}

static uint64_t unwind(uint64_t x, uint64_t b, uint64_t c, uint64_t d, uint64_t e, struct xdpvm_run *run)
{
    if (x == 0) {
        run->stop = true;
        run->stop_value = 0;
    }
    return x;
}

static const struct xdpvm_helper suite_helpers[] = {
    {.id = 0, .name = "gather_bytes", .fn = gather_bytes, .args = {XDPVM_ARG_ANYTHING}},
    {.id = 1, .name = "memfrob", .fn = memfrob_helper},
    {.id = 2, .name = "no_op", .fn = no_op},
    {.id = 3, .name = "sqrti", .fn = sqrti},
    {.id = 4, .name = "strcmp_ext", .fn = strcmp_ext},
    {.id = 5, .name = "unwind", .fn = unwind},
};

static struct xdpvm_helper_table suite_table;
static pthread_once_t suite_table_once = PTHREAD_ONCE_INIT;

static void suite_table_init(void)
{
    for (size_t i = 0; i < sizeof(suite_helpers) / sizeof(suite_helpers[0]); i++)
        suite_table.by_id[suite_helpers[i].id] = &suite_helpers[i];
}

const struct xdpvm_helper_table *conformance_helpers(void)
{
    pthread_once(&suite_table_once, suite_table_init);
    return &suite_table;
}

/* ---- the interpreter engine ---- */

static int interp_load(struct xdpvm_prog *prog, char *err, size_t err_size, void *ctx)
{
    return xdpvm_interp_prepare(prog, err, err_size);
}

static int interp_run(struct xdpvm_run *run, const uint64_t args[5], uint64_t *r0, void *ctx)
{
    return xdpvm_interp_run_args(run, args, r0);
}

static void interp_unload(struct xdpvm_prog *prog, void *ctx)
{
    xdpvm_interp_release(prog);
}

const struct conformance_engine conformance_interpreter = {
    .name = "interpreter", .load = interp_load, .run = interp_run, .unload = interp_unload,
};

static int interp_load_verified(struct xdpvm_prog *prog, char *err, size_t err_size, void *ctx)
{
    prog->verified = true;
    return xdpvm_interp_prepare(prog, err, err_size);
}

const struct conformance_engine conformance_interpreter_unchecked = {
    .name = "interpreter-unchecked", .load = interp_load_verified, .run = interp_run,
    .unload = interp_unload, .unchecked = true,
};

/* ---- .data files ---- */

struct test_file {
    char *program_text;        /* -- asm (or the file of -- asm @) */
    unsigned program_line;     /* line of the program's first line, for messages */
    char *program_origin;      /* path the assembly came from */
    uint8_t *raw;              /* -- raw */
    size_t raw_len;
    bool has_asm, has_raw;
    uint8_t *mem;
    size_t mem_len;
    bool has_mem;
    bool has_result;
    uint64_t result;
    bool expect_error;
    char *error_text;
    bool reload, unload;
};

static void test_file_free(struct test_file *t)
{
    free(t->program_text);
    free(t->program_origin);
    free(t->raw);
    free(t->mem);
    free(t->error_text);
}

static int failf(char *why, size_t why_size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int failf(char *why, size_t why_size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, why_size, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

static int hex_value(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static int append_byte(uint8_t **buf, size_t *len, size_t *cap, uint8_t b)
{
    if (*len == *cap) {
        size_t ncap = *cap ? *cap * 2 : 64;
        uint8_t *n = realloc(*buf, ncap);
        if (!n)
            return -ENOMEM;
        *buf = n;
        *cap = ncap;
    }
    (*buf)[(*len)++] = b;
    return 0;
}

/* Hex bytes: "01 02 0a" (one byte per pair of digits, "0026 622f" groups allowed), tcpdump -x
 * offsets ("0x0010:") skipped. With words64, a token of more than 2 digits is one 64-bit
 * little-endian instruction ("0x00000000000001b7", uBPF's -- raw form). */
static int parse_hex(const char *text, bool words64, uint8_t **out, size_t *out_len, char *why,
                     size_t why_size, const char *what, unsigned line)
{
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    const char *p = text;
    while (*p) {
        while (*p && (isspace((unsigned char)*p) || *p == ','))
            p++;
        if (!*p)
            break;
        const char *start = p;
        while (*p && !isspace((unsigned char)*p) && *p != ',')
            p++;
        size_t n = (size_t)(p - start);
        if (start[n - 1] == ':')
            continue; /* "0x0010:" offset column */
        const char *digits = start;
        if (n > 2 && digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')) {
            digits += 2;
            n -= 2;
        }
        for (size_t i = 0; i < n; i++)
            if (hex_value(digits[i]) < 0) {
                free(buf);
                return failf(why, why_size, "line %u: %s: '%.*s' is not hexadecimal", line, what,
                             (int)(p - start), start);
            }
        if (words64 && n > 2) {
            if (n > 16) {
                free(buf);
                return failf(why, why_size, "line %u: %s: '%.*s' is longer than 64 bits", line, what,
                             (int)(p - start), start);
            }
            uint64_t v = 0;
            for (size_t i = 0; i < n; i++)
                v = v << 4 | (uint64_t)hex_value(digits[i]);
            for (int b = 0; b < 8; b++)
                if (append_byte(&buf, &len, &cap, (uint8_t)(v >> (8 * b)))) {
                    free(buf);
                    return failf(why, why_size, "out of memory");
                }
            continue;
        }
        if (n % 2) {
            free(buf);
            return failf(why, why_size, "line %u: %s: '%.*s' has an odd number of hex digits", line,
                         what, (int)(p - start), start);
        }
        for (size_t i = 0; i < n; i += 2)
            if (append_byte(&buf, &len, &cap, (uint8_t)(hex_value(digits[i]) << 4 | hex_value(digits[i + 1])))) {
                free(buf);
                return failf(why, why_size, "out of memory");
            }
    }
    *out = buf;
    *out_len = len;
    return 0;
}

static char *read_beside(const char *test_path, const char *name, char **full_path)
{
    const char *slash = strrchr(test_path, '/');
    int dir_len = slash ? (int)(slash - test_path) : 1;
    char *path = NULL;
    if (asprintf(&path, "%.*s/%s", dir_len, slash ? test_path : ".", name) < 0)
        return NULL;
    size_t len;
    char *text = test_read_file(path, &len);
    if (full_path)
        *full_path = path;
    else
        free(path);
    return text;
}

enum section {
    SEC_NONE, SEC_ASM, SEC_RAW, SEC_MEM, SEC_RESULT, SEC_ERROR, SEC_IGNORED,
};

struct pending {
    enum section kind;
    unsigned line;   /* header line */
    char *text;      /* accumulated body */
    size_t len, cap;
};

static void body_append(struct pending *s, const char *line, size_t n)
{
    if (s->len + n + 2 > s->cap) {
        size_t cap = s->cap ? s->cap : 256;
        while (cap < s->len + n + 2)
            cap *= 2;
        char *t = realloc(s->text, cap);
        if (!t)
            return;
        s->text = t;
        s->cap = cap;
    }
    memcpy(s->text + s->len, line, n);
    s->len += n;
    s->text[s->len++] = '\n';
    s->text[s->len] = '\0';
}

static void trim(char *s)
{
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    size_t lead = strspn(s, " \t\r\n");
    memmove(s, s + lead, n - lead + 1);
}

/* Finish a section: interpret its body into t. */
static int close_section(struct pending *s, struct test_file *t, const char *path, char *why,
                         size_t why_size)
{
    const char *body = s->text ? s->text : "";
    int rc = 0;
    switch (s->kind) {
    case SEC_ASM:
        if (!t->program_text) {
            t->program_text = strdup(body);
            t->program_line = s->line + 1;
            t->program_origin = strdup(path);
        }
        break;
    case SEC_RAW:
        t->has_raw = true;
        rc = parse_hex(body, true, &t->raw, &t->raw_len, why, why_size, "-- raw", s->line);
        if (!rc && t->raw_len % 8)
            rc = failf(why, why_size, "line %u: -- raw: %zu bytes is not a whole number of 8-byte "
                       "instructions", s->line, t->raw_len);
        break;
    case SEC_MEM:
        t->has_mem = true;
        rc = parse_hex(body, false, &t->mem, &t->mem_len, why, why_size, "-- mem", s->line);
        break;
    case SEC_RESULT: {
        char *v = strdup(body);
        if (!v)
            return failf(why, why_size, "out of memory");
        trim(v);
        char *end = NULL;
        errno = 0;
        if (v[0] == '-')
            t->result = (uint64_t)strtoll(v, &end, 0);
        else
            t->result = strtoull(v, &end, 0);
        if (!v[0] || errno || *end)
            rc = failf(why, why_size, "line %u: -- result: '%s' is not a number", s->line, v);
        t->has_result = true;
        free(v);
        break;
    }
    case SEC_ERROR:
        t->expect_error = true;
        free(t->error_text);
        t->error_text = strdup(body);
        if (t->error_text)
            trim(t->error_text);
        break;
    default: break;
    }
    free(s->text);
    *s = (struct pending){0};
    return rc;
}

static int parse_file(const char *path, struct test_file *t, char *why, size_t why_size)
{
    size_t len;
    char *text = test_read_file(path, &len);
    if (!text)
        return failf(why, why_size, "cannot read %s: %s", path, strerror(errno));
    struct pending cur = {0};
    int rc = 0;
    unsigned lineno = 0;
    char *save = NULL;
    for (char *p = text; p && !rc; p = save) {
        char *nl = strchr(p, '\n');
        save = nl ? nl + 1 : NULL;
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        if (!nl && n == 0)
            break;
        lineno++;
        if (n && p[n - 1] == '\r')
            n--;
        if (n >= 2 && p[0] == '-' && p[1] == '-') {
            rc = close_section(&cur, t, path, why, why_size);
            if (rc)
                break;
            char header[256];
            snprintf(header, sizeof(header), "%.*s", (int)(n - 2), p + 2);
            trim(header);
            cur.line = lineno;
            if (!strcmp(header, "asm")) {
                cur.kind = SEC_ASM;
                t->has_asm = true;
            } else if (!strncmp(header, "asm @", 5) || !strncmp(header, "mem @", 5)) {
                char name[256];
                snprintf(name, sizeof(name), "%s", header + 5);
                trim(name);
                char *full = NULL;
                char *content = read_beside(path, name, &full);
                if (!content) {
                    rc = failf(why, why_size, "line %u: cannot read '%s' (%s)", lineno, full ? full : name,
                               strerror(errno));
                    free(full);
                    break;
                }
                if (header[0] == 'a') {
                    t->has_asm = true;
                    if (!t->program_text) {
                        t->program_text = content;
                        t->program_line = 1;
                        t->program_origin = full;
                        full = NULL;
                        content = NULL;
                    }
                } else {
                    t->has_mem = true;
                    rc = parse_hex(content, false, &t->mem, &t->mem_len, why, why_size, "-- mem @", lineno);
                }
                free(content);
                free(full);
                cur.kind = SEC_IGNORED;
            } else if (!strcmp(header, "raw")) {
                cur.kind = SEC_RAW;
            } else if (!strcmp(header, "mem")) {
                cur.kind = SEC_MEM;
            } else if (!strcmp(header, "result")) {
                cur.kind = SEC_RESULT;
            } else if (!strcmp(header, "error") || !strcmp(header, "error pattern")) {
                cur.kind = SEC_ERROR;
            } else if (!strcmp(header, "reload")) {
                t->reload = true;
                cur.kind = SEC_IGNORED;
            } else if (!strcmp(header, "unload")) {
                t->unload = true;
                cur.kind = SEC_IGNORED;
            } else if (!strcmp(header, "c") || !strcmp(header, "description") ||
                       !strcmp(header, "no register offset") || !strcmp(header, "no jit")) {
                cur.kind = SEC_IGNORED;
            } else {
                rc = failf(why, why_size, "line %u: unknown section '-- %s'", lineno, header);
            }
            continue;
        }
        /* Comment lines stay as empty lines so assembler line numbers match the file. */
        if (n && p[0] == '#')
            n = 0;
        if (cur.kind != SEC_NONE && cur.kind != SEC_IGNORED)
            body_append(&cur, p, n);
    }
    if (!rc)
        rc = close_section(&cur, t, path, why, why_size);
    else
        free(cur.text);
    free(text);
    return rc;
}

/* ---- running ---- */

/* A uBPF-like VM: one program slot. */
struct vm {
    bool loaded;
    struct xdpvm_prog prog;
};

static int vm_load(struct vm *vm, const struct conformance_engine *engine, struct xdpvm_insn *insns,
                   size_t count, char *err, size_t err_size)
{
    if (vm->loaded)
        return failf(err, err_size, "load refused: a program is already loaded into this VM (unload it "
                     "first)");
    if (count > UBPF_MAX_INSNS)
        return failf(err, err_size, "load refused: too many instructions (%zu, the limit is %d)", count,
                     UBPF_MAX_INSNS);
    memset(&vm->prog, 0, sizeof(vm->prog));
    snprintf(vm->prog.name, sizeof(vm->prog.name), "conformance");
    vm->prog.insns = insns;
    vm->prog.count = count;
    vm->prog.helpers = conformance_helpers();
    vm->prog.exec = xdpvm_interp_run;
    char msg[400];
    int rc = engine->load(&vm->prog, msg, sizeof(msg), engine->engine_ctx);
    if (rc)
        return failf(err, err_size, "load refused: %s", msg);
    vm->loaded = true;
    return 0;
}

static void vm_unload(struct vm *vm, const struct conformance_engine *engine)
{
    if (vm->loaded && engine->unload)
        engine->unload(&vm->prog, engine->engine_ctx);
    vm->loaded = false;
}

/* Assembles/decodes, loads (with -- reload/-- unload) and runs. 0 with *r0, or -errno with the
 * error in err. */
static int load_and_run(const char *path, struct test_file *t, const struct conformance_engine *engine,
                        uint64_t *r0, char *err, size_t err_size)
{
    struct xdpvm_insn *insns = NULL;
    size_t count = 0;
    int rc;
    if (t->has_asm) {
        struct xdpvm_asm_error aerr = {0};
        rc = xdpvm_asm(t->program_text, &insns, &count, &aerr);
        if (rc)
            return failf(err, err_size, "assembly error: %s:%u: %s", t->program_origin,
                         t->program_line + aerr.line - 1, aerr.message);
        if (t->has_raw && (count * 8 != t->raw_len || memcmp(insns, t->raw, t->raw_len))) {
            size_t i = 0;
            while (i < count && i * 8 < t->raw_len && !memcmp(&insns[i], t->raw + i * 8, 8))
                i++;
            free(insns);
            return failf(err, err_size, "the assembled program differs from -- raw at instruction %zu "
                         "(%zu instructions assembled, %zu in -- raw)", i, count, t->raw_len / 8);
        }
        if (t->has_raw && !t->has_result && !t->expect_error) {
            free(insns);
            *r0 = 0;
            return 0; /* an assembler test: nothing to run */
        }
    } else {
        count = t->raw_len / 8;
        insns = malloc(count ? t->raw_len : 1);
        if (!insns)
            return failf(err, err_size, "out of memory");
        memcpy(insns, t->raw, t->raw_len);
    }
    struct vm vm = {0};
    rc = vm_load(&vm, engine, insns, count, err, err_size);
    if (!rc && t->reload)
        rc = vm_load(&vm, engine, insns, count, err, err_size);
    if (!rc && t->unload) {
        vm_unload(&vm, engine);
        rc = vm_load(&vm, engine, insns, count, err, err_size);
    }
    if (!rc) {
        /* A private copy of the memory, exactly its size, so overruns are caught. */
        uint8_t *mem = t->mem_len ? malloc(t->mem_len) : NULL;
        if (t->mem_len && !mem) {
            rc = failf(err, err_size, "out of memory");
        } else {
            if (mem)
                memcpy(mem, t->mem, t->mem_len);
            struct xdpvm_run run = {.prog = &vm.prog};
            if (mem)
                xdpvm_run_add_region(&run, mem, t->mem_len, true, "test memory");
            const uint64_t args[5] = {(uint64_t)(uintptr_t)mem, mem ? t->mem_len : 0};
            rc = engine->run(&run, args, r0, engine->engine_ctx);
            if (rc)
                failf(err, err_size, "run failed: %s", run.error_message[0] ? run.error_message
                                                                         : strerror(-rc));
        }
        free(mem);
    }
    vm_unload(&vm, engine);
    free(insns);
    (void)path;
    return rc;
}

void conformance_run_file(const char *path, const struct conformance_engine *engine,
                          struct conformance_result *out)
{
    memset(out, 0, sizeof(*out));
    struct test_file t = {0};
    char why[400] = "";
    if (parse_file(path, &t, why, sizeof(why))) {
        snprintf(out->detail, sizeof(out->detail), "%s", why);
        test_file_free(&t);
        return;
    }
    if (!t.has_asm && !t.has_raw) {
        snprintf(out->detail, sizeof(out->detail), "no program: the file has no -- asm or -- raw section");
    } else if (engine->unchecked && t.expect_error) {
        out->not_run = true;
        snprintf(out->detail, sizeof(out->detail), "not run: expects an error and %s makes no "
                 "run-time checks", engine->name);
    } else if (!t.expect_error && !t.has_result && !(t.has_asm && t.has_raw)) {
        snprintf(out->detail, sizeof(out->detail), "no expectation: the file has neither -- result nor -- error");
    } else {
        uint64_t r0 = 0;
        char err[480] = "";
        int rc = load_and_run(path, &t, engine, &r0, err, sizeof(err));
        out->expected_error = t.expect_error;
        if (rc) {
            out->error_reported = true;
            out->passed = t.expect_error;
            snprintf(out->detail, sizeof(out->detail), "%s%s", err,
                     t.expect_error ? "" : " (the file expects a result)");
        } else if (t.expect_error) {
            snprintf(out->detail, sizeof(out->detail), "expected an error (upstream: \"%s\") but the "
                     "program ran and returned 0x%" PRIx64, t.error_text ? t.error_text : "", r0);
        } else if (t.has_result && r0 != t.result) {
            snprintf(out->detail, sizeof(out->detail), "r0 = 0x%" PRIx64 ", expected 0x%" PRIx64, r0,
                     t.result);
        } else {
            out->passed = true;
        }
    }
    test_file_free(&t);
}

/* ---- listing ---- */

struct path_list {
    char **paths;
    int count, cap;
};

static int list_add(struct path_list *l, const char *path)
{
    if (l->count == l->cap) {
        int ncap = l->cap ? l->cap * 2 : 128;
        char **n = realloc(l->paths, (size_t)ncap * sizeof(*n));
        if (!n)
            return -ENOMEM;
        l->paths = n;
        l->cap = ncap;
    }
    l->paths[l->count] = strdup(path);
    return l->paths[l->count++] ? 0 : -ENOMEM;
}

static int walk(const char *dir, struct path_list *l)
{
    DIR *d = opendir(dir);
    if (!d)
        return -errno;
    int rc = 0;
    struct dirent *e;
    while (!rc && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char *path = NULL;
        if (asprintf(&path, "%s/%s", dir, e->d_name) < 0) {
            rc = -ENOMEM;
            break;
        }
        struct stat sb;
        size_t n = strlen(e->d_name);
        if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
            rc = walk(path, l);
        else if (n > 5 && !strcmp(e->d_name + n - 5, ".data"))
            rc = list_add(l, path);
        free(path);
    }
    closedir(d);
    return rc;
}

static int compare_paths(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int conformance_list(const char *dir, char ***paths)
{
    struct path_list l = {0};
    int rc = walk(dir, &l);
    if (rc) {
        conformance_free_paths(l.paths, l.count);
        return rc;
    }
    if (l.count)
        qsort(l.paths, (size_t)l.count, sizeof(*l.paths), compare_paths);
    *paths = l.paths;
    return l.count;
}

void conformance_free_paths(char **paths, int count)
{
    for (int i = 0; i < count; i++)
        free(paths[i]);
    free(paths);
}

void conformance_run_suite(const char *root, const char *suite,
                           const struct conformance_engine *engine, bool verbose)
{
    char dir[1024];
    snprintf(dir, sizeof(dir), "%s/conformance/%s", root, suite);
    char **paths = NULL;
    int count = conformance_list(dir, &paths);
    if (count <= 0) {
        test_fail(suite, "no .data files found in %s (%s)", dir, count < 0 ? strerror(-count) : "empty");
        return;
    }
    bool negative = strstr(suite, "negative") != NULL;
    size_t prefix = strlen(root) + strlen("/conformance/");
    for (int i = 0; i < count; i++) {
        char name[1024];
        snprintf(name, sizeof(name), "%s/%s", engine->name, paths[i] + prefix);
        struct conformance_result r;
        conformance_run_file(paths[i], engine, &r);
        if (r.not_run)
            continue;
        if (negative) {
            if (!r.passed || r.error_reported) {
                test_pass(name);
                if (verbose)
                    printf("  reported: %s\n", r.detail);
            } else {
                test_fail(name, "a negative test ran and matched its expectation; the runner must "
                          "report it as failed");
            }
        } else if (r.passed) {
            test_pass(name);
            if (verbose && r.expected_error)
                printf("  expected error reported: %s\n", r.detail);
        } else {
            test_fail(name, "%s", r.detail);
        }
    }
    conformance_free_paths(paths, count);
}
