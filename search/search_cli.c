/* search_cli.c — the command line of the search, shared by `salient search`
 * and the MPI program `salient-mpi`: option parsing (everything checked
 * before any work), the session (models loaded once), progress lines and the
 * closing "where the time went" line. */
#include "search_cli.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "cpu.h"
#include "json.h"
#include "netload.h"

static const char USAGE[] =
    "usage: %s --network NET --saliency MODEL --seeds LIST [options]\n"
    "\n"
    "Random search in StyleGAN2-ADA's latent space for faces that Twitter's saliency\n"
    "model finds more salient. For each seed: generate the face (seed -> z exactly as\n"
    "NVIDIA's generate.py), score its maximum saliency, then at each step draw K\n"
    "perturbations delta ~ N(0, diag(sigma^2)), generate and score the K candidates\n"
    "as one batch, and move to the best one. --method grad follows the exact gradient\n"
    "instead: one step of normalised gradient ascent per step (docs/search.md).\n"
    "\n"
    "  --network NET         generator: salient blob or NVIDIA pickle (required)\n"
    "  --saliency MODEL      saliency model: fastgaze.vxm or its blob (required)\n"
    "  --seeds LIST          e.g. 0-15 or 1,5,7-9 (required)\n"
    "  --steps T             search steps (default 5)\n"
    "  --candidates K        candidates per step (default 16)\n"
    "  --sigma S             perturbation standard deviation (default 0.1)\n"
    "  --sigma-file S.npy    one sigma per latent dimension (diagonal covariance)\n"
    "  --space z|w|w+        latent space to search (default z)\n"
    "  --trunc PSI           truncation psi (default 1)\n"
    "  --trunc-cutoff K      truncate only the first K w rows (default: all)\n"
    "  --noise-mode MODE     const|none|random (default const)\n"
    "  --accept RULE         best: always move to the best candidate (the study);\n"
    "                        improve: only if it beats the current face;\n"
    "                        random: to a uniformly chosen candidate, the same for\n"
    "                        any sigma (the null model: no selection) (default best)\n"
    "  --objective max|min   max: best = most salient (the study); min: least salient,\n"
    "                        the mirror arm (default max; not with --accept random)\n"
    "  --rng-seed N          seed of the perturbations (default 0)\n"
    "  --budget F            forward-equivalents per seed, instead of --steps: steps =\n"
    "                        floor((F-1)/K) (random) or floor((F-1)/C) (grad)\n"
    "  --method random|grad  random: K random candidates per step, the study (default);\n"
    "                        grad: x += lr * g/||g||, g = dL/dx (descent with\n"
    "                        --objective min); the logged score is the max saliency\n"
    "  --lr L                grad: step length (default sqrt(sum_d sigma_d^2), as far\n"
    "                        as one random step at --sigma/--sigma-file: sigma*sqrt(D))\n"
    "  --radius R            grad: keep ||x - x0||_2 <= R (projection after each step)\n"
    "  --score max|softmax   grad: the L it follows: the max saliency (default) or\n"
    "                        its smooth maximum tau*log(sum exp(M/tau))\n"
    "  --tau T               grad: softmax temperature (default 0.1)\n"
    "  --grad-cost C         grad: forward-equivalents C of one forward+backward,\n"
    "                        for run.json and --budget (default: measured at start)\n"
    "  --outdir DIR          output folder (default runs)\n"
    "  --resume              continue an interrupted run; finished seeds are skipped\n"
    "  --batch N             images per generator pass (default 8; bounds memory)\n"
    "  --threads N           threads (default: all online cores)\n"
    "  --fast                Winograd for the 3x3 and the transposed convs (faster, not\n"
    "                        bit-exact: images differ by ~1e-6, max saliency by ~1e-5)\n"
    "%s"
    "  -q, --quiet           no progress lines\n"
    "\n"
    "Writes DIR/seedNNNN/{stepNN.png, latents.npy, log.csv, strip.png, plot.png,\n"
    "result.json} and DIR/summary.csv, DIR/index.html. Same arguments, same bytes,\n"
    "whatever the thread count.\n";

