/* candidate_crops.c — argument parsing and output text of the candidate_crops
 * tool (see candidate_crops.h). The numbers come from nets/saliency.c; this
 * file only reproduces how the tool reads its arguments and prints them.
 */
#include "candidate_crops.h"
#include "netload.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The tool's defaults, as float32: 0.56f, 1.0f, 1.14f, 2.0f (spec 1.3). */
static const float cc_default_ratios[4] = {0.56f, 1.0f, 1.14f, 2.0f};

int cc_parse_args(int argc, char **argv, cc_args_t *a, sal_err_t *err) {
    memset(a, 0, sizeof *a);
    if (argc < 3) return sal_errf(err, "usage");
    a->model = argv[1];
    a->image = argv[2];
    a->show_all = argc > 3 && strcmp(argv[3], "show_all_points") == 0;
    const int first = 3 + a->show_all;
    const int given = argc - first;
    a->ratios = malloc(sizeof(float) * (size_t)(given > 0 ? given : 5));
    if (!a->ratios) return sal_errf(err, "out of memory");
    for (int i = first; i < argc; i++) a->ratios[a->n_ratios++] = strtof(argv[i], NULL);
    if (a->n_ratios == 0) {
        a->default_ratios = 1;
        for (int i = 0; i < 4; i++) a->ratios[a->n_ratios++] = cc_default_ratios[i];
    }
    return 0;
}

void cc_args_free(cc_args_t *a) {
    free(a->ratios);
    a->ratios = NULL;
}

int cc_open_model(const char *path, blob_t **blob, saliency_model_t *m, sal_err_t *err) {
    // a .vxm is converted in memory (a few ms); a blob is mmapped
    netload_options_t o = {.saliency = 1};  // errors say what a saliency model is
    if (netload_open_ex(path, &o, blob, err) < 0) return -1;
    if (saliency_model_init(m, *blob, err)) {
        blob_close(*blob);
        *blob = NULL;
        return -1;
    }
    return 0;
}

void cc_close_model(blob_t *blob, saliency_model_t *m) {
    if (blob) saliency_model_free(m);
    blob_close(blob);
}

int cc_exit_code(int status) {
    switch (status) {
    case 0: return 0;
    case SALIENCY_E_OPEN: return 5;
    case SALIENCY_E_FORMAT: return 4;
    case SALIENCY_E_SIZE: return 10;
    default: return 1;   // SALIENCY_E_DECODE and any other failure
    }
}

/* A growing text buffer. */
typedef struct text_buf {
    char *s;
    size_t len, cap;
    int failed;
} text_buf_t;

__attribute__((format(printf, 2, 3))) static void tb_printf(text_buf_t *t, const char *fmt, ...) {
    if (t->failed) return;
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof line) {
        t->failed = 1;
        return;
    }
    if (t->len + (size_t)n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 4096;
        while (cap < t->len + (size_t)n + 1) cap *= 2;
        char *s = realloc(t->s, cap);
        if (!s) {
            t->failed = 1;
            return;
        }
        t->s = s;
        t->cap = cap;
    }
    memcpy(t->s + t->len, line, (size_t)n + 1);
    t->len += (size_t)n;
}

int cc_format(const saliency_result_t *r, const cc_args_t *a, char **text, sal_err_t *err) {
    *text = NULL;
    text_buf_t t = {0};
    tb_printf(&t, "%d %d\n", r->x, r->y);
    const int n = a->n_ratios + (a->default_ratios ? 1 : 0);
    for (int i = 0; i < n; i++) {
        // the extra default ratio is the image's own: origH / origW in float
        float ratio = i < a->n_ratios ? a->ratios[i] : (float)r->orig_h / (float)r->orig_w;
        int box[4];
        if (saliency_crop(r, ratio, box, err)) {
            free(t.s);
            return -1;
        }
        tb_printf(&t, "%d %d %d %d\n", box[0], box[1], box[2], box[3]);
    }
    if (a->show_all)
        for (int row = 0; row < r->map_h; row++)
            for (int col = 0; col < r->map_w; col++) {
                float x, y;
                saliency_point(r, row, col, &x, &y);
                // iostream's operator<<(float): %g, 6 significant digits
                tb_printf(&t, "%g %g %g\n", (double)x, (double)y,
                          (double)r->map[row * r->map_w + col]);
            }
    if (t.failed || !t.s) {
        free(t.s);
        return sal_errf(err, "out of memory");
    }
    *text = t.s;
    return 0;
}
