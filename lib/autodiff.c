/* lib/autodiff.c - reverse-mode autodiff as tf.gradients: find the ops between
 * xs and ys, walk them in reverse creation (= reverse topological) order, call
 * each op's gradient builder under "gradients/<op>_grad", and sum fan-in with
 * AddN. Gradients are ordinary graph ops. */
#include "internal.h"

#include <stdio.h>

typedef struct gradlist {
    graft_out *g;
    int n, cap;
} gradlist;

static bool is_float(graft_dtype dt) { return dt == GRAFT_FLOAT || dt == GRAFT_DOUBLE || dt == GRAFT_HALF; }

static bool push_grad(gradlist *l, graft_out o)
{
    if (!graftI_grow((void **)&l->g, &l->cap, l->n + 1, sizeof(graft_out))) return false;
    l->g[l->n++] = o;
    return true;
}

graft_code graft_gradients(graft_graph *g, const graft_out *ys, int ny, const graft_out *xs, int nx,
                           const graft_out *grad_ys, graft_out *dxs, graft_status *st)
{
    if (!g || (ny && !ys) || (nx && !xs) || !dxs || ny <= 0 || nx < 0)
        return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "graft_gradients: bad arguments");
    for (int i = 0; i < nx; i++) dxs[i].op = NULL, dxs[i].index = 0;
    if (graft_graph_status(g) != GRAFT_OK) return graft_graph_check(g, st);
    for (int i = 0; i < ny; i++)
        if (!ys[i].op || ys[i].op->g != g)
            return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "graft_gradients: y %d is null or from another graph", i);
    for (int i = 0; i < nx; i++)
        if (!xs[i].op || xs[i].op->g != g)
            return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "graft_gradients: x %d is null or from another graph", i);

    int n = graft_graph_num_ops(g);
    graft_code rc = GRAFT_OK;
    char *fwd = graftI_calloc((size_t)n, 1), *bwd = graftI_calloc((size_t)n, 1);
    graft_op **stack = graftI_calloc((size_t)n, sizeof(graft_op *));
    int *cons_start = graftI_calloc((size_t)n + 1, sizeof(int));
    graft_op **cons = NULL;
    gradlist *acc = NULL; /* per op output slot */
    int *slot = graftI_calloc((size_t)n + 1, sizeof(int));
    graft_out *dy = NULL, *dx = NULL;
    if (!fwd || !bwd || !stack || !cons_start || !slot) goto nomem;

    /* consumer lists (CSR) */
    int total = 0;
    for (int i = 0; i < n; i++) {
        graft_op *op = graft_graph_op_at(g, i);
        for (int j = 0; j < op->n_in; j++) cons_start[op->in[j].op->id + 1]++;
        total += op->n_in;
    }
    for (int i = 0; i < n; i++) cons_start[i + 1] += cons_start[i];
    cons = graftI_calloc((size_t)total + 1, sizeof(graft_op *));
    int *fill = graftI_calloc((size_t)n + 1, sizeof(int));
    if (!cons || !fill) {
        graftI_free(fill);
        goto nomem;
    }
    for (int i = 0; i < n; i++) {
        graft_op *op = graft_graph_op_at(g, i);
        for (int j = 0; j < op->n_in; j++) {
            int p = op->in[j].op->id;
            cons[cons_start[p] + fill[p]++] = op;
        }
    }
    graftI_free(fill);

    /* forward from xs */
    int sp = 0;
    for (int i = 0; i < nx; i++)
        if (!fwd[xs[i].op->id]) fwd[xs[i].op->id] = 1, stack[sp++] = xs[i].op;
    while (sp) {
        graft_op *op = stack[--sp];
        for (int c = cons_start[op->id]; c < cons_start[op->id + 1]; c++)
            if (!fwd[cons[c]->id]) fwd[cons[c]->id] = 1, stack[sp++] = cons[c];
    }
    /* backward from ys, only through forward-reachable ops */
    for (int i = 0; i < ny; i++)
        if (fwd[ys[i].op->id] && !bwd[ys[i].op->id]) bwd[ys[i].op->id] = 1, stack[sp++] = ys[i].op;
    while (sp) {
        graft_op *op = stack[--sp];
        for (int j = 0; j < op->n_in; j++) {
            graft_op *q = op->in[j].op;
            if (fwd[q->id] && !bwd[q->id]) bwd[q->id] = 1, stack[sp++] = q;
        }
    }
    int nslots = 0;
    for (int i = 0; i < n; i++) {
        slot[i] = nslots;
        nslots += graft_graph_op_at(g, i)->n_out;
    }
    slot[n] = nslots;
    acc = graftI_calloc((size_t)nslots + 1, sizeof(gradlist));
    if (!acc) goto nomem;

    const char *scope = graft_graph_push_scope(g, "gradients");
    if (!scope) goto nomem;
    char root[560];
    snprintf(root, sizeof root, "%s/", scope);

    /* seed gradients */
    for (int i = 0; i < ny; i++) {
        graft_out y = ys[i];
        if (!bwd[y.op->id]) continue;
        graft_out seed;
        if (grad_ys && grad_ys[i].op) {
            seed = grad_ys[i];
        } else {
            graft_dtype dt = graft_out_dtype(y);
            graft_out shp = graft_shape_of(g, y);
            graft_tensor *one = NULL;
            if (dt == GRAFT_DOUBLE) {
                one = graft_tensor_new(GRAFT_DOUBLE, NULL, 0, NULL);
                if (one) *(double *)graft_tensor_data(one) = 1.0;
            } else {
                one = graft_tensor_scalar_f32(1.0f, NULL);
            }
            if (!one) {
                graft_graph_pop_scope(g);
                goto nomem;
            }
            graft_out c = graft_const(g, "grad_ys_0", one);
            graft_tensor_free(one);
            seed = graft_fill(g, shp, c);
        }
        if (!seed.op || !push_grad(&acc[slot[y.op->id] + y.index], seed)) {
            graft_graph_pop_scope(g);
            goto built;
        }
    }

    int maxio = 1;
    for (int i = 0; i < n; i++) {
        graft_op *op = graft_graph_op_at(g, i);
        if (op->n_in > maxio) maxio = op->n_in;
        if (op->n_out > maxio) maxio = op->n_out;
    }
    dy = graftI_calloc((size_t)maxio, sizeof(graft_out));
    dx = graftI_calloc((size_t)maxio, sizeof(graft_out));
    if (!dy || !dx) {
        graft_graph_pop_scope(g);
        goto nomem;
    }

    /* reverse creation order is a reverse topological order */
    for (int id = n - 1; id >= 0 && graft_graph_status(g) == GRAFT_OK; id--) {
        if (!bwd[id]) continue;
        graft_op *op = graft_graph_op_at(g, id);
        bool any = false;
        for (int o = 0; o < op->n_out; o++) {
            gradlist *l = &acc[slot[id] + o];
            dy[o].op = NULL;
            dy[o].index = 0;
            if (l->n == 1) dy[o] = l->g[0];
            else if (l->n > 1) {
                dy[o] = graft_add_n(g, l->g, l->n);
                l->g[0] = dy[o];
                l->n = 1;
            }
            if (dy[o].op) any = true;
        }
        if (!any) continue;
        /* is this op one of the xs only (a source)? then stop: nothing above it is in fwd */
        bool has_float_in = false;
        for (int j = 0; j < op->n_in; j++)
            if (bwd[op->in[j].op->id] && is_float(graftI_in_dtype(op, j))) has_float_in = true;
        if (!has_float_in) continue;
        if (!op->def || (op->def->flags & GRAFTI_OP_NO_GRAD)) continue;
        if (!op->def->grad) {
            rc = graft_status_set(st, GRAFT_ERR_UNSUPPORTED, "No gradient defined for operation '%s' (op type: %s)",
                                  op->name, op->type);
            break;
        }
        char sc[560];
        snprintf(sc, sizeof sc, "%s_grad", op->name);
        if (!graft_graph_push_scope(g, sc)) break;
        for (int j = 0; j < op->n_in; j++) dx[j].op = NULL, dx[j].index = 0;
        graft_code grc = op->def->grad(g, op, dy, dx);
        graft_graph_pop_scope(g);
        if (grc != GRAFT_OK) {
            if (graft_graph_status(g) == GRAFT_OK)
                graftI_graph_fail(g, grc, "gradient of '%s' (%s) failed: %s", op->name, op->type, graft_code_str(grc));
            break;
        }
        for (int j = 0; j < op->n_in; j++) {
            graft_out in = op->in[j];
            if (!dx[j].op || !bwd[in.op->id] || !is_float(graft_out_dtype(in))) continue;
            if (!push_grad(&acc[slot[in.op->id] + in.index], dx[j])) {
                graft_graph_pop_scope(g);
                goto nomem;
            }
        }
    }
    graft_graph_pop_scope(g);
