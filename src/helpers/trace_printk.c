/* bpf_trace_printk (helper 6) with the kernel's format rules (bpf_bprintf_prepare): the format
 * must be NUL-terminated within fmt_size, without ASCII control characters other than white
 * space (UTF-8 bytes are fine); at most 3 arguments; flags
 * "0+- " and a width are allowed, no precision; conversions %d %i %u %x %X (with l or ll),
 * %c, %s, %%, %p %pK %px (16 hex digits; the kernel hashes %p and %pK), and %pI4 %pi4 %pI6
 * %pi6 (addresses read through the pointer). Like the kernel, a string or address the program
 * may not read (NULL included) prints as "" or zeros, a NULL %p as "(null)": the pointers
 * are read through helper_read_program (program_mem.c), never dereferenced blindly.
 * Anything else is -EINVAL. The message goes to run->trace (stderr when NULL), one line per
 * call; the return value is the message length, as in the kernel. */
#include "helpers_impl.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define TRACE_BUF_SIZE 512 /* the kernel's MAX_BPRINTF_BUF */
#define TRACE_MAX_ARGS 3

struct out {
    char buf[TRACE_BUF_SIZE];
    size_t len; /* would-be length; buf holds the first TRACE_BUF_SIZE - 1 bytes */
};

static void emit(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void emit(struct out *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t room = o->len < sizeof(o->buf) ? sizeof(o->buf) - o->len : 0;
    int n = vsnprintf(room ? o->buf + o->len : NULL, room, fmt, ap);
    va_end(ap);
    if (n > 0)
        o->len += (size_t)n;
}

static void emit_ip(struct out *o, const uint8_t *addr, bool v6, bool leading_zeros)
{
    if (!v6) {
        if (leading_zeros)
            emit(o, "%03u.%03u.%03u.%03u", addr[0], addr[1], addr[2], addr[3]);
        else
            emit(o, "%u.%u.%u.%u", addr[0], addr[1], addr[2], addr[3]);
        return;
    }
    for (int i = 0; i < 16; i += 2) {
        if (leading_zeros) /* %pi6: 32 hex digits, no colons */
            emit(o, "%02x%02x", addr[i], addr[i + 1]);
        else
            emit(o, "%s%02x%02x", i ? ":" : "", addr[i], addr[i + 1]);
    }
}

/* Formats into o; returns 0 or -EINVAL when the format breaks the kernel's rules. */
static int format_message(const struct xdpvm_run *run, struct out *o, const char *fmt, size_t fmt_size,
                          const uint64_t args[3])
{
    const char *end = memchr(fmt, '\0', fmt_size);
    if (!end)
        return -EINVAL;
    int argn = 0;
    for (const char *p = fmt; p < end; p++) {
        unsigned char ch = (unsigned char)*p;
        if (isascii(ch) && !isprint(ch) && !isspace(ch))
            return -EINVAL; /* control characters; bytes >= 0x80 (UTF-8) pass, as in 6.18 */
        if (ch != '%') {
            emit(o, "%c", ch);
            continue;
        }
        if (p[1] == '%') {
            emit(o, "%%");
            p++;
            continue;
        }
        char spec[24] = "%";
        size_t sl = 1;
        p++;
        while (*p == '0' || *p == '+' || *p == '-' || *p == ' ') {
            if (sl < 8)
                spec[sl++] = *p;
            p++;
        }
        if (*p >= '1' && *p <= '9') {
            while (*p >= '0' && *p <= '9') {
                if (sl < 16)
                    spec[sl++] = *p;
                p++;
            }
        }
        if (argn >= TRACE_MAX_ARGS)
            return -EINVAL;
        uint64_t arg = args[argn++];
        if (*p == 'p') {
            const char *kind = p + 1;
            if ((kind[0] == 'i' || kind[0] == 'I') && (kind[1] == '4' || kind[1] == '6')) {
                /* the kernel prints an address it cannot read as zeros */
                uint8_t ip[16] = {0};
                size_t ip_len = kind[1] == '6' ? 16 : 4;
                if (!helper_read_program(run, arg, ip, ip_len))
                    memset(ip, 0, ip_len);
                emit_ip(o, ip, kind[1] == '6', kind[0] == 'i');
                p += 2;
                continue;
            }
            bool raw = kind[0] == 'x';
            if (kind[0] == 'K' || kind[0] == 'x')
                p++;
            /* the kernel hashes %p and %pK; xdpvm prints the address itself, same width */
            if (!arg && !raw && kind[0] != 'K')
                emit(o, "(null)");
            else
                emit(o, "%016llx", (unsigned long long)arg);
            continue;
        }
        if (*p == 's' || *p == 'c') {
            spec[sl++] = *p;
            spec[sl] = '\0';
            if (*p == 'c')
                emit(o, spec, (int)(unsigned char)arg);
            else {
                char str[TRACE_BUF_SIZE]; /* unreadable: empty, like the kernel */
                helper_read_program_string(run, arg, str, sizeof(str));
                emit(o, spec, str);
            }
            continue;
        }
        int longs = 0;
        while (*p == 'l' && longs < 2)
            longs++, p++;
        if (!(*p == 'd' || *p == 'i' || *p == 'u' || *p == 'x' || *p == 'X'))
            return -EINVAL;
        spec[sl++] = 'l', spec[sl++] = 'l', spec[sl++] = *p, spec[sl] = '\0';
        bool is_signed = *p == 'd' || *p == 'i';
        /* %d and friends take an int, %ld and %lld a 64-bit value (x86-64 long) */
        if (is_signed)
            emit(o, spec, longs ? (long long)(int64_t)arg : (long long)(int32_t)(uint32_t)arg);
        else
            emit(o, spec, longs ? (unsigned long long)arg : (unsigned long long)(uint32_t)arg);
    }
    return 0;
}

HELPER_FN(trace_printk)
{
    const char *fmt = (const char *)(uintptr_t)r1;
    uint32_t fmt_size = (uint32_t)r2;
    if (!fmt || fmt_size == 0)
        return helper_err(-EINVAL);
    uint64_t args[TRACE_MAX_ARGS] = {r3, r4, r5};
    struct out o = {.len = 0};
    o.buf[0] = '\0';
    int err = format_message(run, &o, fmt, fmt_size, args);
    if (err)
        return helper_err(err);
    FILE *f = run && run->trace ? run->trace : stderr;
    size_t shown = o.len < sizeof(o.buf) ? o.len : sizeof(o.buf) - 1;
    flockfile(f);
    fwrite(o.buf, 1, shown, f);
    if (shown == 0 || o.buf[shown - 1] != '\n')
        fputc('\n', f);
    funlockfile(f);
    return o.len;
}
