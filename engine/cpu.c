/* cpu.c — run-time ISA detection and thread-count setting. */
#define _POSIX_C_SOURCE 200809L
#include "cpu.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static isa_t hardware_isa(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))
        return ISA_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return ISA_AVX2;
#endif
    return ISA_GENERIC;
}

isa_t cpu_isa(void) {
    isa_t hw = hardware_isa();
    const char *want = getenv("SALIENT_ISA");
    if (!want || !*want) return hw;
    isa_t w = hw;
    if (strcmp(want, "generic") == 0) w = ISA_GENERIC;
    else if (strcmp(want, "avx2") == 0) w = ISA_AVX2;
    else if (strcmp(want, "avx512") == 0) w = ISA_AVX512;
    return w < hw ? w : hw;
}

int cpu_has_bf16(void) {
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__) && __GNUC__ >= 12
    if (cpu_isa() != ISA_AVX512) return 0;
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512bf16") ? 1 : 0;
#else
    return 0;
#endif
}

const char *isa_name(isa_t isa) {
    switch (isa) {
    case ISA_AVX512: return "avx512";
    case ISA_AVX2: return "avx2";
    case ISA_GENERIC: return "generic";
    }
    return "?";
}

int cpu_online_cores(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

int threads_set(int n) {
    if (n <= 0) n = cpu_online_cores();
#ifdef _OPENMP
    omp_set_num_threads(n);
    return n;
#else
    (void)n;
    return 1;
#endif
}

int threads_get(void) {
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

int thread_index(void) {
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}
