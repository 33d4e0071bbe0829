/*
 * graft/optim.h - TensorFlow 1.x optimizers (GradientDescent, Momentum with the
 * Nesterov option, Adam) that build their update step as graph ops, with TF's
 * update rules and TF's variable and op names; the global step; helpers to
 * pick a var_list by scope (fine-tuning: a variable left out is frozen).
 *
 * minimize(loss, var_list) = compute_gradients (graft_gradients, scope
 * "gradients") + apply_gradients, which makes, as tf.train.*Optimizer does:
 *  - slot variables "<var>/<Slot>" (zeros, not trainable): GradientDescent
 *    none, Momentum "<var>/Momentum", Adam "<var>/Adam" (m) and
 *    "<var>/Adam_1" (v); a taken name is uniquified as TF's variable scopes do;
 *    the initial value is "<slot>/Initializer/zeros";
 *  - Adam's non-slot scalars "beta1_power", "beta2_power" (initial beta1, beta2;
 *    not trainable), in the current name scope, once per optimizer object;
 *  - in the scope "<Name>" (uniquified: "Adam", "Adam_1", ...): the
 *    hyperparameter Consts ("Adam/learning_rate", "Adam/beta1", "Adam/beta2",
 *    "Adam/epsilon"; "Momentum/momentum"), one update op per variable
 *    "<Name>/update_<var>/ApplyAdam" (ApplyGradientDescent, ApplyMomentum),
 *    for Adam "Adam/mul" + "Adam/Assign" (beta1_power *= beta1) and "Adam/mul_1" +
 *    "Adam/Assign_1" run after the updates; the train op is a NoOp named
 *    "<Name>" grouping them, or with a global step an AssignAdd "<Name>" of the
 *    Const "<Name>/value" (1) that runs after the NoOp "<Name>/update". The train
 *    op is added to the "train_op" collection.
 * Every optimizer variable is registered in the graph, so graft_session_init_variables
 * initialises it and a Saver saves and restores it like any variable: training
 * resumes exactly. Variables not in var_list are never written.
 *
 * Update rules (training_ops.cc, float arithmetic of the variable's dtype):
 *   GradientDescent  var -= lr * g
 *   Momentum         accum = accum * momentum + g; var -= lr * accum
 *                    (Nesterov: var -= lr * g + lr * momentum * accum)
 *   Adam             lr_t = lr * sqrt(1 - beta2_power) / (1 - beta1_power)
 *                    m += (g - m)(1 - beta1); v += (g^2 - v)(1 - beta2)
 *                    var -= lr_t * m / (sqrt(v) + epsilon)   (epsilon after bias correction)
 *                    then beta1_power *= beta1, beta2_power *= beta2
 *
 * An optimizer object is bound to the first graph it builds into (its slots
 * live there); using it with another graph is GRAFT_ERR_MISUSE. Calling
 * minimize twice with one object reuses the slots and beta powers of variables
 * it has seen (TF's behaviour), but makes a new "<Name>_1" scope and train op.
 * On failure the graph may keep some of the ops made before the error (no
 * rollback); the status says what failed.
 */
#ifndef GRAFT_OPTIM_H
#define GRAFT_OPTIM_H

#include "graft/session.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct graft_optimizer graft_optimizer;

/* ---- hyperparameters (each _init sets TensorFlow's defaults) ------------------ */
typedef struct graft_sgd_opts {
    float learning_rate; /* default 0.01 (tf.train.GradientDescentOptimizer has none) */
    const char *name;    /* default "GradientDescent" */
} graft_sgd_opts;

typedef struct graft_momentum_opts {
    float learning_rate; /* default 0.01 */
    float momentum;      /* default 0.9 */
    bool use_nesterov;   /* default false */
    const char *name;    /* default "Momentum" */
} graft_momentum_opts;

typedef struct graft_adam_opts {
    float learning_rate; /* default 0.001 */
    float beta1;         /* default 0.9 */
    float beta2;         /* default 0.999 */
    float epsilon;       /* default 1e-8 */
    const char *name;    /* default "Adam" */
} graft_adam_opts;

GRAFT_API void graft_sgd_opts_init(graft_sgd_opts *o);
GRAFT_API void graft_momentum_opts_init(graft_momentum_opts *o);
GRAFT_API void graft_adam_opts_init(graft_adam_opts *o);

/* New optimizers; opts NULL = defaults. NULL on failure with st set
 * (GRAFT_ERR_INVALID_ARG for a non-finite or out-of-range hyperparameter:
 * learning_rate and epsilon must be finite and >= 0, momentum finite,
 * beta1 and beta2 in [0, 1); GRAFT_ERR_NOMEM). Free with graft_optimizer_free. */
GRAFT_API graft_optimizer *graft_sgd_new(const graft_sgd_opts *opts, graft_status *st);
GRAFT_API graft_optimizer *graft_momentum_new(const graft_momentum_opts *opts, graft_status *st);
GRAFT_API graft_optimizer *graft_adam_new(const graft_adam_opts *opts, graft_status *st);

