/* tools/cmd_convert.c - `graft convert SRC DST [--vars NAME,...] [--rename OLD=NEW,...]`:
 * reads any checkpoint graft can read (V1, V2, TF2 object-based) or the weights of a
 * Keras HDF5 file (graft/keras.h; names "conv2d_1/kernel") and writes the chosen
 * tensors, bit-identical, under their new names as a V2 checkpoint at prefix DST, plus
 * a `checkpoint` state file naming it (relative path) in DST's directory. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graft/graft.h"
#include "cli.h"

typedef struct item {
    const char *src; /* name in SRC */
    char *dst;       /* name in DST */
} item;

/* Splits "a,b,c" into a malloc'd array of malloc'd strings. */
static int split(const char *s, char ***out)
{
    int n = 0;
    char **v = NULL;
    const char *p = s;
    while (*p) {
        const char *q = strchr(p, ',');
        size_t l = q ? (size_t)(q - p) : strlen(p);
        char **nv = realloc(v, (size_t)(n + 1) * sizeof *nv);
        if (!nv) break;
        v = nv;
        v[n] = malloc(l + 1);
        if (!v[n]) break;
        memcpy(v[n], p, l);
        v[n][l] = '\0';
        n++;
        p += l + (q ? 1 : 0);
        if (!q) break;
    }
    *out = v;
    return n;
}

static void free_list(char **v, int n)
{
    for (int i = 0; i < n; i++) free(v[i]);
    free(v);
}

/* What is converted: a checkpoint, or the weights of a Keras file. */
typedef struct source {
    graft_ckpt_reader *r;
    graft_keras_weights *kw;
    const char *name; /* for messages */
} source;

static bool src_open(source *s, const char *path, graft_status *st)
{
    memset(s, 0, sizeof *s);
    if (graft_cli_is_hdf5(path)) {
        s->kw = graft_keras_weights_read(path, NULL, st);
        s->name = path;
        return s->kw != NULL;
    }
    s->r = graft_ckpt_reader_open(path, NULL, st);
    if (s->r) s->name = graft_ckpt_reader_prefix(s->r);
    return s->r != NULL;
}

static int src_count(const source *s)
{
    return s->kw ? graft_keras_num_weights(s->kw) : graft_ckpt_reader_num_entries(s->r);
}

static const char *src_key(const source *s, int i)
{
    if (s->kw) return graft_keras_weight_name(s->kw, i);
    graft_ckpt_entry e;
    graft_ckpt_reader_entry(s->r, i, &e);
    return e.name;
}

static int src_find(const source *s, const char *key)
{
    return s->kw ? graft_keras_find_weight(s->kw, key) : graft_ckpt_reader_find(s->r, key);
}

static graft_code src_read(const source *s, const char *key, graft_tensor **t, graft_status *st)
{
    if (!s->kw) return graft_ckpt_reader_read(s->r, key, t, st);
    *t = graft_tensor_copy(graft_keras_weight_tensor(s->kw, graft_keras_find_weight(s->kw, key)), st);
    return *t ? GRAFT_OK : st->code;
}

static int cmp_item(const void *a, const void *b) { return strcmp(((const item *)a)->dst, ((const item *)b)->dst); }