static const char SHARD_USAGE[] =
    "  --shard I/N           run only the seeds at positions = I (mod N) of the list\n"
    "                        (default: SLURM_ARRAY_TASK_ID / SLURM_ARRAY_TASK_COUNT)\n";

static int usage_error(const search_cli_t *cli, const char *msg) {
    fprintf(stderr, "%s: %s\n", cli->prog, msg);
    return 2;
}

int search_cli_parse(int argc, char **argv, const char *prog, int allow_shard, search_cli_t *cli) {
    memset(cli, 0, sizeof *cli);
    cli->prog = prog;
    search_params_t *p = &cli->p;
    p->outdir = "runs";
    p->steps = 5;
    p->candidates = 16;
    p->sigma = 0.1;
    p->space = SPACE_Z;
    p->psi = 1.0f;
    p->trunc_cutoff = SG2_CUTOFF_NONE;
    p->noise_mode = SG2_NOISE_CONST;
    p->accept = ACCEPT_BEST;
    p->objective = OBJECTIVE_MAX;
    p->batch = 8;
    p->method = METHOD_RANDOM;
    p->lr = -1;
    p->radius = -1;
    p->score = SALIENCY_OBJ_MAX;
    p->tau = 0.1;
    const char *seeds_arg = NULL, *shard_arg = NULL;
    int sigma_given = 0;
    /* options given explicitly, for the method checks (the first one seen names the error) */
    const char *random_only = NULL, *grad_only = NULL;
    int steps_given = 0, tau_given = 0, lr_given = 0;
    sal_err_t err = {{0}};
    for (int i = 1; i < argc; i++) {
        const char *v = NULL, *a = argv[i];
        int m;
        double d;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            printf(USAGE, prog, allow_shard ? SHARD_USAGE : "");
            return 1;
        }
        if (!strcmp(a, "--resume")) { p->resume = 1; continue; }
        if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) { cli->quiet = 1; continue; }
        if (!strcmp(a, "--fast")) { p->fast = 1; if (!random_only) random_only = "--fast"; continue; }
