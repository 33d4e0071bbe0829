/* lib/session.c - running graphs: pruning to what the fetches and targets
 * need (a cached plan per feed/fetch/target signature), reference-counted
 * values freed after their last use, pooled buffers, variable storage, and the
 * kernel context the op files use. */
#include "internal.h"

#include <cblas.h>
#include <stdio.h>
#include <unistd.h>

#define MAX_PLANS 16

typedef struct plan {
    /* key */
    graft_out *feeds;
    int nfeeds;
    graft_out *fetches;
    int nfetches;
    graft_op **targets;
    int ntargets;
    /* body */
    graft_op **order;      /* ops to run, topological */
    int n_order;
    int *slot_base;        /* per op id: first slot of its outputs, -1 if not in plan and not fed */
    int n_slots;
    int *uses;             /* per slot: consumers in the plan (+1 per fetch) */
    int *feed_slot;        /* per feed */
    int *fetch_slot;
    int max_in;
    uint64_t last_used;
} plan;

struct graft_session {
    graft_graph *g;
    graft_session_opts opts;
    graftI_pool *pool;
    graft_tensor **vars;   /* per op id: variable storage */
    int cap_vars;
    uint64_t *opstate;     /* per op id: kernel-private state */
    int cap_opstate;
    plan *plans[MAX_PLANS];
    int nplans;
    uint64_t tick;
    /* run state */
    graft_tensor **vals;
    int cap_vals;
    int *left;
    int cap_left;
    graft_tensor **scratch;
    int n_scratch, cap_scratch;
    bool *last_use;        /* per input of the current op */
    int cap_last_use;
    graft_session_stats stats;
};

void graft_session_opts_init(graft_session_opts *o)
{
    if (!o) return;
    memset(o, 0, sizeof *o);
}

graft_session *graft_session_new(graft_graph *g, const graft_session_opts *opts, graft_status *st)
{
    if (!g) return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "graft_session_new: NULL graph"), NULL;
    graft_session *s = graftI_calloc(1, sizeof *s);
    if (!s) return graft_status_set(st, GRAFT_ERR_NOMEM, "out of memory creating a session"), NULL;
    s->g = g;
    if (opts) s->opts = *opts;
    s->pool = graftI_pool_new();
    if (!s->pool) {
        graftI_free(s);
        return graft_status_set(st, GRAFT_ERR_NOMEM, "out of memory creating a session"), NULL;
    }
    int nt = s->opts.n_threads;
    if (nt <= 0) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        nt = c > 0 ? (int)c : 1;
        s->opts.n_threads = nt;
    }
    openblas_set_num_threads(nt);
    graft_status_clear(st);
    return s;
}

static void plan_free(plan *p)
{
    if (!p) return;
    graftI_free(p->feeds);
    graftI_free(p->fetches);
    graftI_free(p->targets);
    graftI_free(p->order);
    graftI_free(p->slot_base);
    graftI_free(p->uses);
    graftI_free(p->feed_slot);
    graftI_free(p->fetch_slot);
    graftI_free(p);
}

void graft_session_free(graft_session *s)
{
    if (!s) return;
    for (int i = 0; i < s->cap_vars; i++) graft_tensor_free(s->vars[i]);
    graftI_free(s->vars);
    graftI_free(s->opstate);
    for (int i = 0; i < s->nplans; i++) plan_free(s->plans[i]);
    graftI_free(s->vals);
    graftI_free(s->left);
    graftI_free(s->scratch);
    graftI_free(s->last_use);
    graftI_pool_close(s->pool);
    graftI_free(s);
}

graft_graph *graft_session_graph(const graft_session *s) { return s ? s->g : NULL; }

void graft_session_get_stats(const graft_session *s, graft_session_stats *out)
{
    if (!s || !out) return;
    *out = s->stats;
    out->live_bytes = graftI_pool_live_bytes(s->pool);
}

static bool ensure_per_op(graft_session *s)
{
    int n = graft_graph_num_ops(s->g);
    if (!graftI_grow((void **)&s->vars, &s->cap_vars, n, sizeof(graft_tensor *))) return false;
    if (!graftI_grow((void **)&s->opstate, &s->cap_opstate, n, sizeof(uint64_t))) return false;
    return true;
}

