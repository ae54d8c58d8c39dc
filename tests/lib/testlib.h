/* Tiny test protocol shared by every test binary: one line per test case,
 *   PASS <name>
 *   FAIL <name>: <why>
 *   SKIP <name>: <why>
 * tests/run.sh counts these lines across binaries and build trees. */
#ifndef XDPVM_TESTLIB_H
#define XDPVM_TESTLIB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

void test_pass(const char *name);
void test_fail(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void test_skip(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Pass when cond, else fail with the message. Returns cond. */
bool test_check(bool cond, const char *name, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Exit status for main(): 1 when any test failed. */
int test_exit_code(void);

/* Paths handed over by tests/run.sh (with defaults for running a binary by hand). */
const char *test_root_dir(void);    /* repository root: XDPVM_ROOT or "." */
const char *test_bpf_dir(void);     /* compiled BPF objects: XDPVM_BPF_DIR or "build/bpf" */
const char *test_shared_dir(void);  /* ../shared: XDPVM_SHARED or "<root>/../shared" */
bool test_sanitized(void);          /* running in the ASan/UBSan tree: use fewer iterations */
/* The next number of a xorshift64 sequence kept in *state (never 0): cheap, deterministic
 * pseudo-random input for robustness loops. */
uint64_t test_xorshift64(uint64_t *state);

/* Whether the kernel can load BPF programs here (root and a working bpf syscall). When not,
 * *why says so, for SKIP lines. */
bool test_kernel_bpf_available(const char **why);

/* Read a whole file (NUL-terminated; *len excludes the NUL). NULL on error. Caller frees. */
char *test_read_file(const char *path, size_t *len);

#endif