#define OPT(name) ((m = cli_value(argc, argv, &i, name, &v, &err)) != 0)
        if (OPT("--network")) { if (m > 0) p->network = v; }
        else if (OPT("--saliency")) { if (m > 0) p->saliency = v; }
        else if (OPT("--seeds")) { if (m > 0) seeds_arg = v; }
        else if (OPT("--steps")) { if (m > 0) { m = cli_int("--steps", v, 0, 99, &p->steps, &err) ? -1 : 1; steps_given = 1; } }
        else if (OPT("--candidates")) {
            if (m > 0) m = cli_int("--candidates", v, 1, 4096, &p->candidates, &err) ? -1 : 1;
            if (!random_only) random_only = "--candidates";
        }
        else if (OPT("--sigma-file")) { if (m > 0) p->sigma_file = v; }
        else if (OPT("--sigma")) { if (m > 0) { m = cli_double("--sigma", v, 0, 1e6, &p->sigma, &err) ? -1 : 1; sigma_given = 1; } }
        else if (OPT("--space")) {
            if (m > 0) {
                if (!strcmp(v, "z")) p->space = SPACE_Z;
                else if (!strcmp(v, "w")) p->space = SPACE_W;
                else if (!strcmp(v, "w+") || !strcmp(v, "wplus")) p->space = SPACE_WPLUS;
                else m = sal_errf(&err, "--space: expected z, w or w+, got '%s'", v);
            }
        } else if (OPT("--trunc")) {
            if (m > 0) { m = cli_double("--trunc", v, -100, 100, &d, &err) ? -1 : 1; p->psi = (float)d; }
        } else if (OPT("--trunc-cutoff")) {
            if (m > 0) m = cli_int("--trunc-cutoff", v, 0, 1000, &p->trunc_cutoff, &err) ? -1 : 1;
        } else if (OPT("--noise-mode")) {
            if (m > 0) {
                if (cli_noise_mode(v, &p->noise_mode, &err) < 0) m = -1;
            }
        } else if (OPT("--accept")) {
            if (!random_only) random_only = "--accept";
            if (m > 0) {
                if (!strcmp(v, "best")) p->accept = ACCEPT_BEST;
                else if (!strcmp(v, "improve")) p->accept = ACCEPT_IMPROVE;
                else if (!strcmp(v, "random")) p->accept = ACCEPT_RANDOM;
                else m = sal_errf(&err, "--accept: expected best, improve or random, got '%s'", v);
            }
        } else if (OPT("--objective")) {
            if (m > 0) {
                if (!strcmp(v, "max")) p->objective = OBJECTIVE_MAX;
                else if (!strcmp(v, "min")) p->objective = OBJECTIVE_MIN;
                else m = sal_errf(&err, "--objective: expected max or min, got '%s'", v);
            }
        } else if (OPT("--rng-seed")) {
            if (m > 0) { m = cli_double("--rng-seed", v, 0, 4294967295.0, &d, &err) ? -1 : 1; p->rng_seed = (uint32_t)d; }
        } else if (OPT("--outdir")) { if (m > 0) p->outdir = v; }
        else if (OPT("--batch")) {
            if (m > 0) m = cli_int("--batch", v, 1, 1024, &p->batch, &err) ? -1 : 1;
            if (!random_only) random_only = "--batch";
        }
        else if (OPT("--budget")) { if (m > 0) m = cli_double("--budget", v, 1, 1e9, &cli->budget, &err) ? -1 : 1; }
        else if (OPT("--method")) {
            if (m > 0) {
                if (!strcmp(v, "random")) p->method = METHOD_RANDOM;
                else if (!strcmp(v, "grad")) p->method = METHOD_GRAD;
                else m = sal_errf(&err, "--method: expected random or grad, got '%s'", v);
            }
        } else if (OPT("--lr")) {
            if (m > 0) m = cli_double("--lr", v, 1e-30, 1e6, &p->lr, &err) ? -1 : 1;
            if (!grad_only) grad_only = "--lr";
            lr_given = 1;
        } else if (OPT("--radius")) {
            if (m > 0) m = cli_double("--radius", v, 0, 1e6, &p->radius, &err) ? -1 : 1;
            if (!grad_only) grad_only = "--radius";
        } else if (OPT("--score")) {
            if (m > 0) {
                if (!strcmp(v, "max")) p->score = SALIENCY_OBJ_MAX;
                else if (!strcmp(v, "softmax")) p->score = SALIENCY_OBJ_SOFTMAX;
                else m = sal_errf(&err, "--score: expected max or softmax, got '%s'", v);
            }
            if (!grad_only) grad_only = "--score";
        } else if (OPT("--tau")) {
            if (m > 0) m = cli_double("--tau", v, 1e-6, 1e6, &p->tau, &err) ? -1 : 1;
            if (!grad_only) grad_only = "--tau";
            tau_given = 1;
        } else if (OPT("--grad-cost")) {
            if (m > 0) m = cli_double("--grad-cost", v, 1e-3, 1e6, &cli->grad_cost, &err) ? -1 : 1;
            if (!grad_only) grad_only = "--grad-cost";
        }
        else if (OPT("--threads")) { if (m > 0) m = cli_threads(v, &cli->threads, &err) ? -1 : 1; }
        else if (allow_shard && OPT("--shard")) { if (m > 0) shard_arg = v; }
        else {
            sal_errf(&err, "unknown option '%s' (see --help)", a);
            m = -1;
        }
