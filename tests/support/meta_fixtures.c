/* tests/support/meta_fixtures.c - finds the fixtures' meta graphs and their
 * golden.json records (written by shared/tools/refread, an independent reader). */
#include "meta_fixtures.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

uint8_t *meta_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc((size_t)n + 1);
    if (fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        fclose(f);
        return NULL;
    }
    fclose(f);
    *len = (size_t)n;
    return b;
}

static int cmp_fix(const void *a, const void *b)
{
    return strcmp(((const meta_fixture *)a)->path, ((const meta_fixture *)b)->path);
}

int meta_fixtures_load(meta_fixture **out)
{
    int n = 0, cap = 0;
    meta_fixture *v = NULL;
    DIR *top = opendir(GRAFT_FIXTURES_DIR);
    if (!top) {
        *out = NULL;
        return 0;
    }
    struct dirent *e1;
    while ((e1 = readdir(top))) {
        if (e1->d_name[0] == '.') continue;
        char d1[1024];
        snprintf(d1, sizeof d1, "%s/%s", GRAFT_FIXTURES_DIR, e1->d_name);
        DIR *sub = opendir(d1);
        if (!sub) continue;
        struct dirent *e2;
        while ((e2 = readdir(sub))) {
            if (e2->d_name[0] == '.') continue;
            char gpath[2048];
            snprintf(gpath, sizeof gpath, "%s/%s/golden.json", d1, e2->d_name);
            struct stat sb;
            if (stat(gpath, &sb) != 0) continue;
            mj *g = mj_parse_file(gpath);
            const mj *metas = mj_get(g, "meta");
            if (!g || mj_len(metas) == 0) {
                mj_free(g);
                continue;
            }
            for (int i = 0; i < mj_len(metas); i++) {
                const mj *m = mj_at(metas, i);
                const char *kind = mj_str(mj_get(m, "kind"));
                const mj *rec = m;
                const char *tag = NULL;
                if (kind && !strcmp(kind, "SavedModel")) {
                    rec = mj_at(mj_get(m, "meta_graphs"), 0);
                    tag = mj_str(mj_at(mj_get(rec, "tags"), 0));
                }
                if (n == cap) v = realloc(v, (size_t)(cap = cap ? cap * 2 : 16) * sizeof *v);
                meta_fixture *f = &v[n++];
                memset(f, 0, sizeof *f);
                snprintf(f->dir, sizeof f->dir, "%s/%s", d1, e2->d_name);
                snprintf(f->path, sizeof f->path, "%s/%s", f->dir, mj_str(mj_get(m, "file")));
                snprintf(f->name, sizeof f->name, "%s/%s", e1->d_name, e2->d_name);
                f->golden = i == 0 ? g : NULL; /* the first record owns the document */
                f->meta = rec;
                f->tag = tag;
            }
        }
        closedir(sub);
    }
    closedir(top);
    qsort(v, (size_t)n, sizeof *v, cmp_fix);
    *out = v;
    return n;
}

void meta_fixtures_free(meta_fixture *f, int n)
{
    for (int i = 0; i < n; i++) mj_free(f[i].golden);
    free(f);
}
