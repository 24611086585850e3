/* cpu.h — which SIMD instruction set the kernels use, and the thread count.
 *
 * The hot kernels exist in three versions (AVX-512, AVX2+FMA, portable C) in
 * one binary; cpu_isa() picks the best one the CPU supports at run time.
 * SALIENT_ISA=avx512|avx2|generic forces a lower one (for tests); asking for
 * more than the CPU has falls back to what it has.
 */
#ifndef SALIENT_CPU_H
#define SALIENT_CPU_H

typedef enum isa {
    ISA_GENERIC = 0,
    ISA_AVX2 = 1,    /* AVX2 + FMA */
    ISA_AVX512 = 2,  /* AVX-512 F/BW/DQ/VL */
} isa_t;

/* Best ISA the CPU supports, limited by $SALIENT_ISA. Cheap: call it freely. */
isa_t cpu_isa(void);
/* 1 if the CPU supports AVX512_BF16 (and AVX-512 is in use). */
int cpu_has_bf16(void);
const char *isa_name(isa_t isa);

/* What the bench reports about the machine: the CPU's name, x86 family and
 * model (as /proc/cpuinfo gives them, decimal) and the cache sizes of core 0
 * (from sysfs). Empty name / 0 where the system does not say. */
typedef struct cpu_info {
    char name[96];
    int family, model;
    int l1d_kib, l2_kib, l3_kib;
} cpu_info_t;
void cpu_describe(cpu_info_t *ci);

/* Number of online cores. */
int cpu_online_cores(void);
/* Sets the OpenMP thread count used by all kernels; n <= 0 means all online
 * cores. Returns the count now in force. */
int threads_set(int n);
int threads_get(void);
/* Index of the calling thread inside a parallel region (0 outside one). */
int thread_index(void);

#endif
