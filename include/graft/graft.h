/*
 * graft/graft.h - umbrella header for graft, a C11 library for building,
 * training and fine-tuning TensorFlow-style graphs that reads and writes
 * TensorFlow checkpoints and meta graphs natively.
 *
 * A worked example: y = softmax(x W + b), a loss, its gradients, one SGD step.
 *
 *     graft_graph *g = graft_graph_new();
 *     int64_t xd[2] = {-1, 4};
 *     graft_out x = graft_placeholder(g, "x", GRAFT_FLOAT, graft_shape_make(2, xd));
 *     graft_out y_ = graft_placeholder(g, "y", GRAFT_FLOAT, graft_shape_make(2, (int64_t[]){-1, 3}));
 *     graft_out w = graft_variable_new(g, "W", graft_zeros(g, GRAFT_FLOAT, (int64_t[]){4, 3}, 2), true, NULL);
 *     graft_out b = graft_variable_new(g, "b", graft_zeros(g, GRAFT_FLOAT, (int64_t[]){3}, 1), true, NULL);
 *     graft_out logits = graft_add(g, graft_matmul(g, x, w, false, false), b);
 *     graft_out loss = graft_mean(g, graft_softmax_cross_entropy_with_logits(g, logits, y_), NULL, 0, false);
 *     graft_out grads[2];
 *     graft_gradients(g, &loss, 1, (graft_out[]){w, b}, 2, NULL, grads, &st);
 *     graft_session *s = graft_session_new(g, NULL, &st);
 *     graft_session_init_variables(s, &st);
 *     graft_session_run(s, (graft_out[]){x, y_}, (graft_tensor *[]){xv, yv}, 2, &loss, &lossv, 1, NULL, 0, &st);
 *
 * Threads: a graph and the sessions made on it may be used by one thread at a
 * time; distinct graphs are independent. graft_session_run may use n_threads
 * internal workers (OpenBLAS included).
 */
#ifndef GRAFT_GRAFT_H
#define GRAFT_GRAFT_H

#include "graft/common.h"
#include "graft/tensor.h"
#include "graft/graph.h"
#include "graft/session.h"
#include "graft/checkpoint.h"
#include "graft/metagraph.h"
#include "graft/layers.h"
#include "graft/optim.h"
#include "graft/data.h"
#include "graft/npy.h"
#include "graft/keras.h"

#endif
