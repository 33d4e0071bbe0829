/* lib/ops/op_shape.c - shape and data-movement ops (Reshape, Squeeze,
 * ExpandDims, Transpose, ConcatV2, Pad, Slice, StridedSlice, Pack/Unpack, Tile,
 * BroadcastTo), shape queries (Shape, Size, Rank, BroadcastGradientArgs, ...),
 * Fill/ZerosLike/OnesLike/Range, Cast and Identity/StopGradient: defs, shape
 * inference, kernels, TF's gradient builders and the typed builders. */
#include <math.h>
#include <stdio.h>

#include "bcast.h"

#define MAXV 64 /* longest int vector input (shape, begin, perm, ...) we read */
#define MAX_PAD ((int64_t)1 << 40) /* keeps dim + pads far from int64 overflow */

static graft_code fail_nomem(graftI_kctx *k) { return k->st->code ? k->st->code : GRAFT_ERR_NOMEM; }

static const char *shs(const graft_shape *s, char *buf, size_t cap) { return graft_shape_str(s, buf, cap); }
static const char *tshs(const graft_tensor *t, char *buf, size_t cap)
{
    graft_shape s = graftI_tensor_shape(t);
    return graft_shape_str(&s, buf, cap);
}

static graft_code set1(graft_op *op, graft_dtype dt, graft_shape s)
{
    graft_code rc = graftI_set_outputs(op, 1);
    if (rc) return rc;
    op->out[0].dtype = dt;
    op->out[0].shape = s;
    return GRAFT_OK;
}

static graft_shape rank_only(int rank)
{
    graft_shape s = graft_shape_unknown();
    if (rank >= 0 && rank <= GRAFT_MAX_DIMS) {
        s.rank = rank;
        for (int d = 0; d < rank; d++) s.dims[d] = -1;
    }
    return s;
}

/* Checks that attr `name` (when present) equals input i's dtype. */
static graft_code check_attr_dt(const graft_op *op, const char *name, int i, graft_status *st)
{
    graft_dtype t = graftI_attr_dt(op, name, GRAFT_INVALID);
    graft_dtype in = graftI_in_dtype(op, i);
    if (t != GRAFT_INVALID && t != in)
        return graft_status_set(st, GRAFT_ERR_DTYPE, "attr %s is %s but input %d is %s", name, graft_dtype_name(t), i,
                                graft_dtype_name(in));
    return GRAFT_OK;
}

static graft_code check_index_input(const graft_op *op, int i, const char *attr, const char *what, graft_status *st)
{
    graft_dtype dt = graftI_in_dtype(op, i);
    if (!graftI_is_int_index(dt))
        return graft_status_set(st, GRAFT_ERR_DTYPE, "%s must be int32 or int64, got %s", what, graft_dtype_name(dt));
    return attr ? check_attr_dt(op, attr, i, st) : GRAFT_OK;
}

/* Int vector from a kernel input (any rank), kfail when not ints or too long. */
static int kints(graftI_kctx *k, int i, int64_t *v, int cap, const char *what)
{
    int n = graftI_tensor_ints(k->in[i], v, cap);
    if (n < 0) graftI_kfail(k, GRAFT_ERR_INVALID_ARG, "%s must be an int32/int64 tensor of at most %d values", what, cap);
    return n;
}

static bool copyable(graft_dtype dt) { return dt != GRAFT_STRING && graft_dtype_size(dt) > 0; }

/* ---- strided block copy -------------------------------------------------------------------
 * Copies a box of n[0..rank) elements between a dense array `dense` and a
 * strided view of `big` (row-major dims bdims, start begin[], step stride[]).
 * gather: big -> dense; else dense -> big (scatter). The innermost dim is a
 * memcpy when its step is 1. */
static void box_copy(void *dense, void *big, int rank, const int64_t *bdims, const int64_t *begin,
                     const int64_t *stride, const int64_t *n, size_t es, bool gather)
{
    int64_t bstr[GRAFT_MAX_DIMS], total = 1;
    for (int d = rank - 1; d >= 0; d--) bstr[d] = d == rank - 1 ? 1 : bstr[d + 1] * bdims[d + 1];
    for (int d = 0; d < rank; d++) total *= n[d];
    if (total == 0) return;
    char *dp = dense, *bp = big;
    if (rank == 0) {
        if (gather) memcpy(dp, bp, es);
        else memcpy(bp, dp, es);
        return;
    }
    int64_t base = 0;
    for (int d = 0; d < rank; d++) base += begin[d] * bstr[d];
    const int64_t inner = n[rank - 1], istep = stride[rank - 1];
    const int64_t rows = total / inner;
    int64_t idx[GRAFT_MAX_DIMS] = {0}, off = base;
    for (int64_t r = 0; r < rows; r++) {
        char *brow = bp + off * (int64_t)es;
        char *drow = dp + r * inner * (int64_t)es;
        if (istep == 1) {
            if (gather) memcpy(drow, brow, (size_t)inner * es);
            else memcpy(brow, drow, (size_t)inner * es);
        } else if (es == 4) {
            uint32_t *dd = (uint32_t *)(void *)drow, *bb = (uint32_t *)(void *)brow;
            if (gather)
                for (int64_t i = 0; i < inner; i++) dd[i] = bb[i * istep];
            else
                for (int64_t i = 0; i < inner; i++) bb[i * istep] = dd[i];
        } else {
            for (int64_t i = 0; i < inner; i++) {
                if (gather) memcpy(drow + i * (int64_t)es, brow + i * istep * (int64_t)es, es);
                else memcpy(brow + i * istep * (int64_t)es, drow + i * (int64_t)es, es);
            }
        }
        for (int d = rank - 2; d >= 0; d--) {
            off += stride[d] * bstr[d];
            if (++idx[d] < n[d]) break;
            off -= stride[d] * bstr[d] * n[d];
            idx[d] = 0;
        }
    }
}

/* ---- Identity, StopGradient, PreventGradient ------------------------------------------------ */
static const graftI_attr_spec attrs_T[] = {{"T", GRAFTI_ATTR_TYPE, NULL}, {NULL, 0, NULL}};
static const graftI_attr_spec attrs_prevent[] = {
    {"T", GRAFTI_ATTR_TYPE, NULL}, {"message", GRAFTI_ATTR_STRING, ""}, {NULL, 0, NULL}};

static graft_code identity_infer(graft_op *op, graft_status *st)
{
    graft_code rc = check_attr_dt(op, "T", 0, st);
    return rc ? rc : set1(op, graftI_in_dtype(op, 0), *graftI_in_shape(op, 0));
}

static graft_code identity_forward(graftI_kctx *k)
{
    graftI_out_set(k, 0, graft_tensor_ref(k->in[0]));
    return GRAFT_OK;
}

static graft_code identity_grad(graft_graph *g, graft_op *op, const graft_out *dy, graft_out *dx)
{
    dx[0] = dy[0];
    return GRAFT_OK;
}

/* ---- Reshape, Squeeze, ExpandDims (views) ---------------------------------------------------- */
static const graftI_attr_spec attrs_reshape[] = {
    {"T", GRAFTI_ATTR_TYPE, NULL}, {"Tshape", GRAFTI_ATTR_TYPE, "int32"}, {NULL, 0, NULL}};
static const graftI_attr_spec attrs_squeeze[] = {
    {"T", GRAFTI_ATTR_TYPE, NULL}, {"squeeze_dims", GRAFTI_ATTR_LIST_INT, "[]"}, {NULL, 0, NULL}};
static const graftI_attr_spec attrs_expand[] = {
    {"T", GRAFTI_ATTR_TYPE, NULL}, {"Tdim", GRAFTI_ATTR_TYPE, "int32"}, {NULL, 0, NULL}};

/* Resolves a requested shape (one -1 inferred) against n elements. */
static bool resolve_reshape(int64_t n, const int64_t *req, int nr, int64_t *out, char *msg, size_t cap)
{
    int infer = -1;
    int64_t prod = 1;
    for (int i = 0; i < nr; i++) {
        if (req[i] == -1) {
            if (infer >= 0) {
                snprintf(msg, cap, "can only infer one dimension (dims %d and %d are -1)", infer, i);
                return false;
            }
            infer = i;
        } else if (req[i] < 0) {
            snprintf(msg, cap, "size %d must be non-negative, not %lld", i, (long long)req[i]);
            return false;
        } else if (!graftI_mul_i64(prod, req[i], &prod)) {
            snprintf(msg, cap, "requested shape overflows");
            return false;
        }
        out[i] = req[i];
    }
    if (infer >= 0) {
        if (prod == 0 || n % prod != 0) {
            snprintf(msg, cap, "Input to reshape is a tensor with %lld values, but the requested shape requires a multiple of %lld",
                     (long long)n, (long long)prod);
            return false;
        }
        out[infer] = n / prod;
    } else if (prod != n) {
        snprintf(msg, cap, "Input to reshape is a tensor with %lld values, but the requested shape has %lld",
                 (long long)n, (long long)prod);
        return false;
    }
    return true;
}

static graft_code reshape_infer(graft_op *op, graft_status *st)
{
    graft_code rc = check_attr_dt(op, "T", 0, st);
    if (rc || (rc = check_index_input(op, 1, "Tshape", "shape", st))) return rc;
    const graft_shape *xs = graftI_in_shape(op, 0), *ss = graftI_in_shape(op, 1);
    if (ss->rank > 1) return graft_status_set(st, GRAFT_ERR_SHAPE, "shape must be a vector, got rank %d", ss->rank);
    int64_t req[MAXV];
    bool partial;
    int nr = graftI_static_ints(op, 1, req, MAXV, &partial);
    graft_shape out = graft_shape_unknown();
    if (nr > GRAFT_MAX_DIMS)
        return graft_status_set(st, GRAFT_ERR_UNSUPPORTED, "rank %d exceeds graft's maximum of %d", nr, GRAFT_MAX_DIMS);
    if (nr >= 0 && partial) {
        out = graft_shape_make(nr, req); /* from Shape(y): -1 is unknown */
    } else if (nr >= 0) {
        int64_t n;
        char msg[256];
        if (graft_shape_num_elements(xs, &n) == GRAFT_OK) {
            int64_t dims[GRAFT_MAX_DIMS];
            char b1[96];
            if (!resolve_reshape(n, req, nr, dims, msg, sizeof msg))
                return graft_status_set(st, GRAFT_ERR_SHAPE, "%s (input shape %s)", msg, shs(xs, b1, sizeof b1));
            out = graft_shape_make(nr, dims);
        } else {
            int minus = 0;
            for (int i = 0; i < nr; i++) {
                if (req[i] < -1) return graft_status_set(st, GRAFT_ERR_SHAPE, "size %d must be non-negative", i);
                if (req[i] == -1) minus++;
            }
            if (minus > 1) return graft_status_set(st, GRAFT_ERR_SHAPE, "can only infer one dimension");
            out = graft_shape_make(nr, req);
        }
    } else if (ss->rank == 1 && ss->dims[0] >= 0 && ss->dims[0] <= GRAFT_MAX_DIMS) {
        out = rank_only((int)ss->dims[0]);
    }
    return set1(op, graftI_in_dtype(op, 0), out);
}

static graft_code reshape_forward(graftI_kctx *k)
{
    int64_t req[MAXV], dims[GRAFT_MAX_DIMS];
    int nr = kints(k, 1, req, MAXV, "shape");
    if (nr < 0) return k->st->code;
    if (k->in[1]->rank > 1) return graftI_kfail(k, GRAFT_ERR_SHAPE, "shape must be a vector");
    if (nr > GRAFT_MAX_DIMS) return graftI_kfail(k, GRAFT_ERR_UNSUPPORTED, "rank %d exceeds %d", nr, GRAFT_MAX_DIMS);
    char msg[256], b[96];
    if (!resolve_reshape(k->in[0]->n, req, nr, dims, msg, sizeof msg))
        return graftI_kfail(k, GRAFT_ERR_SHAPE, "%s (input shape %s)", msg, tshs(k->in[0], b, sizeof b));
    return graftI_out_view(k, 0, 0, dims, nr) ? GRAFT_OK : fail_nomem(k);
}

/* Squeeze: which dims go (sq[d]); false with a message when a listed dim is not 1. */
static bool squeeze_mask(const graft_op *op, const int64_t *dims, int rank, bool runtime, bool *sq, char *msg, size_t cap)
{
    const int64_t *ax;
    int n = graftI_attr_ilist(op, "squeeze_dims", &ax);
    for (int d = 0; d < rank; d++) sq[d] = false;
    if (n <= 0) {
        for (int d = 0; d < rank; d++) sq[d] = dims[d] == 1;
        return true;
    }
    for (int i = 0; i < n; i++) {
        int64_t a = ax[i];
        if (a < -rank || a >= rank) {
            snprintf(msg, cap, "Tried to squeeze dim index %lld for tensor with %d dimensions", (long long)a, rank);
            return false;
        }
        int d = (int)(a < 0 ? a + rank : a);
        if (dims[d] != 1 && (runtime || dims[d] >= 0)) {
            snprintf(msg, cap, "Can not squeeze dim[%d], expected a dimension of 1, got %lld", d, (long long)dims[d]);
            return false;
        }
        sq[d] = true;
    }
    return true;
}

static graft_code squeeze_infer(graft_op *op, graft_status *st)
{
    graft_code rc = check_attr_dt(op, "T", 0, st);
    if (rc) return rc;
    const graft_shape *xs = graftI_in_shape(op, 0);
    if (xs->rank < 0) return set1(op, graftI_in_dtype(op, 0), graft_shape_unknown());
    const int64_t *ax;
    if (graftI_attr_ilist(op, "squeeze_dims", &ax) <= 0)
        for (int d = 0; d < xs->rank; d++)
            if (xs->dims[d] < 0) return set1(op, graftI_in_dtype(op, 0), graft_shape_unknown());
    bool sq[GRAFT_MAX_DIMS];
    char msg[160];
    if (!squeeze_mask(op, xs->dims, xs->rank, false, sq, msg, sizeof msg))
        return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "%s", msg);
    graft_shape out = {0, {0}};
    for (int d = 0; d < xs->rank; d++)
        if (!sq[d]) out.dims[out.rank++] = xs->dims[d];
    return set1(op, graftI_in_dtype(op, 0), out);
}

static graft_code squeeze_forward(graftI_kctx *k)
{
    const graft_tensor *x = k->in[0];
    bool sq[GRAFT_MAX_DIMS];
    char msg[160];
    if (!squeeze_mask(k->op, x->dims, x->rank, true, sq, msg, sizeof msg))
        return graftI_kfail(k, GRAFT_ERR_INVALID_ARG, "%s", msg);
    int64_t dims[GRAFT_MAX_DIMS];
    int r = 0;
    for (int d = 0; d < x->rank; d++)
        if (!sq[d]) dims[r++] = x->dims[d];
    return graftI_out_view(k, 0, 0, dims, r) ? GRAFT_OK : fail_nomem(k);
}

static graft_code expand_infer(graft_op *op, graft_status *st)
{
    graft_code rc = check_attr_dt(op, "T", 0, st);
    if (rc || (rc = check_index_input(op, 1, "Tdim", "dim", st))) return rc;
    const graft_shape *xs = graftI_in_shape(op, 0);
    const graft_tensor *ct = graftI_const_input(op, 1);
    int64_t a;
    if (xs->rank < 0) return set1(op, graftI_in_dtype(op, 0), graft_shape_unknown());
    if (xs->rank >= GRAFT_MAX_DIMS)
        return graft_status_set(st, GRAFT_ERR_UNSUPPORTED, "rank %d exceeds graft's maximum of %d", xs->rank + 1,
                                GRAFT_MAX_DIMS);
    if (!ct || graftI_tensor_ints(ct, &a, 1) != 1) return set1(op, graftI_in_dtype(op, 0), rank_only(xs->rank + 1));
    if (a < -xs->rank - 1 || a > xs->rank)
        return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "dim %lld not in the interval [%d, %d]", (long long)a,
                                -xs->rank - 1, xs->rank);
    int p = (int)(a < 0 ? a + xs->rank + 1 : a);
    graft_shape out = {xs->rank + 1, {0}};
    for (int d = 0, s = 0; d < out.rank; d++) out.dims[d] = d == p ? 1 : xs->dims[s++];
    return set1(op, graftI_in_dtype(op, 0), out);
}

static graft_code expand_forward(graftI_kctx *k)
{
    const graft_tensor *x = k->in[0];
    int64_t a;
    if (graftI_tensor_ints(k->in[1], &a, 1) != 1) return graftI_kfail(k, GRAFT_ERR_INVALID_ARG, "dim must be one int");
    if (x->rank >= GRAFT_MAX_DIMS) return graftI_kfail(k, GRAFT_ERR_UNSUPPORTED, "rank exceeds %d", GRAFT_MAX_DIMS);
    if (a < -x->rank - 1 || a > x->rank)
        return graftI_kfail(k, GRAFT_ERR_INVALID_ARG, "dim %lld not in the interval [%d, %d]", (long long)a,
                            -x->rank - 1, x->rank);
    int p = (int)(a < 0 ? a + x->rank + 1 : a);
    int64_t dims[GRAFT_MAX_DIMS];
    for (int d = 0, s = 0; d <= x->rank; d++) dims[d] = d == p ? 1 : x->dims[s++];
    return graftI_out_view(k, 0, 0, dims, x->rank + 1) ? GRAFT_OK : fail_nomem(k);
}

