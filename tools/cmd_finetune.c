/* tools/cmd_finetune.c - `graft finetune`: import a .meta, restore, cut at a tensor behind a
 * StopGradient, train a new head on features computed once per image, prove the trunk
 * unchanged, save the head only (+ CSV, SVG). The workflow of examples/vgg_transfer.c. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "graft/graft.h"
#include "cli.h"
#include "finetune_report.h"

#define MAX_SETS      64
#define FEATURE_BATCH 256  /* images per trunk run */
#define EVAL_BATCH    1024 /* cached feature rows per head run */
#define SCOPE         "finetune"

static const char usage_text[] =
    "usage: graft finetune --meta FILE.meta --ckpt PATH --input NAME:0 --cut NAME:0 --train TRAIN.h5\n"
    "                      [--test TEST.h5] --classes K [--hidden N] [--optimizer sgd|momentum|adam]\n"
    "                      [--lr X] [--epochs E] [--batch B] [--seed S] [--set NAME:0=VALUE ...]\n"
    "                      --save PREFIX [--step N] [--save-optimizer] [--json]\n"
    "  Imports FILE.meta, restores PATH (a prefix, a .index file, or a directory with a\n"
    "  `checkpoint` file), cuts the graph at --cut behind a StopGradient and trains a new\n"
    "  head (dense --hidden N + relu when given, then dense K logits + softmax) with a sparse\n"
    "  softmax cross-entropy loss; the imported trunk stays frozen and is checked bit for bit.\n"
    "  Data: HDF5 with /images [N,H,W,C] (uint8 or float32) and /labels [N] (0..K-1); images\n"
    "  smaller than the graph's input are zero-padded, centred.\n"
    "  --set NAME:0=VALUE  feeds a scalar placeholder the trunk needs (float, int or bool),\n"
    "                      e.g. a dropout keep_prob: --set keep_prob:0=1.0 (repeatable)\n"
    "  --optimizer adam (default, --lr 0.001) | momentum (0.9, --lr 0.01) | sgd (--lr 0.01)\n"
    "  --epochs 10  --batch 64  --seed 1  (defaults)\n"
    "  --save PREFIX       writes PREFIX.index/.data-00000-of-00001 (the head's variables only),\n"
    "                      PREFIX.meta, a `checkpoint` state file, PREFIX.csv and PREFIX.svg;\n"
    "                      --step N saves as PREFIX-N; --save-optimizer adds the head's\n"
    "                      optimizer slots (and Adam's beta powers).\n"
    "  --json              the last stdout line is {\"test_accuracy\": ..., \"train_accuracy\": ...,\n"
    "                      \"saved\": PREFIX, \"variables\": [...], \"seconds\": ...}\n";

static int fail(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;
static int fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("graft finetune: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 1;
}

/* ---- arguments ---------------------------------------------------------------------- */

typedef struct ft_set {
    char name[512];    /* NAME:0 */
    const char *value; /* VALUE */
    graft_out t;
    graft_tensor *v;
} ft_set;

typedef struct ft_args {
    const char *meta, *ckpt, *input, *cut, *train, *test, *save, *optimizer;
    int64_t classes, hidden, epochs, batch, step;
    double lr;
    uint64_t seed;
    bool json, save_optimizer, has_step, has_lr;
    ft_set sets[MAX_SETS];
    int nsets;
} ft_args;

static bool parse_i64(const char *s, int64_t lo, int64_t hi, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end || errno || v < lo || v > hi) return false;
    *out = v;
    return true;
}

static int parse_args(int argc, char **argv, ft_args *a)
{
    memset(a, 0, sizeof *a);
    a->epochs = 10;
    a->batch = 64;
    a->seed = 1;
    a->optimizer = "adam";
    for (int i = 1; i < argc; i++) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int64_t n;
        if (!strcmp(k, "-h") || !strcmp(k, "--help")) {
            fputs(usage_text, stdout);
            return -1;
        }
        if (!strcmp(k, "--json")) {
            a->json = true;
            continue;
        }
        if (!strcmp(k, "--save-optimizer")) {
            a->save_optimizer = true;
            continue;
        }
        if (!v) {
            fail("%s needs a value (see graft finetune --help)", k);
            return 2;
        }
        i++;
        if (!strcmp(k, "--meta"))
            a->meta = v;
        else if (!strcmp(k, "--ckpt"))
            a->ckpt = v;
        else if (!strcmp(k, "--input"))
            a->input = v;
        else if (!strcmp(k, "--cut"))
            a->cut = v;
        else if (!strcmp(k, "--train"))
            a->train = v;
        else if (!strcmp(k, "--test"))
            a->test = v;
        else if (!strcmp(k, "--save"))
            a->save = v;
        else if (!strcmp(k, "--optimizer")) {
            if (strcmp(v, "sgd") && strcmp(v, "momentum") && strcmp(v, "adam")) {
                fail("--optimizer %s: expected sgd, momentum or adam", v);
                return 2;
            }
            a->optimizer = v;
        } else if (!strcmp(k, "--classes")) {
            if (!parse_i64(v, INT64_MIN, INT64_MAX, &a->classes) || a->classes < 2 ||
                a->classes > INT32_MAX) {
                fail("--classes %s: expected an integer K >= 2 (a head needs at least two classes)", v);
                return 2;
            }
        } else if (!strcmp(k, "--hidden")) {
            if (!parse_i64(v, 1, (int64_t)1 << 24, &a->hidden)) {
                fail("--hidden %s: expected a unit count >= 1", v);
                return 2;
            }
        } else if (!strcmp(k, "--epochs")) {
            if (!parse_i64(v, 1, 1000000, &a->epochs)) {
                fail("--epochs %s: expected an integer >= 1", v);
                return 2;
            }
        } else if (!strcmp(k, "--batch")) {
            if (!parse_i64(v, 1, (int64_t)1 << 20, &a->batch)) {
                fail("--batch %s: expected an integer >= 1", v);
                return 2;
            }
        } else if (!strcmp(k, "--seed")) {
            if (!parse_i64(v, 0, INT64_MAX, &n)) {
                fail("--seed %s: expected an integer >= 0", v);
                return 2;
            }
            a->seed = (uint64_t)n;
        } else if (!strcmp(k, "--step")) {
            if (!parse_i64(v, 0, INT64_MAX, &a->step)) {
                fail("--step %s: expected an integer >= 0", v);
                return 2;
            }
            a->has_step = true;
        } else if (!strcmp(k, "--lr")) {
            char *end;
            errno = 0;
            a->lr = strtod(v, &end);
            if (end == v || *end || errno || !isfinite(a->lr) || a->lr <= 0) {
                fail("--lr %s: expected a finite learning rate > 0", v);
                return 2;
            }
            a->has_lr = true;
        } else if (!strcmp(k, "--set")) {
            const char *eq = strchr(v, '=');
            if (a->nsets == MAX_SETS) {
                fail("--set: at most %d", MAX_SETS);
                return 2;
            }
            ft_set *s = &a->sets[a->nsets];
            if (!eq || eq == v || !eq[1] || (size_t)(eq - v) >= sizeof s->name) {
                fail("--set wants NAME:0=VALUE (e.g. --set keep_prob:0=1.0), got '%s'", v);
                return 2;
            }
            memcpy(s->name, v, (size_t)(eq - v));
            s->name[eq - v] = '\0';
            s->value = eq + 1;
            a->nsets++;
        } else {
            fail("unexpected argument '%s' (see graft finetune --help)", k);
            return 2;
        }
    }
    static const char *const need[] = {"--meta",  "--ckpt",    "--input", "--cut",
                                       "--train", "--classes", "--save"};
    const bool have[] = {a->meta, a->ckpt, a->input, a->cut, a->train, a->classes != 0, a->save};
    for (size_t i = 0; i < sizeof need / sizeof need[0]; i++)
        if (!have[i]) {
            fail("%s is required", need[i]);
            fputs(usage_text, stderr);
            return 2;
        }
    if (!a->has_lr) a->lr = !strcmp(a->optimizer, "adam") ? 0.001 : 0.01;
    return 0;
}

