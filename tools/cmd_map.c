/* xdpvm map list FILE.o [--json]
 * xdpvm map dump FILE.o [--map NAME] [--json]
 *
 * The maps an object gets when loaded, listed like `bpftool map show` and dumped like
 * `bpftool map dump`: right after load, so what shows is the initial state (global data,
 * prog_array slots). `xdpvm run` dumps them after a run with the same printer (map_print.h). */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "map_print.h"
#include "xdpvm/xdpvm.h"

static int usage(void)
{
    cli_error("usage: xdpvm map list FILE.o [--json] | xdpvm map dump FILE.o [--map NAME] [--json]");
    return 2;
}

int cmd_map(int argc, char **argv)
{
    if (cli_has_flag(argc, argv, "--dev"))
        return map_pinned(argc, argv); /* maps pinned by xdpvm attach: tools/map_pinned.c */
    if (argc < 3)
        return usage();
    const char *verb = argv[1], *path = argv[2], *only = NULL;
    bool json = false;
    for (int i = 3; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = true;
        else if (strcmp(argv[i], "--map") == 0 && i + 1 < argc && strcmp(verb, "dump") == 0)
            only = argv[++i];
        else
            return usage();
    }
    if (strcmp(verb, "list") && strcmp(verb, "dump"))
        return usage();

    struct xdpvm_object *obj = xdpvm_object__open(path, NULL);
    if (!obj || xdpvm_object__load(obj)) {
        cli_error("%s", xdpvm_last_error());
        xdpvm_object__close(obj);
        return 1;
    }
    int status = 0;
    if (strcmp(verb, "dump") == 0) {
        status = map_print_object(stdout, obj, only, json) ? 1 : 0;
    } else {
        unsigned id = 0;
        struct xdpvm_object_map *m;
        if (json)
            fputc('[', stdout);
        xdpvm_object__for_each_map(m, obj) {
            if (json && id)
                fputc(',', stdout);
            map_print_show(stdout, ++id, xdpvm_object_map__map(m), json);
        }
        if (json)
            fputs("]\n", stdout);
    }
    xdpvm_object__close(obj);
    return status;
}