/* ---- Transpose, InvertPermutation ------------------------------------------------------------ */
static const graftI_attr_spec attrs_transpose[] = {
    {"T", GRAFTI_ATTR_TYPE, NULL}, {"Tperm", GRAFTI_ATTR_TYPE, "int32"}, {NULL, 0, NULL}};

static bool check_perm(const int64_t *perm, int n, int rank, char *msg, size_t cap)
{
    bool seen[GRAFT_MAX_DIMS] = {false};
    if (n != rank) {
        snprintf(msg, cap, "transpose expects a vector of size %d. But input(1) is a vector of size %d", rank, n);
        return false;
    }
    for (int i = 0; i < n; i++) {
        if (perm[i] < 0 || perm[i] >= rank || seen[perm[i]]) {
            snprintf(msg, cap, "%lld is missing from 'perm' or out of range / repeated", (long long)perm[i]);
            return false;
        }
        seen[perm[i]] = true;
    }
    return true;
}

static graft_code transpose_infer(graft_op *op, graft_status *st)
{
    graft_code rc = check_attr_dt(op, "T", 0, st);
    if (rc || (rc = check_index_input(op, 1, "Tperm", "perm", st))) return rc;
    const graft_shape *xs = graftI_in_shape(op, 0);
    int64_t perm[MAXV];
    const graft_tensor *ct = graftI_const_input(op, 1);
    int n = ct ? graftI_tensor_ints(ct, perm, MAXV) : -1;
    if (xs->rank < 0) return set1(op, graftI_in_dtype(op, 0), n >= 0 ? rank_only(n) : graft_shape_unknown());
    if (n < 0) return set1(op, graftI_in_dtype(op, 0), rank_only(xs->rank));
    char msg[160];
    if (!check_perm(perm, n, xs->rank, msg, sizeof msg)) return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "%s", msg);
    graft_shape out = {xs->rank, {0}};
    for (int d = 0; d < xs->rank; d++) out.dims[d] = xs->dims[perm[d]];
    return set1(op, graftI_in_dtype(op, 0), out);
}

/* Copies x into o permuted: output dim d is input dim perm[d]. Dims that stay
 * adjacent and in order are merged first; a kept innermost dim is a memcpy. */
static void transpose_copy(const graft_tensor *x, graft_tensor *o, const int64_t *perm)
{
    size_t es = graft_dtype_size(x->dtype);
    int r = x->rank;
    /* number the non-1 input dims 0..k-1; list them in output order */
    int cidx[GRAFT_MAX_DIMS], k = 0;
    int64_t cdims[GRAFT_MAX_DIMS];
    for (int d = 0; d < r; d++) {
        cidx[d] = x->dims[d] != 1 ? k : -1;
        if (x->dims[d] != 1) cdims[k++] = x->dims[d];
    }
    int lc[GRAFT_MAX_DIMS], nl = 0;
    for (int d = 0; d < r; d++)
        if (x->dims[perm[d]] != 1) lc[nl++] = cidx[perm[d]];
    /* runs that are consecutive in both orders merge into one group */
    int gstart[GRAFT_MAX_DIMS], glen[GRAFT_MAX_DIMS], cr = 0;
    for (int i = 0; i < nl; i++) {
        if (i > 0 && lc[i] == lc[i - 1] + 1) {
            glen[cr - 1]++;
        } else {
            gstart[cr] = lc[i];
            glen[cr++] = 1;
        }
    }
    if (cr <= 1) {
        memcpy(o->data, x->data, (size_t)x->n * es);
        return;
    }
    int cperm[GRAFT_MAX_DIMS];
    int64_t idims[GRAFT_MAX_DIMS];
    for (int g = 0; g < cr; g++) {
        int rank_in = 0;
        for (int g2 = 0; g2 < cr; g2++)
            if (gstart[g2] < gstart[g]) rank_in++;
        int64_t gd = 1;
        for (int j = 0; j < glen[g]; j++) gd *= cdims[gstart[g] + j];
        idims[rank_in] = gd;
        cperm[g] = rank_in; /* output group g is input group rank_in */
    }
    int64_t istr[GRAFT_MAX_DIMS];
    istr[cr - 1] = 1;
    for (int d = cr - 2; d >= 0; d--) istr[d] = istr[d + 1] * idims[d + 1];
    int64_t odims[GRAFT_MAX_DIMS], ostep[GRAFT_MAX_DIMS];
    for (int d = 0; d < cr; d++) {
        odims[d] = idims[cperm[d]];
        ostep[d] = istr[cperm[d]];
    }
    const char *src = x->data;
    char *dst = o->data;
    const int64_t inner = odims[cr - 1], istep = ostep[cr - 1];
    if (cr == 2 && (es == 4 || es == 8)) {
        /* 2-D transpose in 32x32 tiles */
        const int64_t R = odims[0], C = odims[1]; /* out is R x C, in is C x R */
        for (int64_t r0 = 0; r0 < R; r0 += 32)
            for (int64_t c0 = 0; c0 < C; c0 += 32) {
                int64_t r1 = r0 + 32 < R ? r0 + 32 : R, c1 = c0 + 32 < C ? c0 + 32 : C;
                if (es == 4) {
                    const uint32_t *s4 = (const uint32_t *)(const void *)src;
                    uint32_t *d4 = (uint32_t *)(void *)dst;
                    for (int64_t rr = r0; rr < r1; rr++)
                        for (int64_t cc = c0; cc < c1; cc++) d4[rr * C + cc] = s4[cc * R + rr];
                } else {
                    const uint64_t *s8 = (const uint64_t *)(const void *)src;
                    uint64_t *d8 = (uint64_t *)(void *)dst;
                    for (int64_t rr = r0; rr < r1; rr++)
                        for (int64_t cc = c0; cc < c1; cc++) d8[rr * C + cc] = s8[cc * R + rr];
                }
            }
        return;
    }
    int64_t rows = x->n / inner, idx[GRAFT_MAX_DIMS] = {0}, off = 0;
    for (int64_t row = 0; row < rows; row++) {
        char *drow = dst + row * inner * (int64_t)es;
        if (istep == 1) {
            memcpy(drow, src + off * (int64_t)es, (size_t)inner * es);
        } else if (es == 4) {
            const uint32_t *s4 = (const uint32_t *)(const void *)(src + off * 4);
            uint32_t *d4 = (uint32_t *)(void *)drow;
            for (int64_t i = 0; i < inner; i++) d4[i] = s4[i * istep];
        } else {
            for (int64_t i = 0; i < inner; i++) memcpy(drow + i * (int64_t)es, src + (off + i * istep) * (int64_t)es, es);
        }
        for (int d = cr - 2; d >= 0; d--) {
            off += ostep[d];
            if (++idx[d] < odims[d]) break;
            off -= ostep[d] * odims[d];
            idx[d] = 0;
        }
    }
}

static graft_code transpose_forward(graftI_kctx *k)
{
    const graft_tensor *x = k->in[0];
    int64_t perm[MAXV];
    int n = kints(k, 1, perm, MAXV, "perm");
    if (n < 0) return k->st->code;
    char msg[160];
    if (!check_perm(perm, n, x->rank, msg, sizeof msg)) return graftI_kfail(k, GRAFT_ERR_INVALID_ARG, "%s", msg);
    if (!copyable(x->dtype)) return graftI_kfail(k, GRAFT_ERR_UNSUPPORTED, "dtype %s", graft_dtype_name(x->dtype));
    int64_t od[GRAFT_MAX_DIMS];
    bool ident = true;
    for (int d = 0; d < x->rank; d++) {
        od[d] = x->dims[perm[d]];
        if (perm[d] != d) ident = false;
    }
    if (ident) {
        graftI_out_set(k, 0, graft_tensor_ref(k->in[0]));
        return GRAFT_OK;
    }
    graft_tensor *o = graftI_out_alloc(k, 0, x->dtype, od, x->rank, false);
    if (!o) return fail_nomem(k);
    if (x->n > 0) transpose_copy(x, o, perm);
    return GRAFT_OK;
}

static graft_code invperm_infer(graft_op *op, graft_status *st)
{
    graft_code rc = check_index_input(op, 0, "T", "x", st);
    if (rc) return rc;
    const graft_shape *s = graftI_in_shape(op, 0);
    if (s->rank > 1) return graft_status_set(st, GRAFT_ERR_SHAPE, "x must be a vector");
    return set1(op, graftI_in_dtype(op, 0), s->rank < 0 ? rank_only(1) : *s);
}

static graft_code invperm_forward(graftI_kctx *k)
{
    int64_t p[MAXV], inv[MAXV];
    int n = kints(k, 0, p, MAXV, "x");
    if (n < 0) return k->st->code;
    char msg[160];
    if (n > GRAFT_MAX_DIMS || !check_perm(p, n, n, msg, sizeof msg))
        return graftI_kfail(k, GRAFT_ERR_INVALID_ARG, "x is not a permutation of 0..%d", n - 1);
    for (int i = 0; i < n; i++) inv[p[i]] = i;
    int64_t dim = n;
    graft_tensor *o = graftI_out_alloc(k, 0, k->in[0]->dtype, &dim, 1, false);
    if (!o) return fail_nomem(k);
    for (int i = 0; i < n; i++) {
        if (o->dtype == GRAFT_INT32) ((int32_t *)o->data)[i] = (int32_t)inv[i];
        else ((int64_t *)o->data)[i] = inv[i];
    }
    return GRAFT_OK;
}

/* ---- ConcatV2, Concat, ConcatOffset, Pack, Unpack ---------------------------------------------- */
static const graftI_attr_spec attrs_concatv2[] = {{"N", GRAFTI_ATTR_INT, NULL},
                                                  {"T", GRAFTI_ATTR_TYPE, NULL},
                                                  {"Tidx", GRAFTI_ATTR_TYPE, "int32"},
                                                  {NULL, 0, NULL}};
static const graftI_attr_spec attrs_concat[] = {
    {"N", GRAFTI_ATTR_INT, NULL}, {"T", GRAFTI_ATTR_TYPE, NULL}, {NULL, 0, NULL}};
static const graftI_attr_spec attrs_concatoffset[] = {
    {"N", GRAFTI_ATTR_INT, NULL}, {"shape_type", GRAFTI_ATTR_TYPE, "int32"}, {NULL, 0, NULL}};
static const graftI_attr_spec attrs_pack[] = {
    {"N", GRAFTI_ATTR_INT, NULL}, {"T", GRAFTI_ATTR_TYPE, NULL}, {"axis", GRAFTI_ATTR_INT, "0"}, {NULL, 0, NULL}};
static const graftI_attr_spec attrs_unpack[] = {
    {"num", GRAFTI_ATTR_INT, NULL}, {"T", GRAFTI_ATTR_TYPE, NULL}, {"axis", GRAFTI_ATTR_INT, "0"}, {NULL, 0, NULL}};

static bool is_concat_v1(const graft_op *op) { return strcmp(op->def->name, "Concat") == 0; }

/* Values inputs [v0, v0+N) and the axis input index of a concat op. */
static void concat_layout(const graft_op *op, int *v0, int *n, int *axis_in)
{
    if (is_concat_v1(op)) {
        *v0 = 1;
        *n = op->n_in - 1;
        *axis_in = 0;
    } else {
        *v0 = 0;
        *n = op->n_in - 1;
        *axis_in = op->n_in - 1;
    }
}

static graft_code concat_infer(graft_op *op, graft_status *st)
{
    int v0, n, ai;
    concat_layout(op, &v0, &n, &ai);
    if (graftI_attr_i(op, "N", n) != n)
        return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "attr N is %lld but there are %d values",
                                (long long)graftI_attr_i(op, "N", n), n);
    graft_code rc = check_index_input(op, ai, is_concat_v1(op) ? NULL : "Tidx", "axis", st);
    if (rc || (rc = check_attr_dt(op, "T", v0, st))) return rc;
    graft_dtype dt = graftI_in_dtype(op, v0);
    int rank = -1;
    for (int i = 0; i < n; i++) {
        if (graftI_in_dtype(op, v0 + i) != dt)
            return graft_status_set(st, GRAFT_ERR_DTYPE, "value %d is %s, value 0 is %s", i,
                                    graft_dtype_name(graftI_in_dtype(op, v0 + i)), graft_dtype_name(dt));
        int r = graftI_in_shape(op, v0 + i)->rank;
        if (r >= 0 && rank >= 0 && r != rank)
            return graft_status_set(st, GRAFT_ERR_SHAPE, "Ranks of all input tensors should match: value %d has rank %d, expected %d",
                                    i, r, rank);
        if (r >= 0) rank = r;
    }
    int64_t a;
    const graft_tensor *ct = graftI_const_input(op, ai);
    if (rank < 0) return set1(op, dt, graft_shape_unknown());
    if (rank == 0) return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "Can't concatenate scalars (use Pack instead)");
    if (!ct || graftI_tensor_ints(ct, &a, 1) != 1) return set1(op, dt, rank_only(rank));
    if (a < -rank || a >= rank)
        return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "Expected concatenating dimensions in the range [%d, %d), but got %lld",
                                -rank, rank, (long long)a);
    int ax = (int)(a < 0 ? a + rank : a);
    graft_shape out = rank_only(rank);
    int64_t sum = 0;
    bool sum_known = true;
    for (int i = 0; i < n; i++) {
        const graft_shape *s = graftI_in_shape(op, v0 + i);
        if (s->rank < 0) {
            sum_known = false;
            continue;
        }
        for (int d = 0; d < rank; d++) {
            if (d == ax) continue;
            if (s->dims[d] >= 0 && out.dims[d] >= 0 && s->dims[d] != out.dims[d]) {
                char b1[96];
                return graft_status_set(st, GRAFT_ERR_SHAPE,
                                        "Dimension %d in both shapes must be equal, but are %lld and %lld (value %d: %s)",
                                        d, (long long)out.dims[d], (long long)s->dims[d], i, shs(s, b1, sizeof b1));
            }
            if (s->dims[d] >= 0) out.dims[d] = s->dims[d];
        }
        if (s->dims[ax] < 0) sum_known = false;
        else sum += s->dims[ax];
    }
    out.dims[ax] = sum_known ? sum : -1;
    return set1(op, dt, out);
}

static graft_code concat_forward(graftI_kctx *k)
{
    int v0, n, ai;
    concat_layout(k->op, &v0, &n, &ai);
    const graft_tensor *x0 = k->in[v0];
    int64_t a;
    if (graftI_tensor_ints(k->in[ai], &a, 1) != 1) return graftI_kfail(k, GRAFT_ERR_INVALID_ARG, "axis must be one int");
    int rank = x0->rank;
    if (rank == 0) return graftI_kfail(k, GRAFT_ERR_INVALID_ARG, "Can't concatenate scalars (use Pack instead)");
    if (a < -rank || a >= rank)
        return graftI_kfail(k, GRAFT_ERR_INVALID_ARG, "Expected concatenating dimensions in the range [%d, %d), but got %lld",
                            -rank, rank, (long long)a);
    if (!copyable(x0->dtype)) return graftI_kfail(k, GRAFT_ERR_UNSUPPORTED, "dtype %s", graft_dtype_name(x0->dtype));
    int ax = (int)(a < 0 ? a + rank : a);
    int64_t od[GRAFT_MAX_DIMS];
    memcpy(od, x0->dims, sizeof(int64_t) * (size_t)rank);
    od[ax] = 0;
    for (int i = 0; i < n; i++) {
        const graft_tensor *x = k->in[v0 + i];
        bool ok = x->rank == rank && x->dtype == x0->dtype;
        for (int d = 0; d < rank && ok; d++)
            if (d != ax && x->dims[d] != x0->dims[d]) ok = false;
        if (!ok) {
            char b1[96], b2[96];
            return graftI_kfail(k, GRAFT_ERR_SHAPE, "ConcatOp: value %d %s %s does not match value 0 %s %s", i,
                                graft_dtype_name(x->dtype), tshs(x, b1, sizeof b1), graft_dtype_name(x0->dtype),
                                tshs(x0, b2, sizeof b2));
        }
        od[ax] += x->dims[ax];
    }
    graft_tensor *o = graftI_out_alloc(k, 0, x0->dtype, od, rank, false);
    if (!o) return fail_nomem(k);
    size_t es = graft_dtype_size(x0->dtype);
    int64_t outer = 1, inner = 1;
    for (int d = 0; d < ax; d++) outer *= od[d];
    for (int d = ax + 1; d < rank; d++) inner *= od[d];
    char *dst = o->data;
    const size_t orow = (size_t)(od[ax] * inner) * es;
    size_t col = 0;
    for (int i = 0; i < n; i++) {
        const graft_tensor *x = k->in[v0 + i];
        size_t chunk = (size_t)(x->dims[ax] * inner) * es;
        const char *src = x->data;
        if (chunk)
            for (int64_t o2 = 0; o2 < outer; o2++) memcpy(dst + (size_t)o2 * orow + col, src + (size_t)o2 * chunk, chunk);
        col += chunk;
    }
    return GRAFT_OK;
}

