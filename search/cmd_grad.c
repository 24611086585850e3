/* cmd_grad.c — `salient grad`: the exact gradient of the study's objective
 * (the maximum of the saliency map of a generated face, or its smooth
 * maximum) with respect to the generator's latent z, w or w+.
 *
 *   salient grad --network NET --saliency MODEL --seeds LIST [--space z|w|w+]
 *       [--trunc PSI] [--trunc-cutoff K] [--objective max|softmax] [--tau T]
 *       [--noise-mode const|none|random] [--outdir DIR] [--threads N]
 *
 * One seed: latent -> ws -> image (nets/stylegan2.c, recording a tape) ->
 * objective and dL/dimage (nets/saliency_grad.c: uint8 step, the tool's
 * resize, fastgaze, max) -> dL/dws (nets/stylegan2_grad.c) -> dL/dlatent
 * (truncation and, for z, the mapping network). This file parses, loads,
 * chains the calls and writes files; the numerics live in nets/.
 * The maths and its conventions: docs/gradients.md.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "commands.h"
#include "cpu.h"
#include "gradmap.h"
#include "json.h"
#include "latent_grad.h"
#include "netload.h"
#include "npy.h"
#include "png.h"
#include "saliency.h"
#include "saliency_grad.h"
#include "seedlist.h"
#include "stylegan2.h"
#include "startup_check.h"
#include "stylegan2_grad.h"
#include "trace.h"

#define PATH_LEN 4096

static void grad_help(FILE *f) {
    fprintf(f,
            "usage: salient grad --network NET --saliency MODEL --seeds LIST [options]\n\n"
            "The exact gradient of the saliency objective of a generated face with respect\n"
            "to its latent: the white-box view of what the random search samples blindly.\n\n"
            "  --network NET        StyleGAN2-ADA network pickle or blob\n"
            "  --saliency MODEL     the saliency model (fastgaze.vxm or its blob)\n"
            "  --seeds LIST         seeds such as 0-3,7: z = RandomState(seed).randn(1, z_dim),\n"
            "                       as generate.py and salient search\n"
            "  --space z|w|w+       the latent to differentiate by (default z): z; w, the\n"
            "                       mapping output shared by all layers; w+, one w row per\n"
            "                       layer (num_ws x w_dim). w and w+ are taken before\n"
            "                       truncation, as salient search does\n"
            "  --trunc PSI          truncation psi (default 1 = none)\n"
            "  --trunc-cutoff K     truncate only the first K w rows (default: all)\n"
            "  --objective OBJ      max (default): the map's largest cell, the study's score\n"
            "                       (its gradient flows through that cell only);\n"
            "                       softmax: the smooth maximum TAU log sum exp(M / TAU)\n"
            "  --tau T              temperature of softmax (default 0.1; > 0)\n"
            "  --noise-mode MODE    const (default), none, or random (drawn from\n"
            "                       RandomState(seed) after z, as salient generate)\n"
            "  --outdir DIR         output folder, created if needed (default: .)\n"
            "  --save-dimg          also write seedNNNN_dimg.npy: dL/dimage, float32 [3, R, R]\n"
            "  --trace DIR          write the generator's intermediates of each seed's forward\n"
            "                       and the gradients dL/dimage, dL/dws (.npy + PNG montages,\n"
            "                       listed in DIR/trace.txt; names start with seedNNNN.)\n"
            "  --threads N          threads (default: all cores)\n"
            "  --shard I/N          only the seeds at positions = I (mod N) of the list\n"
            "                       (default: SLURM_ARRAY_TASK_ID / SLURM_ARRAY_TASK_COUNT)\n"
            "  --help               this text\n\n"
            "Writes per seed, into DIR: seedNNNN.png (the face), seedNNNN_latent.npy and\n"
            "seedNNNN_grad.npy (the latent and dL/dlatent, shaped [z_dim], [w_dim] or\n"
            "[num_ws, w_dim]), seedNNNN_saliency_grad.png (|dL/dpixel| over the face, with\n"
            "its colour scale) and seedNNNN.json (objective, max saliency, salient point,\n"
            "gradient norm, timings); and grad.csv, one line per seed.\n"
            "The uint8 rounding of the image is taken as the identity (docs/gradients.md).\n");
}

typedef enum grad_space { GSPACE_Z = 0, GSPACE_W = 1, GSPACE_WPLUS = 2 } grad_space_t;

static const char *space_name(grad_space_t s) { return s == GSPACE_Z ? "z" : s == GSPACE_W ? "w" : "w+"; }

typedef struct grad_args {
    const char *network, *saliency, *outdir, *seeds_text, *shard, *trace_dir;
    seedlist_t seeds;
    grad_space_t space;
    double psi, tau;
    int cutoff, threads, save_dimg, shard_index, shard_count;
    saliency_objective_t objective;
    sg2_noise_mode_t noise_mode;
} grad_args_t;

/* Returns 0 to run, 1 if --help was printed, -1 on a bad command line. */
static int parse_args(int argc, char **argv, grad_args_t *a, sal_err_t *err) {
    memset(a, 0, sizeof *a);
    a->outdir = ".";
    a->psi = 1.0;
    a->tau = 0.1;
    a->cutoff = SG2_CUTOFF_NONE;
    a->objective = SALIENCY_OBJ_MAX;
    a->noise_mode = SG2_NOISE_CONST;
    int tau_given = 0;
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int m;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return 1;
        if (!strcmp(argv[i], "--save-dimg")) { a->save_dimg = 1; continue; }
        if ((m = cli_value(argc, argv, &i, "--network", &v, err)) != 0) {
            if (m < 0) return -1;
            a->network = v;
        } else if ((m = cli_value(argc, argv, &i, "--saliency", &v, err)) != 0) {
            if (m < 0) return -1;
            a->saliency = v;
        } else if ((m = cli_value(argc, argv, &i, "--seeds", &v, err)) != 0) {
            if (m < 0) return -1;
            a->seeds_text = v;
        } else if ((m = cli_value(argc, argv, &i, "--shard", &v, err)) != 0) {
            if (m < 0) return -1;
            a->shard = v;
        } else if ((m = cli_value(argc, argv, &i, "--trace", &v, err)) != 0) {
            if (m < 0) return -1;
            a->trace_dir = v;
        } else if ((m = cli_value(argc, argv, &i, "--outdir", &v, err)) != 0) {
            if (m < 0) return -1;
            a->outdir = v;
        } else if ((m = cli_value(argc, argv, &i, "--space", &v, err)) != 0) {
            if (m < 0) return -1;
            if (!strcmp(v, "z")) a->space = GSPACE_Z;
            else if (!strcmp(v, "w")) a->space = GSPACE_W;
            else if (!strcmp(v, "w+")) a->space = GSPACE_WPLUS;
            else return sal_errf(err, "--space: expected z, w or w+, got '%s'", v);
        } else if ((m = cli_value(argc, argv, &i, "--objective", &v, err)) != 0) {
            if (m < 0) return -1;
            if (!strcmp(v, "max")) a->objective = SALIENCY_OBJ_MAX;
            else if (!strcmp(v, "softmax")) a->objective = SALIENCY_OBJ_SOFTMAX;
            else return sal_errf(err, "--objective: expected max or softmax, got '%s'", v);
        } else if ((m = cli_value(argc, argv, &i, "--tau", &v, err)) != 0) {
            if (m < 0 || cli_double("--tau", v, 1e-6, 1e6, &a->tau, err) < 0) return -1;
            tau_given = 1;
        } else if ((m = cli_value(argc, argv, &i, "--trunc", &v, err)) != 0) {
            if (m < 0 || cli_double("--trunc", v, -1e6, 1e6, &a->psi, err) < 0) return -1;
        } else if ((m = cli_value(argc, argv, &i, "--trunc-cutoff", &v, err)) != 0) {
            if (m < 0 || cli_int("--trunc-cutoff", v, 0, 1 << 20, &a->cutoff, err) < 0) return -1;
        } else if ((m = cli_value(argc, argv, &i, "--threads", &v, err)) != 0) {
            if (m < 0 || cli_threads(v, &a->threads, err) < 0) return -1;
        } else if ((m = cli_value(argc, argv, &i, "--noise-mode", &v, err)) != 0) {
            if (m < 0) return -1;
            if (cli_noise_mode(v, &a->noise_mode, err) < 0) return -1;
        } else {
            return sal_errf(err, "unknown option '%s'", argv[i]);
        }
    }
    if (!a->network) return sal_errf(err, "--network NET is required");
    if (!a->saliency) return sal_errf(err, "--saliency MODEL is required");
    if (!a->seeds_text) return sal_errf(err, "--seeds LIST is required");
    if (tau_given && a->objective != SALIENCY_OBJ_SOFTMAX)
        return sal_errf(err, "--tau applies to --objective softmax only");
    int from_slurm;
    if (seedlist_parse(a->seeds_text, &a->seeds, err) < 0) return -1;
    if (seedlist_resolve_shard(a->shard, &a->shard_index, &a->shard_count, &from_slurm, err) < 0) return -1;
    if (from_slurm)
        fprintf(stderr, "salient grad: Slurm array task %d of %d: shard %d/%d of the seeds\n", a->shard_index,
                a->shard_count, a->shard_index, a->shard_count);
    if (a->shard_count > 1) seedlist_shard(&a->seeds, a->shard_index, a->shard_count);
    return 0;
}