const char *graftI_tf_dtype_string(graft_dtype dt)
{
    switch (dt) {
    case GRAFT_FLOAT: return "float";
    case GRAFT_DOUBLE: return "double";
    case GRAFT_HALF: return "half";
    default: return graft_dtype_name(dt) ? graft_dtype_name(dt) : "invalid";
    }
}

/* ---- planning -------------------------------------------------------------------- */
static bool out_eq(graft_out a, graft_out b) { return a.op == b.op && a.index == b.index; }

static plan *plan_find(graft_session *s, const graft_out *feeds, int nf, const graft_out *fetches, int nx,
                       graft_op *const *targets, int nt)
{
    for (int i = 0; i < s->nplans; i++) {
        plan *p = s->plans[i];
        if (p->nfeeds != nf || p->nfetches != nx || p->ntargets != nt) continue;
        bool same = true;
        for (int j = 0; j < nf && same; j++) same = out_eq(p->feeds[j], feeds[j]);
        for (int j = 0; j < nx && same; j++) same = out_eq(p->fetches[j], fetches[j]);
        for (int j = 0; j < nt && same; j++) same = p->targets[j] == targets[j];
        if (same) return p;
    }
    return NULL;
}

static bool is_fed(const graft_out *feeds, int nf, const graft_op *op, int idx)
{
    for (int j = 0; j < nf; j++)
        if (feeds[j].op == op && feeds[j].index == idx) return true;
    return false;
}