/* ConcatOffset(concat_dim, shape_0..shape_{N-1}) -> the offset of each input
 * in the concatenation (TF's helper for ConcatV2's gradient). */
static graft_code concatoffset_infer(graft_op *op, graft_status *st)
{
    int n = op->n_in - 1;
    graft_code rc = check_index_input(op, 0, NULL, "concat_dim", st);
    if (rc) return rc;
    if (n < 1) return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "needs at least one shape");
    if ((rc = graftI_set_outputs(op, n))) return rc;
    for (int i = 0; i < n; i++) {
        graft_dtype dt = graftI_in_dtype(op, 1 + i);
        if (!graftI_is_int_index(dt)) return graft_status_set(st, GRAFT_ERR_DTYPE, "shape %d must be int32/int64", i);
        op->out[i].dtype = dt;
        op->out[i].shape = *graftI_in_shape(op, 1 + i);
        if (op->out[i].shape.rank < 0) op->out[i].shape = rank_only(1);
    }
    return GRAFT_OK;
}

static graft_code concatoffset_forward(graftI_kctx *k)
{
    int n = k->n_in - 1;
    int64_t a, s0[MAXV], si[MAXV];
    if (graftI_tensor_ints(k->in[0], &a, 1) != 1) return graftI_kfail(k, GRAFT_ERR_INVALID_ARG, "concat_dim must be one int");
    int r = kints(k, 1, s0, MAXV, "shape 0");
    if (r < 0) return k->st->code;
    if (r == 0 || a < -r || a >= r)
        return graftI_kfail(k, GRAFT_ERR_INVALID_ARG, "Concat dim %lld out of range for rank %d", (long long)a, r);
    int ax = (int)(a < 0 ? a + r : a);
    int64_t off = 0;
    for (int i = 0; i < n; i++) {
        int ri = kints(k, 1 + i, si, MAXV, "shape");
        if (ri < 0) return k->st->code;
        if (ri != r) return graftI_kfail(k, GRAFT_ERR_INVALID_ARG, "input %d should contain %d elements, but got %d", i, r, ri);
        for (int d = 0; d < r; d++)
            if (d != ax && si[d] != s0[d])
                return graftI_kfail(k, GRAFT_ERR_INVALID_ARG, "input %d: dimension %d mismatch (%lld vs %lld)", i, d,
                                    (long long)si[d], (long long)s0[d]);
        int64_t dim = r;
        graft_tensor *o = graftI_out_alloc(k, i, k->in[1 + i]->dtype, &dim, 1, false);
        if (!o) return fail_nomem(k);
        for (int d = 0; d < r; d++) {
            int64_t v = d == ax ? off : 0;
            if (o->dtype == GRAFT_INT32) ((int32_t *)o->data)[d] = (int32_t)v;
            else ((int64_t *)o->data)[d] = v;
        }
        if (si[ax] < 0 || si[ax] > INT64_MAX - off)
            return graftI_kfail(k, GRAFT_ERR_INVALID_ARG, "input %d: bad concat dim size %lld", i, (long long)si[ax]);
        off += si[ax];
    }
    return GRAFT_OK;
}

static graft_code pack_infer(graft_op *op, graft_status *st)
{
    int n = op->n_in;
    if (graftI_attr_i(op, "N", n) != n)
        return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "attr N does not match the %d inputs", n);
    graft_code rc = check_attr_dt(op, "T", 0, st);
    if (rc) return rc;
    graft_dtype dt = graftI_in_dtype(op, 0);
    graft_shape s = *graftI_in_shape(op, 0);
    for (int i = 1; i < n; i++) {
        const graft_shape *si = graftI_in_shape(op, i);
        if (graftI_in_dtype(op, i) != dt)
            return graft_status_set(st, GRAFT_ERR_DTYPE, "value %d is %s, value 0 is %s", i,
                                    graft_dtype_name(graftI_in_dtype(op, i)), graft_dtype_name(dt));
        if (!graftI_shape_compatible(&s, si)) {
            char b1[96], b2[96];
            return graft_status_set(st, GRAFT_ERR_SHAPE, "Shapes of all inputs must match: values[0].shape = %s != values[%d].shape = %s",
                                    shs(&s, b1, sizeof b1), i, shs(si, b2, sizeof b2));
        }
        if (s.rank < 0) s = *si;
        else if (si->rank >= 0)
            for (int d = 0; d < s.rank; d++)
                if (s.dims[d] < 0) s.dims[d] = si->dims[d];
    }
    if (s.rank < 0) return set1(op, dt, graft_shape_unknown());
    if (s.rank >= GRAFT_MAX_DIMS) return graft_status_set(st, GRAFT_ERR_UNSUPPORTED, "rank exceeds %d", GRAFT_MAX_DIMS);
    int64_t a = graftI_attr_i(op, "axis", 0);
    if (a < -s.rank - 1 || a > s.rank)
        return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "axis = %lld not in [%d, %d]", (long long)a, -s.rank - 1, s.rank);
    int p = (int)(a < 0 ? a + s.rank + 1 : a);
    graft_shape out = {s.rank + 1, {0}};
    for (int d = 0, j = 0; d < out.rank; d++) out.dims[d] = d == p ? n : s.dims[j++];
    return set1(op, dt, out);
}

static graft_code pack_forward(graftI_kctx *k)
{
    const graft_tensor *x0 = k->in[0];
    int n = k->n_in, r = x0->rank;
    if (r >= GRAFT_MAX_DIMS) return graftI_kfail(k, GRAFT_ERR_UNSUPPORTED, "rank exceeds %d", GRAFT_MAX_DIMS);
    if (!copyable(x0->dtype)) return graftI_kfail(k, GRAFT_ERR_UNSUPPORTED, "dtype %s", graft_dtype_name(x0->dtype));
    int64_t a = graftI_attr_i(k->op, "axis", 0);
    if (a < -r - 1 || a > r) return graftI_kfail(k, GRAFT_ERR_INVALID_ARG, "axis = %lld not in [%d, %d]", (long long)a, -r - 1, r);
    int p = (int)(a < 0 ? a + r + 1 : a);
    for (int i = 1; i < n; i++) {
        const graft_tensor *x = k->in[i];
        bool ok = x->dtype == x0->dtype && x->rank == r;
        for (int d = 0; d < r && ok; d++) ok = x->dims[d] == x0->dims[d];
        if (!ok) {
            char b1[96], b2[96];
            return graftI_kfail(k, GRAFT_ERR_SHAPE, "Shapes of all inputs must match: values[0].shape = %s != values[%d].shape = %s",
                                tshs(x0, b1, sizeof b1), i, tshs(x, b2, sizeof b2));
        }
    }
    int64_t od[GRAFT_MAX_DIMS];
    for (int d = 0, j = 0; d <= r; d++) od[d] = d == p ? n : x0->dims[j++];
    graft_tensor *o = graftI_out_alloc(k, 0, x0->dtype, od, r + 1, false);
    if (!o) return fail_nomem(k);
    size_t es = graft_dtype_size(x0->dtype);
    int64_t outer = 1, inner = 1;
    for (int d = 0; d < p; d++) outer *= x0->dims[d];
    for (int d = p; d < r; d++) inner *= x0->dims[d];
    size_t chunk = (size_t)inner * es;
    char *dst = o->data;
    for (int64_t o2 = 0; o2 < outer; o2++)
        for (int i = 0; i < n; i++)
            memcpy(dst + ((size_t)o2 * (size_t)n + (size_t)i) * chunk, (const char *)k->in[i]->data + (size_t)o2 * chunk, chunk);
    return GRAFT_OK;
}

static graft_code unpack_infer(graft_op *op, graft_status *st)
{
    graft_code rc = check_attr_dt(op, "T", 0, st);
    if (rc) return rc;
    int64_t num = graftI_attr_i(op, "num", -1);
    if (num < 0 || num > 4096) return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "attr num %lld is out of range", (long long)num);
    const graft_shape *xs = graftI_in_shape(op, 0);
    graft_shape out = graft_shape_unknown();
    if (xs->rank >= 0) {
        int64_t a = graftI_attr_i(op, "axis", 0);
        if (xs->rank == 0 || a < -xs->rank || a >= xs->rank)
            return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "axis = %lld not in [%d, %d)", (long long)a, -xs->rank, xs->rank);
        int p = (int)(a < 0 ? a + xs->rank : a);
        if (xs->dims[p] >= 0 && xs->dims[p] != num)
            return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "Dimension %d must be %lld (num) but is %lld", p,
                                    (long long)num, (long long)xs->dims[p]);
        out.rank = xs->rank - 1;
        for (int d = 0, j = 0; d < xs->rank; d++)
            if (d != p) out.dims[j++] = xs->dims[d];
    }
    if ((rc = graftI_set_outputs(op, (int)num))) return rc;
    for (int i = 0; i < num; i++) {
        op->out[i].dtype = graftI_in_dtype(op, 0);
        op->out[i].shape = out;
    }
    return GRAFT_OK;
}

static graft_code unpack_forward(graftI_kctx *k)
{
    const graft_tensor *x = k->in[0];
    int r = x->rank;
    int64_t num = graftI_attr_i(k->op, "num", -1), a = graftI_attr_i(k->op, "axis", 0);
    if (r == 0 || a < -r || a >= r) return graftI_kfail(k, GRAFT_ERR_INVALID_ARG, "axis = %lld not in [%d, %d)", (long long)a, -r, r);
    int p = (int)(a < 0 ? a + r : a);
    if (x->dims[p] != num)
        return graftI_kfail(k, GRAFT_ERR_INVALID_ARG, "Input shape axis %d must equal %lld, got shape with %lld", p,
                            (long long)num, (long long)x->dims[p]);
    if (!copyable(x->dtype)) return graftI_kfail(k, GRAFT_ERR_UNSUPPORTED, "dtype %s", graft_dtype_name(x->dtype));
    int64_t od[GRAFT_MAX_DIMS], outer = 1, inner = 1;
    for (int d = 0, j = 0; d < r; d++) {
        if (d < p) outer *= x->dims[d];
        if (d > p) inner *= x->dims[d];
        if (d != p) od[j++] = x->dims[d];
    }
    size_t es = graft_dtype_size(x->dtype), chunk = (size_t)inner * es;
    for (int64_t i = 0; i < num; i++) {
        graft_tensor *o = graftI_out_alloc(k, (int)i, x->dtype, od, r - 1, false);
        if (!o) return fail_nomem(k);
        for (int64_t o2 = 0; o2 < outer; o2++)
            memcpy((char *)o->data + (size_t)o2 * chunk, (const char *)x->data + ((size_t)o2 * (size_t)num + (size_t)i) * chunk,
                   chunk);
    }
    return GRAFT_OK;
}

/* Split(split_dim, value): num_split equal parts along split_dim. */
static const graftI_attr_spec attrs_split[] = {
    {"num_split", GRAFTI_ATTR_INT, NULL}, {"T", GRAFTI_ATTR_TYPE, NULL}, {NULL, 0, NULL}};

static graft_code split_infer(graft_op *op, graft_status *st)
{
    graft_code rc = check_index_input(op, 0, NULL, "split_dim", st);
    if (rc || (rc = check_attr_dt(op, "T", 1, st))) return rc;
    int64_t ns = graftI_attr_i(op, "num_split", 0);
    if (ns < 1 || ns > 65536) return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "num_split %lld is out of range", (long long)ns);
    const graft_shape *xs = graftI_in_shape(op, 1);
    graft_shape out = xs->rank >= 0 ? rank_only(xs->rank) : graft_shape_unknown();
    const graft_tensor *ct = graftI_const_input(op, 0);
    int64_t a;
    if (xs->rank >= 0 && ct && graftI_tensor_ints(ct, &a, 1) == 1) {
        if (a < -xs->rank || a >= xs->rank)
            return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "-input rank(-%d) <= split_dim < input rank (%d), but got %lld",
                                    xs->rank, xs->rank, (long long)a);
        int ax = (int)(a < 0 ? a + xs->rank : a);
        out = *xs;
        if (xs->dims[ax] >= 0) {
            if (xs->dims[ax] % ns)
                return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "Number of ways to split should evenly divide the split dimension, but got split_dim %d (size = %lld) and num_split %lld",
                                        ax, (long long)xs->dims[ax], (long long)ns);
            out.dims[ax] = xs->dims[ax] / ns;
        }
    }
    if ((rc = graftI_set_outputs(op, (int)ns))) return rc;
    for (int i = 0; i < ns; i++) {
        op->out[i].dtype = graftI_in_dtype(op, 1);
        op->out[i].shape = out;
    }
    return GRAFT_OK;
}

static graft_code split_forward(graftI_kctx *k)
{
    const graft_tensor *x = k->in[1];
    int64_t a, ns = graftI_attr_i(k->op, "num_split", 1);
    if (graftI_tensor_ints(k->in[0], &a, 1) != 1) return graftI_kfail(k, GRAFT_ERR_INVALID_ARG, "split_dim must be one int");
    if (a < -x->rank || a >= x->rank)
        return graftI_kfail(k, GRAFT_ERR_INVALID_ARG, "-input rank(-%d) <= split_dim < input rank (%d), but got %lld", x->rank,
                            x->rank, (long long)a);
    int ax = (int)(a < 0 ? a + x->rank : a);
    if (ns < 1 || x->dims[ax] % ns)
        return graftI_kfail(k, GRAFT_ERR_INVALID_ARG, "Number of ways to split should evenly divide the split dimension (%lld by %lld)",
                            (long long)x->dims[ax], (long long)ns);
    if (!copyable(x->dtype)) return graftI_kfail(k, GRAFT_ERR_UNSUPPORTED, "dtype %s", graft_dtype_name(x->dtype));
    int64_t od[GRAFT_MAX_DIMS], outer = 1, inner = 1;
    for (int d = 0; d < x->rank; d++) {
        od[d] = d == ax ? x->dims[d] / ns : x->dims[d];
        if (d < ax) outer *= x->dims[d];
        if (d > ax) inner *= x->dims[d];
    }
    size_t es = graft_dtype_size(x->dtype), chunk = (size_t)(od[ax] * inner) * es, row = chunk * (size_t)ns;
    for (int64_t i = 0; i < ns; i++) {
        graft_tensor *o = graftI_out_alloc(k, (int)i, x->dtype, od, x->rank, false);
        if (!o) return fail_nomem(k);
        if (chunk)
            for (int64_t o2 = 0; o2 < outer; o2++)
                memcpy((char *)o->data + (size_t)o2 * chunk, (const char *)x->data + (size_t)o2 * row + (size_t)i * chunk, chunk);
    }
    return GRAFT_OK;
}

/* ---- Pad, Slice, StridedSlice, StridedSliceGrad ---------------------------------------------- */
static const graftI_attr_spec attrs_pad[] = {
    {"T", GRAFTI_ATTR_TYPE, NULL}, {"Tpaddings", GRAFTI_ATTR_TYPE, "int32"}, {NULL, 0, NULL}};
static const graftI_attr_spec attrs_slice[] = {
    {"T", GRAFTI_ATTR_TYPE, NULL}, {"Index", GRAFTI_ATTR_TYPE, "int32"}, {NULL, 0, NULL}};
static const graftI_attr_spec attrs_sslice[] = {{"T", GRAFTI_ATTR_TYPE, NULL},
                                                {"Index", GRAFTI_ATTR_TYPE, "int32"},
                                                {"begin_mask", GRAFTI_ATTR_INT, "0"},
                                                {"end_mask", GRAFTI_ATTR_INT, "0"},
                                                {"ellipsis_mask", GRAFTI_ATTR_INT, "0"},
                                                {"new_axis_mask", GRAFTI_ATTR_INT, "0"},
                                                {"shrink_axis_mask", GRAFTI_ATTR_INT, "0"},
                                                {NULL, 0, NULL}};

static graft_code pad_infer(graft_op *op, graft_status *st)
{
    graft_code rc = check_attr_dt(op, "T", 0, st);
    if (rc || (rc = check_index_input(op, 1, "Tpaddings", "paddings", st))) return rc;
    const graft_shape *xs = graftI_in_shape(op, 0), *ps = graftI_in_shape(op, 1);
    if (ps->rank >= 0 && (ps->rank != 2 || (ps->dims[1] >= 0 && ps->dims[1] != 2)))
        return graft_status_set(st, GRAFT_ERR_SHAPE, "paddings must be a matrix with 2 columns");
    int64_t p[MAXV];
    const graft_tensor *ct = graftI_const_input(op, 1);
    int n = ct ? graftI_tensor_ints(ct, p, MAXV) : -1;
    if (xs->rank < 0) return set1(op, graftI_in_dtype(op, 0), n >= 0 ? rank_only(n / 2) : graft_shape_unknown());
    if (n < 0) return set1(op, graftI_in_dtype(op, 0), rank_only(xs->rank));
    if (n != 2 * xs->rank)
        return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "The first dimension of paddings must be the rank of inputs (%d), got %d rows",
                                xs->rank, n / 2);
    graft_shape out = *xs;
    for (int d = 0; d < xs->rank; d++) {
        if (p[2 * d] < 0 || p[2 * d + 1] < 0)
            return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "Paddings must be non-negative: %lld %lld",
                                    (long long)p[2 * d], (long long)p[2 * d + 1]);
        if (p[2 * d] > MAX_PAD || p[2 * d + 1] > MAX_PAD)
            return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "padding %lld is too large", (long long)p[2 * d]);
        if (out.dims[d] >= 0) out.dims[d] += p[2 * d] + p[2 * d + 1];
    }
    return set1(op, graftI_in_dtype(op, 0), out);
}

