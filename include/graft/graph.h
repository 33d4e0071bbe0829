/*
 * graft/graph.h - building TensorFlow-style graphs: operations, tensors named
 * "op:N", placeholders, constants, variables, name scopes, control
 * dependencies, the typed op builders, the generic builder keyed by TF op type,
 * and reverse-mode autodiff (graft_gradients) that appends gradient ops.
 *
 * Ownership: a graft_op* is owned by its graph and valid until graft_graph_free;
 * adding ops never invalidates it. graft_out is a plain value {op, index}.
 *
 * Errors are sticky: a builder that fails records a message on the graph,
 * leaves the graph unchanged and returns a null graft_out ({NULL, 0}); builders
 * given a null input return null quietly, so chains can be checked once:
 *
 *     graft_out y = graft_softmax(g, graft_matmul(g, x, w, false, false));
 *     if (graft_graph_status(g) != GRAFT_OK) puts(graft_graph_errmsg(g));
 */
#ifndef GRAFT_GRAPH_H
#define GRAFT_GRAPH_H

#include "graft/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct graft_graph graft_graph;
typedef struct graft_op graft_op;
typedef struct graft_op_builder graft_op_builder;

/* A tensor in a graph: output `index` of `op` (TensorFlow's "op:index"). */
typedef struct graft_out {
    graft_op *op;
    int index;
} graft_out;

static inline bool graft_out_ok(graft_out o) { return o.op != NULL; }

/* ---- graph ---------------------------------------------------------------- */
GRAFT_API graft_graph *graft_graph_new(void);
GRAFT_API void graft_graph_free(graft_graph *g);

/* The sticky error: GRAFT_OK while every builder call succeeded. */
GRAFT_API graft_code graft_graph_status(const graft_graph *g);
GRAFT_API const char *graft_graph_errmsg(const graft_graph *g);
/* Copies the sticky error into st and returns its code. */
GRAFT_API graft_code graft_graph_check(const graft_graph *g, graft_status *st);
GRAFT_API void graft_graph_clear_error(graft_graph *g);

/* Graph-level random seed (tf.set_random_seed); ops made afterwards derive
 * their seed/seed2 attrs from it as TensorFlow does. */
GRAFT_API void graft_graph_set_seed(graft_graph *g, int64_t seed);

/* Name scopes (tf.name_scope): push "dense" gives "dense/", or "dense_1/" when
 * "dense" is taken. A name ending in '/' re-enters that exact scope; "" is the
 * root scope. */
GRAFT_API const char *graft_graph_push_scope(graft_graph *g, const char *name);
GRAFT_API void graft_graph_pop_scope(graft_graph *g);
/* The name of the next op a typed builder makes (one shot, scope applied,
 * uniquified); e.g. graft_name_next(g, "op_to_restore") before graft_mul. As in
 * TensorFlow, a name ending in '/' is used verbatim: "zeros/" names the op
 * exactly "zeros" (no scope, no suffix; it must be free). */
GRAFT_API void graft_name_next(graft_graph *g, const char *name);
/* TF's Graph.unique_name: returns the name an op called `name` would get in the
 * current scope ("w1" -> "w1_1" when taken). Valid until the next graph call. */
GRAFT_API const char *graft_graph_unique_name(graft_graph *g, const char *name, bool mark_used);

/* Control dependencies (tf.control_dependencies): ops made while pushed run
 * after `ops`. n < 0 pushes tf.control_dependencies(None): ops made while it is
 * on top ignore every frame below it (variables and their initializers use it). */
GRAFT_API void graft_graph_push_control_deps(graft_graph *g, graft_op *const *ops, int n);
GRAFT_API void graft_graph_pop_control_deps(graft_graph *g);

/* ---- lookup ------------------------------------------------------------- */
/* The op with exactly this name, or NULL. */
GRAFT_API graft_op *graft_graph_op(const graft_graph *g, const char *name);
/* Tensor by "op:N" name (get_tensor_by_name). "fc7" without ":N" is an error
 * suggesting "fc7:0"; a missing op or output index is GRAFT_ERR_NOT_FOUND. */
