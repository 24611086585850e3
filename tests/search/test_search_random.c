/* test_search_random.c — `salient search` end to end without any fixture:
 * a --random tiny generator (weightconv --random tiny) and a hand-built
 * 4-layer saliency model (tests/vxm_build.h), so a clone without ../shared
 * still checks the search on its machine. Checks invariants, not numbers:
 *   - every seed folder has its files, summary.csv one row per seed;
 *   - accept rule 'best': each step's chosen candidate has the step's
 *     maximum score (log.csv);
 *   - the same folders byte for byte with 1 and 2 threads, split into two
 *     shards, and after --resume of a finished run; a second run into the
 *     folder without --resume is refused.
 * The programs come from bin/ (build-asan/bin in the sanitizer build).
 */
#include "check.h"
#include "vxm_build.h"

#include <sys/wait.h>

static const char *bin_dir(void) { return test_sanitized() ? "build-asan/bin" : "bin"; }

/* log.csv rows: step,candidate,score,...,chosen (6th column). Returns the
 * number of steps whose chosen row is not the step's maximum, or -1. */
static int best_rule_violations(const char *log_path, int *steps_seen) {
    FILE *f = fopen(log_path, "r");
    if (!f) return -1;
    char line[1024];
    double best[64], chosen[64];
    int have_chosen[64] = {0}, rows[64] = {0}, max_step = -1;
    if (!fgets(line, sizeof line, f)) { fclose(f); return -1; }   /* header */
    while (fgets(line, sizeof line, f)) {
        int step = -1, col = 0, is_chosen = 0;
        double score = 0;
        for (char *p = line, *tok; (tok = strsep(&p, ",")) != NULL; col++) {
            if (col == 0) step = atoi(tok);
            if (col == 2) score = atof(tok);
            if (col == 5) is_chosen = atoi(tok) == 1;
        }
        if (step < 0 || step >= 64 || col < 6) { fclose(f); return -1; }
        if (!rows[step]++ || score > best[step]) best[step] = score;
        if (is_chosen) { chosen[step] = score; have_chosen[step] = 1; }
        if (step > max_step) max_step = step;
    }
    fclose(f);
    int bad = 0;
    for (int s = 1; s <= max_step; s++) bad += !have_chosen[s] || chosen[s] != best[s];
    *steps_seen = max_step;
    return bad;
}

int main(void) {
    test_ctx_t t = test_begin("search_random");
    const char *B = bin_dir();
    char model[1200], net[1200], dir[1200], path[1400];
    test_tmp(&t, "tiny.vxm", model, sizeof model);
    test_tmp(&t, "random_tiny.blob", net, sizeof net);
    snprintf(dir, sizeof dir, "%s", t.tmp);
    test_run("rm -rf '%s'/a '%s'/b '%s'/s", dir, dir, dir);

    vbuf_t v;
    tiny_model(&v, 0);
    FILE *f = fopen(model, "wb");
    CHECK(&t, f && fwrite(v.p, 1, v.n, f) == v.n && fclose(f) == 0, "cannot write %s", model);
    free(v.p);
    CHECK(&t, test_run("%s/weightconv --random tiny '%s' --seed 5 >/dev/null", B, net) == 0,
          "weightconv --random tiny failed");

    const char *opts = "--seeds 0-2 --steps 2 --candidates 3 --sigma 0.5 -q";
    CHECK(&t,
          test_run("%s/salient search --network '%s' --saliency '%s' %s --threads 2 --outdir '%s/a'",
              B, net, model, opts, dir) == 0,
          "search (2 threads) failed");
    const char *files[] = {"step00.png", "step02.png", "latents.npy", "log.csv", "strip.png",
                           "plot.png", "result.json"};
    for (int s = 0; s < 3; s++) {
        for (size_t k = 0; k < sizeof files / sizeof files[0]; k++) {
            struct stat st;
            snprintf(path, sizeof path, "%s/a/seed%04d/%s", dir, s, files[k]);
            CHECK(&t, stat(path, &st) == 0 && st.st_size > 0, "missing %s", path);
        }
        int steps = 0;
        snprintf(path, sizeof path, "%s/a/seed%04d/log.csv", dir, s);
        int bad = best_rule_violations(path, &steps);
        CHECK(&t, bad == 0 && steps == 2, "%s: rule 'best' broken in %d steps (%d steps read)",
              path, bad, steps);
    }
    CHECK(&t, test_run("test $(wc -l < '%s/a/summary.csv') -eq 4", dir) == 0,
          "summary.csv should have a header and 3 rows");

    CHECK(&t,
          test_run("%s/salient search --network '%s' --saliency '%s' %s --threads 1 --outdir '%s/b'",
              B, net, model, opts, dir) == 0,
          "search (1 thread) failed");
    CHECK(&t, test_run("diff -r '%s/a' '%s/b' >/dev/null", dir, dir) == 0,
          "1 and 2 threads give different folders");
    for (int i = 0; i < 2; i++)
        test_run("%s/salient search --network '%s' --saliency '%s' %s --shard %d/2 --outdir '%s/s'", B,
            net, model, opts, i, dir);
    CHECK(&t, test_run("diff -r '%s/a' '%s/s' >/dev/null", dir, dir) == 0,
          "two shards give other folders than one run");
    CHECK(&t,
          test_run("%s/salient search --network '%s' --saliency '%s' %s --outdir '%s/a' 2>/dev/null", B,
              net, model, opts, dir) != 0,
          "a second run into the folder without --resume must be refused");
    CHECK(&t,
          test_run("%s/salient search --network '%s' --saliency '%s' %s --resume --outdir '%s/a' "
              "2>/dev/null", B, net, model, opts, dir) == 0 &&
              test_run("diff -r '%s/a' '%s/b' >/dev/null", dir, dir) == 0,
          "--resume of a finished run failed or changed it");
    return test_end(&t);
}
