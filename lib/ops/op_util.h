/* lib/ops/op_util.h - small checks and helpers the op files share: dtype names
 * for messages, float-input and same-dtype checks for infer functions, and the
 * out-of-memory kernel error. Header-only (static inline). */
#ifndef GRAFT_OPS_OP_UTIL_H
#define GRAFT_OPS_OP_UTIL_H
#include <cblas.h>

#include "internal.h"

static inline const char *dtname(graft_dtype dt)
{
    const char *s = graft_dtype_name(dt);
    return s ? s : "invalid";
}

static inline bool is_float(graft_dtype dt) { return dt == GRAFT_FLOAT || dt == GRAFT_DOUBLE; }

static inline graft_dtype out_dt(graft_out o) { return o.op ? graft_out_dtype(o) : GRAFT_INVALID; }

/* Input i must be float32/float64 and agree with attr T (when present). */
static inline graft_code want_float(const graft_op *op, int i, const char *what, graft_status *st)
{
    graft_dtype dt = graftI_in_dtype(op, i);
    if (!is_float(dt))
        return graft_status_set(st, GRAFT_ERR_DTYPE, "%s: unsupported dtype (float32 or float64 vs %s)", what,
                                dtname(dt));
    graft_dtype t = graftI_attr_dt(op, "T", dt);
    if (t != dt)
        return graft_status_set(st, GRAFT_ERR_DTYPE, "%s: dtype differs from attr T (%s vs %s)", what,
                                dtname(t), dtname(dt));
    return GRAFT_OK;
}

/* Inputs i and j must have the same dtype. */
static inline graft_code want_same_dtype(const graft_op *op, int i, int j, const char *wi, const char *wj,
                                         graft_status *st)
{
    if (graftI_in_dtype(op, i) != graftI_in_dtype(op, j))
        return graft_status_set(st, GRAFT_ERR_DTYPE, "%s: dtype differs from %s's (%s vs %s)", wj, wi,
                                dtname(graftI_in_dtype(op, i)), dtname(graftI_in_dtype(op, j)));
    return GRAFT_OK;
}

static inline graft_code knomem(graftI_kctx *k) { return graftI_kfail(k, GRAFT_ERR_NOMEM, "out of memory"); }

/* C = alpha * op(A) * op(B) + beta * C, row-major, float32 (sgemm) or float64
 * (dgemm); transposes go to BLAS as flags. k == 0 only scales (zeroes) C. */
static inline void gemm(bool f64, bool ta, bool tb, int m, int n, int kk, double alpha, const void *A, int lda,
                        const void *B, int ldb, double beta, void *C, int ldc)
{
    if (m == 0 || n == 0) return;
    if (kk == 0) {
        if (beta == 0.0)
            for (int i = 0; i < m; i++)
                memset((char *)C + (size_t)i * (size_t)ldc * (f64 ? 8 : 4), 0, (size_t)n * (f64 ? 8 : 4));
        return;
    }
    if (f64)
        cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, kk,
                    alpha, (const double *)A, lda, (const double *)B, ldb, beta, (double *)C, ldc);
    else
        cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, kk,
                    (float)alpha, (const float *)A, lda, (const float *)B, ldb, (float)beta, (float *)C, ldc);
}

#endif