int graft_cmd_convert(int argc, char **argv)
{
    const char *src = NULL, *dst = NULL, *vars = NULL, *renames = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--vars") && i + 1 < argc) vars = argv[++i];
        else if (!strncmp(argv[i], "--vars=", 7)) vars = argv[i] + 7;
        else if (!strcmp(argv[i], "--rename") && i + 1 < argc) renames = argv[++i];
        else if (!strncmp(argv[i], "--rename=", 9)) renames = argv[i] + 9;
        else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "graft convert: unknown option '%s'\n", argv[i]);
            graft_cli_print_usage(stderr, "convert");
            return 2;
        } else if (!src) src = argv[i];
        else if (!dst) dst = argv[i];
        else {
            fprintf(stderr, "graft convert: unexpected argument '%s'\n", argv[i]);
            return 2;
        }
    }
    if (!src || !dst) {
        graft_cli_print_usage(stderr, "convert");
        return 2;
    }
    graft_status st;
    source sr;
    if (!src_open(&sr, src, &st)) {
        fprintf(stderr, "graft convert: %s\n", st.msg);
        return 1;
    }
    int rc = 1, n = 0, nv = 0, nr = 0;
    char **vl = NULL, **rl = NULL;
    item *items = NULL;
    graft_ckpt_writer *w = NULL;
    if (sr.r && !strcmp(graft_ckpt_reader_prefix(sr.r), dst)) {
        fprintf(stderr, "graft convert: %s: destination is the source checkpoint\n", dst);
        goto done;
    }
    /* the chosen tensors */
    if (vars) {
        nv = split(vars, &vl);
        items = calloc((size_t)(nv ? nv : 1), sizeof *items);
        for (int i = 0; items && i < nv; i++) {
            int k = src_find(&sr, vl[i]);
            if (k < 0) {
                fprintf(stderr, "graft convert: %s: %s: no such tensor\n", sr.name, vl[i]);
                goto done;
            }
            for (int j = 0; j < n; j++)
                if (!strcmp(items[j].src, vl[i])) {
                    fprintf(stderr, "graft convert: --vars names %s twice\n", vl[i]);
                    goto done;
                }
            items[n++].src = src_key(&sr, k);
        }
    } else {
        int ne = src_count(&sr);
        items = calloc((size_t)(ne ? ne : 1), sizeof *items);
        for (int i = 0; items && i < ne; i++) items[n++].src = src_key(&sr, i);
    }
    if (!items) {
        fprintf(stderr, "graft convert: out of memory\n");
        goto done;
    }
    for (int i = 0; i < n; i++) items[i].dst = strdup(items[i].src);
    /* renames: OLD must be chosen, NEW names unique */
    if (renames) {
        nr = split(renames, &rl);
        for (int i = 0; i < nr; i++) {
            char *eq = strchr(rl[i], '=');
            if (!eq || eq == rl[i] || !eq[1]) {
                fprintf(stderr, "graft convert: --rename expects OLD=NEW, got '%s'\n", rl[i]);
                goto done;
            }
            *eq = '\0';
            int hit = -1;
            for (int j = 0; j < n; j++)
                if (!strcmp(items[j].src, rl[i])) hit = j;
            if (hit < 0) {
                fprintf(stderr, "graft convert: --rename: %s is not among the tensors being written\n", rl[i]);
                goto done;
            }
            free(items[hit].dst);
            items[hit].dst = strdup(eq + 1);
        }
    }
    for (int i = 0; i < n; i++)
        if (!items[i].dst) {
            fprintf(stderr, "graft convert: out of memory\n");
            goto done;
        }
    qsort(items, (size_t)n, sizeof *items, cmp_item); /* data in key order, as TF's Saver writes */
    for (int i = 1; i < n; i++)
        if (!strcmp(items[i - 1].dst, items[i].dst)) {
            fprintf(stderr, "graft convert: two tensors would both be named '%s'\n", items[i].dst);
            goto done;
        }
    w = graft_ckpt_writer_new(dst, &st);
    if (!w) {
        fprintf(stderr, "graft convert: %s\n", st.msg);
        goto done;
    }
    for (int i = 0; i < n; i++) {
        graft_tensor *t = NULL;
        if (src_read(&sr, items[i].src, &t, &st) != GRAFT_OK ||
            graft_ckpt_writer_add(w, items[i].dst, t, &st) != GRAFT_OK) {
            fprintf(stderr, "graft convert: %s\n", st.msg);
            graft_tensor_free(t);
            goto done;
        }
        graft_tensor_free(t);
    }
    if (graft_ckpt_writer_finish(w, &st) != GRAFT_OK) {
        fprintf(stderr, "graft convert: %s\n", st.msg);
        goto done;
    }
    /* the state file beside it, naming it by a relative path */
    if (graft_checkpoint_state_write_for(dst, &st) != GRAFT_OK) {
        fprintf(stderr, "graft convert: %s\n", st.msg);
        goto done;
    }
    printf("wrote %d tensor%s from %s (%s) to %s (V2)\n", n, n == 1 ? "" : "s", sr.name,
           sr.kw ? graft_keras_weights_layout(sr.kw) : graft_ckpt_reader_format(sr.r) == GRAFT_CKPT_V1 ? "V1" : "V2",
           dst);
    rc = 0;
done:
    graft_ckpt_writer_free(w);
    for (int i = 0; items && i < n; i++) free(items[i].dst);
    free(items);
    free_list(vl, nv);
    free_list(rl, nr);
    graft_ckpt_reader_free(sr.r);
    graft_keras_weights_free(sr.kw);
    return rc;
}
