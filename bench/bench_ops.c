/* bench/bench_ops.c - conv/matmul micro-benchmark: graft's Conv2D (forward and
 * both backprop ops) and MatMul on VGG-sized shapes, printed next to the same
 * shapes in PyTorch (bench/bench_ops_torch.py) with the ratio.
 *
 * Build against a configured tree (not part of the default build):
 *   cc -O2 -std=c11 -D_POSIX_C_SOURCE=200809L -Iinclude bench/bench_ops.c \
 *      build/libgraft_static.a $(pkg-config --libs openblas libprotobuf-c hdf5 zlib) -lm -o build/bench_ops
 *   /usr/bin/python3 bench/bench_ops_torch.py > build/torch_times.txt
 *   build/bench_ops build/torch_times.txt     # GRAFT_BENCH_THREADS=n (default 1)
 * Each figure is the best of 5 runs after one warm-up, in milliseconds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "graft/graft.h"

typedef struct bcase {
    const char *name;
    int n, h, w, c, kh, kw, o, stride; /* conv; matmul uses n (m), c (k), o (n) */
    bool matmul;
} bcase;

static const bcase cases[] = {
    {"conv 1x224x224x3 k3x3x3x64 s1", 1, 224, 224, 3, 3, 3, 64, 1, false},
    {"conv 1x56x56x128 k3x3x128x128 s1", 1, 56, 56, 128, 3, 3, 128, 1, false},
    {"conv 4x28x28x256 k3x3x256x256 s1", 4, 28, 28, 256, 3, 3, 256, 1, false},
    {"conv 8x32x32x64 k1x1x64x128 s1", 8, 32, 32, 64, 1, 1, 128, 1, false},
    {"matmul 256x4096 * 4096x1024", 256, 0, 0, 4096, 0, 0, 1024, 0, true},
};

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static graft_tensor *rnd(const int64_t *dims, int rank)
{
    graft_tensor *t = graft_tensor_new(GRAFT_FLOAT, dims, rank, NULL);
    float *p = graft_tensor_data(t);
    unsigned r = 1;
    for (int64_t i = 0; i < graft_tensor_num_elements(t); i++) {
        r = r * 1664525u + 1013904223u;
        p[i] = (float)(r >> 9) / 8388608.0f - 0.5f;
    }
    return t;
}

/* Best of 5 timed runs of `fetch` after a warm-up. */
static double time_run(graft_session *s, graft_out fetch)
{
    double best = 1e30;
    for (int i = 0; i < 6; i++) {
        graft_tensor *out = NULL;
        graft_status st;
        double t0 = now_ms();
        if (graft_session_run(s, NULL, NULL, 0, &fetch, &out, 1, NULL, 0, &st) != GRAFT_OK) {
            fprintf(stderr, "run: %s\n", st.msg);
            exit(1);
        }
        double dt = now_ms() - t0;
        graft_tensor_free(out);
        if (i > 0 && dt < best) best = dt;
    }
    return best;
}

static double torch_time(const char *file, const char *key)
{
    FILE *f = file ? fopen(file, "r") : NULL;
    if (!f) return 0;
    char line[256];
    double v = 0;
    size_t kl = strlen(key);
    while (fgets(line, sizeof line, f))
        if (strncmp(line, key, kl) == 0 && line[kl] == '\t') v = atof(line + kl + 1);
    fclose(f);
    return v;
}

static void report(const char *torch_file, const char *name, const char *part, double ms)
{
    char key[160];
    snprintf(key, sizeof key, "%s %s", name, part);
    double tt = torch_time(torch_file, key);
    if (tt > 0)
        printf("%-44s %-8s graft %9.2f ms  torch %9.2f ms  ratio %.2f\n", name, part, ms, tt, ms / tt);
    else
        printf("%-44s %-8s graft %9.2f ms\n", name, part, ms);
}

int main(int argc, char **argv)
{
    const char *torch_file = argc > 1 ? argv[1] : NULL;
    graft_session_opts o;
    graft_session_opts_init(&o);
    const char *th = getenv("GRAFT_BENCH_THREADS");
    o.n_threads = th ? atoi(th) : 1;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const bcase *c = &cases[i];
        graft_graph *g = graft_graph_new();
        graft_status st;
        if (c->matmul) {
            int64_t da[2] = {c->n, c->c}, db[2] = {c->c, c->o};
            graft_tensor *a = rnd(da, 2), *b = rnd(db, 2);
            graft_out y = graft_matmul(g, graft_const(g, "a", a), graft_const(g, "b", b), false, false);
            graft_session *s = graft_session_new(g, &o, &st);
            report(torch_file, c->name, "forward", time_run(s, y));
            graft_session_free(s);
            graft_tensor_free(a);
            graft_tensor_free(b);
        } else {
            int64_t dx[4] = {c->n, c->h, c->w, c->c}, df[4] = {c->kh, c->kw, c->c, c->o};
            graft_tensor *x = rnd(dx, 4), *f = rnd(df, 4);
            graft_out xo = graft_const(g, "x", x), fo = graft_const(g, "f", f);
            graft_out y = graft_conv2d(g, xo, fo, c->stride, c->stride, GRAFT_PAD_SAME);
            graft_out xs[2] = {xo, fo}, dxs[2];
            /* a constant dy, so the backprop timings exclude the forward conv */
            graft_shape ys = graft_out_shape(y);
            graft_tensor *dyv = rnd(ys.dims, 4);
            graft_out dy = graft_const(g, "dy", dyv);
            graft_tensor_free(dyv);
            if (graft_gradients(g, &y, 1, xs, 2, &dy, dxs, &st) != GRAFT_OK) {
                fprintf(stderr, "gradients: %s\n", st.msg);
                return 1;
            }
            graft_session *s = graft_session_new(g, &o, &st);
            report(torch_file, c->name, "forward", time_run(s, y));
            report(torch_file, c->name, "dinput", time_run(s, dxs[0]));
            report(torch_file, c->name, "dfilter", time_run(s, dxs[1]));
            graft_session_free(s);
            graft_tensor_free(x);
            graft_tensor_free(f);
        }
        graft_graph_free(g);
    }
    return 0;
}
