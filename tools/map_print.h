/* Printing maps the way bpftool does, for `xdpvm map` and for `xdpvm run` after a run.
 *
 * Text is `bpftool map dump` / `bpftool map show`: keys and values as hex bytes (a double space
 * after 8 bytes, a new line after 16), per-CPU values one line per CPU ("value (CPU 00): ..."),
 * then "Found N elements". JSON is bpftool's -j form: an array of {"key": ["0x00", ...],
 * "value": [...]} or, for per-CPU maps, {"key": [...], "values": [{"cpu": 0, "value": [...]}]}.
 * With BTF (map_print_dump_btf, map_print_object), values are also shown typed, as bpftool
 * does. Maps without keys (ring buffers, queues, stacks) print no entries and say why. Prog array
 * slots print the program's name ("prog": "name"): xdpvm programs have no ids. */
#ifndef XDPVM_TOOLS_MAP_PRINT_H
#define XDPVM_TOOLS_MAP_PRINT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct btf;
struct xdpvm_map;
struct xdpvm_object;

/* Every entry of one map (`bpftool map dump`) as raw bytes. Returns the number of entries, or
 * a negative errno when the map cannot be iterated (the output then says so). */
int map_print_dump(FILE *out, struct xdpvm_map *map, bool json);
/* Same, with values described by BTF (libbpf's struct btf; type ids as from
 * xdpvm_object_map__btf_*_type_id): JSON entries gain bpftool's "formatted" member, and text
 * becomes bpftool's pretty-printed form. value_type_id 0 or btf NULL: raw, as above. */
int map_print_dump_btf(FILE *out, struct xdpvm_map *map, const struct btf *btf, uint32_t key_type_id,
                       uint32_t value_type_id, bool json);

/* One line of `bpftool map show` for a map: "<id>: <type>  name <name>  flags 0x..", then
 * "\tkey NB  value NB  max_entries N". JSON: one object with bpftool's field names. */
void map_print_show(FILE *out, unsigned id, struct xdpvm_map *map, bool json);

/* Every map of a loaded object, or only the one named only (NULL: all), each as a show
 * line followed by its dump; JSON: an array of {show fields..., "entries": [dump]}.
 * Returns 0, or -ENOENT (message on stderr) when only names no map. */
int map_print_object(FILE *out, const struct xdpvm_object *obj, const char *only, bool json);

#endif
