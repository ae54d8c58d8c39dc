#include "testlib.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/bpf.h>

static int failures;

static void line(const char *tag, const char *name, const char *fmt, va_list ap)
{
    printf("%s %s", tag, name);
    if (fmt) {
        printf(": ");
        vprintf(fmt, ap);
    }
    printf("\n");
    fflush(stdout);
}

void test_pass(const char *name)
{
    printf("PASS %s\n", name);
    fflush(stdout);
}

void test_fail(const char *name, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    line("FAIL", name, fmt, ap);
    va_end(ap);
    failures++;
}

void test_skip(const char *name, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    line("SKIP", name, fmt, ap);
    va_end(ap);
}

bool test_check(bool cond, const char *name, const char *fmt, ...)
{
    if (cond) {
        test_pass(name);
        return true;
    }
    va_list ap;
    va_start(ap, fmt);
    line("FAIL", name, fmt, ap);
    va_end(ap);
    failures++;
    return false;
}

int test_exit_code(void) { return failures ? 1 : 0; }

static const char *env_or(const char *name, const char *fallback)
{
    const char *v = getenv(name);
    return v && *v ? v : fallback;
}

const char *test_root_dir(void) { return env_or("XDPVM_ROOT", "."); }
const char *test_bpf_dir(void) { return env_or("XDPVM_BPF_DIR", "build/bpf"); }

const char *test_shared_dir(void)
{
    static char buf[4096];
    const char *v = getenv("XDPVM_SHARED");
    if (v && *v)
        return v;
    snprintf(buf, sizeof(buf), "%s/../shared", test_root_dir());
    return buf;
}

bool test_sanitized(void) { return getenv("XDPVM_SANITIZED") != NULL; }

uint64_t test_xorshift64(uint64_t *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return *state;
}

bool test_kernel_bpf_available(const char **why)
{
    if (geteuid() != 0) {
        *why = "needs root for the bpf() syscall";
        return false;
    }
    /* BPF_PROG_LOAD of "r0 = 0; exit" as a socket filter tells whether bpf() works at all. */
    struct bpf_insn prog[2] = {
        {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0, .imm = 0},
        {.code = BPF_JMP | BPF_EXIT},
    };
    union bpf_attr attr;
    memset(&attr, 0, sizeof(attr));
    attr.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
    attr.insns = (uint64_t)(uintptr_t)prog;
    attr.insn_cnt = 2;
    attr.license = (uint64_t)(uintptr_t)"GPL";
    int fd = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof(attr));
    if (fd < 0) {
        static char msg[128];
        snprintf(msg, sizeof(msg), "the bpf() syscall fails here: %s", strerror(errno));
        *why = msg;
        return false;
    }
    close(fd);
    return true;
}

char *test_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (cap - n - 1 == 0) {
            char *bigger = realloc(buf, cap * 2);
            if (!bigger) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = bigger;
            cap *= 2;
        }
    }
    fclose(f);
    if (!buf)
        return NULL;
    buf[n] = 0;
    if (len)
        *len = n;
    return buf;
}