/* What one seed's pass produced, for the files and grad.csv. */
typedef struct seed_out {
    uint32_t seed;
    saliency_grad_result_t sal;
    double grad_norm, t_forward, t_saliency, t_backward;
} seed_out_t;

/* The buffers of one seed beside the chain's own (nets/latent_grad.c). */
typedef struct grad_bufs {
    float *latent, *grad;
    uint8_t *rgb;
    int latent_dim;
    latent_grad_t *lg;
} grad_bufs_t;

static void bufs_free(grad_bufs_t *b) {
    free(b->latent);
    free(b->grad);
    free(b->rgb);
    latent_grad_free(b->lg);
}

static int bufs_init(grad_bufs_t *b, const grad_args_t *a, const sg2_net_t *net,
                     const saliency_model_t *sal, trace_t *trace, sal_err_t *err) {
    memset(b, 0, sizeof *b);
    const sg2_config_t *cfg = &net->cfg;
    const latent_grad_opts_t lo = {.space = (latent_space_t)a->space, .psi = (float)a->psi, .cutoff = a->cutoff,
                                   .objective = a->objective, .tau = (float)a->tau, .noise_mode = a->noise_mode,
                                   .hook = trace ? trace_hook : NULL, .hook_user = trace};
    if (latent_grad_create(&b->lg, net, sal, &lo, err) < 0) return -1;
    b->latent_dim = latent_grad_dim(b->lg);
    b->latent = malloc(sizeof(float) * (size_t)b->latent_dim);
    b->grad = malloc(sizeof(float) * (size_t)b->latent_dim);
    b->rgb = malloc((size_t)3 * cfg->img_resolution * cfg->img_resolution);
    if (!b->latent || !b->grad || !b->rgb) {
        bufs_free(b);
        return sal_errf(err, "out of memory for %dx%d images", cfg->img_resolution, cfg->img_resolution);
    }
    return 0;
}

