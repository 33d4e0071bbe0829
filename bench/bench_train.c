/* bench/bench_train.c - end-to-end training throughput and memory of the demo's
 * VGG-style network (3 conv blocks 32/64/128, fc6/fc7 256, 5 classes, Adam,
 * batch 64) in graft; bench/bench_train_torch.py runs the same network in
 * PyTorch, and bench/run.sh prints both with the ratios.
 * Output: one line "graft train img_per_s=<x> peak_rss_mb=<y> step_ms=<z>". */
#include <graft/graft.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    int steps = argc > 1 ? atoi(argv[1]) : 30, threads = argc > 2 ? atoi(argv[2]) : 2;
    graft_status st;
    graft_graph *g = graft_graph_new();
    graft_graph_set_seed(g, 1);
    int64_t xd[4] = {-1, 28, 28, 1}, yd[1] = {-1};
    graft_out x = graft_placeholder(g, "input", GRAFT_FLOAT, graft_shape_make(4, xd));
    graft_out y = graft_placeholder(g, "labels", GRAFT_INT32, graft_shape_make(1, yd));
    graft_out h = x;
    for (int b = 0; b < 3; b++) {
        graft_conv2d_cfg c;
        graft_conv2d_cfg_init(&c);
        c.filters = 32 << b;
        c.kernel_size[0] = c.kernel_size[1] = 3;
        c.padding = GRAFT_PAD_SAME;
        c.activation = GRAFT_ACT_RELU;
        h = graft_conv2d_layer(g, h, &c);
        graft_pool2d_cfg p;
        graft_pool2d_cfg_init(&p);
        p.pool_size[0] = p.pool_size[1] = 2;
        h = graft_max_pooling2d(g, h, &p);
    }
    h = graft_flatten(g, h, NULL);
    graft_dense_cfg d;
    graft_dense_cfg_init(&d);
    d.units = 256;
    d.activation = GRAFT_ACT_RELU;
    h = graft_dense(g, graft_dense(g, h, &d), &d);
    d.units = 5;
    d.activation = GRAFT_ACT_NONE;
    graft_out loss = graft_sparse_softmax_cross_entropy_loss(g, graft_dense(g, h, &d), y);
    graft_optimizer *opt = graft_optimizer_adam(1e-3f, 0.9f, 0.999f, 1e-8f);
    graft_op *train;
    if (graft_optimizer_minimize(opt, g, loss, NULL, 0, NULL, &train, &st) != GRAFT_OK) {
        fprintf(stderr, "bench_train: %s\n", st.msg);
        return 1;
    }
    graft_session_opts so;
    graft_session_opts_init(&so);
    so.n_threads = threads;
    graft_session *s = graft_session_new(g, &so, &st);
    graft_session_init_variables(s, &st);
    int64_t xb[4] = {64, 28, 28, 1}, yb[1] = {64};
    graft_tensor *xv = graft_tensor_new(GRAFT_FLOAT, xb, 4, &st), *yv = graft_tensor_new(GRAFT_INT32, yb, 1, &st);
    float *xp = graft_tensor_data(xv);
    int32_t *yp = graft_tensor_data(yv);
    unsigned r = 1;
    for (int64_t i = 0; i < graft_tensor_num_elements(xv); i++) xp[i] = (float)((r = r * 1103515245u + 12345u) >> 16 & 255) / 255.0f;
    for (int i = 0; i < 64; i++) yp[i] = i % 5;
    graft_out feeds[2] = {x, y};
    graft_tensor *fv[2] = {xv, yv};
    double t0 = 0;
    for (int i = 0; i < steps + 3; i++) {
        if (i == 3) t0 = now(); /* warm-up: plans, pools */
        graft_tensor *lv;
        if (graft_session_run(s, feeds, fv, 2, &loss, &lv, 1, &train, 1, &st) != GRAFT_OK) {
            fprintf(stderr, "bench_train: %s\n", st.msg);
            return 1;
        }
        graft_tensor_free(lv);
    }
    double el = now() - t0;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("graft train img_per_s=%.1f peak_rss_mb=%.1f step_ms=%.2f\n", 64.0 * steps / el, ru.ru_maxrss / 1024.0,
           1000.0 * el / steps);
    graft_tensor_free(xv);
    graft_tensor_free(yv);
    graft_optimizer_free(opt);
    graft_session_free(s);
    graft_graph_free(g);
    return 0;
}
