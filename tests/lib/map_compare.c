/* See map_compare.h. */
#include "map_compare.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "maps/maps.h"
#include "xdp/xdp.h"
#include "testlib.h"

bool objects_maps_equal(const char *test, struct xdpvm_object *obj_a, struct xdpvm_object *obj_b)
{
    struct xdpvm_object_map *ma = xdpvm_object__next_map(obj_a, NULL);
    struct xdpvm_object_map *mb = xdpvm_object__next_map(obj_b, NULL);
    for (; ma && mb; ma = xdpvm_object__next_map(obj_a, ma),
                     mb = xdpvm_object__next_map(obj_b, mb)) {
        struct xdpvm_map *a = xdpvm_object_map__map(ma), *b = xdpvm_object_map__map(mb);
        const struct xdpvm_map_spec *spec = xdpvm_map_get_spec(a);
        if (spec->type == XDPVM_MAP_PROG_ARRAY || spec->type == XDPVM_MAP_RINGBUF ||
            spec->type == XDPVM_MAP_QUEUE || spec->type == XDPVM_MAP_STACK || spec->key_size == 0)
            continue; /* no key/value view (prog arrays hold each object's own programs) */
        size_t vsize = xdpvm_map_user_value_size(a);
        uint8_t *key = calloc(1, spec->key_size), *next_a = calloc(1, spec->key_size),
                *next_b = calloc(1, spec->key_size), *va = calloc(1, vsize), *vb = calloc(1, vsize);
        bool ok = key && next_a && next_b && va && vb, first = true;
        size_t entries = 0;
        while (ok) {
            int ra = xdpvm_map_get_next_key(a, first ? NULL : key, next_a);
            int rb = xdpvm_map_get_next_key(b, first ? NULL : key, next_b);
            first = false;
            if (ra != rb || (ra == 0 && memcmp(next_a, next_b, spec->key_size))) {
                test_fail(test, "map '%s': key sets differ after %zu entries", spec->name, entries);
                ok = false;
                break;
            }
            if (ra)
                break;
            memcpy(key, next_a, spec->key_size);
            /* array-like maps (devmap) list every index, present or not */
            bool present_a = xdpvm_map_user_lookup(a, key, va) == 0;
            bool present_b = xdpvm_map_user_lookup(b, key, vb) == 0;
            if (present_a != present_b || (present_a && memcmp(va, vb, vsize))) {
                test_fail(test, "map '%s': values differ at entry %zu", spec->name, entries);
                ok = false;
            }
            entries++;
        }
        free(key), free(next_a), free(next_b), free(va), free(vb);
        if (!ok)
            return false;
    }
    if (ma || mb) {
        test_fail(test, "map '%s' has no counterpart in the other object",
                  xdpvm_object_map__name(ma ? ma : mb));
        return false;
    }
    return true;
}

void pass_if_maps_equal(const char *test, const char *example, long packets, const char *executors,
                        const uint64_t *outcomes, struct xdpvm_object *a, struct xdpvm_object *b)
{
    if (!objects_maps_equal(test, a, b))
        return;
    printf("# %s: %ld packets identical in %s (", example, packets, executors);
    for (int o = 0; o < XDPVM_XDP_OUT_COUNT; o++)
        printf("%s%s %llu", o ? ", " : "", xdpvm_xdp_outcome_name((enum xdpvm_xdp_outcome)o),
               (unsigned long long)outcomes[o]);
    printf("), maps identical\n");
    test_pass(test);
}
