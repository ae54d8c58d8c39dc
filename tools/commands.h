/* CLI commands: one file tools/cmd_<name>.c per command, listed once in tools/xdpvm.c. */
#ifndef XDPVM_TOOLS_COMMANDS_H
#define XDPVM_TOOLS_COMMANDS_H

#include <stdbool.h>
#include <stdio.h>

/* Each command gets argv with argv[0] = command name; returns the process exit status. */
/* (commands are declared here as they are added) */
int cmd_disasm(int argc, char **argv);
/* `xdpvm disasm FILE.o --jited`: the JIT's x86-64 code (tools/disasm_jited.c). */
int cmd_disasm_jited(int argc, char **argv);
int cmd_map(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_gen(int argc, char **argv);
int cmd_attach(int argc, char **argv);
int cmd_detach(int argc, char **argv);
int cmd_status(int argc, char **argv);

/* `xdpvm run ... --dev IF`: the live data path (tools/run_live.c). */
int run_live(int argc, char **argv);
/* `xdpvm map ... --dev IF`: maps pinned by `xdpvm attach` (tools/map_pinned.c). */
int map_pinned(int argc, char **argv);
/* Silence libbpf/libxdp chatter unless XDPVM_VERBOSE is set (tools/run_live.c). */
void live_quiet_libraries(void);
/* Shared by run, run_live and bench (tools/cmd_run.c): put the --map-set entries, then those
 * of --maps-file (NULL: none), into a loaded object (0, or -1); pick the program of --section
 * (or the first XDP one), NULL when it is missing or not an XDP program. Errors are printed. */
struct xdpvm_object;
struct xdpvm_program;
int apply_map_options(struct xdpvm_object *obj, const char *const *map_sets, unsigned count,
                      const char *maps_file);
struct xdpvm_program *pick_program(struct xdpvm_object *obj, const char *path, const char *section);
/* Verify program like the kernel's load (and the object's other programs, possible tail-call
 * targets, which stay checked when rejected). 0 when accepted; otherwise prints the rejection
 * (file, program, section, instruction, reason, then hint) and returns -1. */
int verify_for_run(struct xdpvm_object *obj, const char *path, struct xdpvm_program *program,
                   const char *hint);
int cmd_verify(int argc, char **argv);
int cmd_bench(int argc, char **argv);

/* Shared helpers for commands (tools/common.c). */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "xdpvm: error: " then fmt with arg (one %s) on stderr, then the command's usage text; 2, the
 * exit status of a usage error. */
int cli_usage_error(const char *usage, const char *fmt, const char *arg);
/* True when argv contains --json (bpftool style); commands then print one JSON document. */
bool cli_has_flag(int argc, char **argv, const char *flag);
/* The monotonic clock in seconds (progress lines, rates, durations). */
double cli_now_seconds(void);
/* s as a JSON string, quotes included. */
void cli_json_string(FILE *out, const char *s);
/* --json, bpftool style: a command that fails before writing anything to stdout leaves
 * {"error": "its first cli_error message"} there. begin before the command runs, end with
 * its exit status (returned unchanged). */
void cli_json_errors_begin(void);
int cli_json_errors_end(int status);

#endif
