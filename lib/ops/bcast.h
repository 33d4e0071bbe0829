/*
 * lib/ops/bcast.h - helpers shared by the elementwise, reduce and shape op
 * groups: runtime broadcasting plans with collapsed dims, reduction plans, int
 * vectors from tensors / static inputs, and small graph-building helpers for
 * gradient builders.
 */
#ifndef GRAFT_OPS_BCAST_H
#define GRAFT_OPS_BCAST_H

#include "internal.h"
#include "helper_consts.h"

/* ---- broadcasting plans ------------------------------------------------------
 * Two shapes aligned at the right (NumPy rules). Adjacent dims with the same
 * broadcast pattern are merged, size-1 dims dropped, so [N,C]+[C] becomes one
 * outer dim (b stride 0) and one inner dim (both contiguous). Strides are in
 * elements; a stride of 0 means the operand is broadcast along that dim. */
typedef struct graftI_bcast {
    int rank;                          /* collapsed rank, >= 1 */
    int64_t dims[GRAFT_MAX_DIMS];
    int64_t sa[GRAFT_MAX_DIMS], sb[GRAFT_MAX_DIMS];
    int out_rank;                      /* the broadcast output shape */
    int64_t out_dims[GRAFT_MAX_DIMS];
    int64_t n;                         /* output elements */
} graftI_bcast;

/* false when the shapes do not broadcast (or the count overflows). */
GRAFTI_FUNC bool graftI_bcast_init(graftI_bcast *b, const int64_t *ad, int ar, const int64_t *bd, int br);

/* Runs EXPR (in terms of x of type TA and y of type TB) over a plan into O.
 * The inner loop is a plain counted loop over contiguous memory in each of the
 * four stride cases, so compilers vectorise it; the outer dims advance by
 * counters. O may alias A or B when that operand has the output's shape. */
#define GRAFTI_BCAST_RUN(bc, TA, TB, TO, A, B, O, EXPR)                                                  \
    do {                                                                                                 \
        const graftI_bcast *bc_ = (bc);                                                                  \
        const int r_ = bc_->rank;                                                                        \
        const int64_t in_ = bc_->dims[r_ - 1];                                                           \
        const int64_t sa_ = bc_->sa[r_ - 1], sb_ = bc_->sb[r_ - 1];                                      \
        const int64_t outer_ = in_ > 0 ? bc_->n / in_ : 0;                                               \
        int64_t idx_[GRAFT_MAX_DIMS] = {0};                                                              \
        int64_t oa_ = 0, ob_ = 0;                                                                        \
        TO *po_ = (O);                                                                                   \
        for (int64_t o_ = 0; o_ < outer_; o_++, po_ += in_) {                                            \
            const TA *pa_ = (A) + oa_;                                                                   \
            const TB *pb_ = (B) + ob_;                                                                   \
            if (sa_ && sb_) {                                                                            \
                for (int64_t i_ = 0; i_ < in_; i_++) {                                                   \
                    const TA x = pa_[i_];                                                                \
                    const TB y = pb_[i_];                                                                \
                    po_[i_] = (EXPR);                                                                    \
                }                                                                                        \
            } else if (sa_) {                                                                            \
                const TB y = pb_[0];                                                                     \
                for (int64_t i_ = 0; i_ < in_; i_++) {                                                   \
                    const TA x = pa_[i_];                                                                \
                    po_[i_] = (EXPR);                                                                    \
                }                                                                                        \
            } else if (sb_) {                                                                            \
                const TA x = pa_[0];                                                                     \
                for (int64_t i_ = 0; i_ < in_; i_++) {                                                   \
                    const TB y = pb_[i_];                                                                \
                    po_[i_] = (EXPR);                                                                    \
                }                                                                                        \
            } else {                                                                                     \
                const TA x = pa_[0];                                                                     \
                const TB y = pb_[0];                                                                     \
                const TO v_ = (EXPR);                                                                    \
                for (int64_t i_ = 0; i_ < in_; i_++) po_[i_] = v_;                                       \
            }                                                                                            \
            for (int d_ = r_ - 2; d_ >= 0; d_--) {                                                       \
                oa_ += bc_->sa[d_];                                                                      \
                ob_ += bc_->sb[d_];                                                                      \
                if (++idx_[d_] < bc_->dims[d_]) break;                                                   \
                oa_ -= bc_->sa[d_] * bc_->dims[d_];                                                      \
                ob_ -= bc_->sb[d_] * bc_->dims[d_];                                                      \
                idx_[d_] = 0;                                                                            \
            }                                                                                            \
        }                                                                                                \
    } while (0)

