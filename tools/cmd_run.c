/* tools/cmd_run.c - `graft run --meta FILE.meta [--ckpt PATH] --feed NAME:0=IN.npy ...
 * --fetch NAME:0=OUT.npy ... [--target OP]`: imports the meta graph, restores
 * the checkpoint through the graph's own Saver, feeds NumPy arrays, runs, and
 * writes every fetched tensor as .npy. Unfed placeholders and ops graft cannot
 * run are reported by name before anything runs. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "internal.h"
#include "graft/npy.h"
#include "cli.h"

#define MAX_IO 256

static void usage(FILE *f)
{
    fprintf(f, "usage: graft run --meta FILE.meta [--ckpt PATH] [--tag TAG] --feed NAME:0=IN.npy ...\n"
               "                 --fetch NAME:0=OUT.npy ... [--target OP ...]\n"
               "  PATH: a checkpoint prefix, a .index/.data/.meta file or a directory (its latest\n"
               "  checkpoint); default: the checkpoint next to FILE.meta, else its directory's latest.\n"
               "  NumPy arrays: format 1.0/2.0, little-endian, C order; float32 float64 int32 int64 uint8 bool.\n");
}

typedef struct io_arg {
    char name[1024];
    const char *file;
} io_arg;

static bool split_arg(const char *s, io_arg *out)
{
    const char *eq = strchr(s, '=');
    if (!eq || eq == s || !eq[1] || (size_t)(eq - s) >= sizeof out->name) return false;
    memcpy(out->name, s, (size_t)(eq - s));
    out->name[eq - s] = '\0';
    out->file = eq + 1;
    return true;
}

static bool exists(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0;
}

/* The checkpoint next to the .meta: "x.meta" -> "x" when x.index (V2) or x (V1) exists,
 * else the .meta's directory (its `checkpoint` state file decides). */
static void default_ckpt(const char *meta, char *out, size_t cap)
{
    size_t n = strlen(meta);
    out[0] = '\0';
    if (n > 5 && !strcmp(meta + n - 5, ".meta") && n - 5 < cap) {
        char idx[4096];
        snprintf(out, cap, "%.*s", (int)(n - 5), meta);
        int w = snprintf(idx, sizeof idx, "%s.index", out);
        if (w > 0 && (size_t)w < sizeof idx && (exists(idx) || exists(out))) return;
    }
    const char *slash = strrchr(meta, '/');
    if (slash) snprintf(out, cap, "%.*s", (int)(slash - meta), meta);
    else snprintf(out, cap, ".");
}

/* Restores by the imported Saver; without one, every variable from the key of
 * its op name (what a default TF1 Saver writes). */
static int restore(graft_session *s, graft_graph *g, graft_saver *saver, const char *path)
{
    graft_status st;
    if (saver) {
        if (graft_saver_restore(saver, s, path, &st)) {
            fprintf(stderr, "graft run: restore: %s\n", st.msg);
            return 1;
        }
        return 0;
    }
    graft_ckpt_reader *r = graft_ckpt_reader_open(path, NULL, &st);
    if (!r) {
        fprintf(stderr, "graft run: restore: %s\n", st.msg);
        return 1;
    }
    int rc = 0;
    for (int i = 0; i < graft_graph_num_variables(g) && !rc; i++) {
        graft_variable v;
        graft_graph_variable_at(g, i, &v);
        graft_tensor *t = NULL;
        if (graft_ckpt_reader_read(r, graft_op_name(v.var), &t, &st) || graft_session_set_variable(s, v.var, t, &st)) {
            fprintf(stderr, "graft run: restore '%s': %s\n", graft_op_name(v.var), st.msg);
            rc = 1;
        }
        graft_tensor_free(t);
    }
    graft_ckpt_reader_free(r);
    return rc;
}

/* What the fetches and targets need, cut at fed tensors (TF's pruning):
 * unfed placeholders and ops graft cannot run are errors named here. */
static int check_needs(graft_graph *g, const graft_out *fo, int nf, const graft_out *to, int nt, graft_op *const *tg,
                       int ntg)
{
    int n = graft_graph_num_ops(g);
    uint8_t *seen = calloc((size_t)n + 1, 1);
    graft_op **stack = calloc((size_t)n + 1, sizeof *stack);
    int sp = 0, errors = 0;
    if (!seen || !stack) {
        free(seen);
        free(stack);
        return 1;
    }
#define PUSH(o)                                                                                                   \
    do {                                                                                                          \
        if ((o) && !seen[(o)->id]) {                                                                              \
            seen[(o)->id] = 1;                                                                                    \
            stack[sp++] = (o);                                                                                    \
        }                                                                                                         \
    } while (0)
    for (int i = 0; i < nt; i++) {
        bool fed = false;
        for (int k = 0; k < nf && !fed; k++) fed = fo[k].op == to[i].op && fo[k].index == to[i].index;
        if (!fed) PUSH(to[i].op);
    }
    for (int i = 0; i < ntg; i++) PUSH(tg[i]);
    while (sp > 0) {
        graft_op *o = stack[--sp];
        if (!strcmp(o->type, "Placeholder")) {
            char sb[128];
            fprintf(stderr,
                    "graft run: missing feed: placeholder '%s' (%s %s) is needed; pass --feed %s:0=FILE.npy\n",
                    o->name, graft_dtype_name(o->out[0].dtype) ? graft_dtype_name(o->out[0].dtype) : "?",
                    graft_shape_str(&o->out[0].shape, sb, sizeof sb), o->name);
            errors++;
            continue;
        }
        if (!graft_op_runnable(o)) {
            fprintf(stderr, "graft run: node '%s' has op type '%s', which graft cannot run (it was imported inert)\n",
                    o->name, o->type);
            errors++;
        }
        for (int j = 0; j < o->n_in; j++) {
            bool fed = false;
            for (int k = 0; k < nf && !fed; k++) fed = fo[k].op == o->in[j].op && fo[k].index == o->in[j].index;
            if (!fed) PUSH(o->in[j].op);
        }
        for (int j = 0; j < o->n_ctrl; j++) PUSH(o->ctrl[j]);
    }
#undef PUSH
    free(seen);
    free(stack);
    return errors;
}

