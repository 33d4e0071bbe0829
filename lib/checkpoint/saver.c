/* lib/checkpoint/saver.c - graft_saver, TF1's tf.train.Saver: TensorFlow's save/ nodes
 * in the graph (so an exported .meta restores in TensorFlow), saving session variables
 * to a V2 bundle, retention (max_to_keep, keep_checkpoint_every_n_hours) with TF's
 * semantics but rebuilt from the state file after a restart, and transactional
 * restore (everything read and checked before any variable changes). */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

#include "checkpoint/ckpt_internal.h"

struct graft_saver {
    graft_graph *g;
    int n;
    char **keys;          /* sorted bytewise */
    graft_op **vars;
    char *filename_tensor, *save_tensor, *restore_op;
    int max_to_keep;
    double keep_hours;
    bool sharded;
    int version;
    graft_saver_opts opts;
    char *latest_filename;
    /* retention: the kept list (oldest first) and the to-be-deleted queue */
    int nlast, ndel;
    char **last_path, **del_path;
    double *last_ts, *del_ts;
    double next_time;
    char *recovered_dir;
};

void graft_saver_opts_init(graft_saver_opts *o)
{
    memset(o, 0, sizeof *o);
    o->max_to_keep = 5;
    o->keep_checkpoint_every_n_hours = 10000.0;
    o->write_meta_graph = true;
    o->save_relative_paths = true;
}

static double now(const graft_saver *s)
{
    if (s->opts.clock) return s->opts.clock(s->opts.clock_ud);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void graft_saver_free(graft_saver *s)
{
    if (!s) return;
    for (int i = 0; i < s->n; i++) graftI_free(s->keys ? s->keys[i] : NULL);
    graftI_free(s->keys);
    graftI_free(s->vars);
    graftI_free(s->filename_tensor);
    graftI_free(s->save_tensor);
    graftI_free(s->restore_op);
    graftI_free(s->latest_filename);
    for (int i = 0; i < s->nlast; i++) graftI_free(s->last_path[i]);
    for (int i = 0; i < s->ndel; i++) graftI_free(s->del_path[i]);
    graftI_free(s->last_path);
    graftI_free(s->last_ts);
    graftI_free(s->del_path);
    graftI_free(s->del_ts);
    graftI_free(s->recovered_dir);
    graftI_free(s);
}

void graft_saver_get_def(const graft_saver *s, graft_saver_def *out)
{
    out->filename_tensor_name = s->filename_tensor;
    out->save_tensor_name = s->save_tensor;
    out->restore_op_name = s->restore_op;
    out->max_to_keep = s->max_to_keep;
    out->sharded = s->sharded;
    out->keep_checkpoint_every_n_hours = (float)s->keep_hours;
    out->version = s->version;
}

int graft_saver_num_vars(const graft_saver *s) { return s ? s->n : 0; }
graft_op *graft_saver_var(const graft_saver *s, int i) { return s && i >= 0 && i < s->n ? s->vars[i] : NULL; }
const char *graft_saver_key(const graft_saver *s, int i) { return s && i >= 0 && i < s->n ? s->keys[i] : NULL; }
int graft_saver_num_last_checkpoints(const graft_saver *s) { return s ? s->nlast : 0; }
const char *graft_saver_last_checkpoint(const graft_saver *s, int i)
{
    return s && i >= 0 && i < s->nlast ? s->last_path[i] : NULL;
}

/* ---- construction ---------------------------------------------------------------------------- */
static bool is_var_op(const graft_op *op) { return op && op->def && (op->def->flags & GRAFTI_OP_VARIABLE); }
static bool is_resource(const graft_op *op) { return op && strcmp(op->type, "VarHandleOp") == 0; }

static graft_op *as_variable(graft_graph *g, graft_op *op)
{
    graft_variable info;
    if (graft_graph_find_variable(g, op, &info) && info.var) return info.var;
    if (is_var_op(op)) return op;
    /* a snapshot (Identity) or ReadVariableOp of a variable */
    if (op && op->n_in == 1 && (strcmp(op->type, "Identity") == 0 || strcmp(op->type, "ReadVariableOp") == 0) &&
        is_var_op(op->in[0].op))
        return op->in[0].op;
    return NULL;
}

typedef struct kv_pair {
    const char *key;
    graft_op *var;
} kv_pair;

static int cmp_pair(const void *a, const void *b)
{
    const kv_pair *x = a, *y = b;
    return strcmp(x->key, y->key); /* bytewise for NUL-free keys */
}

static graft_saver *saver_alloc(graft_graph *g, const char *const *keys, graft_op *const *vars, int n,
                                const graft_saver_opts *opts, graft_status *st)
{
    if (!g) return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "graft_saver: NULL graph"), NULL;
    if (n <= 0) return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "graft_saver: no variables to save"), NULL;
    graft_saver *s = graftI_calloc(1, sizeof *s);
    kv_pair *pairs = graftI_calloc((size_t)n, sizeof *pairs);
    if (!s || !pairs) {
        graftI_free(s);
        graftI_free(pairs);
        return graft_status_set(st, GRAFT_ERR_NOMEM, "graft_saver: out of memory"), NULL;
    }
    s->g = g;
    if (opts) s->opts = *opts;
    else graft_saver_opts_init(&s->opts);
    s->max_to_keep = s->opts.max_to_keep;
    s->keep_hours = s->opts.keep_checkpoint_every_n_hours;
    s->version = 2;
    s->opts.name = NULL; /* not kept: borrowed */
    if (s->opts.latest_filename) {
        s->latest_filename = graftI_strdup(s->opts.latest_filename);
        if (!s->latest_filename) goto oom;
    }
    s->opts.latest_filename = NULL;
    graft_code rc = GRAFT_OK;
    for (int i = 0; i < n && rc == GRAFT_OK; i++) {
        graft_op *v = as_variable(g, vars ? vars[i] : NULL);
        if (!v)
            rc = graft_status_set(st, GRAFT_ERR_INVALID_ARG, "graft_saver: '%s' is not a variable",
                                  vars && vars[i] ? vars[i]->name : "(null)");
        else if (v->g != g)
            rc = graft_status_set(st, GRAFT_ERR_MISUSE, "graft_saver: variable '%s' belongs to another graph", v->name);
        pairs[i].var = v;
        pairs[i].key = keys ? keys[i] : (v ? v->name : NULL);
        if (rc == GRAFT_OK && (!pairs[i].key || !*pairs[i].key))
            rc = graft_status_set(st, GRAFT_ERR_INVALID_ARG, "graft_saver: empty checkpoint key for '%s'", v->name);
    }
    if (rc != GRAFT_OK) goto fail;
    qsort(pairs, (size_t)n, sizeof *pairs, cmp_pair);
    for (int i = 1; i < n; i++)
        if (strcmp(pairs[i - 1].key, pairs[i].key) == 0) {
            rc = graft_status_set(st, GRAFT_ERR_INVALID_ARG,
                                  "graft_saver: two variables have the same checkpoint key '%s'", pairs[i].key);
            goto fail;
        }
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            if (pairs[i].var == pairs[j].var && !keys) {
                rc = graft_status_set(st, GRAFT_ERR_INVALID_ARG, "graft_saver: variable '%s' listed twice",
                                      pairs[i].var->name);
                goto fail;
            }
    s->keys = graftI_calloc((size_t)n, sizeof *s->keys);
    s->vars = graftI_calloc((size_t)n, sizeof *s->vars);
    if (!s->keys || !s->vars) goto oom;
    s->n = n;
    for (int i = 0; i < n; i++) {
        s->keys[i] = graftI_strdup(pairs[i].key);
        s->vars[i] = pairs[i].var;
        if (!s->keys[i]) goto oom;
    }
    graftI_free(pairs);
    s->next_time = now(s) + s->keep_hours * 3600.0;
    return s;
