#include "CCPUID.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

bool ribbon_cpuid(uint32_t leaf, uint32_t subleaf, uint32_t *eax, uint32_t *ebx, uint32_t *ecx,
                  uint32_t *edx) {
    unsigned a = 0, b = 0, c = 0, d = 0;
    int ok = __get_cpuid_count(leaf, subleaf, &a, &b, &c, &d);
    *eax = ok ? a : 0;
    *ebx = ok ? b : 0;
    *ecx = ok ? c : 0;
    *edx = ok ? d : 0;
    return ok != 0;
}

uint64_t ribbon_xgetbv0(void) {
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}

#else

bool ribbon_cpuid(uint32_t leaf, uint32_t subleaf, uint32_t *eax, uint32_t *ebx, uint32_t *ecx,
                  uint32_t *edx) {
    (void)leaf;
    (void)subleaf;
    *eax = *ebx = *ecx = *edx = 0;
    return false;
}

uint64_t ribbon_xgetbv0(void) { return 0; }

#endif