GRAFT_API graft_code graft_graph_tensor(const graft_graph *g, const char *name, graft_out *out,
                                        graft_status *st);
GRAFT_API int graft_graph_num_ops(const graft_graph *g);
/* Ops in creation order (a topological order). */
GRAFT_API graft_op *graft_graph_op_at(const graft_graph *g, int i);

GRAFT_API const char *graft_op_name(const graft_op *op);
GRAFT_API const char *graft_op_type(const graft_op *op);
GRAFT_API int graft_op_num_inputs(const graft_op *op);
GRAFT_API graft_out graft_op_input(const graft_op *op, int i);
GRAFT_API int graft_op_num_control_inputs(const graft_op *op);
GRAFT_API graft_op *graft_op_control_input(const graft_op *op, int i);
GRAFT_API int graft_op_num_outputs(const graft_op *op);
/* true when graft has a kernel for this op (imported unknown ops are inert). */
GRAFT_API bool graft_op_runnable(const graft_op *op);
GRAFT_API graft_dtype graft_out_dtype(graft_out o);
/* Statically inferred shape (dims may be -1, rank may be -1). */
GRAFT_API graft_shape graft_out_shape(graft_out o);
/* "op:N" into buf. */
GRAFT_API const char *graft_out_name(graft_out o, char *buf, size_t cap);

/* ---- generic builder (TF_NewOperation style) --------------------------------
 * Creates a node from a TensorFlow op type, inputs and attrs; finish checks them
 * against the op's registered signature (input count, attr names/types, dtype
 * constraints) and infers output dtypes/shapes. Unknown op types are refused
 * unless graft_op_builder_allow_unknown is set (then the op is inert: the graph
 * keeps it, running it is an error). finish always consumes the builder; on
 * failure the graph is unchanged and NULL is returned. `name` is used verbatim
 * (no scope, no uniquifying) and must be unused. */
GRAFT_API graft_op_builder *graft_op_builder_new(graft_graph *g, const char *op_type, const char *name);
GRAFT_API void graft_op_builder_add_input(graft_op_builder *b, graft_out in);
GRAFT_API void graft_op_builder_add_control_input(graft_op_builder *b, graft_op *op);
GRAFT_API void graft_op_builder_set_device(graft_op_builder *b, const char *device);
GRAFT_API void graft_op_builder_allow_unknown(graft_op_builder *b, int n_outputs);
GRAFT_API void graft_op_builder_attr_int(graft_op_builder *b, const char *name, int64_t v);
GRAFT_API void graft_op_builder_attr_float(graft_op_builder *b, const char *name, float v);
GRAFT_API void graft_op_builder_attr_bool(graft_op_builder *b, const char *name, bool v);
GRAFT_API void graft_op_builder_attr_type(graft_op_builder *b, const char *name, graft_dtype v);
GRAFT_API void graft_op_builder_attr_shape(graft_op_builder *b, const char *name, graft_shape v);
GRAFT_API void graft_op_builder_attr_string(graft_op_builder *b, const char *name, const char *s, size_t len);
/* Takes a new reference to t. */
GRAFT_API void graft_op_builder_attr_tensor(graft_op_builder *b, const char *name, graft_tensor *t);
GRAFT_API void graft_op_builder_attr_int_list(graft_op_builder *b, const char *name, const int64_t *v, int n);
GRAFT_API void graft_op_builder_attr_float_list(graft_op_builder *b, const char *name, const float *v, int n);
GRAFT_API void graft_op_builder_attr_type_list(graft_op_builder *b, const char *name, const graft_dtype *v, int n);
GRAFT_API void graft_op_builder_attr_shape_list(graft_op_builder *b, const char *name, const graft_shape *v, int n);
GRAFT_API void graft_op_builder_attr_string_list(graft_op_builder *b, const char *name, const char *const *v,
                                                 const size_t *lens, int n);
