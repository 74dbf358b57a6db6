// cpuid and xgetbv for X86Assembler's CPUFeatures.host: Swift has no inline assembly.
#ifndef CCPUID_H
#define CCPUID_H

#include <stdbool.h>
#include <stdint.h>

/// Runs `cpuid` with `leaf` in eax and `subleaf` in ecx (`__get_cpuid_count`).
/// Returns false, leaving the outputs zero, when the CPU does not have that leaf.
bool ribbon_cpuid(uint32_t leaf, uint32_t subleaf, uint32_t *eax, uint32_t *ebx, uint32_t *ecx,
                  uint32_t *edx);

/// `xgetbv` with ecx = 0: the XCR0 register (which register states the OS saves).
/// Only call it when cpuid leaf 1 reports OSXSAVE (ecx bit 27).
uint64_t ribbon_xgetbv0(void);

#endif
