/* tests/test_metagraph_export.c - graph -> .meta: a graph built in C is
 * exported, the reference decoder (refread) accepts the file, the independent
 * GraphDef interpreter (refrun) computes the same outputs from it and a
 * checkpoint of its variables, and importing it back into graft gives
 * bit-identical results. Also: OpDef table consistency with graft's registry. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <cmocka.h>

#include "infra.h"
#include "meta_run.h"
#include "internal.h"
#include "graft/metagraph.h"
#include "graft/npy.h"
#include "metagraph/mg.h"

static void check(graft_code c, const graft_status *st)
{
    if (c != GRAFT_OK) fail_msg("%s", st->msg);
}

/* x[?,4,4,1] -> conv 3x3x1x2 SAME + b -> relu -> maxpool 2x2 -> reshape [?,8]
 * -> matmul W[8,3] + c -> softmax / argmax; plus concat and a scalar mul. */
typedef struct built {
    graft_graph *g;
    graft_out x, logits, probs, am, cat;
} built;

static void build(built *m)
{
    graft_graph *g = graft_graph_new();
    m->g = g;
    int64_t xd[4] = {-1, 4, 4, 1};
    m->x = graft_placeholder(g, "x", GRAFT_FLOAT, graft_shape_make(4, xd));
    float kv[18], wv[24], bv[2] = {0.1f, -0.2f}, cv[3] = {0.3f, 0.0f, -0.1f};
    for (int i = 0; i < 18; i++) kv[i] = (float)((i * 7 % 11) - 5) / 7.0f;
    for (int i = 0; i < 24; i++) wv[i] = (float)((i * 5 % 13) - 6) / 9.0f;
    graft_status st;
    int64_t kd[4] = {3, 3, 1, 2}, wd[2] = {8, 3}, bd[1] = {2}, cd[1] = {3};
    graft_tensor *kt = graft_tensor_from_data(GRAFT_FLOAT, kd, 4, kv, sizeof kv, &st);
    graft_tensor *wt = graft_tensor_from_data(GRAFT_FLOAT, wd, 2, wv, sizeof wv, &st);
    graft_tensor *bt = graft_tensor_from_data(GRAFT_FLOAT, bd, 1, bv, sizeof bv, &st);
    graft_tensor *ct = graft_tensor_from_data(GRAFT_FLOAT, cd, 1, cv, sizeof cv, &st);
    graft_out k = graft_variable_new(g, "conv/kernel", graft_const(g, "k_init", kt), true, NULL);
    graft_out b = graft_variable_new(g, "conv/bias", graft_const(g, "b_init", bt), true, NULL);
    graft_out w = graft_variable_new(g, "fc/W", graft_const(g, "w_init", wt), true, NULL);
    graft_out c = graft_variable_new(g, "fc/b", graft_const(g, "c_init", ct), false, NULL);
    graft_tensor_free(kt);
    graft_tensor_free(wt);
    graft_tensor_free(bt);
    graft_tensor_free(ct);
    graft_out h = graft_relu(g, graft_bias_add(g, graft_conv2d(g, m->x, k, 1, 1, GRAFT_PAD_SAME), b));
    h = graft_max_pool(g, h, 2, 2, 2, 2, GRAFT_PAD_VALID);
    int64_t flat[2] = {-1, 8};
    h = graft_reshape_dims(g, h, flat, 2);
    graft_out mm = graft_matmul(g, h, w, false, false);
    graft_name_next(g, "logits");
    m->logits = graft_add(g, mm, c);
    graft_name_next(g, "probs");
    m->probs = graft_softmax(g, m->logits);
    m->am = graft_argmax(g, m->logits, 1);
    graft_out two[2] = {m->logits, graft_mul(g, m->probs, graft_const_f32(g, 2.0f))};
    m->cat = graft_concat(g, two, 2, 1);
    graft_graph_add_to_collection(g, "outputs", m->probs.op);
    check(graft_graph_check(g, &st), &st);
}