oom:
    graft_status_set(st, GRAFT_ERR_NOMEM, "graft_saver: out of memory");
fail:
    graftI_free(pairs);
    graft_saver_free(s);
    return NULL;
}

/* -- TensorFlow's save/ nodes -- */
static char *scoped(const char *scope, const char *name)
{
    size_t a = strlen(scope), b = strlen(name);
    char *r = graftI_malloc(a + b + 2);
    if (!r) return NULL;
    memcpy(r, scope, a);
    r[a] = '/';
    memcpy(r + a + 1, name, b + 1);
    return r;
}

static graft_op *finish(graft_op_builder *b, graft_status *st) { return graft_op_builder_finish(b, st); }

static graft_op *string_const(graft_graph *g, const char *name, const char *const *v, int n, bool vector,
                              graft_status *st)
{
    int64_t d = n;
    graft_tensor *t = graft_tensor_new(GRAFT_STRING, &d, vector ? 1 : 0, st);
    if (!t) return NULL;
    for (int i = 0; i < n; i++)
        if (graft_tensor_set_string(t, i, v[i], strlen(v[i]), st) != GRAFT_OK) {
            graft_tensor_free(t);
            return NULL;
        }
    graft_op_builder *b = graft_op_builder_new(g, "Const", name);
    graft_op_builder_attr_tensor(b, "value", t);
    graft_op_builder_attr_type(b, "dtype", GRAFT_STRING);
    graft_tensor_free(t);
    return finish(b, st);
}

