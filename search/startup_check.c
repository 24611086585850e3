/* startup_check.c — runs the kernel self-check at program start and applies
 * its verdict (see startup_check.h). */
#include "startup_check.h"

#include <stdio.h>
#include <stdlib.h>

int startup_check(const char *prog, unsigned kernels, ks_startup_t *out, sal_err_t *err) {
    if (ks_startup(kernels, out, err)) return -1;
    for (int i = 0; i < out->nfail; i++) fprintf(stderr, "%s: %s\n", prog, out->message[i]);
    if (out->chosen != out->first && setenv("SALIENT_ISA", isa_name(out->chosen), 1) != 0)
        return sal_errf(err, "self-check: cannot set SALIENT_ISA=%s", isa_name(out->chosen));
    return 0;
}

int startup_check_record(const ks_startup_t *s, const char *dir, sal_err_t *err) {
    if (!startup_check_failed(s)) return 0;
    char json[2048], path[4200];
    int n = snprintf(json, sizeof json, "{\"selftest\": ");
    n += ks_startup_json(s, json + n, sizeof json - (size_t)n - 4);
    if (n > (int)sizeof json - 4) return sal_errf(err, "self-check: record too long");
    n += snprintf(json + n, sizeof json - (size_t)n, "}\n");
    snprintf(path, sizeof path, "%s/selftest.json", dir);
    return sal_write_file_atomic(path, json, (size_t)n, err) < 0 ? -1 : 0;
}