static graft_tensor *input(void)
{
    float v[2 * 16];
    for (int i = 0; i < 32; i++) v[i] = sinf((float)i * 0.7f) * 2.0f;
    int64_t d[4] = {2, 4, 4, 1};
    graft_status st;
    return graft_tensor_from_data(GRAFT_FLOAT, d, 4, v, sizeof v, &st);
}

static void run(graft_session *s, graft_out x, graft_tensor *xv, const graft_out *f, graft_tensor **out, int n)
{
    graft_status st;
    check(graft_session_run(s, &x, &xv, 1, f, out, n, NULL, 0, &st), &st);
}

static void test_export_roundtrip(void **state)
{
    (void)state;
    graft_status st;
    built m;
    build(&m);
    graft_session *s = graft_session_new(m.g, NULL, &st);
    assert_non_null(s);
    check(graft_session_init_variables(s, &st), &st);
    graft_tensor *xv = input();
    graft_out f[4] = {m.logits, m.probs, m.am, m.cat};
    graft_tensor *a[4] = {0};
    run(s, m.x, xv, f, a, 4);

    /* checkpoint of the variables, keyed by op name (what TF's default Saver does) */
    graft_ckpt_writer *w = graft_ckpt_writer_new("model", &st);
    assert_non_null(w);
    for (int i = 0; i < graft_graph_num_variables(m.g); i++) {
        graft_variable v;
        graft_graph_variable_at(m.g, i, &v);
        graft_tensor *t = NULL;
        check(graft_session_get_variable(s, v.var, &t, &st), &st);
        check(graft_ckpt_writer_add(w, graft_op_name(v.var), t, &st), &st);
        graft_tensor_free(t);
    }
    check(graft_ckpt_writer_finish(w, &st), &st);
    graft_ckpt_writer_free(w);
    check(graft_meta_graph_export(m.g, NULL, "model.meta", &st), &st);

    /* graft's own reader: versions, op list, collections */
    graft_meta_graph *mg = NULL;
    check(graft_meta_graph_read("model.meta", NULL, &mg, &st), &st);
    graft_meta_info info;
    graft_meta_graph_get_info(mg, &info);
    assert_int_equal(info.producer, GRAFT_META_PRODUCER);
    assert_string_equal(info.tensorflow_version, GRAFT_META_TF_VERSION);
    assert_int_equal(info.num_nodes, graft_graph_num_ops(m.g));
    assert_int_equal(info.num_collections, 3); /* variables, trainable_variables, outputs */
    graft_meta_graph_free(mg);

    /* the reference decoder accepts it and sees 4 variables, 3 trainable */
    const char *rr = infra_refread_dir();
    assert_non_null(rr);
    char out[65536];
    int rc = infra_run(out, sizeof out, "%s %s/refread.py meta model.meta", infra_python(), rr);
    if (rc != 0) fail_msg("refread meta exit %d:\n%s", rc, out);
    assert_non_null(strstr(out, "\"node_count\": "));
    assert_non_null(strstr(out, "\"producer\": 26"));
    assert_non_null(strstr(out, "\"has_stripped_op_list\": true"));
    assert_non_null(strstr(out, "\"conv/kernel:0\""));

    /* the independent interpreter agrees on the exported graph + checkpoint */
    check(graft_npy_write("x.npy", xv, &st), &st);
    char n0[256], n1[256], n2[256], n3[256];
    rc = infra_run(out, sizeof out,
                   "%s %s/refrun.py run model.meta model --feed x:0=x.npy --fetch %s=r_logits.npy "
                   "--fetch %s=r_probs.npy --fetch %s=r_am.npy --fetch %s=r_cat.npy 2>&1",
                   infra_python(), rr, graft_out_name(f[0], n0, sizeof n0), graft_out_name(f[1], n1, sizeof n1),
                   graft_out_name(f[2], n2, sizeof n2), graft_out_name(f[3], n3, sizeof n3));
    if (rc != 0) fail_msg("refrun exit %d:\n%s", rc, out);
    const char *rf[4] = {"r_logits.npy", "r_probs.npy", "r_am.npy", "r_cat.npy"};
    for (int i = 0; i < 4; i++) {
        graft_tensor *r = NULL;
        check(graft_npy_read(rf[i], 0, &r, &st), &st);
        assert_int_equal(graft_tensor_num_elements(r), graft_tensor_num_elements(a[i]));
        assert_int_equal(graft_tensor_dtype(r), graft_tensor_dtype(a[i]));
        for (int64_t k = 0; k < graft_tensor_num_elements(r); k++) {
            if (graft_tensor_dtype(r) == GRAFT_INT64) {
                assert_int_equal(((int64_t *)graft_tensor_data(r))[k], ((int64_t *)graft_tensor_data(a[i]))[k]);
            } else {
                float x = ((float *)graft_tensor_data(r))[k], y = ((float *)graft_tensor_data(a[i]))[k];
                if (fabsf(x - y) > 1e-5f + 1e-5f * fabsf(x)) fail_msg("%s[%lld]: refrun %g vs graft %g", rf[i], (long long)k, x, y);
            }
        }
        graft_tensor_free(r);
    }

    /* import it back: same nodes, same results bit for bit */
    graft_graph *g2 = graft_graph_new();
    graft_meta_import *imp = NULL;
    check(graft_import_meta_graph(g2, "model.meta", NULL, &imp, &st), &st);
    assert_int_equal(graft_graph_num_ops(g2), graft_graph_num_ops(m.g));
    assert_int_equal(graft_graph_num_variables(g2), 4);
    int ntrain = 0;
    for (int i = 0; i < 4; i++) {
        graft_variable v;
        graft_graph_variable_at(g2, i, &v);
        ntrain += v.trainable;
        assert_non_null(v.initializer);
    }
    assert_int_equal(ntrain, 3);
    assert_int_equal(graft_graph_collection_size(g2, "outputs"), 1);
    graft_session *s2 = graft_session_new(g2, NULL, &st);
    assert_non_null(s2);
    check(graft_session_init_variables(s2, &st), &st); /* initializers survive the round trip */
    graft_out f2[4], x2;
    check(graft_graph_tensor(g2, "x:0", &x2, &st), &st);
    for (int i = 0; i < 4; i++) {
        char nm[256];
        check(graft_graph_tensor(g2, graft_out_name(f[i], nm, sizeof nm), &f2[i], &st), &st);
    }
    graft_tensor *b2[4] = {0};
    run(s2, x2, xv, f2, b2, 4);
    for (int i = 0; i < 4; i++) {
        assert_true(graft_tensor_equal(a[i], b2[i]));
        graft_tensor_free(b2[i]);
        graft_tensor_free(a[i]);
    }
    /* exporting the imported graph gives the same bytes (a fixed point) */
    void *e1, *e2;
    size_t l1, l2;
    check(graft_meta_graph_export_buffer(m.g, NULL, &e1, &l1, &st), &st);
    check(graft_meta_graph_export_buffer(g2, NULL, &e2, &l2, &st), &st);
    assert_int_equal(l1, l2);
    assert_memory_equal(e1, e2, l1);
    graft_meta_buffer_free(e1);
    graft_meta_buffer_free(e2);
    graft_session_free(s2);
    graft_meta_import_free(imp);
    graft_graph_free(g2);
    graft_tensor_free(xv);
    graft_session_free(s);
    graft_graph_free(m.g);
}

