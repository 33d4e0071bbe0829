/* layers/dropout.c - tf.layers.dropout with TF >= 1.13 semantics: while
 * training y = x * (1 / (1 - rate)) * Cast(RandomUniform(Shape(x)) >= rate),
 * else Identity(x); a bool tensor may choose at run time (Select). */
#include "layer_util.h"

#include <math.h>

void graft_dropout_cfg_init(graft_dropout_cfg *c)
{
    if (!c) return;
    memset(c, 0, sizeof *c);
    c->rate = 0.5;
}

static graft_out scalar(graft_graph *g, const char *name, graft_dtype dt, double v)
{
    graft_status st;
    graft_tensor *t = graft_tensor_new(dt, NULL, 0, &st);
    if (!t) {
        graftI_graph_fail(g, st.code, "%s", st.msg);
        return graftI_o(NULL, 0);
    }
    if (dt == GRAFT_DOUBLE)
        *(double *)graft_tensor_data(t) = v;
    else
        *(float *)graft_tensor_data(t) = (float)v;
    graft_out o = graft_const(g, name, t);
    graft_tensor_free(t);
    return o;
}

/* The training branch, in the current scope: "rate", "Shape",
 * "random_uniform/RandomUniform", "GreaterEqual", "scale", "mul", "Cast", "mul_1". */
static graft_out dropped(graft_graph *g, graft_out x, graft_dtype dt, double rate, int64_t op_seed)
{
    graft_out r = scalar(g, "rate", dt, rate);
    graft_out shape = graft_shape_of(g, x);
    graft_out rnd = {NULL, 0};
    if (graft_graph_push_scope(g, "random_uniform")) {
        int64_t seed, seed2;
        graftI_graph_seeds(g, op_seed, &seed, &seed2);
        graftI_attr at[4] = {graftI_a_int("seed", seed), graftI_a_int("seed2", seed2),
                             graftI_a_type("dtype", dt), graftI_a_type("T", graft_out_dtype(shape))};
        rnd = graftI_o(graftI_make_op(g, "RandomUniform", "RandomUniform", &shape, 1, at, 4), 0);
        graft_graph_pop_scope(g);
    }
    /* keep where u >= rate: P(keep) = 1 - rate; kept values scaled by 1 / keep_prob,
     * computed in the dtype's arithmetic as TF does (keep_prob = 1 - rate, then 1 / keep_prob) */
    graft_out keep = graft_greater_equal(g, rnd, r);
    double scale = dt == GRAFT_DOUBLE ? 1.0 / (1.0 - rate) : (double)(1.0f / (1.0f - (float)rate));
    graft_out sc = scalar(g, "scale", dt, scale);
    graft_name_next(g, "mul");
    graft_out y = graft_mul(g, x, sc);
    graft_out mask = graft_cast(g, keep, dt);
    graft_name_next(g, "mul");
    return graft_mul(g, y, mask);
}

graft_out graft_dropout(graft_graph *g, graft_out x, const graft_dropout_cfg *cfg)
{
    graft_out none = {NULL, 0};
    if (!g || !x.op || graft_graph_status(g) != GRAFT_OK) return none;
    if (!cfg) {
        graftI_graph_fail(g, GRAFT_ERR_INVALID_ARG, "dropout: NULL cfg");
        return none;
    }
    const char *lname = cfg->name ? cfg->name : "dropout";
    if (!(cfg->rate >= 0.0 && cfg->rate < 1.0)) {
        graftI_graph_fail(g, GRAFT_ERR_INVALID_ARG, "%s: rate must be in [0, 1) (vs %g)", lname, cfg->rate);
        return none;
    }
    graft_dtype dt = graft_out_dtype(x);
    if (dt != GRAFT_FLOAT && dt != GRAFT_DOUBLE) {
        graftI_graph_fail(g, GRAFT_ERR_DTYPE, "%s: input must be float32 or float64 (vs %s)", lname,
                          graft_dtype_name(dt) ? graft_dtype_name(dt) : "invalid");
        return none;
    }
    graft_out sw = cfg->training_tensor;
    if (sw.op) {
        graft_shape ss = graft_out_shape(sw);
        if (graft_out_dtype(sw) != GRAFT_BOOL || (ss.rank > 0)) {
            char b[64];
            graftI_graph_fail(
                g, GRAFT_ERR_INVALID_ARG, "%s: training_tensor must be a bool scalar (vs %s %s)", lname,
                graft_dtype_name(graft_out_dtype(sw)) ? graft_dtype_name(graft_out_dtype(sw)) : "invalid",
                graft_shape_str(&ss, b, sizeof b));
            return none;
        }
    }
    char scope[256];
    if (!graftI_layer_scope(g, cfg->name, "dropout", scope, sizeof scope)) return none;
    graft_out y;
    if ((!sw.op && !cfg->training) || cfg->rate == 0.0) {
        y = graft_identity(g, x);
    } else if (!sw.op) {
        y = dropped(g, x, dt, cfg->rate, cfg->seed);
    } else {
        graft_out d = dropped(g, x, dt, cfg->rate, cfg->seed);
        y = graft_select(g, sw, d, x);
    }
    graft_graph_pop_scope(g);
    return graft_graph_status(g) == GRAFT_OK ? y : none;
}
