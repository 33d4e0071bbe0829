/*
 * graft/layers.h - TF1-style layers (tf.layers.dense, conv2d, max/average
 * pooling, flatten, dropout), a softmax layer, losses (softmax cross-entropy
 * from logits, dense and sparse labels) and accuracy.
 *
 * A layer is a graph-building function: it creates its variables and emits
 * ordinary ops, so autodiff, sessions, savers and meta-graph export need
 * nothing extra. Each function takes a config struct that its _init function
 * fills with TensorFlow's defaults, so fields can be added later:
 *
 *     graft_dense_cfg d;
 *     graft_dense_cfg_init(&d);
 *     d.units = 128;
 *     d.activation = GRAFT_ACT_RELU;
 *     graft_out h = graft_dense(g, x, &d);           // scope "dense"
 *     d.units = 10;
 *     d.activation = GRAFT_ACT_NONE;
 *     graft_out logits = graft_dense(g, h, &d);      // scope "dense_1"
 *
 * Names are TensorFlow 1.x's, so checkpoints written by either side restore in
 * the other:
 *  - every layer call opens a scope unique in the graph: "dense", "dense_1", ...
 *    ("conv2d", "max_pooling2d", "average_pooling2d", "flatten", "dropout",
 *    "softmax"), or cfg.name (uniquified the same way when taken);
 *  - variables are "<scope>/kernel" and "<scope>/bias" (VariableV2 with
 *    "<var>/Assign" and "<var>/read", as tf.get_variable makes them);
 *  - the initial value is built under "<var>/Initializer/": Glorot uniform is
 *    ".../random_uniform/{shape,min,max,RandomUniform,sub,mul}" and the Add
 *    ".../random_uniform"; zeros are ".../zeros" (a Const, or for 1000+
 *    elements Fill of ".../zeros/shape_as_tensor" and ".../zeros/Const");
 *  - the ops are "<scope>/MatMul" + "<scope>/BiasAdd" (dense), "<scope>/Conv2D"
 *    + "<scope>/BiasAdd" (conv2d), then the activation ("<scope>/Relu", ...),
 *    "<scope>/MaxPool", "<scope>/AvgPool", "<scope>/Reshape" (flatten).
 *  Approximations (values identical, op names differ from TF): dropout's
 *  internals (TF nests a second "dropout/" scope and, for a tensor switch, a
 *  tf.cond; graft uses "<scope>/Select"), flatten's shape constant, the loss
 *  and accuracy internals (see each function). TF's random streams (Philox)
 *  are not reproduced: random initial values come from graft's own generator.
 *
 * Errors are the graph's sticky error (graph.h): a failing call returns a null
 * graft_out and records why; a null input makes a layer return null quietly.
 * Arguments are checked before anything is built; a failure while building
 * (out of memory) may leave the ops made before it in the graph.
 */
#ifndef GRAFT_LAYERS_H
#define GRAFT_LAYERS_H

#include "graft/session.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- activations and initializers ------------------------------------------ */
typedef enum graft_activation {
    GRAFT_ACT_NONE = 0, /* linear */
    GRAFT_ACT_RELU,     /* "<scope>/Relu" */
    GRAFT_ACT_RELU6,    /* "<scope>/Relu6" */
    GRAFT_ACT_SIGMOID,  /* "<scope>/Sigmoid" */
    GRAFT_ACT_TANH,     /* "<scope>/Tanh" */
    GRAFT_ACT_SOFTMAX   /* "<scope>/Softmax" (last axis) */
} graft_activation;

typedef enum graft_init_kind {
    GRAFT_INIT_DEFAULT = 0,    /* the layer's default: Glorot uniform kernels, zero biases */
    GRAFT_INIT_ZEROS,          /* "Initializer/zeros" */
    GRAFT_INIT_CONSTANT,       /* every element = value; "Initializer/Const" */
    GRAFT_INIT_GLOROT_UNIFORM, /* U(-l, l), l = sqrt(6 / (fan_in + fan_out)) (tf.glorot_uniform_initializer) */
    GRAFT_INIT_RANDOM_UNIFORM,  /* U(minval, maxval) */
    GRAFT_INIT_TRUNCATED_NORMAL /* mean + stddev * N(0,1) redrawn outside 2 stddev */
} graft_init_kind;

