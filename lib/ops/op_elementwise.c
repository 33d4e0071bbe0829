/* lib/ops/op_elementwise.c - element-wise ops with TF/NumPy broadcasting (Add,
 * Mul, Maximum, Pow, comparisons, Select, AddN, unary math and the *Grad helper
 * ops TF's gradient graphs use): defs, shape inference, kernels, gradient
 * builders and the typed builders of graph.h. */
#include <math.h>
#include <stdio.h>

#include "bcast.h"

/* ---- op records ------------------------------------------------------------------ */
#define DT(x) (1u << (x))
#define FLOATS (DT(GRAFT_FLOAT) | DT(GRAFT_DOUBLE))
#define INTS (DT(GRAFT_INT32) | DT(GRAFT_INT64))
#define NUMS (FLOATS | INTS)

typedef enum {
    K_ADD, K_SUB, K_MUL, K_DIV, K_MAX, K_MIN, K_POW, K_FLOORDIV,
    K_EQ, K_NE, K_GT, K_GE, K_LT, K_LE,
    K_SQRTGRAD, K_RSQRTGRAD, K_RECIPGRAD,
    K_TDIV, K_FLOORMOD, K_MOD, K_SQDIFF, K_DIVNONAN, K_LAND, K_LOR,
    K_BIN_COUNT
} bin_kind;

typedef enum { U_NEG, U_SQUARE, U_SQRT, U_RSQRT, U_EXP, U_LOG, U_FLOOR, U_RECIP, U_LOG1P, U_LNOT, U_COUNT } un_kind;

/* Each def is the first member of its info record, so op->def leads back to it. */
typedef struct ew_info {
    graftI_op_def def;
    int kind;
    unsigned dtypes;   /* allowed T */
    bool to_bool;      /* comparisons */
} ew_info;

static const ew_info *ew(const graft_op *op) { return (const ew_info *)op->def; }

static const graftI_attr_spec attrs_T[] = {{"T", GRAFTI_ATTR_TYPE, NULL}, {NULL, 0, NULL}};
static const graftI_attr_spec attrs_cmp[] = {
    {"T", GRAFTI_ATTR_TYPE, NULL}, {"incompatible_shape_error", GRAFTI_ATTR_BOOL, "true"}, {NULL, 0, NULL}};
static const graftI_attr_spec attrs_none[] = {{NULL, 0, NULL}};
static const graftI_attr_spec attrs_addn[] = {
    {"N", GRAFTI_ATTR_INT, NULL}, {"T", GRAFTI_ATTR_TYPE, NULL}, {NULL, 0, NULL}};

static int dtcol(graft_dtype dt)
{
    switch (dt) {
    case GRAFT_FLOAT: return 0;
    case GRAFT_DOUBLE: return 1;
    case GRAFT_INT32: return 2;
    case GRAFT_INT64: return 3;
    case GRAFT_BOOL: return 4;
    default: return -1;
    }
}

/* ---- binary kernels ----------------------------------------------------------------
 * One function per (op, dtype), each a GRAFTI_BCAST_RUN loop with the expression
 * inlined; integer arithmetic wraps through unsigned types (no signed overflow). */
typedef void (*bin_fn)(const graftI_bcast *bc, const void *a, const void *b, void *o);

#define BIN_DEF(NAME, T, TO, EXPR)                                                                 \
    static void NAME(const graftI_bcast *bc, const void *a, const void *b, void *o)                \
    {                                                                                              \
        GRAFTI_BCAST_RUN(bc, T, T, TO, (const T *)a, (const T *)b, (TO *)o, EXPR);                 \
    }