static graft_code pad_forward(graftI_kctx *k)
{
    const graft_tensor *x = k->in[0];
    int64_t p[MAXV];
    int n = kints(k, 1, p, MAXV, "paddings");
    if (n < 0) return k->st->code;
    if (n != 2 * x->rank)
        return graftI_kfail(k, GRAFT_ERR_INVALID_ARG, "The first dimension of paddings must be the rank of inputs (%d)", x->rank);
    if (!copyable(x->dtype)) return graftI_kfail(k, GRAFT_ERR_UNSUPPORTED, "dtype %s", graft_dtype_name(x->dtype));
    int64_t od[GRAFT_MAX_DIMS], begin[GRAFT_MAX_DIMS], one[GRAFT_MAX_DIMS];
    for (int d = 0; d < x->rank; d++) {
        if (p[2 * d] < 0 || p[2 * d + 1] < 0) return graftI_kfail(k, GRAFT_ERR_INVALID_ARG, "Paddings must be non-negative");
        if (p[2 * d] > MAX_PAD || p[2 * d + 1] > MAX_PAD)
            return graftI_kfail(k, GRAFT_ERR_INVALID_ARG, "padding %lld is too large", (long long)p[2 * d]);
        od[d] = x->dims[d] + p[2 * d] + p[2 * d + 1];
        begin[d] = p[2 * d];
        one[d] = 1;
    }
    graft_tensor *o = graftI_out_alloc(k, 0, x->dtype, od, x->rank, true);
    if (!o) return fail_nomem(k);
    box_copy(x->data, o->data, x->rank, od, begin, one, x->dims, graft_dtype_size(x->dtype), false);
    return GRAFT_OK;
}

/* Slice begin/size against dims (size -1 = to the end); false with a message. */
static bool slice_bounds(const int64_t *dims, int rank, const int64_t *b, const int64_t *s, int64_t *size, char *msg,
                         size_t cap)
{
    for (int d = 0; d < rank; d++) {
        int64_t dim = dims[d];
        if (b[d] < 0 || (dim >= 0 && b[d] > dim)) {
            snprintf(msg, cap, "Expected begin[%d] in [0, %lld], but got %lld", d, (long long)dim, (long long)b[d]);
            return false;
        }
        if (s[d] == -1) {
            size[d] = dim >= 0 ? dim - b[d] : -1;
        } else if (s[d] < 0 || (dim >= 0 && s[d] > dim - b[d])) {
            snprintf(msg, cap, "Expected size[%d] in [0, %lld], but got %lld", d, (long long)(dim >= 0 ? dim - b[d] : -1),
                     (long long)s[d]);
            return false;
        } else {
            size[d] = s[d];
        }
    }
    return true;
}

static graft_code slice_infer(graft_op *op, graft_status *st)
{
    graft_code rc = check_attr_dt(op, "T", 0, st);
    if (rc || (rc = check_index_input(op, 1, "Index", "begin", st)) || (rc = check_index_input(op, 2, "Index", "size", st)))
        return rc;
    const graft_shape *xs = graftI_in_shape(op, 0);
    int64_t b[MAXV], s[MAXV];
    const graft_tensor *cb = graftI_const_input(op, 1), *cs = graftI_const_input(op, 2);
    int nb = cb ? graftI_tensor_ints(cb, b, MAXV) : -1, ns = cs ? graftI_tensor_ints(cs, s, MAXV) : -1;
    if (xs->rank < 0) return set1(op, graftI_in_dtype(op, 0), ns >= 0 ? rank_only(ns) : graft_shape_unknown());
    if ((nb >= 0 && nb != xs->rank) || (ns >= 0 && ns != xs->rank))
        return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "Expected begin and size arguments to be 1-D tensors of size %d",
                                xs->rank);
    graft_shape out = rank_only(xs->rank);
    if (ns >= 0 && nb < 0) {
        for (int d = 0; d < xs->rank; d++) out.dims[d] = s[d] >= 0 ? s[d] : -1;
    } else if (ns >= 0 && nb >= 0) {
        char msg[200];
        if (!slice_bounds(xs->dims, xs->rank, b, s, out.dims, msg, sizeof msg))
            return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "%s", msg);
    }
    return set1(op, graftI_in_dtype(op, 0), out);
}

static graft_code slice_forward(graftI_kctx *k)
{
    const graft_tensor *x = k->in[0];
    int64_t b[MAXV], s[MAXV], size[GRAFT_MAX_DIMS], one[GRAFT_MAX_DIMS];
    int nb = kints(k, 1, b, MAXV, "begin");
    if (nb < 0) return k->st->code;
    int ns = kints(k, 2, s, MAXV, "size");
    if (ns < 0) return k->st->code;
    if (nb != x->rank || ns != x->rank)
        return graftI_kfail(k, GRAFT_ERR_INVALID_ARG, "Expected begin and size arguments to be 1-D tensors of size %d", x->rank);
    char msg[200];
    if (!slice_bounds(x->dims, x->rank, b, s, size, msg, sizeof msg)) return graftI_kfail(k, GRAFT_ERR_INVALID_ARG, "%s", msg);
    if (!copyable(x->dtype)) return graftI_kfail(k, GRAFT_ERR_UNSUPPORTED, "dtype %s", graft_dtype_name(x->dtype));
    bool whole = true;
    for (int d = 0; d < x->rank; d++) {
        one[d] = 1;
        if (b[d] != 0 || size[d] != x->dims[d]) whole = false;
    }
    if (whole) {
        graftI_out_set(k, 0, graft_tensor_ref(k->in[0]));
        return GRAFT_OK;
    }
    graft_tensor *o = graftI_out_alloc(k, 0, x->dtype, size, x->rank, false);
    if (!o) return fail_nomem(k);
    box_copy(o->data, x->data, x->rank, x->dims, b, one, size, graft_dtype_size(x->dtype), true);
    return GRAFT_OK;
}

/* StridedSlice: TF's ValidateStridedSliceOp. The sparse spec (begin/end/strides
 * with masks, an ellipsis, new axes) becomes a dense spec over the input dims
 * (begin, stride, size per dim) and the final shape (new axes in, shrunk dims
 * out). Unknown input dims (-1, build time) give unknown sizes. */
typedef struct ss_spec {
    int rank;                              /* input rank */
    int64_t begin[GRAFT_MAX_DIMS], stride[GRAFT_MAX_DIMS], size[GRAFT_MAX_DIMS];
    int out_rank;
    int64_t out_dims[GRAFT_MAX_DIMS];
    bool identity;                         /* the whole input, same shape */
} ss_spec;

static bool ss_compute(const int64_t *dims, int rank, const int64_t *b, const int64_t *e, const int64_t *s, int n,
                       int64_t bm, int64_t em, int64_t elm, int64_t nam, int64_t sam, ss_spec *sp, char *msg, size_t cap)
{
    memset(sp, 0, sizeof *sp);
    sp->rank = rank;
    if (n > 32) {
        snprintf(msg, cap, "too many slice indices (%d)", n);
        return false;
    }
    /* implicit ellipsis at the end */
    bool has_ell = (elm & ((1ll << n) - 1)) != 0;
    int nn = n + (has_ell ? 0 : 1);
    int64_t ellm = has_ell ? elm : (elm | (1ll << n));
    int ell_count = 0;
    for (int i = 0; i < nn; i++)
        if ((ellm >> i) & 1) ell_count++;
    if (ell_count > 1) {
        snprintf(msg, cap, "Multiple ellipses in slice spec not allowed");
        return false;
    }
    /* dense spec */
    int64_t db[GRAFT_MAX_DIMS], de[GRAFT_MAX_DIMS], ds[GRAFT_MAX_DIMS];
    bool dbm[GRAFT_MAX_DIMS], dem[GRAFT_MAX_DIMS], dsh[GRAFT_MAX_DIMS];
    int gather[GRAFT_MAX_DIMS * 4 + 8]; /* >= 0: dense dim; -1 new axis; -2 shrink */
    int ng = 0, full = 0;
    for (int i = 0; i < nn; i++) {
        if ((ellm >> i) & 1) {
            int after_new = 0;
            for (int j = i + 1; j < n; j++)
                if ((nam >> j) & 1) after_new++;
            int real_after = (n - (i + 1)) - after_new;
            int next = rank - real_after;
            if (next > rank) next = rank;
            if (next < full) next = full;
            for (; full < next; full++) {
                db[full] = 0, de[full] = 0, ds[full] = 1;
                dbm[full] = dem[full] = true;
                dsh[full] = false;
                if (ng >= (int)(sizeof gather / sizeof gather[0])) goto toomany;
                gather[ng++] = full;
            }
        } else if ((nam >> i) & 1) {
            if (ng >= (int)(sizeof gather / sizeof gather[0])) goto toomany;
            gather[ng++] = -1;
        } else {
            if (full >= rank) {
                snprintf(msg, cap, "Index out of range using input dim %d; input has only %d dims", full, rank);
                return false;
            }
            db[full] = b[i], de[full] = e[i], ds[full] = s[i];
            dbm[full] = (bm >> i) & 1;
            dem[full] = (em >> i) & 1;
            dsh[full] = (sam >> i) & 1;
            if (ng >= (int)(sizeof gather / sizeof gather[0])) goto toomany;
            gather[ng++] = dsh[full] ? -2 : full;
            full++;
        }
    }
    for (; full < rank; full++) { /* only reachable without an ellipsis, which we always add */
        db[full] = 0, de[full] = 0, ds[full] = 1;
        dbm[full] = dem[full] = true;
        dsh[full] = false;
    }
    sp->identity = true;
    for (int d = 0; d < rank; d++) {
        int64_t dim = dims[d], st_ = ds[d];
        if (st_ == 0) {
            snprintf(msg, cap, "strides[%d] must be non-zero", d);
            return false;
        }
        sp->stride[d] = st_;
        if (dsh[d]) {
            if (st_ <= 0) {
                /* TF: shrink with a negative stride is an error */
                snprintf(msg, cap, "only stride 1 allowed on non-range indexing (dim %d)", d);
                return false;
            }
            int64_t x = db[d];
            if (dim >= 0) {
                int64_t xf = x < 0 ? dim + x : x;
                if (xf < 0 || xf >= dim) {
                    snprintf(msg, cap, "slice index %lld of dimension %d out of bounds.", (long long)x, d);
                    return false;
                }
                sp->begin[d] = xf;
            } else {
                sp->begin[d] = x; /* resolved at run time */
            }
            sp->stride[d] = 1;
            sp->size[d] = 1;
            if (dim != 1) sp->identity = false;
            continue;
        }
        if (dim < 0) {
            sp->size[d] = -1;
            sp->identity = false;
            continue;
        }
        int64_t lo = st_ > 0 ? 0 : -1, hi = st_ > 0 ? dim : dim - 1;
        int64_t bb, ee;
        if (dbm[d]) bb = st_ > 0 ? lo : hi;
        else {
            bb = db[d] < 0 ? dim + db[d] : db[d];
            bb = bb < lo ? lo : bb > hi ? hi : bb;
        }
        if (dem[d]) ee = st_ > 0 ? hi : lo;
        else {
            ee = de[d] < 0 ? dim + de[d] : de[d];
            ee = ee < lo ? lo : ee > hi ? hi : ee;
        }
        int64_t len = ee - bb, sz;
        if ((st_ > 0 && len <= 0) || (st_ < 0 && len >= 0)) sz = 0;
        else sz = len / st_ + (len % st_ != 0);
        sp->begin[d] = bb;
        sp->size[d] = sz;
        if (!(st_ == 1 && bb == 0 && sz == dim)) sp->identity = false;
    }
    sp->out_rank = 0;
    for (int i = 0; i < ng; i++) {
        if (gather[i] == -2) {
            sp->identity = false;
            continue;
        }
        if (sp->out_rank >= GRAFT_MAX_DIMS) goto toomany;
        if (gather[i] == -1) {
            sp->out_dims[sp->out_rank++] = 1;
            sp->identity = false;
        } else {
            sp->out_dims[sp->out_rank++] = sp->size[gather[i]];
        }
    }
    return true;
toomany:
    snprintf(msg, cap, "the slice's rank exceeds graft's maximum of %d", GRAFT_MAX_DIMS);
    return false;
}

static void ss_masks(const graft_op *op, int64_t *m)
{
    m[0] = graftI_attr_i(op, "begin_mask", 0);
    m[1] = graftI_attr_i(op, "end_mask", 0);
    m[2] = graftI_attr_i(op, "ellipsis_mask", 0);
    m[3] = graftI_attr_i(op, "new_axis_mask", 0);
    m[4] = graftI_attr_i(op, "shrink_axis_mask", 0);
}

/* Shared by StridedSlice (x at input 0, spec inputs 1..3) and
 * StridedSliceGrad (shape at 0, spec inputs 1..3, dy at 4). */
static graft_code sslice_infer_common(graft_op *op, const graft_shape *xs, graft_dtype dt, graft_shape *out,
                                      graft_status *st)
{
    for (int i = 1; i <= 3; i++) {
        graft_code rc = check_index_input(op, i, "Index", i == 1 ? "begin" : i == 2 ? "end" : "strides", st);
        if (rc) return rc;
    }
    *out = graft_shape_unknown();
    int64_t b[MAXV], e[MAXV], s[MAXV], m[5];
    const graft_tensor *cb = graftI_const_input(op, 1), *ce = graftI_const_input(op, 2), *cs = graftI_const_input(op, 3);
    int nb = cb ? graftI_tensor_ints(cb, b, MAXV) : -1, ne = ce ? graftI_tensor_ints(ce, e, MAXV) : -1;
    int ns = cs ? graftI_tensor_ints(cs, s, MAXV) : -1;
    (void)dt;
    if (nb < 0 || ne < 0 || ns < 0 || xs->rank < 0) return GRAFT_OK;
    if (nb != ne || nb != ns)
        return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "Expected begin, end, and strides to be 1D equal size tensors");
    ss_masks(op, m);
    ss_spec sp;
    char msg[200];
    if (!ss_compute(xs->dims, xs->rank, b, e, s, nb, m[0], m[1], m[2], m[3], m[4], &sp, msg, sizeof msg))
        return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "%s", msg);
    *out = graft_shape_make(sp.out_rank, sp.out_dims);
    return GRAFT_OK;
}

static graft_code sslice_infer(graft_op *op, graft_status *st)
{
    graft_code rc = check_attr_dt(op, "T", 0, st);
    if (rc) return rc;
    graft_shape out;
    if ((rc = sslice_infer_common(op, graftI_in_shape(op, 0), graftI_in_dtype(op, 0), &out, st))) return rc;
    return set1(op, graftI_in_dtype(op, 0), out);
}

/* Runs the spec against actual dims; kfail on error. */
static graft_code ss_runtime(graftI_kctx *k, const int64_t *dims, int rank, ss_spec *sp)
{
    int64_t b[MAXV], e[MAXV], s[MAXV], m[5];
    int nb = kints(k, 1, b, MAXV, "begin");
    if (nb < 0) return k->st->code;
    int ne = kints(k, 2, e, MAXV, "end");
    if (ne < 0) return k->st->code;
    int ns = kints(k, 3, s, MAXV, "strides");
    if (ns < 0) return k->st->code;
    if (nb != ne || nb != ns)
        return graftI_kfail(k, GRAFT_ERR_INVALID_ARG, "Expected begin, end, and strides to be 1D equal size tensors");
    ss_masks(k->op, m);
    char msg[200];
    if (!ss_compute(dims, rank, b, e, s, nb, m[0], m[1], m[2], m[3], m[4], sp, msg, sizeof msg))
        return graftI_kfail(k, GRAFT_ERR_INVALID_ARG, "%s", msg);
    return GRAFT_OK;
}

static graft_code sslice_forward(graftI_kctx *k)
{
    const graft_tensor *x = k->in[0];
    ss_spec sp;
    graft_code rc = ss_runtime(k, x->dims, x->rank, &sp);
    if (rc) return rc;
    if (sp.identity) {
        graftI_out_set(k, 0, graft_tensor_ref(k->in[0]));
        return GRAFT_OK;
    }
    if (!copyable(x->dtype)) return graftI_kfail(k, GRAFT_ERR_UNSUPPORTED, "dtype %s", graft_dtype_name(x->dtype));
    graft_tensor *o = graftI_out_alloc(k, 0, x->dtype, sp.out_dims, sp.out_rank, false);
    if (!o) return fail_nomem(k);
    box_copy(o->data, x->data, x->rank, x->dims, sp.begin, sp.stride, sp.size, graft_dtype_size(x->dtype), true);
    return GRAFT_OK;
}

