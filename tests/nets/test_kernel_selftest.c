/* test_kernel_selftest.c — the start-up self-check of the SIMD kernels
 * (nets/kernel_selftest.h).
 *
 * Checks: every kernel family passes on every ISA this CPU supports, with
 * errors within tolerance and not trivially zero for the float kernels on
 * the SIMD levels (the check really compares two different computations);
 * ks_startup keeps cpu_isa() when all pass; a deliberately broken kernel
 * (the SALIENT_SELFTEST_BREAK hook) is caught and makes it fall back one
 * level with a message naming the ISA and the kernel, and the fallback is
 * in the JSON record; a broken generic kernel leaves nothing to fall back
 * to; a broken IDCT is reported without a fallback; SALIENT_SELFTEST=0
 * skips; the whole start-up check costs well under 50 ms (best of 5, so
 * that a loaded machine does not decide the verdict).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "cpu.h"
#include "kernel_selftest.h"

static void test_all_pass(test_ctx_t *t, isa_t top) {
    for (int isa = ISA_GENERIC; isa <= (int)top; isa++)
        for (int k = 0; k < KS_COUNT; k++) {
            ks_result_t r;
            sal_err_t err = {{0}};
            const int rc = ks_check(1u << k, (isa_t)isa, &r, &err);
            CHECK(t, rc == 0, "ks_check %s %s: %s", isa_name((isa_t)isa), ks_kernel_name(1u << k), err.msg);
            CHECK(t, r.pass && r.max_err <= r.tol, "%s %s: error %.3g > tolerance %.3g", isa_name((isa_t)isa),
                  ks_kernel_name(1u << k), r.max_err, r.tol);
            /* the SIMD 3x3 conv sums in another order than the reference:
             * a zero error would mean the check compared a loop with itself */
            if (isa > ISA_GENERIC && (1u << k) == KS_CONV3)
                CHECK(t, r.max_err > 0.0, "%s conv3x3: error exactly 0 (same computation twice?)",
                      isa_name((isa_t)isa));
        }
    ks_result_t r;
    sal_err_t err = {{0}};
    CHECK(t, ks_check(3u, top, &r, &err) < 0, "ks_check of two families at once is refused");
    CHECK(t, ks_kernel_name(KS_WINO) && !strcmp(ks_kernel_name(KS_WINO), "wino3x3"), "name of KS_WINO");
}

/* SALIENT_ISA as the test was started (restored after each forced level) */
static void restore_isa(const char *saved) {
    if (saved[0]) setenv("SALIENT_ISA", saved, 1);
    else unsetenv("SALIENT_ISA");
}

