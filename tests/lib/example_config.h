/* One configuration of each example program (examples/NAME.bpf.c) for runs over the bundled
 * capture, shared by the kernel differential test and the benchmark so both fill xdpvm's and
 * the kernel's maps with the same entries. The struct layouts mirror the examples' headers. */
#ifndef XDPVM_TESTLIB_EXAMPLE_CONFIG_H
#define XDPVM_TESTLIB_EXAMPLE_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

/* Puts one map entry (key, value in the map's layout); false stops the configuration. */
typedef bool (*example_put_fn)(void *ctx, const char *map, const void *key, const void *value);

/* put functions for example_configure: ctx is a loaded struct xdpvm_object, or a loaded
 * struct xdpvm_kernel_object (kernel/kernel.h). */
bool example_put_object(void *obj, const char *map, const void *key, const void *value);
bool example_put_kernel(void *kernel_obj, const char *map, const void *key, const void *value);

struct xdpvm_object;
/* Sets key to value in the map named map of the loaded obj: 0, or -errno (-ENOENT: no such
 * map), for callers that report why. */
int example_map_update(struct xdpvm_object *obj, const char *map, const void *key, const void *value);

/* The six examples, in a fixed order. */
extern const char *const example_names[6];

/* Fill the maps of example name through put. redirect_ifindex: an existing device other than
 * the ingress one for the router's default route (XDP_REDIRECT through its devmap), or 0 to
 * send everything back out (XDP_TX). */
bool example_configure(const char *name, example_put_fn put, void *ctx, uint32_t redirect_ifindex);

/* A device besides lo, for the router's redirect target (the kernel's devmap needs one that
 * exists); 0 when there is none. */
uint32_t example_redirect_ifindex(void);

#endif