static graft_code build_nodes(graft_saver *s, const char *scope_name, graft_status *st)
{
    graft_graph *g = s->g;
    const char *sc = graft_graph_push_scope(g, scope_name ? scope_name : "save");
    char *scope = sc ? graftI_strdup(sc) : NULL;
    if (sc) graft_graph_pop_scope(g);
    if (!scope) return graft_status_set(st, GRAFT_ERR_NOMEM, "graft_saver: cannot open the save scope");
    int n = s->n;
    graft_code rc = GRAFT_OK;
    char nm[512];
    const char **empty = graftI_calloc((size_t)n, sizeof *empty);
    graft_dtype *dts = graftI_calloc((size_t)n, sizeof *dts);
    graft_op **assigns = graftI_calloc((size_t)n, sizeof *assigns);
    graft_out *saved = graftI_calloc((size_t)n, sizeof *saved);
    if (!empty || !dts || !assigns || !saved) {
        rc = graft_status_set(st, GRAFT_ERR_NOMEM, "graft_saver: out of memory");
        goto done;
    }
    for (int i = 0; i < n; i++) {
        empty[i] = "";
        dts[i] = s->vars[i]->out[0].dtype;
    }
#define NAME(x) (snprintf(nm, sizeof nm, "%s/%s", scope, (x)), nm)
    /* filename: PlaceholderWithDefault("model"), and Const wrapping it (TF keeps the name) */
    const char *model = "model";
    graft_op *fin = string_const(g, NAME("filename/input"), &model, 1, false, st);
    if (!fin) goto failed;
    graft_op_builder *b = graft_op_builder_new(g, "PlaceholderWithDefault", NAME("filename"));
    graft_op_builder_add_input(b, graftI_o(fin, 0));
    graft_op_builder_attr_type(b, "dtype", GRAFT_STRING);
    graft_op_builder_attr_shape(b, "shape", graft_shape_make(0, NULL));
    graft_op *fname = finish(b, st);
    if (!fname) goto failed;
    b = graft_op_builder_new(g, "PlaceholderWithDefault", NAME("Const"));
    graft_op_builder_add_input(b, graftI_o(fname, 0));
    graft_op_builder_attr_type(b, "dtype", GRAFT_STRING);
    graft_op_builder_attr_shape(b, "shape", graft_shape_make(0, NULL));
    graft_op *fconst = finish(b, st);
    if (!fconst) goto failed;

    /* SaveV2 over the variables (resource variables through ReadVariableOp) */
    graft_op *names = string_const(g, NAME("SaveV2/tensor_names"), (const char *const *)s->keys, n, true, st);
    if (!names) goto failed;
    graft_op *slices = string_const(g, NAME("SaveV2/shape_and_slices"), empty, n, true, st);
    if (!slices) goto failed;
    int nread = 0;
    for (int i = 0; i < n; i++) {
        saved[i] = graftI_o(s->vars[i], 0);
        if (is_resource(s->vars[i])) {
            char rn[64];
            snprintf(rn, sizeof rn, nread ? "ReadVariableOp_%d" : "ReadVariableOp", nread);
            nread++;
            b = graft_op_builder_new(g, "ReadVariableOp", NAME(rn));
            graft_op_builder_add_input(b, saved[i]);
            graft_op_builder_attr_type(b, "dtype", dts[i]);
            graft_op *rd = finish(b, st);
            if (!rd) goto failed;
            saved[i] = graftI_o(rd, 0);
        }
    }
    b = graft_op_builder_new(g, "SaveV2", NAME("SaveV2"));
    graft_op_builder_add_input(b, graftI_o(fconst, 0));
    graft_op_builder_add_input(b, graftI_o(names, 0));
    graft_op_builder_add_input(b, graftI_o(slices, 0));
    for (int i = 0; i < n; i++) graft_op_builder_add_input(b, saved[i]);
    graft_op_builder_attr_type_list(b, "dtypes", dts, n);
    graft_op *save = finish(b, st);
    if (!save) goto failed;
    b = graft_op_builder_new(g, "Identity", NAME("control_dependency"));
    graft_op_builder_add_input(b, graftI_o(fconst, 0));
    graft_op_builder_add_control_input(b, save);
    graft_op_builder_attr_type(b, "T", GRAFT_STRING);
    graft_op *ctl = finish(b, st);
    if (!ctl) goto failed;

    /* RestoreV2 and one Assign per variable, grouped by restore_all */
    graft_op *rnames = string_const(g, NAME("RestoreV2/tensor_names"), (const char *const *)s->keys, n, true, st);
    if (!rnames) goto failed;
    graft_op *rslices = string_const(g, NAME("RestoreV2/shape_and_slices"), empty, n, true, st);
    if (!rslices) goto failed;
    b = graft_op_builder_new(g, "RestoreV2", NAME("RestoreV2"));
    graft_op_builder_add_input(b, graftI_o(fconst, 0));
    graft_op_builder_add_input(b, graftI_o(rnames, 0));
    graft_op_builder_add_input(b, graftI_o(rslices, 0));
    graft_op_builder_attr_type_list(b, "dtypes", dts, n);
    graft_op *restore = finish(b, st);
    if (!restore) goto failed;
    int na = 0, nav = 0;
    for (int i = 0; i < n; i++) {
        char an[64];
        if (is_resource(s->vars[i])) {
            snprintf(an, sizeof an, nav ? "AssignVariableOp_%d" : "AssignVariableOp", nav);
            nav++;
            b = graft_op_builder_new(g, "AssignVariableOp", NAME(an));
            graft_op_builder_add_input(b, graftI_o(s->vars[i], 0));
            graft_op_builder_add_input(b, graftI_o(restore, i));
            graft_op_builder_attr_type(b, "dtype", dts[i]);
        } else {
            snprintf(an, sizeof an, na ? "Assign_%d" : "Assign", na);
            na++;
            b = graft_op_builder_new(g, "Assign", NAME(an));
            graft_op_builder_add_input(b, graftI_o(s->vars[i], 0));
            graft_op_builder_add_input(b, graftI_o(restore, i));
            graft_op_builder_attr_type(b, "T", dts[i]);
            graft_op_builder_attr_bool(b, "validate_shape", graftI_shape_known(&s->vars[i]->out[0].shape));
            graft_op_builder_attr_bool(b, "use_locking", true);
        }
        assigns[i] = finish(b, st);
        if (!assigns[i]) goto failed;
    }
    b = graft_op_builder_new(g, "NoOp", NAME("restore_all"));
    for (int i = 0; i < n; i++) graft_op_builder_add_control_input(b, assigns[i]);
    if (!finish(b, st)) goto failed;
#undef NAME
    s->filename_tensor = graftI_malloc(strlen(scope) + 16);
    s->save_tensor = graftI_malloc(strlen(scope) + 32);
    s->restore_op = scoped(scope, "restore_all");
    if (!s->filename_tensor || !s->save_tensor || !s->restore_op) {
        rc = graft_status_set(st, GRAFT_ERR_NOMEM, "graft_saver: out of memory");
        goto done;
    }
    sprintf(s->filename_tensor, "%s/Const:0", scope);
    sprintf(s->save_tensor, "%s/control_dependency:0", scope);
    goto done;
failed:
    rc = st && st->code ? st->code : GRAFT_ERR_INTERNAL;
    if (st) {
        char msg[GRAFT_STATUS_MSG_MAX];
        snprintf(msg, sizeof msg, "%s", st->msg);
        graft_status_set(st, rc, "graft_saver: adding the save nodes: %.1900s", msg);
    }
done:
    graftI_free(empty);
    graftI_free(dts);
    graftI_free(assigns);
    graftI_free(saved);
    graftI_free(scope);
    return rc;
}

static graft_saver *saver_new(graft_graph *g, const char *const *keys, graft_op *const *vars, int n,
                              const graft_saver_opts *opts, graft_status *st)
{
    graft_saver *s = saver_alloc(g, keys, vars, n, opts, st);
    if (!s) return NULL;
    if (build_nodes(s, opts ? opts->name : NULL, st) != GRAFT_OK) {
        graft_saver_free(s);
        return NULL;
    }
    graft_status_clear(st);
    return s;
}

graft_saver *graft_saver_new(graft_graph *g, const graft_saver_opts *opts, graft_status *st)
{
    int n = graft_graph_num_variables(g);
    if (n <= 0) return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "graft_saver: no variables to save"), NULL;
    graft_op **vars = graftI_calloc((size_t)n, sizeof *vars);
    if (!vars) return graft_status_set(st, GRAFT_ERR_NOMEM, "graft_saver: out of memory"), NULL;
    for (int i = 0; i < n; i++) {
        graft_variable info;
        graft_graph_variable_at(g, i, &info);
        vars[i] = info.var;
    }
    graft_saver *s = saver_new(g, NULL, vars, n, opts, st);
    graftI_free(vars);
    return s;
}