/* Fixture graphs re-export (with their imported Saver's SaverDef) to files
 * refread accepts and graft re-imports with the same nodes and variables; the
 * re-exported LeNet and VGG still restore through their own save/ nodes and
 * run forward to the refout.json references. */
static void test_reexport_fixtures(void **state)
{
    (void)state;
    const char *metas[] = {"tf1/lenet_traffic_tf13/lenet.meta", "vgg/vgg_traffic_tf13/vgg.meta",
                           "tf1/mlp_adam_tf110/model.ckpt.meta", "tf1v1/mnist_slim_tf09/my-model.meta"};
    const char *refdirs[] = {"tf1/lenet_traffic_tf13/ref", "vgg/vgg_traffic_tf13", NULL, NULL};
    for (size_t i = 0; i < sizeof metas / sizeof metas[0]; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", GRAFT_FIXTURES_DIR, metas[i]);
        graft_status st;
        graft_graph *g = graft_graph_new();
        graft_meta_import *imp = NULL;
        check(graft_import_meta_graph(g, path, NULL, &imp, &st), &st);
        graft_saver *sv = graft_meta_import_take_saver(imp);
        assert_non_null(sv);
        check(graft_meta_graph_export(g, sv, "re.meta", &st), &st);
        char out[4096];
        int rc = infra_run(out, sizeof out, "%s %s/refread.py meta re.meta > /dev/null", infra_python(),
                           infra_refread_dir());
        assert_int_equal(rc, 0);
        graft_graph *g2 = graft_graph_new();
        check(graft_import_meta_graph(g2, "re.meta", NULL, NULL, &st), &st);
        assert_int_equal(graft_graph_num_ops(g2), graft_graph_num_ops(g));
        assert_int_equal(graft_graph_num_variables(g2), graft_graph_num_variables(g));
        if (refdirs[i]) {
            snprintf(path, sizeof path, "%s/%s", GRAFT_FIXTURES_DIR, refdirs[i]);
            assert_int_equal(meta_run_refout(path, "re.meta", NULL, true), 0);
        }
        if (i == 0) {
            /* the independent interpreter reads graft's re-export like TF's original */
            rc = infra_run(out, sizeof out,
                           "%s %s/refrun.py run re.meta %s/tf1/lenet_traffic_tf13/lenet --feed Placeholder:0=%s "
                           "--feed Placeholder_2:0=%s --fetch Add_2:0=re_logits.npy 2>&1",
                           infra_python(), infra_refread_dir(), GRAFT_FIXTURES_DIR,
                           GRAFT_FIXTURES_DIR "/tf1/lenet_traffic_tf13/ref/input.npy",
                           GRAFT_FIXTURES_DIR "/tf1/lenet_traffic_tf13/ref/keep_prob.npy");
            if (rc) fail_msg("refrun exit %d: %s", rc, out);
            graft_tensor *a = NULL, *b = NULL;
            check(graft_npy_read("re_logits.npy", 0, &a, &st), &st);
            check(graft_npy_read(GRAFT_FIXTURES_DIR "/tf1/lenet_traffic_tf13/ref/logits.npy", 0, &b, &st), &st);
            assert_int_equal(graft_tensor_num_elements(a), graft_tensor_num_elements(b));
            for (int64_t k = 0; k < graft_tensor_num_elements(a); k++) {
                float x = ((float *)graft_tensor_data(a))[k], y = ((float *)graft_tensor_data(b))[k];
                if (fabsf(x - y) > 4e-5f + 1e-4f * fabsf(y)) fail_msg("logits[%lld]: %g vs %g", (long long)k, x, y);
            }
            graft_tensor_free(a);
            graft_tensor_free(b);
        }
        graft_graph_free(g2);
        graft_saver_free(sv);
        graft_meta_import_free(imp);
        graft_graph_free(g);
    }
}

