/* optim/optimizer.c - what every optimizer shares, after TF1's tf.train.Optimizer:
 * compute/apply_gradients (slots, the "<Name>" and "update_<var>" scopes, the train op and
 * the global-step AssignAdd), minimize, the global step, var_list selection by scope. */
#include "optim_internal.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>

static const char *dtn(graft_dtype dt)
{
    const char *s = graft_dtype_name(dt);
    return s ? s : "invalid";
}

/* A single TF name component: [A-Za-z0-9.][A-Za-z0-9_.-]* */
static bool valid_component(const char *s)
{
    if (!s || !*s || strlen(s) > 200) return false;
    if (!(isalnum((unsigned char)s[0]) || s[0] == '.')) return false;
    for (const char *p = s + 1; *p; p++)
        if (!(isalnum((unsigned char)*p) || *p == '_' || *p == '.' || *p == '-')) return false;
    return true;
}

graft_optimizer *graftI_optimizer_alloc(const graftI_optim_vt *vt, const char *name, const float *hp,
                                        graft_status *st)
{
    if (!name) name = vt->kind;
    if (!valid_component(name)) {
        graft_status_set(
            st, GRAFT_ERR_INVALID_ARG,
            "%s optimizer: name '%s' must be one TensorFlow name component ([A-Za-z0-9.][A-Za-z0-9_.-]*)",
            vt->kind, name);
        return NULL;
    }
    graft_optimizer *o = graftI_calloc(1, sizeof *o);
    if (o) o->name = graftI_strdup(name);
    if (!o || !o->name) {
        graftI_free(o);
        graft_status_set(st, GRAFT_ERR_NOMEM, "%s optimizer: out of memory", vt->kind);
        return NULL;
    }
    o->vt = vt;
    for (int i = 0; i < vt->n_hp; i++) o->hp[i] = hp[i];
    graft_status_clear(st);
    return o;
}

void graft_optimizer_free(graft_optimizer *o)
{
    if (!o) return;
    graftI_free(o->recs);
    graftI_free(o->made);
    graftI_free(o->name);
    graftI_free(o);
}

const char *graft_optimizer_name(const graft_optimizer *o) { return o ? o->name : NULL; }

void graft_optimizer_set_learning_rate_tensor(graft_optimizer *o, graft_out lr)
{
    if (o) o->lr_tensor = lr;
}

bool graftI_opt_note_var(graft_optimizer *o, graft_op *var)
{
    if (!graftI_grow((void **)&o->made, &o->cap_made, o->n_made + 1, sizeof(graft_op *))) return false;
    o->made[o->n_made++] = var;
    return true;
}

int graft_optimizer_num_variables(const graft_optimizer *o) { return o ? o->n_made : 0; }
graft_op *graft_optimizer_variable_at(const graft_optimizer *o, int i)
{
    return o && i >= 0 && i < o->n_made ? o->made[i] : NULL;
}

graft_out graftI_opt_read(graft_graph *g, graft_op *var)
{
    graft_variable info;
    if (graft_graph_find_variable(g, var, &info) && info.value.op) return info.value;
    return graftI_o(var, 0);
}

graft_out graftI_opt_hp(graft_optimizer *o, graft_graph *g, int i, graft_dtype dt)
{
    graft_out t = o->hp_t[i];
    if (t.op && graft_out_dtype(t) != dt) t = graft_cast(g, t, dt);
    return t;
}

static graft_out initial_value_const(graft_graph *g, void *ud)
{
    float v = *(const float *)ud;
    graft_status st;
    graft_tensor *t = graft_tensor_scalar_f32(v, &st);
    if (!t) {
        graftI_graph_fail(g, st.code, "%s", st.msg);
        return graftI_o(NULL, 0);
    }
    graft_out o = graft_const(g, "initial_value", t);
    graft_tensor_free(t);
    return o;
}

graft_op *graftI_opt_scalar_var(graft_optimizer *o, graft_graph *g, const char *name, float v)
{
    graft_op *var = graftI_tf_variable(g, name, initial_value_const, &v, false, false, NULL);
    if (var && !graftI_opt_note_var(o, var)) {
        graftI_graph_fail(g, GRAFT_ERR_NOMEM, "out of memory");
        return NULL;
    }
    return var;
}