/* fan_in/fan_out as TF computes them: dense [in, out] -> in, out; conv
 * [kh, kw, in, out] -> kh*kw*in, kh*kw*out. */
typedef struct graft_initializer {
    graft_init_kind kind;
    double value;          /* CONSTANT */
    double minval, maxval; /* RANDOM_UNIFORM */
    double mean, stddev;   /* TRUNCATED_NORMAL */
    int64_t seed;          /* random kinds: op seed; 0 = derive from the graph seed (graft_graph_set_seed) */
} graft_initializer;

/* What a layer made (every field NULL when it has none). */
typedef struct graft_layer_vars {
    graft_op *kernel; /* VariableV2 "<scope>/kernel" */
    graft_op *bias;   /* VariableV2 "<scope>/bias" */
    char scope[256];  /* the layer's scope, e.g. "dense_1" */
} graft_layer_vars;

/* ---- dense (tf.layers.dense) --------------------------------------------------
 * y = activation(x · kernel + bias) for x of rank 2 [batch, in] with `in`
 * statically known; kernel [in, units], bias [units]. Flatten first for
 * higher ranks (graft_flatten). */
typedef struct graft_dense_cfg {
    int64_t units;                 /* required, > 0 */
    graft_activation activation;   /* default NONE */
    bool use_bias;                 /* default true */
    graft_initializer kernel_init; /* default Glorot uniform */
    graft_initializer bias_init;   /* default zeros */
    bool trainable;                /* default true: variables go to trainable_variables */
    const char *name;              /* default NULL = "dense" */
    graft_layer_vars *vars;        /* OUT (may be NULL): the variables made */
} graft_dense_cfg;

GRAFT_API void graft_dense_cfg_init(graft_dense_cfg *c);
GRAFT_API graft_out graft_dense(graft_graph *g, graft_out x, const graft_dense_cfg *cfg);

/* ---- conv2d (tf.layers.conv2d, NHWC) -----------------------------------------
 * kernel [kh, kw, in, filters] (HWIO), bias [filters]; x is [batch, h, w, in]
 * with `in` statically known. */
typedef struct graft_conv2d_cfg {
    int64_t filters;               /* required, > 0 */
    int kernel_size[2];            /* required, > 0 (kh, kw) */
    int strides[2];                /* default {1, 1} */
    graft_padding padding;         /* default GRAFT_PAD_VALID, as tf.layers.conv2d */
    graft_activation activation;   /* default NONE */
    bool use_bias;                 /* default true */
    graft_initializer kernel_init; /* default Glorot uniform */
    graft_initializer bias_init;   /* default zeros */
    bool trainable;                /* default true */
    const char *name;              /* default NULL = "conv2d" */
    graft_layer_vars *vars;        /* OUT (may be NULL) */
} graft_conv2d_cfg;

GRAFT_API void graft_conv2d_cfg_init(graft_conv2d_cfg *c);
GRAFT_API graft_out graft_conv2d_layer(graft_graph *g, graft_out x, const graft_conv2d_cfg *cfg);

/* ---- pooling (tf.layers.max_pooling2d / average_pooling2d, NHWC) ----------------
 * MaxPool / AvgPool with TF's SAME/VALID rules ("<scope>/MaxPool"). */
typedef struct graft_pool2d_cfg {
    int pool_size[2];      /* required, > 0 */
    int strides[2];        /* default {0, 0} = pool_size */
    graft_padding padding; /* default GRAFT_PAD_VALID */
    const char *name;      /* default NULL = "max_pooling2d" / "average_pooling2d" */
} graft_pool2d_cfg;