#undef OPT
        if (m < 0) return usage_error(cli, err.msg);
    }
    if (!p->network || !p->saliency || !seeds_arg)
        return usage_error(cli, "--network, --saliency and --seeds are required (see --help)");
    if (sigma_given && p->sigma_file) return usage_error(cli, "give either --sigma or --sigma-file, not both");
    if (p->accept == ACCEPT_RANDOM && p->objective != OBJECTIVE_MAX)
        return usage_error(cli, "--accept random selects nothing, so --objective min has no meaning with it; run the random arm once");
    if (steps_given && cli->budget > 0) return usage_error(cli, "give either --steps or --budget, not both");
    char msg[300];
    if (p->method == METHOD_RANDOM && grad_only) {
        snprintf(msg, sizeof msg, "%s applies to --method grad only", grad_only);
        return usage_error(cli, msg);
    }
    if (p->method == METHOD_GRAD) {
        if (random_only) {
            snprintf(msg, sizeof msg, "%s applies to --method random only (grad makes one exact step per step from one image)",
                     random_only);
            return usage_error(cli, msg);
        }
        if (lr_given && (sigma_given || p->sigma_file))
            return usage_error(cli, "--sigma / --sigma-file only set the default --lr of --method grad; give either them or --lr");
        if (tau_given && p->score != SALIENCY_OBJ_SOFTMAX) return usage_error(cli, "--tau applies to --score softmax only");
        p->candidates = 1; /* one latent per step */
    }
    if (seedlist_parse(seeds_arg, &cli->seeds, &err)) return usage_error(cli, err.msg);
    int shard_i = 0, shard_n = 1, from_slurm = 0;
    if (allow_shard && seedlist_resolve_shard(shard_arg, &shard_i, &shard_n, &from_slurm, &err)) {
        search_cli_free(cli);
        return usage_error(cli, err.msg);
    }
    if (from_slurm && !cli->quiet)
        fprintf(stderr, "%s: Slurm array task %d of %d: running shard %d/%d of the seeds\n", prog, shard_i, shard_n,
                shard_i, shard_n);
    if (shard_n > 1) seedlist_shard(&cli->seeds, shard_i, shard_n);
    return 0;
}

void search_cli_free(search_cli_t *cli) { seedlist_free(&cli->seeds); }

static const char *noise_mode_name(int m) {
    return m == SG2_NOISE_CONST ? "const" : m == SG2_NOISE_NONE ? "none" : m == SG2_NOISE_RANDOM ? "random" : "?";
}

/* A value of run.json (option `key`) as the user gives it, for messages. */
static void format_value(const char *key, const json_t *v, char *buf, size_t len) {
    if (!v && !strcmp(key, "objective")) snprintf(buf, len, "max"); /* written only when not the default */
    else if (!v && !strcmp(key, "method")) snprintf(buf, len, "random");
    else if (v && v->type == JSON_NULL && !strcmp(key, "radius")) snprintf(buf, len, "(none)");
    else if (!v) snprintf(buf, len, "(missing)");
    else if (v->type == JSON_STRING) snprintf(buf, len, "%s", !strcmp(key, "sigma_file") && !v->str[0] ? "(none)" : v->str);
    else if (v->type != JSON_NUMBER) snprintf(buf, len, "(not a value)");
    else if (!strcmp(key, "noise_mode")) snprintf(buf, len, "%s", noise_mode_name((int)v->num));
    else if (!strcmp(key, "trunc_cutoff") && v->num == SG2_CUTOFF_NONE) snprintf(buf, len, "(all)");
    else if (!strcmp(key, "fast")) snprintf(buf, len, "%s", v->num != 0 ? "on" : "off");
    else snprintf(buf, len, "%.9g", v->num);
}

/* Fills diff with "steps: folder 2, now 3; ..." for the options of `now`
 * that `was` does not hold with the same value. */
static void describe_differences(const json_t *now, const json_t *was, char *diff, size_t len) {
    char a[120], b[120];
    size_t n = 0;
    diff[0] = 0;
    for (int i = 0; i < now->n; i++) {
        const json_t *v_now = &now->items[i], *v_was = json_get(was, now->keys[i]);
        int same = v_was && v_was->type == v_now->type &&
                   (v_now->type == JSON_STRING ? !strcmp(v_was->str, v_now->str) : v_was->num == v_now->num);
        if (same) continue;
        format_value(now->keys[i], v_was, a, sizeof a);
        format_value(now->keys[i], v_now, b, sizeof b);
        int w = snprintf(diff + n, len - n, "%s%s: folder %s, now %s", n ? "; " : "", now->keys[i], a, b);
        if (w < 0 || (size_t)w >= len - n) break;
        n += (size_t)w;
    }
    for (int i = 0; i < was->n; i++) { /* options the folder has and `now` leaves at their default */
        if (json_get(now, was->keys[i])) continue;
        format_value(was->keys[i], &was->items[i], a, sizeof a);
        format_value(was->keys[i], NULL, b, sizeof b);
        int w = snprintf(diff + n, len - n, "%s%s: folder %s, now %s", n ? "; " : "", was->keys[i], a, b);
        if (w < 0 || (size_t)w >= len - n) break;
        n += (size_t)w;
    }
    if (n == 0) snprintf(diff, len, "written by another version of salient");
}