/* ---- slots --------------------------------------------------------------------------- */

typedef struct zeros_like_var {
    graft_dtype dt;
    int64_t dims[GRAFT_MAX_DIMS];
    int rank;
} zeros_like_var;

static graft_out zeros_init(graft_graph *g, void *ud)
{
    const zeros_like_var *z = ud;
    return graftI_zeros(g, z->dt, z->dims, z->rank);
}

static graftI_opt_rec *find_rec(const graft_optimizer *o, const graft_op *var)
{
    for (int i = 0; i < o->n_recs; i++)
        if (o->recs[i].var == var) return &o->recs[i];
    return NULL;
}

/* slot_creator.create_zeros_slot: variable "<var>/<Name>" (then "<var>/<Name>_1")
 * made under the re-entered scope of the variable, zeros, not trainable. */
static graft_code ensure_slots(graft_optimizer *o, graft_graph *g, graft_op *var, graft_status *st)
{
    if (o->vt->n_slots == 0) return GRAFT_OK;
    graftI_opt_rec *r = find_rec(o, var);
    if (!r) {
        if (!graftI_grow((void **)&o->recs, &o->cap_recs, o->n_recs + 1, sizeof(graftI_opt_rec)))
            return graft_status_set(st, GRAFT_ERR_NOMEM, "out of memory");
        r = &o->recs[o->n_recs++];
        memset(r, 0, sizeof *r);
        r->var = var;
    }
    graft_shape s = graft_out_shape(graftI_o(var, 0));
    zeros_like_var z = {graft_out_dtype(graftI_o(var, 0)), {0}, s.rank};
    if (!graftI_shape_known(&s)) {
        char b[128];
        return graft_status_set(st, GRAFT_ERR_SHAPE,
                                "%s: variable '%s' needs a fully known shape for its slots (vs %s)", o->name,
                                var->name, graft_shape_str(&s, b, sizeof b));
    }
    for (int i = 0; i < s.rank; i++) z.dims[i] = s.dims[i];
    char sc[520];
    snprintf(sc, sizeof sc, "%s/", var->name);
    for (int k = 0; k < o->vt->n_slots; k++) {
        if (r->slot[k]) continue;
        if (!graft_graph_push_scope(g, sc)) return graft_graph_check(g, st);
        graft_op *slot = graftI_tf_variable(g, o->name, zeros_init, &z, true, false, NULL);
        graft_graph_pop_scope(g);
        if (!slot) return graft_graph_check(g, st);
        if (!graftI_opt_note_var(o, slot)) return graft_status_set(st, GRAFT_ERR_NOMEM, "out of memory");
        r->slot[k] = slot;
    }
    return GRAFT_OK;
}

graft_op *graft_optimizer_slot(const graft_optimizer *o, const graft_op *var, const char *slot_name)
{
    if (!o || !var || !slot_name) return NULL;
    graft_variable info;
    if (o->g && graft_graph_find_variable(o->g, var, &info)) var = info.var;
    const graftI_opt_rec *r = find_rec(o, var);
    if (!r) return NULL;
    for (int k = 0; k < o->vt->n_slots; k++)
        if (strcmp(o->vt->slot_names[k], slot_name) == 0) return r->slot[k];
    return NULL;
}

/* ---- compute / apply / minimize -------------------------------------------------------- */

static graft_code resolve_var(graft_graph *g, graft_op *op, int i, graft_op **var, graft_status *st)
{
    graft_variable info;
    if (!op) return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "var_list[%d]: NULL", i);
    if (op->g != g)
        return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "var_list[%d]: '%s' is from another graph", i,
                                op->name);
    if (!graft_graph_find_variable(g, op, &info))
        return graft_status_set(st, GRAFT_ERR_INVALID_ARG,
                                "var_list[%d]: '%s' (%s) is not a variable of the graph", i, op->name,
                                op->type);
    graft_dtype dt = graft_out_dtype(graftI_o(info.var, 0));
    if (dt != GRAFT_FLOAT && dt != GRAFT_DOUBLE)
        return graft_status_set(st, GRAFT_ERR_UNSUPPORTED,
                                "var_list[%d]: '%s' is %s; only float32 and float64 variables can be trained",
                                i, info.var->name, dtn(dt));
    *var = info.var;
    return GRAFT_OK;
}

