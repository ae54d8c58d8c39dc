#include "commands.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* --json mode: what the command wrote to standard output so far, and its first error, so that
 * a command failing before it printed its document still leaves one on stdout, as bpftool -j
 * does ({"error": "..."}). */
static struct {
    bool on;
    uint64_t stdout_bytes;
    char first_error[1024];
} json_errors;

void cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("xdpvm: error: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    if (json_errors.on && !json_errors.first_error[0]) {
        va_start(ap, fmt);
        vsnprintf(json_errors.first_error, sizeof(json_errors.first_error), fmt, ap);
        va_end(ap);
    }
}

int cli_usage_error(const char *usage, const char *fmt, const char *arg)
{
    fputs("xdpvm: error: ", stderr);
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
    fputs(usage, stderr);
    return 2;
}

static ssize_t counting_write(void *cookie, const char *buf, size_t size)
{
    (void)cookie;
    size_t done = 0;
    while (done < size) {
        ssize_t n = write(STDOUT_FILENO, buf + done, size - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return done ? (ssize_t)done : -1;
        done += (size_t)n;
    }
    json_errors.stdout_bytes += done;
    return (ssize_t)done;
}

void cli_json_errors_begin(void)
{
    /* glibc lets a program assign stdout; every printf of every command then goes through the
     * counting stream to the same file descriptor, buffered as stdout would be. */
    FILE *counted = fopencookie(NULL, "w", (cookie_io_functions_t){.write = counting_write});
    if (!counted)
        return;
    setvbuf(counted, NULL, isatty(STDOUT_FILENO) ? _IOLBF : _IOFBF, BUFSIZ);
    fflush(stdout);
    stdout = counted;
    json_errors.on = true;
}

int cli_json_errors_end(int status)
{
    if (!json_errors.on)
        return status;
    fflush(stdout);
    if (status != 0 && json_errors.stdout_bytes == 0 && json_errors.first_error[0]) {
        fputs("{\"error\":", stdout);
        cli_json_string(stdout, json_errors.first_error);
        fputs("}\n", stdout);
        fflush(stdout);
    }
    return status;
}

bool cli_has_flag(int argc, char **argv, const char *flag)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], flag) == 0)
            return true;
    return false;
}

double cli_now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void cli_json_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c == '\n')
            fputs("\\n", out);
        else if (c < 0x20)
            fprintf(out, "\\u%04x", c);
        else
            fputc(c, out);
    }
    fputc('"', out);
}