/* run.json holds the options that must match when a folder is resumed or
 * extended (not seeds, threads or shards: those may differ between calls).
 * Its bytes are kept as they always were; a mismatch names each option that
 * differs: "steps: folder 2, now 3". */
static int check_run_file(const search_ctx_t *ctx, sal_err_t *err) {
    const search_params_t *p = &ctx->p;
    char path[4200], *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    if (!f) return sal_errf(err, "out of memory");
    fprintf(f, "{\"steps\": %d, \"candidates\": %d, \"sigma\": %.17g, \"sigma_file\": ", p->steps, p->candidates,
            p->sigma_file ? 0.0 : p->sigma);
    json_write_string(f, p->sigma_file ? p->sigma_file : "");
    fprintf(f, ", \"space\": \"%s\", \"trunc\": %.9g, \"trunc_cutoff\": %d, \"noise_mode\": %d, \"accept\": \"%s\"",
            search_space_name(p->space), (double)p->psi, p->trunc_cutoff, (int)p->noise_mode, search_accept_name(p->accept));
    /* a key added after the first release is written only when it is not the
     * default, so folders made before it was added still match (and resume) */
    if (p->objective != OBJECTIVE_MAX) fprintf(f, ", \"objective\": \"%s\"", search_objective_name(p->objective));
    if (p->method == METHOD_GRAD) {
        fprintf(f, ", \"method\": \"grad\", \"lr\": %.17g, \"radius\": ", ctx->lr);
        if (p->radius < 0) fprintf(f, "null");
        else fprintf(f, "%.17g", p->radius);
        fprintf(f, ", \"score\": \"%s\"", search_score_name(p->score));
        if (p->score == SALIENCY_OBJ_SOFTMAX) fprintf(f, ", \"tau\": %.17g", p->tau);
        fprintf(f, ", \"grad_cost\": %.17g", ctx->grad_cost);
    }
    fprintf(f, ", \"rng_seed\": %u, \"fast\": %d}\n", p->rng_seed, p->fast);
    fclose(f);
    snprintf(path, sizeof path, "%s/run.json", p->outdir);
    uint8_t *old = NULL;
    size_t old_size = 0;
    sal_err_t ignore;
    int rc = 0;
    if (sal_read_file(path, 1 << 20, &old, &old_size, &ignore) == 0) {
        if (old_size != size || memcmp(old, text, size) != 0) {
            json_t now, was;
            char diff[400];
            int now_ok = json_parse(text, size, path, &now, &ignore) == 0;
            int was_ok = json_parse((const char *)old, old_size, path, &was, &ignore) == 0;
            if (!now_ok) {
                rc = sal_errf(err, "%s: internal error: cannot read back the options", path);
            } else if (!was_ok || was.type != JSON_OBJECT) {
                rc = sal_errf(err, "%s: not a run file of salient (damaged?); use another --outdir", path);
            } else {
                describe_differences(&now, &was, diff, sizeof diff);
                rc = sal_errf(err, "%s: this folder holds a run with other options (%s); use the same options to resume, or another --outdir",
                              path, diff);
            }
            if (now_ok) json_free(&now);
            if (was_ok) json_free(&was);
        }
        free(old);
    }
    if (rc == 0) rc = sal_write_file_atomic(path, text, size, err);
    free(text);
    return rc;
}

/* grad_cost of a --method grad session: the folder's (run.json of an
 * earlier grad run: a resume keeps it, and ranks or processes joining a run
 * use the value it started with), else --grad-cost, else measured now. */