static graft_code plan_build(graft_session *s, const graft_out *feeds, int nf, const graft_out *fetches, int nx,
                             graft_op *const *targets, int nt, plan **out, graft_status *st)
{
    graft_graph *g = s->g;
    int n = graft_graph_num_ops(g);
    graft_code rc = GRAFT_ERR_NOMEM;
    plan *p = graftI_calloc(1, sizeof *p);
    char *need = graftI_calloc((size_t)(n ? n : 1), 1);
    graft_op **stack = graftI_calloc((size_t)(n ? n : 1), sizeof(graft_op *));
    if (!p || !need || !stack) goto nomem;
    p->nfeeds = nf;
    p->nfetches = nx;
    p->ntargets = nt;
    p->feeds = graftI_calloc((size_t)nf + 1, sizeof(graft_out));
    p->fetches = graftI_calloc((size_t)nx + 1, sizeof(graft_out));
    p->targets = graftI_calloc((size_t)nt + 1, sizeof(graft_op *));
    p->slot_base = graftI_calloc((size_t)n + 1, sizeof(int));
    p->feed_slot = graftI_calloc((size_t)nf + 1, sizeof(int));
    p->fetch_slot = graftI_calloc((size_t)nx + 1, sizeof(int));
    if (!p->feeds || !p->fetches || !p->targets || !p->slot_base || !p->feed_slot || !p->fetch_slot) goto nomem;
    if (nf) memcpy(p->feeds, feeds, (size_t)nf * sizeof(graft_out));
    if (nx) memcpy(p->fetches, fetches, (size_t)nx * sizeof(graft_out));
    if (nt) memcpy(p->targets, targets, (size_t)nt * sizeof(graft_op *));

    /* backward reachability, iterative */
    int sp = 0;
    for (int j = 0; j < nx; j++) {
        graft_op *op = fetches[j].op;
        if (is_fed(feeds, nf, op, fetches[j].index)) continue;
        if (!need[op->id]) {
            need[op->id] = 1;
            stack[sp++] = op;
        }
    }
    for (int j = 0; j < nt; j++) {
        graft_op *op = targets[j];
        if (!need[op->id]) {
            need[op->id] = 1;
            stack[sp++] = op;
        }
    }
    while (sp > 0) {
        graft_op *op = stack[--sp];
        for (int i = 0; i < op->n_in; i++) {
            graft_op *q = op->in[i].op;
            if (is_fed(feeds, nf, q, op->in[i].index) || need[q->id]) continue;
            need[q->id] = 1;
            stack[sp++] = q;
        }
        for (int i = 0; i < op->n_ctrl; i++) {
            graft_op *q = op->ctrl[i];
            if (need[q->id]) continue;
            need[q->id] = 1;
            stack[sp++] = q;
        }
    }
    int cnt = 0;
    for (int i = 0; i < n; i++) cnt += need[i];
    p->order = graftI_calloc((size_t)cnt + 1, sizeof(graft_op *));
    if (!p->order) goto nomem;
    /* creation order is a topological order: inputs exist before their consumers */
    int slots = 0;
    for (int i = 0; i < n; i++) {
        graft_op *op = graft_graph_op_at(g, i);
        p->slot_base[i] = -1;
        bool fed_any = false;
        for (int j = 0; j < nf && !fed_any; j++) fed_any = feeds[j].op == op;
        if (need[i] || fed_any) {
            p->slot_base[i] = slots;
            slots += op->n_out;
        }
        if (!need[i]) continue;
        if (!op->def || !op->def->forward) {
            rc = graft_status_set(st, GRAFT_ERR_UNSUPPORTED,
                                  "%s: op type '%s' is not supported by graft (the node was imported inert); it is "
                                  "needed by the requested fetches or targets",
                                  op->name, op->type);
            goto fail;
        }
        if (op->def->flags & GRAFTI_OP_PLACEHOLDER) {
            char shp[160] = "";
            if (op->n_out > 0 && op->out[0].shape.rank >= 0) {
                char b[128];
                snprintf(shp, sizeof shp, " and shape %s", graft_shape_str(&op->out[0].shape, b, sizeof b));
            }
            rc = graft_status_set(st, GRAFT_ERR_FAILED_PRECONDITION,
                                  "You must feed a value for placeholder tensor '%s' with dtype %s%s", op->name,
                                  graftI_tf_dtype_string(op->n_out ? op->out[0].dtype : GRAFT_INVALID), shp);
            goto fail;
        }
        if (op->n_in > p->max_in) p->max_in = op->n_in;
        p->order[p->n_order++] = op;
    }
    p->n_slots = slots;
    p->uses = graftI_calloc((size_t)slots + 1, sizeof(int));
    if (!p->uses) goto nomem;
    for (int k = 0; k < p->n_order; k++) {
        graft_op *op = p->order[k];
        for (int i = 0; i < op->n_in; i++) {
            int base = p->slot_base[op->in[i].op->id];
            if (base < 0) {
                rc = graft_status_set(st, GRAFT_ERR_INTERNAL, "%s: input %d has no slot", op->name, i);
                goto fail;
            }
            p->uses[base + op->in[i].index]++;
        }
    }
    for (int j = 0; j < nf; j++) p->feed_slot[j] = p->slot_base[feeds[j].op->id] + feeds[j].index;
    for (int j = 0; j < nx; j++) {
        p->fetch_slot[j] = p->slot_base[fetches[j].op->id] + fetches[j].index;
        p->uses[p->fetch_slot[j]]++;
    }
    graftI_free(need);
    graftI_free(stack);
    *out = p;
    return GRAFT_OK;
nomem:
    rc = graft_status_set(st, GRAFT_ERR_NOMEM, "out of memory planning a run");
fail:
    graftI_free(need);
    graftI_free(stack);
    plan_free(p);
    return rc;
}

static graft_code get_plan(graft_session *s, const graft_out *feeds, int nf, const graft_out *fetches, int nx,
                           graft_op *const *targets, int nt, plan **out, graft_status *st)
{
    plan *p = plan_find(s, feeds, nf, fetches, nx, targets, nt);
    if (!p) {
        graft_code rc = plan_build(s, feeds, nf, fetches, nx, targets, nt, &p, st);
        if (rc != GRAFT_OK) return rc;
        if (s->nplans == MAX_PLANS) {
            int lru = 0;
            for (int i = 1; i < s->nplans; i++)
                if (s->plans[i]->last_used < s->plans[lru]->last_used) lru = i;
            plan_free(s->plans[lru]);
            s->plans[lru] = p;
        } else {
            s->plans[s->nplans++] = p;
        }
    }
    p->last_used = ++s->tick;
    *out = p;
    return GRAFT_OK;
}

/* ---- kernel context ---------------------------------------------------------------- */
graft_tensor *graftI_out_alloc(graftI_kctx *k, int i, graft_dtype dt, const int64_t *dims, int rank, bool zero)
{
    graft_tensor *t = graftI_tensor_alloc(k->s->pool, dt, dims, rank, zero);
    if (!t) {
        graft_shape sh = graft_shape_make(rank, dims);
        char b[128];
        graftI_kfail(k, GRAFT_ERR_NOMEM, "cannot allocate output %d: %s %s", i, graft_dtype_name(dt),
                     graft_shape_str(&sh, b, sizeof b));
        return NULL;
    }
    graft_tensor_free(k->out[i]);
    k->out[i] = t;
    return t;
}