graft_code graft_optimizer_compute_gradients(graft_optimizer *o, graft_graph *g, graft_out loss,
                                             graft_op *const *var_list, int n, graft_out *grads,
                                             graft_status *st)
{
    (void)o; /* gradients do not depend on the optimizer (TF's compute_gradients neither) */
    if (!g || !var_list || n <= 0 || !grads)
        return graft_status_set(
            st, GRAFT_ERR_INVALID_ARG,
            "graft_optimizer_compute_gradients: NULL graph, var_list or grads, or n_vars <= 0");
    for (int i = 0; i < n; i++) grads[i] = graftI_o(NULL, 0);
    if (graft_graph_status(g) != GRAFT_OK) return graft_graph_check(g, st);
    if (!loss.op || loss.op->g != g)
        return graft_status_set(st, GRAFT_ERR_INVALID_ARG,
                                "compute_gradients: loss is null or from another graph");
    graft_dtype ldt = graft_out_dtype(loss);
    if (ldt != GRAFT_FLOAT && ldt != GRAFT_DOUBLE)
        return graft_status_set(st, GRAFT_ERR_DTYPE,
                                "compute_gradients: loss must be float32 or float64 (vs %s)", dtn(ldt));
    graft_out *xs = graftI_calloc((size_t)n, sizeof *xs);
    if (!xs) return graft_status_set(st, GRAFT_ERR_NOMEM, "out of memory");
    graft_code rc = GRAFT_OK;
    for (int i = 0; i < n && !rc; i++) {
        graft_op *v = NULL;
        rc = resolve_var(g, var_list[i], i, &v, st);
        /* differentiate with respect to the variable itself (TF's var ref), so every
         * use of it - "<var>/read" or a direct one in an imported graph - counts */
        if (!rc) xs[i] = graftI_o(v, 0);
    }
    if (!rc) rc = graft_gradients(g, &loss, 1, xs, n, NULL, grads, st);
    graftI_free(xs);
    return rc;
}

