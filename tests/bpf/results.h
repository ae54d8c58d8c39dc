/* The results array of the helper test programs (tests/bpf/helper_*.bpf.c): each step's value
 * goes to results[step], which tests/test_helper_progs.c and tests/test_helper_fuzz.c read back
 * after a run, from xdpvm's map and from the kernel's. */
#ifndef XDPVM_TESTS_BPF_RESULTS_H
#define XDPVM_TESTS_BPF_RESULTS_H

/* Declares the map results (slots entries of __s64) and put(step, value), which stores into it. */
#define RESULTS_MAP(slots)                                                                        \
    struct {                                                                                      \
        __uint(type, BPF_MAP_TYPE_ARRAY);                                                         \
        __type(key, __u32);                                                                       \
        __type(value, __s64);                                                                     \
        __uint(max_entries, slots);                                                               \
    } results SEC(".maps");                                                                       \
                                                                                                  \
    static __always_inline void put(__u32 step, __s64 value)                                      \
    {                                                                                             \
        bpf_map_update_elem(&results, &step, &value, BPF_ANY);                                    \
    }

#endif