#define BIN_FLOATS(K, EF, ED) BIN_DEF(K##_f32, float, float, EF) BIN_DEF(K##_f64, double, double, ED)
#define BIN_INTS(K, E32, E64) BIN_DEF(K##_i32, int32_t, int32_t, E32) BIN_DEF(K##_i64, int64_t, int64_t, E64)
#define BIN_CMP(K, E)                                                                              \
    BIN_DEF(K##_f32, float, uint8_t, E) BIN_DEF(K##_f64, double, uint8_t, E)                       \
    BIN_DEF(K##_i32, int32_t, uint8_t, E) BIN_DEF(K##_i64, int64_t, uint8_t, E)

static inline int32_t fdiv32(int32_t x, int32_t y)
{
    if (y == -1) return (int32_t)(0u - (uint32_t)x); /* INT_MIN / -1 wraps */
    int32_t q = x / y;
    if ((x % y != 0) && ((x < 0) != (y < 0))) q--;
    return q;
}
static inline int64_t fdiv64(int64_t x, int64_t y)
{
    if (y == -1) return (int64_t)(0u - (uint64_t)x);
    int64_t q = x / y;
    if ((x % y != 0) && ((x < 0) != (y < 0))) q--;
    return q;
}

/* C's truncating division and remainder (TF's Div/Mod on ints); INT_MIN / -1 wraps */
static inline int32_t tdiv32(int32_t x, int32_t y) { return y == -1 ? (int32_t)(0u - (uint32_t)x) : x / y; }
static inline int64_t tdiv64(int64_t x, int64_t y) { return y == -1 ? (int64_t)(0u - (uint64_t)x) : x / y; }
static inline int32_t tmod32(int32_t x, int32_t y) { return y == -1 ? 0 : x % y; }
static inline int64_t tmod64(int64_t x, int64_t y) { return y == -1 ? 0 : x % y; }
/* floor modulo: the result takes the divisor's sign */
static inline int32_t fmod32(int32_t x, int32_t y)
{
    int32_t r = tmod32(x, y);
    return (r != 0 && ((r < 0) != (y < 0))) ? r + y : r;
}
static inline int64_t fmod64(int64_t x, int64_t y)
{
    int64_t r = tmod64(x, y);
    return (r != 0 && ((r < 0) != (y < 0))) ? r + y : r;
}
static inline float ffmodf(float x, float y)
{
    float r = fmodf(x, y);
    return (r != 0 && ((y < 0) != (r < 0))) ? r + y : r;
}
static inline double ffmod(double x, double y)
{
    double r = fmod(x, y);
    return (r != 0 && ((y < 0) != (r < 0))) ? r + y : r;
}

BIN_FLOATS(add, x + y, x + y)
BIN_INTS(add, (int32_t)((uint32_t)x + (uint32_t)y), (int64_t)((uint64_t)x + (uint64_t)y))
BIN_FLOATS(sub, x - y, x - y)
BIN_INTS(sub, (int32_t)((uint32_t)x - (uint32_t)y), (int64_t)((uint64_t)x - (uint64_t)y))
BIN_FLOATS(mul, x *y, x *y)
BIN_INTS(mul, (int32_t)((uint32_t)x * (uint32_t)y), (int64_t)((uint64_t)x * (uint64_t)y))
BIN_FLOATS(div, x / y, x / y)
/* std::max / std::min semantics, as Eigen's scalar_max_op on CPU */
BIN_FLOATS(max, x < y ? y : x, x < y ? y : x)
BIN_INTS(max, x < y ? y : x, x < y ? y : x)
BIN_FLOATS(min, y < x ? y : x, y < x ? y : x)
BIN_INTS(min, y < x ? y : x, y < x ? y : x)
BIN_FLOATS(pow, powf(x, y), pow(x, y))
BIN_FLOATS(floordiv, floorf(x / y), floor(x / y))
BIN_INTS(floordiv, fdiv32(x, y), fdiv64(x, y))
BIN_CMP(eq, x == y)
BIN_DEF(eq_b, uint8_t, uint8_t, (x != 0) == (y != 0))
BIN_CMP(ne, x != y)
BIN_DEF(ne_b, uint8_t, uint8_t, (x != 0) != (y != 0))
BIN_CMP(gt, x > y)
BIN_CMP(ge, x >= y)
BIN_CMP(lt, x < y)
BIN_CMP(le, x <= y)
/* SqrtGrad(y, dy) = dy * 0.5 / y; RsqrtGrad(y, dy) = dy * -0.5 * y^3;
 * ReciprocalGrad(y, dy) = -dy * y^2 (x is y, y is dy in the expressions) */
BIN_FLOATS(sqrtgrad, y * 0.5f / x, y * 0.5 / x)
BIN_FLOATS(rsqrtgrad, y * -0.5f * (x * x * x), y * -0.5 * (x * x * x))
BIN_FLOATS(recipgrad, -y * (x * x), -y * (x * x))
BIN_INTS(tdiv, tdiv32(x, y), tdiv64(x, y))
BIN_FLOATS(floormod, ffmodf(x, y), ffmod(x, y))
BIN_INTS(floormod, fmod32(x, y), fmod64(x, y))
BIN_FLOATS(mod, fmodf(x, y), fmod(x, y))
BIN_INTS(mod, tmod32(x, y), tmod64(x, y))
BIN_FLOATS(sqdiff, (x - y) * (x - y), (x - y) * (x - y))
BIN_FLOATS(divnonan, y == 0 ? 0.0f : x / y, y == 0 ? 0.0 : x / y)
BIN_DEF(land_b, uint8_t, uint8_t, (x != 0) && (y != 0))
BIN_DEF(lor_b, uint8_t, uint8_t, (x != 0) || (y != 0))

#define ROW4(K) {K##_f32, K##_f64, K##_i32, K##_i64, NULL}
#define ROWF(K) {K##_f32, K##_f64, NULL, NULL, NULL}
static const bin_fn bin_fns[K_BIN_COUNT][5] = {
    [K_ADD] = ROW4(add),
    [K_SUB] = ROW4(sub),
    [K_MUL] = ROW4(mul),
    [K_DIV] = ROWF(div),
    [K_MAX] = ROW4(max),
    [K_MIN] = ROW4(min),
    [K_POW] = ROWF(pow),
    [K_FLOORDIV] = ROW4(floordiv),
    [K_EQ] = {eq_f32, eq_f64, eq_i32, eq_i64, eq_b},
    [K_NE] = {ne_f32, ne_f64, ne_i32, ne_i64, ne_b},
    [K_GT] = ROW4(gt),
    [K_GE] = ROW4(ge),
    [K_LT] = ROW4(lt),
    [K_LE] = ROW4(le),
    [K_SQRTGRAD] = ROWF(sqrtgrad),
    [K_RSQRTGRAD] = ROWF(rsqrtgrad),
    [K_RECIPGRAD] = ROWF(recipgrad),
    [K_TDIV] = {div_f32, div_f64, tdiv_i32, tdiv_i64, NULL},
    [K_FLOORMOD] = ROW4(floormod),
    [K_MOD] = ROW4(mod),
    [K_SQDIFF] = ROWF(sqdiff),
    [K_DIVNONAN] = ROWF(divnonan),
    [K_LAND] = {NULL, NULL, NULL, NULL, land_b},
    [K_LOR] = {NULL, NULL, NULL, NULL, lor_b},
};

/* ---- unary kernels ------------------------------------------------------------------- */
typedef void (*un_fn)(const void *a, void *o, int64_t n);
#define UN_DEF(NAME, T, EXPR)                                                                      \
    static void NAME(const void *a_, void *o_, int64_t n)                                          \
    {                                                                                              \
        const T *a = a_;                                                                           \
        T *o = o_;                                                                                 \
        for (int64_t i = 0; i < n; i++) {                                                          \
            const T x = a[i];                                                                      \
            o[i] = (EXPR);                                                                         \
        }                                                                                          \
    }
#define UN_FLOATS(K, EF, ED) UN_DEF(K##_f32, float, EF) UN_DEF(K##_f64, double, ED)
UN_FLOATS(neg, -x, -x)
UN_DEF(neg_i32, int32_t, (int32_t)(0u - (uint32_t)x))
UN_DEF(neg_i64, int64_t, (int64_t)(0u - (uint64_t)x))
UN_FLOATS(square, x *x, x *x)
UN_DEF(square_i32, int32_t, (int32_t)((uint32_t)x * (uint32_t)x))
UN_DEF(square_i64, int64_t, (int64_t)((uint64_t)x * (uint64_t)x))
UN_FLOATS(sqrt, sqrtf(x), sqrt(x))
UN_FLOATS(rsqrt, 1.0f / sqrtf(x), 1.0 / sqrt(x))
UN_FLOATS(exp, expf(x), exp(x))
UN_FLOATS(log, logf(x), log(x))
UN_FLOATS(floor, floorf(x), floor(x))
UN_FLOATS(recip, 1.0f / x, 1.0 / x)
UN_FLOATS(log1p, log1pf(x), log1p(x))
UN_DEF(lnot_b, uint8_t, x == 0)

static const un_fn un_fns[U_COUNT][5] = {
    [U_NEG] = {neg_f32, neg_f64, neg_i32, neg_i64},
    [U_SQUARE] = {square_f32, square_f64, square_i32, square_i64},
    [U_SQRT] = {sqrt_f32, sqrt_f64, NULL, NULL},
    [U_RSQRT] = {rsqrt_f32, rsqrt_f64, NULL, NULL},
    [U_EXP] = {exp_f32, exp_f64, NULL, NULL},
    [U_LOG] = {log_f32, log_f64, NULL, NULL},
    [U_FLOOR] = {floor_f32, floor_f64, NULL, NULL},
    [U_RECIP] = {recip_f32, recip_f64, NULL, NULL},
    [U_LOG1P] = {log1p_f32, log1p_f64, NULL, NULL},
    [U_LNOT] = {NULL, NULL, NULL, NULL, lnot_b},
};

/* ---- shape inference ------------------------------------------------------------------ */
static graft_code check_T(const graft_op *op, graft_dtype dt, unsigned allowed, graft_status *st)
{
    graft_dtype t = graftI_attr_dt(op, "T", GRAFT_INVALID);
    if (t != GRAFT_INVALID && t != dt)
        return graft_status_set(st, GRAFT_ERR_DTYPE, "attr T is %s but the input is %s", graft_dtype_name(t),
                                graft_dtype_name(dt));
    if ((unsigned)dt >= 32 || !(allowed & DT(dt)))
        return graft_status_set(st, GRAFT_ERR_UNSUPPORTED, "dtype %s is not supported", graft_dtype_name(dt));
    return GRAFT_OK;
}

static graft_code binary_infer(graft_op *op, graft_status *st)
{
    const ew_info *I = ew(op);
    graft_dtype a = graftI_in_dtype(op, 0), b = graftI_in_dtype(op, 1);
    if (a != b)
        return graft_status_set(st, GRAFT_ERR_DTYPE,
                                "input 1 was expected to be a %s tensor but is a %s tensor (dtypes must match)",
                                graft_dtype_name(a), graft_dtype_name(b));
    graft_code rc = check_T(op, a, I->dtypes, st);
    if (rc) return rc;
    graft_shape out;
    if (!graftI_broadcast_shape(graftI_in_shape(op, 0), graftI_in_shape(op, 1), &out)) {
        char b1[96], b2[96];
        return graft_status_set(st, GRAFT_ERR_SHAPE, "Incompatible shapes: %s vs. %s",
                                graft_shape_str(graftI_in_shape(op, 0), b1, sizeof b1),
                                graft_shape_str(graftI_in_shape(op, 1), b2, sizeof b2));
    }
    if ((rc = graftI_set_outputs(op, 1))) return rc;
    op->out[0].dtype = I->to_bool ? GRAFT_BOOL : a;
    op->out[0].shape = out;
    return GRAFT_OK;
}

static graft_code unary_infer(graft_op *op, graft_status *st)
{
    graft_dtype a = graftI_in_dtype(op, 0);
    graft_code rc = check_T(op, a, ew(op)->dtypes, st);
    if (rc) return rc;
    if ((rc = graftI_set_outputs(op, 1))) return rc;
    op->out[0].dtype = a;
    op->out[0].shape = *graftI_in_shape(op, 0);
    return GRAFT_OK;
}

/* Merges two static shapes that must be equal (unknown dims fill in). */
static bool merge_shape(const graft_shape *a, const graft_shape *b, graft_shape *out)
{
    if (a->rank < 0) {
        *out = *b;
        return true;
    }
    if (b->rank < 0) {
        *out = *a;
        return true;
    }
    if (a->rank != b->rank) return false;
    *out = *a;
    for (int d = 0; d < a->rank; d++) {
        if (a->dims[d] >= 0 && b->dims[d] >= 0 && a->dims[d] != b->dims[d]) return false;
        if (a->dims[d] < 0) out->dims[d] = b->dims[d];
    }
    return true;
}

static graft_code addn_infer(graft_op *op, graft_status *st)
{
    int64_t N = graftI_attr_i(op, "N", op->n_in);
    if (N != op->n_in)
        return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "attr N is %lld but there are %d inputs", (long long)N,
                                op->n_in);
    graft_dtype a = graftI_in_dtype(op, 0);
    graft_code rc = check_T(op, a, NUMS, st);
    if (rc) return rc;
    graft_shape s = *graftI_in_shape(op, 0);
    for (int i = 1; i < op->n_in; i++) {
        if (graftI_in_dtype(op, i) != a)
            return graft_status_set(st, GRAFT_ERR_DTYPE, "input %d is %s, input 0 is %s", i,
                                    graft_dtype_name(graftI_in_dtype(op, i)), graft_dtype_name(a));
        if (!merge_shape(&s, graftI_in_shape(op, i), &s)) {
            char b1[96], b2[96];
            return graft_status_set(st, GRAFT_ERR_SHAPE, "Shapes must be equal: input %d is %s, expected %s", i,
                                    graft_shape_str(graftI_in_shape(op, i), b1, sizeof b1),
                                    graft_shape_str(&s, b2, sizeof b2));
        }
    }
    if ((rc = graftI_set_outputs(op, 1))) return rc;
    op->out[0].dtype = a;
    op->out[0].shape = s;
    return GRAFT_OK;
}

static graft_code select_infer(graft_op *op, graft_status *st)
{
    graft_dtype c = graftI_in_dtype(op, 0), t = graftI_in_dtype(op, 1), e = graftI_in_dtype(op, 2);
    if (c != GRAFT_BOOL)
        return graft_status_set(st, GRAFT_ERR_DTYPE, "condition must be bool, got %s", graft_dtype_name(c));
    if (t != e)
        return graft_status_set(st, GRAFT_ERR_DTYPE, "t and e must have the same dtype (%s vs %s)",
                                graft_dtype_name(t), graft_dtype_name(e));
    if (t == GRAFT_STRING || graft_dtype_size(t) == 0 || graft_dtype_size(t) > 8)
        return graft_status_set(st, GRAFT_ERR_UNSUPPORTED, "dtype %s is not supported", graft_dtype_name(t));
    graft_dtype T = graftI_attr_dt(op, "T", GRAFT_INVALID);
    if (T != GRAFT_INVALID && T != t)
        return graft_status_set(st, GRAFT_ERR_DTYPE, "attr T is %s but t is %s", graft_dtype_name(T),
                                graft_dtype_name(t));
    graft_shape s;
    char b1[96], b2[96];
    if (!merge_shape(graftI_in_shape(op, 1), graftI_in_shape(op, 2), &s))
        return graft_status_set(st, GRAFT_ERR_SHAPE, "t and e must have the same shape (%s vs %s)",
                                graft_shape_str(graftI_in_shape(op, 1), b1, sizeof b1),
                                graft_shape_str(graftI_in_shape(op, 2), b2, sizeof b2));
    const graft_shape *cs = graftI_in_shape(op, 0);
    if (cs->rank >= 0 && s.rank >= 0 && cs->rank != 0) {
        graft_shape m;
        bool ok = merge_shape(cs, &s, &m);
        if (ok) s = m;
        else if (cs->rank == 1 && s.rank >= 1)
            ok = cs->dims[0] < 0 || s.dims[0] < 0 || cs->dims[0] == s.dims[0];
        if (!ok)
            return graft_status_set(st, GRAFT_ERR_SHAPE,
                                    "condition %s must be a scalar, a vector of t's first dim, or t's shape %s",
                                    graft_shape_str(cs, b1, sizeof b1), graft_shape_str(&s, b2, sizeof b2));
    }
    graft_code rc = graftI_set_outputs(op, 1);
    if (rc) return rc;
    op->out[0].dtype = t;
    op->out[0].shape = s;
    return GRAFT_OK;
}

/* ---- forward kernels ---------------------------------------------------------------------- */
static bool same_dims(const graft_tensor *t, const int64_t *dims, int rank)
{
    if (t->rank != rank) return false;
    for (int d = 0; d < rank; d++)
        if (t->dims[d] != dims[d]) return false;
    return true;
}

static graft_code fail_nomem(graftI_kctx *k) { return k->st->code ? k->st->code : GRAFT_ERR_NOMEM; }

static graft_code binary_forward(graftI_kctx *k)
{
    const ew_info *I = ew(k->op);
    const graft_tensor *a = k->in[0], *b = k->in[1];
    if (a->dtype != b->dtype)
        return graftI_kfail(k, GRAFT_ERR_DTYPE, "inputs are %s and %s", graft_dtype_name(a->dtype),
                            graft_dtype_name(b->dtype));
    int col = dtcol(a->dtype);
    bin_fn fn = col >= 0 ? bin_fns[I->kind][col] : NULL;
    if (!fn) return graftI_kfail(k, GRAFT_ERR_UNSUPPORTED, "dtype %s is not supported", graft_dtype_name(a->dtype));
    graftI_bcast bc;
    if (!graftI_bcast_init(&bc, a->dims, a->rank, b->dims, b->rank)) {
        graft_shape sa = graftI_tensor_shape(a), sb = graftI_tensor_shape(b);
        char b1[96], b2[96];
        return graftI_kfail(k, GRAFT_ERR_SHAPE, "Incompatible shapes: %s vs. %s", graft_shape_str(&sa, b1, sizeof b1),
                            graft_shape_str(&sb, b2, sizeof b2));
    }
    if ((I->kind == K_FLOORDIV || I->kind == K_TDIV || I->kind == K_FLOORMOD || I->kind == K_MOD) &&
        graftI_is_int_index(b->dtype)) {
        for (int64_t i = 0; i < b->n; i++)
            if ((b->dtype == GRAFT_INT32 ? ((const int32_t *)b->data)[i] : ((const int64_t *)b->data)[i]) == 0)
                return graftI_kfail(k, GRAFT_ERR_INVALID_ARG, "Integer division by zero");
    }
    graft_tensor *o;
    if (I->to_bool) o = graftI_out_alloc(k, 0, GRAFT_BOOL, bc.out_dims, bc.out_rank, false);
    else if (same_dims(a, bc.out_dims, bc.out_rank)) o = graftI_out_reuse(k, 0, 0, a->dtype, bc.out_dims, bc.out_rank);
    else if (same_dims(b, bc.out_dims, bc.out_rank)) o = graftI_out_reuse(k, 0, 1, a->dtype, bc.out_dims, bc.out_rank);
    else o = graftI_out_alloc(k, 0, a->dtype, bc.out_dims, bc.out_rank, false);
    if (!o) return fail_nomem(k);
    if (bc.n > 0) fn(&bc, a->data, b->data, o->data);
    return GRAFT_OK;
}

static graft_code unary_forward(graftI_kctx *k)
{
    const graft_tensor *a = k->in[0];
    int col = dtcol(a->dtype);
    un_fn fn = col >= 0 ? un_fns[ew(k->op)->kind][col] : NULL;
    if (!fn) return graftI_kfail(k, GRAFT_ERR_UNSUPPORTED, "dtype %s is not supported", graft_dtype_name(a->dtype));
    graft_tensor *o = graftI_out_reuse(k, 0, 0, a->dtype, a->dims, a->rank);
    if (!o) return fail_nomem(k);
    fn(a->data, o->data, a->n);
    return GRAFT_OK;
}

#define ADDN_LOOP(T, WRAP)                                                                         \
    do {                                                                                           \
        T *o = out->data;                                                                          \
        const T *p0 = k->in[0]->data, *p1 = k->in[1]->data;                                        \
        for (int64_t i = 0; i < n; i++) o[i] = (T)WRAP(p0[i], p1[i]);                             \
        for (int j = 2; j < k->n_in; j++) {                                                        \
            const T *pj = k->in[j]->data;                                                          \
            for (int64_t i = 0; i < n; i++) o[i] = (T)WRAP(o[i], pj[i]);                          \
        }                                                                                          \
    } while (0)
#define PLAIN_ADD(x, y) ((x) + (y))
#define WRAP_ADD32(x, y) ((uint32_t)(x) + (uint32_t)(y))
#define WRAP_ADD64(x, y) ((uint64_t)(x) + (uint64_t)(y))

static graft_code addn_forward(graftI_kctx *k)
{
    const graft_tensor *a = k->in[0];
    for (int j = 1; j < k->n_in; j++)
        if (k->in[j]->dtype != a->dtype || !same_dims(k->in[j], a->dims, a->rank)) {
            graft_shape s0 = graftI_tensor_shape(a), sj = graftI_tensor_shape(k->in[j]);
            char b1[96], b2[96];
            return graftI_kfail(k, GRAFT_ERR_SHAPE, "inputs must have the same shape and dtype: input 0 %s %s, input %d %s %s",
                                graft_dtype_name(a->dtype), graft_shape_str(&s0, b1, sizeof b1), j,
                                graft_dtype_name(k->in[j]->dtype), graft_shape_str(&sj, b2, sizeof b2));
        }
    if (dtcol(a->dtype) < 0 || dtcol(a->dtype) > 3)
        return graftI_kfail(k, GRAFT_ERR_UNSUPPORTED, "dtype %s is not supported", graft_dtype_name(a->dtype));
    if (k->n_in == 1) {
        graftI_out_set(k, 0, graft_tensor_ref(k->in[0]));
        return GRAFT_OK;
    }
    graft_tensor *out = graftI_out_reuse(k, 0, 0, a->dtype, a->dims, a->rank);
    if (!out) return fail_nomem(k);
    int64_t n = a->n;
    switch (a->dtype) {
    case GRAFT_FLOAT: ADDN_LOOP(float, PLAIN_ADD); break;
    case GRAFT_DOUBLE: ADDN_LOOP(double, PLAIN_ADD); break;
    case GRAFT_INT32: ADDN_LOOP(int32_t, WRAP_ADD32); break;
    default: ADDN_LOOP(int64_t, WRAP_ADD64); break;
    }
    return GRAFT_OK;
}

#define SELECT_ELEMS(T)                                                                            \
    do {                                                                                           \
        T *o = out->data;                                                                          \
        const T *pt = t->data, *pe = e->data;                                                      \
        for (int64_t i = 0; i < n; i++) o[i] = c[i] ? pt[i] : pe[i];                               \
    } while (0)

static graft_code select_forward(graftI_kctx *k)
{
    const graft_tensor *cond = k->in[0], *t = k->in[1], *e = k->in[2];
    graft_shape sc = graftI_tensor_shape(cond), stt = graftI_tensor_shape(t), se = graftI_tensor_shape(e);
    char b1[96], b2[96];
    if (t->dtype != e->dtype || !graftI_shape_equal(&stt, &se))
        return graftI_kfail(k, GRAFT_ERR_SHAPE, "t %s and e %s must have the same shape and dtype",
                            graft_shape_str(&stt, b1, sizeof b1), graft_shape_str(&se, b2, sizeof b2));
    size_t es = graft_dtype_size(t->dtype);
    if (cond->dtype != GRAFT_BOOL || t->dtype == GRAFT_STRING || es == 0)
        return graftI_kfail(k, GRAFT_ERR_DTYPE, "condition must be bool and t numeric");
    const uint8_t *c = cond->data;
    int64_t n = t->n;
    if (graftI_shape_equal(&sc, &stt) && sc.rank > 0) {
        graft_tensor *out = graftI_out_alloc(k, 0, t->dtype, t->dims, t->rank, false);
        if (!out) return fail_nomem(k);
        switch (es) {
        case 1: SELECT_ELEMS(uint8_t); break;
        case 2: SELECT_ELEMS(uint16_t); break;
        case 4: SELECT_ELEMS(uint32_t); break;
        case 8: SELECT_ELEMS(uint64_t); break;
        default: return graftI_kfail(k, GRAFT_ERR_UNSUPPORTED, "element size %zu", es);
        }
        return GRAFT_OK;
    }
    if (sc.rank == 0) {
        graftI_out_set(k, 0, graft_tensor_ref(c[0] ? k->in[1] : k->in[2]));
        return GRAFT_OK;
    }
    if (sc.rank == 1 && stt.rank >= 1 && sc.dims[0] == stt.dims[0]) {
        graft_tensor *out = graftI_out_alloc(k, 0, t->dtype, t->dims, t->rank, false);
        if (!out) return fail_nomem(k);
        int64_t rows = sc.dims[0];
        size_t row_bytes = rows > 0 ? (size_t)(n / rows) * es : 0;
        for (int64_t r = 0; r < rows; r++)
            memcpy((char *)out->data + (size_t)r * row_bytes,
                   (const char *)(c[r] ? t->data : e->data) + (size_t)r * row_bytes, row_bytes);
        return GRAFT_OK;
    }
    return graftI_kfail(k, GRAFT_ERR_SHAPE, "condition %s must be a scalar, a vector of t's first dim, or t's shape %s",
                        graft_shape_str(&sc, b1, sizeof b1), graft_shape_str(&stt, b2, sizeof b2));
}

/* ClipByValue(t, lo, hi) = min(max(t, lo), hi); lo and hi are scalars or t-shaped. */
static graft_code clip_infer(graft_op *op, graft_status *st)
{
    graft_dtype t = graftI_in_dtype(op, 0);
    graft_code rc = check_T(op, t, NUMS, st);
    if (rc) return rc;
    const graft_shape *ts = graftI_in_shape(op, 0);
    for (int i = 1; i < 3; i++) {
        const graft_shape *s = graftI_in_shape(op, i);
        if (graftI_in_dtype(op, i) != t)
            return graft_status_set(st, GRAFT_ERR_DTYPE, "clip bound %d is %s, t is %s", i,
                                    graft_dtype_name(graftI_in_dtype(op, i)), graft_dtype_name(t));
        if (s->rank > 0 && !graftI_shape_compatible(s, ts)) {
            char b1[96], b2[96];
            return graft_status_set(st, GRAFT_ERR_SHAPE, "clip bound %d must be a scalar or t's shape %s, got %s", i,
                                    graft_shape_str(ts, b1, sizeof b1), graft_shape_str(s, b2, sizeof b2));
        }
    }
    if ((rc = graftI_set_outputs(op, 1))) return rc;
    op->out[0].dtype = t;
    op->out[0].shape = *ts;
    return GRAFT_OK;
}

static graft_code clip_forward(graftI_kctx *k)
{
    const graft_tensor *t = k->in[0];
    int col = dtcol(t->dtype);
    if (col < 0 || col > 3) return graftI_kfail(k, GRAFT_ERR_UNSUPPORTED, "dtype %s", graft_dtype_name(t->dtype));
    graftI_bcast b1, b2;
    for (int i = 1; i < 3; i++) {
        const graft_tensor *c = k->in[i];
        if (c->dtype != t->dtype || (c->rank > 0 && !same_dims(c, t->dims, t->rank)))
            return graftI_kfail(k, GRAFT_ERR_SHAPE, "clip bound %d must be a scalar or t's shape", i);
    }
    if (!graftI_bcast_init(&b1, t->dims, t->rank, k->in[1]->dims, k->in[1]->rank) ||
        !graftI_bcast_init(&b2, t->dims, t->rank, k->in[2]->dims, k->in[2]->rank))
        return graftI_kfail(k, GRAFT_ERR_SHAPE, "clip bounds do not broadcast");
    graft_tensor *o = graftI_out_reuse(k, 0, 0, t->dtype, t->dims, t->rank);
    if (!o) return fail_nomem(k);
    if (b1.n == 0) return GRAFT_OK;
    bin_fns[K_MAX][col](&b1, t->data, k->in[1]->data, o->data);
    bin_fns[K_MIN][col](&b2, o->data, k->in[2]->data, o->data);
    return GRAFT_OK;
}

/* ---- typed builders ---------------------------------------------------------------------- */
static graft_out make1(graft_graph *g, const char *type, const graft_out *in, int n_in, const graftI_attr *at, int na)
{
    return graftI_o(graftI_make_op(g, type, type, in, n_in, at, na), 0);
}

static graft_out binary(graft_graph *g, const char *type, graft_out a, graft_out b)
{
    graft_out in[2] = {a, b};
    graftI_attr at = graftI_a_type("T", graft_out_dtype(a));
    return make1(g, type, in, 2, &at, 1);
}

static graft_out unary(graft_graph *g, const char *type, graft_out x)
{
    graftI_attr at = graftI_a_type("T", graft_out_dtype(x));
    return make1(g, type, &x, 1, &at, 1);
}

graft_out graft_add(graft_graph *g, graft_out a, graft_out b) { return binary(g, "Add", a, b); }
graft_out graft_add_v2(graft_graph *g, graft_out a, graft_out b) { return binary(g, "AddV2", a, b); }
graft_out graft_sub(graft_graph *g, graft_out a, graft_out b) { return binary(g, "Sub", a, b); }
graft_out graft_mul(graft_graph *g, graft_out a, graft_out b) { return binary(g, "Mul", a, b); }
graft_out graft_div(graft_graph *g, graft_out a, graft_out b) { return binary(g, "RealDiv", a, b); }
graft_out graft_maximum(graft_graph *g, graft_out a, graft_out b) { return binary(g, "Maximum", a, b); }
graft_out graft_minimum(graft_graph *g, graft_out a, graft_out b) { return binary(g, "Minimum", a, b); }
graft_out graft_pow(graft_graph *g, graft_out a, graft_out b) { return binary(g, "Pow", a, b); }
graft_out graft_equal(graft_graph *g, graft_out a, graft_out b) { return binary(g, "Equal", a, b); }
graft_out graft_greater(graft_graph *g, graft_out a, graft_out b) { return binary(g, "Greater", a, b); }
graft_out graft_greater_equal(graft_graph *g, graft_out a, graft_out b) { return binary(g, "GreaterEqual", a, b); }
graft_out graft_less(graft_graph *g, graft_out a, graft_out b) { return binary(g, "Less", a, b); }
graft_out graft_neg(graft_graph *g, graft_out x) { return unary(g, "Neg", x); }
graft_out graft_square(graft_graph *g, graft_out x) { return unary(g, "Square", x); }
graft_out graft_sqrt(graft_graph *g, graft_out x) { return unary(g, "Sqrt", x); }
graft_out graft_rsqrt(graft_graph *g, graft_out x) { return unary(g, "Rsqrt", x); }
graft_out graft_exp(graft_graph *g, graft_out x) { return unary(g, "Exp", x); }
graft_out graft_log(graft_graph *g, graft_out x) { return unary(g, "Log", x); }
graft_out graft_floor(graft_graph *g, graft_out x) { return unary(g, "Floor", x); }

graft_out graft_select(graft_graph *g, graft_out cond, graft_out a, graft_out b)
{
    graft_out in[3] = {cond, a, b};
    graftI_attr at = graftI_a_type("T", graft_out_dtype(a));
    return make1(g, "Select", in, 3, &at, 1);
}

graft_out graft_add_n(graft_graph *g, const graft_out *xs, int n)
{
    if (!g) return graftI_o(NULL, 0);
    if (!xs || n < 1) {
        graftI_graph_fail(g, GRAFT_ERR_INVALID_ARG, "graft_add_n: needs at least one input (got %d)", n);
        return graftI_o(NULL, 0);
    }
    graftI_attr at[2] = {graftI_a_int("N", n), graftI_a_type("T", graft_out_dtype(xs[0]))};
    return make1(g, "AddN", xs, n, at, 2);
}

/* ---- gradient builders ------------------------------------------------------------------
 * As TensorFlow's math_grad.py: the gradient of a broadcasting op is reduced
 * back to each input's shape (graftI_gb_unbroadcast). */
static graft_code add_grad(graft_graph *g, graft_op *op, const graft_out *dy, graft_out *dx)
{
    if (!dy[0].op) return GRAFT_OK;
    dx[0] = graftI_gb_unbroadcast(g, dy[0], op->in[0], op->in[1]);
    dx[1] = graftI_gb_unbroadcast(g, dy[0], op->in[1], op->in[0]);
    return graft_graph_status(g);
}

static graft_code sub_grad(graft_graph *g, graft_op *op, const graft_out *dy, graft_out *dx)
{
    if (!dy[0].op) return GRAFT_OK;
    dx[0] = graftI_gb_unbroadcast(g, dy[0], op->in[0], op->in[1]);
    dx[1] = graft_neg(g, graftI_gb_unbroadcast(g, dy[0], op->in[1], op->in[0]));
    return graft_graph_status(g);
}

/* d(x*y) = (dy*y, x*dy) */
static graft_code mul_grad(graft_graph *g, graft_op *op, const graft_out *dy, graft_out *dx)
{
    if (!dy[0].op) return GRAFT_OK;
    graft_out x = op->in[0], y = op->in[1];
    dx[0] = graftI_gb_unbroadcast(g, graft_mul(g, dy[0], y), x, y);
    dx[1] = graftI_gb_unbroadcast(g, graft_mul(g, x, dy[0]), y, x);
    return graft_graph_status(g);
}

/* d(x/y) = (dy/y, dy * (-x/y)/y) */
static graft_code div_grad(graft_graph *g, graft_op *op, const graft_out *dy, graft_out *dx)
{
    if (!dy[0].op) return GRAFT_OK;
    graft_out x = op->in[0], y = op->in[1];
    dx[0] = graftI_gb_unbroadcast(g, graft_div(g, dy[0], y), x, y);
    graft_out t = graft_div(g, graft_div(g, graft_neg(g, x), y), y);
    dx[1] = graftI_gb_unbroadcast(g, graft_mul(g, dy[0], t), y, x);
    return graft_graph_status(g);
}

/* Maximum/Minimum: the gradient goes to x where x >= y (x <= y for Minimum),
 * else to y (TF1 _MaximumMinimumGrad; ties go to x). */
static graft_code maxmin_grad(graft_graph *g, graft_op *op, const graft_out *dy, graft_out *dx)
{
    if (!dy[0].op) return GRAFT_OK;
    graft_out x = op->in[0], y = op->in[1];
    graft_out mask = ew(op)->kind == K_MAX ? graft_greater_equal(g, x, y) : binary(g, "LessEqual", x, y);
    graft_out zeros = graft_zeros_like(g, dy[0]);
    dx[0] = graftI_gb_unbroadcast(g, graft_select(g, mask, dy[0], zeros), x, y);
    dx[1] = graftI_gb_unbroadcast(g, graft_select(g, mask, zeros, dy[0]), y, x);
    return graft_graph_status(g);
}

/* z = x^y: dx = dy * y * x^(y-1); dy_ = dy * z * log(x) where x > 0, else 0. */
static graft_code pow_grad(graft_graph *g, graft_op *op, const graft_out *dy, graft_out *dx)
{
    if (!dy[0].op) return GRAFT_OK;
    graft_out x = op->in[0], y = op->in[1], z = graftI_o(op, 0);
    graft_dtype dt = graft_out_dtype(x);
    graft_out ym1 = graft_sub(g, y, graftI_gb_scalar(g, dt, 1.0));
    dx[0] = graftI_gb_unbroadcast(g, graft_mul(g, graft_mul(g, dy[0], y), graft_pow(g, x, ym1)), x, y);
    graft_out mask = graft_greater(g, x, graftI_gb_scalar(g, dt, 0.0));
    graft_out safe_x = graft_select(g, mask, x, graft_ones_like(g, x));
    graft_out log_x = graft_select(g, mask, graft_log(g, safe_x), graft_zeros_like(g, x));
    dx[1] = graftI_gb_unbroadcast(g, graft_mul(g, graft_mul(g, dy[0], z), log_x), y, x);
    return graft_graph_status(g);
}

static graft_code neg_grad(graft_graph *g, graft_op *op, const graft_out *dy, graft_out *dx)
{
    if (dy[0].op) dx[0] = graft_neg(g, dy[0]);
    return graft_graph_status(g);
}

/* d(x^2) = dy * (2x) */
static graft_code square_grad(graft_graph *g, graft_op *op, const graft_out *dy, graft_out *dx)
{
    if (!dy[0].op) return GRAFT_OK;
    graft_out two = graftI_gb_scalar(g, graft_out_dtype(op->in[0]), 2.0);
    dx[0] = graft_mul(g, dy[0], graft_mul(g, two, op->in[0]));
    return graft_graph_status(g);
}

/* Sqrt/Rsqrt/Reciprocal: TF's fused *Grad(y, dy) ops on the output y. */
static graft_code fused_y_grad(graft_graph *g, graft_op *op, const graft_out *dy, graft_out *dx)
{
    if (!dy[0].op) return GRAFT_OK;
    int kind = ew(op)->kind;
    const char *type = kind == U_SQRT ? "SqrtGrad" : kind == U_RSQRT ? "RsqrtGrad" : "ReciprocalGrad";
    dx[0] = binary(g, type, graftI_o(op, 0), dy[0]);
    return graft_graph_status(g);
}

static graft_code exp_grad(graft_graph *g, graft_op *op, const graft_out *dy, graft_out *dx)
{
    if (dy[0].op) dx[0] = graft_mul(g, dy[0], graftI_o(op, 0));
    return graft_graph_status(g);
}

/* d(log x) = dy * (1/x) */
static graft_code log_grad(graft_graph *g, graft_op *op, const graft_out *dy, graft_out *dx)
{
    if (dy[0].op) dx[0] = graft_mul(g, dy[0], unary(g, "Reciprocal", op->in[0]));
    return graft_graph_status(g);
}

static graft_code select_grad(graft_graph *g, graft_op *op, const graft_out *dy, graft_out *dx)
{
    if (!dy[0].op) return GRAFT_OK;
    graft_out zeros = graft_zeros_like(g, op->in[1]);
    dx[1] = graft_select(g, op->in[0], dy[0], zeros);
    dx[2] = graft_select(g, op->in[0], zeros, dy[0]);
    return graft_graph_status(g);
}

/* FloorMod: x - floor(x/y)*y -> (dy, -dy * floor(x/y)) */
static graft_code floormod_grad(graft_graph *g, graft_op *op, const graft_out *dy, graft_out *dx)
{
    if (!dy[0].op) return GRAFT_OK;
    graft_out x = op->in[0], y = op->in[1];
    dx[0] = graftI_gb_unbroadcast(g, dy[0], x, y);
    graft_out q = binary(g, "FloorDiv", x, y);
    dx[1] = graftI_gb_unbroadcast(g, graft_mul(g, dy[0], graft_neg(g, q)), y, x);
    return graft_graph_status(g);
}

/* (x-y)^2 -> (2(x-y)dy, -2(x-y)dy) */
static graft_code sqdiff_grad(graft_graph *g, graft_op *op, const graft_out *dy, graft_out *dx)
{
    if (!dy[0].op) return GRAFT_OK;
    graft_out x = op->in[0], y = op->in[1];
    graft_out two = graftI_gb_scalar(g, graft_out_dtype(x), 2.0);
    graft_out t = graft_mul(g, graft_mul(g, two, dy[0]), graft_sub(g, x, y));
    dx[0] = graftI_gb_unbroadcast(g, t, x, y);
    dx[1] = graft_neg(g, graftI_gb_unbroadcast(g, t, y, x));
    return graft_graph_status(g);
}

/* d log(1+x) = dy / (1+x) */
static graft_code log1p_grad(graft_graph *g, graft_op *op, const graft_out *dy, graft_out *dx)
{
    if (!dy[0].op) return GRAFT_OK;
    graft_out one = graftI_gb_scalar(g, graft_out_dtype(op->in[0]), 1.0);
    dx[0] = graft_mul(g, dy[0], unary(g, "Reciprocal", graft_add(g, one, op->in[0])));
    return graft_graph_status(g);
}

/* DivNoNan: as RealDiv with 0 where y == 0 */
static graft_code divnonan_grad(graft_graph *g, graft_op *op, const graft_out *dy, graft_out *dx)
{
    if (!dy[0].op) return GRAFT_OK;
    graft_out x = op->in[0], y = op->in[1];
    dx[0] = graftI_gb_unbroadcast(g, binary(g, "DivNoNan", dy[0], y), x, y);
    graft_out t = binary(g, "DivNoNan", binary(g, "DivNoNan", graft_neg(g, x), y), y);
    dx[1] = graftI_gb_unbroadcast(g, graft_mul(g, dy[0], t), y, x);
    return graft_graph_status(g);
}

/* ClipByValue: dy flows to t where it was inside [lo, hi], else to the bound
 * that clipped it (TF's _ClipByValueGrad). */
static graft_code clip_grad(graft_graph *g, graft_op *op, const graft_out *dy, graft_out *dx)
{
    if (!dy[0].op) return GRAFT_OK;
    graft_out x = op->in[0], lo = op->in[1], hi = op->in[2];
    graft_out zeros = graft_zeros_like(g, dy[0]);
    graft_out below = graft_less(g, x, lo), above = graft_greater(g, x, hi);
    graft_out in[2] = {below, above};
    graft_out outside = make1(g, "LogicalOr", in, 2, NULL, 0);
    dx[0] = graft_select(g, outside, zeros, dy[0]);
    dx[1] = graftI_gb_unbroadcast(g, graft_select(g, below, dy[0], zeros), lo, x);
    dx[2] = graftI_gb_unbroadcast(g, graft_select(g, above, dy[0], zeros), hi, x);
    return graft_graph_status(g);
}

static graft_code addn_grad(graft_graph *g, graft_op *op, const graft_out *dy, graft_out *dx)
{
    if (!dy[0].op) return GRAFT_OK;
    for (int i = 0; i < op->n_in; i++) dx[i] = dy[0];
    return GRAFT_OK;
}

/* ---- the table -------------------------------------------------------------------------- */
#define BINOP(var, NAME, KIND, DTS, GRAD, FLAGS)                                                   \
    static const ew_info var = {{NAME, 2, 2, attrs_T, FLAGS, binary_infer, binary_forward, GRAD}, KIND, DTS, false};
#define CMPOP(var, NAME, KIND, DTS)                                                                \
    static const ew_info var = {                                                                   \
        {NAME, 2, 2, attrs_cmp, GRAFTI_OP_NO_GRAD, binary_infer, binary_forward, NULL}, KIND, DTS, true};
#define UNOP(var, NAME, KIND, DTS, GRAD, FLAGS)                                                    \
    static const ew_info var = {{NAME, 1, 1, attrs_T, FLAGS, unary_infer, unary_forward, GRAD}, KIND, DTS, false};

BINOP(op_add, "Add", K_ADD, NUMS, add_grad, 0)
BINOP(op_addv2, "AddV2", K_ADD, NUMS, add_grad, 0)
BINOP(op_sub, "Sub", K_SUB, NUMS, sub_grad, 0)
BINOP(op_mul, "Mul", K_MUL, NUMS, mul_grad, 0)
BINOP(op_realdiv, "RealDiv", K_DIV, FLOATS, div_grad, 0)
BINOP(op_maximum, "Maximum", K_MAX, NUMS, maxmin_grad, 0)
BINOP(op_minimum, "Minimum", K_MIN, NUMS, maxmin_grad, 0)
BINOP(op_pow, "Pow", K_POW, FLOATS, pow_grad, 0)
BINOP(op_floordiv, "FloorDiv", K_FLOORDIV, NUMS, NULL, GRAFTI_OP_NO_GRAD)
BINOP(op_sqrtgrad, "SqrtGrad", K_SQRTGRAD, FLOATS, NULL, 0)
BINOP(op_rsqrtgrad, "RsqrtGrad", K_RSQRTGRAD, FLOATS, NULL, 0)
BINOP(op_recipgrad, "ReciprocalGrad", K_RECIPGRAD, FLOATS, NULL, 0)
BINOP(op_div, "Div", K_TDIV, NUMS, div_grad, 0)
BINOP(op_floormod, "FloorMod", K_FLOORMOD, NUMS, floormod_grad, 0)
BINOP(op_mod, "Mod", K_MOD, NUMS, NULL, 0)
BINOP(op_sqdiff, "SquaredDifference", K_SQDIFF, FLOATS, sqdiff_grad, 0)
BINOP(op_divnonan, "DivNoNan", K_DIVNONAN, FLOATS, divnonan_grad, 0)
static const ew_info op_land = {{"LogicalAnd", 2, 2, attrs_none, GRAFTI_OP_NO_GRAD, binary_infer, binary_forward, NULL},
                                K_LAND, DT(GRAFT_BOOL), false};
static const ew_info op_lor = {{"LogicalOr", 2, 2, attrs_none, GRAFTI_OP_NO_GRAD, binary_infer, binary_forward, NULL},
                               K_LOR, DT(GRAFT_BOOL), false};
static const ew_info op_lnot = {{"LogicalNot", 1, 1, attrs_none, GRAFTI_OP_NO_GRAD, unary_infer, unary_forward, NULL},
                                U_LNOT, DT(GRAFT_BOOL), false};
CMPOP(op_equal, "Equal", K_EQ, NUMS | DT(GRAFT_BOOL))
CMPOP(op_notequal, "NotEqual", K_NE, NUMS | DT(GRAFT_BOOL))
CMPOP(op_greater, "Greater", K_GT, NUMS)
CMPOP(op_greaterequal, "GreaterEqual", K_GE, NUMS)
CMPOP(op_less, "Less", K_LT, NUMS)
CMPOP(op_lessequal, "LessEqual", K_LE, NUMS)
UNOP(op_neg, "Neg", U_NEG, NUMS, neg_grad, 0)
UNOP(op_square, "Square", U_SQUARE, NUMS, square_grad, 0)
UNOP(op_sqrt, "Sqrt", U_SQRT, FLOATS, fused_y_grad, 0)
UNOP(op_rsqrt, "Rsqrt", U_RSQRT, FLOATS, fused_y_grad, 0)
UNOP(op_reciprocal, "Reciprocal", U_RECIP, FLOATS, fused_y_grad, 0)
UNOP(op_inv, "Inv", U_RECIP, FLOATS, fused_y_grad, 0)
UNOP(op_log1p, "Log1p", U_LOG1P, FLOATS, log1p_grad, 0)
UNOP(op_exp, "Exp", U_EXP, FLOATS, exp_grad, 0)
UNOP(op_log, "Log", U_LOG, FLOATS, log_grad, 0)
UNOP(op_floor, "Floor", U_FLOOR, FLOATS, NULL, GRAFTI_OP_NO_GRAD)

static const graftI_op_def op_select = {"Select", 3, 3, attrs_T, 0, select_infer, select_forward, select_grad};
static const graftI_op_def op_addn = {"AddN", 1, -1, attrs_addn, 0, addn_infer, addn_forward, addn_grad};
static const graftI_op_def op_clip = {"ClipByValue", 3, 3, attrs_T, 0, clip_infer, clip_forward, clip_grad};

const graftI_op_def *const graftI_ops_elementwise[] = {
    &op_add.def, &op_addv2.def, &op_sub.def, &op_mul.def, &op_realdiv.def, &op_maximum.def, &op_minimum.def,
    &op_pow.def, &op_floordiv.def, &op_sqrtgrad.def, &op_rsqrtgrad.def, &op_recipgrad.def, &op_equal.def,
    &op_notequal.def, &op_greater.def, &op_greaterequal.def, &op_less.def, &op_lessequal.def, &op_neg.def,
    &op_square.def, &op_sqrt.def, &op_rsqrt.def, &op_reciprocal.def, &op_exp.def, &op_log.def, &op_floor.def,
    &op_select, &op_addn, &op_div.def, &op_floormod.def, &op_mod.def, &op_sqdiff.def, &op_divnonan.def, &op_land.def,
    &op_lor.def, &op_lnot.def, &op_inv.def, &op_log1p.def, &op_clip, NULL};
