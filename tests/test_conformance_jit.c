/* The conformance suites in ../shared/conformance run as JIT-compiled native code, plainly
 * and with constant blinding: one PASS/FAIL line per file and mode.
 *
 * The JIT makes no run-time checks (it trusts the verifier), so the runner gives it only the
 * files that expect a result; the files that expect an error (and bpf_conformance/negative)
 * are the checked interpreter's, in test_conformance. The suite programs are trusted test
 * data, compiled without the verifier, with the same semantics. */

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

int main(void)
{
    if (!xdpvm_jit_available()) {
        test_skip("conformance_jit", "the JIT needs an x86-64 host");
        return test_exit_code();
    }
    for (size_t e = 0; e < sizeof(engines) / sizeof(engines[0]); e++)
        for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++)
            conformance_run_suite(test_shared_dir(), suites[i], &engines[e], false);
    return test_exit_code();
}
