/* Runs a libFuzzer target's LLVMFuzzerTestOneInput over files without libFuzzer, for the test
 * suite's regression run of the committed seeds (tests/test_fuzz_seeds.sh) in the normal and
 * sanitizer builds. A file ending in .hex holds hex digits (white space and #-comments
 * ignored); any other file is used as is. Exits 0 when every input ran; a crash is the
 * failure. */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int hex_digit(int c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 :
           c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Decodes hex text in place; returns the byte count, or -1 on a stray character. */
static long decode_hex(uint8_t *buf, size_t len)
{
    size_t out = 0;
    int high = -1;
    for (size_t i = 0; i < len; i++) {
        int c = buf[i];
        if (c == '#') {
            while (i < len && buf[i] != '\n')
                i++;
            continue;
        }
        if (isspace(c))
            continue;
        int v = hex_digit(c);
        if (v < 0)
            return -1;
        if (high < 0) {
            high = v;
        } else {
            buf[out++] = (uint8_t)(high << 4 | v);
            high = -1;
        }
    }
    return high < 0 ? (long)out : -1;
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        if (!f) {
            fprintf(stderr, "%s: cannot open\n", argv[i]);
            return 2;
        }
        size_t cap = 1 << 16, len = 0;
        uint8_t *buf = malloc(cap);
        for (size_t n; buf && (n = fread(buf + len, 1, cap - len, f)) > 0;) {
            len += n;
            if (len == cap) {
                uint8_t *bigger = realloc(buf, cap *= 2);
                if (!bigger)
                    free(buf);
                buf = bigger;
            }
        }
        fclose(f);
        if (!buf) {
            fprintf(stderr, "%s: out of memory\n", argv[i]);
            return 2;
        }
        size_t name_len = strlen(argv[i]);
        if (name_len > 4 && !strcmp(argv[i] + name_len - 4, ".hex")) {
            long n = decode_hex(buf, len);
            if (n < 0) {
                fprintf(stderr, "%s: not hex text\n", argv[i]);
                free(buf);
                return 2;
            }
            len = (size_t)n;
        }
        LLVMFuzzerTestOneInput(buf, len);
        free(buf);
    }
    return 0;
}