void graftI_out_set(graftI_kctx *k, int i, graft_tensor *t)
{
    graft_tensor_free(k->out[i]);
    k->out[i] = t;
}

graft_tensor *graftI_out_view(graftI_kctx *k, int i, int j, const int64_t *dims, int rank)
{
    graft_tensor *t = graftI_tensor_view(k->s->pool, k->in[j], dims, rank);
    if (!t) {
        graftI_kfail(k, GRAFT_ERR_NOMEM, "cannot make a view of input %d", j);
        return NULL;
    }
    graft_tensor_free(k->out[i]);
    k->out[i] = t;
    return t;
}

graft_tensor *graftI_out_reuse(graftI_kctx *k, int i, int j, graft_dtype dt, const int64_t *dims, int rank)
{
    graft_tensor *in = k->in[j];
    if (in && k->s->last_use && k->s->last_use[j] && in->refcnt == 1 && in->buf->refcnt == 1 && in->dtype == dt &&
        dt != GRAFT_STRING && !in->buf->dealloc) {
        int64_t n = 1;
        for (int d = 0; d < rank; d++) n *= dims[d];
        if (n == in->n) {
            graft_tensor *t = graftI_tensor_view(k->s->pool, in, dims, rank);
            if (t) {
                graft_tensor_free(k->out[i]);
                k->out[i] = t;
                return t;
            }
        }
    }
    return graftI_out_alloc(k, i, dt, dims, rank, false);
}

void *graftI_scratch(graftI_kctx *k, size_t bytes)
{
    graft_session *s = k->s;
    if (!graftI_grow((void **)&s->scratch, &s->cap_scratch, s->n_scratch + 1, sizeof(graft_tensor *))) {
        graftI_kfail(k, GRAFT_ERR_NOMEM, "out of memory for scratch");
        return NULL;
    }
    int64_t d = (int64_t)(bytes ? bytes : 1);
    graft_tensor *t = graftI_tensor_alloc(s->pool, GRAFT_UINT8, &d, 1, false);
    if (!t) {
        graftI_kfail(k, GRAFT_ERR_NOMEM, "cannot allocate %zu bytes of scratch", bytes);
        return NULL;
    }
    s->scratch[s->n_scratch++] = t;
    return t->data;
}

graft_code graftI_kfail(graftI_kctx *k, graft_code code, const char *fmt, ...)
{
    char msg[GRAFT_STATUS_MSG_MAX - 256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return graft_status_set(k->st, code, "%s (%s): %s", k->op->name, k->op->type, msg);
}

graft_tensor **graftI_var_slot(graftI_kctx *k, const graft_op *var)
{
    if (!var || var->id >= k->s->cap_vars) return NULL;
    return &k->s->vars[var->id];
}

uint64_t *graftI_op_state(graftI_kctx *k) { return &k->s->opstate[k->op->id]; }
int graftI_threads(graftI_kctx *k) { return k->s->opts.n_threads; }

/* ---- run ----------------------------------------------------------------------------- */
static graft_code check_feed(graft_out f, const graft_tensor *v, graft_status *st)
{
    char nb[600];
    graft_out_name(f, nb, sizeof nb);
    if (!v) return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "feed for '%s' is NULL", nb);
    graft_dtype want = graft_out_dtype(f);
    if (want != GRAFT_INVALID && v->dtype != want)
        return graft_status_set(st, GRAFT_ERR_DTYPE, "Cannot feed a %s value to tensor '%s', which has dtype %s",
                                graft_dtype_name(v->dtype), nb, graft_dtype_name(want));
    graft_shape want_s = graft_out_shape(f), got = graftI_tensor_shape(v);
    if (!graftI_shape_compatible(&want_s, &got)) {
        char a[128], b[128];
        return graft_status_set(st, GRAFT_ERR_SHAPE, "Cannot feed value of shape %s for Tensor '%s', which has shape %s",
                                graft_shape_str(&got, a, sizeof a), nb, graft_shape_str(&want_s, b, sizeof b));
    }
    return GRAFT_OK;
}