GRAFT_API void graft_pool2d_cfg_init(graft_pool2d_cfg *c);
GRAFT_API graft_out graft_max_pooling2d(graft_graph *g, graft_out x, const graft_pool2d_cfg *cfg);
GRAFT_API graft_out graft_average_pooling2d(graft_graph *g, graft_out x, const graft_pool2d_cfg *cfg);

/* ---- flatten (tf.layers.flatten) ----------------------------------------------
 * Reshape to [batch, prod(other dims)]; the other dims must be statically known
 * (the batch dim may be unknown). name NULL = "flatten". */
GRAFT_API graft_out graft_flatten(graft_graph *g, graft_out x, const char *name);

/* ---- dropout (tf.layers.dropout, TF >= 1.13 semantics) -----------------------
 * While training: y = x * (1 / (1 - rate)) * Cast(U[0,1) >= rate), a fresh mask
 * each run; otherwise y = Identity(x). The switch is either the C flag
 * `training` (fixed at build time) or, when training_tensor is set, a scalar
 * bool tensor read at run time (e.g. graft_placeholder_with_default of false):
 * y = Select(training_tensor, dropped, x). */
typedef struct graft_dropout_cfg {
    double rate;               /* fraction dropped, in [0, 1); default 0.5 */
    bool training;             /* default false (identity) */
    graft_out training_tensor; /* default null; a bool scalar overriding `training` */
    int64_t seed;              /* op seed; 0 = from the graph seed */
    const char *name;          /* default NULL = "dropout" */
} graft_dropout_cfg;

GRAFT_API void graft_dropout_cfg_init(graft_dropout_cfg *c);
GRAFT_API graft_out graft_dropout(graft_graph *g, graft_out x, const graft_dropout_cfg *cfg);

/* ---- softmax layer --------------------------------------------------------------
 * "<scope>/Softmax" over the last axis, scope name NULL = "softmax" (Keras's
 * Softmax layer naming). */
GRAFT_API graft_out graft_softmax_layer(graft_graph *g, graft_out x, const char *name);

/* ---- losses and metrics -----------------------------------------------------------
 * graft_softmax_cross_entropy_loss: mean over the batch of
 * SoftmaxCrossEntropyWithLogits(logits [batch, classes], labels), labels of the
 * logits' shape and dtype (one-hot or soft) behind a StopGradient as the TF1
 * tf.nn.softmax_cross_entropy_with_logits wrapper does, so no gradient reaches
 * them. Ops: scope "softmax_cross_entropy_loss": "labels_stop_gradient",
 * "xentropy", and the Mean "value" (graft's names; tf.losses' weighted-mean
 * plumbing is not reproduced, the value is the plain batch mean). */
GRAFT_API graft_out graft_softmax_cross_entropy_loss(graft_graph *g, graft_out logits,
                                                     graft_out onehot_labels);

/* Mean over the batch of SparseSoftmaxCrossEntropyWithLogits(logits [batch,
 * classes], labels [batch] int32 or int64 class ids). A label outside
 * [0, classes) is a run-time error. Scope "sparse_softmax_cross_entropy_loss":
 * "xentropy", "value". */
GRAFT_API graft_out graft_sparse_softmax_cross_entropy_loss(graft_graph *g, graft_out logits,
                                                            graft_out labels);

/* Fraction of rows whose ArgMax(logits, 1) equals the label: labels are class
 * ids [batch] (int32/int64), or one-hot/soft rows shaped like the logits (then
 * their ArgMax is used). A float32 scalar; a batch-local value, not TF's
 * streaming tf.metrics.accuracy. Scope "accuracy": "ArgMax", "Equal", "Cast",
 * the Mean "value". */
GRAFT_API graft_out graft_accuracy(graft_graph *g, graft_out logits, graft_out labels);

#ifdef __cplusplus
}
#endif
#endif