GRAFT_API void graft_op_builder_attr_bool_list(graft_op_builder *b, const char *name, const bool *v, int n);
/* Takes a new reference to each tensor. */
GRAFT_API void graft_op_builder_attr_tensor_list(graft_op_builder *b, const char *name, graft_tensor *const *v,
                                                 int n);
/* A function attr (NameAttrList): graft keeps the name for round trips. */
GRAFT_API void graft_op_builder_attr_func(graft_op_builder *b, const char *name, const char *func_name);
/* For an op kept inert (graft_op_builder_allow_unknown): declares output i's
 * dtype and static shape, so ops consuming it can infer theirs. */
GRAFT_API void graft_op_builder_unknown_output(graft_op_builder *b, int i, graft_dtype dt, graft_shape shape);
GRAFT_API graft_op *graft_op_builder_finish(graft_op_builder *b, graft_status *st);
/* Drops a builder without creating anything. */
GRAFT_API void graft_op_builder_free(graft_op_builder *b);

/* Attr getters for inspection (false if absent or of another type). */
GRAFT_API bool graft_op_attr_int(const graft_op *op, const char *name, int64_t *v);
GRAFT_API bool graft_op_attr_float(const graft_op *op, const char *name, float *v);
GRAFT_API bool graft_op_attr_bool(const graft_op *op, const char *name, bool *v);
GRAFT_API bool graft_op_attr_type(const graft_op *op, const char *name, graft_dtype *v);
GRAFT_API bool graft_op_attr_shape(const graft_op *op, const char *name, graft_shape *v);
GRAFT_API bool graft_op_attr_string(const graft_op *op, const char *name, const char **s, size_t *len);
/* Borrowed; valid while the graph lives. */
GRAFT_API const graft_tensor *graft_op_attr_tensor(const graft_op *op, const char *name);

/* ---- sources -------------------------------------------------------------- */
/* Placeholder; shape may be partial (dims -1) or graft_shape_unknown(). */
GRAFT_API graft_out graft_placeholder(graft_graph *g, const char *name, graft_dtype dt, graft_shape shape);
GRAFT_API graft_out graft_placeholder_with_default(graft_graph *g, const char *name, graft_out def,
                                                   graft_shape shape);
/* Const holding a new reference to t; name NULL = "Const". */
GRAFT_API graft_out graft_const(graft_graph *g, const char *name, graft_tensor *t);
GRAFT_API graft_out graft_const_f32(graft_graph *g, float v);
GRAFT_API graft_out graft_const_i32(graft_graph *g, int32_t v);
GRAFT_API graft_out graft_const_i64(graft_graph *g, int64_t v);
/* 1-D int32 constant, e.g. a shape or axis list. */
GRAFT_API graft_out graft_const_i32_vec(graft_graph *g, const int32_t *v, int n);

/* ---- variables (TF1 ref variables) ------------------------------------------
 * graft_variable makes, as tf.Variable does: VariableV2 `name` (scope applied,
 * uniquified), `name/Assign` = Assign(name, initial_value) and `name/read` =
 * Identity(name); adds it to the "variables" collection (and
 * "trainable_variables" when trainable). Returns `name/read:0`, the value to
 * compute with. The variable's dtype and shape are initial_value's, which must
 * be fully known. */
typedef struct graft_variable {
    graft_op *var;          /* VariableV2 (or imported Variable/VarHandleOp) */
    graft_op *initializer;  /* name/Assign (may be NULL for imported ones)  */
    graft_out value;        /* name/read:0 (snapshot)                      */
    graft_out initial_value;
    bool trainable;
} graft_variable;

GRAFT_API graft_out graft_variable_new(graft_graph *g, const char *name, graft_out initial_value,
                                       bool trainable, graft_variable *info);