static void release_scratch(graft_session *s)
{
    for (int i = 0; i < s->n_scratch; i++) graft_tensor_free(s->scratch[i]);
    s->n_scratch = 0;
}

graft_code graft_session_run(graft_session *s, const graft_out *feeds, graft_tensor *const *feed_vals, int nfeeds,
                             const graft_out *fetches, graft_tensor **fetch_vals, int nfetches,
                             graft_op *const *targets, int ntargets, graft_status *st)
{
    if (!s) return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "graft_session_run: NULL session");
    for (int j = 0; j < nfetches; j++) fetch_vals[j] = NULL;
    if (nfeeds < 0 || nfetches < 0 || ntargets < 0 || (nfeeds && (!feeds || !feed_vals)) ||
        (nfetches && (!fetches || !fetch_vals)) || (ntargets && !targets))
        return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "graft_session_run: bad counts or NULL arrays");
    graft_graph *g = s->g;
    if (graft_graph_status(g) != GRAFT_OK)
        return graft_status_set(st, GRAFT_ERR_FAILED_PRECONDITION,
                                "the graph has a pending build error; clear it first: %s", graft_graph_errmsg(g));
    for (int j = 0; j < nfeeds + nfetches + ntargets; j++) {
        graft_op *op = j < nfeeds ? feeds[j].op : j < nfeeds + nfetches ? fetches[j - nfeeds].op : targets[j - nfeeds - nfetches];
        int idx = j < nfeeds ? feeds[j].index : j < nfeeds + nfetches ? fetches[j - nfeeds].index : 0;
        if (!op || op->g != g)
            return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "graft_session_run: %s %d is %s",
                                    j < nfeeds ? "feed" : j < nfeeds + nfetches ? "fetch" : "target",
                                    j < nfeeds ? j : j < nfeeds + nfetches ? j - nfeeds : j - nfeeds - nfetches,
                                    op ? "from another graph" : "NULL");
        if (j < nfeeds + nfetches && (idx < 0 || idx >= op->n_out))
            return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "'%s' has no output %d", op->name, idx);
    }
    for (int j = 0; j < nfeeds; j++) {
        graft_code rc = check_feed(feeds[j], feed_vals[j], st);
        if (rc) return rc;
    }
    if (!ensure_per_op(s)) return graft_status_set(st, GRAFT_ERR_NOMEM, "out of memory");
    plan *p;
    graft_code rc = get_plan(s, feeds, nfeeds, fetches, nfetches, targets, ntargets, &p, st);
    if (rc) return rc;
    size_t allocs0 = graftI_pool_allocations(s->pool);
    if (!graftI_grow((void **)&s->vals, &s->cap_vals, p->n_slots + 1, sizeof(graft_tensor *)) ||
        !graftI_grow((void **)&s->left, &s->cap_left, p->n_slots + 1, sizeof(int)) ||
        !graftI_grow((void **)&s->last_use, &s->cap_last_use, p->max_in + 1, sizeof(bool)))
        return graft_status_set(st, GRAFT_ERR_NOMEM, "out of memory");
    graft_tensor **vals = s->vals;
    memset(vals, 0, (size_t)p->n_slots * sizeof *vals);
    memcpy(s->left, p->uses, (size_t)p->n_slots * sizeof(int));
    for (int j = 0; j < nfeeds; j++) {
        int sl = p->feed_slot[j];
        graft_tensor_free(vals[sl]);
        vals[sl] = graft_tensor_ref(feed_vals[j]);
    }
    graft_tensor *inbuf[64], *outbuf[64];
    graft_tensor **ins = inbuf, **outs = outbuf;
    int maxo = 0;
    for (int k = 0; k < p->n_order; k++)
        if (p->order[k]->n_out > maxo) maxo = p->order[k]->n_out;
    if (p->max_in > 64) ins = graftI_calloc((size_t)p->max_in, sizeof *ins);
    if (maxo > 64) outs = graftI_calloc((size_t)maxo, sizeof *outs);
    if (!ins || !outs) {
        rc = graft_status_set(st, GRAFT_ERR_NOMEM, "out of memory");
        goto done;
    }
    size_t peak = graftI_pool_live_bytes(s->pool);
    graft_status_clear(st);
    for (int k = 0; k < p->n_order; k++) {
        graft_op *op = p->order[k];
        if (s->opts.abort_cb && s->opts.abort_cb(s->opts.abort_ud)) {
            rc = graft_status_set(st, GRAFT_ERR_ABORTED, "run aborted by the abort callback before '%s'", op->name);
            goto done;
        }
        for (int i = 0; i < op->n_in; i++) {
            int sl = p->slot_base[op->in[i].op->id] + op->in[i].index;
            ins[i] = vals[sl];
            bool dup = false;
            for (int q = 0; q < op->n_in && !dup; q++)
                dup = q != i && op->in[q].op == op->in[i].op && op->in[q].index == op->in[i].index;
            s->last_use[i] = s->left[sl] == 1 && !dup;
            if (!ins[i] && !(i == 0 && (op->def->flags & GRAFTI_OP_REF_INPUT0))) {
                graft_op *src = op->in[i].op;
                if (src->def && (src->def->flags & GRAFTI_OP_VARIABLE))
                    rc = graft_status_set(st, GRAFT_ERR_FAILED_PRECONDITION,
                                          "Attempting to use uninitialized value %s (needed by '%s')", src->name,
                                          op->name);
                else
                    rc = graft_status_set(st, GRAFT_ERR_INTERNAL, "%s: input %d (%s:%d) has no value", op->name, i,
                                          src->name, op->in[i].index);
                goto done;
            }
        }
        for (int i = 0; i < op->n_out; i++) outs[i] = NULL;
        graftI_kctx kc = {s, op, op->n_in, ins, outs, st};
        rc = op->def->forward(&kc);
        release_scratch(s);
        if (rc == GRAFT_OK)
            for (int i = 0; i < op->n_out; i++)
                if (!outs[i] && !(op->def->flags & GRAFTI_OP_VARIABLE)) {
                    rc = graft_status_set(st, GRAFT_ERR_INTERNAL, "%s (%s): kernel produced no output %d", op->name,
                                          op->type, i);
                    break;
                }
        if (rc != GRAFT_OK) {
            if (st && st->code == GRAFT_OK) graft_status_set(st, rc, "%s (%s): failed", op->name, op->type);
            for (int i = 0; i < op->n_out; i++) graft_tensor_free(outs[i]);
            goto done;
        }
        int base = p->slot_base[op->id];
        for (int i = 0; i < op->n_out; i++) {
            if (s->left[base + i] > 0 && !vals[base + i]) vals[base + i] = outs[i];
            else graft_tensor_free(outs[i]); /* unused output, or fed (feed wins) */
        }
        size_t live = graftI_pool_live_bytes(s->pool);
        if (live > peak) peak = live;
        /* release inputs after their last use */
        for (int i = 0; i < op->n_in; i++) {
            int sl = p->slot_base[op->in[i].op->id] + op->in[i].index;
            if (--s->left[sl] == 0) {
                graft_tensor_free(vals[sl]);
                vals[sl] = NULL;
            }
        }
    }
    for (int j = 0; j < nfetches; j++) {
        graft_tensor *v = vals[p->fetch_slot[j]];
        if (!v) {
            graft_op *src = fetches[j].op;
            if (src->def && (src->def->flags & GRAFTI_OP_VARIABLE))
                rc = graft_status_set(st, GRAFT_ERR_FAILED_PRECONDITION, "Attempting to use uninitialized value %s",
                                      src->name);
            else
                rc = graft_status_set(st, GRAFT_ERR_INTERNAL, "fetch %d (%s) has no value", j, src->name);
            goto done;
        }
    }
    /* hand out fetches: never aliasing variables, feeds or each other */
    for (int j = 0; j < nfetches; j++) {
        int sl = p->fetch_slot[j];
        graft_tensor *v = vals[sl];
        if (v->refcnt == 1 && v->buf->refcnt == 1 && --s->left[sl] == 0) {
            fetch_vals[j] = v;
            vals[sl] = NULL;
        } else {
            fetch_vals[j] = graft_tensor_copy(v, st);
            if (!fetch_vals[j]) {
                rc = st ? st->code : GRAFT_ERR_NOMEM;
                goto done;
            }
            if (--s->left[sl] == 0) {
                graft_tensor_free(vals[sl]);
                vals[sl] = NULL;
            }
        }
    }
    s->stats.peak_bytes_last_run = peak;
    s->stats.ops_run_last_run = p->n_order;
