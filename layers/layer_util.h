/*
 * layers/layer_util.h - helpers shared by the layers (layers/) and the
 * optimizers (optim/): TF1-named variable creation (tf.get_variable's op
 * layout), initializer subgraphs, verbatim-named ops, scope bookkeeping.
 * Private to graft.
 */
#ifndef GRAFT_LAYER_UTIL_H
#define GRAFT_LAYER_UTIL_H

#include "internal.h"

/* Builds a variable's initial value in the current scope; returns null on failure. */
typedef graft_out (*graftI_init_fn)(graft_graph *g, void *ud);

/* Makes a ref variable exactly as TF1's tf.get_variable / tf.Variable lay it
 * out: the full name F is `name` in the current scope, uniquified (and reserved
 * first, as TF's name_scope does); the initial value is built by init() under
 * "F/Initializer/" (under "F/" when !initializer_scope, as tf.Variable with a
 * given initial_value does); then VariableV2 "F" (verbatim), "F/Assign",
 * "F/read", registered in the graph's variable table. Control dependencies in
 * force are not applied (TF's init_scope). Returns the VariableV2 op, or NULL
 * with the graph's sticky error set. info (may be NULL) receives the record. */
GRAFTI_FUNC graft_op *graftI_tf_variable(graft_graph *g, const char *name, graftI_init_fn init, void *ud,
                                         bool initializer_scope, bool trainable, graft_variable *info);

/* A layer variable's initializer with its dtype, shape and fans; pass
 * graftI_build_var_init and a pointer to one to graftI_tf_variable. */
typedef struct graftI_var_init {
    graft_initializer init;
    graft_dtype dt;
    int64_t dims[4];
    int rank;
    int64_t fan_in, fan_out;
} graftI_var_init;
GRAFTI_FUNC graft_out graftI_build_var_init(graft_graph *g, void *ud);

/* The value of an initializer of the given dtype/shape, built in the current
 * scope with TF's op names ("random_uniform/...", "truncated_normal/...",
 * "zeros", "Const"). kind GRAFT_INIT_DEFAULT must be resolved by the caller. */
GRAFTI_FUNC graft_out graftI_initializer_value(graft_graph *g, const graft_initializer *init, graft_dtype dt,
                                               const int64_t *dims, int rank, int64_t fan_in,
                                               int64_t fan_out);

/* array_ops.zeros with TF's names in the current scope: a Const "zeros" below
 * 1000 elements, else Fill "zeros" of "zeros/shape_as_tensor" and "zeros/Const".
 * float32, float64, int32 or int64. */
GRAFTI_FUNC graft_out graftI_zeros(graft_graph *g, graft_dtype dt, const int64_t *dims, int rank);

/* An op whose full name is taken verbatim (no scope, no uniquifying), as TF
 * names an op after the scope it opened ("dense/kernel/Initializer/random_uniform",
 * the train op "Adam"). Explicit control inputs only. Sticky error on failure. */
GRAFTI_FUNC graft_op *graftI_verbatim_op(graft_graph *g, const char *type, const char *name,
                                         const graft_out *in, int n_in, graft_op *const *ctrl, int n_ctrl,
                                         const graftI_attr *attrs, int n_attrs);

/* Opens the layer scope (cfg name or default, uniquified) and copies its full
 * name into buf (for graft_layer_vars.scope). NULL with sticky error on failure. */
GRAFTI_FUNC const char *graftI_layer_scope(graft_graph *g, const char *name, const char *dflt, char *buf,
                                           size_t cap);

/* Applies an activation in the current scope ("Relu", ...). */
GRAFTI_FUNC graft_out graftI_activation(graft_graph *g, graft_out x, graft_activation act);

/* Rejects an out-of-range enum or bad initializer field (sticky error). */
GRAFTI_FUNC bool graftI_check_initializer(graft_graph *g, const char *layer, const char *what,
                                          const graft_initializer *in);

#endif