GRAFT_API int graft_graph_num_variables(const graft_graph *g);
GRAFT_API bool graft_graph_variable_at(const graft_graph *g, int i, graft_variable *info);
/* Finds a variable by its op, its snapshot or its op name. */
GRAFT_API bool graft_graph_find_variable(const graft_graph *g, const graft_op *op_or_read, graft_variable *info);
GRAFT_API bool graft_graph_find_variable_by_name(const graft_graph *g, const char *name, graft_variable *info);
/* Registers an existing variable op (used by the meta-graph importer). */
GRAFT_API graft_code graft_graph_add_variable(graft_graph *g, const graft_variable *info, graft_status *st);
/* NoOp "init" depending on every variable's initializer
 * (tf.global_variables_initializer). */
GRAFT_API graft_op *graft_global_variables_initializer(graft_graph *g);
/* Same for the given variables (tf.variables_initializer). */
GRAFT_API graft_op *graft_variables_initializer(graft_graph *g, graft_op *const *vars, int n, const char *name);

/* Collections of op names (TF's node_list collections such as "train_op"). */
GRAFT_API void graft_graph_add_to_collection(graft_graph *g, const char *collection, graft_op *op);
GRAFT_API int graft_graph_collection_size(const graft_graph *g, const char *collection);
GRAFT_API graft_op *graft_graph_collection_at(const graft_graph *g, const char *collection, int i);

/* ---- typed builders (TF op type in brackets) ------------------------------- */
/* Element-wise with NumPy/TF broadcasting. */
GRAFT_API graft_out graft_add(graft_graph *g, graft_out a, graft_out b);       /* Add */
GRAFT_API graft_out graft_add_v2(graft_graph *g, graft_out a, graft_out b);    /* AddV2 */
GRAFT_API graft_out graft_sub(graft_graph *g, graft_out a, graft_out b);       /* Sub */
GRAFT_API graft_out graft_mul(graft_graph *g, graft_out a, graft_out b);       /* Mul */
GRAFT_API graft_out graft_div(graft_graph *g, graft_out a, graft_out b);       /* RealDiv */
GRAFT_API graft_out graft_maximum(graft_graph *g, graft_out a, graft_out b);   /* Maximum */
GRAFT_API graft_out graft_minimum(graft_graph *g, graft_out a, graft_out b);   /* Minimum */
GRAFT_API graft_out graft_pow(graft_graph *g, graft_out a, graft_out b);       /* Pow */
GRAFT_API graft_out graft_equal(graft_graph *g, graft_out a, graft_out b);     /* Equal */
GRAFT_API graft_out graft_greater(graft_graph *g, graft_out a, graft_out b);   /* Greater */
GRAFT_API graft_out graft_greater_equal(graft_graph *g, graft_out a, graft_out b); /* GreaterEqual */
GRAFT_API graft_out graft_less(graft_graph *g, graft_out a, graft_out b);      /* Less */
GRAFT_API graft_out graft_select(graft_graph *g, graft_out cond, graft_out a, graft_out b); /* Select */
GRAFT_API graft_out graft_neg(graft_graph *g, graft_out x);      /* Neg */
GRAFT_API graft_out graft_square(graft_graph *g, graft_out x);   /* Square */
GRAFT_API graft_out graft_sqrt(graft_graph *g, graft_out x);     /* Sqrt */
GRAFT_API graft_out graft_rsqrt(graft_graph *g, graft_out x);    /* Rsqrt */
GRAFT_API graft_out graft_exp(graft_graph *g, graft_out x);      /* Exp */
GRAFT_API graft_out graft_log(graft_graph *g, graft_out x);      /* Log */
GRAFT_API graft_out graft_floor(graft_graph *g, graft_out x);    /* Floor */
GRAFT_API graft_out graft_add_n(graft_graph *g, const graft_out *xs, int n); /* AddN */