done:
    for (int i = 0; i < p->n_slots; i++) {
        graft_tensor_free(vals[i]);
        vals[i] = NULL;
    }
    if (rc != GRAFT_OK)
        for (int j = 0; j < nfetches; j++) {
            graft_tensor_free(fetch_vals[j]);
            fetch_vals[j] = NULL;
        }
    if (ins != inbuf) graftI_free(ins);
    if (outs != outbuf) graftI_free(outs);
    s->stats.allocations_last_run = graftI_pool_allocations(s->pool) - allocs0;
    if (rc == GRAFT_OK) graft_status_clear(st);
    return rc;
}

graft_code graft_session_init_variables(graft_session *s, graft_status *st)
{
    if (!s) return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "NULL session");
    int n = graft_graph_num_variables(s->g), k = 0;
    graft_op **t = graftI_calloc((size_t)n + 1, sizeof *t);
    if (!t) return graft_status_set(st, GRAFT_ERR_NOMEM, "out of memory");
    for (int i = 0; i < n; i++) {
        graft_variable v;
        graft_graph_variable_at(s->g, i, &v);
        if (v.initializer) t[k++] = v.initializer;
    }
    graft_code rc = graft_session_run(s, NULL, NULL, 0, NULL, NULL, 0, t, k, st);
    graftI_free(t);
    return rc;
}