/* The OpDef table parses, and for every op type graft registers that the table
 * lists, graft's attrs are TF's attrs (an exported attr TF does not know would
 * make TensorFlow refuse the graph). */
static void test_opdef_table(void **state)
{
    (void)state;
    mgI_arena *a = graftI_arena_new();
    int bad = 0;
    for (int i = 0; graftI_mg_opdef_name(i); i++) {
        char type[64];
        snprintf(type, sizeof type, "%s", graftI_mg_opdef_name(i));
        graft_status st;
        graft_status_clear(&st);
        Tensorflow__OpDef *d = graftI_mg_opdef(a, type, &st);
        if (!d) fail_msg("%s: %s", type, st.msg);
        const graftI_op_def *def = graftI_op_lookup(type);
        for (const graftI_attr_spec *sp = def ? def->attrs : NULL; sp && sp->name; sp++) {
            bool found = false;
            for (size_t k = 0; k < d->n_attr && !found; k++) found = !strcmp(d->attr[k]->name, sp->name);
            if (!found && sp->name[0] != '_') {
                printf("# %s: graft attr '%s' is not in TF's OpDef\n", type, sp->name);
                bad++;
            }
        }
        if (def && def->min_inputs >= 0) {
            /* fixed-arity TF ops: graft's input count agrees */
            bool fixed = true;
            for (size_t k = 0; k < d->n_input_arg; k++)
                if (d->input_arg[k]->number_attr[0] || d->input_arg[k]->type_list_attr[0]) fixed = false;
            if (fixed && def->max_inputs == def->min_inputs && (size_t)def->min_inputs != d->n_input_arg) {
                printf("# %s: graft takes %d inputs, TF's OpDef %zu\n", type, def->min_inputs, d->n_input_arg);
                bad++;
            }
        }
    }
    /* registered ops the table lacks (exported with a name-and-attrs OpDef) */
    printf("# registered op types without a TF OpDef entry:");
    for (int i = 0; i < graftI_op_count(); i++) {
        const char *t = graftI_op_at(i)->name;
        bool in = false;
        for (int k = 0; graftI_mg_opdef_name(k) && !in; k++) in = !strcmp(graftI_mg_opdef_name(k), t);
        if (!in) printf(" %s", t);
    }
    printf("\n");
    graftI_arena_free(a);
    assert_int_equal(bad, 0);
}