/* Neural network. */
GRAFT_API graft_out graft_matmul(graft_graph *g, graft_out a, graft_out b, bool transpose_a, bool transpose_b);
GRAFT_API graft_out graft_bias_add(graft_graph *g, graft_out x, graft_out bias); /* NHWC */
GRAFT_API graft_out graft_relu(graft_graph *g, graft_out x);
GRAFT_API graft_out graft_relu6(graft_graph *g, graft_out x);
GRAFT_API graft_out graft_sigmoid(graft_graph *g, graft_out x);
GRAFT_API graft_out graft_tanh(graft_graph *g, graft_out x);
GRAFT_API graft_out graft_softmax(graft_graph *g, graft_out logits);
GRAFT_API graft_out graft_log_softmax(graft_graph *g, graft_out logits);
/* SoftmaxCrossEntropyWithLogits: returns output 0 (loss [batch]); output 1 is
 * the backprop (softmax - labels). */
GRAFT_API graft_out graft_softmax_cross_entropy_with_logits(graft_graph *g, graft_out logits, graft_out labels);
GRAFT_API graft_out graft_sparse_softmax_cross_entropy_with_logits(graft_graph *g, graft_out logits,
                                                                   graft_out labels);
typedef enum graft_padding { GRAFT_PAD_VALID = 0, GRAFT_PAD_SAME = 1 } graft_padding;
/* Conv2D, NHWC input, HWIO filter. */
GRAFT_API graft_out graft_conv2d(graft_graph *g, graft_out x, graft_out filter, int stride_h, int stride_w,
                                 graft_padding pad);
GRAFT_API graft_out graft_max_pool(graft_graph *g, graft_out x, int kh, int kw, int sh, int sw, graft_padding pad);
GRAFT_API graft_out graft_avg_pool(graft_graph *g, graft_out x, int kh, int kw, int sh, int sw, graft_padding pad);

/* Shapes and data movement. */
GRAFT_API graft_out graft_reshape(graft_graph *g, graft_out x, graft_out shape);
GRAFT_API graft_out graft_reshape_dims(graft_graph *g, graft_out x, const int64_t *dims, int n); /* -1 allowed once */
GRAFT_API graft_out graft_squeeze(graft_graph *g, graft_out x, const int64_t *axes, int n); /* n=0: all 1-dims */
GRAFT_API graft_out graft_expand_dims(graft_graph *g, graft_out x, int axis);
GRAFT_API graft_out graft_transpose(graft_graph *g, graft_out x, const int32_t *perm, int n);
GRAFT_API graft_out graft_concat(graft_graph *g, const graft_out *xs, int n, int axis); /* ConcatV2 */
GRAFT_API graft_out graft_pad(graft_graph *g, graft_out x, const int32_t *paddings /* [rank][2] */, int rank);
GRAFT_API graft_out graft_slice(graft_graph *g, graft_out x, const int32_t *begin, const int32_t *size, int n);
GRAFT_API graft_out graft_shape_of(graft_graph *g, graft_out x); /* Shape, int32 */
GRAFT_API graft_out graft_fill(graft_graph *g, graft_out dims, graft_out value);
GRAFT_API graft_out graft_zeros_like(graft_graph *g, graft_out x);
GRAFT_API graft_out graft_ones_like(graft_graph *g, graft_out x);
GRAFT_API graft_out graft_zeros(graft_graph *g, graft_dtype dt, const int64_t *dims, int n); /* Fill/Const */
GRAFT_API graft_out graft_cast(graft_graph *g, graft_out x, graft_dtype to);
GRAFT_API graft_out graft_identity(graft_graph *g, graft_out x);
GRAFT_API graft_out graft_stop_gradient(graft_graph *g, graft_out x);

/* Reductions over `axes` (n = 0: all axes). */
GRAFT_API graft_out graft_sum(graft_graph *g, graft_out x, const int32_t *axes, int n, bool keep_dims);
GRAFT_API graft_out graft_mean(graft_graph *g, graft_out x, const int32_t *axes, int n, bool keep_dims);
GRAFT_API graft_out graft_reduce_max(graft_graph *g, graft_out x, const int32_t *axes, int n, bool keep_dims);
GRAFT_API graft_out graft_argmax(graft_graph *g, graft_out x, int axis); /* int64 */

