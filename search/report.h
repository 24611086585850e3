/* report.h — the run-level outputs of a search: DIR/summary.csv (one row per
 * finished seed) and DIR/index.html (the study's annotated list of
 * counterfactuals, sortable), rebuilt from whatever seedNNNN/result.json
 * files exist — so runs split across processes or machines merge by copying
 * their seed folders into one directory and running `salient report DIR`. */
#ifndef SALIENT_REPORT_H
#define SALIENT_REPORT_H

#include <stdio.h>

#include "common.h"

/* Writes summary.csv and index.html; *n_seeds = number of finished seeds.
 * A folder without any finished seed is an error (and nothing is written). */
int report_write(const char *outdir, int *n_seeds, sal_err_t *err);

/* A seed folder's name, seedNNNN as `salient search` writes it (at least 4
 * digits, any value < 2^32): 0 and *seed, or -1 for any other name. */
int report_seed_folder(const char *name, uint32_t *seed);
/* Writes s with <, >, & and " escaped for HTML text and attributes. */
void report_html_escape(FILE *f, const char *s);

#endif
