/* xdpvm: run, verify and inspect BPF/XDP object files in user space. */
#include <stdio.h>
#include <string.h>

#include "commands.h"

struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *usage;
};

static const struct command commands[] = {
    {"help", NULL, "help"},
    {"disasm", cmd_disasm, "disasm FILE.o [--section NAME] [--syntax llvm|asm] [--json]\n"
                           "  xdpvm disasm FILE.o --jited [--section NAME] [--blind] [--json] (x86-64 code of the JIT)"},
    {"map", cmd_map, "map list|dump FILE.o [--map NAME] [--json] | map list|dump|update|delete --dev IF ... (pinned by attach)"},
    {"run", cmd_run, "run PROG.o --in IN.pcap [--out-pass P.pcap] [--out-tx T.pcap] [--json] [--trace] ...\n"
                     "  xdpvm run PROG.o --dev IF[,IF...] [--queues N] [--mode auto|afxdp|afpacket] [--busy-poll] ... (live ports)"},
    {"attach", cmd_attach, "attach PROG.o --dev IF [--section S] [--mode native|skb] [--json]"},
    {"detach", cmd_detach, "detach --dev IF [--json]"},
    {"status", cmd_status, "status [--dev IF] [--json]"},
    {"verify", cmd_verify, "verify PROG.o [--section S] [--log-level 0|1|2] [--json]"},
    {"bench", cmd_bench, "bench PROG.o --in IN.pcap [--section S] [--repeat N] [--engine interp|jit|kernel|all] [--json]"},
    {"gen", cmd_gen, "gen --dev IF --in P.pcap [--rate PPS] [--count N | --duration S] [--mode auto|afxdp|afpacket] [--json]"},
};

static int usage(FILE *out)
{
    fprintf(out, "usage: xdpvm COMMAND [ARGS]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(out, "  xdpvm %s\n", commands[i].usage);
    return out == stderr ? 2 : 0;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage(stderr);
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help"))
        return usage(stdout);
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (commands[i].run && !strcmp(argv[1], commands[i].name)) {
            if (cli_has_flag(argc, argv, "--json"))
                cli_json_errors_begin();
            return cli_json_errors_end(commands[i].run(argc - 1, argv + 1));
        }
    fprintf(stderr, "xdpvm: error: unknown command '%s'\n", argv[1]);
    return usage(stderr);
}