static int settle_grad_cost(search_session_t *s, sal_err_t *err) {
    const search_cli_t *cli = s->cli;
    char path[4200];
    snprintf(path, sizeof path, "%s/run.json", cli->p.outdir);
    json_t run;
    sal_err_t ignore; /* no run.json yet (or not readable): a new run */
    if (json_load(path, &run, &ignore) == 0) {
        const json_t *c = json_get(&run, "grad_cost");
        const int grad_run = !strcmp(json_str(&run, "method", "random"), "grad");
        const double folder = c && c->type == JSON_NUMBER ? c->num : 0;
        json_free(&run);
        if (grad_run && folder > 0 && isfinite(folder)) {
            s->ctx.grad_cost = folder;
            if (!cli->quiet) fprintf(stderr, "%s: grad cost %.4g forward-equivalents (from %s)\n", cli->prog, folder, path);
            return 0;
        }
    }
    if (cli->grad_cost > 0) {
        s->ctx.grad_cost = cli->grad_cost;
        return 0;
    }
    double cost, t_fwd, t_fb, rounded;
    if (search_measure_grad_cost(&s->ctx, cli->seeds.n > 0 ? cli->seeds.seeds[0] : 0, &cost, &t_fwd, &t_fb, err)) return -1;
    /* 4 significant digits: run.json shows what --budget used */
    char text[32];
    snprintf(text, sizeof text, "%.4g", cost);
    rounded = strtod(text, NULL);
    s->ctx.grad_cost = rounded > 0 ? rounded : 1e-3;
    if (!cli->quiet)
        fprintf(stderr, "%s: grad cost %.4g forward-equivalents (forward+backward %.3fs / forward %.3fs, medians of 3; noisy "
                "on a busy machine; --grad-cost C fixes it)\n", cli->prog, s->ctx.grad_cost, t_fb, t_fwd);
    return 0;
}

/* --budget F: the steps that fit into F forward-equivalents per seed, the
 * start image costing 1 and each step K (random) or grad_cost (grad). */
static int apply_budget(search_session_t *s, sal_err_t *err) {
    search_params_t *p = &s->ctx.p;
    const double per_step = p->method == METHOD_GRAD ? s->ctx.grad_cost : (double)p->candidates;
    const double steps = floor((s->cli->budget - 1) / per_step);
    if (steps > 99)
        return sal_errf(err, "--budget %g makes %.0f steps of cost %g; at most 99 steps are allowed", s->cli->budget, steps, per_step);
    p->steps = (int)steps;
    if (!s->cli->quiet)
        fprintf(stderr, "%s: --budget %g: %d steps of cost %g (1 + %d x %g = %g forward-equivalents per seed)\n", s->cli->prog,
                s->cli->budget, p->steps, per_step, p->steps, per_step, 1 + p->steps * per_step);
    return 0;
}

