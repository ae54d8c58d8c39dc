/* Native (clang -O2) versions of the micro-benchmarks, as struct xdpvm_prog.exec functions. */
#ifndef XDPVM_BENCH_NATIVE_H
#define XDPVM_BENCH_NATIVE_H

#include <stdint.h>

struct xdpvm_run;
int micro_native_alu(struct xdpvm_run *run, uint64_t *r0);
int micro_native_parse(struct xdpvm_run *run, uint64_t *r0);
int micro_native_map(struct xdpvm_run *run, uint64_t *r0);
int micro_native_nothing(struct xdpvm_run *run, uint64_t *r0);

#endif
