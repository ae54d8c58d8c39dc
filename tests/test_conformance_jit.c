/* The conformance suites in ../shared/conformance run as JIT-compiled native code, plainly
 * and with constant blinding: one PASS/FAIL line per file and mode.
 *
 * The JIT makes no run-time checks (it trusts the verifier), so the runner gives it only the
 * files that expect a result; the files that expect an error (and bpf_conformance/negative)
 * are the checked interpreter's, in test_conformance. The suite programs are trusted test
 * data, compiled without the verifier, with the same semantics. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jit/jit.h"
#include "lib/conformance.h"
#include "lib/testlib.h"

static const char *const suites[] = {
    "bpf_conformance/tests",
    "ubpf/tests",
};

static int jit_load(struct xdpvm_prog *prog, char *err, size_t err_size, void *ctx)
{
    const struct xdpvm_jit_opts *opts = ctx;
    prog->verified = true; /* trusted test data, as the JIT requires (see the header comment) */
    return xdpvm_jit_compile(prog, opts, err, err_size);
}

static int jit_run(struct xdpvm_run *run, const uint64_t args[5], uint64_t *r0, void *ctx)
{
    return xdpvm_jit_run_args(run, args, r0);
}

static void jit_unload(struct xdpvm_prog *prog, void *ctx)
{
    xdpvm_jit_free(prog);
}

static const struct xdpvm_jit_opts plain_opts = {.blind_constants = false};
static const struct xdpvm_jit_opts blinded_opts = {.blind_constants = true};

static const struct conformance_engine engines[] = {
    {.name = "jit", .load = jit_load, .run = jit_run, .unload = jit_unload,
     .engine_ctx = (void *)&plain_opts, .unchecked = true},
    {.name = "jit-blinded", .load = jit_load, .run = jit_run, .unload = jit_unload,
     .engine_ctx = (void *)&blinded_opts, .unchecked = true},
};

static void run_suite(const char *root, const char *suite, const struct conformance_engine *engine)
{
    char dir[1024];
    snprintf(dir, sizeof(dir), "%s/conformance/%s", root, suite);
    char **paths = NULL;
    int count = conformance_list(dir, &paths);
    if (count <= 0) {
        test_fail(suite, "no .data files found in %s (%s)", dir, count < 0 ? strerror(-count) : "empty");
        return;
    }
    size_t prefix = strlen(root) + strlen("/conformance/");
    for (int i = 0; i < count; i++) {
        char name[1024];
        snprintf(name, sizeof(name), "%s/%s", engine->name, paths[i] + prefix);
        struct conformance_result r;
        conformance_run_file(paths[i], engine, &r);
        if (r.not_run)
            continue; /* expects an error: the checked interpreter's file */
        if (r.passed)
            test_pass(name);
        else
            test_fail(name, "%s", r.detail);
    }
    conformance_free_paths(paths, count);
}

int main(void)
{
    if (!xdpvm_jit_available()) {
        test_skip("conformance_jit", "the JIT needs an x86-64 host");
        return test_exit_code();
    }
    for (size_t e = 0; e < sizeof(engines) / sizeof(engines[0]); e++)
        for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++)
            run_suite(test_shared_dir(), suites[i], &engines[e]);
    return test_exit_code();
}
