/* layers/softmax.c - the softmax layer (Keras's Softmax): scope "softmax"
 * holding one Softmax op over the last axis. */
#include "layer_util.h"

graft_out graft_softmax_layer(graft_graph *g, graft_out x, const char *name)
{
    graft_out none = {NULL, 0};
    if (!g || !x.op || graft_graph_status(g) != GRAFT_OK) return none;
    graft_dtype dt = graft_out_dtype(x);
    if (dt != GRAFT_FLOAT && dt != GRAFT_DOUBLE) {
        graftI_graph_fail(g, GRAFT_ERR_DTYPE, "%s: input must be float32 or float64 (vs %s)",
                          name ? name : "softmax", graft_dtype_name(dt) ? graft_dtype_name(dt) : "invalid");
        return none;
    }
    char scope[256];
    if (!graftI_layer_scope(g, name, "softmax", scope, sizeof scope)) return none;
    graft_out y = graft_softmax(g, x);
    graft_graph_pop_scope(g);
    return graft_graph_status(g) == GRAFT_OK ? y : none;
}
