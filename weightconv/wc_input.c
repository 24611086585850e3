/* wc_input.c — read-only mapping of an input network file; see wc_input.h. */
#define _POSIX_C_SOURCE 200809L
#include "wc_input.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static const uint8_t EMPTY[1];

int wc_input_open(wc_input_t *in, const char *path, sal_err_t *err) {
    memset(in, 0, sizeof *in);
    if (!(in->path = strdup(path))) return sal_errf(err, "%s: out of memory", path);
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        int e = errno;
        wc_input_close(in);
        return sal_errf(err, "%s: cannot open: %s", path, strerror(e));
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        wc_input_close(in);
        return sal_errf(err, "%s: not a regular file", path);
    }
    if ((uint64_t)st.st_size > (uint64_t)SIZE_MAX) {
        close(fd);
        wc_input_close(in);
        return sal_errf(err, "%s: file too large", path);
    }
    in->size = (size_t)st.st_size;
    in->data = EMPTY;
    if (in->size) {
        void *m = mmap(NULL, in->size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m == MAP_FAILED) {
            int e = errno;
            close(fd);
            wc_input_close(in);
            return sal_errf(err, "%s: cannot map: %s", path, strerror(e));
        }
        in->map = m;
        in->map_len = in->size;
        in->data = m;
    }
    close(fd);
    return 0;
}

int wc_input_from_memory(wc_input_t *in, const void *data, size_t size, const char *name,
                         sal_err_t *err) {
    memset(in, 0, sizeof *in);
    if (!(in->path = strdup(name ? name : "memory"))) return sal_errf(err, "out of memory");
    in->data = data ? data : EMPTY;
    in->size = data ? size : 0;
    return 0;
}

int wc_input_own(wc_input_t *in, void *buf, sal_err_t *err) {
    if (in->n_owned == in->cap_owned) {
        int nc = in->cap_owned ? 2 * in->cap_owned : 16;
        void **o = realloc(in->owned, sizeof(void *) * (size_t)nc);
        if (!o) {
            free(buf);
            return sal_errf(err, "%s: out of memory", in->path);
        }
        in->owned = o;
        in->cap_owned = nc;
    }
    in->owned[in->n_owned++] = buf;
    return 0;
}

void wc_input_close(wc_input_t *in) {
    if (!in) return;
    for (int i = 0; i < in->n_owned; i++) free(in->owned[i]);
    free(in->owned);
    if (in->map) munmap(in->map, in->map_len);
    free(in->path);
    memset(in, 0, sizeof *in);
}

const char *wc_basename(const char *path) {
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}