/* ---- tensor names: close matches for a name that is not in the graph ----------------- */

/* Edit distance from what was typed (a) to an op name (b), case-insensitive: a
 * character missing from a costs 1 (names are more often shortened than padded),
 * an extra or a wrong character 2. */
static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 256 || lb > 256) return SIZE_MAX;
    size_t row[257];
    for (size_t j = 0; j <= lb; j++) row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = 2 * i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j]; /* a[i-1] extra: delete it */
            size_t sub = diag + 2 * (tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]));
            size_t del = up + 2, ins = row[j - 1] + 1;
            size_t best = del < ins ? del : ins;
            row[j] = sub < best ? sub : best;
            diag = up;
        }
    }
    return row[lb];
}

/* Prints "did you mean A:0 [shape], B:0 [shape]?" for the ops whose names are closest to
 * the op part of `name`. */
static void suggest(const graft_graph *g, const char *flag, const char *name)
{
    char q[512];
    snprintf(q, sizeof q, "%s", name);
    char *colon = strrchr(q, ':');
    if (colon) *colon = '\0';
    enum { K = 4 };
    const graft_op *best[K] = {0};
    size_t bd[K];
    size_t limit = strlen(q) / 2 > 3 ? strlen(q) / 2 : 3;
    for (int i = 0; i < graft_graph_num_ops(g); i++) {
        const graft_op *op = graft_graph_op_at(g, i);
        if (graft_op_num_outputs(op) < 1) continue;
        const char *on = graft_op_name(op);
        size_t d = edit_distance(q, on);
        if (d > limit && !(strlen(q) >= 3 && strstr(on, q))) continue;
        if (d > limit) d = limit + 1; /* substring matches rank after close spellings */
        for (int k = 0; k < K; k++)
            if (!best[k] || d < bd[k]) {
                for (int m = K - 1; m > k; m--) {
                    best[m] = best[m - 1];
                    bd[m] = bd[m - 1];
                }
                best[k] = op;
                bd[k] = d;
                break;
            }
    }
    if (!best[0]) {
        fprintf(stderr,
                "graft finetune: %s %s: no op has a similar name (`graft graph FILE.meta` lists them)\n",
                flag, name);
        return;
    }
    fprintf(stderr, "graft finetune: %s %s: did you mean ", flag, name);
    for (int k = 0; k < K && best[k]; k++) {
        char sb[128];
        graft_shape sh = graft_out_shape((graft_out){(graft_op *)best[k], 0});
        fprintf(stderr, "%s%s:0 %s", k ? (k + 1 < K && best[k + 1] ? ", " : " or ") : "",
                graft_op_name(best[k]), graft_shape_str(&sh, sb, sizeof sb));
    }
    fputs("?\n", stderr);
}

static int lookup(const graft_graph *g, const char *flag, const char *name, graft_out *out)
{
    graft_status st;
    if (graft_graph_tensor(g, name, out, &st) == GRAFT_OK) return 0;
    fail("%s %s: %s", flag, name, st.msg);
    char op[512];
    snprintf(op, sizeof op, "%s", name);
    char *colon = strrchr(op, ':');
    if (colon) *colon = '\0';
    if (!graft_graph_op(g, op)) suggest(g, flag, name); /* (a wrong output index: the message says so) */
    return 1;
}

/* ---- what the cut tensor needs ------------------------------------------------------- */

/* A visited set over the graph's ops (by pointer, sorted). */
typedef struct op_set {
    graft_op **ops;
    unsigned char *seen;
    int n;
} op_set;

static int cmp_ptr(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t) * (graft_op *const *)a, y = (uintptr_t) * (graft_op *const *)b;
    return x < y ? -1 : x > y;
}

static bool op_set_init(op_set *s, const graft_graph *g)
{
    s->n = graft_graph_num_ops(g);
    s->ops = calloc((size_t)s->n + 1, sizeof *s->ops);
    s->seen = calloc((size_t)s->n + 1, 1);
    if (!s->ops || !s->seen) return false;
    for (int i = 0; i < s->n; i++) s->ops[i] = graft_graph_op_at(g, i);
    qsort(s->ops, (size_t)s->n, sizeof *s->ops, cmp_ptr);
    return true;
}

static void op_set_free(op_set *s)
{
    free(s->ops);
    free(s->seen);
}

/* true the first time op is marked. */
static bool op_set_mark(op_set *s, graft_op *op)
{
    graft_op **p = bsearch(&op, s->ops, (size_t)s->n, sizeof *s->ops, cmp_ptr);
    if (!p || s->seen[p - s->ops]) return false;
    s->seen[p - s->ops] = 1;
    return true;
}

static bool same_out(graft_out a, graft_out b) { return a.op == b.op && a.index == b.index; }

static bool has_word(const char *s, const char *w)
{
    char low[512];
    size_t i = 0;
    for (; s[i] && i + 1 < sizeof low; i++) low[i] = (char)tolower((unsigned char)s[i]);
    low[i] = '\0';
    return strstr(low, w) != NULL;
}

