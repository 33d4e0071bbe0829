/* tests/support/gradcheck.c - the gradient-check harness (see gradcheck.h):
 * builds a case's graph, compares graft_gradients against central differences
 * computed in double, and checks that every differentiable registered op has a case. */
#include "gradcheck.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Every group defines its table in tests/support/gradcases_<group>.c (strong
 * symbols: a missing table is a link error, never a silently empty group). */

/* ---- deterministic generator (splitmix64) ------------------------------------ */
typedef struct { uint64_t s; } gc_rng;

static uint64_t gc_next(gc_rng *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double gc_unif(gc_rng *r, double lo, double hi)
{
    return lo + (hi - lo) * ((double)(gc_next(r) >> 11) * (1.0 / 9007199254740992.0));
}

static uint64_t gc_hash(const char *s, uint64_t h)
{
    for (; s && *s; s++) h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h;
}

/* ---- element access as double ------------------------------------------------ */
static double gc_get(const graft_tensor *t, int64_t i)
{
    const void *d = graft_tensor_cdata(t);
    switch (graft_tensor_dtype(t)) {
    case GRAFT_FLOAT: return ((const float *)d)[i];
    case GRAFT_DOUBLE: return ((const double *)d)[i];
    case GRAFT_INT32: return ((const int32_t *)d)[i];
    case GRAFT_INT64: return (double)((const int64_t *)d)[i];
    case GRAFT_BOOL:
    case GRAFT_UINT8: return ((const uint8_t *)d)[i];
    default: return NAN;
    }
}

static void gc_set(graft_tensor *t, int64_t i, double v)
{
    void *d = graft_tensor_data(t);
    switch (graft_tensor_dtype(t)) {
    case GRAFT_FLOAT: ((float *)d)[i] = (float)v; break;
    case GRAFT_DOUBLE: ((double *)d)[i] = v; break;
    case GRAFT_INT32: ((int32_t *)d)[i] = (int32_t)v; break;
    case GRAFT_INT64: ((int64_t *)d)[i] = (int64_t)v; break;
    case GRAFT_BOOL: ((uint8_t *)d)[i] = v != 0; break;
    case GRAFT_UINT8: ((uint8_t *)d)[i] = (uint8_t)v; break;
    default: break;
    }
}

static bool gc_is_float(graft_dtype dt) { return dt == GRAFT_FLOAT || dt == GRAFT_DOUBLE; }

/* ---- the case state ------------------------------------------------------------ */
typedef struct gc_state {
    const graftT_gradcase *c;
    graftT_gradreport *rep;
    graft_graph *g;
    graft_out in[GRAFTT_MAX_IN];
    graft_tensor *val[GRAFTT_MAX_IN];   /* input values (fed or const) */
    graft_out out[GRAFTT_MAX_OUT];
    int n_out;
    graft_tensor *r[GRAFTT_MAX_OUT];    /* loss weights */
    graft_out feeds[GRAFTT_MAX_IN];
    graft_tensor *feed_vals[GRAFTT_MAX_IN];
    int n_feeds;
    graft_session *s;
} gc_state;

static bool gc_fail(gc_state *S, const char *fmt, ...) GRAFTI_PRINTF(2, 3);
static bool gc_fail(gc_state *S, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (!S->rep->msg[0]) vsnprintf(S->rep->msg, sizeof S->rep->msg, fmt, ap);
    va_end(ap);
    S->rep->ok = false;
    return false;
}

static graft_dtype gc_dtype(const graftT_input *in) { return in->dtype == GRAFT_INVALID ? GRAFT_FLOAT : in->dtype; }

/* Fills the input values by domain. DISTINCT inputs draw from one shared grid. */
static bool gc_make_values(gc_state *S, gc_rng *rng)
{
    const graftT_gradcase *c = S->c;
    int64_t n_distinct = 0;
    for (int i = 0; i < c->n_in; i++) {
        const graftT_input *in = &c->in[i];
        graft_status st;
        graft_tensor *t = graft_tensor_new(gc_dtype(in), in->dims, in->rank, &st);
        if (!t) return gc_fail(S, "input %d: %s", i, st.msg);
        S->val[i] = t;
        if (in->domain == GRAFTT_DISTINCT) n_distinct += graft_tensor_num_elements(t);
    }
    double *grid = NULL;
    if (n_distinct > 0) {
        grid = calloc((size_t)n_distinct, sizeof *grid);
        if (!grid) return gc_fail(S, "out of memory");
        for (int64_t k = 0; k < n_distinct; k++)
            grid[k] = n_distinct == 1 ? 0.3 : -1.0 + 2.0 * ((double)k + 0.5) / (double)n_distinct;
        for (int64_t k = n_distinct - 1; k > 0; k--) {
            int64_t j = (int64_t)(gc_next(rng) % (uint64_t)(k + 1));
            double tmp = grid[k];
            grid[k] = grid[j];
            grid[j] = tmp;
        }
    }
    int64_t gpos = 0;
    for (int i = 0; i < c->n_in; i++) {
        const graftT_input *in = &c->in[i];
        graft_tensor *t = S->val[i];
        graft_dtype dt = gc_dtype(in);
        bool fl = gc_is_float(dt);
        int64_t n = graft_tensor_num_elements(t);
        int64_t last = in->rank > 0 ? in->dims[in->rank - 1] : 1;
        if (in->domain == GRAFTT_VALUES && in->n_values != n) {
            free(grid);
            return gc_fail(S, "input %d: %lld values for %lld elements", i, (long long)in->n_values,
                           (long long)n);
        }
        for (int64_t k = 0; k < n; k++) {
            double v;
            switch (in->domain) {
            case GRAFTT_POSITIVE: v = fl ? gc_unif(rng, 0.5, 2.0) : (double)(1 + gc_next(rng) % 5); break;
            case GRAFTT_NONZERO: {
                double m = gc_unif(rng, 0.5, 1.5);
                v = (gc_next(rng) & 1) ? m : -m;
                if (!fl) v = v > 0 ? 1 + gc_next(rng) % 4 : -(double)(1 + gc_next(rng) % 4);
                break;
            }
            case GRAFTT_DISTINCT: v = grid[gpos++]; break;
            case GRAFTT_RANGE:
                v = fl ? gc_unif(rng, in->lo, in->hi)
                       : in->lo + (double)(gc_next(rng) % (uint64_t)(in->hi - in->lo + 1));
                break;
            case GRAFTT_ONEHOT: v = 0; break;
            case GRAFTT_SIMPLEX: v = gc_unif(rng, 0.1, 1.0); break;
            case GRAFTT_VALUES: v = in->values[k]; break;
            case GRAFTT_ANY:
            default:
                if (dt == GRAFT_BOOL) v = (double)(gc_next(rng) & 1);
                else if (fl) v = gc_unif(rng, -1.0, 1.0);
                else v = (double)((int64_t)(gc_next(rng) % 11) - 5);
                break;
            }
            gc_set(t, k, v);
        }
        if ((in->domain == GRAFTT_ONEHOT || in->domain == GRAFTT_SIMPLEX) && last > 0) {
            for (int64_t row = 0; row < n / last; row++) {
                if (in->domain == GRAFTT_ONEHOT) {
                    gc_set(t, row * last + (int64_t)(gc_next(rng) % (uint64_t)last), 1.0);
                } else {
                    double sum = 0;
                    for (int64_t k = 0; k < last; k++) sum += gc_get(t, row * last + k);
                    for (int64_t k = 0; k < last; k++) gc_set(t, row * last + k, gc_get(t, row * last + k) / sum);
                }
            }
        }
    }
    free(grid);
    return true;
}

static graft_shape gc_decl_shape(const graftT_input *in)
{
    graft_shape s = graft_shape_make(in->rank, in->dims);
    switch (in->decl) {
    case GRAFTT_DECL_DIMS_UNKNOWN:
        for (int d = 0; d < s.rank; d++) s.dims[d] = -1;
        break;
    case GRAFTT_DECL_FIRST_UNKNOWN:
        if (s.rank > 0) s.dims[0] = -1;
        break;
    case GRAFTT_DECL_RANK_UNKNOWN: s = graft_shape_unknown(); break;
    default: break;
    }
    return s;
}

/* The generic builder: op type, inputs, attrs; outputs by out_mask. */
static int gc_build_generic(gc_state *S)
{
    const graftT_gradcase *c = S->c;
    graft_op_builder *b = graft_op_builder_new(S->g, c->op, "op");
    if (!b) {
        gc_fail(S, "graft_op_builder_new failed: %s", graft_graph_errmsg(S->g));
        return 0;
    }
    for (int i = 0; i < c->n_in; i++) graft_op_builder_add_input(b, S->in[i]);
    for (int a = 0; a < GRAFTT_MAX_ATTRS && c->attrs[a].name; a++) {
        const graftT_attr *at = &c->attrs[a];
        switch (at->kind) {
        case 'i': graft_op_builder_attr_int(b, at->name, at->i); break;
        case 'f': graft_op_builder_attr_float(b, at->name, (float)at->f); break;
        case 'b': graft_op_builder_attr_bool(b, at->name, at->i != 0); break;
        case 't': graft_op_builder_attr_type(b, at->name, (graft_dtype)at->i); break;
        case 's': graft_op_builder_attr_string(b, at->name, at->s, strlen(at->s)); break;
        case 'I': graft_op_builder_attr_int_list(b, at->name, at->list, at->n); break;
        case 'S':
            graft_op_builder_attr_shape(b, at->name,
                                        at->n < 0 ? graft_shape_unknown() : graft_shape_make(at->n, at->list));
            break;
        default:
            graft_op_builder_free(b);
            gc_fail(S, "attr %s: unknown kind '%c'", at->name, at->kind);
            return 0;
        }
    }
    graft_status st;
    graft_op *op = graft_op_builder_finish(b, &st);
    if (!op) {
        gc_fail(S, "building %s: %s", c->op, st.msg);
        return 0;
    }
    unsigned mask = c->out_mask ? c->out_mask : 1u;
    int n = 0;
    for (int k = 0; k < graft_op_num_outputs(op) && k < 32; k++)
        if ((mask >> k) & 1u) {
            if (n == GRAFTT_MAX_OUT) break;
            S->out[n++] = graftI_o(op, k);
        }
    if (n == 0) gc_fail(S, "out_mask selects no output of %s", c->op);
    return n;
}

/* Host-side loss sum_k sum(y_k * R_k) in double. */
static bool gc_loss(gc_state *S, double *loss)
{
    graft_tensor *ys[GRAFTT_MAX_OUT] = {0};
    graft_status st;
    if (graft_session_run(S->s, S->feeds, S->feed_vals, S->n_feeds, S->out, ys, S->n_out, NULL, 0, &st) != GRAFT_OK)
        return gc_fail(S, "forward run: %s", st.msg);
    double L = 0;
    bool ok = true;
    for (int k = 0; k < S->n_out; k++) {
        if (!S->r[k] || graft_tensor_num_elements(ys[k]) != graft_tensor_num_elements(S->r[k])) {
            ok = gc_fail(S, "output %d changed size between runs", k);
            continue;
        }
        int64_t n = graft_tensor_num_elements(ys[k]);
        for (int64_t i = 0; i < n; i++) L += gc_get(ys[k], i) * gc_get(S->r[k], i);
    }
    for (int k = 0; k < S->n_out; k++) graft_tensor_free(ys[k]);
    *loss = L;
    return ok;
}

static bool gc_graph_has_type(const graft_graph *g, const char *type)
{
    for (int i = 0; i < graft_graph_num_ops(g); i++)
        if (strcmp(graft_op_type(graft_graph_op_at(g, i)), type) == 0) return true;
    return false;
}

static bool gc_run_case(gc_state *S)
{
    const graftT_gradcase *c = S->c;
    graft_status st;
    if (c->n_in < 0 || c->n_in > GRAFTT_MAX_IN) return gc_fail(S, "bad n_in %d", c->n_in);
    gc_rng rng = {c->seed ? c->seed : gc_hash(c->label, gc_hash(c->op, 1469598103934665603ull))};
    if (!gc_make_values(S, &rng)) return false;

    /* inputs */
    for (int i = 0; i < c->n_in; i++) {
        const graftT_input *in = &c->in[i];
        char name[32];
        snprintf(name, sizeof name, "x%d", i);
        if (in->as_const) {
            S->in[i] = graft_const(S->g, name, S->val[i]);
        } else {
            S->in[i] = graft_placeholder(S->g, name, gc_dtype(in), gc_decl_shape(in));
            S->feeds[S->n_feeds] = S->in[i];
            S->feed_vals[S->n_feeds++] = S->val[i];
        }
        if (!graft_out_ok(S->in[i])) return gc_fail(S, "input %d: %s", i, graft_graph_errmsg(S->g));
        if (in->check && (in->as_const || !gc_is_float(gc_dtype(in))))
            return gc_fail(S, "input %d: only float placeholder inputs can be checked", i);
    }

    /* the op */
    S->n_out = c->build ? c->build(S->g, S->in, c, S->out) : gc_build_generic(S);
    /* a build may substitute an input by another tensor to feed in its place
     * (e.g. a resource variable's handle for ReadVariableOp): feeds follow in[] */
    for (int i = 0, f = 0; i < c->n_in; i++)
        if (!c->in[i].as_const) S->feeds[f++] = S->in[i];
    if (S->n_out <= 0 || S->n_out > GRAFTT_MAX_OUT) {
        if (graft_graph_status(S->g) != GRAFT_OK) return gc_fail(S, "build: %s", graft_graph_errmsg(S->g));
        return gc_fail(S, "build returned %d outputs", S->n_out);
    }
    for (int k = 0; k < S->n_out; k++) {
        if (!graft_out_ok(S->out[k])) return gc_fail(S, "build: output %d null: %s", k, graft_graph_errmsg(S->g));
        if (!gc_is_float(graft_out_dtype(S->out[k])))
            return gc_fail(S, "output %d has dtype %s; the loss needs float outputs", k,
                           graft_dtype_name(graft_out_dtype(S->out[k])));
    }
    if (!gc_graph_has_type(S->g, c->op)) return gc_fail(S, "the built graph has no %s op", c->op);

    /* forward once for the output shapes, then the weights R */
    S->s = graft_session_new(S->g, NULL, &st);
    if (!S->s) return gc_fail(S, "session: %s", st.msg);
    graft_tensor *ys[GRAFTT_MAX_OUT] = {0};
    if (graft_session_run(S->s, S->feeds, S->feed_vals, S->n_feeds, S->out, ys, S->n_out, NULL, 0, &st) != GRAFT_OK)
        return gc_fail(S, "forward run: %s", st.msg);
    for (int k = 0; k < S->n_out; k++) {
        graft_shape sh = graft_tensor_shape(ys[k]);
        S->r[k] = graft_tensor_new(graft_tensor_dtype(ys[k]), sh.dims, sh.rank, &st);
        graft_tensor_free(ys[k]);
        if (!S->r[k]) return gc_fail(S, "R: %s", st.msg);
        for (int64_t i = 0; i < graft_tensor_num_elements(S->r[k]); i++) gc_set(S->r[k], i, gc_unif(&rng, -1, 1));
    }
    graft_session_free(S->s);
    S->s = NULL;

    /* analytic gradients */
    graft_out xs[GRAFTT_MAX_IN], dxs[GRAFTT_MAX_IN], gys[GRAFTT_MAX_OUT];
    int xi[GRAFTT_MAX_IN], nx = 0;
    for (int i = 0; i < c->n_in; i++)
        if (c->in[i].check) {
            xi[nx] = i;
            xs[nx++] = S->in[i];
        }
    if (nx == 0) return gc_fail(S, "no input is checked");
    for (int k = 0; k < S->n_out; k++) {
        char name[32];
        snprintf(name, sizeof name, "R%d", k);
        gys[k] = graft_const(S->g, name, S->r[k]);
        if (!graft_out_ok(gys[k])) return gc_fail(S, "R const: %s", graft_graph_errmsg(S->g));
    }
    if (graft_gradients(S->g, S->out, S->n_out, xs, nx, gys, dxs, &st) != GRAFT_OK)
        return gc_fail(S, "graft_gradients: %s", st.msg);
    graft_out fetch[GRAFTT_MAX_IN];
    int fi[GRAFTT_MAX_IN], nf = 0;
    for (int j = 0; j < nx; j++) {
        if (!graft_out_ok(dxs[j])) return gc_fail(S, "input %d: no gradient (dx is null)", xi[j]);
        if (graft_out_dtype(dxs[j]) != gc_dtype(&c->in[xi[j]]))
            return gc_fail(S, "input %d: gradient dtype %s, input %s", xi[j], graft_dtype_name(graft_out_dtype(dxs[j])),
                           graft_dtype_name(gc_dtype(&c->in[xi[j]])));
        fi[nf] = j;
        fetch[nf++] = dxs[j];
    }
    S->s = graft_session_new(S->g, NULL, &st);
    if (!S->s) return gc_fail(S, "session: %s", st.msg);
    graft_tensor *ga[GRAFTT_MAX_IN] = {0};
    if (graft_session_run(S->s, S->feeds, S->feed_vals, S->n_feeds, fetch, ga, nf, NULL, 0, &st) != GRAFT_OK)
        return gc_fail(S, "gradient run: %s", st.msg);

    /* numeric gradients, element by element */
    bool ok = true;
    for (int f = 0; f < nf && ok; f++) {
        int i = xi[fi[f]];
        const graftT_input *in = &c->in[i];
        graft_tensor *x = S->val[i];
        bool is32 = gc_dtype(in) == GRAFT_FLOAT;
        double eps = c->eps > 0 ? c->eps : (is32 ? 1e-3 : 1e-6);
        double tol = c->tol > 0 ? c->tol : (is32 ? 1e-2 : 1e-6);
        double flo = c->floor > 0 ? c->floor : (is32 ? 1e-2 : 1e-6);
        int64_t n = graft_tensor_num_elements(x);
        if (graft_tensor_num_elements(ga[f]) != n) {
            ok = gc_fail(S, "input %d: gradient has %lld elements, input %lld", i,
                         (long long)graft_tensor_num_elements(ga[f]), (long long)n);
            break;
        }
        graft_shape gs = graft_tensor_shape(ga[f]), xsh = graft_tensor_shape(x);
        if (!graftI_shape_equal(&gs, &xsh)) {
            char b1[64], b2[64];
            ok = gc_fail(S, "input %d: gradient shape %s, input %s", i, graft_shape_str(&gs, b1, sizeof b1),
                         graft_shape_str(&xsh, b2, sizeof b2));
            break;
        }
        for (int64_t e = 0; e < n && ok; e++) {
            double x0 = gc_get(x, e), lp, lm;
            gc_set(x, e, x0 + eps);
            double xp = gc_get(x, e);
            if (!gc_loss(S, &lp)) { ok = false; break; }
            gc_set(x, e, x0 - eps);
            double xm = gc_get(x, e);
            if (!gc_loss(S, &lm)) { ok = false; break; }
            gc_set(x, e, x0);
            double num = (lp - lm) / (xp - xm);
            double an = gc_get(ga[f], e);
            double den = fmax(fmax(fabs(an), fabs(num)), flo);
            double err = fabs(an - num) / den;
            if (!(err <= S->rep->max_err)) S->rep->max_err = err; /* NaN sticks */
            S->rep->n_checked++;
            if (!(err <= tol))
                ok = gc_fail(S, "input %d element %lld: analytic %.8g numeric %.8g (err %.3g > tol %.3g)", i,
                             (long long)e, an, num, err, tol);
        }
    }
    for (int f = 0; f < nf; f++) graft_tensor_free(ga[f]);
    return ok;
}

bool graftT_gradcheck_run(const graftT_gradcase *c, graftT_gradreport *rep)
{
    graftT_gradreport local;
    if (!rep) rep = &local;
    memset(rep, 0, sizeof *rep);
    rep->ok = true;
    gc_state S;
    memset(&S, 0, sizeof S);
    S.c = c;
    S.rep = rep;
    S.g = graft_graph_new();
    if (!S.g) {
        gc_fail(&S, "graft_graph_new failed");
    } else {
        gc_run_case(&S);
    }
    graft_session_free(S.s);
    graft_graph_free(S.g);
    for (int i = 0; i < GRAFTT_MAX_IN; i++) graft_tensor_free(S.val[i]);
    for (int k = 0; k < GRAFTT_MAX_OUT; k++) graft_tensor_free(S.r[k]);
    printf("%-4s %-22s %-44s n=%-4d max_err=%.2e%s%s\n", rep->ok ? "ok" : "FAIL", c->op, c->label ? c->label : "",
           rep->n_checked, rep->max_err, rep->ok ? "" : "\n     ", rep->msg);
    fflush(stdout);
    return rep->ok;
}

int graftT_gradcheck_table(const char *group, const graftT_gradcase *table)
{
    int fails = 0, n = 0;
    for (const graftT_gradcase *c = table; c && c->op; c++, n++)
        if (!graftT_gradcheck_run(c, NULL)) fails++;
    printf("gradcheck group %s: %d cases, %d failed\n", group, n, fails);
    return fails;
}

int graftT_gradcheck_coverage(const graftT_gradgroup *groups)
{
    int missing = 0;
    char exempt[4096];
    size_t used = 0;
    exempt[0] = 0;
    for (int i = 0; i < graftI_op_count(); i++) {
        const graftI_op_def *d = graftI_op_at(i);
        if (!d->grad || (d->flags & GRAFTI_OP_NO_GRAD)) {
            int w = snprintf(exempt + used, sizeof exempt - used, "%s%s", used ? " " : "", d->name);
            if (w > 0 && (size_t)w < sizeof exempt - used) used += (size_t)w;
            continue;
        }
        bool found = false;
        for (const graftT_gradgroup *gr = groups; gr->group && !found; gr++)
            for (const graftT_gradcase *c = gr->cases; c && c->op && !found; c++)
                if (strcmp(c->op, d->name) == 0) found = true;
        if (!found) {
            printf("MISSING gradcheck case for op %s (it has a gradient builder)\n", d->name);
            missing++;
        }
    }
    printf("gradcheck exempt (no gradient): %s\n", exempt);
    return missing;
}
