/* libFuzzer target for the object loader: any bytes handed to xdpvm_object__open_mem and, when
 * they open, xdpvm_object__load, must give an object or an error message, never a crash, a leak
 * or undefined behaviour; a loaded object's maps are then printed as `xdpvm map dump` does
 * (BTF-typed). Seeded by `make fuzz` with the clang-built test objects. */
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include <bpf/libbpf.h>

#include "map_print.h"
#include "xdpvm/xdpvm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* libbpf's BTF parser prints about every malformed BTF; that is the expected case here. */
    libbpf_set_print(NULL);
    XDPVM_OPEN_OPTS(opts, .object_name = "fuzz", .quiet = true, .ncpus = 1);
    struct xdpvm_object *obj = xdpvm_object__open_mem(data, size, &opts);
    if (!obj) {
        if (!*xdpvm_last_error())
            __builtin_trap(); /* a failure must say why */
        return 0;
    }
    struct xdpvm_program *prog;
    xdpvm_object__for_each_program(prog, obj) {
        size_t count;
        xdpvm_program__raw_insns(prog, &count);
        (void)xdpvm_program__section(prog);
    }
    /* Maps are preallocated like the kernel's: a mutated max_entries asks for gigabytes, which
     * is a legitimate -ENOMEM, not a bug, but trips the fuzzer's memory limit. */
    uint64_t map_bytes = 0;
    struct xdpvm_object_map *map;
    xdpvm_object__for_each_map(map, obj) {
        size_t value_size;
        if (xdpvm_object_map__is_global_data(map))
            (void)xdpvm_object_map__initial_value(map, &value_size);
        map_bytes += ((uint64_t)xdpvm_object_map__key_size(map) + xdpvm_object_map__value_size(map) + 64) *
                     xdpvm_object_map__max_entries(map);
    }
    if (map_bytes > (4u << 20)) {
        xdpvm_object__close(obj);
        return 0;
    }
    if (xdpvm_object__load(obj) == 0) {
        xdpvm_object__for_each_program(prog, obj)
            (void)xdpvm_program__prog(prog);
        /* The dump printer reads the object's BTF, as untrusted as the rest of it. */
        static FILE *sink;
        if (!sink)
            sink = fopen("/dev/null", "w");
        if (sink) {
            map_print_object(sink, obj, NULL, false);
            map_print_object(sink, obj, NULL, true);
        }
    } else if (!*xdpvm_last_error()) {
        __builtin_trap();
    }
    xdpvm_object__close(obj);
    return 0;
}
