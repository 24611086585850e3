/* startup_check.h — the programs' side of the kernel self-check
 * (nets/kernel_selftest.h): run it once before the first network pass,
 * print its verdict, apply the ISA that passed, and record a fallback. */
#ifndef SALIENT_STARTUP_CHECK_H
#define SALIENT_STARTUP_CHECK_H

#include "common.h"
#include "kernel_selftest.h"

/* Runs ks_startup(kernels), prints each failure as one line
 * "PROG: self-check: ..." on stderr and, when an ISA below cpu_isa() passed,
 * applies it for the rest of the process with setenv("SALIENT_ISA"): the
 * knob cpu_isa() reads on every call (see kernel_selftest.h for why the
 * choice lives there). Call it from the subcommand's entry point before any
 * network is loaded or run, and before threads are started. Returns 0, or
 * -1 (out of memory). */
int startup_check(const char *prog, unsigned kernels, ks_startup_t *out, sal_err_t *err);

/* 1 if the check found a failure worth recording (a fallback, or the IDCT). */
static inline int startup_check_failed(const ks_startup_t *s) { return !s->skipped && s->nfail > 0; }

/* Writes DIR/selftest.json ({"selftest": <ks_startup_json>}) atomically when
 * startup_check_failed(s); does nothing otherwise. Returns 0 or -1. */
int startup_check_record(const ks_startup_t *s, const char *dir, sal_err_t *err);

#endif
