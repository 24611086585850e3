/* cmd_generate.c — `salient generate`: face images from seeds or latents with
 * a StyleGAN2-ADA generator, mirroring NVIDIA's generate.py.
 *
 *   salient generate --network NET --seeds 0-3,7 [--trunc PSI] [--trunc-cutoff K]
 *       [--noise-mode const|none|random] [--outdir DIR] [--batch N] [--threads N]
 *       [--save-float] [--fast] [--reference] [--trace DIR]
 *   salient generate --network NET --z Z.npy | --w W.npy  [same options]
 *
 * Seed s gives z = RandomState(s).randn(1, z_dim), exactly as generate.py, so
 * DIR/seed0042.png is the face generate.py draws for seed 42 (to within the
 * float rounding of a different summation order). This file only parses,
 * loads and writes; the network is nets/stylegan2.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "cpu.h"
#include "netload.h"
#include "npy.h"
#include "png.h"
#include "seedlist.h"
#include "startup_check.h"
#include "stylegan2.h"
#include "stylegan2_ref.h"
#include "trace.h"

static void generate_help(FILE *f) {
    fprintf(f,
            "usage: salient generate --network NET (--seeds LIST | --z Z.npy | --w W.npy) [options]\n\n"
            "Generates images with a StyleGAN2-ADA generator (G_ema), like NVIDIA's generate.py.\n\n"
            "  --network NET      network pickle (NVIDIA's .pkl) or a blob made by weightconv\n"
            "  --seeds LIST       seeds such as 0-3,7: z = RandomState(seed).randn(1, z_dim),\n"
            "                     as generate.py; writes DIR/seed0000.png, ...\n"
            "  --z Z.npy          latents z, shape [N, z_dim] (float32/64), instead of seeds;\n"
            "                     writes DIR/z0000.png, ... (row index)\n"
            "  --w W.npy          latents w, shape [N, w_dim] or [N, num_ws, w_dim]: skips the\n"
            "                     mapping network and truncation; writes DIR/w0000.png, ...\n"
            "  --trunc PSI        truncation psi (default 1 = none): w = lerp(w_avg, w, psi)\n"
            "  --trunc-cutoff K   truncate only the first K of the num_ws rows (default: all)\n"
            "  --noise-mode MODE  const (default, the stored noise maps), none, or random\n"
            "                     (random: drawn from RandomState(seed) continued after z;\n"
            "                     with --z/--w from RandomState(row))\n"
            "  --outdir DIR       output folder, created if needed (default: .)\n"
            "  --batch N          images per network pass (default 1). The low-resolution\n"
            "                     blocks run on the whole batch, the rest image by image:\n"
            "                     about the same time per image, a little more memory\n"
            "  --threads N        threads (default: all cores)\n"
            "  --fast             Winograd for the 3x3 and the transposed convs (faster,\n"
            "                     not bit-exact: ~1e-6 relative)\n"
            "  --shard I/N        generate only the seeds at positions = I (mod N) of the list\n"
            "                     (default: SLURM_ARRAY_TASK_ID / SLURM_ARRAY_TASK_COUNT)\n"
            "  --save-float       also write NAME.npy: the float32 [3, H, W] image before\n"
            "                     the uint8 step (nominal range [-1, 1])\n"
            "  --reference        run the plain reference network (nets/stylegan2_ref.c:\n"
            "                     loops written from the equations, slow; docs/stylegan2.md)\n"
            "  --trace DIR        write every intermediate (mapping layers, w, styles,\n"
            "                     demodulation, conv outputs, ToRGB, the running image) to DIR\n"
            "                     as .npy + PNG montages, listed in DIR/trace.txt; one image\n"
            "                     per pass (--batch is ignored)\n"
            "  --help             this text\n\n"
            "PNG pixels: clamp(img * 127.5 + 128, 0, 255) truncated to uint8, RGB.\n"
            "Progress goes to stderr when there is more than one image.\n");
}

/* Where the latents come from. */
typedef enum source { SRC_SEEDS, SRC_Z, SRC_W } source_t;

typedef struct gen_args {
    const char *network, *outdir, *z_path, *w_path, *seeds_text, *shard;
    seedlist_t seeds;       /* parsed --seeds */
    double psi;
    int psi_given, cutoff, batch, threads, save_float, fast, reference;
    const char *trace_dir;   /* --trace DIR, or NULL */
    sg2_noise_mode_t noise_mode;
} gen_args_t;

