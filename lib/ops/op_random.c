/* lib/ops/op_random.c - stateful random ops: RandomUniform, RandomStandardNormal
 * and TruncatedNormal, drawn from graft's own generator (lib/random.c) seeded
 * from (seed, seed2) and a per-op run counter; TF's Philox values are not reproduced. */
#include "internal.h"
#include "op_util.h"
#include "ops/helper_consts.h"

#include <math.h>


static const graftI_attr_spec random_attrs[] = {{"seed", GRAFTI_ATTR_INT, "0"},
                                                {"seed2", GRAFTI_ATTR_INT, "0"},
                                                {"dtype", GRAFTI_ATTR_TYPE, NULL},
                                                {"T", GRAFTI_ATTR_TYPE, "int32"},
                                                {NULL, GRAFTI_ATTR_NONE, NULL}};

/* Reads a shape tensor (int32/int64 vector of non-negative sizes). */
static graft_code read_shape(const graft_tensor *t, int64_t *dims, int *rank, graft_status *st)
{
    if (t->dtype != GRAFT_INT32 && t->dtype != GRAFT_INT64)
        return graft_status_set(st, GRAFT_ERR_DTYPE, "shape: must be int32 or int64 (vs %s)",
                                dtname(t->dtype));
    if (t->rank != 1)
        return graft_status_set(st, GRAFT_ERR_SHAPE, "shape: must be a vector (rank 1 vs %d)", t->rank);
    if (t->n > GRAFT_MAX_DIMS)
        return graft_status_set(st, GRAFT_ERR_UNSUPPORTED, "shape: too many dimensions (at most %d vs %lld)",
                                GRAFT_MAX_DIMS, (long long)t->n);
    for (int64_t i = 0; i < t->n; i++) {
        dims[i] = t->dtype == GRAFT_INT32 ? ((const int32_t *)t->data)[i] : ((const int64_t *)t->data)[i];
        if (dims[i] < 0)
            return graft_status_set(st, GRAFT_ERR_INVALID_ARG,
                                    "shape[%lld]: negative dimension (>= 0 vs %lld)", (long long)i,
                                    (long long)dims[i]);
    }
    *rank = (int)t->n;
    graft_shape s = graft_shape_make(*rank, dims);
    int64_t n;
    if (graft_shape_num_elements(&s, &n) != GRAFT_OK)
        return graft_status_set(st, GRAFT_ERR_NOMEM, "shape: element count overflows");
    return GRAFT_OK;
}

static graft_code random_infer(graft_op *op, graft_status *st)
{
    graft_dtype dt = graftI_attr_dt(op, "dtype", GRAFT_INVALID);
    if (dt != GRAFT_FLOAT && dt != GRAFT_DOUBLE)
        return graft_status_set(st, GRAFT_ERR_UNSUPPORTED,
                                "attr dtype: unsupported (float32 or float64 vs %s)", dtname(dt));
    graft_dtype st_ = graftI_in_dtype(op, 0);
    if (st_ != GRAFT_INT32 && st_ != GRAFT_INT64)
        return graft_status_set(st, GRAFT_ERR_DTYPE, "shape: must be int32 or int64 (vs %s)", dtname(st_));
    if (graftI_attr_dt(op, "T", st_) != st_)
        return graft_status_set(st, GRAFT_ERR_DTYPE, "shape: dtype differs from attr T (%s vs %s)",
                                dtname(graftI_attr_dt(op, "T", st_)), dtname(st_));
    const graft_shape *ss = graftI_in_shape(op, 0);
    if (ss->rank >= 0 && ss->rank != 1)
        return graft_status_set(st, GRAFT_ERR_SHAPE, "shape: must be a vector (rank 1 vs %d)", ss->rank);
    graft_code rc = graftI_set_outputs(op, 1);
    if (rc) return graft_status_set(st, rc, "out of memory setting outputs");
    op->out[0].dtype = dt;
    op->out[0].shape = graft_shape_unknown();
    const graft_tensor *c = graftI_const_input(op, 0);
    int64_t dims[GRAFT_MAX_DIMS];
    int rank;
    if (c) {
        if ((rc = read_shape(c, dims, &rank, st))) return rc;
        op->out[0].shape = graft_shape_make(rank, dims);
    } else if (ss->rank == 1 && ss->dims[0] >= 0 && ss->dims[0] <= GRAFT_MAX_DIMS) {
        op->out[0].shape.rank = (int)ss->dims[0];
        for (int i = 0; i < op->out[0].shape.rank; i++) op->out[0].shape.dims[i] = -1;
    }
    return GRAFT_OK;
}