/* A placeholder the cut needs that nobody feeds: say what it is and which --set to add. */
static void advise_missing(const graft_graph *g, graft_op *ph, const char *cut)
{
    const char *pn = graft_op_name(ph);
    graft_out o = {ph, 0};
    graft_dtype dt = graft_out_dtype(o);
    graft_shape sh = graft_out_shape(o);
    char sb[128], cons[600] = "";
    bool dropout = has_word(pn, "dropout") || has_word(pn, "keep");
    int nc = 0;
    for (int i = 0; i < graft_graph_num_ops(g); i++) {
        graft_op *op = graft_graph_op_at(g, i);
        for (int j = 0; j < graft_op_num_inputs(op); j++)
            if (graft_op_input(op, j).op == ph) {
                if (has_word(graft_op_name(op), "dropout")) dropout = true;
                if (nc < 3) {
                    size_t l = strlen(cons);
                    snprintf(cons + l, sizeof cons - l, "%s%s", nc ? ", " : "", graft_op_name(op));
                } else if (nc == 3) {
                    size_t l = strlen(cons);
                    snprintf(cons + l, sizeof cons - l, ", ...");
                }
                nc++;
                break;
            }
    }
    const char *dn = graft_dtype_name(dt) ? graft_dtype_name(dt) : "?";
    fprintf(stderr, "graft finetune: placeholder '%s' (%s %s%s%s) must be fed to compute %s.\n", pn, dn,
            graft_shape_str(&sh, sb, sizeof sb), nc ? ", read by " : "", cons, cut);
    bool scalarish = sh.rank <= 0;
    if (!scalarish) {
        fprintf(stderr,
                "  It is not a scalar, so --set cannot feed it: cut the graph before it, or export a\n"
                "  graph that does not need it.\n");
    } else if ((dt == GRAFT_FLOAT || dt == GRAFT_DOUBLE) && has_word(pn, "rate")) {
        fprintf(stderr,
                "  It looks like a dropout rate: add --set %s:0=0.0 (drop nothing while computing\n"
                "  features), or the value the graph expects at inference.\n",
                pn);
    } else if ((dt == GRAFT_FLOAT || dt == GRAFT_DOUBLE) && dropout) {
        fprintf(stderr,
                "  It looks like a dropout keep_prob: add --set %s:0=1.0 (keep everything: no\n"
                "  dropout while computing features).\n",
                pn);
    } else if (dt == GRAFT_BOOL) {
        fprintf(stderr,
                "  It looks like a training-mode flag: add --set %s:0=false (inference mode:\n"
                "  no dropout, batch norm with its moving averages).\n",
                pn);
    } else {
        fprintf(stderr, "  Add --set %s:0=VALUE with the value the graph expects at inference.\n", pn);
    }
}

/* Walks back from the cut, stopping at fed tensors: placeholders nobody feeds and ops
 * graft cannot run are errors; the cut must depend on the input. */
static int check_needs(const graft_graph *g, const ft_args *a, graft_out input, graft_out cut)
{
    op_set set;
    if (!op_set_init(&set, g)) {
        op_set_free(&set);
        return fail("out of memory");
    }
    int n = set.n, sp = 0, errors = 0;
    bool reached_input = false;
    graft_op **stack = calloc((size_t)n + 1, sizeof *stack);
    if (!stack) {
        op_set_free(&set);
        return fail("out of memory");
    }
    if (same_out(cut, input)) {
        free(stack);
        op_set_free(&set);
        return fail("--cut %s is the --input itself: cut at a tensor computed from the images", a->cut);
    }
    op_set_mark(&set, cut.op);
    stack[sp++] = cut.op;
    while (sp > 0) {
        graft_op *o = stack[--sp];
        const char *type = graft_op_type(o);
        if (!strcmp(type, "Placeholder") || !strcmp(type, "PlaceholderV2")) {
            advise_missing(g, o, a->cut);
            errors++;
            continue;
        }
        if (!graft_op_runnable(o)) {
            fail("node '%s' (op type %s) is needed to compute %s, and graft cannot run it (imported inert)",
                 graft_op_name(o), type, a->cut);
            errors++;
        }
        for (int j = 0; j < graft_op_num_inputs(o); j++) {
            graft_out in = graft_op_input(o, j);
            bool fed = same_out(in, input);
            if (fed) reached_input = true;
            for (int k = 0; k < a->nsets && !fed; k++) fed = same_out(in, a->sets[k].t);
            if (!fed && op_set_mark(&set, in.op)) stack[sp++] = in.op;
        }
        for (int j = 0; j < graft_op_num_control_inputs(o); j++)
            if (op_set_mark(&set, graft_op_control_input(o, j))) stack[sp++] = graft_op_control_input(o, j);
    }
    if (!reached_input && !errors) {
        fail("--cut %s does not depend on --input %s: its value would be the same for every image", a->cut,
             a->input);
        errors++;
    }
    free(stack);
    op_set_free(&set);
    return errors ? 1 : 0;
}

/* --set NAME:0=VALUE: look the tensor up and make a scalar of its dtype. */
static int make_sets(graft_graph *g, ft_args *a)
{
    graft_status st;
    for (int i = 0; i < a->nsets; i++) {
        ft_set *s = &a->sets[i];
        if (lookup(g, "--set", s->name, &s->t)) return 1;
        for (int k = 0; k < i; k++)
            if (same_out(a->sets[k].t, s->t)) return fail("--set %s is given twice", s->name);
        graft_dtype dt = graft_out_dtype(s->t);
        graft_shape sh = graft_out_shape(s->t);
        char sb[128], *end;
        if (sh.rank > 0)
            return fail("--set %s: the tensor is %s; --set feeds scalars only", s->name,
                        graft_shape_str(&sh, sb, sizeof sb));
        errno = 0;
        if (dt == GRAFT_FLOAT || dt == GRAFT_DOUBLE) {
            double v = strtod(s->value, &end);
            if (end == s->value || *end || errno) return fail("--set %s=%s: not a number", s->name, s->value);
            if (dt == GRAFT_FLOAT)
                s->v = graft_tensor_scalar_f32((float)v, &st);
            else
                s->v = graft_tensor_from_data(GRAFT_DOUBLE, NULL, 0, &v, sizeof v, &st);
        } else if (dt == GRAFT_INT32 || dt == GRAFT_INT64) {
            long long v = strtoll(s->value, &end, 10);
            if (end == s->value || *end || errno || (dt == GRAFT_INT32 && (v < INT32_MIN || v > INT32_MAX)))
                return fail("--set %s=%s: not a %s integer", s->name, s->value, graft_dtype_name(dt));
            if (dt == GRAFT_INT64)
                s->v = graft_tensor_scalar_i64(v, &st);
            else {
                int32_t w = (int32_t)v;
                s->v = graft_tensor_from_data(GRAFT_INT32, NULL, 0, &w, sizeof w, &st);
            }
        } else if (dt == GRAFT_BOOL) {
            uint8_t b;
            if (!strcasecmp(s->value, "true") || !strcmp(s->value, "1"))
                b = 1;
            else if (!strcasecmp(s->value, "false") || !strcmp(s->value, "0"))
                b = 0;
            else
                return fail("--set %s=%s: expected true or false", s->name, s->value);
            s->v = graft_tensor_from_data(GRAFT_BOOL, NULL, 0, &b, 1, &st);
        } else {
            return fail("--set %s: the tensor is %s; --set feeds float, int32, int64 or bool scalars",
                        s->name, graft_dtype_name(dt) ? graft_dtype_name(dt) : "of unknown dtype");
        }
        if (!s->v) return fail("--set %s: %s", s->name, st.msg);
    }
    return 0;
}

