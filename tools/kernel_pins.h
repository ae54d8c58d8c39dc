/* Where `xdpvm attach` pins an interface's program and maps (tools/cmd_attach.c):
 * /sys/fs/bpf/xdpvm/<ifname>/<map name> and .../program. */
#ifndef XDPVM_TOOLS_KERNEL_PINS_H
#define XDPVM_TOOLS_KERNEL_PINS_H

#include <stddef.h>

/* Mount bpffs on /sys/fs/bpf when it is not one. 0, or -1 with a sentence in err. */
int kernel_pins_ensure_bpffs(char *err, size_t err_size);
/* The pin directory of an interface. */
void kernel_pins_dir(const char *ifname, char *path, size_t size);

#endif