static void test_startup(test_ctx_t *t, isa_t top, const char *saved) {
    ks_startup_t s;
    sal_err_t err = {{0}};
    unsetenv("SALIENT_SELFTEST_BREAK");
    CHECK(t, ks_startup(KS_ALL, &s, &err) == 0, "ks_startup: %s", err.msg);
    CHECK(t, !s.skipped && s.first == top && s.chosen == top && s.nfail == 0 && !s.all_failed,
          "all pass: stays at %s (got %s, %d failures)", isa_name(top), isa_name(s.chosen), s.nfail);

    /* cost: the heaviest set (every family), best of 5 */
    double best = 1e9;
    for (int i = 0; i < 5; i++) {
        ks_startup(KS_ALL, &s, &err);
        best = s.ms < best ? s.ms : best;
    }
    printf("start-up check at %s, every family: %.2f ms (best of 5)\n", isa_name(top), best);
    CHECK(t, best < 50.0, "start-up check takes %.1f ms", best);

    /* a wrong kernel at each level above generic: one fallback, named */
    const char *fams[] = {"conv3x3", "conv1x1", "tconv3x3s2", "fir4x4", "gemm", "wino3x3", "wino_t3x3s2", "resize"};
    for (int isa = (int)top; isa > ISA_GENERIC; isa--)
        for (size_t f = 0; f < sizeof fams / sizeof fams[0]; f++) {
            if (!strcmp(fams[f], "resize") && isa == ISA_AVX512) continue; /* AVX2 code at that level too */
            char spec[64], pin[16];
            snprintf(spec, sizeof spec, "%s:%s", isa_name((isa_t)isa), fams[f]);
            setenv("SALIENT_SELFTEST_BREAK", spec, 1);
            snprintf(pin, sizeof pin, "%s", isa_name((isa_t)isa));
            setenv("SALIENT_ISA", pin, 1); /* start the check at that level */
            CHECK(t, ks_startup(KS_ALL, &s, &err) == 0, "ks_startup (%s): %s", spec, err.msg);
            CHECK(t, s.first == (isa_t)isa && s.chosen == (isa_t)(isa - 1) && s.nfail == 1,
                  "break %s: chosen %s, %d failures", spec, isa_name(s.chosen), s.nfail);
            CHECK(t, strstr(s.message[0], isa_name((isa_t)isa)) && strstr(s.message[0], fams[f]) &&
                         strstr(s.message[0], "falling back to") &&
                         strstr(s.message[0], isa_name((isa_t)(isa - 1))) && !strchr(s.message[0], '\n'),
                  "break %s: message '%s'", spec, s.message[0]);
            char json[1024];
            ks_startup_json(&s, json, sizeof json);
            CHECK(t, strstr(json, fams[f]) && strstr(json, "\"chosen\": \"") &&
                         strstr(json, isa_name((isa_t)(isa - 1))),
                  "break %s: json %s", spec, json);
            /* a family the program does not use is not checked */
            const unsigned only_gemm = KS_GEMM;
            if (strcmp(fams[f], "gemm") != 0) {
                ks_startup(only_gemm, &s, &err);
                CHECK(t, s.chosen == (isa_t)isa && s.nfail == 0, "break %s, gemm only: no fallback", spec);
            }
        }
    restore_isa(saved);

    /* broken portable kernel: nothing left */
    setenv("SALIENT_ISA", "generic", 1);
    setenv("SALIENT_SELFTEST_BREAK", "generic:fir4x4", 1);
    ks_startup(KS_GENERATOR, &s, &err);
    CHECK(t, s.chosen == ISA_GENERIC && s.all_failed && s.nfail == 1 && strstr(s.message[0], "no ISA left"),
          "broken generic fir: all_failed (%s)", s.message[0]);
    restore_isa(saved);

    /* the IDCT: reported, no fallback */
    char spec[64];
    snprintf(spec, sizeof spec, "%s:idct", isa_name(top));
    setenv("SALIENT_SELFTEST_BREAK", spec, 1);
    ks_startup(KS_SALIENCY, &s, &err);
    CHECK(t, s.chosen == top && s.nfail == 1 && strstr(s.message[0], "IDCT"), "broken idct: reported, chosen %s",
          isa_name(s.chosen));

    /* skipped */
    setenv("SALIENT_SELFTEST", "0", 1);
    snprintf(spec, sizeof spec, "%s:conv3x3", isa_name(top));
    setenv("SALIENT_SELFTEST_BREAK", spec, 1);
    ks_startup(KS_ALL, &s, &err);
    CHECK(t, s.skipped && s.chosen == top && s.nfail == 0, "SALIENT_SELFTEST=0 skips");
    unsetenv("SALIENT_SELFTEST");
    unsetenv("SALIENT_SELFTEST_BREAK");
}

int main(void) {
    test_ctx_t t = test_begin("kernel_selftest");
    unsetenv("SALIENT_SELFTEST");
    unsetenv("SALIENT_SELFTEST_BREAK");
    char saved[32] = "";
    if (getenv("SALIENT_ISA")) snprintf(saved, sizeof saved, "%s", getenv("SALIENT_ISA"));
    const isa_t top = cpu_isa();
    printf("this CPU (within SALIENT_ISA): %s\n", isa_name(top));
    test_all_pass(&t, top);
    test_startup(&t, top, saved);
    return test_end(&t);
}
