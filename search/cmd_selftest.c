/* cmd_selftest.c — `salient selftest`: every kernel family against its naive
 * reference, for every ISA this CPU supports (the same checks the programs
 * run at start-up for their selected ISA; nets/kernel_selftest.h). Prints a
 * table; exit status 1 if any check fails. */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "cpu.h"
#include "kernel_selftest.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: salient selftest [--isa avx512|avx2|generic]\n"
            "\n"
            "Runs each kernel family (3x3 / 1x1 / transposed conv, FIR, GEMM, Winograd,\n"
            "JPEG IDCT, resizer) on a small deterministic problem with every ISA this CPU\n"
            "supports and compares it with the naive reference loop. Prints kernel, ISA,\n"
            "max error (relative to the largest reference value; for the integer kernels\n"
            "the fraction of differing values), tolerance, pass and time.\n"
            "\n"
            "  --isa ISA   check only this ISA (it must be one the CPU supports)\n"
            "  --help      this text\n"
            "\n"
            "Exit status: 0 all pass, 1 a check failed, 2 bad usage.\n"
            "The programs run the same checks for their ISA at start-up and fall back\n"
            "(AVX-512 -> AVX2 -> generic) on a mismatch; SALIENT_SELFTEST=0 skips that.\n");
}

int cmd_selftest(int argc, char **argv) {
    const isa_t hw = cpu_isa();
    int lo = ISA_GENERIC, hi = (int)hw;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--isa") && i + 1 < argc) {
            const char *v = argv[++i];
            int found = -1;
            for (int k = ISA_GENERIC; k <= ISA_AVX512; k++)
                if (!strcmp(v, isa_name((isa_t)k))) found = k;
            if (found < 0) {
                fprintf(stderr, "salient selftest: --isa: unknown ISA '%s' (avx512, avx2 or generic)\n", v);
                return 2;
            }
            if (found > (int)hw) {
                fprintf(stderr, "salient selftest: --isa %s: this CPU (or SALIENT_ISA) allows at most %s\n", v,
                        isa_name(hw));
                return 2;
            }
            lo = hi = found;
        } else {
            fprintf(stderr, "salient selftest: unknown option '%s' (try --help)\n", argv[i]);
            return 2;
        }
    }
    printf("%-12s %-8s %10s %10s %-5s %8s\n", "kernel", "isa", "max error", "tolerance", "pass", "ms");
    int failed = 0;
    double total_ms[3] = {0, 0, 0};
    for (int isa = hi; isa >= lo; isa--)
        for (int k = 0; k < KS_COUNT; k++) {
            ks_result_t r;
            sal_err_t err = {{0}};
            if (ks_check(1u << k, (isa_t)isa, &r, &err)) {
                fprintf(stderr, "salient selftest: %s\n", err.msg);
                return 1;
            }
            total_ms[isa] += r.ms;
            failed += !r.pass;
            printf("%-12s %-8s %10.3g %10.3g %-5s %8.2f\n", ks_kernel_name(r.kernel), isa_name(r.isa), r.max_err,
                   r.tol, r.pass ? "yes" : "NO", r.ms);
        }
    for (int isa = hi; isa >= lo; isa--)
        printf("%s: all families in %.1f ms\n", isa_name((isa_t)isa), total_ms[isa]);
    printf("%s\n", failed ? "FAILED" : "all checks pass");
    return failed ? 1 : 0;
}