static graft_code ssgrad_infer(graft_op *op, graft_status *st)
{
    graft_code rc = check_index_input(op, 0, "Index", "shape", st);
    if (rc || (rc = check_attr_dt(op, "T", 4, st))) return rc;
    int64_t dims[MAXV];
    bool partial;
    int n = graftI_static_ints(op, 0, dims, MAXV, &partial);
    graft_shape xs = graft_shape_unknown();
    if (n > GRAFT_MAX_DIMS) return graft_status_set(st, GRAFT_ERR_UNSUPPORTED, "rank exceeds %d", GRAFT_MAX_DIMS);
    if (n >= 0) xs = graft_shape_make(n, dims);
    graft_shape out;
    if ((rc = sslice_infer_common(op, &xs, graftI_in_dtype(op, 4), &out, st))) return rc;
    return set1(op, graftI_in_dtype(op, 4), xs);
}

static graft_code ssgrad_forward(graftI_kctx *k)
{
    const graft_tensor *dy = k->in[4];
    int64_t dims[MAXV];
    int r = kints(k, 0, dims, MAXV, "shape");
    if (r < 0) return k->st->code;
    if (r > GRAFT_MAX_DIMS) return graftI_kfail(k, GRAFT_ERR_UNSUPPORTED, "rank exceeds %d", GRAFT_MAX_DIMS);
    for (int d = 0; d < r; d++)
        if (dims[d] < 0) return graftI_kfail(k, GRAFT_ERR_INVALID_ARG, "shape has a negative dim");
    ss_spec sp;
    graft_code rc = ss_runtime(k, dims, r, &sp);
    if (rc) return rc;
    int64_t n = 1;
    for (int d = 0; d < sp.out_rank; d++) n *= sp.out_dims[d];
    if (n != dy->n) {
        char b[96];
        return graftI_kfail(k, GRAFT_ERR_SHAPE, "dy has shape %s, the slice has %lld elements", tshs(dy, b, sizeof b),
                            (long long)n);
    }
    if (!copyable(dy->dtype)) return graftI_kfail(k, GRAFT_ERR_UNSUPPORTED, "dtype %s", graft_dtype_name(dy->dtype));
    graft_tensor *o = graftI_out_alloc(k, 0, dy->dtype, dims, r, true);
    if (!o) return fail_nomem(k);
    box_copy(dy->data, o->data, r, dims, sp.begin, sp.stride, sp.size, graft_dtype_size(dy->dtype), false);
    return GRAFT_OK;
}

/* ---- Tile, BroadcastTo ----------------------------------------------------------------------------- */
static const graftI_attr_spec attrs_tile[] = {
    {"T", GRAFTI_ATTR_TYPE, NULL}, {"Tmultiples", GRAFTI_ATTR_TYPE, "int32"}, {NULL, 0, NULL}};
static const graftI_attr_spec attrs_bto[] = {
    {"T", GRAFTI_ATTR_TYPE, NULL}, {"Tidx", GRAFTI_ATTR_TYPE, "int32"}, {NULL, 0, NULL}};

static graft_code tile_infer(graft_op *op, graft_status *st)
{
    graft_code rc = check_attr_dt(op, "T", 0, st);
    if (rc || (rc = check_index_input(op, 1, "Tmultiples", "multiples", st))) return rc;
    const graft_shape *xs = graftI_in_shape(op, 0);
    int64_t m[MAXV];
    const graft_tensor *ct = graftI_const_input(op, 1);
    int n = ct ? graftI_tensor_ints(ct, m, MAXV) : -1;
    if (xs->rank < 0) return set1(op, graftI_in_dtype(op, 0), n >= 0 ? rank_only(n) : graft_shape_unknown());
    if (n < 0) return set1(op, graftI_in_dtype(op, 0), rank_only(xs->rank));
    if (n != xs->rank)
        return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "Expected multiples argument to be a vector of length %d but got length %d",
                                xs->rank, n);
    graft_shape out = *xs;
    for (int d = 0; d < n; d++) {
        if (m[d] < 0) return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "Expected multiples[%d] >= 0, but got %lld", d, (long long)m[d]);
        if (out.dims[d] >= 0) out.dims[d] *= m[d];
    }
    return set1(op, graftI_in_dtype(op, 0), out);
}

static graft_code tile_forward(graftI_kctx *k)
{
    const graft_tensor *x = k->in[0];
    int64_t m[MAXV], od[GRAFT_MAX_DIMS];
    int n = kints(k, 1, m, MAXV, "multiples");
    if (n < 0) return k->st->code;
    if (n != x->rank) return graftI_kfail(k, GRAFT_ERR_INVALID_ARG, "Expected multiples argument to be a vector of length %d", x->rank);
    if (!copyable(x->dtype)) return graftI_kfail(k, GRAFT_ERR_UNSUPPORTED, "dtype %s", graft_dtype_name(x->dtype));
    int64_t total = 1;
    for (int d = 0; d < n; d++) {
        if (m[d] < 0) return graftI_kfail(k, GRAFT_ERR_INVALID_ARG, "Expected multiples[%d] >= 0", d);
        if (!graftI_mul_i64(x->dims[d], m[d], &od[d]) || !graftI_mul_i64(total, od[d], &total))
            return graftI_kfail(k, GRAFT_ERR_NOMEM, "tiled size overflows");
    }
    graft_tensor *o = graftI_out_alloc(k, 0, x->dtype, od, n, false);
    if (!o) return fail_nomem(k);
    if (total == 0) return GRAFT_OK;
    size_t es = graft_dtype_size(x->dtype);
    if (n == 0) {
        memcpy(o->data, x->data, es);
        return GRAFT_OK;
    }
    /* each output row (last dim) is the matching input row repeated m[last] times */
    int64_t in_row = x->dims[n - 1], out_row = od[n - 1];
    int64_t rows = total / out_row, idx[GRAFT_MAX_DIMS] = {0};
    int64_t istr[GRAFT_MAX_DIMS];
    istr[n - 1] = 1;
    for (int d = n - 2; d >= 0; d--) istr[d] = istr[d + 1] * x->dims[d + 1];
    char *dst = o->data;
    const char *src = x->data;
    for (int64_t r = 0; r < rows; r++) {
        int64_t off = 0;
        for (int d = 0; d < n - 1; d++) off += (idx[d] % x->dims[d]) * istr[d];
        char *drow = dst + r * out_row * (int64_t)es;
        for (int64_t j = 0; j < m[n - 1]; j++) memcpy(drow + j * in_row * (int64_t)es, src + off * (int64_t)es, (size_t)in_row * es);
        for (int d = n - 2; d >= 0; d--) {
            if (++idx[d] < od[d]) break;
            idx[d] = 0;
        }
    }
    return GRAFT_OK;
}

static graft_code bto_infer(graft_op *op, graft_status *st)
{
    graft_code rc = check_attr_dt(op, "T", 0, st);
    if (rc || (rc = check_index_input(op, 1, "Tidx", "shape", st))) return rc;
    int64_t dims[MAXV];
    bool partial;
    int n = graftI_static_ints(op, 1, dims, MAXV, &partial);
    if (n > GRAFT_MAX_DIMS) return graft_status_set(st, GRAFT_ERR_UNSUPPORTED, "rank exceeds %d", GRAFT_MAX_DIMS);
    if (n < 0) {
        const graft_shape *ss = graftI_in_shape(op, 1);
        return set1(op, graftI_in_dtype(op, 0), ss->rank == 1 ? rank_only((int)ss->dims[0]) : graft_shape_unknown());
    }
    graft_shape out = graft_shape_make(n, dims), b;
    if (!graftI_broadcast_shape(graftI_in_shape(op, 0), &out, &b) || (graftI_shape_known(&b) && !graftI_shape_equal(&b, &out) && !partial)) {
        char b1[96], b2[96];
        return graft_status_set(st, GRAFT_ERR_SHAPE, "cannot broadcast %s to %s", shs(graftI_in_shape(op, 0), b1, sizeof b1),
                                shs(&out, b2, sizeof b2));
    }
    return set1(op, graftI_in_dtype(op, 0), out);
}

static graft_code bto_forward(graftI_kctx *k)
{
    const graft_tensor *xt = k->in[0];
    int64_t dims[MAXV];
    int n = kints(k, 1, dims, MAXV, "shape");
    if (n < 0) return k->st->code;
    if (n > GRAFT_MAX_DIMS) return graftI_kfail(k, GRAFT_ERR_UNSUPPORTED, "rank exceeds %d", GRAFT_MAX_DIMS);
    graftI_bcast bc;
    bool ok = graftI_bcast_init(&bc, xt->dims, xt->rank, dims, n) && bc.out_rank == n;
    for (int d = 0; ok && d < n; d++) ok = bc.out_dims[d] == dims[d];
    if (!ok) {
        char b1[96];
        graft_shape t = graft_shape_make(n, dims);
        char b2[96];
        return graftI_kfail(k, GRAFT_ERR_SHAPE, "cannot broadcast %s to %s", tshs(xt, b1, sizeof b1), shs(&t, b2, sizeof b2));
    }
    if (xt->n == bc.n) {
        graftI_out_view(k, 0, 0, dims, n);
        return k->out[0] ? GRAFT_OK : fail_nomem(k);
    }
    if (!copyable(xt->dtype)) return graftI_kfail(k, GRAFT_ERR_UNSUPPORTED, "dtype %s", graft_dtype_name(xt->dtype));
    graft_tensor *o = graftI_out_alloc(k, 0, xt->dtype, dims, n, false);
    if (!o) return fail_nomem(k);
    if (bc.n == 0) return GRAFT_OK;
    for (int d = 0; d < bc.rank; d++) bc.sb[d] = 0; /* b is a dummy: never advanced */
    switch (graft_dtype_size(xt->dtype)) {
    case 1: GRAFTI_BCAST_RUN(&bc, uint8_t, uint8_t, uint8_t, (const uint8_t *)xt->data, (const uint8_t *)xt->data, (uint8_t *)o->data, ((void)y, x)); break;
    case 2: GRAFTI_BCAST_RUN(&bc, uint16_t, uint16_t, uint16_t, (const uint16_t *)xt->data, (const uint16_t *)xt->data, (uint16_t *)o->data, ((void)y, x)); break;
    case 4: GRAFTI_BCAST_RUN(&bc, uint32_t, uint32_t, uint32_t, (const uint32_t *)xt->data, (const uint32_t *)xt->data, (uint32_t *)o->data, ((void)y, x)); break;
    case 8: GRAFTI_BCAST_RUN(&bc, uint64_t, uint64_t, uint64_t, (const uint64_t *)xt->data, (const uint64_t *)xt->data, (uint64_t *)o->data, ((void)y, x)); break;
    default: return graftI_kfail(k, GRAFT_ERR_UNSUPPORTED, "dtype %s", graft_dtype_name(xt->dtype));
    }
    return GRAFT_OK;
}

/* ---- Shape, Size, Rank, BroadcastGradientArgs --------------------------------------------------- */
static const graftI_attr_spec attrs_shape[] = {
    {"T", GRAFTI_ATTR_TYPE, NULL}, {"out_type", GRAFTI_ATTR_TYPE, "int32"}, {NULL, 0, NULL}};
static const graftI_attr_spec attrs_bga[] = {{"T", GRAFTI_ATTR_TYPE, "int32"}, {NULL, 0, NULL}};
static const graftI_attr_spec attrs_invperm[] = {{"T", GRAFTI_ATTR_TYPE, "int32"}, {NULL, 0, NULL}};

static graft_code shape_infer(graft_op *op, graft_status *st)
{
    graft_code rc = check_attr_dt(op, "T", 0, st);
    if (rc) return rc;
    graft_dtype ot = graftI_attr_dt(op, "out_type", GRAFT_INT32);
    if (!graftI_is_int_index(ot)) return graft_status_set(st, GRAFT_ERR_DTYPE, "out_type must be int32 or int64");
    const graft_shape *xs = graftI_in_shape(op, 0);
    graft_shape out = {0, {0}};
    if (strcmp(op->def->name, "Shape") == 0) {
        out.rank = 1;
        out.dims[0] = xs->rank >= 0 ? xs->rank : -1;
    }
    return set1(op, strcmp(op->def->name, "Rank") == 0 ? GRAFT_INT32 : ot, out);
}

static void put_int(graft_tensor *t, int64_t i, int64_t v)
{
    if (t->dtype == GRAFT_INT32) ((int32_t *)t->data)[i] = (int32_t)v;
    else ((int64_t *)t->data)[i] = v;
}

static graft_code shape_forward(graftI_kctx *k)
{
    const graft_tensor *x = k->in[0];
    graft_dtype ot = graftI_attr_dt(k->op, "out_type", GRAFT_INT32);
    const char *t = k->op->def->name;
    if (strcmp(t, "Rank") == 0) ot = GRAFT_INT32;
    if (ot == GRAFT_INT32 && strcmp(t, "Rank") != 0) {
        int64_t big = strcmp(t, "Size") == 0 ? x->n : 0;
        for (int d = 0; d < x->rank; d++)
            if (x->dims[d] > big) big = x->dims[d];
        if (big > INT32_MAX) return graftI_kfail(k, GRAFT_ERR_INVALID_ARG, "size %lld does not fit out_type int32", (long long)big);
    }
    if (strcmp(t, "Shape") == 0) {
        int64_t dim = x->rank;
        graft_tensor *o = graftI_out_alloc(k, 0, ot, &dim, 1, false);
        if (!o) return fail_nomem(k);
        for (int d = 0; d < x->rank; d++) put_int(o, d, x->dims[d]);
        return GRAFT_OK;
    }
    graft_tensor *o = graftI_out_alloc(k, 0, ot, NULL, 0, false);
    if (!o) return fail_nomem(k);
    put_int(o, 0, strcmp(t, "Size") == 0 ? x->n : x->rank);
    return GRAFT_OK;
}

/* ShapeN: the shapes of N inputs at once. */
static const graftI_attr_spec attrs_shapen[] = {
    {"N", GRAFTI_ATTR_INT, NULL}, {"T", GRAFTI_ATTR_TYPE, NULL}, {"out_type", GRAFTI_ATTR_TYPE, "int32"}, {NULL, 0, NULL}};

static graft_code shapen_infer(graft_op *op, graft_status *st)
{
    if (graftI_attr_i(op, "N", op->n_in) != op->n_in)
        return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "attr N does not match the %d inputs", op->n_in);
    graft_dtype ot = graftI_attr_dt(op, "out_type", GRAFT_INT32);
    if (!graftI_is_int_index(ot)) return graft_status_set(st, GRAFT_ERR_DTYPE, "out_type must be int32 or int64");
    graft_code rc = graftI_set_outputs(op, op->n_in);
    if (rc) return rc;
    for (int i = 0; i < op->n_in; i++) {
        const graft_shape *xs = graftI_in_shape(op, i);
        op->out[i].dtype = ot;
        op->out[i].shape = rank_only(1);
        op->out[i].shape.dims[0] = xs->rank;
    }
    return GRAFT_OK;
}

static graft_code shapen_forward(graftI_kctx *k)
{
    graft_dtype ot = graftI_attr_dt(k->op, "out_type", GRAFT_INT32);
    for (int i = 0; i < k->n_in; i++) {
        const graft_tensor *x = k->in[i];
        int64_t dim = x->rank;
        graft_tensor *o = graftI_out_alloc(k, i, ot, &dim, 1, false);
        if (!o) return fail_nomem(k);
        for (int d = 0; d < x->rank; d++) {
            if (ot == GRAFT_INT32 && x->dims[d] > INT32_MAX)
                return graftI_kfail(k, GRAFT_ERR_INVALID_ARG, "dim %lld does not fit int32", (long long)x->dims[d]);
            put_int(o, d, x->dims[d]);
        }
    }
    return GRAFT_OK;
}

static graft_code bga_infer(graft_op *op, graft_status *st)
{
    graft_code rc = check_index_input(op, 0, "T", "s0", st);
    if (rc || (rc = check_index_input(op, 1, "T", "s1", st))) return rc;
    if (graftI_in_dtype(op, 0) != graftI_in_dtype(op, 1)) return graft_status_set(st, GRAFT_ERR_DTYPE, "s0 and s1 differ in dtype");
    if ((rc = graftI_set_outputs(op, 2))) return rc;
    for (int i = 0; i < 2; i++) {
        op->out[i].dtype = graftI_in_dtype(op, 0);
        op->out[i].shape = rank_only(1);
    }
    return GRAFT_OK;
}

/* TF's BCast reduction indices: for each input, the output dims it was
 * broadcast along (dims where both are 1 are listed for both). */
static graft_code bga_forward(graftI_kctx *k)
{
    int64_t s[2][MAXV];
    int n[2];
    for (int i = 0; i < 2; i++) {
        n[i] = kints(k, i, s[i], MAXV, i ? "s1" : "s0");
        if (n[i] < 0) return k->st->code;
    }
    int r = n[0] > n[1] ? n[0] : n[1];
    int64_t red[2][MAXV];
    int nr[2] = {0, 0};
    for (int d = 0; d < r; d++) {
        int64_t a = d < r - n[0] ? 1 : s[0][d - (r - n[0])];
        int64_t b = d < r - n[1] ? 1 : s[1][d - (r - n[1])];
        if (a == b) {
            if (a == 1) {
                red[0][nr[0]++] = d;
                red[1][nr[1]++] = d;
            }
        } else if (a == 1) {
            red[0][nr[0]++] = d;
        } else if (b == 1) {
            red[1][nr[1]++] = d;
        } else {
            return graftI_kfail(k, GRAFT_ERR_SHAPE, "Incompatible shapes: dim %d is %lld vs. %lld", d, (long long)a,
                                (long long)b);
        }
    }
    for (int i = 0; i < 2; i++) {
        int64_t dim = nr[i];
        graft_tensor *o = graftI_out_alloc(k, i, k->in[0]->dtype, &dim, 1, false);
        if (!o) return fail_nomem(k);
        for (int j = 0; j < nr[i]; j++) put_int(o, j, red[i][j]);
    }
    return GRAFT_OK;
}

