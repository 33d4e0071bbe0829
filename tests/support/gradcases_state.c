/* tests/support/gradcases_state.c - gradcheck cases for the differentiable
 * state ops (lib/ops/op_state.c): PlaceholderWithDefault passes the gradient to
 * its default; ReadVariableOp passes it to the resource variable's handle. */
#include <stddef.h>
#include <string.h>

#include "gradcheck.h"

static int build_pwd(graft_graph *g, const graft_out *in, const graftT_gradcase *c, graft_out *outs)
{
    (void)c;
    graft_out d = graft_placeholder_with_default(g, "op", in[0], graft_out_shape(in[0]));
    outs[0] = graft_mul(g, d, d); /* a non-linear use, so the gradient's value matters */
    return 1;
}

/* Replaces the placeholder by a VarHandleOp of the same dtype/shape, which the
 * harness then feeds: ReadVariableOp's output is the handle's value. */
static int build_readvar(graft_graph *g, const graft_out *in, const graftT_gradcase *c, graft_out *outs)
{
    (void)c;
    graft_op_builder *b = graft_op_builder_new(g, "VarHandleOp", "v");
    graft_op_builder_attr_type(b, "dtype", graft_out_dtype(in[0]));
    graft_op_builder_attr_shape(b, "shape", graft_out_shape(in[0]));
    graft_op_builder_attr_string(b, "shared_name", "v", 1);
    graft_op *v = graft_op_builder_finish(b, NULL);
    if (!v) return 0;
    b = graft_op_builder_new(g, "ReadVariableOp", "op");
    graft_op_builder_add_input(b, (graft_out){v, 0});
    graft_op_builder_attr_type(b, "dtype", graft_out_dtype(in[0]));
    graft_op *r = graft_op_builder_finish(b, NULL);
    if (!r) return 0;
    ((graft_out *)in)[0] = (graft_out){v, 0};
    outs[0] = graft_exp(g, (graft_out){r, 0});
    return 1;
}

const graftT_gradcase graftT_gradcases_state[] = {
    {.op = "PlaceholderWithDefault", .label = "default [2,3]", .n_in = 1,
     .in = {{.dtype = GRAFT_DOUBLE, .rank = 2, .dims = {2, 3}, .check = true}}, .build = build_pwd},
    {.op = "ReadVariableOp", .label = "handle [4]", .n_in = 1,
     .in = {{.dtype = GRAFT_DOUBLE, .rank = 1, .dims = {4}, .check = true}}, .build = build_readvar},
    {0}};
