/* analysis.h — `salient analyze`: objective attributes of the faces of one
 * or more search folders ("arms"), their change from the first to the final
 * face of every seed, and the statistics (bootstrap CIs, paired differences
 * between arms with sign-flip permutation p-values). Seeds are paired across
 * arms by seed number; only seeds finished in every arm are used.
 *
 * Outputs in OUT (default: the first folder): analysis.csv (one row per seed
 * and arm), analysis_steps.csv (one row per seed, arm and step),
 * analysis.json (the aggregates), analysis_section.html (the section
 * `salient report` puts into index.html), analysis.html (the same section as
 * a page of its own), analysis_mask.png and analysis_<attribute>.png.
 * docs/analysis.md describes every number. */
#ifndef SALIENT_ANALYSIS_H
#define SALIENT_ANALYSIS_H

#include <stdio.h>

#include "attributes.h"
#include "common.h"

typedef struct analysis_opts {
    const char *outdir;   /* NULL: the first folder */
    int bootstrap;        /* resamples per CI */
    int permutations;     /* random sign flips when n > STATS_EXACT_MAX_N */
    uint32_t rng_seed;    /* base seed of every bootstrap / permutation stream */
    int quiet;            /* no progress lines on stderr */
} analysis_opts_t;

#define ANALYSIS_DEFAULT_BOOTSTRAP 2000
#define ANALYSIS_DEFAULT_PERMUTATIONS 10000

/* One measured attribute. */
typedef enum attr_kind { ATTR_IMAGE, ATTR_CHANGE_ONLY } attr_kind_t;
typedef struct attr_def {
    const char *name;     /* column / file name */
    const char *label;    /* for people */
    attr_kind_t kind;     /* image attribute (first, final, change) or a change measure only */
    int angle;            /* 1: change wrapped to (-180, 180] */
} attr_def_t;

enum {
    A_MAX_SALIENCY, A_SKIN_L, A_SKIN_ITA, A_SKIN_HUE, A_SKIN_B, A_SKIN_CHROMA, A_SKIN_TEXTURE,
    A_SKIN_SHARE, A_FACE_BRIGHTNESS, A_FACE_CONTRAST,
    A_DELTA_E_FACE, A_DELTA_E_OUTSIDE, A_DELTA_E_FACE_MINUS_OUTSIDE, A_LATENT_DISTANCE,
    A_COUNT
};
extern const attr_def_t ANALYSIS_ATTRS[A_COUNT];

/* Per-seed results of one arm. first/final: NaN for change-only attributes. */
typedef struct seed_measure {
    uint32_t seed;
    int steps;
    double first[A_COUNT], final[A_COUNT], change[A_COUNT];
    face_region_t region_first, region_final;
} seed_measure_t;

typedef struct stat_summary {
    int n;                          /* seeds with a finite value */
    double mean, mean_lo, mean_hi;
    double median, median_lo, median_hi;
    double share_up;                /* share of seeds with change > 0 */
    double p;                       /* sign-flip p for mean change = 0 */
} stat_summary_t;

typedef struct arm {
    char label[128];        /* folder name, made unique */
    char folder[4096];
    char options[1024];     /* run.json as key=value pairs */
    char differs[1024];     /* the options that differ from the other arms */
    int img_w, img_h;
    seed_measure_t *seeds;  /* n_seeds, in the common seed order */
    stat_summary_t stats[A_COUNT];
    int region_counts[2][REGION_COUNT];   /* [first/final][region] */
    char *steps_csv;        /* this arm's rows of analysis_steps.csv */
    size_t steps_csv_len;
} arm_t;

typedef struct diff_summary {
    int n;
    double mean, lo, hi, p;
} diff_summary_t;

typedef struct analysis {
    int n_arms, n_seeds;
    arm_t *arms;
    uint32_t *seeds;
    diff_summary_t (*diffs)[A_COUNT];  /* [arm j - 1][attr]: arm 0 minus arm j */
    int dropped;                       /* seeds not finished in every arm */
    analysis_opts_t opts;
    char outdir[4096];
} analysis_t;

/* Loads and measures every folder, computes the statistics. */
int analysis_measure(const char *const *dirs, int n_dirs, const analysis_opts_t *opts,
                     analysis_t *an, sal_err_t *err);
/* Writes all outputs into an->outdir (and rebuilds its index.html when it is
 * a search folder). */
int analysis_write(const analysis_t *an, sal_err_t *err);
/* The plain-text summary (one line per attribute). */
void analysis_print_summary(const analysis_t *an, FILE *f);
void analysis_free(analysis_t *an);

/* analysis_figures.c: the figures and the HTML section. */
int analysis_write_figures(const analysis_t *an, sal_err_t *err);
int analysis_write_html(const analysis_t *an, sal_err_t *err);
/* Formats "+2.10 (95% CI 1.20 to 3.00)". */
void analysis_format_ci(char *buf, size_t len, double v, double lo, double hi);

#endif