/* ---- the run ------------------------------------------------------------------------- */

typedef struct ft {
    ft_args *a;
    graft_graph *g;
    graft_session *s;
    graft_out input, cut, feat, labels, logits, loss, acc;
    graft_op *train_op;
    graft_op *head_vars[4];
    int n_head;
    graft_optimizer *opt;
    int64_t pad_h, pad_w; /* batcher out_h/out_w (0: as stored) */
    int64_t dim;          /* features per image */
    graft_ft_progress prog;
    graft_status st;
} ft;

/* Feeds for a trunk run: the images, then every --set value. */
static void trunk_feeds(const ft *f, graft_tensor *images, graft_out *fo, graft_tensor **fv)
{
    fo[0] = f->input;
    fv[0] = images;
    for (int i = 0; i < f->a->nsets; i++) {
        fo[1 + i] = f->a->sets[i].t;
        fv[1 + i] = f->a->sets[i].v;
    }
}

/* The cut tensor of every image of ds, flattened to [n, dim] rows (run once: the trunk
 * is frozen). Sets f->dim from the first batch; later calls must agree. */
static float *extract(ft *f, const graft_dataset *ds, const char *what)
{
    int64_t n = graft_dataset_size(ds);
    graft_batcher_opts bo;
    graft_batcher_opts_init(&bo);
    bo.batch_size = FEATURE_BATCH;
    bo.out_h = f->pad_h;
    bo.out_w = f->pad_w;
    graft_batcher *b = graft_batcher_new(ds, &bo, &f->st);
    if (!b) {
        fail("%s: %s", what, f->st.msg);
        return NULL;
    }
    float *out = NULL;
    int64_t at = 0;
    double t0 = graft_ft_now();
    graft_out fo[1 + MAX_SETS];
    graft_tensor *fv[1 + MAX_SETS];
    for (;;) {
        graft_batch bt;
        if (graft_batcher_next(b, &bt, &f->st)) {
            fail("%s: %s", what, f->st.msg);
            goto bad;
        }
        if (bt.count == 0) break;
        graft_tensor *cv = NULL;
        trunk_feeds(f, bt.images, fo, fv);
        if (graft_session_run(f->s, fo, fv, 1 + f->a->nsets, &f->cut, &cv, 1, NULL, 0, &f->st)) {
            fail("computing %s on %s: %s", f->a->cut, what, f->st.msg);
            goto bad;
        }
        int64_t ne = graft_tensor_num_elements(cv);
        if (graft_tensor_dtype(cv) != GRAFT_FLOAT || graft_tensor_rank(cv) < 2 ||
            graft_tensor_dim(cv, 0) != bt.count || ne % bt.count != 0 || ne == 0) {
            char sb[128];
            graft_shape sh = graft_tensor_shape(cv);
            fail("--cut %s is %s %s for a batch of %lld images; expected float32 [%lld, ...] "
                 "(one row of features per image)",
                 f->a->cut,
                 graft_dtype_name(graft_tensor_dtype(cv)) ? graft_dtype_name(graft_tensor_dtype(cv)) : "?",
                 graft_shape_str(&sh, sb, sizeof sb), (long long)bt.count, (long long)bt.count);
            graft_tensor_free(cv);
            goto bad;
        }
        int64_t d = ne / bt.count;
        if (f->dim == 0) f->dim = d;
        if (d != f->dim) {
            fail("--cut %s has %lld values per image here and %lld before", f->a->cut, (long long)d,
                 (long long)f->dim);
            graft_tensor_free(cv);
            goto bad;
        }
        if (!out) {
            if ((uint64_t)n > SIZE_MAX / sizeof(float) / (uint64_t)d ||
                !(out = malloc((size_t)n * (size_t)d * sizeof(float)))) {
                fail("%s: no memory for %lld x %lld features", what, (long long)n, (long long)d);
                graft_tensor_free(cv);
                goto bad;
            }
        }
        memcpy(out + at * d, graft_tensor_cdata(cv), (size_t)bt.count * (size_t)d * sizeof(float));
        at += bt.count;
        graft_tensor_free(cv);
        graft_ft_progress_features(&f->prog, what, at, n, t0);
    }
    graft_batcher_free(b);
    return out;
bad:
    graft_ft_progress_break(&f->prog);
    graft_batcher_free(b);
    free(out);
    return NULL;
}

static int64_t argmax_row(const float *l, int64_t k)
{
    int64_t am = 0;
    for (int64_t j = 1; j < k; j++)
        if (l[j] > l[am]) am = j;
    return am;
}

/* Accuracy of the head on cached features (fed at the StopGradient tensor). */
static int eval_cached(ft *f, const float *feat, const int32_t *labels, int64_t n, double *acc)
{
    int64_t correct = 0;
    for (int64_t at = 0; at < n; at += EVAL_BATCH) {
        int64_t cnt = n - at < EVAL_BATCH ? n - at : EVAL_BATCH;
        int64_t dims[2] = {cnt, f->dim};
        graft_tensor *x = graft_tensor_from_data(GRAFT_FLOAT, dims, 2, feat + at * f->dim,
                                                 (size_t)cnt * (size_t)f->dim * sizeof(float), &f->st);
        graft_tensor *lv = NULL;
        if (!x || graft_session_run(f->s, &f->feat, &x, 1, &f->logits, &lv, 1, NULL, 0, &f->st)) {
            graft_tensor_free(x);
            return fail("evaluating the head: %s", f->st.msg);
        }
        const float *l = graft_tensor_cdata(lv);
        for (int64_t i = 0; i < cnt; i++)
            correct += argmax_row(l + i * f->a->classes, f->a->classes) == labels[at + i];
        graft_tensor_free(lv);
        graft_tensor_free(x);
    }
    *acc = n ? (double)correct / (double)n : 0;
    return 0;
}

