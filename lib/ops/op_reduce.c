/* lib/ops/op_reduce.c - reductions over an axes input (Sum, Mean, Max, Min,
 * Prod), ArgMax/ArgMin and the Cumprod helper Prod's gradient uses: defs,
 * shape inference, kernels, TF's gradient builders and the typed builders. */
#include <math.h>
#include <stdio.h>

#include "bcast.h"

#define MAX_AXES 64

typedef enum { R_SUM, R_MEAN, R_PROD, R_MAX, R_MIN, R_COUNT } red_kind;

typedef struct red_info {
    graftI_op_def def;
    int kind;
} red_info;
static int rkind(const graft_op *op) { return ((const red_info *)op->def)->kind; }

static const graftI_attr_spec attrs_reduce[] = {{"keep_dims", GRAFTI_ATTR_BOOL, "false"},
                                                {"T", GRAFTI_ATTR_TYPE, NULL},
                                                {"Tidx", GRAFTI_ATTR_TYPE, "int32"},
                                                {NULL, 0, NULL}};
static const graftI_attr_spec attrs_arg[] = {{"T", GRAFTI_ATTR_TYPE, NULL},
                                             {"Tidx", GRAFTI_ATTR_TYPE, "int32"},
                                             {"output_type", GRAFTI_ATTR_TYPE, "int64"},
                                             {NULL, 0, NULL}};
static const graftI_attr_spec attrs_cum[] = {{"exclusive", GRAFTI_ATTR_BOOL, "false"},
                                             {"reverse", GRAFTI_ATTR_BOOL, "false"},
                                             {"T", GRAFTI_ATTR_TYPE, NULL},
                                             {"Tidx", GRAFTI_ATTR_TYPE, "int32"},
                                             {NULL, 0, NULL}};

static bool num_dtype(graft_dtype dt) { return graftI_is_float(dt) || graftI_is_int_index(dt); }

static graft_code check_T(const graft_op *op, graft_dtype dt, graft_status *st)
{
    graft_dtype t = graftI_attr_dt(op, "T", GRAFT_INVALID);
    if (t != GRAFT_INVALID && t != dt)
        return graft_status_set(st, GRAFT_ERR_DTYPE, "attr T is %s but the input is %s", graft_dtype_name(t),
                                graft_dtype_name(dt));
    if (!num_dtype(dt)) return graft_status_set(st, GRAFT_ERR_UNSUPPORTED, "dtype %s is not supported", graft_dtype_name(dt));
    return GRAFT_OK;
}

static graft_code check_index(const graft_op *op, int i, const char *what, graft_status *st)
{
    graft_dtype dt = graftI_in_dtype(op, i);
    if (!graftI_is_int_index(dt))
        return graft_status_set(st, GRAFT_ERR_DTYPE, "%s must be int32 or int64, got %s", what, graft_dtype_name(dt));
    graft_dtype tidx = graftI_attr_dt(op, "Tidx", GRAFT_INVALID);
    if (tidx != GRAFT_INVALID && tidx != dt)
        return graft_status_set(st, GRAFT_ERR_DTYPE, "attr Tidx is %s but %s is %s", graft_dtype_name(tidx), what,
                                graft_dtype_name(dt));
    return GRAFT_OK;
}

/* ---- inference ---------------------------------------------------------------------------- */
static graft_code reduce_infer(graft_op *op, graft_status *st)
{
    graft_dtype dt = graftI_in_dtype(op, 0);
    graft_code rc = check_T(op, dt, st);
    if (rc || (rc = check_index(op, 1, "reduction indices", st))) return rc;
    const graft_shape *xs = graftI_in_shape(op, 0), *as = graftI_in_shape(op, 1);
    if (as->rank > 1)
        return graft_status_set(st, GRAFT_ERR_SHAPE, "reduction indices must be a scalar or vector, got rank %d",
                                as->rank);
    bool keep = graftI_attr_b(op, "keep_dims", false);
    if ((rc = graftI_set_outputs(op, 1))) return rc;
    op->out[0].dtype = dt;
    int64_t axes[MAX_AXES];
    const graft_tensor *ct = graftI_const_input(op, 1);
    int na = ct ? graftI_tensor_ints(ct, axes, MAX_AXES) : -1;
    if (ct && na < 0) return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "too many reduction indices");
    if (xs->rank < 0) {
        op->out[0].shape = graft_shape_unknown();
        return GRAFT_OK;
    }
    if (na < 0) {
        /* axes unknown: keep_dims keeps the rank, dims unknown */
        graft_shape s = graft_shape_unknown();
        if (keep) {
            s.rank = xs->rank;
            for (int d = 0; d < s.rank; d++) s.dims[d] = -1;
        }
        op->out[0].shape = s;
        return GRAFT_OK;
    }
    bool red[GRAFT_MAX_DIMS];
    char msg[160];
    if (!graftI_axes_mask(axes, na, xs->rank, red, msg, sizeof msg))
        return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "%s", msg);
    graft_shape s = {0, {0}};
    for (int d = 0; d < xs->rank; d++) {
        if (red[d]) {
            if (keep) s.dims[s.rank++] = 1;
        } else {
            s.dims[s.rank++] = xs->dims[d];
        }
    }
    op->out[0].shape = s;
    return GRAFT_OK;
}