graft_saver *graft_saver_new_list(graft_graph *g, graft_op *const *vars, int n, const graft_saver_opts *opts,
                                  graft_status *st)
{
    return saver_new(g, NULL, vars, n, opts, st);
}

graft_saver *graft_saver_new_map(graft_graph *g, const char *const *keys, graft_op *const *vars, int n,
                                 const graft_saver_opts *opts, graft_status *st)
{
    if (!keys) return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "graft_saver_new_map: NULL keys"), NULL;
    return saver_new(g, keys, vars, n, opts, st);
}

graft_saver *graft_saver_new_from_def(graft_graph *g, const char *const *keys, graft_op *const *vars, int n,
                                      const graft_saver_def *def, const graft_saver_opts *opts, graft_status *st)
{
    if (!def) return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "graft_saver_new_from_def: NULL def"), NULL;
    if (def->sharded)
        return graft_status_set(st, GRAFT_ERR_UNSUPPORTED,
                                "graft_saver_new_from_def: sharded savers are not supported (save with a new saver)"),
               NULL;
    if (def->version != 0 && def->version != 2)
        return graft_status_set(st, GRAFT_ERR_UNSUPPORTED,
                                "graft_saver_new_from_def: SaverDef version %d (V1 savers) cannot be reused; graft "
                                "writes V2 with a new saver",
                                def->version),
               NULL;
    graft_saver *s = saver_alloc(g, keys, vars, n, opts, st);
    if (!s) return NULL;
    s->filename_tensor = graftI_strdup(def->filename_tensor_name ? def->filename_tensor_name : "");
    s->save_tensor = graftI_strdup(def->save_tensor_name ? def->save_tensor_name : "");
    s->restore_op = graftI_strdup(def->restore_op_name ? def->restore_op_name : "");
    if (!s->filename_tensor || !s->save_tensor || !s->restore_op) {
        graft_saver_free(s);
        return graft_status_set(st, GRAFT_ERR_NOMEM, "graft_saver: out of memory"), NULL;
    }
    s->max_to_keep = def->max_to_keep;
    s->keep_hours = def->keep_checkpoint_every_n_hours > 0 ? def->keep_checkpoint_every_n_hours : 10000.0;
    s->next_time = now(s) + s->keep_hours * 3600.0;
    graft_status_clear(st);
    return s;
}

static graft_op *op_of_tensor(graft_graph *g, const char *tname)
{
    if (!tname) return NULL;
    const char *colon = strrchr(tname, ':');
    size_t n = colon ? (size_t)(colon - tname) : strlen(tname);
    char *nm = graftI_strndup(tname, n);
    graft_op *op = nm ? graft_graph_op(g, nm) : NULL;
    graftI_free(nm);
    return op;
}

graft_saver *graft_saver_from_graph(graft_graph *g, const graft_saver_def *def, const graft_saver_opts *opts,
                                    graft_status *st)
{
    if (!g || !def) return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "graft_saver_from_graph: NULL argument"), NULL;
    graft_op *ctl = op_of_tensor(g, def->save_tensor_name);
    if (!ctl)
        return graft_status_set(st, GRAFT_ERR_NOT_FOUND, "graft_saver_from_graph: no op for save tensor '%s'",
                                def->save_tensor_name ? def->save_tensor_name : "(null)"),
               NULL;
    graft_op *save = NULL;
    for (int i = 0; i < ctl->n_ctrl && !save; i++)
        if (strcmp(ctl->ctrl[i]->type, "SaveV2") == 0) save = ctl->ctrl[i];
    if (!save)
        return graft_status_set(st, GRAFT_ERR_UNSUPPORTED,
                                "graft_saver_from_graph: '%s' does not depend on a SaveV2 op (sharded or V1 saver)",
                                ctl->name),
               NULL;
    const graft_tensor *names = save->n_in >= 3 ? graftI_const_input(save, 1) : NULL;
    const graft_tensor *slices = save->n_in >= 3 ? graftI_const_input(save, 2) : NULL;
    int n = save->n_in - 3;
    if (!names || names->dtype != GRAFT_STRING || names->n != n || !slices || slices->n != n)
        return graft_status_set(st, GRAFT_ERR_UNSUPPORTED,
                                "graft_saver_from_graph: %s: tensor_names/shape_and_slices are not constant vectors "
                                "of %d strings",
                                save->name, n),
               NULL;
    for (int i = 0; i < n; i++)
        if (((const graft_str *)slices->data)[i].len)
            return graft_status_set(st, GRAFT_ERR_UNSUPPORTED,
                                    "graft_saver_from_graph: %s saves a slice of a partitioned variable", save->name),
                   NULL;
    const char **keys = graftI_calloc((size_t)(n ? n : 1), sizeof *keys);
    graft_op **vars = graftI_calloc((size_t)(n ? n : 1), sizeof *vars);
    if (!keys || !vars) {
        graftI_free(keys);
        graftI_free(vars);
        return graft_status_set(st, GRAFT_ERR_NOMEM, "out of memory"), NULL;
    }
    const graft_str *nv = names->data;
    for (int i = 0; i < n; i++) {
        keys[i] = nv[i].ptr ? nv[i].ptr : "";
        vars[i] = save->in[3 + i].op;
    }
    graft_saver *s = graft_saver_new_from_def(g, keys, vars, n, def, opts, st);
    graftI_free(keys);
    graftI_free(vars);
    return s;
}

/* ---- retention --------------------------------------------------------------------------------- */
static bool list_push(char ***paths, double **ts, int *n, const char *p, double t)
{
    char **np = graftI_realloc(*paths, (size_t)(*n + 1) * sizeof *np);
    if (np) *paths = np;
    double *nt = graftI_realloc(*ts, (size_t)(*n + 1) * sizeof *nt);
    if (nt) *ts = nt;
    char *c = graftI_strdup(p);
    if (!np || !nt || !c) {
        graftI_free(c);
        return false;
    }
    (*paths)[*n] = c;
    (*ts)[*n] = t;
    (*n)++;
    return true;
}