/* Accuracy end to end: images -> imported trunk -> StopGradient -> head. */
static int eval_images(ft *f, const graft_dataset *ds, double *acc)
{
    graft_batcher_opts bo;
    graft_batcher_opts_init(&bo);
    bo.batch_size = FEATURE_BATCH;
    bo.out_h = f->pad_h;
    bo.out_w = f->pad_w;
    graft_batcher *b = graft_batcher_new(ds, &bo, &f->st);
    if (!b) return fail("test set: %s", f->st.msg);
    int64_t correct = 0, total = 0;
    graft_out fo[1 + MAX_SETS];
    graft_tensor *fv[1 + MAX_SETS];
    bool bad = false;
    for (;;) {
        graft_batch bt;
        if ((bad = graft_batcher_next(b, &bt, &f->st) != GRAFT_OK) || bt.count == 0) break;
        graft_tensor *lv = NULL;
        trunk_feeds(f, bt.images, fo, fv);
        if ((bad = graft_session_run(f->s, fo, fv, 1 + f->a->nsets, &f->logits, &lv, 1, NULL, 0, &f->st) !=
                   GRAFT_OK))
            break;
        const float *l = graft_tensor_cdata(lv);
        const int32_t *y = graft_tensor_cdata(bt.labels);
        for (int64_t i = 0; i < bt.count; i++)
            correct += argmax_row(l + i * f->a->classes, f->a->classes) == y[i];
        total += bt.count;
        graft_tensor_free(lv);
    }
    graft_batcher_free(b);
    if (bad) return fail("evaluating end to end: %s", f->st.msg);
    *acc = total ? (double)correct / (double)total : 0;
    return 0;
}

/* FNV-1a of each variable's bytes (0 for an uninitialised one). */
static void checksum_vars(graft_session *s, graft_op *const *vars, int n, uint64_t *h)
{
    for (int i = 0; i < n; i++) {
        graft_tensor *t = graft_session_variable_storage(s, vars[i]);
        h[i] = 0;
        if (!t) continue;
        uint64_t x = 1469598103934665603ull;
        const unsigned char *p = graft_tensor_cdata(t);
        for (size_t k = 0; k < graft_tensor_nbytes(t); k++) x = (x ^ p[k]) * 1099511628211ull;
        h[i] = x;
    }
}

static graft_dataset *load_data(const char *path, const char *flag, int64_t classes)
{
    graft_status st;
    graft_dataset *ds = graft_dataset_load_h5(path, NULL, &st);
    if (!ds) {
        fail("%s %s: %s", flag, path, st.msg);
        return NULL;
    }
    if (graft_dataset_size(ds) == 0) {
        fail("%s %s: the dataset is empty", flag, path);
        graft_dataset_free(ds);
        return NULL;
    }
    int32_t k = graft_dataset_num_classes(ds);
    if (k > classes) {
        int64_t *counts = calloc((size_t)k, sizeof *counts);
        int64_t over = 0;
        if (counts) {
            graft_dataset_class_counts(ds, counts, k);
            for (int32_t i = (int32_t)classes; i < k; i++) over += counts[i];
        }
        free(counts);
        fail(
            "%s %s: label %d >= --classes %lld (%lld examples have labels outside 0..%lld); relabel the data "
            "(graft data ... --classes A,B,.. --relabel) or raise --classes",
            flag, path, k - 1, (long long)classes, (long long)over, (long long)classes - 1);
        graft_dataset_free(ds);
        return NULL;
    }
    return ds;
}

/* The graph's input vs the data's images: equal, or smaller images zero-padded. */
static int match_input(ft *f, const graft_dataset *ds)
{
    int64_t d[3];
    graft_dataset_image_dims(ds, d);
    graft_shape is = graft_out_shape(f->input);
    graft_dtype dt = graft_out_dtype(f->input);
    char sb[128];
    graft_shape_str(&is, sb, sizeof sb);
    if (dt != GRAFT_FLOAT)
        return fail("--input %s is %s %s; graft finetune feeds float32 images [N,H,W,C]", f->a->input,
                    graft_dtype_name(dt) ? graft_dtype_name(dt) : "?", sb);
    if (is.rank < 0) return 0;
    if (is.rank != 4)
        return fail(
            "--input %s is %s (rank %d); graft finetune feeds images [N,H,W,C] (rank 4), the data's are "
            "%lldx%lldx%lld",
            f->a->input, sb, is.rank, (long long)d[0], (long long)d[1], (long long)d[2]);
    if (is.dims[3] >= 0 && is.dims[3] != d[2])
        return fail("--input %s takes %s: %lld channels, the images of %s have %lld", f->a->input, sb,
                    (long long)is.dims[3], f->a->train, (long long)d[2]);
    int64_t want[2] = {is.dims[1] >= 0 ? is.dims[1] : d[0], is.dims[2] >= 0 ? is.dims[2] : d[1]};
    if (want[0] < d[0] || want[1] < d[1])
        return fail(
            "--input %s takes %s but the images of %s are %lldx%lld (HxW); graft finetune pads smaller "
            "images, it does not crop or resize larger ones",
            f->a->input, sb, f->a->train, (long long)d[0], (long long)d[1]);
    if (want[0] != d[0] || want[1] != d[1]) {
        f->pad_h = want[0];
        f->pad_w = want[1];
        fprintf(stderr,
                "graft finetune: the images are %lldx%lldx%lld and --input %s takes %s: zero-padding each "
                "image to %lldx%lld, centred\n",
                (long long)d[0], (long long)d[1], (long long)d[2], f->a->input, sb, (long long)want[0],
                (long long)want[1]);
    }
    return 0;
}

static void mkdirs_for(const char *prefix)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", prefix);
    char *slash = strrchr(buf, '/');
    if (!slash || slash == buf) return;
    *slash = '\0';
    for (char *p = buf + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            mkdir(buf, 0755);
            *p = '/';
        }
    mkdir(buf, 0755);
}

/* The directory part of path ("." when none), resolved; false if it does not exist. */
static bool real_dir(const char *path, bool path_is_dir, char *out)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path);
    if (!path_is_dir) {
        char *slash = strrchr(buf, '/');
        if (!slash)
            snprintf(buf, sizeof buf, ".");
        else if (slash == buf)
            buf[1] = '\0';
        else
            *slash = '\0';
    }
    return realpath(buf, out) != NULL;
}

/* Saving into the directory of --ckpt rewrites its `checkpoint` state file: say so. */
static void warn_shared_dir(const ft_args *a)
{
    struct stat sb;
    char d1[PATH_MAX], d2[PATH_MAX];
    bool ckpt_is_dir = stat(a->ckpt, &sb) == 0 && S_ISDIR(sb.st_mode);
    if (real_dir(a->save, false, d1) && real_dir(a->ckpt, ckpt_is_dir, d2) && !strcmp(d1, d2))
        fprintf(stderr,
                "graft finetune: note: %s is also the directory of --ckpt %s: its `checkpoint` state file "
                "will name the head; restore the trunk by its prefix from now on\n",
                d1, a->ckpt);
}

static void json_str(FILE *o, const char *s)
{
    fputc('"', o);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(o, "\\%c", c);
        else if (c < 0x20)
            fprintf(o, "\\u%04x", c);
        else
            fputc(c, o);
    }
    fputc('"', o);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Restores the imported graph: its own Saver when the .meta has a usable SaverDef,
 * else a Saver over every variable keyed by op name (what a default TF1 Saver writes). */