static graft_code arg_infer(graft_op *op, graft_status *st)
{
    graft_dtype dt = graftI_in_dtype(op, 0);
    graft_code rc = check_T(op, dt, st);
    if (rc || (rc = check_index(op, 1, "dimension", st))) return rc;
    graft_dtype ot = graftI_attr_dt(op, "output_type", GRAFT_INT64);
    if (!graftI_is_int_index(ot))
        return graft_status_set(st, GRAFT_ERR_DTYPE, "output_type must be int32 or int64, got %s",
                                graft_dtype_name(ot));
    const graft_shape *xs = graftI_in_shape(op, 0), *as = graftI_in_shape(op, 1);
    if (as->rank > 1 || (as->rank == 1 && as->dims[0] > 1))
        return graft_status_set(st, GRAFT_ERR_SHAPE, "dimension must be a scalar");
    if ((rc = graftI_set_outputs(op, 1))) return rc;
    op->out[0].dtype = ot;
    int64_t ax[1];
    const graft_tensor *ct = graftI_const_input(op, 1);
    if (xs->rank < 0) return GRAFT_OK;
    if (xs->rank == 0) return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "input must have rank >= 1, got a scalar");
    if (!ct || graftI_tensor_ints(ct, ax, 1) != 1) {
        graft_shape s = {xs->rank - 1, {0}};
        for (int d = 0; d < s.rank; d++) s.dims[d] = -1;
        op->out[0].shape = s;
        return GRAFT_OK;
    }
    if (ax[0] < -xs->rank || ax[0] >= xs->rank)
        return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "Expected dimension in the range [%d, %d), but got %lld",
                                -xs->rank, xs->rank, (long long)ax[0]);
    int a = (int)(ax[0] < 0 ? ax[0] + xs->rank : ax[0]);
    graft_shape s = {0, {0}};
    for (int d = 0; d < xs->rank; d++)
        if (d != a) s.dims[s.rank++] = xs->dims[d];
    op->out[0].shape = s;
    return GRAFT_OK;
}

static graft_code cum_infer(graft_op *op, graft_status *st)
{
    graft_dtype dt = graftI_in_dtype(op, 0);
    graft_code rc = check_T(op, dt, st);
    if (rc || (rc = check_index(op, 1, "axis", st))) return rc;
    if ((rc = graftI_set_outputs(op, 1))) return rc;
    op->out[0].dtype = dt;
    op->out[0].shape = *graftI_in_shape(op, 0);
    return GRAFT_OK;
}

/* ---- reduction kernels ----------------------------------------------------------------------
 * The plan alternates kept and reduced dims. Walking the input in order, the
 * innermost dim is either reduced (a contiguous run folds into one output) or
 * kept (a contiguous run folds element-wise into a contiguous output row). */
static double sum_run_f32(const float *p, int64_t n)
{
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        s0 += p[i];
        s1 += p[i + 1];
        s2 += p[i + 2];
        s3 += p[i + 3];
    }
    for (; i < n; i++) s0 += p[i];
    return (s0 + s1) + (s2 + s3);
}
static double sum_run_f64(const double *p, int64_t n)
{
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        s0 += p[i];
        s1 += p[i + 1];
        s2 += p[i + 2];
        s3 += p[i + 3];
    }
    for (; i < n; i++) s0 += p[i];
    return (s0 + s1) + (s2 + s3);
}

typedef void (*red_fn)(const graftI_rplan *p, const void *in, void *out);

/* RUN(px, n) folds a contiguous run into an ACC value; COMB(a, b) combines. */
#define RED_DEF(NAME, T, ACC, INIT, COMB, RUN)                                                     \
    static void NAME(const graftI_rplan *p, const void *in_, void *out_)                           \
    {                                                                                              \
        const T *in = in_;                                                                         \
        T *out = out_;                                                                             \
        for (int64_t i = 0; i < p->n_out; i++) out[i] = (T)(INIT);                                 \
        if (p->n_in == 0) return;                                                                  \
        if (p->rank == 0) {                                                                        \
            out[0] = (T)COMB((T)(INIT), in[0]);                                                    \
            return;                                                                                \
        }                                                                                          \
        const int r = p->rank;                                                                     \
        const int64_t inner = p->dims[r - 1];                                                      \
        const bool inner_red = p->red[r - 1];                                                      \
        const int64_t outer = p->n_in / inner;                                                     \
        int64_t idx[GRAFT_MAX_DIMS] = {0}, oo = 0;                                                 \
        for (int64_t o = 0; o < outer; o++) {                                                      \
            const T *px = in + o * inner;                                                          \
            if (inner_red) {                                                                       \
                ACC acc = RUN(px, inner);                                                          \
                out[oo] = (T)COMB(out[oo], acc);                                                   \
            } else {                                                                               \
                T *po = out + oo;                                                                  \
                for (int64_t i = 0; i < inner; i++) po[i] = (T)COMB(po[i], px[i]);                 \
            }                                                                                      \
            for (int d = r - 2; d >= 0; d--) {                                                     \
                oo += p->ostride[d];                                                               \
                if (++idx[d] < p->dims[d]) break;                                                  \
                oo -= p->ostride[d] * p->dims[d];                                                  \
                idx[d] = 0;                                                                        \
            }                                                                                      \
        }                                                                                          \
    }