static int save_latent_npy(const grad_args_t *a, const sg2_config_t *cfg, const char *path, const float *data,
                           sal_err_t *err) {
    int64_t shape[2];
    int ndim = 1;
    if (a->space == GSPACE_Z) shape[0] = cfg->z_dim;
    else if (a->space == GSPACE_W) shape[0] = cfg->w_dim;
    else {
        ndim = 2;
        shape[0] = cfg->num_ws;
        shape[1] = cfg->w_dim;
    }
    return npy_save(path, DT_F32, ndim, shape, data, err);
}

static int write_seed_json(const grad_args_t *a, const sg2_config_t *cfg, const seed_out_t *o, const char *path,
                           sal_err_t *err) {
    sal_atomic_t at;
    if (sal_atomic_begin(&at, path, err) < 0) return -1;
    FILE *f = at.f;
    fprintf(f, "{\n  \"seed\": %u,\n  \"space\": \"%s\",\n  \"latent_shape\": ", o->seed, space_name(a->space));
    if (a->space == GSPACE_WPLUS) fprintf(f, "[%d, %d]", cfg->num_ws, cfg->w_dim);
    else fprintf(f, "[%d]", a->space == GSPACE_Z ? cfg->z_dim : cfg->w_dim);
    fprintf(f, ",\n  \"objective\": \"%s\",\n", a->objective == SALIENCY_OBJ_MAX ? "max" : "softmax");
    if (a->objective == SALIENCY_OBJ_SOFTMAX) fprintf(f, "  \"tau\": %.9g,\n", a->tau);
    fprintf(f, "  \"value\": %.9g,\n  \"max_saliency\": %.9g,\n  \"argmax_cell\": [%d, %d],\n  \"map_size\": [%d, %d],\n",
            o->sal.value, (double)o->sal.max_saliency, o->sal.row, o->sal.col, o->sal.map_h, o->sal.map_w);
    fprintf(f, "  \"salient_point\": [%.9g, %.9g],\n  \"grad_norm\": %.9g,\n", (double)o->sal.point_x,
            (double)o->sal.point_y, o->grad_norm);
    fprintf(f, "  \"trunc\": %.9g,\n  \"trunc_cutoff\": %d,\n  \"noise_mode\": \"%s\",\n", a->psi, a->cutoff,
            a->noise_mode == SG2_NOISE_CONST ? "const" : a->noise_mode == SG2_NOISE_NONE ? "none" : "random");
    fprintf(f, "  \"network\": ");
    json_write_string(f, a->network);
    fprintf(f, ",\n  \"saliency_model\": ");
    json_write_string(f, a->saliency);
    fprintf(f, ",\n  \"seconds\": {\"forward\": %.4f, \"saliency_forward_backward\": %.4f, \"backward\": %.4f},\n",
            o->t_forward, o->t_saliency, o->t_backward);
    fprintf(f, "  \"salient_version\": \"%s\"\n}\n", SALIENT_VERSION);
    return sal_atomic_end(&at, 1, err);
}

