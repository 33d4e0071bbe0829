/* examples/vgg_transfer.c - graft's main job, the whole transfer-learning story
 * on real data (Fashion-MNIST from the Debian package), no downloads:
 *  1. build a VGG-style network in C (3x3 conv blocks, fc6, fc7, fc8), train it
 *     on classes 0-4, save a TensorFlow checkpoint + .meta;
 *  2. in a fresh graph, import that .meta, restore it, take fc7, stop the
 *     gradient there, append a new dense + softmax head for classes 5-9, train
 *     only the head (frozen trunk checked bit for bit), report test accuracy;
 *  3. save a checkpoint of only the head's variables, reload it into a fresh
 *     graph and show the same accuracy.
 * Usage: vgg_transfer [OUTDIR] [--quick] [--min-accuracy A]. Progress goes to
 * stderr; the accuracies go to stdout. */
#include <graft/graft.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static graft_status st;
#define CHECK(x)                                                                       \
    do {                                                                               \
        if ((x) != GRAFT_OK) {                                                         \
            fprintf(stderr, "vgg_transfer: %s:%d: %s\n", __FILE__, __LINE__, st.msg);  \
            exit(1);                                                                   \
        }                                                                              \
    } while (0)
#define CHECKG(g) CHECK(graft_graph_check((g), &st))

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void mkdirs(const char *path)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            mkdir(buf, 0755);
            *p = '/';
        }
    mkdir(buf, 0755);
}

/* Progress line: step, loss, accuracy, images/s, time left. */
static void progress(const char *phase, int64_t step, int64_t steps, float loss, float acc, double t0, int64_t images)
{
    double el = now() - t0, ips = el > 0 ? (double)images / el : 0;
    double left = step > 0 ? el / (double)step * (double)(steps - step) : 0;
    fprintf(stderr, "\r%s step %5lld/%lld  loss %.4f  acc %.3f  %7.0f img/s  %4.0fs left ", phase,
            (long long)step, (long long)steps, loss, acc, ips, left);
    if (step == steps) fputc('\n', stderr);
}

static graft_dataset *load(graft_data_split split, int first_class)
{
    int32_t cls[5];
    for (int i = 0; i < 5; i++) cls[i] = first_class + i;
    graft_data_opts o;
    graft_data_opts_init(&o);
    o.split = split;
    o.classes = cls;
    o.n_classes = 5;
    o.relabel = true;
    graft_dataset *ds = graft_dataset_load_fashion_mnist(&o, &st);
    if (!ds) CHECK(st.code);
    return ds;
}

/* FNV-1a over every variable's bytes: to prove frozen variables never change. */
static uint64_t checksum_vars(graft_session *s, graft_op *const *vars, int n)
{
    uint64_t h = 1469598103934665603ull;
    for (int i = 0; i < n; i++) {
        graft_tensor *t = graft_session_variable_storage(s, vars[i]);
        const unsigned char *p = graft_tensor_cdata(t);
        for (size_t k = 0; k < graft_tensor_nbytes(t); k++) h = (h ^ p[k]) * 1099511628211ull;
    }
    return h;
}

/* Accuracy of `logits` over a dataset, fed through `x` in batches. */
static double evaluate(graft_session *s, graft_out x, graft_out logits, const graft_dataset *ds)
{
    graft_batcher_opts bo;
    graft_batcher_opts_init(&bo);
    bo.batch_size = 500;
    graft_batcher *b = graft_batcher_new(ds, &bo, &st);
    if (!b) CHECK(st.code);
    int64_t correct = 0, total = 0;
    for (;;) {
        graft_batch bt;
        CHECK(graft_batcher_next(b, &bt, &st));
        if (bt.count == 0) break;
        graft_tensor *lv;
        CHECK(graft_session_run(s, &x, &bt.images, 1, &logits, &lv, 1, NULL, 0, &st));
        const float *l = graft_tensor_cdata(lv);
        const int32_t *y = graft_tensor_cdata(bt.labels);
        int64_t k = graft_tensor_dim(lv, 1);
        for (int64_t i = 0; i < bt.count; i++) {
            int64_t am = 0;
            for (int64_t j = 1; j < k; j++)
                if (l[i * k + j] > l[i * k + am]) am = j;
            correct += am == y[i];
        }
        total += bt.count;
        graft_tensor_free(lv);
    }
    graft_batcher_free(b);
    return total ? (double)correct / (double)total : 0;
}