/* Two Savers in one graph (save/ and save_1/, as TF names them): the .meta
 * records the one passed, and its import rebuilds that one's key map. */
static void test_second_saver(void **state)
{
    (void)state;
    graft_status st;
    built m;
    build(&m);
    graft_saver *s1 = graft_saver_new(m.g, NULL, &st);
    assert_non_null(s1);
    graft_variable v;
    assert_true(graft_graph_find_variable_by_name(m.g, "fc/W", &v));
    graft_op *only = v.var;
    const char *key = "renamed/W";
    graft_saver *s2 = graft_saver_new_map(m.g, &key, &only, 1, NULL, &st);
    assert_non_null(s2);
    assert_non_null(graft_graph_op(m.g, "save/restore_all"));
    assert_non_null(graft_graph_op(m.g, "save_1/restore_all"));
    check(graft_meta_graph_export(m.g, s2, "two.meta", &st), &st);
    char out[65536];
    int rc = infra_run(out, sizeof out, "%s %s/refread.py meta two.meta", infra_python(), infra_refread_dir());
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "\"restore_op_name\": \"save_1/restore_all\""));
    assert_non_null(strstr(out, "\"filename_tensor_name\": \"save_1/Const:0\""));
    graft_graph *g2 = graft_graph_new();
    graft_meta_import *imp = NULL;
    check(graft_import_meta_graph(g2, "two.meta", NULL, &imp, &st), &st);
    graft_saver *r = graft_meta_import_take_saver(imp);
    if (!r) fail_msg("no saver: %s", graft_meta_import_saver_note(imp));
    assert_int_equal(graft_saver_num_vars(r), 1);
    assert_string_equal(graft_saver_key(r, 0), "renamed/W");
    assert_string_equal(graft_op_name(graft_saver_var(r, 0)), "fc/W");
    graft_saver_def d;
    graft_saver_get_def(r, &d);
    assert_string_equal(d.restore_op_name, "save_1/restore_all");
    graft_saver_free(r);
    graft_meta_import_free(imp);
    graft_graph_free(g2);
    graft_saver_free(s1);
    graft_saver_free(s2);
    graft_graph_free(m.g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_opdef_table),
        cmocka_unit_test(test_export_roundtrip),
        cmocka_unit_test(test_reexport_fixtures),
        cmocka_unit_test(test_second_saver),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