/* Shorthands for the above (NULL on a bad value or out of memory). */
GRAFT_API graft_optimizer *graft_optimizer_sgd(float learning_rate);
GRAFT_API graft_optimizer *graft_optimizer_momentum(float learning_rate, float momentum, bool use_nesterov);
GRAFT_API graft_optimizer *graft_optimizer_adam(float learning_rate, float beta1, float beta2, float epsilon);

/* Frees the object only; the ops and variables it made stay in the graph. */
GRAFT_API void graft_optimizer_free(graft_optimizer *opt);
/* "GradientDescent", "Momentum", "Adam" or opts.name. */
GRAFT_API const char *graft_optimizer_name(const graft_optimizer *opt);

/* Uses a scalar float tensor (e.g. a placeholder or a decay schedule) as the
 * learning rate of the next apply/minimize calls instead of a Const; a null
 * graft_out goes back to the Const. The tensor must be in the graph the
 * optimizer builds into. */
GRAFT_API void graft_optimizer_set_learning_rate_tensor(graft_optimizer *opt, graft_out lr);

/* ---- building the training step ----------------------------------------------- */
/* tf.train.Optimizer.minimize. loss: a float tensor (not necessarily scalar:
 * its sum is minimised). var_list: VariableV2 ops (or their "<var>/read" ops),
 * NULL = every trainable variable of g. global_step: an integer variable op
 * incremented by each run of the train op, or NULL. *train_op receives the op
 * to run. Variables that the loss does not depend on are skipped; none at all
 * is GRAFT_ERR_INVALID_ARG ("No gradients provided for any variable"). */
GRAFT_API graft_code graft_optimizer_minimize(graft_optimizer *opt, graft_graph *g, graft_out loss,
                                              graft_op *const *var_list, int n_vars, graft_op *global_step,
                                              graft_op **train_op, graft_status *st);

/* tf.train.Optimizer.compute_gradients for an explicit var_list (n_vars > 0):
 * grads[i] = d loss / d var_list[i], or {NULL, 0} when the loss does not depend
 * on it. Gradients are ops under "gradients" (then "gradients_1", ...). */
GRAFT_API graft_code graft_optimizer_compute_gradients(graft_optimizer *opt, graft_graph *g, graft_out loss,
                                                       graft_op *const *var_list, int n_vars,
                                                       graft_out *grads, graft_status *st);

/* tf.train.Optimizer.apply_gradients: updates var_list[i] with grads[i]
 * (null gradients are skipped); grads may be any tensors of the variables'
 * shapes and dtypes (e.g. clipped ones). name NULL = the optimizer's name. */
GRAFT_API graft_code graft_optimizer_apply_gradients(graft_optimizer *opt, graft_graph *g,
                                                     const graft_out *grads, graft_op *const *var_list,
                                                     int n_vars, graft_op *global_step, const char *name,
                                                     graft_op **train_op, graft_status *st);

/* ---- state -------------------------------------------------------------------- */
/* The slot variable of `var` (VariableV2 or read op) named by TF's slot name:
 * "momentum" (Momentum), "m" / "v" (Adam); NULL if none was made. */
GRAFT_API graft_op *graft_optimizer_slot(const graft_optimizer *opt, const graft_op *var,
                                         const char *slot_name);
/* Every variable the optimizer made (slots, beta powers), in creation order:
 * e.g. for graft_variables_initializer after adding a head to a running model. */
GRAFT_API int graft_optimizer_num_variables(const graft_optimizer *opt);
GRAFT_API graft_op *graft_optimizer_variable_at(const graft_optimizer *opt, int i);

/* ---- global step ----------------------------------------------------------------
 * tf.train.create_global_step: an int64 scalar variable "global_step" (initial
 * value "global_step/Initializer/zeros", not trainable) added to the
 * "global_step" collection, made in the current name scope (TF forces the root
 * scope: call this at the top level). Returns the VariableV2 op; sticky error
 * (NULL) if the graph already has a global step. */
GRAFT_API graft_op *graft_global_step_new(graft_graph *g);
/* The graph's global step (the "global_step" collection's first entry, else a
 * variable named "global_step"), or NULL. */
GRAFT_API graft_op *graft_global_step(const graft_graph *g);

/* ---- choosing what to train ------------------------------------------------------
 * Writes to out (up to cap entries) the variables of g, in creation order, whose
 * op name is under one of `scopes` and under none of `exclude`; returns how many
 * there are in total (may exceed cap, as snprintf does). A scope "fc8" covers
 * "fc8" and "fc8/..." but not "fc8_1/..."; a scope ending in '/' is taken as
 * is. scopes NULL or n_scopes 0 = every variable. trainable_only keeps only
 * trainable variables. Freezing is leaving variables out of the var_list:
 *
 *     graft_op *head[16];
 *     int n = graft_var_list(g, (const char *[]){"fc8"}, 1, NULL, 0, true, head, 16);
 *     graft_optimizer_minimize(opt, g, loss, head, n, NULL, &train, &st);
 */
GRAFT_API int graft_var_list(const graft_graph *g, const char *const *scopes, int n_scopes,
                             const char *const *exclude, int n_exclude, bool trainable_only, graft_op **out,
                             int cap);

#ifdef __cplusplus
}
#endif
#endif