/* ---- 1. pretrain a VGG-style network on classes 0-4 ------------------------------ */
static void pretrain(const char *dir, int epochs, int64_t limit)
{
    double t0 = now();
    graft_dataset *train = load(GRAFT_SPLIT_TRAIN, 0), *test = load(GRAFT_SPLIT_TEST, 0);
    if (limit) {
        graft_data_opts o;
        graft_data_opts_init(&o);
        o.limit = limit;
        graft_dataset *t = graft_dataset_filter(train, &o, &st);
        if (!t) CHECK(st.code);
        graft_dataset_free(train);
        train = t;
    }
    fprintf(stderr, "[1/3] pretraining a VGG-style net on Fashion-MNIST classes 0-4 (%lld images)\n",
            (long long)graft_dataset_size(train));
    graft_graph *g = graft_graph_new();
    graft_graph_set_seed(g, 1);
    int64_t xd[4] = {-1, 28, 28, 1}, yd[1] = {-1};
    graft_out x = graft_placeholder(g, "input", GRAFT_FLOAT, graft_shape_make(4, xd));
    graft_out y = graft_placeholder(g, "labels", GRAFT_INT32, graft_shape_make(1, yd));
    /* three conv blocks of 3x3 SAME convolutions (32, 64, 128) with 2x2 max pooling */
    static const char *const conv_names[3] = {"conv1_1", "conv2_1", "conv3_1"};
    static const char *const pool_names[3] = {"pool1", "pool2", "pool3"};
    graft_out h = x;
    for (int b = 0; b < 3; b++) {
        graft_conv2d_cfg c;
        graft_conv2d_cfg_init(&c);
        c.filters = 32 << b;
        c.kernel_size[0] = c.kernel_size[1] = 3;
        c.padding = GRAFT_PAD_SAME;
        c.activation = GRAFT_ACT_RELU;
        c.name = conv_names[b];
        h = graft_conv2d_layer(g, h, &c);
        graft_pool2d_cfg p;
        graft_pool2d_cfg_init(&p);
        p.pool_size[0] = p.pool_size[1] = 2;
        p.name = pool_names[b];
        h = graft_max_pooling2d(g, h, &p);
    }
    h = graft_flatten(g, h, "flatten");
    graft_dense_cfg d;
    graft_dense_cfg_init(&d);
    d.units = 256;
    d.activation = GRAFT_ACT_RELU;
    d.name = "fc6";
    h = graft_dense(g, h, &d);
    d.name = "fc7";
    h = graft_dense(g, h, &d);
    d.units = 5;
    d.activation = GRAFT_ACT_NONE;
    d.name = "fc8";
    graft_out logits = graft_dense(g, h, &d);
    graft_out loss = graft_sparse_softmax_cross_entropy_loss(g, logits, y);
    graft_out acc = graft_accuracy(g, logits, y);
    CHECKG(g);
    graft_op *gs = graft_global_step_new(g);
    graft_optimizer *opt = graft_optimizer_adam(1e-3f, 0.9f, 0.999f, 1e-8f);
    graft_op *train_op;
    CHECK(graft_optimizer_minimize(opt, g, loss, NULL, 0, gs, &train_op, &st));
    graft_saver_opts so;
    graft_saver_opts_init(&so);
    so.max_to_keep = 2;
    graft_saver *saver = graft_saver_new(g, &so, &st);
    if (!saver) CHECK(st.code);
    graft_session *s = graft_session_new(g, NULL, &st);
    if (!s) CHECK(st.code);
    CHECK(graft_session_init_variables(s, &st));

    graft_batcher_opts bo;
    graft_batcher_opts_init(&bo);
    bo.batch_size = 64;
    bo.shuffle = true;
    bo.seed = 7;
    graft_batcher *bt = graft_batcher_new(train, &bo, &st);
    if (!bt) CHECK(st.code);
    int64_t steps = graft_batcher_num_batches(bt) * epochs, step = 0, images = 0;
    double tt = now();
    float lsum = 0, asum = 0;
    int navg = 0;
    graft_out feeds[2] = {x, y}, fetches[2] = {loss, acc};
    while (step < steps) {
        graft_batch b;
        CHECK(graft_batcher_next(bt, &b, &st));
        if (b.count == 0) continue;
        graft_tensor *fv[2] = {b.images, b.labels}, *out[2];
        CHECK(graft_session_run(s, feeds, fv, 2, fetches, out, 2, &train_op, 1, &st));
        lsum += *(float *)graft_tensor_data(out[0]);
        asum += *(float *)graft_tensor_data(out[1]);
        navg++;
        graft_tensor_free(out[0]);
        graft_tensor_free(out[1]);
        step++;
        images += b.count;
        if (step % 20 == 0 || step == steps) {
            progress("  pretrain", step, steps, lsum / (float)navg, asum / (float)navg, tt, images);
            lsum = asum = 0;
            navg = 0;
        }
    }
    graft_batcher_free(bt);
    double test_acc = evaluate(s, x, logits, test);
    char prefix[1024], path[1024];
    snprintf(path, sizeof path, "%s/pretrained", dir);
    mkdirs(path);
    snprintf(path, sizeof path, "%s/pretrained/vgg", dir);
    CHECK(graft_saver_save(saver, s, path, step, prefix, sizeof prefix, &st));
    fprintf(stderr, "  test accuracy on classes 0-4: %.4f; saved %s (.index, .data, .meta) in %.0fs\n", test_acc,
            prefix, now() - t0);
    printf("pretrain_test_accuracy_classes_0_4 %.4f\n", test_acc);
    graft_saver_free(saver);
    graft_optimizer_free(opt);
    graft_session_free(s);
    graft_graph_free(g);
    graft_dataset_free(train);
    graft_dataset_free(test);
}