graft_code graft_optimizer_apply_gradients(graft_optimizer *o, graft_graph *g, const graft_out *grads,
                                           graft_op *const *var_list, int n, graft_op *global_step,
                                           const char *name, graft_op **train_op, graft_status *st)
{
    if (train_op) *train_op = NULL;
    if (!o || !g || !grads || !var_list || n <= 0 || !train_op)
        return graft_status_set(st, GRAFT_ERR_INVALID_ARG,
                                "graft_optimizer_apply_gradients: NULL argument or n_vars <= 0");
    if (graft_graph_status(g) != GRAFT_OK) return graft_graph_check(g, st);
    if (o->g && o->g != g)
        return graft_status_set(st, GRAFT_ERR_MISUSE,
                                "optimizer '%s' is bound to another graph (its slot variables live there)",
                                o->name);
    if (name && !valid_component(name))
        return graft_status_set(st, GRAFT_ERR_INVALID_ARG,
                                "apply_gradients: name '%s' must be one TensorFlow name component", name);
    graft_op *gs = NULL;
    if (global_step) {
        graft_variable gi;
        if (global_step->g != g || !graft_graph_find_variable(g, global_step, &gi))
            return graft_status_set(st, GRAFT_ERR_INVALID_ARG,
                                    "global_step: '%s' is not a variable of the graph", global_step->name);
        gs = gi.var;
        graft_dtype gdt = graft_out_dtype(graftI_o(gs, 0));
        graft_shape gsh = graft_out_shape(graftI_o(gs, 0));
        if ((gdt != GRAFT_INT64 && gdt != GRAFT_INT32) || gsh.rank != 0)
            return graft_status_set(st, GRAFT_ERR_INVALID_ARG,
                                    "global_step: '%s' must be an int64 or int32 scalar (vs %s of rank %d)",
                                    gs->name, dtn(gdt), gsh.rank);
    }

    graft_op **vars = graftI_calloc((size_t)n, sizeof *vars);
    graft_op **updates = graftI_calloc((size_t)n, sizeof *updates);
    int *active = graftI_calloc((size_t)n, sizeof *active);
    graft_code rc = GRAFT_OK;
    int n_active = 0, n_up = 0;
    bool scoped = false;
    graft_op *final = NULL;
    if (!vars || !updates || !active) {
        rc = graft_status_set(st, GRAFT_ERR_NOMEM, "out of memory");
        goto out;
    }
    for (int i = 0; i < n; i++) {
        if ((rc = resolve_var(g, var_list[i], i, &vars[i], st))) goto out;
        for (int j = 0; j < i; j++)
            if (vars[j] == vars[i]) {
                rc = graft_status_set(st, GRAFT_ERR_INVALID_ARG,
                                      "var_list[%d]: '%s' is listed twice (also [%d])", i, vars[i]->name, j);
                goto out;
            }
        graft_out gr = grads[i];
        if (!gr.op) continue;
        graft_out v0 = graftI_o(vars[i], 0);
        graft_shape vs = graft_out_shape(v0), gsh = graft_out_shape(gr);
        if (gr.op->g != g) {
            rc = graft_status_set(st, GRAFT_ERR_INVALID_ARG, "gradient %d for '%s' is from another graph", i,
                                  vars[i]->name);
            goto out;
        }
        if (graft_out_dtype(gr) != graft_out_dtype(v0)) {
            rc = graft_status_set(st, GRAFT_ERR_DTYPE, "gradient %d for '%s' is %s, the variable is %s", i,
                                  vars[i]->name, dtn(graft_out_dtype(gr)), dtn(graft_out_dtype(v0)));
            goto out;
        }
        if (!graftI_shape_compatible(&vs, &gsh)) {
            char a[128], b[128];
            rc = graft_status_set(st, GRAFT_ERR_SHAPE, "gradient %d for '%s' has shape %s, the variable %s",
                                  i, vars[i]->name, graft_shape_str(&gsh, a, sizeof a),
                                  graft_shape_str(&vs, b, sizeof b));
            goto out;
        }
        active[n_active++] = i;
    }
    if (n_active == 0) {
        rc = graft_status_set(
            st, GRAFT_ERR_INVALID_ARG,
            "No gradients provided for any variable (%d variables, first '%s'): the loss does not "
            "depend on them",
            n, vars[0]->name);
        goto out;
    }
    if (o->lr_tensor.op) {
        graft_shape ls = graft_out_shape(o->lr_tensor);
        graft_dtype ldt = graft_out_dtype(o->lr_tensor);
        if (o->lr_tensor.op->g != g || (ldt != GRAFT_FLOAT && ldt != GRAFT_DOUBLE) || ls.rank > 0) {
            rc = graft_status_set(st, GRAFT_ERR_INVALID_ARG,
                                  "%s: the learning-rate tensor must be a float scalar of this graph",
                                  o->name);
            goto out;
        }
    }
    o->g = g;

    /* slots first, outside the optimizer scope (TF's _create_slots under init_scope) */
    if (o->vt->create_non_slots && !o->nonslot[0]) {
        graft_op *first = vars[active[0]];
        for (int k = 1; k < n_active; k++)
            if (strcmp(vars[active[k]]->name, first->name) < 0) first = vars[active[k]];
        if ((rc = o->vt->create_non_slots(o, g, first))) {
            if (graft_graph_status(g) != GRAFT_OK)
                rc = graft_graph_check(g, st);
            else
                graft_status_set(st, rc, "%s: creating non-slot variables failed", o->name);
            goto out;
        }
    }
    for (int k = 0; k < n_active; k++)
        if ((rc = ensure_slots(o, g, vars[active[k]], st))) goto out;

    /* the optimizer scope: "Adam", "Adam_1", ... */
    const char *sc = graft_graph_push_scope(g, name ? name : o->name);
    if (!sc) {
        rc = graft_graph_check(g, st);
        goto out;
    }
    scoped = true;
    char scope[256];
    snprintf(scope, sizeof scope, "%s", sc);
    for (int i = 0; i < o->vt->n_hp; i++) {
        if (i == 0 && o->lr_tensor.op) {
            o->hp_t[0] = o->lr_tensor;
            continue;
        }
        graft_status ts;
        graft_tensor *t = graft_tensor_scalar_f32(o->hp[i], &ts);
        if (!t) {
            rc = graft_status_set(st, ts.code, "%s", ts.msg);
            goto out;
        }
        o->hp_t[i] = graft_const(g, o->vt->hp_names[i], t);
        graft_tensor_free(t);
    }
    for (int k = 0; k < n_active && graft_graph_status(g) == GRAFT_OK; k++) {
        int i = active[k];
        char us[520];
        snprintf(us, sizeof us, "update_%s", vars[i]->name);
        if (!graft_graph_push_scope(g, us)) break;
        graftI_opt_rec *r = find_rec(o, vars[i]);
        graft_op *const *slots = r ? r->slot : NULL;
        graft_op *up = o->vt->apply_dense(o, g, vars[i], slots, grads[i]);
        graft_graph_pop_scope(g);
        if (!up) break;
        updates[n_up++] = up;
    }
    if (graft_graph_status(g) == GRAFT_OK) {
        if (!gs) {
            final = o->vt->finish ? o->vt->finish(o, g, updates, n_up, scope)
                                  : graftI_verbatim_op(g, "NoOp", scope, NULL, 0, updates, n_up, NULL, 0);
        } else {
            /* the updates grouped as "<Name>/update", then AssignAdd "<Name>" (global_step += 1) after it */
            const char *u = graft_graph_unique_name(g, "update", true);
            char uname[520];
            snprintf(uname, sizeof uname, "%s", u ? u : "");
            graft_op *grp = NULL;
            if (u)
                grp = o->vt->finish ? o->vt->finish(o, g, updates, n_up, uname)
                                    : graftI_verbatim_op(g, "NoOp", uname, NULL, 0, updates, n_up, NULL, 0);
            else
                graftI_graph_fail(g, GRAFT_ERR_NOMEM, "out of memory");
            graft_dtype gdt = graft_out_dtype(graftI_o(gs, 0));
            graft_status ts;
            graft_tensor *one = graft_tensor_new(gdt, NULL, 0, &ts);
            graft_out value = {NULL, 0};
            if (one) {
                if (gdt == GRAFT_INT64)
                    *(int64_t *)graft_tensor_data(one) = 1;
                else
                    *(int32_t *)graft_tensor_data(one) = 1;
                value = graft_const(g, "value", one);
                graft_tensor_free(one);
            } else {
                graftI_graph_fail(g, ts.code, "%s", ts.msg);
            }
            if (grp && value.op) {
                graft_out in[2] = {graftI_o(gs, 0), value};
                graftI_attr at[2] = {graftI_a_type("T", gdt), graftI_a_bool("use_locking", false)};
                final = graftI_verbatim_op(g, "AssignAdd", scope, in, 2, &grp, 1, at, 2);
            }
        }
    }
    graft_graph_pop_scope(g);
    scoped = false;
    if (final) graft_graph_add_to_collection(g, "train_op", final);
    if (graft_graph_status(g) != GRAFT_OK) {
        rc = graft_graph_check(g, st);
        final = NULL;
    } else if (!final) {
        rc = graft_status_set(st, GRAFT_ERR_INTERNAL, "%s: no train op was built", o->name);
    }
out:
    if (scoped) graft_graph_pop_scope(g);
    for (int i = 0; i < GRAFTI_OPT_MAX_HP; i++) o->hp_t[i] = graftI_o(NULL, 0);
    graftI_free(vars);
    graftI_free(updates);
    graftI_free(active);
    if (rc == GRAFT_OK) {
        *train_op = final;
        graft_status_clear(st);
    }
    return rc;
}