/* ---- Fill, ZerosLike, OnesLike, Range ------------------------------------------------------------ */
static const graftI_attr_spec attrs_fill[] = {
    {"T", GRAFTI_ATTR_TYPE, NULL}, {"index_type", GRAFTI_ATTR_TYPE, "int32"}, {NULL, 0, NULL}};
static const graftI_attr_spec attrs_range[] = {{"Tidx", GRAFTI_ATTR_TYPE, "int32"}, {NULL, 0, NULL}};

static graft_code fill_infer(graft_op *op, graft_status *st)
{
    graft_code rc = check_index_input(op, 0, "index_type", "dims", st);
    if (rc || (rc = check_attr_dt(op, "T", 1, st))) return rc;
    const graft_shape *vs = graftI_in_shape(op, 1), *ds = graftI_in_shape(op, 0);
    if (vs->rank > 0) return graft_status_set(st, GRAFT_ERR_SHAPE, "value must be a scalar, got rank %d", vs->rank);
    if (ds->rank > 1) return graft_status_set(st, GRAFT_ERR_SHAPE, "dims must be a vector, got rank %d", ds->rank);
    if (!copyable(graftI_in_dtype(op, 1)))
        return graft_status_set(st, GRAFT_ERR_UNSUPPORTED, "dtype %s", graft_dtype_name(graftI_in_dtype(op, 1)));
    int64_t dims[MAXV];
    bool partial;
    int n = graftI_static_ints(op, 0, dims, MAXV, &partial);
    graft_shape out = graft_shape_unknown();
    if (n > GRAFT_MAX_DIMS) return graft_status_set(st, GRAFT_ERR_UNSUPPORTED, "rank exceeds %d", GRAFT_MAX_DIMS);
    if (n >= 0) {
        for (int d = 0; d < n; d++)
            if (dims[d] < 0 && !partial) return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "dims[%d] = %lld must be non-negative", d, (long long)dims[d]);
        out = graft_shape_make(n, dims);
    } else if (ds->rank == 1 && ds->dims[0] >= 0 && ds->dims[0] <= GRAFT_MAX_DIMS) {
        out = rank_only((int)ds->dims[0]);
    }
    return set1(op, graftI_in_dtype(op, 1), out);
}

/* Repeats one element of size es n times. */
static void fill_elems(void *dst, const void *elem, int64_t n, size_t es)
{
    switch (es) {
    case 1: memset(dst, *(const uint8_t *)elem, (size_t)n); break;
    case 4: {
        uint32_t v, *d = dst;
        memcpy(&v, elem, 4);
        for (int64_t i = 0; i < n; i++) d[i] = v;
        break;
    }
    case 8: {
        uint64_t v, *d = dst;
        memcpy(&v, elem, 8);
        for (int64_t i = 0; i < n; i++) d[i] = v;
        break;
    }
    default:
        for (int64_t i = 0; i < n; i++) memcpy((char *)dst + (size_t)i * es, elem, es);
    }
}

static graft_code fill_forward(graftI_kctx *k)
{
    const graft_tensor *v = k->in[1];
    int64_t dims[MAXV];
    int n = kints(k, 0, dims, MAXV, "dims");
    if (n < 0) return k->st->code;
    if (v->rank != 0) return graftI_kfail(k, GRAFT_ERR_SHAPE, "value must be a scalar");
    if (n > GRAFT_MAX_DIMS) return graftI_kfail(k, GRAFT_ERR_UNSUPPORTED, "rank exceeds %d", GRAFT_MAX_DIMS);
    if (!copyable(v->dtype)) return graftI_kfail(k, GRAFT_ERR_UNSUPPORTED, "dtype %s", graft_dtype_name(v->dtype));
    int64_t total = 1;
    for (int d = 0; d < n; d++)
        if (dims[d] < 0 || !graftI_mul_i64(total, dims[d], &total))
            return graftI_kfail(k, GRAFT_ERR_INVALID_ARG, "dims[%d] = %lld is invalid", d, (long long)dims[d]);
    graft_tensor *o = graftI_out_alloc(k, 0, v->dtype, dims, n, false);
    if (!o) return fail_nomem(k);
    fill_elems(o->data, v->data, total, graft_dtype_size(v->dtype));
    return GRAFT_OK;
}

static graft_code like_infer(graft_op *op, graft_status *st)
{
    graft_code rc = check_attr_dt(op, "T", 0, st);
    if (rc) return rc;
    if (!copyable(graftI_in_dtype(op, 0)))
        return graft_status_set(st, GRAFT_ERR_UNSUPPORTED, "dtype %s", graft_dtype_name(graftI_in_dtype(op, 0)));
    return set1(op, graftI_in_dtype(op, 0), *graftI_in_shape(op, 0));
}

static graft_code zeroslike_forward(graftI_kctx *k)
{
    const graft_tensor *x = k->in[0];
    return graftI_out_alloc(k, 0, x->dtype, x->dims, x->rank, true) ? GRAFT_OK : fail_nomem(k);
}

static graft_code oneslike_forward(graftI_kctx *k)
{
    const graft_tensor *x = k->in[0];
    graft_tensor *o = graftI_out_alloc(k, 0, x->dtype, x->dims, x->rank, false);
    if (!o) return fail_nomem(k);
    union {
        float f;
        double d;
        int32_t i32;
        int64_t i64;
        uint8_t u8;
        int16_t i16;
        uint16_t u16;
        uint32_t u32;
        uint64_t u64;
    } one;
    memset(&one, 0, sizeof one);
    switch (x->dtype) {
    case GRAFT_FLOAT: one.f = 1.0f; break;
    case GRAFT_DOUBLE: one.d = 1.0; break;
    case GRAFT_INT32: one.i32 = 1; break;
    case GRAFT_INT64: one.i64 = 1; break;
    case GRAFT_BOOL:
    case GRAFT_UINT8:
    case GRAFT_INT8: one.u8 = 1; break;
    case GRAFT_INT16: one.i16 = 1; break;
    case GRAFT_UINT16: one.u16 = 1; break;
    case GRAFT_UINT32: one.u32 = 1; break;
    case GRAFT_UINT64: one.u64 = 1; break;
    case GRAFT_HALF: one.u16 = 0x3c00; break;
    case GRAFT_BFLOAT16: one.u16 = 0x3f80; break;
    default: return graftI_kfail(k, GRAFT_ERR_UNSUPPORTED, "dtype %s", graft_dtype_name(x->dtype));
    }
    fill_elems(o->data, &one, x->n, graft_dtype_size(x->dtype));
    return GRAFT_OK;
}

static graft_code range_infer(graft_op *op, graft_status *st)
{
    graft_dtype dt = graftI_in_dtype(op, 0);
    if (!graftI_is_int_index(dt) && !graftI_is_float(dt))
        return graft_status_set(st, GRAFT_ERR_DTYPE, "Range: unsupported dtype %s", graft_dtype_name(dt));
    for (int i = 0; i < 3; i++) {
        if (graftI_in_dtype(op, i) != dt)
            return graft_status_set(st, GRAFT_ERR_DTYPE, "start, limit and delta must have one dtype");
        if (graftI_in_shape(op, i)->rank > 0)
            return graft_status_set(st, GRAFT_ERR_SHAPE, "start, limit and delta must be scalars");
    }
    graft_code rc = check_attr_dt(op, "Tidx", 0, st);
    if (rc) return rc;
    graft_shape out = rank_only(1);
    const graft_tensor *c[3] = {graftI_const_input(op, 0), graftI_const_input(op, 1), graftI_const_input(op, 2)};
    if (c[0] && c[1] && c[2] && graftI_is_int_index(dt)) {
        int64_t v[3];
        for (int i = 0; i < 3; i++) graftI_tensor_ints(c[i], &v[i], 1);
        if (v[2] != 0 && !((v[2] > 0 && v[0] > v[1]) || (v[2] < 0 && v[0] < v[1]))) {
            int64_t span = v[1] > v[0] ? v[1] - v[0] : v[0] - v[1], ad = v[2] > 0 ? v[2] : -v[2];
            out.dims[0] = (span + ad - 1) / ad;
        }
    }
    return set1(op, dt, out);
}

static double scalar_d(const graft_tensor *t)
{
    switch (t->dtype) {
    case GRAFT_FLOAT: return *(const float *)t->data;
    case GRAFT_DOUBLE: return *(const double *)t->data;
    case GRAFT_INT32: return *(const int32_t *)t->data;
    case GRAFT_INT64: return (double)*(const int64_t *)t->data;
    default: return 0;
    }
}

static graft_code range_forward(graftI_kctx *k)
{
    graft_dtype dt = k->in[0]->dtype;
    for (int i = 0; i < 3; i++)
        if (k->in[i]->n != 1 || k->in[i]->dtype != dt)
            return graftI_kfail(k, GRAFT_ERR_INVALID_ARG, "start, limit and delta must be scalars of one dtype");
    int64_t size;
    if (graftI_is_int_index(dt)) {
        int64_t v[3];
        for (int i = 0; i < 3; i++) graftI_tensor_ints(k->in[i], &v[i], 1);
        if (v[2] == 0) return graftI_kfail(k, GRAFT_ERR_INVALID_ARG, "Requires delta != 0: %lld", (long long)v[2]);
        if (v[2] > 0 && v[0] > v[1])
            return graftI_kfail(k, GRAFT_ERR_INVALID_ARG, "Requires start <= limit when delta > 0: %lld/%lld", (long long)v[0], (long long)v[1]);
        if (v[2] < 0 && v[0] < v[1])
            return graftI_kfail(k, GRAFT_ERR_INVALID_ARG, "Requires start >= limit when delta < 0: %lld/%lld", (long long)v[0], (long long)v[1]);
        uint64_t span = v[1] > v[0] ? (uint64_t)v[1] - (uint64_t)v[0] : (uint64_t)v[0] - (uint64_t)v[1];
        uint64_t ad = v[2] > 0 ? (uint64_t)v[2] : 0u - (uint64_t)v[2];
        size = (int64_t)((span + ad - 1) / ad);
        if (size > ((int64_t)1 << 40)) return graftI_kfail(k, GRAFT_ERR_NOMEM, "Range of %lld elements", (long long)size);
        graft_tensor *o = graftI_out_alloc(k, 0, dt, &size, 1, false);
        if (!o) return fail_nomem(k);
        for (int64_t i = 0; i < size; i++) put_int(o, i, (int64_t)((uint64_t)v[0] + (uint64_t)i * (uint64_t)v[2]));
        return GRAFT_OK;
    }
    double s0 = scalar_d(k->in[0]), lim = scalar_d(k->in[1]), dl = scalar_d(k->in[2]);
    if (dl == 0 || isnan(dl)) return graftI_kfail(k, GRAFT_ERR_INVALID_ARG, "Requires delta != 0");
    if ((dl > 0 && s0 > lim) || (dl < 0 && s0 < lim))
        return graftI_kfail(k, GRAFT_ERR_INVALID_ARG, "Requires start <= limit when delta > 0 (or >= when delta < 0)");
    double sz = ceil(fabs((lim - s0) / dl));
    if (!(sz < (double)((int64_t)1 << 40))) return graftI_kfail(k, GRAFT_ERR_INVALID_ARG, "Range size is too large");
    size = (int64_t)sz;
    graft_tensor *o = graftI_out_alloc(k, 0, dt, &size, 1, false);
    if (!o) return fail_nomem(k);
    for (int64_t i = 0; i < size; i++) {
        if (dt == GRAFT_FLOAT) ((float *)o->data)[i] = (float)(s0 + (double)i * dl);
        else ((double *)o->data)[i] = s0 + (double)i * dl;
    }
    return GRAFT_OK;
}

/* ---- Cast -------------------------------------------------------------------------------------------
 * Float -> int truncates toward zero; NaN and out-of-range values give the
 * type's minimum (what x86's cvtt* instructions produce, so what TF shows on
 * CPU) instead of C's undefined behaviour. half/bfloat16 convert through
 * float32 with round-to-nearest-even. */
static const graftI_attr_spec attrs_cast[] = {{"SrcT", GRAFTI_ATTR_TYPE, NULL},
                                              {"DstT", GRAFTI_ATTR_TYPE, NULL},
                                              {"Truncate", GRAFTI_ATTR_BOOL, "false"},
                                              {NULL, 0, NULL}};

static inline int32_t f2i32(double v) { return (v > -2147483649.0 && v < 2147483648.0) ? (int32_t)v : INT32_MIN; }
static inline int64_t f2i64(double v)
{
    return (v >= -9223372036854775808.0 && v < 9223372036854775808.0) ? (int64_t)v : INT64_MIN;
}

static float half_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, man = h & 0x3ffu, f;
    if (exp == 0) {
        if (man == 0) {
            f = sign;
        } else { /* subnormal: renormalise */
            exp = 127 - 15 + 1;
            while (!(man & 0x400u)) {
                man <<= 1;
                exp--;
            }
            f = sign | (exp << 23) | ((man & 0x3ffu) << 13);
        }
    } else if (exp == 31) {
        f = sign | 0x7f800000u | (man << 13);
    } else {
        f = sign | ((exp + 127 - 15) << 23) | (man << 13);
    }
    float out;
    memcpy(&out, &f, 4);
    return out;
}

static uint16_t f32_to_half(float v)
{
    uint32_t x;
    memcpy(&x, &v, 4);
    uint32_t sign = (x >> 16) & 0x8000u, man = x & 0x7fffffu;
    int32_t exp = (int32_t)((x >> 23) & 0xffu);
    if (exp == 255) return (uint16_t)(sign | 0x7c00u | (man ? 0x200u : 0));
    int32_t e = exp - 127 + 15;
    if (e >= 31) return (uint16_t)(sign | 0x7c00u);
    if (e <= 0) {
        if (e < -10) return (uint16_t)sign;
        man |= 0x800000u;
        int shift = 14 - e;
        uint32_t hm = man >> shift, rem = man & ((1u << shift) - 1), half = 1u << (shift - 1);
        if (rem > half || (rem == half && (hm & 1u))) hm++;
        return (uint16_t)(sign | hm);
    }
    uint32_t hm = man >> 13, rem = man & 0x1fffu;
    uint32_t h = sign | ((uint32_t)e << 10) | hm;
    if (rem > 0x1000u || (rem == 0x1000u && (hm & 1u))) h++; /* a carry rounds into the exponent correctly */
    return (uint16_t)h;
}

static float bf16_to_f32(uint16_t b)
{
    uint32_t f = (uint32_t)b << 16;
    float out;
    memcpy(&out, &f, 4);
    return out;
}