/* ---- 2. transfer: import, fc7 + stop_gradient, new head on classes 5-9 ------------ */
typedef struct head {
    graft_out x, labels, fc7, feat, logits, loss, acc;
    graft_op *vars[4];
    int n_vars;
} head;

/* Imports the pretrained meta graph into g and restores the latest checkpoint. */
static void import_pretrained(graft_graph *g, graft_session **s, const char *dir, const char *meta_path,
                              graft_saver **imported_saver)
{
    char ckdir[1024], latest[1024];
    snprintf(ckdir, sizeof ckdir, "%s/pretrained", dir);
    CHECK(graft_latest_checkpoint(ckdir, latest, sizeof latest, &st));
    char meta[1100];
    if (meta_path) snprintf(meta, sizeof meta, "%s", meta_path);
    else snprintf(meta, sizeof meta, "%s.meta", latest);
    graft_meta_import *res;
    CHECK(graft_import_meta_graph(g, meta, NULL, &res, &st));
    graft_saver *saver = graft_meta_import_take_saver(res);
    graft_meta_import_free(res);
    if (!saver) {
        fprintf(stderr, "vgg_transfer: %s has no usable SaverDef\n", meta);
        exit(1);
    }
    *s = graft_session_new(g, NULL, &st);
    if (!*s) CHECK(st.code);
    CHECK(graft_saver_restore(saver, *s, latest, &st));
    if (imported_saver) *imported_saver = saver;
    else graft_saver_free(saver);
}