graft_code graft_optimizer_minimize(graft_optimizer *o, graft_graph *g, graft_out loss,
                                    graft_op *const *var_list, int n, graft_op *global_step,
                                    graft_op **train_op, graft_status *st)
{
    if (train_op) *train_op = NULL;
    if (!o || !g || !train_op || n < 0 || (n > 0 && !var_list))
        return graft_status_set(st, GRAFT_ERR_INVALID_ARG,
                                "graft_optimizer_minimize: NULL argument or n_vars < 0");
    graft_op **all = NULL;
    if (!var_list) {
        /* every trainable variable (tf.trainable_variables()) */
        int nv = graft_graph_num_variables(g);
        all = graftI_calloc((size_t)nv + 1, sizeof *all);
        if (!all) return graft_status_set(st, GRAFT_ERR_NOMEM, "out of memory");
        n = 0;
        for (int i = 0; i < nv; i++) {
            graft_variable v;
            if (graft_graph_variable_at(g, i, &v) && v.trainable) all[n++] = v.var;
        }
        var_list = all;
    }
    if (n == 0) {
        graftI_free(all);
        return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "%s: no variables to optimize", o->name);
    }
    graft_out *grads = graftI_calloc((size_t)n, sizeof *grads);
    if (!grads) {
        graftI_free(all);
        return graft_status_set(st, GRAFT_ERR_NOMEM, "out of memory");
    }
    graft_code rc = graft_optimizer_compute_gradients(o, g, loss, var_list, n, grads, st);
    if (!rc) rc = graft_optimizer_apply_gradients(o, g, grads, var_list, n, global_step, NULL, train_op, st);
    graftI_free(grads);
    graftI_free(all);
    return rc;
}