static uint16_t f32_to_bf16(float v)
{
    uint32_t x;
    memcpy(&x, &v, 4);
    if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((x >> 16) | 0x40u); /* quiet NaN */
    return (uint16_t)((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

static graft_code cast_infer(graft_op *op, graft_status *st)
{
    graft_code rc = check_attr_dt(op, "SrcT", 0, st);
    if (rc) return rc;
    graft_dtype src = graftI_in_dtype(op, 0), dst = graftI_attr_dt(op, "DstT", GRAFT_INVALID);
    if (!copyable(src) || !copyable(dst))
        return graft_status_set(st, GRAFT_ERR_UNSUPPORTED, "Cast from %s to %s is not supported", graft_dtype_name(src),
                                graft_dtype_name(dst));
    return set1(op, dst, *graftI_in_shape(op, 0));
}

#define CAST_LOOP(TS, TD, EXPR)                                                                    \
    do {                                                                                           \
        const TS *s_ = src;                                                                        \
        TD *d_ = dst;                                                                              \
        for (int64_t i = 0; i < n; i++) {                                                          \
            const TS v = s_[i];                                                                    \
            d_[i] = (TD)(EXPR);                                                                    \
        }                                                                                          \
    } while (0)
#define CAST_FROM(TD, FEXPR, IEXPR)                                                                \
    switch (sdt) {                                                                                 \
    case GRAFT_FLOAT: CAST_LOOP(float, TD, FEXPR); break;                                          \
    case GRAFT_DOUBLE: CAST_LOOP(double, TD, FEXPR); break;                                        \
    case GRAFT_INT32: CAST_LOOP(int32_t, TD, IEXPR); break;                                        \
    case GRAFT_INT64: CAST_LOOP(int64_t, TD, IEXPR); break;                                        \
    case GRAFT_BOOL:                                                                               \
    case GRAFT_UINT8: CAST_LOOP(uint8_t, TD, IEXPR); break;                                        \
    case GRAFT_INT8: CAST_LOOP(int8_t, TD, IEXPR); break;                                          \
    case GRAFT_INT16: CAST_LOOP(int16_t, TD, IEXPR); break;                                        \
    case GRAFT_UINT16: CAST_LOOP(uint16_t, TD, IEXPR); break;                                      \
    case GRAFT_UINT32: CAST_LOOP(uint32_t, TD, IEXPR); break;                                      \
    case GRAFT_UINT64: CAST_LOOP(uint64_t, TD, IEXPR); break;                                      \
    default: return false;                                                                         \
    }

/* Plain (non-16-bit-float) conversions; false when a dtype is not handled. */
static bool cast_plain(const void *src, graft_dtype sdt, void *dst, graft_dtype ddt, int64_t n)
{
    switch (ddt) {
    case GRAFT_FLOAT: CAST_FROM(float, v, v) break;
    case GRAFT_DOUBLE: CAST_FROM(double, v, v) break;
    case GRAFT_INT32: CAST_FROM(int32_t, f2i32((double)v), v) break;
    case GRAFT_INT64: CAST_FROM(int64_t, f2i64((double)v), v) break;
    case GRAFT_BOOL: CAST_FROM(uint8_t, v != 0, v != 0) break;
    case GRAFT_UINT8: CAST_FROM(uint8_t, f2i64((double)v), v) break;
    case GRAFT_INT8: CAST_FROM(int8_t, f2i64((double)v), v) break;
    case GRAFT_INT16: CAST_FROM(int16_t, f2i64((double)v), v) break;
    case GRAFT_UINT16: CAST_FROM(uint16_t, f2i64((double)v), v) break;
    case GRAFT_UINT32: CAST_FROM(uint32_t, f2i64((double)v), v) break;
    case GRAFT_UINT64: CAST_FROM(uint64_t, f2i64((double)v), v) break;
    default: return false;
    }
    return true;
}

static graft_code cast_forward(graftI_kctx *k)
{
    const graft_tensor *x = k->in[0];
    graft_dtype dst = graftI_attr_dt(k->op, "DstT", GRAFT_INVALID);
    if (dst == x->dtype) {
        graftI_out_set(k, 0, graft_tensor_ref(k->in[0]));
        return GRAFT_OK;
    }
    graft_tensor *o = graftI_out_alloc(k, 0, dst, x->dims, x->rank, false);
    if (!o) return fail_nomem(k);
    bool s16 = x->dtype == GRAFT_HALF || x->dtype == GRAFT_BFLOAT16, d16 = dst == GRAFT_HALF || dst == GRAFT_BFLOAT16;
    bool ok;
    if (!s16 && !d16) {
        ok = cast_plain(x->data, x->dtype, o->data, dst, x->n);
    } else {
        /* through float32, in chunks on the stack */
        float buf[256];
        ok = true;
        for (int64_t i0 = 0; i0 < x->n && ok; i0 += 256) {
            int64_t m = x->n - i0 < 256 ? x->n - i0 : 256;
            size_t ses = graft_dtype_size(x->dtype), des = graft_dtype_size(dst);
            const char *sp = (const char *)x->data + (size_t)i0 * ses;
            char *dp = (char *)o->data + (size_t)i0 * des;
            if (x->dtype == GRAFT_HALF)
                for (int64_t i = 0; i < m; i++) buf[i] = half_to_f32(((const uint16_t *)(const void *)sp)[i]);
            else if (x->dtype == GRAFT_BFLOAT16)
                for (int64_t i = 0; i < m; i++) buf[i] = bf16_to_f32(((const uint16_t *)(const void *)sp)[i]);
            else
                ok = cast_plain(sp, x->dtype, buf, GRAFT_FLOAT, m);
            if (!ok) break;
            if (dst == GRAFT_HALF)
                for (int64_t i = 0; i < m; i++) ((uint16_t *)(void *)dp)[i] = f32_to_half(buf[i]);
            else if (dst == GRAFT_BFLOAT16)
                for (int64_t i = 0; i < m; i++) ((uint16_t *)(void *)dp)[i] = f32_to_bf16(buf[i]);
            else
                ok = cast_plain(buf, GRAFT_FLOAT, dp, dst, m);
        }
    }
    if (!ok)
        return graftI_kfail(k, GRAFT_ERR_UNSUPPORTED, "Cast from %s to %s is not supported", graft_dtype_name(x->dtype),
                            graft_dtype_name(dst));
    return GRAFT_OK;
}

/* ---- typed builders ----------------------------------------------------------------------------------- */
static graft_out mk(graft_graph *g, const char *type, const char *name, const graft_out *in, int n_in,
                    const graftI_attr *at, int na)
{
    return graftI_o(graftI_make_op(g, type, name, in, n_in, at, na), 0);
}

/* A 1-D int32 const (int64 when a value does not fit). */
static graft_out ints_const(graft_graph *g, const int64_t *v, int n)
{
    bool big = false;
    for (int i = 0; i < n; i++)
        if (v[i] > INT32_MAX || v[i] < INT32_MIN) big = true;
    return graftI_gb_ints(g, big ? GRAFT_INT64 : GRAFT_INT32, v, n);
}

graft_out graft_reshape(graft_graph *g, graft_out x, graft_out shape)
{
    graft_out in[2] = {x, shape};
    graftI_attr at[2] = {graftI_a_type("T", graft_out_dtype(x)), graftI_a_type("Tshape", graft_out_dtype(shape))};
    return mk(g, "Reshape", "Reshape", in, 2, at, 2);
}

graft_out graft_reshape_dims(graft_graph *g, graft_out x, const int64_t *dims, int n)
{
    if (!g) return graftI_o(NULL, 0);
    if (n < 0 || n > GRAFT_MAX_DIMS || (n > 0 && !dims)) {
        graftI_graph_fail(g, GRAFT_ERR_INVALID_ARG, "graft_reshape_dims: bad rank %d", n);
        return graftI_o(NULL, 0);
    }
    if (!x.op) return graft_reshape(g, x, x);
    return graft_reshape(g, x, ints_const(g, dims, n));
}

graft_out graft_squeeze(graft_graph *g, graft_out x, const int64_t *axes, int n)
{
    graftI_attr at[2] = {graftI_a_type("T", graft_out_dtype(x)), graftI_a_ilist("squeeze_dims", axes, axes ? n : 0)};
    return mk(g, "Squeeze", "Squeeze", &x, 1, at, 2);
}

graft_out graft_expand_dims(graft_graph *g, graft_out x, int axis)
{
    graft_out in[2] = {x, x.op ? graft_const_i32(g, axis) : x};
    graftI_attr at[2] = {graftI_a_type("T", graft_out_dtype(x)), graftI_a_type("Tdim", GRAFT_INT32)};
    return mk(g, "ExpandDims", "ExpandDims", in, 2, at, 2);
}

graft_out graft_transpose(graft_graph *g, graft_out x, const int32_t *perm, int n)
{
    if (!g) return graftI_o(NULL, 0);
    if (n < 0 || n > GRAFT_MAX_DIMS || (n > 0 && !perm)) {
        graftI_graph_fail(g, GRAFT_ERR_INVALID_ARG, "graft_transpose: bad perm length %d", n);
        return graftI_o(NULL, 0);
    }
    graft_out in[2] = {x, x.op ? graft_const_i32_vec(g, perm, n) : x};
    graftI_attr at[2] = {graftI_a_type("T", graft_out_dtype(x)), graftI_a_type("Tperm", GRAFT_INT32)};
    return mk(g, "Transpose", "transpose", in, 2, at, 2);
}

graft_out graft_concat(graft_graph *g, const graft_out *xs, int n, int axis)
{
    if (!g) return graftI_o(NULL, 0);
    if (!xs || n < 1 || n > 100000) {
        graftI_graph_fail(g, GRAFT_ERR_INVALID_ARG, "graft_concat: needs at least one input (got %d)", n);
        return graftI_o(NULL, 0);
    }
    graft_out *in = graftI_calloc((size_t)n + 1, sizeof *in);
    if (!in) {
        graftI_graph_fail(g, GRAFT_ERR_NOMEM, "out of memory");
        return graftI_o(NULL, 0);
    }
    memcpy(in, xs, (size_t)n * sizeof *in);
    in[n] = xs[0].op ? graft_const_i32(g, axis) : xs[0];
    graftI_attr at[3] = {graftI_a_int("N", n), graftI_a_type("T", graft_out_dtype(xs[0])), graftI_a_type("Tidx", GRAFT_INT32)};
    graft_out o = mk(g, "ConcatV2", "concat", in, n + 1, at, 3);
    graftI_free(in);
    return o;
}

graft_out graft_pad(graft_graph *g, graft_out x, const int32_t *paddings, int rank)
{
    if (!g) return graftI_o(NULL, 0);
    if (rank < 0 || rank > GRAFT_MAX_DIMS || (rank > 0 && !paddings)) {
        graftI_graph_fail(g, GRAFT_ERR_INVALID_ARG, "graft_pad: bad rank %d", rank);
        return graftI_o(NULL, 0);
    }
    graft_out p = x;
    if (x.op) {
        graft_status st;
        int64_t dims[2] = {rank, 2};
        graft_tensor *t = graft_tensor_new(GRAFT_INT32, dims, 2, &st);
        if (!t) {
            graftI_graph_fail(g, st.code, "%s", st.msg);
            return graftI_o(NULL, 0);
        }
        if (rank) memcpy(t->data, paddings, sizeof(int32_t) * 2 * (size_t)rank);
        p = graft_const(g, NULL, t);
        graft_tensor_free(t);
    }
    graft_out in[2] = {x, p};
    graftI_attr at[2] = {graftI_a_type("T", graft_out_dtype(x)), graftI_a_type("Tpaddings", GRAFT_INT32)};
    return mk(g, "Pad", "Pad", in, 2, at, 2);
}

graft_out graft_slice(graft_graph *g, graft_out x, const int32_t *begin, const int32_t *size, int n)
{
    if (!g) return graftI_o(NULL, 0);
    if (n < 0 || n > GRAFT_MAX_DIMS || (n > 0 && (!begin || !size))) {
        graftI_graph_fail(g, GRAFT_ERR_INVALID_ARG, "graft_slice: bad rank %d", n);
        return graftI_o(NULL, 0);
    }
    graft_out in[3] = {x, x.op ? graft_const_i32_vec(g, begin, n) : x, x.op ? graft_const_i32_vec(g, size, n) : x};
    graftI_attr at[2] = {graftI_a_type("T", graft_out_dtype(x)), graftI_a_type("Index", GRAFT_INT32)};
    return mk(g, "Slice", "Slice", in, 3, at, 2);
}

static graft_out shape_typed(graft_graph *g, graft_out x, graft_dtype out_type)
{
    graftI_attr at[2] = {graftI_a_type("T", graft_out_dtype(x)), graftI_a_type("out_type", out_type)};
    return mk(g, "Shape", "Shape", &x, 1, at, 2);
}

graft_out graft_shape_of(graft_graph *g, graft_out x) { return shape_typed(g, x, GRAFT_INT32); }

graft_out graft_fill(graft_graph *g, graft_out dims, graft_out value)
{
    graft_out in[2] = {dims, value};
    graftI_attr at[2] = {graftI_a_type("T", graft_out_dtype(value)), graftI_a_type("index_type", graft_out_dtype(dims))};
    return mk(g, "Fill", "Fill", in, 2, at, 2);
}

graft_out graft_zeros_like(graft_graph *g, graft_out x)
{
    graftI_attr at = graftI_a_type("T", graft_out_dtype(x));
    return mk(g, "ZerosLike", "ZerosLike", &x, 1, &at, 1);
}

graft_out graft_ones_like(graft_graph *g, graft_out x)
{
    graftI_attr at = graftI_a_type("T", graft_out_dtype(x));
    return mk(g, "OnesLike", "OnesLike", &x, 1, &at, 1);
}

graft_out graft_cast(graft_graph *g, graft_out x, graft_dtype to)
{
    graftI_attr at[3] = {graftI_a_type("SrcT", graft_out_dtype(x)), graftI_a_type("DstT", to), graftI_a_bool("Truncate", false)};
    return mk(g, "Cast", "Cast", &x, 1, at, 3);
}

graft_out graft_identity(graft_graph *g, graft_out x)
{
    graftI_attr at = graftI_a_type("T", graft_out_dtype(x));
    return mk(g, "Identity", "Identity", &x, 1, &at, 1);
}

graft_out graft_stop_gradient(graft_graph *g, graft_out x)
{
    graftI_attr at = graftI_a_type("T", graft_out_dtype(x));
    return mk(g, "StopGradient", "StopGradient", &x, 1, &at, 1);
}

/* ---- gradient builders (TF's array_grad.py) --------------------------------------------------------- */
/* x's shape as a 1-D tensor of dtype dt (Const when static). */
static graft_out shape_as(graft_graph *g, graft_out x, graft_dtype dt)
{
    graft_shape s = graft_out_shape(x);
    if (graftI_shape_known(&s)) return graftI_gb_ints(g, dt, s.dims, s.rank);
    return shape_typed(g, x, dt);
}

/* Reshape, Squeeze, ExpandDims: dx = reshape(dy, shape(x)) */
static graft_code reshape_grad(graft_graph *g, graft_op *op, const graft_out *dy, graft_out *dx)
{
    if (!dy[0].op) return GRAFT_OK;
    dx[0] = graft_reshape(g, dy[0], graftI_gb_shape(g, op->in[0]));
    return graft_graph_status(g);
}

static graft_code transpose_grad(graft_graph *g, graft_op *op, const graft_out *dy, graft_out *dx)
{
    if (!dy[0].op) return GRAFT_OK;
    const graft_tensor *ct = graftI_const_input(op, 1);
    int64_t perm[MAXV];
    int n = ct ? graftI_tensor_ints(ct, perm, MAXV) : -1;
    if (n >= 0 && n <= GRAFT_MAX_DIMS) {
        int32_t inv[GRAFT_MAX_DIMS];
        for (int i = 0; i < n; i++) inv[perm[i]] = i;
        dx[0] = graft_transpose(g, dy[0], inv, n);
    } else {
        graft_dtype pt = graftI_in_dtype(op, 1);
        graftI_attr ia = graftI_a_type("T", pt);
        graft_out inv = mk(g, "InvertPermutation", "InvertPermutation", &op->in[1], 1, &ia, 1);
        graft_out in[2] = {dy[0], inv};
        graftI_attr at[2] = {graftI_a_type("T", graft_out_dtype(dy[0])), graftI_a_type("Tperm", pt)};
        dx[0] = mk(g, "Transpose", "transpose", in, 2, at, 2);
    }
    return graft_graph_status(g);
}

/* Concat: each input's gradient is its slice of dy (static offsets when the
 * axis and the inputs' axis dims are known, else ConcatOffset like TF). */
static graft_code concat_grad(graft_graph *g, graft_op *op, const graft_out *dy, graft_out *dx)
{
    if (!dy[0].op) return GRAFT_OK;
    int v0, n, ai;
    concat_layout(op, &v0, &n, &ai);
    const graft_tensor *ct = graftI_const_input(op, ai);
    int64_t a;
    int rank = graft_out_shape(dy[0]).rank;
    bool stat = ct && graftI_tensor_ints(ct, &a, 1) == 1 && rank > 0 && a >= -rank && a < rank;
    int ax = stat ? (int)(a < 0 ? a + rank : a) : 0;
    for (int i = 0; i < n && stat; i++) {
        const graft_shape *s = graftI_in_shape(op, v0 + i);
        if (s->rank != rank || s->dims[ax] < 0 || s->dims[ax] > INT32_MAX) stat = false;
    }
    if (stat) {
        int32_t begin[GRAFT_MAX_DIMS] = {0}, size[GRAFT_MAX_DIMS];
        int64_t off = 0;
        for (int i = 0; i < n; i++) {
            const graft_shape *s = graftI_in_shape(op, v0 + i);
            for (int d = 0; d < rank; d++) {
                begin[d] = d == ax ? (int32_t)off : 0;
                size[d] = d == ax ? (int32_t)s->dims[d] : -1;
            }
            dx[v0 + i] = graft_slice(g, dy[0], begin, size, rank);
            off += s->dims[ax];
        }
        return graft_graph_status(g);
    }
    graft_out *in = graftI_calloc((size_t)n + 1, sizeof *in);
    if (!in) return graftI_graph_fail(g, GRAFT_ERR_NOMEM, "out of memory");
    in[0] = op->in[ai];
    for (int i = 0; i < n; i++) in[1 + i] = graft_shape_of(g, op->in[v0 + i]);
    graftI_attr at = graftI_a_int("N", n);
    graft_op *co = graftI_make_op(g, "ConcatOffset", "ConcatOffset", in, n + 1, &at, 1);
    for (int i = 0; i < n && co; i++) {
        graft_out sin[3] = {dy[0], graftI_o(co, i), in[1 + i]};
        graftI_attr sat[2] = {graftI_a_type("T", graft_out_dtype(dy[0])), graftI_a_type("Index", GRAFT_INT32)};
        dx[v0 + i] = mk(g, "Slice", "Slice", sin, 3, sat, 2);
    }
    graftI_free(in);
    return graft_graph_status(g);
}

/* Pad: dx = slice(dy, pad_before, shape(x)) */
static graft_code pad_grad(graft_graph *g, graft_op *op, const graft_out *dy, graft_out *dx)
{
    if (!dy[0].op) return GRAFT_OK;
    graft_out x = op->in[0];
    graft_dtype pt = graftI_in_dtype(op, 1);
    const graft_tensor *ct = graftI_const_input(op, 1);
    int64_t p[MAXV], before[GRAFT_MAX_DIMS];
    int n = ct ? graftI_tensor_ints(ct, p, MAXV) : -1;
    graft_out begin;
    if (n >= 0 && n % 2 == 0 && n / 2 <= GRAFT_MAX_DIMS) {
        for (int d = 0; d < n / 2; d++) before[d] = p[2 * d];
        begin = graftI_gb_ints(g, pt, before, n / 2);
    } else {
        int64_t b0[2] = {0, 0}, s0[2] = {-1, 1}, flat = -1;
        graft_out sin[3] = {op->in[1], graftI_gb_ints(g, pt, b0, 2), graftI_gb_ints(g, pt, s0, 2)};
        graftI_attr sat[2] = {graftI_a_type("T", pt), graftI_a_type("Index", pt)};
        graft_out col = mk(g, "Slice", "Slice", sin, 3, sat, 2);
        begin = graft_reshape(g, col, graftI_gb_ints(g, GRAFT_INT32, &flat, 1));
    }
    graft_out in[3] = {dy[0], begin, shape_as(g, x, pt)};
    graftI_attr at[2] = {graftI_a_type("T", graft_out_dtype(dy[0])), graftI_a_type("Index", pt)};
    dx[0] = mk(g, "Slice", "Slice", in, 3, at, 2);
    return graft_graph_status(g);
}

/* Slice: dx = pad(dy, [[begin, shape(x) - shape(y) - begin]]) */
static graft_code slice_grad(graft_graph *g, graft_op *op, const graft_out *dy, graft_out *dx)
{
    if (!dy[0].op) return GRAFT_OK;
    graft_out x = op->in[0], y = graftI_o(op, 0);
    graft_dtype it = graftI_in_dtype(op, 1);
    graft_shape xs = graft_out_shape(x), ys = graft_out_shape(y);
    const graft_tensor *cb = graftI_const_input(op, 1);
    int64_t b[MAXV];
    int nb = cb ? graftI_tensor_ints(cb, b, MAXV) : -1;
    graft_out pads;
    if (nb >= 0 && graftI_shape_known(&xs) && graftI_shape_known(&ys) && nb == xs.rank && ys.rank == xs.rank) {
        int64_t p[2 * GRAFT_MAX_DIMS];
        for (int d = 0; d < nb; d++) {
            p[2 * d] = b[d];
            p[2 * d + 1] = xs.dims[d] - ys.dims[d] - b[d];
        }
        graft_status st;
        int64_t dims[2] = {nb, 2};
        graft_tensor *t = graft_tensor_new(it, dims, 2, &st);
        if (!t) return graftI_graph_fail(g, st.code, "%s", st.msg);
        for (int i = 0; i < 2 * nb; i++) put_int(t, i, p[i]);
        pads = graft_const(g, NULL, t);
        graft_tensor_free(t);
    } else {
        int64_t col[2] = {-1, 1};
        graft_out colshape = graftI_gb_ints(g, GRAFT_INT32, col, 2);
        graft_out before = graft_reshape(g, op->in[1], colshape);
        graft_out after = graft_sub(g, graft_sub(g, shape_typed(g, x, it), shape_typed(g, y, it)), op->in[1]);
        graft_out cat[3] = {before, graft_reshape(g, after, colshape), graft_const_i32(g, 1)};
        graftI_attr cat_at[3] = {graftI_a_int("N", 2), graftI_a_type("T", it), graftI_a_type("Tidx", GRAFT_INT32)};
        pads = mk(g, "ConcatV2", "concat", cat, 3, cat_at, 3);
    }
    graft_out in[2] = {dy[0], pads};
    graftI_attr at[2] = {graftI_a_type("T", graft_out_dtype(dy[0])), graftI_a_type("Tpaddings", it)};
    dx[0] = mk(g, "Pad", "Pad", in, 2, at, 2);
    return graft_graph_status(g);
}

static void copy_masks(const graft_op *op, graftI_attr *at)
{
    static const char *const names[5] = {"begin_mask", "end_mask", "ellipsis_mask", "new_axis_mask", "shrink_axis_mask"};
    for (int i = 0; i < 5; i++) at[i] = graftI_a_int(names[i], graftI_attr_i(op, names[i], 0));
}

static graft_code sslice_grad(graft_graph *g, graft_op *op, const graft_out *dy, graft_out *dx)
{
    if (!dy[0].op) return GRAFT_OK;
    graft_dtype it = graftI_in_dtype(op, 1);
    graft_out in[5] = {shape_as(g, op->in[0], it), op->in[1], op->in[2], op->in[3], dy[0]};
    graftI_attr at[7];
    at[0] = graftI_a_type("T", graft_out_dtype(dy[0]));
    at[1] = graftI_a_type("Index", it);
    copy_masks(op, at + 2);
    dx[0] = mk(g, "StridedSliceGrad", "StridedSliceGrad", in, 5, at, 7);
    return graft_graph_status(g);
}

/* StridedSliceGrad is linear in dy: its gradient is the same StridedSlice. */
static graft_code ssgrad_grad(graft_graph *g, graft_op *op, const graft_out *dy, graft_out *dx)
{
    if (!dy[0].op) return GRAFT_OK;
    graft_out in[4] = {dy[0], op->in[1], op->in[2], op->in[3]};
    graftI_attr at[7];
    at[0] = graftI_a_type("T", graft_out_dtype(dy[0]));
    at[1] = graftI_a_type("Index", graftI_in_dtype(op, 1));
    copy_masks(op, at + 2);
    dx[4] = mk(g, "StridedSlice", "StridedSlice", in, 4, at, 7);
    return graft_graph_status(g);
}

static graft_code pack_grad(graft_graph *g, graft_op *op, const graft_out *dy, graft_out *dx)
{
    if (!dy[0].op) return GRAFT_OK;
    graftI_attr at[3] = {graftI_a_int("num", op->n_in), graftI_a_type("T", graft_out_dtype(dy[0])),
                         graftI_a_int("axis", graftI_attr_i(op, "axis", 0))};
    graft_op *u = graftI_make_op(g, "Unpack", "unstack", dy, 1, at, 3);
    for (int i = 0; i < op->n_in && u; i++) dx[i] = graftI_o(u, i);
    return graft_graph_status(g);
}

static graft_code unpack_grad(graft_graph *g, graft_op *op, const graft_out *dy, graft_out *dx)
{
    int n = op->n_out;
    graft_out *in = graftI_calloc((size_t)(n > 0 ? n : 1), sizeof *in);
    if (!in) return graftI_graph_fail(g, GRAFT_ERR_NOMEM, "out of memory");
    for (int i = 0; i < n; i++) in[i] = dy[i].op ? dy[i] : graft_zeros_like(g, graftI_o(op, i));
    graftI_attr at[3] = {graftI_a_int("N", n), graftI_a_type("T", graftI_in_dtype(op, 0)),
                         graftI_a_int("axis", graftI_attr_i(op, "axis", 0))};
    dx[0] = n > 0 ? mk(g, "Pack", "stack", in, n, at, 3) : graftI_o(NULL, 0);
    graftI_free(in);
    return graft_graph_status(g);
}

/* Split: concatenate the outputs' gradients (zeros where none arrived). */
static graft_code split_grad(graft_graph *g, graft_op *op, const graft_out *dy, graft_out *dx)
{
    int n = op->n_out;
    graft_out *in = graftI_calloc((size_t)n + 1, sizeof *in);
    if (!in) return graftI_graph_fail(g, GRAFT_ERR_NOMEM, "out of memory");
    for (int i = 0; i < n; i++) in[i] = dy[i].op ? dy[i] : graft_zeros_like(g, graftI_o(op, i));
    in[n] = op->in[0];
    graftI_attr at[3] = {graftI_a_int("N", n), graftI_a_type("T", graftI_in_dtype(op, 1)),
                         graftI_a_type("Tidx", graftI_in_dtype(op, 0))};
    dx[1] = mk(g, "ConcatV2", "concat", in, n + 1, at, 3);
    graftI_free(in);
    return graft_graph_status(g);
}

/* Fill: the scalar value receives the sum of dy. */
static graft_code fill_grad(graft_graph *g, graft_op *op, const graft_out *dy, graft_out *dx)
{
    if (!dy[0].op) return GRAFT_OK;
    dx[1] = graft_sum(g, dy[0], NULL, 0, false);
    return graft_graph_status(g);
}

/* Tile: reshape dy to [m0, d0, m1, d1, ...] and sum the multiples' axes. */
static graft_code tile_grad(graft_graph *g, graft_op *op, const graft_out *dy, graft_out *dx)
{
    if (!dy[0].op) return GRAFT_OK;
    graft_out x = op->in[0];
    graft_shape xs = graft_out_shape(x);
    const graft_tensor *ct = graftI_const_input(op, 1);
    int64_t m[MAXV];
    int n = ct ? graftI_tensor_ints(ct, m, MAXV) : -1;
    if (n >= 0 && graftI_shape_known(&xs) && n == xs.rank) {
        int64_t split[2 * GRAFT_MAX_DIMS], axes[GRAFT_MAX_DIMS];
        int ns = 0, na = 0;
        for (int d = 0; d < n; d++) {
            if (m[d] != 1) {
                axes[na++] = ns;
                split[ns++] = m[d];
            }
            split[ns++] = xs.dims[d];
        }
        if (na == 0) {
            dx[0] = dy[0];
            return GRAFT_OK;
        }
        if (ns <= GRAFT_MAX_DIMS) {
            dx[0] = graftI_gb_sum(g, graft_reshape_dims(g, dy[0], split, ns), axes, na, false);
            return graft_graph_status(g);
        }
    }
    /* dynamic, as TF: split_shape = reshape(stack([multiples, shape(x)], 1), [-1]) */
    graft_dtype mt = graftI_in_dtype(op, 1);
    graft_out pk[2] = {op->in[1], shape_typed(g, x, mt)};
    graftI_attr pat[3] = {graftI_a_int("N", 2), graftI_a_type("T", mt), graftI_a_int("axis", 1)};
    graft_out st2 = mk(g, "Pack", "stack", pk, 2, pat, 3);
    int64_t flat = -1;
    graft_out split = graft_reshape(g, st2, graftI_gb_ints(g, GRAFT_INT32, &flat, 1));
    graftI_attr sat[2] = {graftI_a_type("T", mt), graftI_a_type("out_type", GRAFT_INT32)};
    graft_out size = mk(g, "Size", "Size", &split, 1, sat, 2);
    graft_out rin[3] = {graft_const_i32(g, 0), size, graft_const_i32(g, 2)};
    graftI_attr rat = graftI_a_type("Tidx", GRAFT_INT32);
    graft_out axes = mk(g, "Range", "range", rin, 3, &rat, 1);
    graft_out sin[2] = {graft_reshape(g, dy[0], split), axes};
    graftI_attr sumat[3] = {graftI_a_type("T", graft_out_dtype(dy[0])), graftI_a_type("Tidx", GRAFT_INT32),
                            graftI_a_bool("keep_dims", false)};
    dx[0] = mk(g, "Sum", "Sum", sin, 2, sumat, 3);
    return graft_graph_status(g);
}

/* BroadcastTo: dy summed back over the broadcast dims. */
static graft_code bto_grad(graft_graph *g, graft_op *op, const graft_out *dy, graft_out *dx)
{
    if (!dy[0].op) return GRAFT_OK;
    dx[0] = graftI_gb_unbroadcast(g, dy[0], op->in[0], graftI_o(op, 0));
    return graft_graph_status(g);
}

/* Cast: cast the gradient back when both types are floating point. */
static graft_code cast_grad(graft_graph *g, graft_op *op, const graft_out *dy, graft_out *dx)
{
    if (!dy[0].op) return GRAFT_OK;
    graft_dtype src = graftI_in_dtype(op, 0), dst = op->out[0].dtype;
    if (graftI_is_float(src) && graftI_is_float(dst)) dx[0] = graft_cast(g, dy[0], src);
    return graft_graph_status(g);
}

/* ---- the table ------------------------------------------------------------------------------------------ */
#define NG GRAFTI_OP_NO_GRAD
static const graftI_op_def op_identity = {"Identity", 1, 1, attrs_T, 0, identity_infer, identity_forward, identity_grad};
static const graftI_op_def op_stop_gradient = {"StopGradient", 1, 1, attrs_T, NG, identity_infer, identity_forward, NULL};
static const graftI_op_def op_prevent_gradient = {"PreventGradient", 1, 1, attrs_prevent, 0, identity_infer,
                                                  identity_forward, NULL};
static const graftI_op_def op_reshape = {"Reshape", 2, 2, attrs_reshape, 0, reshape_infer, reshape_forward, reshape_grad};
static const graftI_op_def op_squeeze = {"Squeeze", 1, 1, attrs_squeeze, 0, squeeze_infer, squeeze_forward, reshape_grad};
static const graftI_op_def op_expand_dims = {"ExpandDims", 2, 2, attrs_expand, 0, expand_infer, expand_forward,
                                             reshape_grad};
static const graftI_op_def op_transpose = {"Transpose", 2, 2, attrs_transpose, 0, transpose_infer, transpose_forward,
                                           transpose_grad};
static const graftI_op_def op_invperm = {"InvertPermutation", 1, 1, attrs_invperm, NG, invperm_infer, invperm_forward, NULL};
static const graftI_op_def op_concatv2 = {"ConcatV2", 2, -1, attrs_concatv2, 0, concat_infer, concat_forward, concat_grad};
static const graftI_op_def op_concat = {"Concat", 2, -1, attrs_concat, 0, concat_infer, concat_forward, concat_grad};
static const graftI_op_def op_concatoffset = {"ConcatOffset", 2, -1, attrs_concatoffset, NG, concatoffset_infer,
                                              concatoffset_forward, NULL};
static const graftI_op_def op_split = {"Split", 2, 2, attrs_split, 0, split_infer, split_forward, split_grad};
static const graftI_op_def op_shapen = {"ShapeN", 1, -1, attrs_shapen, NG, shapen_infer, shapen_forward, NULL};
static const graftI_op_def op_pack = {"Pack", 1, -1, attrs_pack, 0, pack_infer, pack_forward, pack_grad};
static const graftI_op_def op_unpack = {"Unpack", 1, 1, attrs_unpack, 0, unpack_infer, unpack_forward, unpack_grad};
static const graftI_op_def op_pad = {"Pad", 2, 2, attrs_pad, 0, pad_infer, pad_forward, pad_grad};
static const graftI_op_def op_slice = {"Slice", 3, 3, attrs_slice, 0, slice_infer, slice_forward, slice_grad};
static const graftI_op_def op_sslice = {"StridedSlice", 4, 4, attrs_sslice, 0, sslice_infer, sslice_forward, sslice_grad};
static const graftI_op_def op_ssgrad = {"StridedSliceGrad", 5, 5, attrs_sslice, 0, ssgrad_infer, ssgrad_forward,
                                        ssgrad_grad};
static const graftI_op_def op_tile = {"Tile", 2, 2, attrs_tile, 0, tile_infer, tile_forward, tile_grad};
static const graftI_op_def op_bto = {"BroadcastTo", 2, 2, attrs_bto, 0, bto_infer, bto_forward, bto_grad};
static const graftI_op_def op_shape = {"Shape", 1, 1, attrs_shape, NG, shape_infer, shape_forward, NULL};
static const graftI_op_def op_size = {"Size", 1, 1, attrs_shape, NG, shape_infer, shape_forward, NULL};
static const graftI_op_def op_rank = {"Rank", 1, 1, attrs_T, NG, shape_infer, shape_forward, NULL};
static const graftI_op_def op_bga = {"BroadcastGradientArgs", 2, 2, attrs_bga, NG, bga_infer, bga_forward, NULL};
static const graftI_op_def op_fill = {"Fill", 2, 2, attrs_fill, 0, fill_infer, fill_forward, fill_grad};
static const graftI_op_def op_zeros_like = {"ZerosLike", 1, 1, attrs_T, NG, like_infer, zeroslike_forward, NULL};
static const graftI_op_def op_ones_like = {"OnesLike", 1, 1, attrs_T, NG, like_infer, oneslike_forward, NULL};
static const graftI_op_def op_range = {"Range", 3, 3, attrs_range, NG, range_infer, range_forward, NULL};
static const graftI_op_def op_cast = {"Cast", 1, 1, attrs_cast, 0, cast_infer, cast_forward, cast_grad};

const graftI_op_def *const graftI_ops_shape[] = {
    &op_identity, &op_stop_gradient, &op_prevent_gradient, &op_reshape, &op_squeeze, &op_expand_dims, &op_transpose,
    &op_invperm, &op_concatv2, &op_concat, &op_concatoffset, &op_pack, &op_unpack, &op_pad, &op_slice, &op_sslice,
    &op_ssgrad, &op_tile, &op_bto, &op_shape, &op_size, &op_rank, &op_bga, &op_fill, &op_zeros_like, &op_ones_like,
    &op_range, &op_cast, &op_split, &op_shapen, NULL};