/* One seed: forward with a tape, objective and dL/dimg, backward, files. */
static int run_seed(const grad_args_t *a, const sg2_net_t *net, grad_bufs_t *b,
                    uint32_t seed, trace_t *trace, seed_out_t *o, sal_err_t *err) {
    const sg2_config_t *cfg = &net->cfg;
    const int R = cfg->img_resolution;
    memset(o, 0, sizeof *o);
    o->seed = seed;
    rng_np_t noise_rng;
    if (latent_grad_start(b->lg, seed, b->latent, &noise_rng, err) < 0) return -1;
    if (trace) {
        char prefix[32];
        snprintf(prefix, sizeof prefix, "seed%04u.", seed);
        trace_set_prefix(trace, prefix);
    }
    latent_grad_result_t res;
    if (latent_grad_eval(b->lg, b->latent, &noise_rng, &res, b->grad, err) < 0) return -1;
    o->sal = res.sal;
    const float *img = latent_grad_image(b->lg), *dimg = latent_grad_dimg(b->lg);
    if (trace) {
        trace_hook(trace, "grad.dL_dimg", 4, (int64_t[]){1, 3, R, R}, dimg);
        trace_hook(trace, "grad.dL_dws", 3, (int64_t[]){1, cfg->num_ws, cfg->w_dim}, latent_grad_dws(b->lg));
    }
    o->t_forward = res.t_forward;
    o->t_saliency = res.t_saliency;
    o->t_backward = res.t_backward;
    double ss = 0;
    for (int i = 0; i < b->latent_dim; i++) ss += (double)b->grad[i] * b->grad[i];
    o->grad_norm = sqrt(ss);
    if (!isfinite(o->grad_norm)) return sal_errf(err, "seed %u: the gradient is not finite", seed);

    char stem[PATH_LEN], path[PATH_LEN + 64], title[128];
    snprintf(stem, sizeof stem, "%s/seed%04u", a->outdir, seed);
    sg2_to_uint8(img, 1, 3, R, R, b->rgb);
    snprintf(path, sizeof path, "%s.png", stem);
    if (png_save(path, b->rgb, R, R, 3, err) < 0) return -1;
    snprintf(path, sizeof path, "%s_latent.npy", stem);
    if (save_latent_npy(a, cfg, path, b->latent, err) < 0) return -1;
    snprintf(path, sizeof path, "%s_grad.npy", stem);
    if (save_latent_npy(a, cfg, path, b->grad, err) < 0) return -1;
    if (a->save_dimg) {
        const int64_t shape[3] = {3, R, R};
        snprintf(path, sizeof path, "%s_dimg.npy", stem);
        if (npy_save(path, DT_F32, 3, shape, dimg, err) < 0) return -1;
    }
    snprintf(title, sizeof title, "SEED %u  MAX SALIENCY %.4f  %s", seed, (double)o->sal.max_saliency,
             a->objective == SALIENCY_OBJ_MAX ? "OBJECTIVE MAX" : "OBJECTIVE SOFTMAX");
    snprintf(path, sizeof path, "%s_saliency_grad.png", stem);
    if (gradmap_save(b->rgb, dimg, R, o->sal.point_x, o->sal.point_y, title, path, NULL, err) < 0) return -1;
    snprintf(path, sizeof path, "%s.json", stem);
    return write_seed_json(a, cfg, o, path, err);
}

