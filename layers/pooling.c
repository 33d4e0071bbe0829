/* layers/pooling.c - tf.layers.max_pooling2d and average_pooling2d (NHWC):
 * scope "max_pooling2d" / "average_pooling2d" holding one MaxPool / AvgPool op,
 * strides defaulting to the pool size. */
#include "layer_util.h"

void graft_pool2d_cfg_init(graft_pool2d_cfg *c)
{
    if (!c) return;
    memset(c, 0, sizeof *c);
    c->padding = GRAFT_PAD_VALID;
}

static graft_out pool(graft_graph *g, graft_out x, const graft_pool2d_cfg *cfg, bool is_max)
{
    graft_out none = {NULL, 0};
    const char *dflt = is_max ? "max_pooling2d" : "average_pooling2d";
    if (!g || !x.op || graft_graph_status(g) != GRAFT_OK) return none;
    if (!cfg) {
        graftI_graph_fail(g, GRAFT_ERR_INVALID_ARG, "%s: NULL cfg", dflt);
        return none;
    }
    const char *lname = cfg->name ? cfg->name : dflt;
    int kh = cfg->pool_size[0], kw = cfg->pool_size[1];
    int sh = cfg->strides[0] ? cfg->strides[0] : kh, sw = cfg->strides[1] ? cfg->strides[1] : kw;
    if (kh <= 0 || kw <= 0 || sh <= 0 || sw <= 0) {
        graftI_graph_fail(g, GRAFT_ERR_INVALID_ARG,
                          "%s: pool_size and strides must be positive (vs pool %dx%d, strides %dx%d)", lname,
                          kh, kw, cfg->strides[0], cfg->strides[1]);
        return none;
    }
    if (cfg->padding != GRAFT_PAD_VALID && cfg->padding != GRAFT_PAD_SAME) {
        graftI_graph_fail(g, GRAFT_ERR_INVALID_ARG, "%s: padding must be VALID or SAME (vs %d)", lname,
                          (int)cfg->padding);
        return none;
    }
    graft_shape xs = graft_out_shape(x);
    if (xs.rank >= 0 && xs.rank != 4) {
        char b[128];
        graftI_graph_fail(g, GRAFT_ERR_SHAPE, "%s: input must be NHWC of rank 4 (vs %s)", lname,
                          graft_shape_str(&xs, b, sizeof b));
        return none;
    }
    char scope[256];
    if (!graftI_layer_scope(g, cfg->name, dflt, scope, sizeof scope)) return none;
    graft_out y = is_max ? graft_max_pool(g, x, kh, kw, sh, sw, cfg->padding)
                         : graft_avg_pool(g, x, kh, kw, sh, sw, cfg->padding);
    graft_graph_pop_scope(g);
    return graft_graph_status(g) == GRAFT_OK ? y : none;
}

graft_out graft_max_pooling2d(graft_graph *g, graft_out x, const graft_pool2d_cfg *cfg)
{
    return pool(g, x, cfg, true);
}

graft_out graft_average_pooling2d(graft_graph *g, graft_out x, const graft_pool2d_cfg *cfg)
{
    return pool(g, x, cfg, false);
}