int graft_cmd_run(int argc, char **argv)
{
    const char *meta = NULL, *ckpt = NULL, *tag = NULL;
    static io_arg feeds[MAX_IO], fetches[MAX_IO];
    const char *targets[MAX_IO];
    int nf = 0, nt = 0, ntg = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has = i + 1 < argc;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--meta") && has) meta = argv[++i];
        else if (!strcmp(a, "--ckpt") && has) ckpt = argv[++i];
        else if (!strcmp(a, "--tag") && has) tag = argv[++i];
        else if (!strcmp(a, "--feed") && has && nf < MAX_IO) {
            if (!split_arg(argv[++i], &feeds[nf++])) {
                fprintf(stderr, "graft run: --feed wants NAME:0=FILE.npy, got '%s'\n", argv[i]);
                return 2;
            }
        } else if (!strcmp(a, "--fetch") && has && nt < MAX_IO) {
            if (!split_arg(argv[++i], &fetches[nt++])) {
                fprintf(stderr, "graft run: --fetch wants NAME:0=FILE.npy, got '%s'\n", argv[i]);
                return 2;
            }
        } else if (!strcmp(a, "--target") && has && ntg < MAX_IO) targets[ntg++] = argv[++i];
        else {
            fprintf(stderr, "graft run: unexpected argument '%s'\n", a);
            usage(stderr);
            return 2;
        }
    }
    if (!meta || (nt == 0 && ntg == 0)) {
        usage(stderr);
        return 2;
    }
    int rc = 1;
    graft_status st;
    graft_graph *g = graft_graph_new();
    graft_meta_import *imp = NULL;
    graft_saver *saver = NULL;
    graft_session *s = NULL;
    graft_out fo[MAX_IO], to[MAX_IO];
    graft_op *tg[MAX_IO];
    graft_tensor *fv[MAX_IO] = {0}, *tv[MAX_IO] = {0};
    graft_meta_opts o;
    graft_meta_opts_init(&o);
    o.saved_model_tag = tag;
    if (graft_import_meta_graph(g, meta, &o, &imp, &st)) {
        fprintf(stderr, "graft run: %s\n", st.msg);
        goto done;
    }
    saver = graft_meta_import_take_saver(imp);
    for (int i = 0; i < nf; i++) {
        if (graft_graph_tensor(g, feeds[i].name, &fo[i], &st)) {
            fprintf(stderr, "graft run: --feed %s: %s\n", feeds[i].name, st.msg);
            goto done;
        }
        if (graft_npy_read(feeds[i].file, 0, &fv[i], &st)) {
            fprintf(stderr, "graft run: --feed %s: %s\n", feeds[i].name, st.msg);
            goto done;
        }
        graft_dtype want = graft_out_dtype(fo[i]), got = graft_tensor_dtype(fv[i]);
        if (want != GRAFT_INVALID && want != got) {
            fprintf(stderr, "graft run: --feed %s: %s holds %s, the tensor is %s\n", feeds[i].name, feeds[i].file,
                    graft_dtype_name(got), graft_dtype_name(want) ? graft_dtype_name(want) : "?");
            goto done;
        }
    }
    for (int i = 0; i < nt; i++)
        if (graft_graph_tensor(g, fetches[i].name, &to[i], &st)) {
            fprintf(stderr, "graft run: --fetch %s: %s\n", fetches[i].name, st.msg);
            goto done;
        }
    for (int i = 0; i < ntg; i++)
        if (!(tg[i] = graft_graph_op(g, targets[i]))) {
            fprintf(stderr, "graft run: --target %s: no such op in the graph\n", targets[i]);
            goto done;
        }
    if (check_needs(g, fo, nf, to, nt, tg, ntg)) goto done;
    s = graft_session_new(g, NULL, &st);
    if (!s) {
        fprintf(stderr, "graft run: %s\n", st.msg);
        goto done;
    }
    if (graft_graph_num_variables(g) > 0) {
        char def[4096];
        if (!ckpt) default_ckpt(meta, def, sizeof def);
        if (restore(s, g, saver, ckpt ? ckpt : def)) goto done;
    }
    if (graft_session_run(s, fo, fv, nf, to, tv, nt, tg, ntg, &st)) {
        fprintf(stderr, "graft run: %s\n", st.msg);
        goto done;
    }
    for (int i = 0; i < nt; i++) {
        if (graft_npy_write(fetches[i].file, tv[i], &st)) {
            fprintf(stderr, "graft run: --fetch %s: %s\n", fetches[i].name, st.msg);
            goto done;
        }
        graft_shape sh = graft_tensor_shape(tv[i]);
        char sb[128];
        printf("%s -> %s (%s %s)\n", fetches[i].name, fetches[i].file, graft_dtype_name(graft_tensor_dtype(tv[i])),
               graft_shape_str(&sh, sb, sizeof sb));
    }
    rc = 0;
done:
    for (int i = 0; i < MAX_IO; i++) {
        graft_tensor_free(fv[i]);
        graft_tensor_free(tv[i]);
    }
    graft_session_free(s);
    graft_saver_free(saver);
    graft_meta_import_free(imp);
    graft_graph_free(g);
    return rc;
}