#define C_ADD(a, b) ((a) + (b))
#define C_MUL(a, b) ((a) * (b))
#define C_MAX(a, b) ((a) < (b) ? (b) : (a))
#define C_MIN(a, b) ((b) < (a) ? (b) : (a))
#define C_ADD32(a, b) ((uint32_t)(a) + (uint32_t)(b))
#define C_ADD64(a, b) ((uint64_t)(a) + (uint64_t)(b))
#define C_MUL32(a, b) ((uint32_t)(a) * (uint32_t)(b))
#define C_MUL64(a, b) ((uint64_t)(a) * (uint64_t)(b))

/* generic runs for the non-sum kinds */
#define RUN_FN(NAME, T, INIT, COMB)                                                                \
    static T NAME(const T *px, int64_t n)                                                          \
    {                                                                                              \
        T acc = (T)(INIT);                                                                         \
        for (int64_t i = 0; i < n; i++) acc = (T)COMB(acc, px[i]);                                 \
        return acc;                                                                                \
    }
RUN_FN(prod_run_f32, float, 1, C_MUL)
RUN_FN(prod_run_f64, double, 1, C_MUL)
RUN_FN(prod_run_i32, int32_t, 1, C_MUL32)
RUN_FN(prod_run_i64, int64_t, 1, C_MUL64)
RUN_FN(sum_run_i32, int32_t, 0, C_ADD32)
RUN_FN(sum_run_i64, int64_t, 0, C_ADD64)
/* float max/min runs: 8 independent lanes so the compares pipeline (and vectorise) */
#define LANES_FN(NAME, T, INIT, COMB)                                                              \
    static T NAME(const T *px, int64_t n)                                                          \
    {                                                                                              \
        T l[8];                                                                                    \
        for (int j = 0; j < 8; j++) l[j] = (T)(INIT);                                              \
        int64_t i = 0;                                                                             \
        for (; i + 8 <= n; i += 8)                                                                 \
            for (int j = 0; j < 8; j++) l[j] = COMB(l[j], px[i + j]);                              \
        T acc = (T)(INIT);                                                                         \
        for (int j = 0; j < 8; j++) acc = COMB(acc, l[j]);                                         \
        for (; i < n; i++) acc = COMB(acc, px[i]);                                                 \
        return acc;                                                                                \
    }
LANES_FN(max_run_f32, float, -INFINITY, C_MAX)
LANES_FN(max_run_f64, double, -INFINITY, C_MAX)
RUN_FN(max_run_i32, int32_t, INT32_MIN, C_MAX)
RUN_FN(max_run_i64, int64_t, INT64_MIN, C_MAX)
LANES_FN(min_run_f32, float, INFINITY, C_MIN)
LANES_FN(min_run_f64, double, INFINITY, C_MIN)
RUN_FN(min_run_i32, int32_t, INT32_MAX, C_MIN)
RUN_FN(min_run_i64, int64_t, INT64_MAX, C_MIN)

RED_DEF(sum_f32, float, double, 0, C_ADD, sum_run_f32)
RED_DEF(sum_f64, double, double, 0, C_ADD, sum_run_f64)
RED_DEF(sum_i32, int32_t, int32_t, 0, C_ADD32, sum_run_i32)
RED_DEF(sum_i64, int64_t, int64_t, 0, C_ADD64, sum_run_i64)
RED_DEF(prod_f32, float, float, 1, C_MUL, prod_run_f32)
RED_DEF(prod_f64, double, double, 1, C_MUL, prod_run_f64)
RED_DEF(prod_i32, int32_t, int32_t, 1, C_MUL32, prod_run_i32)
RED_DEF(prod_i64, int64_t, int64_t, 1, C_MUL64, prod_run_i64)
RED_DEF(max_f32, float, float, -INFINITY, C_MAX, max_run_f32)
RED_DEF(max_f64, double, double, -INFINITY, C_MAX, max_run_f64)
RED_DEF(max_i32, int32_t, int32_t, INT32_MIN, C_MAX, max_run_i32)
RED_DEF(max_i64, int64_t, int64_t, INT64_MIN, C_MAX, max_run_i64)
RED_DEF(min_f32, float, float, INFINITY, C_MIN, min_run_f32)
RED_DEF(min_f64, double, double, INFINITY, C_MIN, min_run_f64)
RED_DEF(min_i32, int32_t, int32_t, INT32_MAX, C_MIN, min_run_i32)
RED_DEF(min_i64, int64_t, int64_t, INT64_MAX, C_MIN, min_run_i64)

static const red_fn red_fns[R_COUNT][4] = {
    [R_SUM] = {sum_f32, sum_f64, sum_i32, sum_i64},
    [R_MEAN] = {sum_f32, sum_f64, sum_i32, sum_i64},
    [R_PROD] = {prod_f32, prod_f64, prod_i32, prod_i64},
    [R_MAX] = {max_f32, max_f64, max_i32, max_i64},
    [R_MIN] = {min_f32, min_f64, min_i32, min_i64},
};

