/* xdpvm disasm FILE.o --jited [--section S] [--blind] [--json]
 *
 * The x86-64 code the JIT makes for each program of an object (loaded and linked as `xdpvm
 * run` does), like `bpftool prog dump jited`: every BPF instruction in llvm-objdump syntax,
 * followed by its machine code, disassembled by libcapstone (AT&T syntax, as bpftool and
 * objdump print it). The entry stubs come first and the shared unwind code last. */
#include <capstone/capstone.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "isa/disasm.h"
#include "jit/jit.h"
#include "xdpvm/object.h"

struct jited_options {
    const char *path, *only_section;
    bool json, blind;
};

static void jited_json_string(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            printf("\\%c", *s);
        else if ((unsigned char)*s < 0x20)
            printf("\\u%04x", (unsigned char)*s);
        else
            putchar(*s);
    }
    putchar('"');
}

/* Machine code in [from, to) of the program's code, one line (or JSON object) per x86
 * instruction. Returns the number printed. */
static size_t print_x86(csh cs, const struct xdpvm_prog *prog, size_t from, size_t to, bool json,
                        bool *first_json)
{
    const uint8_t *code = (const uint8_t *)prog->jit_code + from;
    size_t size = to - from;
    uint64_t address = from;
    cs_insn *insn = cs_malloc(cs);
    size_t printed = 0;
    while (insn && size > 0 && cs_disasm_iter(cs, &code, &size, &address, insn)) {
        char bytes[64] = "";
        size_t used = 0;
        for (uint16_t b = 0; b < insn->size && used + 4 < sizeof(bytes); b++)
            used += (size_t)snprintf(bytes + used, sizeof(bytes) - used, "%s%02x", b ? " " : "",
                                     insn->bytes[b]);
        char text[200];
        snprintf(text, sizeof(text), "%s%s%s", insn->mnemonic, insn->op_str[0] ? "\t" : "",
                 insn->op_str);
        if (json) {
            printf("%s{\"offset\":%" PRIu64 ",\"bytes\":\"%s\",\"asm\":", *first_json ? "" : ",",
                   insn->address, bytes);
            jited_json_string(text);
            putchar('}');
            *first_json = false;
        } else {
            printf("%6" PRIx64 ":\t%-30s\t%s\n", insn->address, bytes, text);
        }
        printed++;
    }
    if (size > 0 && !json) /* capstone stopped: show what is left as bytes */
        printf("%6" PRIx64 ":\t(%zu bytes capstone cannot decode)\n", address, size);
    cs_free(insn, 1);
    return printed;
}

static void print_program(csh cs, const struct xdpvm_program *program, const struct xdpvm_prog *prog,
                          bool json, bool *first_program)
{
    size_t body_end = xdpvm_jit_body_end(prog);
    size_t first_insn = xdpvm_jit_insn_offset(prog, 0);
    if (json) {
        printf("%s{\"name\":", *first_program ? "" : ",");
        jited_json_string(xdpvm_program__name(program));
        printf(",\"section\":");
        jited_json_string(xdpvm_program__section(program));
        printf(",\"bpf_insns\":%zu,\"bytes\":%zu,\"entries\":[", prog->count, prog->jit_size);
        bool first = true;
        print_x86(cs, prog, 0, first_insn, true, &first);
        printf("],\"insns\":[");
    } else {
        printf("%s%s: (section %s, %zu BPF instructions, %zu bytes of x86-64)\n",
               *first_program ? "" : "\n", xdpvm_program__name(program),
               xdpvm_program__section(program), prog->count, prog->jit_size);
        printf("; entries from C: exec(run, r0), args(run, r0, args), callback(r1..r5, run, fn)\n");
        print_x86(cs, prog, 0, first_insn, false, NULL);
    }
    *first_program = false;
    bool first_insn_json = true;
    for (size_t pc = 0; pc < prog->count;) {
        struct xdpvm_decoded d;
        if (xdpvm_isa_decode(prog->insns, prog->count, pc, &d, NULL))
            break;
        size_t start = xdpvm_jit_insn_offset(prog, pc), end = body_end;
        for (size_t next = pc + d.slots; next < prog->count; next++) {
            size_t off = xdpvm_jit_insn_offset(prog, next);
            if (off != SIZE_MAX) {
                end = off;
                break;
            }
        }
        char text[128];
        xdpvm_disasm_insn(&d, pc, XDPVM_SYNTAX_LLVM, text, sizeof(text));
        size_t merged_into = xdpvm_jit_merged_into(prog, pc);
        if (json) {
            printf("%s{\"pc\":%zu,\"bpf\":", first_insn_json ? "" : ",", pc);
            jited_json_string(text);
            if (merged_into != SIZE_MAX)
                printf(",\"merged_into\":%zu", merged_into);
            printf(",\"x86\":[");
            bool first = true;
            if (start != SIZE_MAX)
                print_x86(cs, prog, start, end, true, &first);
            printf("]}");
            first_insn_json = false;
        } else {
            printf("; %zu: %s\n", pc, text);
            if (merged_into != SIZE_MAX)
                printf(";\t(done by the code of %zu)\n", merged_into);
            else if (start != SIZE_MAX)
                print_x86(cs, prog, start, end, false, NULL);
        }
        pc += d.slots;
    }
    if (json) {
        printf("],\"unwind\":[");
        bool first = true;
        print_x86(cs, prog, body_end, prog->jit_size, true, &first);
        printf("]}");
    } else {
        printf("; unwind: the args and callback entries, then the unwind block (helper errors, stop "
               "requests and tail calls return through it)\n");
        print_x86(cs, prog, body_end, prog->jit_size, false, NULL);
    }
}