enum dist { DIST_UNIFORM, DIST_NORMAL, DIST_TRUNCATED };

/* Double-precision draws for float64 outputs (lib/random.c's are float). */
static double uniform53(graftI_rng *r)
{
    return (double)(graftI_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

static double normal53(graftI_rng *r)
{
    double u1 = 1.0 - uniform53(r); /* (0, 1] */
    double u2 = uniform53(r);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* Each run draws new values: the generator is seeded from (seed, seed2) and
 * the op's run counter, so a new session repeats the same sequence (as TF's
 * seeded ops do). seed = seed2 = 0 means nondeterministic, as in TF. */
static graft_code random_forward(graftI_kctx *k, enum dist d)
{
    graft_status st;
    int64_t dims[GRAFT_MAX_DIMS];
    int rank;
    if (read_shape(k->in[0], dims, &rank, &st)) return graftI_kfail(k, st.code, "%s", st.msg);
    graft_dtype dt = graftI_attr_dt(k->op, "dtype", GRAFT_INVALID);
    if (dt != GRAFT_FLOAT && dt != GRAFT_DOUBLE)
        return graftI_kfail(k, GRAFT_ERR_UNSUPPORTED, "attr dtype: unsupported (float32 or float64 vs %s)",
                            dtname(dt));
    graft_tensor *y = graftI_out_alloc(k, 0, dt, dims, rank, false);
    if (!y) return GRAFT_ERR_NOMEM;
    uint64_t seed = (uint64_t)graftI_attr_i(k->op, "seed", 0),
             seed2 = (uint64_t)graftI_attr_i(k->op, "seed2", 0);
    uint64_t *counter = graftI_op_state(k);
    graftI_rng r;
    if (seed == 0 && seed2 == 0)
        graftI_rng_seed(&r, graftI_random64(), 0);
    else
        graftI_rng_seed(&r, seed * 0x9E3779B97F4A7C15ull ^ (seed2 + 0x632BE59BD9B4E019ull), (*counter)++);
    int64_t n = y->n;
    if (dt == GRAFT_FLOAT) {
        float *p = y->data;
        for (int64_t i = 0; i < n; i++) {
            float v;
            switch (d) {
            case DIST_UNIFORM: v = graftI_rng_uniform(&r); break;
            case DIST_NORMAL: v = graftI_rng_normal(&r); break;
            default:
                /* truncated at 2 standard deviations: redraw outside [-2, 2] */
                do v = graftI_rng_normal(&r);
                while (fabsf(v) > 2.0f);
                break;
            }
            p[i] = v;
        }
    } else {
        double *p = y->data;
        for (int64_t i = 0; i < n; i++) {
            double v;
            switch (d) {
            case DIST_UNIFORM: v = uniform53(&r); break;
            case DIST_NORMAL: v = normal53(&r); break;
            default:
                do v = normal53(&r);
                while (fabs(v) > 2.0);
                break;
            }
            p[i] = v;
        }
    }
    return GRAFT_OK;
}

static graft_code uniform_forward(graftI_kctx *k) { return random_forward(k, DIST_UNIFORM); }
static graft_code normal_forward(graftI_kctx *k) { return random_forward(k, DIST_NORMAL); }
static graft_code truncated_forward(graftI_kctx *k) { return random_forward(k, DIST_TRUNCATED); }

#define RANDOM_FLAGS (GRAFTI_OP_STATEFUL | GRAFTI_OP_NO_GRAD)
static const graftI_op_def op_random_uniform = {.name = "RandomUniform",
                                                .min_inputs = 1,
                                                .max_inputs = 1,
                                                .attrs = random_attrs,
                                                .flags = RANDOM_FLAGS,
                                                .infer = random_infer,
                                                .forward = uniform_forward};
static const graftI_op_def op_random_normal = {.name = "RandomStandardNormal",
                                               .min_inputs = 1,
                                               .max_inputs = 1,
                                               .attrs = random_attrs,
                                               .flags = RANDOM_FLAGS,
                                               .infer = random_infer,
                                               .forward = normal_forward};
static const graftI_op_def op_truncated_normal = {.name = "TruncatedNormal",
                                                  .min_inputs = 1,
                                                  .max_inputs = 1,
                                                  .attrs = random_attrs,
                                                  .flags = RANDOM_FLAGS,
                                                  .infer = random_infer,
                                                  .forward = truncated_forward};

/* Shape vector Const (int32 when every dim fits, as TF writes it) + the op,
 * with seed/seed2 from the graph seed and the op seed (TF's get_seed). */
static graft_out make_random(graft_graph *g, const char *type, const int64_t *dims, int n, graft_dtype dt,
                             int64_t op_seed)
{
    if (!g) return graftI_o(NULL, 0);
    if (n < 0 || n > GRAFT_MAX_DIMS || (n > 0 && !dims)) {
        graftI_graph_fail(g, GRAFT_ERR_INVALID_ARG, "%s: bad shape (0..%d dims vs %d)", type, GRAFT_MAX_DIMS,
                          n);
        return graftI_o(NULL, 0);
    }
    bool fits = true;
    int32_t d32[GRAFT_MAX_DIMS];
    for (int i = 0; i < n; i++) {
        if (dims[i] < 0 || dims[i] > INT32_MAX) fits = false;
        d32[i] = (int32_t)dims[i];
    }
    graft_out shape;
    graft_dtype st_ = GRAFT_INT32;
    /* the shape Const is "shape" (as in TF's random ops); a pending name is the op's */
    char *pending = graftI_take_next_name(g);
    graft_name_next(g, "shape");
    if (fits) {
        shape = (graft_const_i32_vec)(g, d32, n);
    } else {
        int64_t len = n;
        graft_status st;
        graft_tensor *t =
            graft_tensor_from_data(GRAFT_INT64, &len, 1, dims, (size_t)n * sizeof(int64_t), &st);
        if (!t) {
            graft_name_next(g, NULL);
            graftI_restore_next_name(g, pending);
            graftI_graph_fail(g, st.code, "%s: %s", type, st.msg);
            return graftI_o(NULL, 0);
        }
        shape = (graft_const)(g, "shape", t);
        graft_tensor_free(t);
        st_ = GRAFT_INT64;
    }
    graftI_restore_next_name(g, pending);
    int64_t seed, seed2;
    graftI_graph_seeds(g, op_seed, &seed, &seed2);
    graftI_attr at[4] = {graftI_a_int("seed", seed), graftI_a_int("seed2", seed2), graftI_a_type("dtype", dt),
                         graftI_a_type("T", st_)};
    return graftI_o(graftI_make_op(g, type, type, &shape, 1, at, 4), 0);
}

graft_out graft_random_uniform(graft_graph *g, const int64_t *dims, int n, graft_dtype dt, int64_t seed)
{
    return make_random(g, "RandomUniform", dims, n, dt, seed);
}

graft_out graft_truncated_normal(graft_graph *g, const int64_t *dims, int n, graft_dtype dt, int64_t seed)
{
    return make_random(g, "TruncatedNormal", dims, n, dt, seed);
}

graft_out graft_random_normal(graft_graph *g, const int64_t *dims, int n, graft_dtype dt, int64_t seed)
{
    return make_random(g, "RandomStandardNormal", dims, n, dt, seed);
}

const graftI_op_def *const graftI_ops_random[] = {&op_random_uniform, &op_random_normal, &op_truncated_normal,
                                                  NULL};