built:
    if (rc == GRAFT_OK && graft_graph_status(g) != GRAFT_OK) rc = graft_graph_check(g, st);
    if (rc == GRAFT_OK) {
        for (int i = 0; i < nx; i++) {
            gradlist *l = &acc[slot[xs[i].op->id] + xs[i].index];
            if (l->n >= 1) dxs[i] = l->g[0]; /* sums were formed when the op was visited */
            if (l->n > 1) {
                graft_graph_push_scope(g, root);
                dxs[i] = graft_add_n(g, l->g, l->n);
                graft_graph_pop_scope(g);
            }
        }
        if (graft_graph_status(g) != GRAFT_OK) rc = graft_graph_check(g, st);
    }
    goto out;
nomem:
    rc = graft_status_set(st, GRAFT_ERR_NOMEM, "out of memory building gradients");
out:
    if (acc)
        for (int i = 0; i < nslots; i++) graftI_free(acc[i].g);
    graftI_free(acc);
    graftI_free(fwd);
    graftI_free(bwd);
    graftI_free(stack);
    graftI_free(cons_start);
    graftI_free(cons);
    graftI_free(slot);
    graftI_free(dy);
    graftI_free(dx);
    if (rc == GRAFT_OK) graft_status_clear(st);
    else
        for (int i = 0; i < nx; i++) dxs[i].op = NULL;
    return rc;
}
