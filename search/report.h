/* report.h — the run-level outputs of a search: DIR/summary.csv (one row per
 * finished seed) and DIR/index.html (the study's annotated list of
 * counterfactuals, sortable), rebuilt from whatever seedNNNN/result.json
 * files exist — so runs split across processes or machines merge by copying
 * their seed folders into one directory and running `salient report DIR`. */
#ifndef SALIENT_REPORT_H
#define SALIENT_REPORT_H

#include <stdio.h>
#include <time.h>

#include "common.h"
#include "json.h"

/* Writes summary.csv and index.html; *n_seeds = number of finished seeds.
 * A folder without any finished seed is an error (and nothing is written). */
int report_write(const char *outdir, int *n_seeds, sal_err_t *err);

/* A seed folder's name, seedNNNN as `salient search` writes it (at least 4
 * digits, any value < 2^32): 0 and *seed, or -1 for any other name. */
int report_seed_folder(const char *name, uint32_t *seed);
/* Writes s with <, >, & and " escaped for HTML text and attributes. */
void report_html_escape(FILE *f, const char *s);

/* ---- pieces of the page header, shared with the comparison page ---- */

/* A run.json option as a user reads it (index.html options line, comparison
 * checks): noise_mode by name, trunc_cutoff -1 as (all), fast on/off, an
 * empty string or null as (none), an absent objective as max. v may be NULL
 * (absent key). */
void report_format_option(const char *key, const json_t *v, char *buf, size_t len);
/* The CSS of the page frame: body, h1, banner, table.meta, code.hash, .warn, .agg. */
extern const char REPORT_BASE_CSS[];
/* Is this file a salient blob written by `weightconv --random`? (metadata network = "random") */
int report_is_random_blob(const char *path);
/* The red "RANDOM WEIGHTS — not faces" paragraph when network is such a blob. */
void report_random_banner(FILE *f, const char *network);
/* A table.meta row: label, the path, and the file's sha256 (or "not readable"). */
void report_file_row(FILE *f, const char *label, const char *path);
/* The table.meta date row: SOURCE_DATE_EPOCH when set (reproducible pages),
 * else the UTC day of `newest`. */
void report_date_row(FILE *f, time_t newest);

/* ---- comparison folders (report_compare.c) ----
 * A folder without run.json and without seed folders of its own, whose
 * immediate subfolders are search runs (each with run.json): e.g. the same
 * seeds searched by `--method random` and `--method grad`. `salient report`
 * rebuilds each run's own report and writes the comparison at equal compute
 * (compare.csv, compare_curve.csv, compare.svg, index.html; docs/search.md). */

/* 1 if dir is a comparison folder (the test above), else 0. */
int report_is_comparison(const char *dir);

typedef struct report_compare_info {
    int n_runs;           /* run subfolders compared */
    int n_common;         /* seeds finished in all of them */
    double budget;        /* the equal cost, forward-equivalents per seed */
    char warnings[1024];  /* "; "-separated notes for the user (empty if none) */
} report_compare_info_t;

/* Checks every run and seed first (nothing is written when any is refused),
 * then rebuilds each run's summary.csv/index.html and writes the comparison. */
int report_compare_write(const char *dir, report_compare_info_t *info, sal_err_t *err);

#endif
