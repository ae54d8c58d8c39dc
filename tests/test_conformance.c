/* Runs every .data file of the conformance suites in ../shared/conformance through the
 * interpreter: one PASS/FAIL line per file, named by its path in the suite.
 *
 * bpf_conformance/negative/ holds files the runner must report as failed (bad assembly, no
 * program, a wrong expected result, programs to refuse): such a file passes here when the
 * runner reports it failed or reports an error, and the line's reason says which.
 * The unchecked executor (prog->verified) then runs the files that expect a result.
 * XDPVM_CONFORMANCE_VERBOSE=1 prints the reason for passing negative files too. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/conformance.h"
#include "lib/testlib.h"

static const char *const suites[] = {
    "bpf_conformance/tests",
    "bpf_conformance/negative",
    "ubpf/tests",
};

static void run_suite(const char *root, const char *suite, const struct conformance_engine *engine,
                      bool verbose)
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

int main(void)
{
    const char *verbose_env = getenv("XDPVM_CONFORMANCE_VERBOSE");
    bool verbose = verbose_env && strcmp(verbose_env, "0") != 0;
    for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++)
        run_suite(test_shared_dir(), suites[i], &conformance_interpreter, verbose);
    /* The unchecked executor over the files that expect a result (negative files are built
     * to fail and may be unsafe). */
    for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++)
        if (!strstr(suites[i], "negative"))
            run_suite(test_shared_dir(), suites[i], &conformance_interpreter_unchecked, verbose);
    return test_exit_code();
}
