/* lib/ops/bcast.c - helpers shared by the elementwise, reduce and shape ops:
 * broadcasting and reduction plans, int vectors from tensors and static
 * inputs, and graph-building helpers used by gradient builders. */
#include "bcast.h"

#include <stdio.h>

bool graftI_bcast_init(graftI_bcast *b, const int64_t *ad, int ar, const int64_t *bd, int br)
{
    memset(b, 0, sizeof *b);
    if (ar < 0 || br < 0 || ar > GRAFT_MAX_DIMS || br > GRAFT_MAX_DIMS) return false;
    int r = ar > br ? ar : br;
    int pat[GRAFT_MAX_DIMS];
    int64_t n = 1;
    b->out_rank = r;
    for (int i = 0; i < r; i++) {
        int64_t x = i < r - ar ? 1 : ad[i - (r - ar)];
        int64_t y = i < r - br ? 1 : bd[i - (r - br)];
        int64_t o;
        if (x < 0 || y < 0) return false;
        if (x == y) o = x;
        else if (x == 1) o = y;
        else if (y == 1) o = x;
        else return false;
        b->out_dims[i] = o;
        pat[i] = (x == o ? 1 : 0) | (y == o ? 2 : 0);
        if (!graftI_mul_i64(n, o, &n)) return false;
    }
    b->n = n;
    /* collapse: drop size-1 output dims, merge neighbours with the same pattern */
    int cr = 0, cpat[GRAFT_MAX_DIMS];
    for (int i = 0; i < r; i++) {
        if (b->out_dims[i] == 1) continue;
        if (cr > 0 && cpat[cr - 1] == pat[i]) {
            b->dims[cr - 1] *= b->out_dims[i];
        } else {
            b->dims[cr] = b->out_dims[i];
            cpat[cr++] = pat[i];
        }
    }
    if (cr == 0) {
        b->dims[0] = 1;
        cpat[0] = 3;
        cr = 1;
    }
    b->rank = cr;
    int64_t acc_a = 1, acc_b = 1;
    for (int d = cr - 1; d >= 0; d--) {
        b->sa[d] = (cpat[d] & 1) ? acc_a : 0;
        b->sb[d] = (cpat[d] & 2) ? acc_b : 0;
        if (cpat[d] & 1) acc_a *= b->dims[d];
        if (cpat[d] & 2) acc_b *= b->dims[d];
    }
    /* a broadcast size-1 operand along a size-1 collapsed dim: stride is moot */
    return true;
}

void graftI_rplan_init(graftI_rplan *p, const int64_t *dims, int rank, const bool *red)
{
    memset(p, 0, sizeof *p);
    int64_t n_in = 1, n_out = 1;
    for (int d = 0; d < rank; d++) {
        n_in *= dims[d];
        if (!red[d]) n_out *= dims[d];
        if (dims[d] == 1) continue;
        if (p->rank > 0 && p->red[p->rank - 1] == red[d]) {
            p->dims[p->rank - 1] *= dims[d];
        } else {
            p->dims[p->rank] = dims[d];
            p->red[p->rank++] = red[d];
        }
    }
    p->n_in = n_in;
    p->n_out = n_out;
    int64_t acc = 1;
    for (int d = p->rank - 1; d >= 0; d--) {
        p->ostride[d] = p->red[d] ? 0 : acc;
        if (!p->red[d]) acc *= p->dims[d];
    }
}

bool graftI_axes_mask(const int64_t *axes, int n, int rank, bool *red, char *msg, size_t cap)
{
    for (int d = 0; d < rank; d++) red[d] = false;
    for (int i = 0; i < n; i++) {
        int64_t a = axes[i];
        if (a < -rank || a >= rank) {
            snprintf(msg, cap, "Invalid reduction dimension (%lld for input with %d dimension(s))", (long long)a, rank);
            return false;
        }
        red[a < 0 ? a + rank : a] = true;
    }
    return true;
}

int graftI_tensor_ints(const graft_tensor *t, int64_t *out, int cap)
{
    if (!t) return -1;
    if (t->n > cap) return -1;
    if (t->dtype == GRAFT_INT32) {
        const int32_t *v = t->data;
        for (int64_t i = 0; i < t->n; i++) out[i] = v[i];
    } else if (t->dtype == GRAFT_INT64) {
        const int64_t *v = t->data;
        for (int64_t i = 0; i < t->n; i++) out[i] = v[i];
    } else {
        return -1;
    }
    return (int)t->n;
}

int graftI_static_ints(const graft_op *op, int i, int64_t *out, int cap, bool *partial)
{
    if (partial) *partial = false;
    const graft_tensor *c = graftI_const_input(op, i);
    if (c) return graftI_tensor_ints(c, out, cap);
    if (i < 0 || i >= op->n_in || !op->in[i].op) return -1;
    const graft_op *p = op->in[i].op;
    if (p->def && strcmp(p->type, "Shape") == 0 && p->n_in == 1) {
        const graft_shape *s = graftI_in_shape(p, 0);
        if (s->rank < 0 || s->rank > cap) return -1;
        bool part = false;
        for (int d = 0; d < s->rank; d++) {
            out[d] = s->dims[d];
            if (s->dims[d] < 0) part = true;
        }
        if (partial) *partial = part;
        return s->rank;
    }
    return -1;
}

