/* examples/seed_save_restore.c - the classic TensorFlow 1.x save / restore
 * walkthrough in C: save a small graph with a Saver, import its .meta into a
 * fresh graph and restore the latest checkpoint, see the error TensorFlow gives
 * when placeholders are redefined before importing, extend a restored graph,
 * and a partial Saver over two variables with global_step and later saves
 * without a .meta. Every file it writes is a TensorFlow file:
 * tf.train.import_meta_graph + saver.restore open them unchanged.
 *
 *     seed_save_restore [save|restore0|restore|restore2|partial|all] [DIR]   (default: all .) */
#include <graft/graft.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static graft_status st;

#define CHECK(x)                                                                                                  \
    do {                                                                                                          \
        if ((x) != GRAFT_OK) {                                                                                    \
            fprintf(stderr, "seed_save_restore: %s\n", st.msg);                                                   \
            return 1;                                                                                             \
        }                                                                                                         \
    } while (0)

static char dir[2048];

static float run_scalar(graft_session *s, graft_out *feeds, const float *vals, int n, graft_out fetch, int *rc)
{
    graft_tensor *fv[4] = {0}, *out = NULL;
    for (int i = 0; i < n; i++) fv[i] = graft_tensor_scalar_f32(vals[i], &st);
    *rc = graft_session_run(s, feeds, fv, n, &fetch, &out, 1, NULL, 0, &st);
    for (int i = 0; i < n; i++) graft_tensor_free(fv[i]);
    float v = out ? *(const float *)graft_tensor_cdata(out) : 0.0f;
    graft_tensor_free(out);
    return v;
}

/* save: w1, w2 placeholders, bias = 2.0, op_to_restore = (w1 + w2) * bias */
static int step_save(void)
{
    graft_graph *g = graft_graph_new();
    graft_out w1 = graft_placeholder(g, "w1", GRAFT_FLOAT, graft_shape_unknown());
    graft_out w2 = graft_placeholder(g, "w2", GRAFT_FLOAT, graft_shape_unknown());
    graft_out b1 = graft_variable_new(g, "bias", graft_const_f32(g, 2.0f), true, NULL);
    graft_out w3 = graft_add(g, w1, w2);
    graft_name_next(g, "op_to_restore");
    graft_out w4 = graft_mul(g, w3, b1);
    CHECK(graft_graph_check(g, &st));
    graft_session *s = graft_session_new(g, NULL, &st);
    if (!s) CHECK(st.code);
    CHECK(graft_session_init_variables(s, &st));
    graft_saver *saver = graft_saver_new(g, NULL, &st); /* tf.train.Saver(): every variable, save/ nodes */
    if (!saver) CHECK(st.code);
    int rc;
    graft_out feeds[2] = {w1, w2};
    float v = run_scalar(s, feeds, (const float[]){4, 8}, 2, w4, &rc);
    CHECK(rc);
    printf("save:     (w1 + w2) * bias with w1=4, w2=8 -> %g\n", v);
    char path[4096], prefix[4096];
    snprintf(path, sizeof path, "%s/checkpoint", dir);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/checkpoint/saving_restoring", dir);
    CHECK(graft_saver_save(saver, s, path, 1000, prefix, sizeof prefix, &st));
    printf("save:     wrote %s (.index, .data-00000-of-00001, .meta) and %s/checkpoint/checkpoint\n", prefix, dir);
    graft_saver_free(saver);
    graft_session_free(s);
    graft_graph_free(g);
    return v == 24.0f ? 0 : 1;
}

