/* layers/conv2d.c - tf.layers.conv2d (NHWC): "<scope>/kernel" [kh, kw, in, filters]
 * (HWIO, Glorot uniform with TF's receptive-field fans), "<scope>/bias", then
 * "<scope>/Conv2D", "<scope>/BiasAdd" and the activation. */
#include "layer_util.h"

#include <stdio.h>

void graft_conv2d_cfg_init(graft_conv2d_cfg *c)
{
    if (!c) return;
    memset(c, 0, sizeof *c);
    c->strides[0] = c->strides[1] = 1;
    c->padding = GRAFT_PAD_VALID;
    c->use_bias = true;
    c->trainable = true;
    c->kernel_init.kind = GRAFT_INIT_GLOROT_UNIFORM;
    c->bias_init.kind = GRAFT_INIT_ZEROS;
}

graft_out graft_conv2d_layer(graft_graph *g, graft_out x, const graft_conv2d_cfg *cfg)
{
    graft_out none = {NULL, 0};
    if (cfg && cfg->vars) memset(cfg->vars, 0, sizeof *cfg->vars);
    if (!g || !x.op || graft_graph_status(g) != GRAFT_OK) return none;
    if (!cfg) {
        graftI_graph_fail(g, GRAFT_ERR_INVALID_ARG, "conv2d: NULL cfg");
        return none;
    }
    const char *lname = cfg->name ? cfg->name : "conv2d";
    if (cfg->filters <= 0 || cfg->filters > INT32_MAX) {
        graftI_graph_fail(g, GRAFT_ERR_INVALID_ARG, "%s: filters must be in 1..%d (vs %lld)", lname,
                          INT32_MAX, (long long)cfg->filters);
        return none;
    }
    if (cfg->kernel_size[0] <= 0 || cfg->kernel_size[1] <= 0 || cfg->strides[0] <= 0 ||
        cfg->strides[1] <= 0) {
        graftI_graph_fail(g, GRAFT_ERR_INVALID_ARG,
                          "%s: kernel_size and strides must be positive (vs kernel %dx%d, strides %dx%d)",
                          lname, cfg->kernel_size[0], cfg->kernel_size[1], cfg->strides[0], cfg->strides[1]);
        return none;
    }
    if (cfg->padding != GRAFT_PAD_VALID && cfg->padding != GRAFT_PAD_SAME) {
        graftI_graph_fail(g, GRAFT_ERR_INVALID_ARG, "%s: padding must be VALID or SAME (vs %d)", lname,
                          (int)cfg->padding);
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
    if (xs.rank != 4 || xs.dims[3] < 0) {
        graftI_graph_fail(
            g, GRAFT_ERR_SHAPE,
            "%s: input must be NHWC [batch, height, width, channels] with channels known (vs %s)", lname,
            graft_shape_str(&xs, b, sizeof b));
        return none;
    }
    int64_t kh = cfg->kernel_size[0], kw = cfg->kernel_size[1], in = xs.dims[3], out = cfg->filters;
    /* TF's _compute_fans: receptive field size times channels in / out */
    int64_t rf = kh * kw, fan_in, fan_out;
    if (!graftI_mul_i64(rf, in, &fan_in) || !graftI_mul_i64(rf, out, &fan_out)) {
        graftI_graph_fail(g, GRAFT_ERR_INVALID_ARG, "%s: kernel too large", lname);
        return none;
    }

    char scope[256];
    if (!graftI_layer_scope(g, cfg->name, "conv2d", scope, sizeof scope)) return none;
    graft_out y = none;
    graftI_var_init kv = {cfg->kernel_init, dt, {kh, kw, in, out}, 4, fan_in, fan_out};
    if (kv.init.kind == GRAFT_INIT_DEFAULT) kv.init.kind = GRAFT_INIT_GLOROT_UNIFORM;
    graft_variable kinfo, binfo;
    graft_op *kernel =
        graftI_tf_variable(g, "kernel", graftI_build_var_init, &kv, true, cfg->trainable, &kinfo);
    graft_op *bias = NULL;
    if (!kernel) goto out;
    if (cfg->use_bias) {
        graftI_var_init bv = {cfg->bias_init, dt, {out}, 1, out, out};
        if (bv.init.kind == GRAFT_INIT_DEFAULT) bv.init.kind = GRAFT_INIT_ZEROS;
        bias = graftI_tf_variable(g, "bias", graftI_build_var_init, &bv, true, cfg->trainable, &binfo);
        if (!bias) goto out;
    }
    y = graft_conv2d(g, x, kinfo.value, cfg->strides[0], cfg->strides[1], cfg->padding);
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
