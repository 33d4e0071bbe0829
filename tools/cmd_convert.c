/* tools/cmd_convert.c - `graft convert SRC DST [--vars NAME,...] [--rename OLD=NEW,...]`:
 * reads any checkpoint graft can read (V1, V2, TF2 object-based) and writes the chosen
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
    graft_ckpt_reader *r = graft_ckpt_reader_open(src, NULL, &st);
    if (!r) {
        fprintf(stderr, "graft convert: %s\n", st.msg);
        return 1;
    }
    int rc = 1, n = 0, nv = 0, nr = 0;
    char **vl = NULL, **rl = NULL;
    item *items = NULL;
    graft_ckpt_writer *w = NULL;
    if (!strcmp(graft_ckpt_reader_prefix(r), dst)) {
        fprintf(stderr, "graft convert: %s: destination is the source checkpoint\n", dst);
        goto done;
    }
    /* the chosen tensors */
    if (vars) {
        nv = split(vars, &vl);
        items = calloc((size_t)(nv ? nv : 1), sizeof *items);
        for (int i = 0; items && i < nv; i++) {
            int k = graft_ckpt_reader_find(r, vl[i]);
            if (k < 0) {
                fprintf(stderr, "graft convert: %s: %s: no such tensor\n", graft_ckpt_reader_prefix(r), vl[i]);
                goto done;
            }
            for (int j = 0; j < n; j++)
                if (!strcmp(items[j].src, vl[i])) {
                    fprintf(stderr, "graft convert: --vars names %s twice\n", vl[i]);
                    goto done;
                }
            graft_ckpt_entry e;
            graft_ckpt_reader_entry(r, k, &e);
            items[n++].src = e.name;
        }
    } else {
        int ne = graft_ckpt_reader_num_entries(r);
        items = calloc((size_t)(ne ? ne : 1), sizeof *items);
        for (int i = 0; items && i < ne; i++) {
            graft_ckpt_entry e;
            graft_ckpt_reader_entry(r, i, &e);
            items[n++].src = e.name;
        }
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
        if (graft_ckpt_reader_read(r, items[i].src, &t, &st) != GRAFT_OK ||
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
    {
        const char *slash = strrchr(dst, '/');
        char *dir = slash ? strndup(dst, slash == dst ? 1 : (size_t)(slash - dst)) : strdup(".");
        char *base = (char *)(slash ? slash + 1 : dst);
        graft_checkpoint_state cs;
        memset(&cs, 0, sizeof cs);
        cs.model_checkpoint_path = base;
        cs.all_model_checkpoint_paths = &base;
        cs.n_paths = 1;
        graft_code c = dir ? graft_checkpoint_state_write(dir, NULL, &cs, &st) : GRAFT_ERR_NOMEM;
        free(dir);
        if (c != GRAFT_OK) {
            fprintf(stderr, "graft convert: %s\n", st.msg);
            goto done;
        }
    }
    printf("wrote %d tensor%s from %s (%s) to %s (V2)\n", n, n == 1 ? "" : "s", graft_ckpt_reader_prefix(r),
           graft_ckpt_reader_format(r) == GRAFT_CKPT_V1 ? "V1" : "V2", dst);
    rc = 0;
done:
    graft_ckpt_writer_free(w);
    for (int i = 0; items && i < n; i++) free(items[i].dst);
    free(items);
    free_list(vl, nv);
    free_list(rl, nr);
    graft_ckpt_reader_free(r);
    return rc;
}
