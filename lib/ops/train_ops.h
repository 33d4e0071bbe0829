/*
 * lib/ops/train_ops.h - builders for TF1's in-place training ops (lib/ops/op_train.c),
 * for the optimizers. Each takes the variable op's output 0 (the ref, not
 * name/read) and, for slots (accum, m, v), also the slot variables' output 0;
 * the other inputs are values (scalars for the hyperparameters). The op updates
 * the variables in the session and outputs the updated var. Default op names are
 * the TF op types (uniquified in the current scope). Sticky errors: a null
 * graft_out on failure.
 */
#ifndef GRAFT_TRAIN_OPS_H
#define GRAFT_TRAIN_OPS_H

#include "internal.h"

/* ApplyGradientDescent: var -= alpha * delta. */
GRAFTI_FUNC graft_out graftI_apply_gradient_descent(graft_graph *g, graft_out var, graft_out alpha,
                                                    graft_out delta);

/* ApplyMomentum: accum = accum * momentum + grad; var -= lr * accum, or with
 * use_nesterov var -= lr * grad + lr * momentum * accum. */
GRAFTI_FUNC graft_out graftI_apply_momentum(graft_graph *g, graft_out var, graft_out accum, graft_out lr,
                                            graft_out grad, graft_out momentum, bool use_nesterov);

/* ApplyAdam (TF 1.x): lr_t = lr * sqrt(1 - beta2_power) / (1 - beta1_power);
 * m += (grad - m)(1 - beta1); v += (grad^2 - v)(1 - beta2);
 * var -= lr_t * m / (sqrt(v) + epsilon), or with use_nesterov
 * var -= lr_t * (beta1 * m + (1 - beta1) * grad) / (sqrt(v) + epsilon).
 * beta*_power are values (the caller updates them after the step). */
GRAFTI_FUNC graft_out graftI_apply_adam(graft_graph *g, graft_out var, graft_out m, graft_out v,
                                        graft_out beta1_power, graft_out beta2_power, graft_out lr,
                                        graft_out beta1, graft_out beta2, graft_out epsilon, graft_out grad,
                                        bool use_nesterov);

#endif