static int restore(ft *f, graft_saver *imported, const char *note)
{
    graft_saver *sv = imported;
    if (graft_graph_num_variables(f->g) == 0) {
        fprintf(stderr, "graft finetune: the graph has no variables; nothing to restore from %s\n",
                f->a->ckpt);
        return 0;
    }
    if (!sv) {
        if (note && *note)
            fprintf(stderr, "graft finetune: %s: %s; restoring every variable by name\n", f->a->meta, note);
        else
            fprintf(stderr, "graft finetune: %s has no SaverDef; restoring every variable by name\n",
                    f->a->meta);
        graft_saver_opts so;
        graft_saver_opts_init(&so);
        so.write_meta_graph = false;
        sv = graft_saver_new(f->g, &so, &f->st);
        if (!sv) return fail("%s", f->st.msg);
    }
    int rc = 0;
    if (graft_saver_restore(sv, f->s, f->a->ckpt, &f->st))
        rc = fail("restoring %s: %s", f->a->ckpt, f->st.msg);
    graft_saver_free(sv);
    return rc;
}

/* The head: [Reshape to rows] -> StopGradient -> [dense hidden + relu] -> dense K
 * logits (+ softmax); loss, accuracy, and the training step over the head only. */
static int build_head(ft *f)
{
    graft_graph *g = f->g;
    ft_args *a = f->a;
    graft_graph_set_seed(g, (int64_t)(a->seed & INT64_MAX));
    char scope[256];
    snprintf(scope, sizeof scope, "%s", graft_graph_push_scope(g, SCOPE)); /* valid until the pop */
    graft_out rows = f->cut;
    graft_shape cs = graft_out_shape(f->cut);
    if (!(cs.rank == 2 && cs.dims[1] == f->dim)) {
        int64_t d[2] = {-1, f->dim};
        graft_name_next(g, "rows");
        rows = graft_reshape_dims(g, f->cut, d, 2);
    }
    graft_name_next(g, "features");
    f->feat = graft_stop_gradient(g, rows);
    int64_t yd[1] = {-1};
    f->labels = graft_placeholder(g, "labels", GRAFT_INT32, graft_shape_make(1, yd));
    graft_layer_vars v1, v2;
    memset(&v1, 0, sizeof v1);
    graft_out h = f->feat;
    graft_dense_cfg d;
    if (a->hidden > 0) {
        graft_dense_cfg_init(&d);
        d.units = a->hidden;
        d.activation = GRAFT_ACT_RELU;
        d.name = "hidden";
        d.vars = &v1;
        h = graft_dense(g, h, &d);
    }
    graft_dense_cfg_init(&d);
    d.units = a->classes;
    d.name = "logits";
    d.vars = &v2;
    f->logits = graft_dense(g, h, &d);
    graft_out probs = graft_softmax_layer(g, f->logits, "probabilities");
    f->loss = graft_sparse_softmax_cross_entropy_loss(g, f->logits, f->labels);
    f->acc = graft_accuracy(g, f->logits, f->labels);
    if (graft_graph_check(g, &f->st)) {
        graft_graph_pop_scope(g);
        return fail("building the head: %s", f->st.msg);
    }
    f->n_head = 0;
    if (a->hidden > 0) {
        f->head_vars[f->n_head++] = v1.kernel;
        f->head_vars[f->n_head++] = v1.bias;
    }
    f->head_vars[f->n_head++] = v2.kernel;
    f->head_vars[f->n_head++] = v2.bias;

    if (!strcmp(a->optimizer, "sgd")) {
        graft_sgd_opts o;
        graft_sgd_opts_init(&o);
        o.learning_rate = (float)a->lr;
        f->opt = graft_sgd_new(&o, &f->st);
    } else if (!strcmp(a->optimizer, "momentum")) {
        graft_momentum_opts o;
        graft_momentum_opts_init(&o);
        o.learning_rate = (float)a->lr;
        f->opt = graft_momentum_new(&o, &f->st);
    } else {
        graft_adam_opts o;
        graft_adam_opts_init(&o);
        o.learning_rate = (float)a->lr;
        f->opt = graft_adam_new(&o, &f->st);
    }
    /* inside the scope: Adam's beta powers become "finetune/beta1_power", clear of the
     * imported graph's own */
    if (!f->opt ||
        graft_optimizer_minimize(f->opt, g, f->loss, f->head_vars, f->n_head, NULL, &f->train_op, &f->st)) {
        graft_graph_pop_scope(g);
        return fail("building the training step: %s", f->st.msg);
    }
    graft_graph_pop_scope(g);
    char n1[600], n2[600], n3[600];
    fprintf(stderr, "graft finetune: head in scope %s: %s (features, %lld per image) -> %s (logits) -> %s\n",
            scope, graft_out_name(f->feat, n1, sizeof n1), (long long)f->dim,
            graft_out_name(f->logits, n2, sizeof n2), graft_out_name(probs, n3, sizeof n3));
    /* initialise only what the head added: its variables and the optimizer's */
    int nopt = graft_optimizer_num_variables(f->opt);
    graft_op **init = calloc((size_t)(nopt + f->n_head), sizeof *init);
    if (!init) return fail("out of memory");
    for (int i = 0; i < f->n_head; i++) init[i] = f->head_vars[i];
    for (int i = 0; i < nopt; i++) init[f->n_head + i] = graft_optimizer_variable_at(f->opt, i);
    graft_op *init_op = graft_variables_initializer(g, init, nopt + f->n_head, SCOPE "_init");
    free(init);
    if (graft_graph_check(g, &f->st) ||
        graft_session_run(f->s, NULL, NULL, 0, NULL, NULL, 0, &init_op, 1, &f->st))
        return fail("initialising the head: %s", f->st.msg);
    return 0;
}

