/* layers/flatten.c - tf.layers.flatten: "<scope>/Reshape" of [batch, ...] to
 * [batch, prod(...)], the shape a static Const [-1, prod] (TF builds it from
 * Shape + strided_slice when the batch is unknown; the result is the same). */
#include "layer_util.h"

#include <stdio.h>

graft_out graft_flatten(graft_graph *g, graft_out x, const char *name)
{
    graft_out none = {NULL, 0};
    if (!g || !x.op || graft_graph_status(g) != GRAFT_OK) return none;
    const char *lname = name ? name : "flatten";
    graft_shape xs = graft_out_shape(x);
    char b[128];
    if (xs.rank < 1) {
        graftI_graph_fail(g, GRAFT_ERR_SHAPE, "%s: input must have a known rank >= 1 (vs %s)", lname,
                          graft_shape_str(&xs, b, sizeof b));
        return none;
    }
    int64_t prod = 1;
    for (int i = 1; i < xs.rank; i++) {
        if (xs.dims[i] < 0 || !graftI_mul_i64(prod, xs.dims[i], &prod) || prod > INT32_MAX) {
            graftI_graph_fail(g, GRAFT_ERR_SHAPE,
                              "%s: every dim but the first must be known and the product fit int32 (vs %s)",
                              lname, graft_shape_str(&xs, b, sizeof b));
            return none;
        }
    }
    char scope[256];
    if (!graftI_layer_scope(g, name, "flatten", scope, sizeof scope)) return none;
    /* a known batch stays static; an unknown one becomes -1 */
    int32_t dims[2] = {xs.dims[0] >= 0 && xs.dims[0] <= INT32_MAX ? (int32_t)xs.dims[0] : -1, (int32_t)prod};
    graft_out shape = graft_const_i32_vec(g, dims, 2);
    graft_out y = graft_reshape(g, x, shape);
    graft_graph_pop_scope(g);
    return graft_graph_status(g) == GRAFT_OK ? y : none;
}