int search_session_open(search_session_t *s, const search_cli_t *cli, int check_run, sal_err_t *err) {
    memset(s, 0, sizeof *s);
    s->cli = cli;
    s->tty = isatty(2);
    s->t_open = sal_now();
    const search_params_t *p = &cli->p;
    threads_set(cli->threads);
    /* the folder is made only once everything has loaded: a failed start leaves nothing behind */
    if (sal_dir_check_writable(p->outdir, err)) return -1;
    if (cli_open_models(p->network, p->saliency, cli->quiet, &s->gblob, &s->sblob, err)) return -1;
    if (sg2_load(&s->net, s->gblob, err)) return -1;
    if (saliency_model_init(&s->sal, s->sblob, err)) return -1;
    s->sal_ok = 1;
    if (p->fast && (sg2_enable_fast(s->net, err) || fg_enable_fast(&s->sal.net, err))) return -1;
    if (search_init(&s->ctx, p, s->net, &s->sal, err)) return -1;
    s->ctx_ok = 1;
    if (p->method == METHOD_GRAD && settle_grad_cost(s, err)) return -1;
    if (cli->budget > 0 && apply_budget(s, err)) return -1;
    p = &s->ctx.p; /* the options in force (the steps of --budget) */
    if (sal_mkdir_p(p->outdir, err)) return -1;
    if (access(p->outdir, W_OK) != 0) return sal_errf(err, "%s: output folder is not writable", p->outdir);
    if (check_run && check_run_file(&s->ctx, err)) return -1;
    /* which seed folders are there before this process touches any */
    s->existed = calloc((size_t)(cli->seeds.n > 0 ? cli->seeds.n : 1), 1);
    if (!s->existed) return sal_errf(err, "out of memory");
    for (int i = 0; i < cli->seeds.n; i++) {
        char dir[4200];
        struct stat st;
        snprintf(dir, sizeof dir, "%s/seed%04u", p->outdir, cli->seeds.seeds[i]);
        s->existed[i] = stat(dir, &st) == 0;
    }
    s->t_load = sal_now() - s->t_open;
    s->t_start = sal_now();
    s->images_total = (long)cli->seeds.n * (1 + (long)p->steps * p->candidates);
    if (!cli->quiet && p->method == METHOD_GRAD) {
        char radius[40] = "none";
        if (p->radius >= 0) snprintf(radius, sizeof radius, "%.6g", p->radius);
        fprintf(stderr, "%s: %d seed%s, %d gradient steps (lr %.6g, radius %s, score %s), %dx%d images, %d thread%s (%s)\n",
                cli->prog, cli->seeds.n, cli->seeds.n == 1 ? "" : "s", p->steps, s->ctx.lr, radius, search_score_name(p->score),
                s->net->cfg.img_resolution, s->net->cfg.img_resolution, threads_get(), threads_get() == 1 ? "" : "s",
                isa_name(cpu_isa()));
    } else if (!cli->quiet) {
        fprintf(stderr, "%s: %d seed%s, %d steps x %d candidates, %dx%d images, %d thread%s (%s)\n", cli->prog, cli->seeds.n,
                cli->seeds.n == 1 ? "" : "s", p->steps, p->candidates, s->net->cfg.img_resolution, s->net->cfg.img_resolution,
                threads_get(), threads_get() == 1 ? "" : "s", isa_name(cpu_isa()));
    }
    return 0;
}

static void fmt_duration(char *buf, size_t len, double sec) {
    if (sec < 0 || sec > 1e8) snprintf(buf, len, "?");
    else if (sec < 60) snprintf(buf, len, "%.0fs", sec);
    else if (sec < 3600) snprintf(buf, len, "%dm%02ds", (int)sec / 60, (int)sec % 60);
    else snprintf(buf, len, "%dh%02dm", (int)sec / 3600, ((int)sec % 3600) / 60);
}

typedef struct progress_arg {
    search_session_t *s;
    int index, total;
} progress_arg_t;

/* One line per step: seed i/n, step, current max saliency, images/s, ETA. */
static void on_progress(void *user, uint32_t seed, int step, int steps, float best, const search_ctx_t *ctx) {
    progress_arg_t *pa = user;
    search_session_t *s = pa->s;
    if (s->cli->quiet) return;
    if (ctx->zero_grad_steps > s->zero_grad_told) { /* grad_step stayed: say so once per step */
        s->zero_grad_told = ctx->zero_grad_steps;
        fprintf(stderr, "%s%s: seed %u step %d: the gradient is zero; the latent stays where it is\n", s->tty ? "\n" : "",
                s->cli->prog, seed, step);
    }
    double el = sal_now() - s->t_start, rate = el > 0 ? (double)ctx->images / el : 0;
    long per_seed = 1 + (long)ctx->p.steps * ctx->p.candidates;
    long left = (long)(pa->total - pa->index - 1) * per_seed + (long)(steps - step) * ctx->p.candidates;
    char eta[32];
    fmt_duration(eta, sizeof eta, rate > 0 ? (double)left / rate : -1);
    fprintf(stderr, "%sseed %d/%d (%u)  step %d/%d  max saliency %.4f  %.2f img/s  ETA %s%s", s->tty ? "\r" : "", pa->index + 1,
            pa->total, seed, step, steps, (double)best, rate, eta, s->tty ? "   " : "\n");
    fflush(stderr);
}