/* ---- gradient-builder helpers ---------------------------------------------------- */
graft_out graftI_gb_scalar(graft_graph *g, graft_dtype dt, double v)
{
    graft_out none = {NULL, 0};
    graft_status st;
    graft_tensor *t = graft_tensor_new(dt, NULL, 0, &st);
    if (!t) {
        graftI_graph_fail(g, st.code, "%s", st.msg);
        return none;
    }
    switch (dt) {
    case GRAFT_FLOAT: *(float *)t->data = (float)v; break;
    case GRAFT_DOUBLE: *(double *)t->data = v; break;
    case GRAFT_INT32: *(int32_t *)t->data = (int32_t)v; break;
    case GRAFT_INT64: *(int64_t *)t->data = (int64_t)v; break;
    case GRAFT_BOOL:
    case GRAFT_UINT8: *(uint8_t *)t->data = (uint8_t)v; break;
    case GRAFT_INT8: *(int8_t *)t->data = (int8_t)v; break;
    case GRAFT_INT16: *(int16_t *)t->data = (int16_t)v; break;
    default:
        graft_tensor_free(t);
        graftI_graph_fail(g, GRAFT_ERR_UNSUPPORTED, "no scalar constant of dtype %s", graft_dtype_name(dt));
        return none;
    }
    graft_out o = graft_const(g, NULL, t);
    graft_tensor_free(t);
    return o;
}

graft_out graftI_gb_ints(graft_graph *g, graft_dtype dt, const int64_t *v, int n)
{
    graft_out none = {NULL, 0};
    graft_status st;
    int64_t dim = n;
    graft_tensor *t = graft_tensor_new(dt, &dim, 1, &st);
    if (!t) {
        graftI_graph_fail(g, st.code, "%s", st.msg);
        return none;
    }
    for (int i = 0; i < n; i++) {
        if (dt == GRAFT_INT64) ((int64_t *)t->data)[i] = v[i];
        else ((int32_t *)t->data)[i] = (int32_t)v[i];
    }
    graft_out o = graft_const(g, NULL, t);
    graft_tensor_free(t);
    return o;
}

graft_out graftI_gb_shape(graft_graph *g, graft_out x)
{
    if (!x.op) return x;
    graft_shape s = graft_out_shape(x);
    if (graftI_shape_known(&s)) {
        for (int d = 0; d < s.rank; d++)
            if (s.dims[d] > INT32_MAX) return graft_shape_of(g, x);
        return graftI_gb_ints(g, GRAFT_INT32, s.dims, s.rank);
    }
    return graft_shape_of(g, x);
}

graft_out graftI_gb_sum(graft_graph *g, graft_out x, const int64_t *axes, int n, bool keep_dims)
{
    int32_t ax[GRAFT_MAX_DIMS];
    for (int i = 0; i < n && i < GRAFT_MAX_DIMS; i++) ax[i] = (int32_t)axes[i];
    return graft_sum(g, x, ax, n < GRAFT_MAX_DIMS ? n : GRAFT_MAX_DIMS, keep_dims);
}

graft_out graftI_gb_unbroadcast(graft_graph *g, graft_out grad, graft_out x, graft_out other)
{
    if (!grad.op || !x.op) return grad;
    graft_shape sx = graft_out_shape(x), so = graft_out_shape(other), sg = graft_out_shape(grad);
    if (sx.rank >= 0 && sg.rank >= 0 && so.rank >= 0 && sg.rank >= sx.rank) {
        /* static: leading dims, and dims where x is 1; x's unknown dims are fine
         * when `other` cannot broadcast x there (its dim is 1 or absent) */
        int lead = sg.rank - sx.rank;
        int64_t axes[GRAFT_MAX_DIMS];
        int na = 0;
        bool ok = true;
        for (int d = 0; d < lead; d++) axes[na++] = d;
        for (int d = 0; d < sx.rank && ok; d++) {
            int64_t xd = sx.dims[d], gd = sg.dims[lead + d];
            int od_i = d + lead - (sg.rank - so.rank);
            int64_t od = od_i >= 0 ? so.dims[od_i] : 1;
            if (xd == 1) {
                if (gd != 1) axes[na++] = lead + d;
            } else if (xd < 0) {
                if (od == 1 || gd == 1) continue; /* x's dim is the output's: nothing to sum */
                ok = false;                       /* x's dim may be a broadcast 1: decide at run time */
            }
        }
        if (ok) {
            if (na == 0) return grad;
            graft_out s = graftI_gb_sum(g, grad, axes, na, true);
            if (lead > 0) {
                int64_t sq[GRAFT_MAX_DIMS];
                for (int d = 0; d < lead; d++) sq[d] = d;
                s = graft_squeeze(g, s, sq, lead);
            }
            return s;
        }
    }
    /* dynamic: TensorFlow's Shape + BroadcastGradientArgs + Sum + Reshape */
    graft_out shx = graft_shape_of(g, x), sho = graft_shape_of(g, other);
    graft_out in[2] = {shx, sho};
    graftI_attr at = graftI_a_type("T", GRAFT_INT32);
    graft_op *bga = graftI_make_op(g, "BroadcastGradientArgs", "BroadcastGradientArgs", in, 2, &at, 1);
    if (!bga) return graftI_o(NULL, 0);
    graft_out sin[2] = {grad, graftI_o(bga, 0)};
    graftI_attr sat[3] = {graftI_a_type("T", graft_out_dtype(grad)), graftI_a_type("Tidx", GRAFT_INT32),
                          graftI_a_bool("keep_dims", false)};
    graft_op *sum = graftI_make_op(g, "Sum", "Sum", sin, 2, sat, 3);
    if (!sum) return graftI_o(NULL, 0);
    return graft_reshape(g, graftI_o(sum, 0), shx);
}