static void list_remove(char **paths, double *ts, int *n, int i, bool free_path)
{
    if (free_path) graftI_free(paths[i]);
    memmove(paths + i, paths + i + 1, (size_t)(*n - i - 1) * sizeof *paths);
    memmove(ts + i, ts + i + 1, (size_t)(*n - i - 1) * sizeof *ts);
    (*n)--;
}

/* TF's _RecordLastCheckpoint. */
static graft_code record_last(graft_saver *s, const char *path, graft_status *st)
{
    if (s->max_to_keep <= 0) return GRAFT_OK;
    for (int i = 0; i < s->nlast; i++)
        if (strcmp(s->last_path[i], path) == 0) list_remove(s->last_path, s->last_ts, &s->nlast, i--, true);
    if (!list_push(&s->last_path, &s->last_ts, &s->nlast, path, now(s)))
        return graft_status_set(st, GRAFT_ERR_NOMEM, "out of memory");
    if (s->nlast > s->max_to_keep) {
        if (!list_push(&s->del_path, &s->del_ts, &s->ndel, s->last_path[0], s->last_ts[0]))
            return graft_status_set(st, GRAFT_ERR_NOMEM, "out of memory");
        list_remove(s->last_path, s->last_ts, &s->nlast, 0, true);
    }
    return GRAFT_OK;
}

/* TF's _MaybeDeleteOldCheckpoints: at most one per save. The decision (and the
 * advance of the keep threshold) is made before the state file is written, the
 * deletion after; returns the prefix to delete (caller frees) or NULL. */
static char *decide_delete(graft_saver *s)
{
    if (s->ndel == 0) return NULL;
    char *p = s->del_path[0];
    double t = s->del_ts[0];
    list_remove(s->del_path, s->del_ts, &s->ndel, 0, false);
    if (t > s->next_time) {
        s->next_time += s->keep_hours * 3600.0;
        graftI_free(p);
        return NULL;
    }
    return p;
}

static void delete_checkpoint(char *p)
{
    graft_status st;
    if (p && graft_ckpt_remove(p, &st) != GRAFT_OK) graftI_log(GRAFT_LOG_WARN, "Ignoring: %s", st.msg);
    graftI_free(p);
}

static bool path_mtime(const char *prefix, double *t)
{
    size_t n = strlen(prefix);
    char *idx = graftI_malloc(n + 7);
    if (!idx) return false;
    memcpy(idx, prefix, n);
    memcpy(idx + n, ".index", 7);
    struct stat sb;
    bool ok = stat(idx, &sb) == 0 || stat(prefix, &sb) == 0;
    graftI_free(idx);
    if (ok) *t = (double)sb.st_mtim.tv_sec + (double)sb.st_mtim.tv_nsec * 1e-9;
    return ok;
}

graft_code graft_saver_recover_last_checkpoints(graft_saver *s, const char *dir, graft_status *st)
{
    if (!s) return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "NULL saver");
    graft_checkpoint_state *cs = NULL;
    graft_code rc = graft_checkpoint_state_read(dir, s->latest_filename, &cs, st);
    if (rc == GRAFT_ERR_NOT_FOUND) {
        graft_status_clear(st);
        return GRAFT_OK;
    }
    if (rc != GRAFT_OK) return rc;
    for (int i = 0; i < s->nlast; i++) graftI_free(s->last_path[i]);
    s->nlast = 0;
    bool have_ts = cs->n_timestamps == cs->n_paths;
    char buf[8192];
    for (int i = 0; i < cs->n_paths && rc == GRAFT_OK; i++) {
        graft_status tmp;
        if (graft_checkpoint_resolve(dir, cs->all_model_checkpoint_paths[i], 0, buf, sizeof buf, &tmp) != GRAFT_OK) {
            graftI_log(GRAFT_LOG_WARN, "%s", tmp.msg);
            continue;
        }
        double t;
        if (!path_mtime(buf, &t)) continue; /* gone */
        if (have_ts) t = cs->all_model_checkpoint_timestamps[i];
        if (!list_push(&s->last_path, &s->last_ts, &s->nlast, buf, t))
            rc = graft_status_set(st, GRAFT_ERR_NOMEM, "out of memory");
    }
    if (cs->has_last_preserved_timestamp) s->next_time = cs->last_preserved_timestamp + s->keep_hours * 3600.0;
    graft_checkpoint_state_free(cs);
    if (rc == GRAFT_OK) graft_status_clear(st);
    return rc;
}

/* A state-file entry for checkpoint path p saved into save_dir. */
static char *state_entry(const graft_saver *s, const char *save_dir, const char *p)
{
    char *d = graftI_ck_dirname(p);
    if (!d) return NULL;
    bool same_dir = strcmp(d, save_dir) == 0;
    graftI_free(d);
    if (same_dir && (s->opts.save_relative_paths || save_dir[0] != '/' || p[0] != '/'))
        return graftI_strdup(graftI_ck_basename(p));
    return graftI_strdup(p);
}

/* Writes the state file naming prefix and listing the retention list. For the
 * interim state of an overwrite, `instead` (the swap copy) is named and listed in
 * place of prefix (appended when prefix is not listed), and the names in skip[0..1]
 * (older swap copies, NULL when none) are left out. */