/* Returns 0 to run, 1 if --help was printed, -1 on a bad command line. */
static int parse_args(int argc, char **argv, gen_args_t *a, sal_err_t *err) {
    memset(a, 0, sizeof *a);
    a->outdir = ".";
    a->psi = 1.0;
    a->cutoff = SG2_CUTOFF_NONE;
    a->batch = 1;
    a->noise_mode = SG2_NOISE_CONST;
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int m;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return 1;
        if (!strcmp(argv[i], "--save-float")) { a->save_float = 1; continue; }
        if (!strcmp(argv[i], "--fast")) { a->fast = 1; continue; }
        if (!strcmp(argv[i], "--reference")) { a->reference = 1; continue; }
        if ((m = cli_value(argc, argv, &i, "--trace", &v, err)) != 0) {
            if (m < 0) return -1;
            a->trace_dir = v;
            continue;
        }
        if ((m = cli_value(argc, argv, &i, "--network", &v, err)) != 0) {
            if (m < 0) return -1;
            a->network = v;
        } else if ((m = cli_value(argc, argv, &i, "--seeds", &v, err)) != 0) {
            if (m < 0) return -1;
            a->seeds_text = v;
        } else if ((m = cli_value(argc, argv, &i, "--shard", &v, err)) != 0) {
            if (m < 0) return -1;
            a->shard = v;
        } else if ((m = cli_value(argc, argv, &i, "--z", &v, err)) != 0) {
            if (m < 0) return -1;
            a->z_path = v;
        } else if ((m = cli_value(argc, argv, &i, "--w", &v, err)) != 0) {
            if (m < 0) return -1;
            a->w_path = v;
        } else if ((m = cli_value(argc, argv, &i, "--outdir", &v, err)) != 0) {
            if (m < 0) return -1;
            a->outdir = v;
        } else if ((m = cli_value(argc, argv, &i, "--trunc", &v, err)) != 0) {
            if (m < 0 || cli_double("--trunc", v, -1e6, 1e6, &a->psi, err) < 0) return -1;
            a->psi_given = 1;
        } else if ((m = cli_value(argc, argv, &i, "--trunc-cutoff", &v, err)) != 0) {
            if (m < 0 || cli_int("--trunc-cutoff", v, 0, 1 << 20, &a->cutoff, err) < 0) return -1;
        } else if ((m = cli_value(argc, argv, &i, "--batch", &v, err)) != 0) {
            if (m < 0 || cli_int("--batch", v, 1, 4096, &a->batch, err) < 0) return -1;
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
    if (a->reference && a->fast) return sal_errf(err, "--reference and --fast exclude each other");
    if (a->trace_dir) a->batch = 1;   // traced tensors are per image
    int sources = (a->seeds_text != NULL) + (a->z_path != NULL) + (a->w_path != NULL);
    if (sources != 1) return sal_errf(err, "give exactly one of --seeds, --z, --w");
    if (a->w_path && (a->psi_given || a->cutoff != SG2_CUTOFF_NONE))
        return sal_errf(err, "--trunc/--trunc-cutoff apply to z and seeds; --w latents are used as given");
    if (a->shard && !a->seeds_text) return sal_errf(err, "--shard splits --seeds; it does not apply to --z/--w");
    if (a->seeds_text) {
        int si, sn, from_slurm;
        if (seedlist_parse(a->seeds_text, &a->seeds, err) < 0) return -1;
        if (seedlist_resolve_shard(a->shard, &si, &sn, &from_slurm, err) < 0) return -1;
        if (from_slurm) fprintf(stderr, "salient generate: Slurm array task %d of %d: generating shard %d/%d of the seeds\n", si, sn, si, sn);
        if (sn > 1) seedlist_shard(&a->seeds, si, sn);
    }
    return 0;
}

/* The latents of every image: n rows of z (seeds, --z) or of ws (--w,
 * broadcast to (num_ws, w_dim) per row). */
typedef struct latents {
    source_t src;
    int n;
    uint32_t *seeds;        /* SRC_SEEDS */
    float *rows;            /* (n, z_dim) or (n, num_ws, w_dim) */
} latents_t;

static int load_latents(const gen_args_t *a, const sg2_config_t *cfg, latents_t *L,
                        sal_err_t *err) {
    memset(L, 0, sizeof *L);
    if (a->seeds_text) {
        L->src = SRC_SEEDS;
        L->n = a->seeds.n;
        L->seeds = a->seeds.seeds;   // the z rows are drawn per batch
        return 0;
    }
    const char *path = a->z_path ? a->z_path : a->w_path;
    npy_array_t arr;
    if (npy_load_f32(path, &arr, err) < 0) return -1;
    const int64_t *sh = arr.shape;
    int ok;
    if (a->z_path) {
        L->src = SRC_Z;
        ok = arr.ndim == 2 && sh[1] == cfg->z_dim;
        if (!ok) {
            npy_free(&arr);
            return sal_errf(err, "%s: expected shape [N, %d] (z_dim), got %d dims", path, cfg->z_dim, arr.ndim);
        }
    } else {
        L->src = SRC_W;
        ok = (arr.ndim == 2 && sh[1] == cfg->w_dim) ||
             (arr.ndim == 3 && sh[1] == cfg->num_ws && sh[2] == cfg->w_dim);
        if (!ok) {
            npy_free(&arr);
            return sal_errf(err, "%s: expected shape [N, %d] or [N, %d, %d] (w), got %d dims", path,
                            cfg->w_dim, cfg->num_ws, cfg->w_dim, arr.ndim);
        }
    }
    if (sh[0] < 1 || sh[0] > SEEDLIST_MAX) {
        npy_free(&arr);
        return sal_errf(err, "%s: %lld rows (expected 1..%d)", path, (long long)sh[0], SEEDLIST_MAX);
    }
    L->n = (int)sh[0];
    if (L->src == SRC_W && arr.ndim == 2) {
        // [N, w_dim] -> [N, num_ws, w_dim]: the same w for every layer, as mapping does
        size_t per = (size_t)cfg->num_ws * cfg->w_dim;
        L->rows = malloc((size_t)L->n * per * sizeof(float));
        if (!L->rows) {
            npy_free(&arr);
            return sal_errf(err, "%s: out of memory", path);
        }
        for (int i = 0; i < L->n; i++)
            for (int r = 0; r < cfg->num_ws; r++)
                memcpy(L->rows + i * per + (size_t)r * cfg->w_dim,
                       (const float *)arr.data + (size_t)i * cfg->w_dim, (size_t)cfg->w_dim * sizeof(float));
        npy_free(&arr);
    } else {
        L->rows = arr.data;   // taken over (malloc'ed by npy)
    }
    return 0;
}

static void latents_free(latents_t *L) {
    free(L->rows);   // (seeds belong to the parsed arguments)
}

/* Output name of image i without extension: DIR/seed0042, DIR/z0003, DIR/w0003. */
static void output_stem(const gen_args_t *a, const latents_t *L, int i, char *buf, size_t len) {
    if (L->src == SRC_SEEDS) snprintf(buf, len, "%s/seed%04u", a->outdir, L->seeds[i]);
    else snprintf(buf, len, "%s/%s%04d", a->outdir, L->src == SRC_Z ? "z" : "w", i);
}

static int run(const gen_args_t *a, sal_err_t *err) {
    if (a->threads) threads_set(a->threads);
    /* the folder is made only once the network and latents have loaded */
    if (sal_dir_check_writable(a->outdir, err) < 0) return -1;
    ks_startup_t check; /* the kernels this run uses, before the first pass */
    if (startup_check("salient generate", KS_GENERATOR | (a->fast ? KS_FAST : 0), &check, err) < 0) return -1;

    blob_t *blob = NULL;
    sg2_net_t *net = NULL;
    latents_t L = {0};
    arena_t arena = {0};
    float *z = NULL, *ws = NULL, *img = NULL;
    uint8_t *rgb = NULL;
    rng_np_t *rngs = NULL;
    int rc = -1;
    trace_t trace;             /* --trace: open while hook is set */
    sg2_hook_fn hook = NULL;

    int converted = netload_open(a->network, &blob, err);
    if (converted < 0) goto done;
    if (converted == 1)
        fprintf(stderr, "note: converting %s in memory; run `weightconv %s OUT.blob` once to load faster\n",
                a->network, a->network);
    if (sg2_load(&net, blob, err) < 0) goto done;
    if (a->fast && sg2_enable_fast(net, err) < 0) goto done;
    const sg2_config_t *cfg = &net->cfg;
    if (load_latents(a, cfg, &L, err) < 0) goto done;

    const int B = a->batch < L.n ? a->batch : L.n, R = cfg->img_resolution, C = cfg->img_channels;
    const size_t per_ws = (size_t)cfg->num_ws * cfg->w_dim, per_img = (size_t)C * R * R;
    const size_t need = sg2_synthesis_arena_bytes(net, B);
    z = malloc((size_t)B * cfg->z_dim * sizeof(float));
    ws = malloc((size_t)B * per_ws * sizeof(float));
    img = malloc((size_t)B * per_img * sizeof(float));
    rgb = malloc((size_t)B * per_img);
    rngs = malloc((size_t)B * sizeof(rng_np_t));
    if (!z || !ws || !img || !rgb || !rngs || need == 0 || arena_init(&arena, need) < 0) {
        sal_errf(err, "out of memory for a batch of %d images at %dx%d (%zu MiB of scratch); "
                 "try a smaller --batch", B, R, R, need >> 20);
        goto done;
    }

    if (sal_mkdir_p(a->outdir, err) < 0 || startup_check_record(&check, a->outdir, err) < 0) goto done;

    if (a->trace_dir) {
        if (trace_open(&trace, a->trace_dir, err) < 0) goto done;
        hook = trace_hook;
    }
    const double t_start = sal_now();
    for (int i0 = 0; i0 < L.n; i0 += B) {
        const int nb = L.n - i0 < B ? L.n - i0 : B;
        // latents -> ws (N, num_ws, w_dim)
        if (L.src == SRC_W) {
            memcpy(ws, L.rows + (size_t)i0 * per_ws, (size_t)nb * per_ws * sizeof(float));
            for (int b = 0; b < nb; b++) rng_np_seed(&rngs[b], (uint32_t)(i0 + b));
        } else {
            for (int b = 0; b < nb; b++) {
                float *zb = z + (size_t)b * cfg->z_dim;
                if (L.src == SRC_SEEDS) {
                    sg2_z_from_seed(L.seeds[i0 + b], cfg->z_dim, zb, &rngs[b]);
                } else {
                    memcpy(zb, L.rows + (size_t)(i0 + b) * cfg->z_dim, (size_t)cfg->z_dim * sizeof(float));
                    rng_np_seed(&rngs[b], (uint32_t)(i0 + b));
                }
            }
        }
        if (hook && L.n > 1) {   // one traced image per pass: names start with its stem
            char stem[4096];
            output_stem(a, &L, i0, stem, sizeof stem);
            const char *base = strrchr(stem, '/');
            snprintf(stem, sizeof stem, "%s.", base ? base + 1 : "");
            trace_set_prefix(&trace, stem);
        }
        if (a->reference) {   // the plain loops, sample by sample
            for (int b = 0; b < nb; b++) {
                if (L.src != SRC_W &&
                    sg2_ref_mapping(net, z + (size_t)b * cfg->z_dim, (float)a->psi, a->cutoff,
                                    ws + b * per_ws, hook, &trace, err) < 0)
                    goto done;
                if (sg2_ref_synthesis(net, ws + b * per_ws, a->noise_mode, &rngs[b], hook, &trace,
                                      img + b * per_img, err) < 0)
                    goto done;
            }
        } else {
            if (L.src != SRC_W &&
                sg2_mapping_hooked(net, z, nb, (float)a->psi, a->cutoff, ws, hook, &trace, err) < 0)
                goto done;
            // ws -> images
            sg2_synthesis_opts_t opts = {.noise_mode = a->noise_mode, .noise_rngs = rngs,
                                         .arena = &arena, .hook = hook, .hook_user = &trace};
            if (sg2_synthesis(net, ws, nb, &opts, img, err) < 0) goto done;
        }
        sg2_to_uint8(img, nb, C, R, R, rgb);
        for (int b = 0; b < nb; b++) {
            char stem[4096], path[4200];
            output_stem(a, &L, i0 + b, stem, sizeof stem);
            snprintf(path, sizeof path, "%s.png", stem);
            if (png_save(path, rgb + (size_t)b * per_img, R, R, C, err) < 0) goto done;
            if (a->save_float) {
                snprintf(path, sizeof path, "%s.npy", stem);
                const int64_t shape[3] = {C, R, R};
                if (npy_save(path, DT_F32, 3, shape, img + (size_t)b * per_img, err) < 0) goto done;
            }
        }
        if (L.n > 1) {
            const int done_n = i0 + nb;
            const double el = sal_now() - t_start;
            fprintf(stderr, "generate: %d/%d images, %.2f s/image, %.0f s left\n", done_n, L.n,
                    el / done_n, el / done_n * (L.n - done_n));
        }
    }
    rc = 0;
    if (hook) {
        hook = NULL;
        rc = trace_close(&trace, err);
    }
done:
    if (hook) trace_close(&trace, &(sal_err_t){{0}});
    arena_free(&arena);
    free(z);
    free(ws);
    free(img);
    free(rgb);
    free(rngs);
    latents_free(&L);
    sg2_free(net);
    blob_close(blob);
    return rc;
}

int cmd_generate(int argc, char **argv) {
    gen_args_t a;
    sal_err_t err = {{0}};
    int p = parse_args(argc, argv, &a, &err);
    if (p == 1) {
        generate_help(stdout);
        return 0;
    }
    if (p < 0) {
        fprintf(stderr, "salient generate: %s (see --help)\n", err.msg);
        return 2;
    }
    int rc = run(&a, &err);
    seedlist_free(&a.seeds);
    if (rc < 0) {
        fprintf(stderr, "salient generate: %s\n", err.msg);
        return 1;
    }
    return 0;
}