/* splitmix64: the shuffle's generator (a function of --seed only). */
static uint64_t mix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Trains the head on the cached features; one graft_ft_epoch per epoch into rows. */
static int train(ft *f, const float *xtr, const int32_t *ytr, int64_t ntr, const float *xte,
                 const int32_t *yte, int64_t nte, graft_ft_epoch *rows, double t_cmd)
{
    ft_args *a = f->a;
    int64_t B = a->batch < ntr ? a->batch : ntr, D = f->dim;
    int64_t per_epoch = (ntr + B - 1) / B, rem = ntr % B;
    int64_t fd[2] = {B, D}, ld[1] = {B}, pfd[2] = {rem, D}, pld[1] = {rem};
    graft_tensor *fb = graft_tensor_new(GRAFT_FLOAT, fd, 2, &f->st),
                 *lb = graft_tensor_new(GRAFT_INT32, ld, 1, &f->st);
    graft_tensor *pfb = rem ? graft_tensor_new(GRAFT_FLOAT, pfd, 2, &f->st) : NULL;
    graft_tensor *plb = rem ? graft_tensor_new(GRAFT_INT32, pld, 1, &f->st) : NULL;
    int64_t *order = malloc((size_t)ntr * sizeof *order);
    int rc = 1;
    if (!fb || !lb || (rem && (!pfb || !plb)) || !order) {
        fail("out of memory for batches of %lld x %lld features", (long long)B, (long long)D);
        goto done;
    }
    for (int64_t i = 0; i < ntr; i++) order[i] = i;
    uint64_t rng = a->seed;
    graft_ft_progress_init(&f->prog, stderr, per_epoch * a->epochs);
    graft_out feeds[2] = {f->feat, f->labels}, fetches[2] = {f->loss, f->acc};
    for (int64_t e = 0; e < a->epochs; e++) {
        for (int64_t i = ntr - 1; i > 0; i--) { /* Fisher-Yates */
            int64_t j = (int64_t)(mix(&rng) % (uint64_t)(i + 1)), t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        double lsum = 0, asum = 0;
        int64_t seen = 0;
        for (int64_t b = 0; b < per_epoch; b++) {
            int64_t cnt = b * B + B <= ntr ? B : ntr - b * B;
            graft_tensor *xb = cnt == B ? fb : pfb, *yb = cnt == B ? lb : plb;
            float *fp = graft_tensor_data(xb);
            int32_t *lp = graft_tensor_data(yb);
            for (int64_t k = 0; k < cnt; k++) {
                int64_t idx = order[b * B + k];
                memcpy(fp + k * D, xtr + idx * D, (size_t)D * sizeof(float));
                lp[k] = ytr[idx];
            }
            graft_tensor *fv[2] = {xb, yb}, *out[2] = {NULL, NULL};
            if (graft_session_run(f->s, feeds, fv, 2, fetches, out, 2, &f->train_op, 1, &f->st)) {
                graft_ft_progress_break(&f->prog);
                fail("training step %lld of epoch %lld: %s", (long long)b + 1, (long long)e + 1, f->st.msg);
                goto done;
            }
            lsum += (double)*(const float *)graft_tensor_cdata(out[0]) * (double)cnt;
            asum += (double)*(const float *)graft_tensor_cdata(out[1]) * (double)cnt;
            seen += cnt;
            graft_tensor_free(out[0]);
            graft_tensor_free(out[1]);
            graft_ft_progress_step(&f->prog, e + 1, a->epochs, b + 1, per_epoch, lsum / (double)seen,
                                   asum / (double)seen, cnt);
        }
        graft_ft_epoch *r = &rows[e];
        r->epoch = e + 1;
        r->loss = lsum / (double)seen;
        r->test_accuracy = NAN;
        if (eval_cached(f, xtr, ytr, ntr, &r->train_accuracy)) goto done;
        if (xte && eval_cached(f, xte, yte, nte, &r->test_accuracy)) goto done;
        r->seconds = graft_ft_now() - t_cmd;
        graft_ft_progress_epoch(&f->prog, r, a->epochs);
        if (!isfinite(r->loss)) {
            fail("the training loss is %g after epoch %lld: lower --lr", r->loss, (long long)e + 1);
            goto done;
        }
    }
    rc = 0;
done:
    graft_tensor_free(fb);
    graft_tensor_free(lb);
    graft_tensor_free(pfb);
    graft_tensor_free(plb);
    free(order);
    return rc;
}

int graft_cmd_finetune(int argc, char **argv)
{
    double t_cmd = graft_ft_now();
    static ft_args a; /* big (the --set table); one command per process */
    int prc = parse_args(argc, argv, &a);
    if (prc) return prc < 0 ? 0 : prc;

    int rc = 1;
    ft f;
    memset(&f, 0, sizeof f);
    f.a = &a;
    graft_ft_progress_init(&f.prog, stderr, 0);
    graft_dataset *train_ds = NULL, *test_ds = NULL;
    graft_meta_import *imp = NULL;
    graft_saver *head_saver = NULL;
    float *xtr = NULL, *xte = NULL;
    graft_op **trunk = NULL, **save_vars = NULL;
    uint64_t *h_before = NULL, *h_after = NULL;
    graft_ft_epoch *rows = NULL;
    const char **keys = NULL;
    int ntrunk = 0;

    /* 1. data */
    if (!(train_ds = load_data(a.train, "--train", a.classes))) goto done;
    if (a.test && !(test_ds = load_data(a.test, "--test", a.classes))) goto done;
    if (test_ds) {
        int64_t d1[3], d2[3];
        graft_dataset_image_dims(train_ds, d1);
        graft_dataset_image_dims(test_ds, d2);
        if (memcmp(d1, d2, sizeof d1)) {
            fail("--test %s holds %lldx%lldx%lld images, --train %s %lldx%lldx%lld", a.test, (long long)d2[0],
                 (long long)d2[1], (long long)d2[2], a.train, (long long)d1[0], (long long)d1[1],
                 (long long)d1[2]);
            goto done;
        }
    }
    if (graft_dataset_num_classes(train_ds) < a.classes)
        fprintf(stderr, "graft finetune: note: %s has labels 0..%d only; --classes %lld\n", a.train,
                graft_dataset_num_classes(train_ds) - 1, (long long)a.classes);

    /* 2. the imported graph, its inputs, what the cut needs */
    f.g = graft_graph_new();
    if (!f.g) {
        fail("out of memory");
        goto done;
    }
    if (graft_import_meta_graph(f.g, a.meta, NULL, &imp, &f.st)) {
        fail("--meta %s: %s", a.meta, f.st.msg);
        goto done;
    }
    if (lookup(f.g, "--input", a.input, &f.input) || lookup(f.g, "--cut", a.cut, &f.cut)) goto done;
    if (graft_out_dtype(f.cut) != GRAFT_FLOAT && graft_out_dtype(f.cut) != GRAFT_INVALID) {
        fail("--cut %s is %s; the head needs float32 features", a.cut,
             graft_dtype_name(graft_out_dtype(f.cut)));
        goto done;
    }
    if (make_sets(f.g, &a)) goto done;
    for (int i = 0; i < a.nsets; i++)
        if (same_out(a.sets[i].t, f.input)) {
            fail("--set %s: that is the --input (fed with the images)", a.sets[i].name);
            goto done;
        }
    if (check_needs(f.g, &a, f.input, f.cut) || match_input(&f, train_ds)) goto done;

    /* 3. session + restore; the trunk's variables are checksummed before anything runs */
    graft_session_opts so;
    graft_session_opts_init(&so);
    if (!(f.s = graft_session_new(f.g, &so, &f.st))) {
        fail("%s", f.st.msg);
        goto done;
    }
    graft_saver *imported = graft_meta_import_take_saver(imp);
    if (restore(&f, imported, graft_meta_import_saver_note(imp))) goto done;
    ntrunk = graft_graph_num_variables(f.g);
    trunk = calloc((size_t)ntrunk + 1, sizeof *trunk);
    h_before = calloc((size_t)ntrunk + 1, sizeof *h_before);
    h_after = calloc((size_t)ntrunk + 1, sizeof *h_after);
    if (!trunk || !h_before || !h_after) {
        fail("out of memory");
        goto done;
    }
    for (int i = 0; i < ntrunk; i++) {
        graft_variable v;
        graft_graph_variable_at(f.g, i, &v);
        trunk[i] = v.var;
    }
    checksum_vars(f.s, trunk, ntrunk, h_before);

    /* 4. the cut's features, once per image */
    int64_t ntr = graft_dataset_size(train_ds), nte = test_ds ? graft_dataset_size(test_ds) : 0;
    if (!(xtr = extract(&f, train_ds, "train features"))) goto done;
    if (test_ds && !(xte = extract(&f, test_ds, "test features"))) goto done;

    /* 5. head, training */
    if (build_head(&f)) goto done;
    if (!(rows = calloc((size_t)a.epochs, sizeof *rows))) {
        fail("out of memory");
        goto done;
    }
    if (train(&f, xtr, graft_dataset_labels(train_ds), ntr, xte,
              test_ds ? graft_dataset_labels(test_ds) : NULL, nte, rows, t_cmd))
        goto done;

    /* 6. the trunk must be bit-identical */
    checksum_vars(f.s, trunk, ntrunk, h_after);
    int changed = 0;
    uint64_t all = 1469598103934665603ull;
    for (int i = 0; i < ntrunk; i++) {
        all = (all ^ h_before[i]) * 1099511628211ull;
        if (h_before[i] != h_after[i]) {
            fail("frozen trunk variable '%s' changed during training", graft_op_name(trunk[i]));
            changed++;
        }
    }
    if (changed) goto done;
    fprintf(stderr, "graft finetune: trunk: %d variables bit-identical after training (checksum %016llx)\n",
            ntrunk, (unsigned long long)all);

    /* 7. end to end on the test set */
    double test_acc = NAN, train_acc = rows[a.epochs - 1].train_accuracy;
    if (test_ds) {
        if (eval_images(&f, test_ds, &test_acc)) goto done;
        double cached = rows[a.epochs - 1].test_accuracy;
        fprintf(stderr,
                "graft finetune: test accuracy end to end (images -> trunk -> head): %.4f on %lld images%s\n",
                test_acc, (long long)nte,
                fabs(cached - test_acc) * (double)nte > 1.5 ? " (cached features gave a different value)"
                                                            : "");
    }

    /* 8. save the head (and its optimizer state), the state file, the .meta, CSV and SVG */
    int nopt = a.save_optimizer ? graft_optimizer_num_variables(f.opt) : 0;
    save_vars = calloc((size_t)(f.n_head + nopt), sizeof *save_vars);
    if (!save_vars) {
        fail("out of memory");
        goto done;
    }
    int nsave = 0;
    for (int i = 0; i < f.n_head; i++) save_vars[nsave++] = f.head_vars[i];
    for (int i = 0; i < nopt; i++) save_vars[nsave++] = graft_optimizer_variable_at(f.opt, i);
    if (a.save_optimizer && nopt == 0)
        fprintf(stderr, "graft finetune: note: --optimizer %s has no slots; --save-optimizer adds nothing\n",
                a.optimizer);
    graft_saver_opts svo;
    graft_saver_opts_init(&svo);
    svo.max_to_keep = 0; /* never delete checkpoints that happen to share the directory */
    svo.write_meta_graph = true;
    if (!(head_saver = graft_saver_new_list(f.g, save_vars, nsave, &svo, &f.st))) {
        fail("--save: %s", f.st.msg);
        goto done;
    }
    mkdirs_for(a.save);
    warn_shared_dir(&a);
    char saved[4096], path[4200];
    if (graft_saver_save(head_saver, f.s, a.save, a.has_step ? a.step : -1, saved, sizeof saved, &f.st)) {
        fail("--save %s: %s", a.save, f.st.msg);
        goto done;
    }
    snprintf(path, sizeof path, "%s.csv", saved);
    if (graft_ft_write_csv(path, rows, a.epochs)) {
        fail("writing %s: %s", path, strerror(errno));
        goto done;
    }
    snprintf(path, sizeof path, "%s.svg", saved);
    char title[4400];
    snprintf(title, sizeof title, "graft finetune %s: cut %s, %lld classes", saved, a.cut,
             (long long)a.classes);
    if (graft_ft_write_svg(path, rows, a.epochs, title)) {
        fail("writing %s: %s", path, strerror(errno));
        goto done;
    }
    int nk = graft_saver_num_vars(head_saver);
    if (!(keys = calloc((size_t)nk + 1, sizeof *keys))) {
        fail("out of memory");
        goto done;
    }
    for (int i = 0; i < nk; i++) keys[i] = graft_saver_key(head_saver, i);
    qsort(keys, (size_t)nk, sizeof *keys, cmp_str);
    fprintf(stderr,
            "graft finetune: saved %d head variables to %s (.index, .data-00000-of-00001, .meta), "
            "%s.csv, %s.svg\n",
            nk, saved, saved, saved);

    /* 9. the result */
    double secs = graft_ft_now() - t_cmd;
    if (a.json) {
        printf("{\"test_accuracy\": ");
        if (isnan(test_acc))
            printf("null");
        else
            printf("%.10g", test_acc);
        printf(", \"train_accuracy\": %.10g, \"saved\": ", train_acc);
        json_str(stdout, saved);
        printf(", \"variables\": [");
        for (int i = 0; i < nk; i++) {
            if (i) printf(", ");
            json_str(stdout, keys[i]);
        }
        printf("], \"seconds\": %.3f}\n", secs);
    } else {
        if (!isnan(test_acc))
            printf("test accuracy  %.4f (%lld images, end to end)\n", test_acc, (long long)nte);
        printf("train accuracy %.4f (%lld images)\n", train_acc, (long long)ntr);
        printf("saved          %s (%d variables:", saved, nk);
        for (int i = 0; i < nk; i++) printf(" %s", keys[i]);
        printf(")\nseconds        %.1f\n", secs);
    }
    fflush(stdout);
    rc = 0;
done:
    graft_ft_progress_break(&f.prog);
    for (int i = 0; i < a.nsets; i++) graft_tensor_free(a.sets[i].v);
    free(keys);
    free(rows);
    free(save_vars);
    free(trunk);
    free(h_before);
    free(h_after);
    free(xtr);
    free(xte);
    graft_saver_free(head_saver);
    graft_optimizer_free(f.opt);
    graft_session_free(f.s);
    graft_meta_import_free(imp);
    graft_graph_free(f.g);
    graft_dataset_free(train_ds);
    graft_dataset_free(test_ds);
    return rc;
}