/* ---- reduction plans ---------------------------------------------------------
 * The input's dims with a reduced/kept flag each, size-1 dims dropped and
 * adjacent dims of the same kind merged (so kinds alternate). ostride is the
 * output stride of each collapsed dim (0 for reduced dims). */
typedef struct graftI_rplan {
    int rank;                          /* collapsed; 0 when every dim is 1 */
    int64_t dims[GRAFT_MAX_DIMS];
    bool red[GRAFT_MAX_DIMS];
    int64_t ostride[GRAFT_MAX_DIMS];
    int64_t n_in, n_out;
} graftI_rplan;

/* red[d] for each of rank input dims. */
GRAFTI_FUNC void graftI_rplan_init(graftI_rplan *p, const int64_t *dims, int rank, const bool *red);

/* Normalises axis values (negative from the end) against rank into red[];
 * false with a message on an out-of-range axis. Duplicates are fine. */
GRAFTI_FUNC bool graftI_axes_mask(const int64_t *axes, int n, int rank, bool *red, char *msg, size_t cap);

/* ---- int vectors ------------------------------------------------------------- */
/* Elements of an int32/int64 tensor (any rank) into out[cap]; the count, or -1
 * when the dtype is not an int type or there are more than cap. */
GRAFTI_FUNC int graftI_tensor_ints(const graft_tensor *t, int64_t *out, int cap);
/* Statically known int vector value of input i: a Const, or Shape(x) of an
 * input with known rank (then unknown dims appear as -1 and *partial is set).
 * Count, or -1 when unknown. */
GRAFTI_FUNC int graftI_static_ints(const graft_op *op, int i, int64_t *out, int cap, bool *partial);

/* dtype groups */
static inline bool graftI_is_float(graft_dtype dt) { return dt == GRAFT_FLOAT || dt == GRAFT_DOUBLE; }
static inline bool graftI_is_int_index(graft_dtype dt) { return dt == GRAFT_INT32 || dt == GRAFT_INT64; }

/* ---- gradient-builder helpers (all sticky-error style: null out on failure) --- */
/* Scalar Const of dtype dt with value v. */
GRAFTI_FUNC graft_out graftI_gb_scalar(graft_graph *g, graft_dtype dt, double v);
/* 1-D Const of dtype dt (INT32 or INT64) holding v[0..n). */
GRAFTI_FUNC graft_out graftI_gb_ints(graft_graph *g, graft_dtype dt, const int64_t *v, int n);
/* The shape of x as an int32 tensor: a Const when fully known statically,
 * else a Shape op. */
GRAFTI_FUNC graft_out graftI_gb_shape(graft_graph *g, graft_out x);
/* grad (shaped like the broadcast of x and other) summed back to x's shape:
 * static axes when the shapes say enough, else Shape + BroadcastGradientArgs +
 * Sum + Reshape as TensorFlow does. */
GRAFTI_FUNC graft_out graftI_gb_unbroadcast(graft_graph *g, graft_out grad, graft_out x, graft_out other);
/* Reduction helpers with an int32 axis list. */
GRAFTI_FUNC graft_out graftI_gb_sum(graft_graph *g, graft_out x, const int64_t *axes, int n, bool keep_dims);

#endif