/* import_meta_graph + restore(latest_checkpoint) into g; returns the saver */
static graft_saver *import_and_restore(graft_graph *g, graft_session **s)
{
    char meta[4096], cdir[4096], latest[4096];
    snprintf(meta, sizeof meta, "%s/checkpoint/saving_restoring-1000.meta", dir);
    snprintf(cdir, sizeof cdir, "%s/checkpoint", dir);
    graft_meta_import *imp = NULL;
    if (graft_import_meta_graph(g, meta, NULL, &imp, &st)) return NULL;
    graft_saver *saver = graft_meta_import_take_saver(imp);
    graft_meta_import_free(imp);
    if (!saver) {
        graft_status_set(&st, GRAFT_ERR_NOT_FOUND, "%s: no saver in the meta graph", meta);
        return NULL;
    }
    *s = graft_session_new(g, NULL, &st);
    if (!*s || graft_latest_checkpoint(cdir, latest, sizeof latest, &st) ||
        graft_saver_restore(saver, *s, latest, &st)) {
        graft_saver_free(saver);
        return NULL;
    }
    return saver;
}

/* restore0: a fresh graph imports the .meta, restores, feeds 13 and 17 */
static int step_restore0(void)
{
    graft_graph *g = graft_graph_new();
    graft_session *s = NULL;
    graft_saver *saver = import_and_restore(g, &s);
    if (!saver) CHECK(st.code);
    graft_out w1, w2, op;
    CHECK(graft_graph_tensor(g, "w1:0", &w1, &st));
    CHECK(graft_graph_tensor(g, "w2:0", &w2, &st));
    CHECK(graft_graph_tensor(g, "op_to_restore:0", &op, &st));
    int rc;
    float v = run_scalar(s, (graft_out[]){w1, w2}, (const float[]){13, 17}, 2, op, &rc);
    CHECK(rc);
    printf("restore0: op_to_restore with w1=13, w2=17 -> %g\n", v);
    graft_saver_free(saver);
    graft_session_free(s);
    graft_graph_free(g);
    return v == 60.0f ? 0 : 1;
}

/* restore: placeholders w1/w2 made before importing take those names, so the
 * imported ones become w1_1/w2_1 and feeding the new ones leaves them unfed */
static int step_restore(void)
{
    graft_graph *g = graft_graph_new();
    graft_out w1 = graft_placeholder(g, "w1", GRAFT_FLOAT, graft_shape_unknown());
    graft_out w2 = graft_placeholder(g, "w2", GRAFT_FLOAT, graft_shape_unknown());
    graft_session *s = NULL;
    graft_saver *saver = import_and_restore(g, &s);
    if (!saver) CHECK(st.code);
    graft_out op;
    CHECK(graft_graph_tensor(g, "op_to_restore:0", &op, &st));
    int rc;
    run_scalar(s, (graft_out[]){w1, w2}, (const float[]){13, 17}, 2, op, &rc);
    printf("restore:  feeding the redefined w1, w2 fails as in TensorFlow:\n          %s\n", st.msg);
    graft_saver_free(saver);
    graft_session_free(s);
    graft_graph_free(g);
    return rc == GRAFT_ERR_FAILED_PRECONDITION && strstr(st.msg, "'w1_1'") ? 0 : 1;
}

/* restore2: extend the restored graph with op_to_restore * 2 */
static int step_restore2(void)
{
    graft_graph *g = graft_graph_new();
    graft_session *s = NULL;
    graft_saver *saver = import_and_restore(g, &s);
    if (!saver) CHECK(st.code);
    graft_out w1, w2, op;
    CHECK(graft_graph_tensor(g, "w1:0", &w1, &st));
    CHECK(graft_graph_tensor(g, "w2:0", &w2, &st));
    CHECK(graft_graph_tensor(g, "op_to_restore:0", &op, &st));
    graft_out add_on = graft_mul(g, op, graft_const_f32(g, 2.0f));
    CHECK(graft_graph_check(g, &st));
    int rc;
    float v = run_scalar(s, (graft_out[]){w1, w2}, (const float[]){13, 17}, 2, add_on, &rc);
    CHECK(rc);
    printf("restore2: op_to_restore * 2 -> %g\n", v);
    graft_saver_free(saver);
    graft_session_free(s);
    graft_graph_free(g);
    return v == 120.0f ? 0 : 1;
}