static int jited_usage(const char *fmt, const char *arg)
{
    cli_error(fmt, arg);
    fprintf(stderr, "usage: xdpvm disasm FILE.o --jited [--section NAME] [--blind] [--json]\n");
    return 2;
}

int cmd_disasm_jited(int argc, char **argv)
{
    struct jited_options opt = {0};
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--jited")) {
            continue;
        } else if (!strcmp(argv[i], "--json")) {
            opt.json = true;
        } else if (!strcmp(argv[i], "--blind")) {
            opt.blind = true;
        } else if (!strcmp(argv[i], "--section") || !strcmp(argv[i], "-j")) {
            if (++i == argc)
                return jited_usage("%s needs a section name", argv[i - 1]);
            opt.only_section = argv[i];
        } else if (argv[i][0] == '-') {
            return jited_usage("--jited: unknown option '%s'", argv[i]);
        } else if (opt.path) {
            return jited_usage("more than one file given ('%s')", argv[i]);
        } else {
            opt.path = argv[i];
        }
    }
    if (!opt.path)
        return jited_usage("%s", "no object file given");
    if (!xdpvm_jit_available()) {
        cli_error("--jited: the JIT targets x86-64, not this host");
        return 1;
    }
    XDPVM_OPEN_OPTS(open_opts, .quiet = true);
    struct xdpvm_object *obj = xdpvm_object__open(opt.path, &open_opts);
    if (!obj || xdpvm_object__load(obj) < 0) {
        cli_error("%s", xdpvm_last_error());
        xdpvm_object__close(obj);
        return 1;
    }
    csh cs;
    if (cs_open(CS_ARCH_X86, CS_MODE_64, &cs) != CS_ERR_OK) {
        cli_error("--jited: libcapstone cannot open an x86-64 disassembler");
        xdpvm_object__close(obj);
        return 1;
    }
    cs_option(cs, CS_OPT_SYNTAX, CS_OPT_SYNTAX_ATT);
    int status = 0;
    bool first_program = true, found = false;
    if (opt.json)
        putchar('[');
    struct xdpvm_program *program;
    xdpvm_object__for_each_program(program, obj) {
        if (opt.only_section && strcmp(xdpvm_program__section(program), opt.only_section))
            continue;
        struct xdpvm_prog *prog = xdpvm_program__prog(program);
        if (!prog)
            continue; /* a section type xdpvm does not run (load warned about it) */
        found = true;
        struct xdpvm_jit_opts jit_opts = {.blind_constants = opt.blind};
        char err[256];
        if (xdpvm_jit_compile(prog, &jit_opts, err, sizeof(err)) < 0) {
            cli_error("%s: %s", opt.path, err);
            status = 1;
            continue;
        }
        print_program(cs, program, prog, opt.json, &first_program);
        xdpvm_jit_free(prog);
    }
    if (opt.json)
        printf("]\n");
    if (!found) {
        cli_error("%s: no program%s%s", opt.path, opt.only_section ? " in section " : "",
                  opt.only_section ? opt.only_section : "");
        status = 1;
    }
    cs_close(&cs);
    xdpvm_object__close(obj);
    return status;
}
