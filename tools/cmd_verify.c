/* xdpvm verify PROG.o [--section S] [--log-level 0|1|2] [--json]
 *
 * Loads the object and runs the verifier on each of its programs (or the one in section S).
 * Prints accepted/rejected per program; a rejection comes with the instruction, the register
 * state, the branch decisions that led there and the reason; statistics at the end. With
 * --json, one JSON array (bpftool style); the log then goes to stderr when asked for with
 * --log-level. Exit status 0 when every program was accepted, 1 otherwise, 2 on usage errors. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "verifier/verifier.h"
#include "xdpvm/object.h"

static const char usage_text[] = "usage: xdpvm verify PROG.o [--section S] [--log-level 0|1|2] [--json]";

int cmd_verify(int argc, char **argv)
{
    const char *path = NULL, *section = NULL;
    int log_level = -1;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--section") && i + 1 < argc) {
            section = argv[++i];
        } else if (!strcmp(argv[i], "--log-level") && i + 1 < argc) {
            char *end;
            long v = strtol(argv[++i], &end, 10);
            if (*end || v < 0 || v > 2) {
                cli_error("verify: --log-level takes 0, 1 or 2, not '%s'", argv[i]);
                return 2;
            }
            log_level = (int)v;
        } else if (!strcmp(argv[i], "--json")) {
            json = true;
        } else if (argv[i][0] == '-' || path) {
            cli_error("verify: unexpected argument '%s'\n%s", argv[i], usage_text);
            return 2;
        } else {
            path = argv[i];
        }
    }
    if (!path) {
        cli_error("verify: no object file given\n%s", usage_text);
        return 2;
    }
    if (log_level < 0)
        log_level = json ? 0 : 1;
    XDPVM_OPEN_OPTS(open_opts, .quiet = json);
    struct xdpvm_object *obj = xdpvm_object__open(path, &open_opts);
    if (!obj) {
        cli_error("%s", xdpvm_last_error());
        return 1;
    }
    if (xdpvm_object__load(obj) < 0) {
        cli_error("%s", xdpvm_last_error());
        xdpvm_object__close(obj);
        return 1;
    }
    int status = 0;
    unsigned found = 0;
    if (json)
        printf("[");
    for (struct xdpvm_program *p = xdpvm_object__next_program(obj, NULL); p; p = xdpvm_object__next_program(obj, p)) {
        if (section && strcmp(xdpvm_program__section(p), section))
            continue;
        struct xdpvm_prog *prog = xdpvm_program__prog(p);
        if (!prog)
            continue; /* not loaded (a program type xdpvm does not run) */
        if (!json)
            printf("%s: program '%s' (section %s, %zu insns)\n", path, xdpvm_program__name(p),
                   xdpvm_program__section(p), prog->count);
        struct xdpvm_verify_opts opts = {.log_level = log_level, .log = json ? stderr : stdout};
        struct xdpvm_verify_result res;
        xdpvm_verify(prog, &opts, &res);
        if (!res.accepted)
            status = 1;
        if (json) {
            printf("%s{\"name\":", found ? "," : "");
            cli_json_string(stdout, xdpvm_program__name(p));
            printf(",\"section\":");
            cli_json_string(stdout, xdpvm_program__section(p));
            printf(",\"insns\":%zu,\"accepted\":%s", prog->count, res.accepted ? "true" : "false");
            if (!res.accepted) {
                printf(",\"error_insn\":%zu,\"reason\":", res.error_insn);
                cli_json_string(stdout, res.reason);
            } else {
                printf(",\"stack_depth\":%u", prog->stack_depth);
            }
            printf(",\"insns_processed\":%llu,\"states\":%llu,\"peak_states\":%llu,\"time_ms\":%.3f}",
                   (unsigned long long)res.insns_processed, (unsigned long long)res.states,
                   (unsigned long long)res.peak_states, res.seconds * 1e3);
        } else if (log_level == 0) {
            printf("%s%s%s\n", res.accepted ? "accepted" : "rejected", res.accepted ? "" : ": ",
                   res.accepted ? "" : res.reason);
        }
        found++;
    }
    if (json)
        printf("]\n");
    if (!found) {
        cli_error("verify: %s has no program%s%s", path, section ? " in section " : "", section ? section : "");
        status = 1;
    }
    xdpvm_object__close(obj);
    return status;
}