static bool exists(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0;
}

/* partial: Saver([w1, w2]) with global_step=1000, later saves without a .meta */
static int step_partial(void)
{
    graft_graph *g = graft_graph_new();
    graft_graph_set_seed(g, 7);
    int64_t d1[1] = {2}, d2[1] = {5};
    graft_out w1 = graft_variable_new(g, "w1", graft_random_normal(g, d1, 1, GRAFT_FLOAT, 0), true, NULL);
    graft_out w2 = graft_variable_new(g, "w2", graft_random_normal(g, d2, 1, GRAFT_FLOAT, 0), true, NULL);
    int64_t d3[1] = {3};
    graft_variable_new(g, "not_saved", graft_zeros(g, GRAFT_FLOAT, d3, 1), true, NULL);
    CHECK(graft_graph_check(g, &st));
    graft_op *vars[2] = {w1.op, w2.op}; /* snapshots (w1/read) name their variables */
    graft_saver *saver = graft_saver_new_list(g, vars, 2, NULL, &st);
    if (!saver) CHECK(st.code);
    graft_session *s = graft_session_new(g, NULL, &st);
    if (!s) CHECK(st.code);
    CHECK(graft_session_init_variables(s, &st));
    char path[4096], prefix[4096];
    snprintf(path, sizeof path, "%s/partial", dir); /* its own `checkpoint` state file */
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/partial/my_test_model", dir);
    CHECK(graft_saver_save(saver, s, path, 1000, prefix, sizeof prefix, &st));
    printf("partial:  Saver([w1, w2]) wrote %s with keys", prefix);
    for (int i = 0; i < graft_saver_num_vars(saver); i++) printf(" %s", graft_saver_key(saver, i));
    printf("\n");
    /* saver.save(..., write_meta_graph=False): the same save/ nodes (no new ops),
     * options of our own */
    graft_saver_def def;
    graft_saver_get_def(saver, &def);
    const char *keys[2] = {graft_saver_key(saver, 0), graft_saver_key(saver, 1)};
    graft_op *kv[2] = {graft_saver_var(saver, 0), graft_saver_var(saver, 1)};
    graft_saver_opts o;
    graft_saver_opts_init(&o);
    o.write_meta_graph = false;
    graft_saver *later = graft_saver_new_from_def(g, keys, kv, 2, &def, &o, &st);
    if (!later) CHECK(st.code);
    snprintf(path, sizeof path, "%s/partial/my-model", dir);
    CHECK(graft_saver_save(later, s, path, 2000, prefix, sizeof prefix, &st));
    char meta[4200];
    snprintf(meta, sizeof meta, "%s.meta", prefix);
    printf("partial:  later save %s, .meta written: %s\n", prefix, exists(meta) ? "yes" : "no");
    int bad = exists(meta);
    snprintf(meta, sizeof meta, "%s/partial/my_test_model-1000.meta", dir);
    bad |= !exists(meta);
    graft_saver_free(later);
    graft_saver_free(saver);
    graft_session_free(s);
    graft_graph_free(g);
    return bad;
}

int main(int argc, char **argv)
{
    const char *what = argc > 1 ? argv[1] : "all";
    snprintf(dir, sizeof dir, "%s", argc > 2 ? argv[2] : ".");
    int all = !strcmp(what, "all"), rc = 0, known = all;
    if (all || !strcmp(what, "save")) known = 1, rc |= step_save();
    if (all || !strcmp(what, "restore0")) known = 1, rc |= step_restore0();
    if (all || !strcmp(what, "restore")) known = 1, rc |= step_restore();
    if (all || !strcmp(what, "restore2")) known = 1, rc |= step_restore2();
    if (all || !strcmp(what, "partial")) known = 1, rc |= step_partial();
    if (!known) {
        fprintf(stderr, "usage: seed_save_restore [save|restore0|restore|restore2|partial|all] [DIR]\n");
        return 2;
    }
    return rc;
}