static graft_code check_var(graft_session *s, const graft_op *var, graft_status *st)
{
    if (!s || !var) return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "NULL session or variable");
    if (var->g != s->g) return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "'%s' is from another graph", var->name);
    if (!var->def || !(var->def->flags & GRAFTI_OP_VARIABLE))
        return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "'%s' (%s) is not a variable op", var->name, var->type);
    if (!ensure_per_op(s)) return graft_status_set(st, GRAFT_ERR_NOMEM, "out of memory");
    return GRAFT_OK;
}

graft_code graft_session_get_variable(graft_session *s, const graft_op *var, graft_tensor **out, graft_status *st)
{
    *out = NULL;
    graft_code rc = check_var(s, var, st);
    if (rc) return rc;
    graft_tensor *v = s->vars[var->id];
    if (!v) return graft_status_set(st, GRAFT_ERR_FAILED_PRECONDITION, "Attempting to use uninitialized value %s", var->name);
    *out = graft_tensor_copy(v, st);
    return *out ? GRAFT_OK : (st ? st->code : GRAFT_ERR_NOMEM);
}

graft_code graft_session_set_variable(graft_session *s, const graft_op *var, const graft_tensor *val, graft_status *st)
{
    graft_code rc = check_var(s, var, st);
    if (rc) return rc;
    if (!val) return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "NULL value for '%s'", var->name);
    graft_dtype want = var->n_out ? var->out[0].dtype : GRAFT_INVALID;
    if (want != GRAFT_INVALID && want != val->dtype)
        return graft_status_set(st, GRAFT_ERR_DTYPE, "'%s': variable is %s, value is %s", var->name,
                                graft_dtype_name(want), graft_dtype_name(val->dtype));
    graft_shape ws = var->n_out ? var->out[0].shape : graft_shape_unknown(), vs = graftI_tensor_shape(val);
    if (!graftI_shape_compatible(&ws, &vs)) {
        char a[128], b[128];
        return graft_status_set(st, GRAFT_ERR_SHAPE, "'%s': variable has shape %s, value has shape %s", var->name,
                                graft_shape_str(&ws, a, sizeof a), graft_shape_str(&vs, b, sizeof b));
    }
    graft_tensor *c = graft_tensor_copy(val, st);
    if (!c) return st ? st->code : GRAFT_ERR_NOMEM;
    graft_tensor_free(s->vars[var->id]);
    s->vars[var->id] = c;
    graft_status_clear(st);
    return GRAFT_OK;
}

graft_tensor *graft_session_variable_storage(graft_session *s, const graft_op *var)
{
    if (!s || !var || var->g != s->g || var->id >= s->cap_vars) return NULL;
    return s->vars[var->id];
}