static graft_code write_state(graft_saver *s, const char *save_dir, const char *prefix, const char *instead,
                              char *const *skip, bool *left_new, graft_status *st)
{
    *left_new = false;
    graft_checkpoint_state cs;
    memset(&cs, 0, sizeof cs);
    const char *named = instead ? instead : prefix;
    int cap = (s->max_to_keep > 0 ? s->nlast : 0) + 1, n = 0;
    char **paths = graftI_calloc((size_t)cap, sizeof *paths);
    double *ts = graftI_calloc((size_t)cap, sizeof *ts);
    char *model = state_entry(s, save_dir, named);
    graft_code rc = GRAFT_OK;
    if (!paths || !ts || !model) rc = graft_status_set(st, GRAFT_ERR_NOMEM, "out of memory");
    bool named_listed = false;
    for (int i = 0; s->max_to_keep > 0 && i < s->nlast && rc == GRAFT_OK; i++) {
        const char *p = s->last_path[i];
        if (skip && ((skip[0] && !strcmp(p, skip[0])) || (skip[1] && !strcmp(p, skip[1])))) continue;
        if (instead && !strcmp(p, prefix)) p = instead;
        named_listed = named_listed || !strcmp(p, named);
        ts[n] = s->last_ts[i];
        if (!(paths[n++] = state_entry(s, save_dir, p))) rc = graft_status_set(st, GRAFT_ERR_NOMEM, "out of memory");
    }
    if (rc == GRAFT_OK && (s->max_to_keep <= 0 || (instead && !named_listed))) {
        ts[n] = now(s);
        if (!(paths[n++] = state_entry(s, save_dir, named))) rc = graft_status_set(st, GRAFT_ERR_NOMEM, "out of memory");
    }
    if (rc == GRAFT_OK) {
        cs.model_checkpoint_path = model;
        cs.all_model_checkpoint_paths = paths;
        cs.n_paths = n;
        if (s->opts.write_state_timestamps) {
            cs.all_model_checkpoint_timestamps = ts;
            cs.n_timestamps = n;
            cs.has_last_preserved_timestamp = true;
            cs.last_preserved_timestamp = s->next_time - s->keep_hours * 3600.0;
        }
        rc = graftI_ck_state_write(save_dir, s->latest_filename, &cs, left_new, st);
    }
    for (int i = 0; paths && i < n; i++) graftI_free(paths[i]);
    graftI_free(paths);
    graftI_free(ts);
    graftI_free(model);
    return rc;
}


/* Removes leftovers of interrupted saves in dir: only names graft's own writers
 * produce ("<name>.tempstate<digits>" for an index, data shard, .meta or the
 * state file). */
static void remove_leftovers(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        const char *t = strstr(de->d_name, ".tempstate");
        if (!t || t == de->d_name) continue;
        const char *q = t + 10;
        bool digits = *q != '\0';
        for (; *q; q++) digits = digits && *q >= '0' && *q <= '9';
        if (!digits) continue;
        size_t bl = (size_t)(t - de->d_name);
        bool ours = (bl > 6 && !memcmp(t - 6, ".index", 6)) || (bl > 5 && !memcmp(t - 5, ".meta", 5)) ||
                    (bl == 10 && !memcmp(de->d_name, "checkpoint", 10)) ||
                    (bl > 20 && !memcmp(t - 20, ".data-", 6) && !memcmp(t - 9, "-of-", 4));
        if (!ours) continue;
        char *p = graftI_ck_join(dir, de->d_name);
        if (p) {
            graftI_log(GRAFT_LOG_INFO, "%s: removing a leftover of an interrupted save", p);
            graftI_io()->unlink(graftI_io()->ud, p);
        }
        graftI_free(p);
    }
    closedir(d);
}

/* ---- save ----------------------------------------------------------------------------------------- */
static int64_t count_nonfinite(const graft_tensor *t)
{
    int64_t bad = 0, n = t->n;
    switch (t->dtype) {
    case GRAFT_FLOAT:
        for (int64_t i = 0; i < n; i++) bad += !isfinite(((const float *)t->data)[i]);
        break;
    case GRAFT_DOUBLE:
        for (int64_t i = 0; i < n; i++) bad += !isfinite(((const double *)t->data)[i]);
        break;
    case GRAFT_HALF:
        for (int64_t i = 0; i < n; i++) bad += (((const uint16_t *)t->data)[i] & 0x7c00) == 0x7c00;
        break;
    case GRAFT_BFLOAT16:
        for (int64_t i = 0; i < n; i++) bad += (((const uint16_t *)t->data)[i] & 0x7f80) == 0x7f80;
        break;
    default: break;
    }
    return bad;
}

static graft_code meta_export(graft_saver *s, const char *prefix, graft_status *st)
{
    size_t n = strlen(prefix);
    char *mp = graftI_malloc(n + 6);
    if (!mp) return graft_status_set(st, GRAFT_ERR_NOMEM, "out of memory");
    memcpy(mp, prefix, n);
    memcpy(mp + n, ".meta", 6);
    graft_code rc = graft_meta_graph_export(s->g, s, mp, st);
    graftI_free(mp);
    return rc;
}

/* Removes the entries named in skip[0..1] from the retention list. */
static void drop_listed(graft_saver *s, char *const *skip)
{
    for (int k = 0; k < 2; k++)
        for (int i = 0; skip[k] && i < s->nlast; i++)
            if (!strcmp(s->last_path[i], skip[k])) list_remove(s->last_path, s->last_ts, &s->nlast, i--, true);
}

/* Removes the checkpoint at prefix if any of it exists (errors ignored: what is
 * left is an unnamed copy, removed by a later save). */
static void remove_quietly(const char *prefix)
{
    graft_status st;
    if (prefix) (void)graft_ckpt_remove(prefix, &st);
}

/* The bundle at prefix (data, then index last) and, if asked for, its .meta. */
static graft_code write_files(graft_saver *s, graft_session *sess, const char *prefix, graft_status *st)
{
    graft_code rc = GRAFT_OK;
    graft_ckpt_writer *w = graft_ckpt_writer_new(prefix, st);
    if (!w) rc = st ? st->code : GRAFT_ERR_IO;
    for (int i = 0; i < s->n && rc == GRAFT_OK; i++)
        rc = graft_ckpt_writer_add(w, s->keys[i], graft_session_variable_storage(sess, s->vars[i]), st);
    if (rc == GRAFT_OK) rc = graft_ckpt_writer_finish(w, st);
    graft_ckpt_writer_free(w);
    if (rc == GRAFT_OK && s->opts.write_meta_graph) rc = meta_export(s, prefix, st);
    return rc;
}

static bool index_exists_at(const char *prefix)
{
    size_t n = strlen(prefix);
    char *idx = graftI_malloc(n + 7);
    if (!idx) return false;
    memcpy(idx, prefix, n);
    memcpy(idx + n, ".index", 7);
    bool ok = graftI_ck_exists(idx);
    graftI_free(idx);
    return ok;
}

