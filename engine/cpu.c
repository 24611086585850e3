/* cpu.c — run-time ISA detection and thread-count setting. */
#define _POSIX_C_SOURCE 200809L
#include "cpu.h"

#include <stdio.h>
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

/* The value after "key<spaces/tabs>:" on a line of /proc/cpuinfo, trimmed;
 * NULL if the line is not that key. */
static const char *cpuinfo_value(const char *line, const char *key) {
    const size_t n = strlen(key);
    if (strncmp(line, key, n) != 0) return NULL;
    line += n;
    while (*line == ' ' || *line == '\t') line++;
    if (*line != ':') return NULL;
    line++;
    while (*line == ' ' || *line == '\t') line++;
    return line;
}

/* The first line of a small file (sysfs) into buf; 0, or -1 if unreadable. */
static int read_first_line(const char *path, char *buf, size_t n) {
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    const int ok = fgets(buf, (int)n, f) != NULL;
    fclose(f);
    return ok ? 0 : -1;
}

/* A sysfs cache size such as "512K" or "32M", in KiB; 0 if not that. */
static int parse_cache_kib(const char *s) {
    char *end = NULL;
    const long v = strtol(s, &end, 10);
    if (end == s || v <= 0 || v > (1L << 20)) return 0;
    if (*end == 'M') return (int)(v * 1024);
    return *end == 'K' ? (int)v : 0;
}

void cpu_describe(cpu_info_t *ci) {
    memset(ci, 0, sizeof *ci);
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f) {
        char line[512];
        int got = 0;
        while (got < 3 && fgets(line, sizeof line, f)) {
            line[strcspn(line, "\n")] = 0;
            const char *v;
            if (!ci->name[0] && (v = cpuinfo_value(line, "model name"))) {
                snprintf(ci->name, sizeof ci->name, "%s", v);
                got++;
            } else if (!ci->family && (v = cpuinfo_value(line, "cpu family"))) {
                ci->family = atoi(v);
                got++;
            } else if (!ci->model && (v = cpuinfo_value(line, "model"))) {
                ci->model = atoi(v);
                got++;
            }
        }
        fclose(f);
    }
    /* the data and unified caches of cpu0: index0..index4, each with a
     * level, a type (Data, Instruction, Unified) and a size */
    for (int i = 0; i < 5; i++) {
        const char *dir = "/sys/devices/system/cpu/cpu0/cache";
        char path[96], level[16], type[32], size[32];
        snprintf(path, sizeof path, "%s/index%d/level", dir, i);
        if (read_first_line(path, level, sizeof level)) continue;
        snprintf(path, sizeof path, "%s/index%d/type", dir, i);
        if (read_first_line(path, type, sizeof type) || !strncmp(type, "Instruction", 11)) continue;
        snprintf(path, sizeof path, "%s/index%d/size", dir, i);
        const int kib = read_first_line(path, size, sizeof size) ? 0 : parse_cache_kib(size);
        switch (atoi(level)) {
        case 1: ci->l1d_kib = kib; break;
        case 2: ci->l2_kib = kib; break;
        case 3: ci->l3_kib = kib; break;
        default: break;
        }
    }
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