/* Random (graft's own seeded generator; seed 0 = derive from the graph seed). */
GRAFT_API graft_out graft_random_uniform(graft_graph *g, const int64_t *dims, int n, graft_dtype dt, int64_t seed);
GRAFT_API graft_out graft_truncated_normal(graft_graph *g, const int64_t *dims, int n, graft_dtype dt, int64_t seed);
GRAFT_API graft_out graft_random_normal(graft_graph *g, const int64_t *dims, int n, graft_dtype dt, int64_t seed);

/* State. Assign* take the variable op's output 0 (the ref), not name/read. */
GRAFT_API graft_out graft_assign(graft_graph *g, graft_out ref, graft_out value);
GRAFT_API graft_out graft_assign_add(graft_graph *g, graft_out ref, graft_out value);
GRAFT_API graft_out graft_assign_sub(graft_graph *g, graft_out ref, graft_out value);
/* NoOp depending on ops (tf.group). name NULL = "NoOp". */
GRAFT_API graft_op *graft_group(graft_graph *g, const char *name, graft_op *const *ops, int n);

/* ---- autodiff ------------------------------------------------------------------
 * tf.gradients(ys, xs, grad_ys): appends gradient ops under the scope
 * "gradients" (then "gradients_1", ...) and sets dxs[i] to d(sum ys)/d xs[i].
 * grad_ys may be NULL (ones). An x that no y depends on, or reached only
 * through StopGradient or integer tensors, gets dxs[i] = {NULL, 0} and is not an
 * error. Ops without a gradient on the path are an error naming them. */
GRAFT_API graft_code graft_gradients(graft_graph *g, const graft_out *ys, int ny, const graft_out *xs, int nx,
                                     const graft_out *grad_ys, graft_out *dxs, graft_status *st);

/* ---- more typed builders (lib/ops/op_extra.c) ---------------------------------
 * Float32/float64 unless stated. A graft_name_next name names the op itself,
 * never the helper Consts a builder makes (depth, axis). */
GRAFT_API graft_out graft_elu(graft_graph *g, graft_out x);      /* Elu: x < 0 ? e^x - 1 : x */
GRAFT_API graft_out graft_selu(graft_graph *g, graft_out x);     /* Selu (TF's scale and alpha) */
GRAFT_API graft_out graft_softplus(graft_graph *g, graft_out x); /* Softplus: log(1 + e^x) */
GRAFT_API graft_out graft_softsign(graft_graph *g, graft_out x); /* Softsign: x / (1 + |x|) */
/* LeakyRelu: x > 0 ? x : alpha * x (tf.nn.leaky_relu's default alpha is 0.2). */
GRAFT_API graft_out graft_leaky_relu(graft_graph *g, graft_out x, float alpha);
/* L2Loss: sum(x^2) / 2, a scalar. */
GRAFT_API graft_out graft_l2_loss(graft_graph *g, graft_out x);
/* OneHot (tf.one_hot): indices uint8/int32/int64 of any shape; the output has a
 * new dim of size depth at `axis` (-1: last) holding on_value where the index
 * equals the position and off_value elsewhere (an out-of-range index gives an
 * all-off row). dt is the output dtype (float32/64, int8/16/32/64, uint8 or
 * bool; the values are converted to it). Not differentiable. */
GRAFT_API graft_out graft_one_hot(graft_graph *g, graft_out indices, int32_t depth, double on_value,
                                  double off_value, int axis, graft_dtype dt);
/* GatherV2 (tf.gather): slices of params along `axis` (negative from the end)
 * picked by int32/int64 indices; output shape params[:axis] + indices.shape +
 * params[axis+1:]. An index outside [0, params.shape[axis]) is a run-time
 * GRAFT_ERR_INVALID_ARG naming it. Its gradient is an UnsortedSegmentSum. */
GRAFT_API graft_out graft_gather(graft_graph *g, graft_out params, graft_out indices, int axis);

#ifdef __cplusplus
}
#endif
#endif