graft_code graft_saver_save(graft_saver *s, graft_session *sess, const char *save_path, int64_t global_step,
                            char *out_prefix, size_t cap, graft_status *st)
{
    if (!s || !sess || !save_path || !*save_path)
        return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "graft_saver_save: NULL saver, session or save_path");
    if (graft_session_graph(sess) != s->g)
        return graft_status_set(st, GRAFT_ERR_MISUSE, "graft_saver_save: the session runs another graph");
    const char *latest = s->latest_filename ? s->latest_filename : "checkpoint";
    if (global_step < 0 && strcmp(graftI_ck_basename(save_path), latest) == 0)
        return graft_status_set(st, GRAFT_ERR_INVALID_ARG,
                                "%s: checkpoint prefix would collide with the state file '%s'; use another name or a "
                                "global step",
                                save_path, latest);
    size_t pl = strlen(save_path) + 32;
    char *prefix = graftI_malloc(pl);
    if (!prefix) return graft_status_set(st, GRAFT_ERR_NOMEM, "out of memory");
    if (global_step >= 0)
        snprintf(prefix, pl, s->opts.pad_step_number ? "%s-%08lld" : "%s-%lld", save_path, (long long)global_step);
    else
        snprintf(prefix, pl, "%s", save_path);
    char *dir = graftI_ck_dirname(prefix);
    graft_code rc = GRAFT_OK;
    if (!dir) rc = graft_status_set(st, GRAFT_ERR_NOMEM, "out of memory");
    else if (!graftI_ck_is_dir(dir))
        rc = graft_status_set(st, GRAFT_ERR_NOT_FOUND, "%s: parent directory %s does not exist, cannot save", prefix,
                              dir);
    /* 0. every value present (and finite unless allowed) before anything is written */
    char bad[1024] = "";
    size_t bo = 0;
    int nbad = 0;
    for (int i = 0; i < s->n && rc == GRAFT_OK; i++) {
        graft_tensor *t = graft_session_variable_storage(sess, s->vars[i]);
        if (!t) {
            rc = graft_status_set(st, GRAFT_ERR_FAILED_PRECONDITION,
                                  "%s: Attempting to use uninitialized value %s (checkpoint key '%s')", prefix,
                                  s->vars[i]->name, s->keys[i]);
            break;
        }
        int64_t nf = s->opts.allow_nonfinite ? 0 : count_nonfinite(t);
        if (nf) {
            nbad++;
            if (bo + 100 < sizeof bad)
                bo += (size_t)snprintf(bad + bo, sizeof bad - bo, "%s%s: %lld NaN/Inf", nbad > 1 ? "; " : "",
                                       s->keys[i], (long long)nf);
        }
    }
    if (rc == GRAFT_OK && nbad)
        rc = graft_status_set(st, GRAFT_ERR_INVALID_ARG,
                              "%s: refusing to save non-finite values (%s); set allow_nonfinite to save them", prefix,
                              bad);
    /* 1. first save into this directory: remove leftovers of interrupted saves and
     * rebuild the retention list from its state file */
    if (rc == GRAFT_OK && (!s->recovered_dir || strcmp(s->recovered_dir, dir) != 0)) {
        remove_leftovers(dir);
        if (s->nlast == 0) {
            graft_status tmp;
            if (graft_saver_recover_last_checkpoints(s, dir, &tmp) != GRAFT_OK)
                graftI_log(GRAFT_LOG_WARN, "%s: retention list not recovered: %s", dir, tmp.msg);
        }
        graftI_free(s->recovered_dir);
        s->recovered_dir = graftI_strdup(dir);
    }
    /* 2. a checkpoint already at this very prefix (saving again without a global
     * step) cannot be replaced atomically: index and data are two files. The new
     * values go first to "<prefix>.graft-swap" and the state file names that copy,
     * so a crash (or an I/O error) while the prefix itself is rewritten leaves the
     * state naming a complete checkpoint; at the end the state names the prefix
     * again and the copy is removed. The copy has two possible names, the second
     * "<prefix>.graft-swap-1": one the state file lists (after a crash) is never
     * rewritten; copies listed or left over are removed once the state file names
     * the prefix again. */
    char *cand[2] = {NULL, NULL};
    bool listed[2] = {false, false};
    char *swap = NULL;
    bool swap_named = false;
    if (rc == GRAFT_OK && global_step < 0) {
        size_t sl = strlen(prefix) + 16;
        for (int k = 0; k < 2 && rc == GRAFT_OK; k++) {
            if (!(cand[k] = graftI_malloc(sl))) {
                rc = graft_status_set(st, GRAFT_ERR_NOMEM, "out of memory");
                break;
            }
            snprintf(cand[k], sl, k ? "%s.graft-swap-1" : "%s.graft-swap", prefix);
            for (int i = 0; i < s->nlast; i++) listed[k] = listed[k] || !strcmp(s->last_path[i], cand[k]);
        }
    }
    char *skip[2] = {listed[0] ? cand[0] : NULL, listed[1] ? cand[1] : NULL};
    if (rc == GRAFT_OK && global_step < 0 && index_exists_at(prefix)) {
        swap = !listed[0] ? cand[0] : !listed[1] ? cand[1] : NULL;
        if (!swap)
            rc = graft_status_set(st, GRAFT_ERR_FAILED_PRECONDITION,
                                  "%s: both swap copies are listed in the state file; save once with a global step",
                                  prefix);
        if (rc == GRAFT_OK) rc = write_files(s, sess, swap, st);
        if (rc == GRAFT_OK) rc = write_state(s, dir, prefix, swap, skip, &swap_named, st);
        if (rc == GRAFT_OK) swap_named = true;
    }
    /* listed copies leave the retention list once a state on disk has dropped them */
    if (swap_named) drop_listed(s, skip);
    /* 3. the bundle (data, then index last; see writer.c) and the meta graph, so the
     * state file never names a checkpoint without its .meta */
    if (rc == GRAFT_OK) rc = write_files(s, sess, prefix, st);
    /* 4. retention list and state file (before anything is deleted), 5. deletion */
    char *doomed = NULL;
    if (rc == GRAFT_OK) rc = record_last(s, prefix, st);
    if (rc == GRAFT_OK) doomed = decide_delete(s);
    bool final_named = false;
    if (rc == GRAFT_OK) rc = write_state(s, dir, prefix, NULL, skip, &final_named, st);
    if (rc == GRAFT_OK) delete_checkpoint(doomed);
    else graftI_free(doomed);
    if (swap && rc != GRAFT_OK && swap_named && !final_named && st) {
        /* the state still names the swap copy: the new values, complete */
        size_t ml = strlen(st->msg);
        snprintf(st->msg + ml, sizeof st->msg - ml, " (the new values are saved as %s, which the state file names)",
                 swap);
    }
    if (rc == GRAFT_OK) {
        drop_listed(s, skip);
        for (int k = 0; k < 2; k++) remove_quietly(cand[k]); /* the swap copy, stale or leftover ones */
    } else if (swap && !swap_named) {
        remove_quietly(swap); /* never named: a failed save leaves no new names behind */
    }
    graftI_free(cand[0]);
    graftI_free(cand[1]);
    if (rc == GRAFT_OK && out_prefix && cap) {
        if (strlen(prefix) + 1 > cap)
            rc = graft_status_set(st, GRAFT_ERR_INVALID_ARG, "%s: prefix longer than the output buffer (%zu)", prefix,
                                  cap);
        else memcpy(out_prefix, prefix, strlen(prefix) + 1);
    }
    graftI_free(prefix);
    graftI_free(dir);
    if (rc == GRAFT_OK) graft_status_clear(st);
    return rc;
}