static void build_head(graft_graph *g, head *hd)
{
    CHECK(graft_graph_tensor(g, "input:0", &hd->x, &st));
    CHECK(graft_graph_tensor(g, "fc7/Relu:0", &hd->fc7, &st));
    int64_t yd[1] = {-1};
    graft_graph_push_scope(g, "transfer");
    hd->labels = graft_placeholder(g, "labels", GRAFT_INT32, graft_shape_make(1, yd));
    graft_name_next(g, "fc7_frozen");
    hd->feat = graft_stop_gradient(g, hd->fc7);
    graft_layer_vars v1, v2;
    graft_dense_cfg d;
    graft_dense_cfg_init(&d);
    d.units = 128;
    d.activation = GRAFT_ACT_RELU;
    d.name = "head_hidden";
    d.vars = &v1;
    graft_out h = graft_dense(g, hd->feat, &d);
    d.units = 5;
    d.activation = GRAFT_ACT_NONE;
    d.name = "head_logits";
    d.vars = &v2;
    hd->logits = graft_dense(g, h, &d);
    graft_softmax_layer(g, hd->logits, "head_softmax");
    hd->loss = graft_sparse_softmax_cross_entropy_loss(g, hd->logits, hd->labels);
    hd->acc = graft_accuracy(g, hd->logits, hd->labels);
    graft_graph_pop_scope(g);
    CHECKG(g);
    hd->vars[0] = v1.kernel;
    hd->vars[1] = v1.bias;
    hd->vars[2] = v2.kernel;
    hd->vars[3] = v2.bias;
    hd->n_vars = 4;
}

/* fc7 features of every image, computed once: the trunk is frozen, so the head
 * trains on them by feeding the stop-gradient tensor (the session then prunes
 * the whole trunk from each training step). */
static float *features(graft_session *s, const head *hd, const graft_dataset *ds)
{
    int64_t n = graft_dataset_size(ds);
    float *f = malloc((size_t)n * 256 * sizeof(float));
    if (!f) exit(1);
    graft_batcher_opts bo;
    graft_batcher_opts_init(&bo);
    bo.batch_size = 500;
    graft_batcher *b = graft_batcher_new(ds, &bo, &st);
    if (!b) CHECK(st.code);
    int64_t at = 0;
    for (;;) {
        graft_batch bt;
        CHECK(graft_batcher_next(b, &bt, &st));
        if (bt.count == 0) break;
        graft_tensor *fv;
        CHECK(graft_session_run(s, &hd->x, &bt.images, 1, &hd->feat, &fv, 1, NULL, 0, &st));
        memcpy(f + at * 256, graft_tensor_cdata(fv), (size_t)bt.count * 256 * sizeof(float));
        at += bt.count;
        graft_tensor_free(fv);
    }
    graft_batcher_free(b);
    return f;
}