static int dtcol(graft_dtype dt)
{
    switch (dt) {
    case GRAFT_FLOAT: return 0;
    case GRAFT_DOUBLE: return 1;
    case GRAFT_INT32: return 2;
    case GRAFT_INT64: return 3;
    default: return -1;
    }
}

static graft_code fail_nomem(graftI_kctx *k) { return k->st->code ? k->st->code : GRAFT_ERR_NOMEM; }

/* Reads the axes input into red[]; kfail on bad values. */
static graft_code read_axes(graftI_kctx *k, const graft_tensor *x, const graft_tensor *ax, bool *red)
{
    int64_t axes[MAX_AXES];
    if (ax->rank > 1) return graftI_kfail(k, GRAFT_ERR_SHAPE, "reduction indices must be a scalar or vector");
    int na = graftI_tensor_ints(ax, axes, MAX_AXES);
    if (na < 0) return graftI_kfail(k, GRAFT_ERR_INVALID_ARG, "reduction indices: int32/int64, at most %d", MAX_AXES);
    char msg[160];
    if (!graftI_axes_mask(axes, na, x->rank, red, msg, sizeof msg)) return graftI_kfail(k, GRAFT_ERR_INVALID_ARG, "%s", msg);
    return GRAFT_OK;
}

static graft_code reduce_forward(graftI_kctx *k)
{
    const graft_tensor *x = k->in[0];
    int kind = rkind(k->op);
    int col = dtcol(x->dtype);
    if (col < 0) return graftI_kfail(k, GRAFT_ERR_UNSUPPORTED, "dtype %s is not supported", graft_dtype_name(x->dtype));
    bool red[GRAFT_MAX_DIMS];
    graft_code rc = read_axes(k, x, k->in[1], red);
    if (rc) return rc;
    bool keep = graftI_attr_b(k->op, "keep_dims", false);
    int64_t od[GRAFT_MAX_DIMS];
    int orank = 0;
    for (int d = 0; d < x->rank; d++) {
        if (!red[d]) od[orank++] = x->dims[d];
        else if (keep) od[orank++] = 1;
    }
    graftI_rplan p;
    graftI_rplan_init(&p, x->dims, x->rank, red);
    graft_tensor *o;
    if (p.n_in == p.n_out) {
        /* nothing is folded (reduced dims of size 1): a view, or identity math */
        if (kind != R_MEAN || p.n_in == 0) {
            o = graftI_out_view(k, 0, 0, od, orank);
            return o ? GRAFT_OK : fail_nomem(k);
        }
    }
    o = graftI_out_alloc(k, 0, x->dtype, od, orank, false);
    if (!o) return fail_nomem(k);
    red_fns[kind][col](&p, x->data, o->data);
    if (kind == R_MEAN) {
        int64_t cnt = p.n_out > 0 ? p.n_in / p.n_out : 0;
        switch (x->dtype) {
        case GRAFT_FLOAT: {
            float *v = o->data;
            float c = (float)cnt;
            for (int64_t i = 0; i < p.n_out; i++) v[i] /= c; /* 0/0 = NaN for an empty mean, as TF */
            break;
        }
        case GRAFT_DOUBLE: {
            double *v = o->data;
            for (int64_t i = 0; i < p.n_out; i++) v[i] /= (double)cnt;
            break;
        }
        case GRAFT_INT32: {
            int32_t *v = o->data;
            if (cnt > 0)
                for (int64_t i = 0; i < p.n_out; i++) v[i] = (int32_t)(v[i] / cnt);
            break;
        }
        default: {
            int64_t *v = o->data;
            if (cnt > 0)
                for (int64_t i = 0; i < p.n_out; i++) v[i] /= cnt;
            break;
        }
        }
    }
    return GRAFT_OK;
}

/* ---- ArgMax / ArgMin --------------------------------------------------------------------------
 * First index of the extreme value wins (strict comparison), NaNs never win. */
#define ARG_DEF(NAME, T, OT, BETTER)                                                               \
    static void NAME(const T *x, OT *out, T *best, int64_t outer, int64_t A, int64_t inner)        \
    {                                                                                              \
        for (int64_t o = 0; o < outer; o++) {                                                      \
            const T *px = x + o * A * inner;                                                       \
            OT *po = out + o * inner;                                                              \
            if (inner == 1) {                                                                      \
                T b = px[0];                                                                       \
                int64_t bi = 0;                                                                    \
                for (int64_t a = 1; a < A; a++)                                                    \
                    if (BETTER(px[a], b)) {                                                        \
                        b = px[a];                                                                 \
                        bi = a;                                                                    \
                    }                                                                              \
                po[0] = (OT)bi;                                                                    \
                continue;                                                                          \
            }                                                                                      \
            for (int64_t j = 0; j < inner; j++) {                                                  \
                best[j] = px[j];                                                                   \
                po[j] = 0;                                                                         \
            }                                                                                      \
            for (int64_t a = 1; a < A; a++) {                                                      \
                const T *row = px + a * inner;                                                     \
                for (int64_t j = 0; j < inner; j++)                                                \
                    if (BETTER(row[j], best[j])) {                                                 \
                        best[j] = row[j];                                                          \
                        po[j] = (OT)a;                                                             \
                    }                                                                              \
            }                                                                                      \
        }                                                                                          \
    }
