/* examples/xor_mlp.c - trains a two-layer MLP on XOR through graft's public
 * API alone (placeholders, variables, matmul, autodiff, plain SGD built from
 * AssignSub ops) and prints its loss falling. */
#include <graft/graft.h>
#include <stdio.h>
#include <stdlib.h>

#define CHECK(x)                                                            \
    do {                                                                    \
        if ((x) != GRAFT_OK) {                                              \
            fprintf(stderr, "xor_mlp: %s\n", st.msg);                       \
            return 1;                                                       \
        }                                                                   \
    } while (0)

int main(void)
{
    graft_status st;
    graft_graph *g = graft_graph_new();
    graft_graph_set_seed(g, 42);
    int64_t xd[2] = {4, 2}, yd[2] = {4, 1};
    graft_out x = graft_placeholder(g, "x", GRAFT_FLOAT, graft_shape_make(2, xd));
    graft_out y = graft_placeholder(g, "y", GRAFT_FLOAT, graft_shape_make(2, yd));

    /* hidden layer: 8 tanh units; output: one sigmoid unit */
    int64_t w1d[2] = {2, 8}, b1d[1] = {8}, w2d[2] = {8, 1}, b2d[1] = {1};
    graft_out w1 = graft_variable_new(g, "w1", graft_random_normal(g, w1d, 2, GRAFT_FLOAT, 0), true, NULL);
    graft_out b1 = graft_variable_new(g, "b1", graft_zeros(g, GRAFT_FLOAT, b1d, 1), true, NULL);
    graft_out w2 = graft_variable_new(g, "w2", graft_random_normal(g, w2d, 2, GRAFT_FLOAT, 0), true, NULL);
    graft_out b2 = graft_variable_new(g, "b2", graft_zeros(g, GRAFT_FLOAT, b2d, 1), true, NULL);
    graft_out h = graft_tanh(g, graft_bias_add(g, graft_matmul(g, x, w1, false, false), b1));
    graft_out p = graft_sigmoid(g, graft_bias_add(g, graft_matmul(g, h, w2, false, false), b2));
    graft_name_next(g, "loss");
    graft_out loss = graft_mean(g, graft_square(g, graft_sub(g, p, y)), NULL, 0, false);
    CHECK(graft_graph_check(g, &st));

    /* gradients are graph nodes; SGD is w -= lr * dw with AssignSub */
    graft_out params[4] = {w1, b1, w2, b2}, grads[4];
    CHECK(graft_gradients(g, &loss, 1, params, 4, NULL, grads, &st));
    graft_out lr = graft_const_f32(g, 0.5f);
    graft_op *updates[4];
    for (int i = 0; i < 4; i++) {
        graft_variable v;
        graft_graph_find_variable(g, params[i].op, &v);
        updates[i] = graft_assign_sub(g, (graft_out){v.var, 0}, graft_mul(g, lr, grads[i])).op;
    }
    graft_op *train = graft_group(g, "train", updates, 4);
    CHECK(graft_graph_check(g, &st));

    graft_session *s = graft_session_new(g, NULL, &st);
    if (!s) CHECK(st.code);
    CHECK(graft_session_init_variables(s, &st));
    const float xv[8] = {0, 0, 0, 1, 1, 0, 1, 1}, yv[4] = {0, 1, 1, 0};
    graft_tensor *xt = graft_tensor_from_data(GRAFT_FLOAT, xd, 2, xv, sizeof xv, &st);
    graft_tensor *yt = graft_tensor_from_data(GRAFT_FLOAT, yd, 2, yv, sizeof yv, &st);
    graft_out feeds[2] = {x, y};
    graft_tensor *vals[2] = {xt, yt};
    float first = 0, last = 0;
    for (int step = 0; step <= 2000; step++) {
        graft_tensor *lv;
        CHECK(graft_session_run(s, feeds, vals, 2, &loss, &lv, 1, &train, 1, &st));
        last = *(float *)graft_tensor_data(lv);
        if (step == 0) first = last;
        if (step % 250 == 0) printf("step %4d  loss %.6f\n", step, last);
        graft_tensor_free(lv);
    }
    graft_tensor *pv;
    CHECK(graft_session_run(s, &x, &xt, 1, &p, &pv, 1, NULL, 0, &st));
    const float *pp = graft_tensor_data(pv);
    printf("predictions: %.3f %.3f %.3f %.3f (targets 0 1 1 0)\n", pp[0], pp[1], pp[2], pp[3]);
    int ok = last < first * 0.1f && pp[0] < 0.5f && pp[1] > 0.5f && pp[2] > 0.5f && pp[3] < 0.5f;
    graft_tensor_free(pv);
    graft_tensor_free(xt);
    graft_tensor_free(yt);
    graft_session_free(s);
    graft_graph_free(g);
    printf(ok ? "XOR learned\n" : "XOR NOT learned\n");
    return ok ? 0 : 1;
}
