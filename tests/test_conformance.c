/* Runs every .data file of the conformance suites in ../shared/conformance through the
 * interpreter: one PASS/FAIL line per file, named by its path in the suite.
 *
 * bpf_conformance/negative/ holds files the runner must report as failed (bad assembly, no
 * program, a wrong expected result, programs to refuse): such a file passes here when the
 * runner reports it failed or reports an error, and the line's reason says which.
 * The unchecked executor (prog->verified) then runs the files that expect a result.
 * XDPVM_CONFORMANCE_VERBOSE=1 prints the reason for passing negative files too. */
#include <stdlib.h>
#include <string.h>

#include "lib/conformance.h"
#include "lib/testlib.h"

static const char *const suites[] = {
    "bpf_conformance/tests",
    "bpf_conformance/negative",
    "ubpf/tests",
};

int main(void)
{
    const char *verbose_env = getenv("XDPVM_CONFORMANCE_VERBOSE");
    bool verbose = verbose_env && strcmp(verbose_env, "0") != 0;
    for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++)
        conformance_run_suite(test_shared_dir(), suites[i], &conformance_interpreter, verbose);
    /* The unchecked executor over the files that expect a result (negative files are built
     * to fail and may be unsafe). */
    for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++)
        if (!strstr(suites[i], "negative"))
            conformance_run_suite(test_shared_dir(), suites[i], &conformance_interpreter_unchecked, verbose);
    return test_exit_code();
}
