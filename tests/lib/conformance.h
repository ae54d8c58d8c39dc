/* Conformance runner core: parses the suites' .data files (format in
 * ../shared/conformance/README.md), loads the program the way uBPF's VM does (one program
 * per VM, at most 65536 instructions, reload/unload), runs it through an engine and compares
 * the outcome with the file's expectation. The engine is a pair of callbacks so each executor
 * (interpreter, JIT) runs the same files. */
#ifndef XDPVM_CONFORMANCE_H
#define XDPVM_CONFORMANCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/runtime.h"

/* The suites' helpers 0..5 (gather_bytes, memfrob, no_op, sqrti, strcmp_ext, unwind), by
 * number, in a table of their own: a program is linked against this table. */
const struct xdpvm_helper_table *conformance_helpers(void);

/* An executor as the runner sees it. */
struct conformance_engine {
    const char *name; /* "interpreter", "jit" */
    /* Load-time work on a fresh program (checks, compilation). 0, or negative errno with a
     * sentence in err. */
    int (*load)(struct xdpvm_prog *prog, char *err, size_t err_size, void *engine_ctx);
    /* Run it with r1..r5 = args (the run's regions already hold the test memory). 0 with *r0
     * set, or negative errno with run->error_message filled. */
    int (*run)(struct xdpvm_run *run, const uint64_t args[5], uint64_t *r0, void *engine_ctx);
    /* Free what load made (may be NULL). */
    void (*unload)(struct xdpvm_prog *prog, void *engine_ctx);
    void *engine_ctx;
    /* The engine makes no run-time checks (it trusts a verifier): the runner gives it only
     * files that expect a result, never ones that expect an error. */
    bool unchecked;
};

/* The interpreter, checked (conformance programs are not verified), and the same with
 * prog->verified set, to run the unchecked executor over the files that expect a result. */
extern const struct conformance_engine conformance_interpreter;
extern const struct conformance_engine conformance_interpreter_unchecked;

/* Outcome of one file. */
struct conformance_result {
    bool passed;        /* the outcome matches the file's expectation */
    bool expected_error;
    bool error_reported; /* assembly, load or run failed (detail says which and why) */
    bool not_run;        /* an unchecked engine and a file expecting an error */
    char detail[512];   /* why it failed, or the error reported for an expected error */
};

/* Run one .data file through engine. Never crashes on bad files: a file that cannot be
 * parsed or has no program fails with the reason in detail. */
void conformance_run_file(const char *path, const struct conformance_engine *engine,
                          struct conformance_result *out);

/* All .data files under dir (recursively), sorted; *paths malloc'd, free with
 * conformance_free_paths. Returns the count, or -errno. */
int conformance_list(const char *dir, char ***paths);
void conformance_free_paths(char **paths, int count);

/* Every file of suite (a folder under root/conformance) through engine: one PASS/FAIL line per
 * file, named ENGINE/SUITE/FILE. In a suite whose name contains "negative" a file passes when
 * the runner reports it failed. verbose: print what was reported for negative files and files
 * expecting an error. */
void conformance_run_suite(const char *root, const char *suite,
                           const struct conformance_engine *engine, bool verbose);

#endif