/* ---- global step ------------------------------------------------------------------------ */

static graft_out zero_i64(graft_graph *g, void *ud)
{
    (void)ud;
    return graft_zeros(g, GRAFT_INT64, NULL, 0);
}

graft_op *graft_global_step(const graft_graph *g)
{
    if (!g) return NULL;
    graft_op *op = graft_graph_collection_at(g, "global_step", 0);
    if (op) return op;
    graft_variable v;
    return graft_graph_find_variable_by_name(g, "global_step", &v) ? v.var : NULL;
}

graft_op *graft_global_step_new(graft_graph *g)
{
    if (!g || graft_graph_status(g) != GRAFT_OK) return NULL;
    graft_op *have = graft_global_step(g);
    if (have) {
        graftI_graph_fail(g, GRAFT_ERR_INVALID_ARG, "global step already exists ('%s')", have->name);
        return NULL;
    }
    graft_op *var = graftI_tf_variable(g, "global_step", zero_i64, NULL, true, false, NULL);
    if (var) graft_graph_add_to_collection(g, "global_step", var);
    return graft_graph_status(g) == GRAFT_OK ? var : NULL;
}

/* ---- var_list selection --------------------------------------------------------------------- */

/* "fc8" covers "fc8" and "fc8/..."; "fc8/" is a plain prefix; "" covers all. */
static bool under_scope(const char *name, const char *scope)
{
    size_t n = strlen(scope);
    if (n == 0) return true;
    if (strncmp(name, scope, n) != 0) return false;
    return scope[n - 1] == '/' || name[n] == '\0' || name[n] == '/';
}

int graft_var_list(const graft_graph *g, const char *const *scopes, int n_scopes, const char *const *exclude,
                   int n_exclude, bool trainable_only, graft_op **out, int cap)
{
    if (!g) return 0;
    int total = 0, nv = graft_graph_num_variables(g);
    for (int i = 0; i < nv; i++) {
        graft_variable v;
        if (!graft_graph_variable_at(g, i, &v) || !v.var) continue;
        if (trainable_only && !v.trainable) continue;
        const char *nm = graft_op_name(v.var);
        bool in = !scopes || n_scopes <= 0;
        for (int k = 0; !in && k < n_scopes; k++) in = scopes[k] && under_scope(nm, scopes[k]);
        for (int k = 0; in && exclude && k < n_exclude; k++)
            if (exclude[k] && under_scope(nm, exclude[k])) in = false;
        if (!in) continue;
        if (out && total < cap) out[total] = v.var;
        total++;
    }
    return total;
}