static int write_csv(const grad_args_t *a, const seed_out_t *outs, int n, sal_err_t *err) {
    char path[PATH_LEN + 64];
    if (a->shard_count > 1) snprintf(path, sizeof path, "%s/grad-shard%d-of-%d.csv", a->outdir, a->shard_index, a->shard_count);
    else snprintf(path, sizeof path, "%s/grad.csv", a->outdir);
    sal_atomic_t at;
    if (sal_atomic_begin(&at, path, err) < 0) return -1;
    fprintf(at.f, "seed,space,objective,value,max_saliency,x,y,grad_norm\n");
    for (int i = 0; i < n; i++)
        fprintf(at.f, "%u,%s,%s,%.9g,%.9g,%.6g,%.6g,%.9g\n", outs[i].seed, space_name(a->space),
                a->objective == SALIENCY_OBJ_MAX ? "max" : "softmax", outs[i].sal.value,
                (double)outs[i].sal.max_saliency, (double)outs[i].sal.point_x, (double)outs[i].sal.point_y,
                outs[i].grad_norm);
    return sal_atomic_end(&at, 1, err);
}

static int run(const grad_args_t *a, sal_err_t *err) {
    if (a->threads) threads_set(a->threads);
    // the folder is made only once everything loaded, but must be makeable
    if (sal_dir_check_writable(a->outdir, err) < 0) return -1;
    ks_startup_t check;   // the kernels of both networks, before they are loaded
    if (startup_check("salient grad", KS_GENERATOR | KS_SALIENCY, &check, err) < 0) return -1;
    blob_t *gblob = NULL, *sblob = NULL;
    sg2_net_t *net = NULL;
    saliency_model_t sal;
    int sal_ok = 0, rc = -1;
    grad_bufs_t bufs;
    int bufs_ok = 0;
    seed_out_t *outs = NULL;
    trace_t trace;
    int tracing = 0;
    const double t_open = sal_now();

    if (cli_open_models(a->network, a->saliency, 0, &gblob, &sblob, err) < 0) goto done;
    if (sg2_load(&net, gblob, err) < 0 || sg2_grad_prepare(net, err) < 0) goto done;
    if (saliency_model_init(&sal, sblob, err) < 0) goto done;
    sal_ok = 1;
    const sg2_config_t *cfg = &net->cfg;
    if (cfg->img_channels != 3) {
        sal_errf(err, "%s: the generator makes %d-channel images; the saliency model needs RGB (3)", a->network,
                 cfg->img_channels);
        goto done;
    }
    if (a->cutoff != SG2_CUTOFF_NONE && a->cutoff > cfg->num_ws) {
        sal_errf(err, "--trunc-cutoff must be 0..%d for this network (got %d)", cfg->num_ws, a->cutoff);
        goto done;
    }
    if (bufs_init(&bufs, a, net, &sal, a->trace_dir ? &trace : NULL, err) < 0) goto done;
    bufs_ok = 1;
    outs = calloc((size_t)(a->seeds.n > 0 ? a->seeds.n : 1), sizeof *outs);
    if (!outs) {
        sal_errf(err, "out of memory");
        goto done;
    }
    // the folder is made only once everything loaded: a bad input leaves nothing behind
    if (sal_mkdir_p(a->outdir, err) < 0 || startup_check_record(&check, a->outdir, err) < 0) goto done;
    if (a->trace_dir) {
        if (trace_open(&trace, a->trace_dir, err) < 0) goto done;
        tracing = 1;
    }
    fprintf(stderr, "salient grad: %d seed%s, d(%s)/d%s, %dx%d images, %d thread%s (%s), loaded in %.1fs\n", a->seeds.n,
            a->seeds.n == 1 ? "" : "s", a->objective == SALIENCY_OBJ_MAX ? "max saliency" : "softmax saliency",
            space_name(a->space), cfg->img_resolution, cfg->img_resolution, threads_get(), threads_get() == 1 ? "" : "s",
            isa_name(cpu_isa()), sal_now() - t_open);
    for (int i = 0; i < a->seeds.n; i++) {
        seed_out_t *o = &outs[i];
        if (run_seed(a, net, &bufs, a->seeds.seeds[i], tracing ? &trace : NULL, o, err) < 0) goto done;
        fprintf(stderr, "seed %d/%d (%u): objective %.6g, max saliency %.4f at (%.0f, %.0f), |grad| %.4g; "
                        "forward %.2fs, saliency %.2fs, backward %.2fs\n",
                i + 1, a->seeds.n, o->seed, o->sal.value, (double)o->sal.max_saliency, (double)o->sal.point_x,
                (double)o->sal.point_y, o->grad_norm, o->t_forward, o->t_saliency, o->t_backward);
    }
    if (write_csv(a, outs, a->seeds.n, err) < 0) goto done;
    if (tracing) {
        tracing = 0;
        if (trace_close(&trace, err) < 0) goto done;
    }
    rc = 0;
done:
    if (tracing) trace_close(&trace, &(sal_err_t){{0}});
    free(outs);
    if (bufs_ok) bufs_free(&bufs);
    if (sal_ok) saliency_model_free(&sal);
    sg2_free(net);
    blob_close(gblob);
    blob_close(sblob);
    return rc;
}

int cmd_grad(int argc, char **argv) {
    grad_args_t a;
    sal_err_t err = {{0}};
    int p = parse_args(argc, argv, &a, &err);
    if (p == 1) {
        grad_help(stdout);
        seedlist_free(&a.seeds);
        return 0;
    }
    if (p < 0) {
        fprintf(stderr, "salient grad: %s (see --help)\n", err.msg);
        seedlist_free(&a.seeds);
        return 2;
    }
    int rc = run(&a, &err);
    seedlist_free(&a.seeds);
    if (rc < 0) {
        fprintf(stderr, "salient grad: %s\n", err.msg);
        return 1;
    }
    return 0;
}
