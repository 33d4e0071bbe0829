/* layers/dense.c - tf.layers.dense: "<scope>/kernel" [in, units] (Glorot
 * uniform) and "<scope>/bias" [units] (zeros), then "<scope>/MatMul",
 * "<scope>/BiasAdd" and the activation. */
#include "layer_util.h"

#include <stdio.h>

void graft_dense_cfg_init(graft_dense_cfg *c)
{
    if (!c) return;
    memset(c, 0, sizeof *c);
    c->use_bias = true;
    c->trainable = true;
    c->kernel_init.kind = GRAFT_INIT_GLOROT_UNIFORM;
    c->bias_init.kind = GRAFT_INIT_ZEROS;
}

graft_out graft_dense(graft_graph *g, graft_out x, const graft_dense_cfg *cfg)
{
    graft_out none = {NULL, 0};
    if (cfg && cfg->vars) memset(cfg->vars, 0, sizeof *cfg->vars);
    if (!g || !x.op || graft_graph_status(g) != GRAFT_OK) return none;
    if (!cfg) {
        graftI_graph_fail(g, GRAFT_ERR_INVALID_ARG, "dense: NULL cfg");
        return none;
    }
    const char *lname = cfg->name ? cfg->name : "dense";
    if (cfg->units <= 0 || cfg->units > INT32_MAX) {
        graftI_graph_fail(g, GRAFT_ERR_INVALID_ARG, "%s: units must be in 1..%d (vs %lld)", lname, INT32_MAX,
                          (long long)cfg->units);
        return none;
    }
    if ((unsigned)cfg->activation > (unsigned)GRAFT_ACT_SOFTMAX) {
        graftI_graph_fail(g, GRAFT_ERR_INVALID_ARG, "%s: activation: unknown value (0..%d vs %d)", lname,
                          (int)GRAFT_ACT_SOFTMAX, (int)cfg->activation);
        return none;
    }
    if (!graftI_check_initializer(g, lname, "kernel", &cfg->kernel_init) ||
        !graftI_check_initializer(g, lname, "bias", &cfg->bias_init))
        return none;
    graft_dtype dt = graft_out_dtype(x);
    graft_shape xs = graft_out_shape(x);
    char b[128];
    if (dt != GRAFT_FLOAT && dt != GRAFT_DOUBLE) {
        graftI_graph_fail(g, GRAFT_ERR_DTYPE, "%s: input must be float32 or float64 (vs %s)", lname,
                          graft_dtype_name(dt) ? graft_dtype_name(dt) : "invalid");
        return none;
    }
    if (xs.rank != 2 || xs.dims[1] < 0) {
        graftI_graph_fail(g, GRAFT_ERR_SHAPE,
                          "%s: input must be [batch, features] with features known (vs %s); flatten it first",
                          lname, graft_shape_str(&xs, b, sizeof b));
        return none;
    }
    int64_t in = xs.dims[1];

    char scope[256];
    if (!graftI_layer_scope(g, cfg->name, "dense", scope, sizeof scope)) return none;
    graft_out y = none;
    graftI_var_init kv = {cfg->kernel_init, dt, {in, cfg->units}, 2, in, cfg->units};
    if (kv.init.kind == GRAFT_INIT_DEFAULT) kv.init.kind = GRAFT_INIT_GLOROT_UNIFORM;
    graft_variable kinfo, binfo;
    graft_op *kernel =
        graftI_tf_variable(g, "kernel", graftI_build_var_init, &kv, true, cfg->trainable, &kinfo);
    graft_op *bias = NULL;
    if (!kernel) goto out;
    if (cfg->use_bias) {
        graftI_var_init bv = {cfg->bias_init, dt, {cfg->units}, 1, cfg->units, cfg->units};
        if (bv.init.kind == GRAFT_INIT_DEFAULT) bv.init.kind = GRAFT_INIT_ZEROS;
        bias = graftI_tf_variable(g, "bias", graftI_build_var_init, &bv, true, cfg->trainable, &binfo);
        if (!bias) goto out;
    }
    /* y = act(x W + b) */
    y = graft_matmul(g, x, kinfo.value, false, false);
    if (bias) y = graft_bias_add(g, y, binfo.value);
    y = graftI_activation(g, y, cfg->activation);
    if (cfg->vars && y.op) {
        cfg->vars->kernel = kernel;
        cfg->vars->bias = bias;
        snprintf(cfg->vars->scope, sizeof cfg->vars->scope, "%s", scope);
    }
out:
    graft_graph_pop_scope(g);
    return graft_graph_status(g) == GRAFT_OK ? y : none;
}