/* ---- restore -------------------------------------------------------------------------------------- */
typedef struct problems {
    char buf[GRAFT_STATUS_MSG_MAX - 256];
    size_t o;
    int n, dropped;
    graft_code first;
} problems;

static void problem(problems *p, graft_code code, const char *fmt, ...) GRAFTI_PRINTF(3, 4);
static void problem(problems *p, graft_code code, const char *fmt, ...)
{
    if (!p->n) p->first = code;
    p->n++;
    if (p->o + 200 >= sizeof p->buf) {
        p->dropped++;
        return;
    }
    if (p->o) p->o += (size_t)snprintf(p->buf + p->o, sizeof p->buf - p->o, "; ");
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(p->buf + p->o, sizeof p->buf - p->o, fmt, ap);
    va_end(ap);
    if (k > 0) p->o += (size_t)k;
    if (p->o >= sizeof p->buf) p->o = sizeof p->buf - 1;
}

graft_code graft_saver_restore(graft_saver *s, graft_session *sess, const char *path, graft_status *st)
{
    if (!s || !sess || !path) return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "graft_saver_restore: NULL argument");
    if (graft_session_graph(sess) != s->g)
        return graft_status_set(st, GRAFT_ERR_MISUSE, "graft_saver_restore: the session runs another graph");
    graft_ckpt_reader *r = graft_ckpt_reader_open(path, NULL, st);
    if (!r) return st ? st->code : GRAFT_ERR_IO;
    const char *prefix = graft_ckpt_reader_prefix(r);
    /* 1. check presence, dtype and shape of everything */
    problems *p = graftI_calloc(1, sizeof *p);
    graft_tensor **staged = graftI_calloc((size_t)s->n, sizeof *staged);
    graft_tensor **old = graftI_calloc((size_t)s->n, sizeof *old);
    graft_code rc = GRAFT_OK;
    if (!p || !staged || !old) {
        rc = graft_status_set(st, GRAFT_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (int i = 0; i < s->n; i++) {
        const graft_op *v = s->vars[i];
        int k = graft_ckpt_reader_find(r, s->keys[i]);
        if (k < 0) {
            problem(p, GRAFT_ERR_NOT_FOUND, "key '%s' (variable %s) not found in checkpoint", s->keys[i], v->name);
            continue;
        }
        graft_ckpt_entry e;
        graft_ckpt_reader_entry(r, k, &e);
        graft_dtype vdt = v->out[0].dtype;
        char a[160], b[160];
        if (e.dtype != (int)vdt)
            problem(p, GRAFT_ERR_DTYPE, "key '%s': dtype %s in checkpoint vs %s in variable %s", s->keys[i],
                    graft_ckpt_dtype_name(e.dtype), graft_dtype_name(vdt), v->name);
        else if (!graftI_shape_compatible(&v->out[0].shape, &e.shape))
            problem(p, GRAFT_ERR_SHAPE, "key '%s': shape %s in checkpoint vs %s in variable %s", s->keys[i],
                    graft_shape_str(&e.shape, a, sizeof a), graft_shape_str(&v->out[0].shape, b, sizeof b), v->name);
    }
    if (p->n) {
        rc = graft_status_set(st, p->first, "%s: cannot restore %d variable%s: %s%s", prefix, p->n, p->n > 1 ? "s" : "",
                              p->buf, p->dropped ? "; ..." : "");
        goto done;
    }
    /* 2. read (and checksum) every tensor */
    for (int i = 0; i < s->n && rc == GRAFT_OK; i++) rc = graft_ckpt_reader_read(r, s->keys[i], &staged[i], st);
    if (rc != GRAFT_OK) goto done;
    /* 3. commit; on a failure (out of memory), put back what was replaced */
    for (int i = 0; i < s->n; i++) {
        graft_tensor *cur = graft_session_variable_storage(sess, s->vars[i]);
        old[i] = cur ? graft_tensor_ref(cur) : NULL;
    }
    for (int i = 0; i < s->n && rc == GRAFT_OK; i++) {
        rc = graft_session_set_variable(sess, s->vars[i], staged[i], st);
        if (rc != GRAFT_OK)
            for (int j = 0; j < i; j++)
                if (old[j]) graft_session_set_variable(sess, s->vars[j], old[j], NULL);
    }
done:
    for (int i = 0; staged && i < s->n; i++) graft_tensor_free(staged[i]);
    for (int i = 0; old && i < s->n; i++) graft_tensor_free(old[i]);
    graftI_free(staged);
    graftI_free(old);
    graftI_free(p);
    graft_ckpt_reader_free(r);
    if (rc == GRAFT_OK) graft_status_clear(st);
    return rc;
}