static double transfer(const char *dir, int epochs, int64_t limit, char *head_prefix, size_t cap)
{
    double t0 = now();
    graft_dataset *train = load(GRAFT_SPLIT_TRAIN, 5), *test = load(GRAFT_SPLIT_TEST, 5);
    if (limit) {
        graft_data_opts o;
        graft_data_opts_init(&o);
        o.limit = limit;
        graft_dataset *t = graft_dataset_filter(train, &o, &st);
        if (!t) CHECK(st.code);
        graft_dataset_free(train);
        train = t;
    }
    fprintf(stderr, "[2/3] transfer: import the .meta, restore, fc7 + stop_gradient, new head for classes 5-9\n");
    graft_graph *g = graft_graph_new();
    graft_graph_set_seed(g, 2);
    graft_session *s;
    import_pretrained(g, &s, dir, NULL, NULL);
    head hd;
    build_head(g, &hd);
    graft_optimizer *opt = graft_optimizer_adam(1e-3f, 0.9f, 0.999f, 1e-8f);
    graft_op *train_op;
    CHECK(graft_optimizer_minimize(opt, g, hd.loss, hd.vars, hd.n_vars, NULL, &train_op, &st));
    /* initialise only what the transfer added: the head and its optimizer state */
    int nnew = graft_optimizer_num_variables(opt);
    graft_op **newvars = calloc((size_t)(nnew + hd.n_vars), sizeof *newvars);
    for (int i = 0; i < hd.n_vars; i++) newvars[i] = hd.vars[i];
    for (int i = 0; i < nnew; i++) newvars[hd.n_vars + i] = graft_optimizer_variable_at(opt, i);
    graft_op *init = graft_variables_initializer(g, newvars, nnew + hd.n_vars, "transfer_init");
    CHECKG(g);
    CHECK(graft_session_run(s, NULL, NULL, 0, NULL, NULL, 0, &init, 1, &st));
    /* every variable of the imported trunk is frozen: checksum them */
    graft_op *trunk[256];
    int ntrunk = graft_var_list(g, NULL, 0, (const char *[]){"transfer"}, 1, false, trunk, 256);
    for (int i = 0; i < nnew; i++)
        for (int j = 0; j < ntrunk; j++)
            if (trunk[j] == newvars[hd.n_vars + i]) trunk[j--] = trunk[--ntrunk];
    uint64_t before = checksum_vars(s, trunk, ntrunk);

    double tf = now();
    int64_t n = graft_dataset_size(train);
    float *feat = features(s, &hd, train);
    fprintf(stderr, "  fc7 features of %lld images in %.1fs\n", (long long)n, now() - tf);
    const int32_t *labels = graft_dataset_labels(train);
    int64_t B = 64, fd[2] = {B, 256}, ld[1] = {B};
    graft_tensor *fb = graft_tensor_new(GRAFT_FLOAT, fd, 2, &st), *lb = graft_tensor_new(GRAFT_INT32, ld, 1, &st);
    int64_t *order = malloc((size_t)n * sizeof *order);
    for (int64_t i = 0; i < n; i++) order[i] = i;
    uint64_t rng = 12345;
    int64_t per_epoch = n / B, steps = per_epoch * epochs, step = 0;
    graft_out feeds[2] = {hd.feat, hd.labels}, fetches[2] = {hd.loss, hd.acc};
    double tt = now();
    float lsum = 0, asum = 0;
    int navg = 0;
    for (int e = 0; e < epochs; e++) {
        for (int64_t i = n - 1; i > 0; i--) { /* Fisher-Yates with an LCG */
            rng = rng * 6364136223846793005ull + 1442695040888963407ull;
            int64_t j = (int64_t)((rng >> 33) % (uint64_t)(i + 1)), t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        for (int64_t b = 0; b < per_epoch; b++) {
            float *fp = graft_tensor_data(fb);
            int32_t *lp = graft_tensor_data(lb);
            for (int64_t k = 0; k < B; k++) {
                int64_t idx = order[b * B + k];
                memcpy(fp + k * 256, feat + idx * 256, 256 * sizeof(float));
                lp[k] = labels[idx];
            }
            graft_tensor *fv[2] = {fb, lb}, *out[2];
            CHECK(graft_session_run(s, feeds, fv, 2, fetches, out, 2, &train_op, 1, &st));
            lsum += *(float *)graft_tensor_data(out[0]);
            asum += *(float *)graft_tensor_data(out[1]);
            navg++;
            graft_tensor_free(out[0]);
            graft_tensor_free(out[1]);
            step++;
            if (step % 100 == 0 || step == steps) {
                progress("  head    ", step, steps, lsum / (float)navg, asum / (float)navg, tt, step * B);
                lsum = asum = 0;
                navg = 0;
            }
        }
    }
    uint64_t after = checksum_vars(s, trunk, ntrunk);
    fprintf(stderr, "  %d frozen trunk variables bit-identical after training: %s\n", ntrunk,
            before == after ? "yes" : "NO");
    if (before != after) exit(1);
    /* end to end: images -> imported trunk -> new head */
    double test_acc = evaluate(s, hd.x, hd.logits, test);
    fprintf(stderr, "  test accuracy on classes 5-9: %.4f (%.0fs)\n", test_acc, now() - t0);
    printf("transfer_test_accuracy_classes_5_9 %.4f\n", test_acc);

    /* ---- 3. a checkpoint of only the head's variables --------------------------- */
    graft_saver_opts so;
    graft_saver_opts_init(&so);
    graft_saver *hs = graft_saver_new_list(g, hd.vars, hd.n_vars, &so, &st);
    if (!hs) CHECK(st.code);
    char path[1024];
    snprintf(path, sizeof path, "%s/head", dir);
    mkdirs(path);
    snprintf(path, sizeof path, "%s/head/head", dir);
    CHECK(graft_saver_save(hs, s, path, step, head_prefix, cap, &st));
    fprintf(stderr, "[3/3] saved the head only (%d variables) to %s\n", graft_saver_num_vars(hs), head_prefix);
    graft_saver_free(hs);
    free(order);
    free(feat);
    graft_tensor_free(fb);
    graft_tensor_free(lb);
    free(newvars);
    graft_optimizer_free(opt);
    graft_session_free(s);
    graft_graph_free(g);
    graft_dataset_free(train);
    graft_dataset_free(test);
    return test_acc;
}

/* ---- 3b. reload: fresh graph, pretrained trunk + the head checkpoint ------------------ */
static double reload(const char *dir, const char *head_prefix)
{
    graft_dataset *test = load(GRAFT_SPLIT_TEST, 5);
    graft_graph *g = graft_graph_new();
    graft_session *s;
    import_pretrained(g, &s, dir, NULL, NULL);
    head hd;
    build_head(g, &hd); /* same code, same names: transfer/head_hidden/kernel, ... */
    graft_saver *hs = graft_saver_new_list(g, hd.vars, hd.n_vars, NULL, &st);
    if (!hs) CHECK(st.code);
    CHECK(graft_saver_restore(hs, s, head_prefix, &st));
    double acc = evaluate(s, hd.x, hd.logits, test);
    fprintf(stderr, "  reloaded into a fresh graph: test accuracy on classes 5-9: %.4f\n", acc);
    graft_saver_free(hs);
    graft_session_free(s);
    graft_graph_free(g);
    graft_dataset_free(test);
    return acc;
}

int main(int argc, char **argv)
{
    const char *dir = "out/vgg_transfer";
    bool quick = false;
    double min_acc = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) quick = true;
        else if (strcmp(argv[i], "--min-accuracy") == 0 && i + 1 < argc) min_acc = atof(argv[++i]);
        else if (argv[i][0] == '-') {
            fprintf(stderr, "usage: vgg_transfer [OUTDIR] [--quick] [--min-accuracy A]\n");
            return 2;
        } else dir = argv[i];
    }
    double t0 = now();
    char head_prefix[1024];
    pretrain(dir, quick ? 1 : 2, quick ? 3000 : 0);
    double acc = transfer(dir, quick ? 5 : 10, quick ? 3000 : 0, head_prefix, sizeof head_prefix);
    double acc2 = reload(dir, head_prefix);
    fprintf(stderr, "done in %.0fs: classes 5-9 test accuracy %.4f (reloaded %.4f)\n", now() - t0, acc, acc2);
    if (acc != acc2) {
        fprintf(stderr, "vgg_transfer: the reloaded head does not reproduce the accuracy\n");
        return 1;
    }
    if (acc < min_acc) {
        fprintf(stderr, "vgg_transfer: accuracy %.4f is below the required %.4f\n", acc, min_acc);
        return 1;
    }
    return 0;
}