#define GT_(a, b) ((a) > (b))
#define LT_(a, b) ((a) < (b))
#define ARG_ALL(K, CMP)                                                                            \
    ARG_DEF(K##_f32_64, float, int64_t, CMP) ARG_DEF(K##_f64_64, double, int64_t, CMP)             \
    ARG_DEF(K##_i32_64, int32_t, int64_t, CMP) ARG_DEF(K##_i64_64, int64_t, int64_t, CMP)          \
    ARG_DEF(K##_f32_32, float, int32_t, CMP) ARG_DEF(K##_f64_32, double, int32_t, CMP)             \
    ARG_DEF(K##_i32_32, int32_t, int32_t, CMP) ARG_DEF(K##_i64_32, int64_t, int32_t, CMP)
ARG_ALL(argmax, GT_)
ARG_ALL(argmin, LT_)

static graft_code arg_forward(graftI_kctx *k)
{
    const graft_tensor *x = k->in[0], *ax = k->in[1];
    bool is_max = strcmp(k->op->def->name, "ArgMax") == 0;
    graft_dtype ot = graftI_attr_dt(k->op, "output_type", GRAFT_INT64);
    int64_t a64;
    if (graftI_tensor_ints(ax, &a64, 1) != 1) return graftI_kfail(k, GRAFT_ERR_INVALID_ARG, "dimension must be one int");
    if (x->rank == 0 || a64 < -x->rank || a64 >= x->rank)
        return graftI_kfail(k, GRAFT_ERR_INVALID_ARG, "Expected dimension in the range [%d, %d), but got %lld",
                            -x->rank, x->rank, (long long)a64);
    int a = (int)(a64 < 0 ? a64 + x->rank : a64);
    int64_t outer = 1, inner = 1, A = x->dims[a];
    int64_t od[GRAFT_MAX_DIMS];
    int orank = 0;
    for (int d = 0; d < x->rank; d++) {
        if (d < a) outer *= x->dims[d];
        if (d > a) inner *= x->dims[d];
        if (d != a) od[orank++] = x->dims[d];
    }
    if (A == 0 && outer * inner > 0) {
        graft_shape s = graftI_tensor_shape(x);
        char b[96];
        return graftI_kfail(k, GRAFT_ERR_INVALID_ARG, "Reduction axis %d is empty in shape %s", a,
                            graft_shape_str(&s, b, sizeof b));
    }
    if (!graftI_is_int_index(ot)) return graftI_kfail(k, GRAFT_ERR_DTYPE, "output_type must be int32 or int64");
    graft_tensor *o = graftI_out_alloc(k, 0, ot, od, orank, false);
    if (!o) return fail_nomem(k);
    if (outer * inner == 0) return GRAFT_OK;
    size_t es = graft_dtype_size(x->dtype);
    void *best = inner > 1 ? graftI_scratch(k, (size_t)inner * es) : NULL;
    if (inner > 1 && !best) return fail_nomem(k);
    bool o64 = ot == GRAFT_INT64;
#define ARG_CALL(K)                                                                                \
    switch (x->dtype) {                                                                            \
    case GRAFT_FLOAT:                                                                              \
        o64 ? K##_f32_64(x->data, o->data, best, outer, A, inner) : K##_f32_32(x->data, o->data, best, outer, A, inner); \
        break;                                                                                     \
    case GRAFT_DOUBLE:                                                                             \
        o64 ? K##_f64_64(x->data, o->data, best, outer, A, inner) : K##_f64_32(x->data, o->data, best, outer, A, inner); \
        break;                                                                                     \
    case GRAFT_INT32:                                                                              \
        o64 ? K##_i32_64(x->data, o->data, best, outer, A, inner) : K##_i32_32(x->data, o->data, best, outer, A, inner); \
        break;                                                                                     \
    case GRAFT_INT64:                                                                              \
        o64 ? K##_i64_64(x->data, o->data, best, outer, A, inner) : K##_i64_32(x->data, o->data, best, outer, A, inner); \
        break;                                                                                     \
    default: return graftI_kfail(k, GRAFT_ERR_UNSUPPORTED, "dtype %s", graft_dtype_name(x->dtype));               \
    }
    if (is_max) {
        ARG_CALL(argmax)
    } else {
        ARG_CALL(argmin)
    }
#undef ARG_CALL
    return GRAFT_OK;
}

/* ---- Cumprod (exclusive / reverse) along one axis ------------------------------------------------- */
#define CUM_DEF(NAME, T)                                                                           \
    static void NAME(const T *x, T *y, int64_t outer, int64_t A, int64_t inner, bool excl, bool rev) \
    {                                                                                              \
        for (int64_t o = 0; o < outer; o++)                                                        \
            for (int64_t j = 0; j < inner; j++) {                                                  \
                T acc = (T)1;                                                                      \
                for (int64_t s = 0; s < A; s++) {                                                  \
                    int64_t a = rev ? A - 1 - s : s;                                               \
                    int64_t off = (o * A + a) * inner + j;                                         \
                    if (excl) {                                                                    \
                        y[off] = acc;                                                              \
                        acc = (T)(acc * x[off]);                                                   \
                    } else {                                                                       \
                        acc = (T)(acc * x[off]);                                                   \
                        y[off] = acc;                                                              \
                    }                                                                              \
                }                                                                                  \
            }                                                                                      \
    }
CUM_DEF(cum_f32, float)
CUM_DEF(cum_f64, double)

static graft_code cum_forward(graftI_kctx *k)
{
    const graft_tensor *x = k->in[0];
    int64_t a64;
    if (graftI_tensor_ints(k->in[1], &a64, 1) != 1) return graftI_kfail(k, GRAFT_ERR_INVALID_ARG, "axis must be one int");
    if (x->rank == 0 || a64 < -x->rank || a64 >= x->rank)
        return graftI_kfail(k, GRAFT_ERR_INVALID_ARG, "axis %lld out of range for rank %d", (long long)a64, x->rank);
    if (!graftI_is_float(x->dtype))
        return graftI_kfail(k, GRAFT_ERR_UNSUPPORTED, "dtype %s is not supported", graft_dtype_name(x->dtype));
    int a = (int)(a64 < 0 ? a64 + x->rank : a64);
    int64_t outer = 1, inner = 1;
    for (int d = 0; d < x->rank; d++) {
        if (d < a) outer *= x->dims[d];
        if (d > a) inner *= x->dims[d];
    }
    graft_tensor *o = graftI_out_alloc(k, 0, x->dtype, x->dims, x->rank, false);
    if (!o) return fail_nomem(k);
    bool excl = graftI_attr_b(k->op, "exclusive", false), rev = graftI_attr_b(k->op, "reverse", false);
    if (x->dtype == GRAFT_FLOAT) cum_f32(x->data, o->data, outer, x->dims[a], inner, excl, rev);
    else cum_f64(x->data, o->data, outer, x->dims[a], inner, excl, rev);
    return GRAFT_OK;
}

/* ---- typed builders ------------------------------------------------------------------------------- */
static graft_out reduce_build(graft_graph *g, const char *type, graft_out x, const int32_t *axes, int n,
                              bool keep_dims)
{
    if (!g) return graftI_o(NULL, 0);
    if (!x.op) {
        graftI_make_op(g, type, type, &x, 1, NULL, 0); /* stays quiet, drops a pending name */
        return graftI_o(NULL, 0);
    }
    int64_t ax[GRAFT_MAX_DIMS * 2];
    int na = 0;
    if (n < 0 || n > GRAFT_MAX_DIMS * 2) {
        graftI_graph_fail(g, GRAFT_ERR_INVALID_ARG, "%s: bad axis count %d", type, n);
        return graftI_o(NULL, 0);
    }
    graft_out axo;
    graft_shape s = graft_out_shape(x);
    if ((n == 0 || !axes) && s.rank < 0) {
        /* all axes of an unknown rank: Range(0, Rank(x), 1) as TF does */
        graftI_attr rat = graftI_a_type("T", graft_out_dtype(x));
        graft_out rank = graftI_o(graftI_make_op(g, "Rank", "Rank", &x, 1, &rat, 1), 0);
        graft_out rin[3] = {graft_const_i32(g, 0), rank, graft_const_i32(g, 1)};
        graftI_attr tat = graftI_a_type("Tidx", GRAFT_INT32);
        axo = graftI_o(graftI_make_op(g, "Range", "range", rin, 3, &tat, 1), 0);
    } else {
        if (n == 0 || !axes)
            for (int d = 0; d < s.rank; d++) ax[na++] = d;
        else
            for (int i = 0; i < n; i++) ax[na++] = axes[i];
        axo = graftI_gb_ints(g, GRAFT_INT32, ax, na);
    }
    graft_out in[2] = {x, axo};
    graftI_attr at[3] = {graftI_a_type("T", graft_out_dtype(x)), graftI_a_type("Tidx", GRAFT_INT32),
                         graftI_a_bool("keep_dims", keep_dims)};
    return graftI_o(graftI_make_op(g, type, type, in, 2, at, 3), 0);
}

graft_out graft_sum(graft_graph *g, graft_out x, const int32_t *axes, int n, bool keep_dims)
{
    return reduce_build(g, "Sum", x, axes, n, keep_dims);
}
graft_out graft_mean(graft_graph *g, graft_out x, const int32_t *axes, int n, bool keep_dims)
{
    return reduce_build(g, "Mean", x, axes, n, keep_dims);
}
graft_out graft_reduce_max(graft_graph *g, graft_out x, const int32_t *axes, int n, bool keep_dims)
{
    return reduce_build(g, "Max", x, axes, n, keep_dims);
}
graft_out graft_argmax(graft_graph *g, graft_out x, int axis)
{
    graft_out in[2] = {x, graft_const_i32(g, axis)};
    graftI_attr at[3] = {graftI_a_type("T", graft_out_dtype(x)), graftI_a_type("Tidx", GRAFT_INT32),
                         graftI_a_type("output_type", GRAFT_INT64)};
    return graftI_o(graftI_make_op(g, "ArgMax", "ArgMax", in, 2, at, 3), 0);
}

/* ---- gradient builders (TF's math_grad.py) ------------------------------------------------------------ */
/* Normalised, sorted, unique static axes of a reduction op, or -1. */
static int static_axes(const graft_op *op, int64_t *axes, bool *red)
{
    const graft_shape *xs = graftI_in_shape(op, 0);
    const graft_tensor *ct = graftI_const_input(op, 1);
    int64_t raw[MAX_AXES];
    int n = ct ? graftI_tensor_ints(ct, raw, MAX_AXES) : -1;
    char msg[160];
    if (n < 0 || xs->rank < 0 || !graftI_axes_mask(raw, n, xs->rank, red, msg, sizeof msg)) return -1;
    int na = 0;
    for (int d = 0; d < xs->rank; d++)
        if (red[d]) axes[na++] = d;
    return na;
}

/* t (shaped like the reduction's output) with the reduced dims back as 1s. */
static graft_out kept_dims(graft_graph *g, graft_op *op, graft_out t)
{
    if (graftI_attr_b(op, "keep_dims", false)) return t;
    graft_out x = op->in[0];
    const graft_shape *xs = graftI_in_shape(op, 0);
    int64_t axes[GRAFT_MAX_DIMS];
    bool red[GRAFT_MAX_DIMS];
    int na = static_axes(op, axes, red);
    if (na >= 0) {
        if (graftI_shape_known(xs)) {
            int64_t kd[GRAFT_MAX_DIMS];
            for (int d = 0; d < xs->rank; d++) kd[d] = red[d] ? 1 : xs->dims[d];
            return graft_reshape_dims(g, t, kd, xs->rank);
        }
        for (int i = 0; i < na; i++) t = graft_expand_dims(g, t, (int)axes[i]);
        return t;
    }
    /* axes known only at run time: the kept shape is that of a keep_dims reduction */
    graft_out in[2] = {x, op->in[1]};
    graftI_attr at[3] = {graftI_a_type("T", graft_out_dtype(x)), graftI_a_type("Tidx", graftI_in_dtype(op, 1)),
                         graftI_a_bool("keep_dims", true)};
    graft_out s = graftI_o(graftI_make_op(g, "Sum", "Sum", in, 2, at, 3), 0);
    return graft_reshape(g, t, graft_shape_of(g, s));
}

static graft_out broadcast_to(graft_graph *g, graft_out t, graft_out x)
{
    graft_shape ts = graft_out_shape(t), xs = graft_out_shape(x);
    if (graftI_shape_known(&ts) && graftI_shape_equal(&ts, &xs)) return t;
    graft_out in[2] = {t, graftI_gb_shape(g, x)};
    graftI_attr at[2] = {graftI_a_type("T", graft_out_dtype(t)), graftI_a_type("Tidx", GRAFT_INT32)};
    return graftI_o(graftI_make_op(g, "BroadcastTo", "BroadcastTo", in, 2, at, 2), 0);
}

/* dx = broadcast_to(reshape(dy, kept), shape(x)) */
static graft_code sum_grad(graft_graph *g, graft_op *op, const graft_out *dy, graft_out *dx)
{
    if (!dy[0].op) return GRAFT_OK;
    dx[0] = broadcast_to(g, kept_dims(g, op, dy[0]), op->in[0]);
    return graft_graph_status(g);
}

/* Sum's gradient divided by the number of elements folded into each output. */
static graft_code mean_grad(graft_graph *g, graft_op *op, const graft_out *dy, graft_out *dx)
{
    if (!dy[0].op) return GRAFT_OK;
    graft_out x = op->in[0], y = graftI_o(op, 0);
    graft_shape xs = graft_out_shape(x), ys = graft_out_shape(y);
    graft_dtype dt = graft_out_dtype(dy[0]);
    int64_t nx, ny;
    graft_out scaled;
    if (graft_shape_num_elements(&xs, &nx) == GRAFT_OK && graft_shape_num_elements(&ys, &ny) == GRAFT_OK) {
        double factor = (double)nx / (double)(ny > 0 ? ny : 1);
        scaled = graft_div(g, dy[0], graftI_gb_scalar(g, dt, factor > 0 ? factor : 1));
    } else {
        /* TF's _safe_shape_div(size(x), size(y)), cast to T */
        graftI_attr at[2] = {graftI_a_type("T", graft_out_dtype(x)), graftI_a_type("out_type", GRAFT_INT32)};
        graftI_attr aty[2] = {graftI_a_type("T", graft_out_dtype(y)), graftI_a_type("out_type", GRAFT_INT32)};
        graft_out sx = graftI_o(graftI_make_op(g, "Size", "Size", &x, 1, at, 2), 0);
        graft_out sy = graftI_o(graftI_make_op(g, "Size", "Size", &y, 1, aty, 2), 0);
        graft_out one = graft_const_i32(g, 1);
        graft_out in[2] = {sx, graft_maximum(g, sy, one)};
        graftI_attr ati = graftI_a_type("T", GRAFT_INT32);
        graft_out q = graftI_o(graftI_make_op(g, "FloorDiv", "floordiv", in, 2, &ati, 1), 0);
        scaled = graft_div(g, dy[0], graft_cast(g, q, dt));
    }
    dx[0] = broadcast_to(g, kept_dims(g, op, scaled), x);
    return graft_graph_status(g);
}

/* Max/Min: the gradient is shared equally among the positions equal to the
 * extreme value (TF's _MinOrMaxGrad). */
static graft_code minmax_grad(graft_graph *g, graft_op *op, const graft_out *dy, graft_out *dx)
{
    if (!dy[0].op) return GRAFT_OK;
    graft_out x = op->in[0];
    graft_dtype dt = graft_out_dtype(dy[0]);
    graft_out yk = kept_dims(g, op, graftI_o(op, 0));
    graft_out dyk = kept_dims(g, op, dy[0]);
    graft_out ind = graft_cast(g, graft_equal(g, yk, x), dt);
    graft_out in[2] = {ind, op->in[1]};
    graftI_attr at[3] = {graftI_a_type("T", dt), graftI_a_type("Tidx", graftI_in_dtype(op, 1)),
                         graftI_a_bool("keep_dims", true)};
    graft_out num = graftI_o(graftI_make_op(g, "Sum", "Sum", in, 2, at, 3), 0);
    dx[0] = graft_mul(g, graft_div(g, ind, num), dyk);
    return graft_graph_status(g);
}

static graft_out cumprod(graft_graph *g, graft_out x, bool reverse)
{
    graft_out in[2] = {x, graft_const_i32(g, 0)};
    graftI_attr at[4] = {graftI_a_type("T", graft_out_dtype(x)), graftI_a_type("Tidx", GRAFT_INT32),
                         graftI_a_bool("exclusive", true), graftI_a_bool("reverse", reverse)};
    return graftI_o(graftI_make_op(g, "Cumprod", "Cumprod", in, 2, at, 4), 0);
}

/* Prod: d/dx_i = product of the other elements of its slice, computed with
 * exclusive cumulative products from both ends (TF's _ProdGrad), so zeros in x
 * are handled. Needs static axes and a known rank. */
static graft_code prod_grad(graft_graph *g, graft_op *op, const graft_out *dy, graft_out *dx)
{
    if (!dy[0].op) return GRAFT_OK;
    graft_out x = op->in[0];
    const graft_shape *xs = graftI_in_shape(op, 0);
    int64_t axes[GRAFT_MAX_DIMS];
    bool red[GRAFT_MAX_DIMS];
    int na = static_axes(op, axes, red);
    if (na < 0)
        return graftI_graph_fail(g, GRAFT_ERR_UNSUPPORTED,
                                 "gradient of %s (Prod) needs constant reduction indices and a known rank", op->name);
    graft_out grad = broadcast_to(g, kept_dims(g, op, dy[0]), x);
    int r = xs->rank;
    int32_t perm[GRAFT_MAX_DIMS], inv[GRAFT_MAX_DIMS];
    int np = 0;
    int64_t rnum = 1, onum = 1;
    bool rknown = true, oknown = true;
    for (int d = 0; d < r; d++)
        if (red[d]) {
            perm[np++] = d;
            if (xs->dims[d] < 0) rknown = false;
            else rnum *= xs->dims[d];
        }
    for (int d = 0; d < r; d++)
        if (!red[d]) {
            perm[np++] = d;
            if (xs->dims[d] < 0) oknown = false;
            else onum *= xs->dims[d];
        }
    if (!rknown && !oknown)
        return graftI_graph_fail(g, GRAFT_ERR_UNSUPPORTED, "gradient of %s (Prod) needs known reduced or kept dims",
                                 op->name);
    for (int i = 0; i < r; i++) inv[perm[i]] = i;
    graft_out permuted = r > 0 ? graft_transpose(g, x, perm, r) : x;
    int64_t two[2] = {rknown ? rnum : -1, rknown ? -1 : onum};
    graft_out reshaped = graft_reshape_dims(g, permuted, two, 2);
    graft_out lr = graft_mul(g, cumprod(g, reshaped, false), cumprod(g, reshaped, true));
    graft_out yy = graft_reshape(g, lr, graftI_gb_shape(g, permuted));
    graft_out back = r > 0 ? graft_transpose(g, yy, inv, r) : yy;
    dx[0] = graft_mul(g, grad, back);
    return graft_graph_status(g);
}

/* ---- the table -------------------------------------------------------------------------------------- */
#define REDOP(var, NAME, KIND, GRAD)                                                               \
    static const red_info var = {{NAME, 2, 2, attrs_reduce, 0, reduce_infer, reduce_forward, GRAD}, KIND};
REDOP(op_sum, "Sum", R_SUM, sum_grad)
REDOP(op_mean, "Mean", R_MEAN, mean_grad)
REDOP(op_prod, "Prod", R_PROD, prod_grad)
REDOP(op_max, "Max", R_MAX, minmax_grad)
REDOP(op_min, "Min", R_MIN, minmax_grad)
static const graftI_op_def op_argmax = {"ArgMax", 2, 2, attrs_arg, GRAFTI_OP_NO_GRAD, arg_infer, arg_forward, NULL};
static const graftI_op_def op_argmin = {"ArgMin", 2, 2, attrs_arg, GRAFTI_OP_NO_GRAD, arg_infer, arg_forward, NULL};
static const graftI_op_def op_cumprod = {"Cumprod", 2, 2, attrs_cum, 0, cum_infer, cum_forward, NULL};

const graftI_op_def *const graftI_ops_reduce[] = {&op_sum.def, &op_mean.def, &op_prod.def, &op_max.def, &op_min.def,
                                                  &op_argmax, &op_argmin, &op_cumprod, NULL};