int search_session_seed(search_session_t *s, int index, int total, uint32_t seed, int flags, sal_err_t *err) {
    progress_arg_t pa = {s, index, total};
    int skipped = 0;
    if (index >= 0 && index < s->cli->seeds.n && s->existed && !s->existed[index]) flags |= SEARCH_SEED_CONTINUE;
    int rc = search_seed(&s->ctx, seed, flags, &skipped, on_progress, &pa, err);
    if (rc == 0 && skipped) s->seeds_skipped++;
    if (rc == 0 && !skipped && s->tty && !s->cli->quiet) fputc('\n', stderr);
    return rc;
}

int search_session_run(search_session_t *s, sal_err_t *err) {
    const search_cli_t *cli = s->cli;
    const int n = cli->seeds.n;
    int *later = malloc(sizeof(int) * (size_t)(n > 0 ? n : 1)), n_later = 0, rc = 0;
    if (!later) return sal_errf(err, "out of memory");
    for (int i = 0; rc == 0 && i < n; i++) {
        rc = search_session_seed(s, i, n, cli->seeds.seeds[i], 0, err);
        if (rc == SEARCH_SEED_BUSY) {
            if (!cli->quiet) fprintf(stderr, "%s: %s; doing the other seeds first\n", cli->prog, err->msg);
            later[n_later++] = i;
            rc = 0;
        }
    }
    for (int j = 0; rc == 0 && j < n_later; j++) {
        uint32_t seed = cli->seeds.seeds[later[j]];
        if (!cli->quiet) fprintf(stderr, "%s: waiting for seed%04u, which another process is searching\n", cli->prog, seed);
        rc = search_session_seed(s, later[j], n, seed, SEARCH_SEED_WAIT, err);
    }
    free(later);
    return rc;
}

void search_session_print_summary(const search_session_t *s, const char *label) {
    if (s->cli->quiet) return;
    const search_ctx_t *c = &s->ctx;
    if (c->images == 0 && s->seeds_skipped > 0) {
        fprintf(stderr, "%s: nothing to do: %d seed%s already finished\n", s->cli->prog, s->seeds_skipped,
                s->seeds_skipped == 1 ? " was" : "s were");
        return;
    }
    double total = sal_now() - s->t_open, work = c->t_generate + c->t_saliency + c->t_backward;
    char backward[64] = "";
    if (c->p.method == METHOD_GRAD) snprintf(backward, sizeof backward, " (+backward), generator backward %.1fs", c->t_backward);
    fprintf(stderr, "%s %.1fs: load %.1fs, generator %.1fs, saliency %.1fs%s, files+figures %.1fs; %ld images (%.2f img/s)\n",
            label, total, s->t_load, c->t_generate, c->t_saliency, backward, c->t_write, c->images,
            work > 0 ? c->images / work : 0.0);
}

/* SIGINT / SIGTERM: say how to continue, then die of the signal as usual
 * (only async-signal-safe calls; no state: the messages are constants). */
static void say_interrupted(int sig, const char *msg, size_t len) {
    ssize_t w = write(2, msg, len);
    (void)w;
    signal(sig, SIG_DFL);
    raise(sig);
}
static void on_interrupt_search(int sig) {
    static const char msg[] = "\nsalient search: interrupted; run the same command with --resume to continue\n";
    say_interrupted(sig, msg, sizeof msg - 1);
}
static void on_interrupt_mpi(int sig) {
    static const char msg[] = "\nsalient-mpi: interrupted; run the same command with --resume to continue\n";
    say_interrupted(sig, msg, sizeof msg - 1);
}

void search_cli_catch_interrupts(int mpi) {
    void (*handler)(int) = mpi ? on_interrupt_mpi : on_interrupt_search;
    const int sigs[2] = {SIGINT, SIGTERM};
    for (int i = 0; i < 2; i++) /* a signal ignored by whoever started us (`cmd &` in a script) stays ignored */
        if (signal(sigs[i], handler) == SIG_IGN) signal(sigs[i], SIG_IGN);
}

void search_session_close(search_session_t *s) {
    free(s->existed);
    if (s->ctx_ok) search_free(&s->ctx);
    if (s->sal_ok) saliency_model_free(&s->sal);
    sg2_free(s->net);
    blob_close(s->gblob);
    blob_close(s->sblob);
    memset(s, 0, sizeof *s);
}
