/* tests/test_saver.c - the Saver: TensorFlow's save/ nodes and SaverDef names, save
 * and restore through the C API and by running the save/ nodes (SaveV2/RestoreV2
 * kernels), key->variable maps, subsets, transactional restore reporting every
 * mismatch at once, retention (max_to_keep, keep_checkpoint_every_n_hours) checked
 * against hand-simulated TF semantics with a fake clock, retention after a restart,
 * the state file's exact text, and restoring from TF's V1 and TF2 fixtures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "ckpt_support.h"
#include "ckpt_tensors.h"

typedef struct model {
    graft_graph *g;
    graft_session *s;
    graft_op *w, *b, *step;
} model;

static graft_op *add_var(graft_graph *g, const char *name, graft_dtype dt, const int64_t *dims, int rank)
{
    graft_variable info;
    graft_out v = graft_variable_new(g, name, graft_zeros(g, dt, dims, rank), true, &info);
    assert_true(graft_out_ok(v));
    return info.var;
}

static void set_var(graft_session *s, graft_op *v, unsigned seed)
{
    graft_shape sh = graft_out_shape(graftI_o(v, 0));
    graft_tensor *t = ckt_make_tensor(graft_out_dtype(graftI_o(v, 0)), sh.dims, sh.rank, seed);
    graft_status st;
    assert_int_equal(graft_session_set_variable(s, v, t, &st), GRAFT_OK);
    graft_tensor_free(t);
}

static bool var_is(graft_session *s, graft_op *v, unsigned seed)
{
    graft_shape sh = graft_out_shape(graftI_o(v, 0));
    graft_tensor *want = ckt_make_tensor(graft_out_dtype(graftI_o(v, 0)), sh.dims, sh.rank, seed);
    bool eq = graft_tensor_equal(graft_session_variable_storage(s, v), want);
    graft_tensor_free(want);
    return eq;
}

static void model_new(model *m, unsigned seed)
{
    int64_t wd[2] = {2, 3}, bd[1] = {3};
    m->g = graft_graph_new();
    m->w = add_var(m->g, "w", GRAFT_FLOAT, wd, 2);
    m->b = add_var(m->g, "b", GRAFT_FLOAT, bd, 1);
    m->step = add_var(m->g, "global_step", GRAFT_INT64, NULL, 0);
    graft_status st;
    m->s = graft_session_new(m->g, NULL, &st);
    assert_non_null(m->s);
    assert_int_equal(graft_session_init_variables(m->s, &st), GRAFT_OK);
    set_var(m->s, m->w, seed);
    set_var(m->s, m->b, seed + 1);
    set_var(m->s, m->step, seed + 2);
}

static void model_free(model *m)
{
    graft_session_free(m->s);
    graft_graph_free(m->g);
}

static graft_saver_opts no_meta(void)
{
    graft_saver_opts o;
    graft_saver_opts_init(&o);
    o.write_meta_graph = false;
    return o;
}

static char *read_text(const char *dir, const char *name)
{
    char *p = ckt_path(dir, name);
    size_t n;
    char *t = (char *)ckt_read_file(p, &n);
    free(p);
    return t;
}

static void refread_ok(const char *sub, const char *path)
{
    char *out = NULL;
    int rc = ckt_refread(sub, path, false, &out);
    if (rc != 0) fail_msg("refread %s rejects %s (exit %d):\n%s", sub, path, rc, out ? out : "");
    free(out);
}

static void test_nodes_and_def(void **state)
{
    (void)state;
    model m;
    model_new(&m, 1);
    graft_status st;
    graft_saver_opts o = no_meta();
    graft_saver *sv = graft_saver_new(m.g, &o, &st);
    if (!sv) fail_msg("%s", st.msg);
    static const char *const names[] = {"save/filename/input", "save/filename",  "save/Const",
                                        "save/SaveV2/tensor_names", "save/SaveV2/shape_and_slices", "save/SaveV2",
                                        "save/control_dependency", "save/RestoreV2/tensor_names",
                                        "save/RestoreV2/shape_and_slices", "save/RestoreV2", "save/Assign",
                                        "save/Assign_1", "save/Assign_2", "save/restore_all"};
    static const char *const types[] = {"Const",    "PlaceholderWithDefault", "PlaceholderWithDefault", "Const", "Const",
                                        "SaveV2",   "Identity",               "Const",                  "Const", "RestoreV2",
                                        "Assign",   "Assign",                 "Assign",                 "NoOp"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        graft_op *op = graft_graph_op(m.g, names[i]);
        if (!op) fail_msg("missing node %s", names[i]);
        assert_string_equal(graft_op_type(op), types[i]);
    }
    /* keys sorted bytewise: b, global_step, w; Assign_i restores RestoreV2:i into them */
    const graft_tensor *keys = graft_op_attr_tensor(graft_graph_op(m.g, "save/SaveV2/tensor_names"), "value");
    const graft_str *k = graft_tensor_cdata(keys);
    assert_int_equal(graft_tensor_num_elements(keys), 3);
    assert_string_equal(k[0].ptr, "b");
    assert_string_equal(k[1].ptr, "global_step");
    assert_string_equal(k[2].ptr, "w");
    graft_op *a1 = graft_graph_op(m.g, "save/Assign_1");
    assert_ptr_equal(graft_op_input(a1, 0).op, m.step);
    assert_int_equal(graft_op_input(a1, 1).index, 1);
    assert_int_equal(graft_op_num_control_inputs(graft_graph_op(m.g, "save/restore_all")), 3);
    graft_op *ctl = graft_graph_op(m.g, "save/control_dependency");
    assert_ptr_equal(graft_op_control_input(ctl, 0), graft_graph_op(m.g, "save/SaveV2"));
    graft_saver_def d;
    graft_saver_get_def(sv, &d);
    assert_string_equal(d.filename_tensor_name, "save/Const:0");
    assert_string_equal(d.save_tensor_name, "save/control_dependency:0");
    assert_string_equal(d.restore_op_name, "save/restore_all");
    assert_int_equal(d.max_to_keep, 5);
    assert_false(d.sharded);
    assert_true(d.keep_checkpoint_every_n_hours == 10000.0f);
    assert_int_equal(d.version, 2);
    /* a second saver gets the scope save_1 */
    graft_saver *sv2 = graft_saver_new_list(m.g, &m.w, 1, &o, &st);
    assert_non_null(sv2);
    graft_saver_get_def(sv2, &d);
    assert_string_equal(d.filename_tensor_name, "save_1/Const:0");
    assert_non_null(graft_graph_op(m.g, "save_1/restore_all"));
    /* a saver over the existing nodes: same keys and variables, no new nodes */
    int nops = graft_graph_num_ops(m.g);
    graft_saver_get_def(sv, &d);
    graft_saver *sv3 = graft_saver_from_graph(m.g, &d, &o, &st);
    if (!sv3) fail_msg("%s", st.msg);
    assert_int_equal(graft_graph_num_ops(m.g), nops);
    assert_int_equal(graft_saver_num_vars(sv3), 3);
    assert_string_equal(graft_saver_key(sv3, 2), "w");
    assert_ptr_equal(graft_saver_var(sv3, 2), m.w);
    graft_saver_get_def(sv3, &d);
    assert_string_equal(d.restore_op_name, "save/restore_all");
    graft_saver_free(sv3);
    graft_saver_free(sv2);
    graft_saver_free(sv);
    model_free(&m);
}

static void test_save_restore(void **state)
{
    (void)state;
    char *dir = ckt_tempdir("saver");
    char *path = ckt_path(dir, "model.ckpt");
    model m;
    model_new(&m, 10);
    graft_status st;
    graft_saver_opts o = no_meta();
    graft_saver *sv = graft_saver_new(m.g, &o, &st);
    char prefix[4096];
    graft_code rc = graft_saver_save(sv, m.s, path, 100, prefix, sizeof prefix, &st);
    if (rc) fail_msg("%s", st.msg);
    char *want = ckt_path(dir, "model.ckpt-100");
    assert_string_equal(prefix, want);
    refread_ok("ckpt", prefix);
    char *sp = ckt_path(dir, "checkpoint");
    refread_ok("state", sp);
    char *text = read_text(dir, "checkpoint");
    assert_string_equal(text, "model_checkpoint_path: \"model.ckpt-100\"\n"
                              "all_model_checkpoint_paths: \"model.ckpt-100\"\n");
    free(text);
    assert_int_equal(ckt_count_files(dir, "tempstate"), 0);
    /* the file holds exactly the variables under their names */
    graft_ckpt_reader *r = graft_ckpt_reader_open(dir, NULL, &st);
    assert_non_null(r);
    assert_string_equal(graft_ckpt_reader_prefix(r), want);
    assert_int_equal(graft_ckpt_reader_num_entries(r), 3);
    graft_ckpt_reader_free(r);
    /* restore after changing everything */
    set_var(m.s, m.w, 99);
    set_var(m.s, m.b, 98);
    set_var(m.s, m.step, 97);
    rc = graft_saver_restore(sv, m.s, dir, &st);
    if (rc) fail_msg("%s", st.msg);
    assert_true(var_is(m.s, m.w, 10));
    assert_true(var_is(m.s, m.b, 11));
    assert_true(var_is(m.s, m.step, 12));
    /* save without a global step, absolute-path state entries when asked */
    o.save_relative_paths = false;
    graft_saver *abs_sv = graft_saver_new_list(m.g, &m.w, 1, &o, &st);
    char cwd[2048];
    assert_non_null(getcwd(cwd, sizeof cwd));
    char *absdir = ckt_path(cwd, dir);
    char *abspath = ckt_path(absdir, "abs.ckpt");
    assert_int_equal(graft_saver_save(abs_sv, m.s, abspath, -1, NULL, 0, &st), GRAFT_OK);
    text = read_text(dir, "checkpoint");
    char expect[8192];
    /* the new saver adopted the directory's existing checkpoint into its retention list */
    snprintf(expect, sizeof expect,
             "model_checkpoint_path: \"%s\"\nall_model_checkpoint_paths: \"%s/model.ckpt-100\"\n"
             "all_model_checkpoint_paths: \"%s\"\n",
             abspath, absdir, abspath);
    assert_string_equal(text, expect);
    free(text);
    /* the guard against a prefix named like the state file */
    char *bad = ckt_path(dir, "checkpoint");
    assert_int_equal(graft_saver_save(abs_sv, m.s, bad, -1, NULL, 0, &st), GRAFT_ERR_INVALID_ARG);
    free(bad);
    graft_saver_free(abs_sv);
    free(absdir);
    free(abspath);
    graft_saver_free(sv);
    model_free(&m);
    free(sp);
    free(want);
    ckt_rm_rf(dir);
    free(path);
    free(dir);
}

/* The save/ nodes themselves, run like TensorFlow runs them: feed the prefix into
 * save/Const:0 and fetch save/control_dependency:0; run save/restore_all. */
static void test_run_save_nodes(void **state)
{
    (void)state;
    char *dir = ckt_tempdir("saver");
    char *prefix = ckt_path(dir, "viaops");
    model m;
    model_new(&m, 20);
    graft_status st;
    graft_saver_opts o = no_meta();
    graft_saver *sv = graft_saver_new(m.g, &o, &st);
    graft_out fname, saved;
    assert_int_equal(graft_graph_tensor(m.g, "save/Const:0", &fname, &st), GRAFT_OK);
    assert_int_equal(graft_graph_tensor(m.g, "save/control_dependency:0", &saved, &st), GRAFT_OK);
    graft_tensor *pv = graft_tensor_scalar_string(prefix, strlen(prefix), &st);
    graft_tensor *out = NULL;
    graft_code rc = graft_session_run(m.s, &fname, &pv, 1, &saved, &out, 1, NULL, 0, &st);
    if (rc) fail_msg("%s", st.msg);
    assert_string_equal(((const graft_str *)graft_tensor_cdata(out))[0].ptr, prefix);
    graft_tensor_free(out);
    refread_ok("ckpt", prefix);
    graft_ckpt_reader *r = graft_ckpt_reader_open(prefix, NULL, &st);
    graft_tensor *t = NULL;
    assert_int_equal(graft_ckpt_reader_read(r, "w", &t, &st), GRAFT_OK);
    assert_true(graft_tensor_equal(t, graft_session_variable_storage(m.s, m.w)));
    graft_tensor_free(t);
    graft_ckpt_reader_free(r);
    set_var(m.s, m.w, 1);
    set_var(m.s, m.step, 1);
    graft_op *ra = graft_graph_op(m.g, "save/restore_all");
    rc = graft_session_run(m.s, &fname, &pv, 1, NULL, NULL, 0, &ra, 1, &st);
    if (rc) fail_msg("%s", st.msg);
    assert_true(var_is(m.s, m.w, 20));
    assert_true(var_is(m.s, m.step, 22));
    graft_tensor_free(pv);
    graft_saver_free(sv);
    model_free(&m);
    ckt_rm_rf(dir);
    free(prefix);
    free(dir);
}

/* A map saver writes other keys than the graph names; a subset restores only what
 * it asks for, ignoring other keys in the file. */
static void test_map_and_subset(void **state)
{
    (void)state;
    char *dir = ckt_tempdir("saver");
    char *path = ckt_path(dir, "map");
    model m;
    model_new(&m, 30);
    graft_status st;
    graft_saver_opts o = no_meta();
    const char *keys[2] = {"dense/kernel", "dense/bias"};
    graft_op *vars[2] = {m.w, m.b};
    graft_saver *sv = graft_saver_new_map(m.g, keys, vars, 2, &o, &st);
    assert_non_null(sv);
    assert_int_equal(graft_saver_save(sv, m.s, path, -1, NULL, 0, &st), GRAFT_OK);
    graft_ckpt_reader *r = graft_ckpt_reader_open(path, NULL, &st);
    assert_int_equal(graft_ckpt_reader_num_entries(r), 2);
    assert_true(graft_ckpt_reader_find(r, "dense/kernel") >= 0);
    assert_true(graft_ckpt_reader_find(r, "w") < 0);
    graft_ckpt_reader_free(r);
    /* another graph, other names: restore through the map, only the kernel */
    graft_graph *g2 = graft_graph_new();
    int64_t wd[2] = {2, 3};
    graft_op *k2 = add_var(g2, "my_kernel", GRAFT_FLOAT, wd, 2);
    graft_session *s2 = graft_session_new(g2, NULL, &st);
    graft_session_init_variables(s2, &st);
    const char *k1[1] = {"dense/kernel"};
    graft_saver *sv2 = graft_saver_new_map(g2, k1, &k2, 1, &o, &st);
    assert_int_equal(graft_saver_restore(sv2, s2, path, &st), GRAFT_OK);
    assert_true(var_is(s2, k2, 30));
    /* the list form over the original graph restores w from a full checkpoint */
    char *full = ckt_path(dir, "full");
    graft_saver *all = graft_saver_new(m.g, &o, &st);
    assert_int_equal(graft_saver_save(all, m.s, full, -1, NULL, 0, &st), GRAFT_OK);
    set_var(m.s, m.w, 5);
    set_var(m.s, m.b, 6);
    graft_saver *only_w = graft_saver_new_list(m.g, &m.w, 1, &o, &st);
    assert_int_equal(graft_saver_restore(only_w, m.s, full, &st), GRAFT_OK);
    assert_true(var_is(m.s, m.w, 30));
    assert_true(var_is(m.s, m.b, 6)); /* untouched */
    graft_saver_free(only_w);
    graft_saver_free(all);
    free(full);
    graft_saver_free(sv2);
    graft_session_free(s2);
    graft_graph_free(g2);
    /* bad constructions */
    const char *dup[2] = {"k", "k"};
    assert_null(graft_saver_new_map(m.g, dup, vars, 2, &o, &st));
    assert_non_null(strstr(st.msg, "'k'"));
    graft_op *notvar = graft_graph_op(m.g, "save/SaveV2");
    assert_null(graft_saver_new_list(m.g, &notvar, 1, &o, &st));
    graft_graph *empty = graft_graph_new();
    assert_null(graft_saver_new(empty, &o, &st));
    graft_graph_free(empty);
    graft_saver_free(sv);
    model_free(&m);
    ckt_rm_rf(dir);
    free(path);
    free(dir);
}

static void test_transactional_restore(void **state)
{
    (void)state;
    char *dir = ckt_tempdir("saver");
    char *path = ckt_path(dir, "t");
    model m;
    model_new(&m, 40);
    graft_status st;
    graft_saver_opts o = no_meta();
    graft_saver *sv = graft_saver_new(m.g, &o, &st);
    assert_int_equal(graft_saver_save(sv, m.s, path, -1, NULL, 0, &st), GRAFT_OK);
    /* a graph whose w is [3,2], whose b is int32, with an extra c: three problems */
    graft_graph *g2 = graft_graph_new();
    int64_t wd[2] = {3, 2}, bd[1] = {3};
    graft_op *w2 = add_var(g2, "w", GRAFT_FLOAT, wd, 2);
    graft_op *b2 = add_var(g2, "b", GRAFT_INT32, bd, 1);
    graft_op *c2 = add_var(g2, "c", GRAFT_FLOAT, bd, 1);
    graft_op *s2v = add_var(g2, "global_step", GRAFT_INT64, NULL, 0);
    graft_session *s2 = graft_session_new(g2, NULL, &st);
    graft_session_init_variables(s2, &st);
    set_var(s2, w2, 7);
    set_var(s2, b2, 8);
    set_var(s2, c2, 9);
    set_var(s2, s2v, 10);
    graft_saver *sv2 = graft_saver_new(g2, &o, &st);
    graft_code rc = graft_saver_restore(sv2, s2, path, &st);
    assert_int_not_equal(rc, GRAFT_OK);
    print_message("%s\n", st.msg);
    assert_non_null(strstr(st.msg, "3 variables"));
    assert_non_null(strstr(st.msg, "'w': shape [2,3] in checkpoint vs [3,2]"));
    assert_non_null(strstr(st.msg, "'b': dtype float32 in checkpoint vs int32"));
    assert_non_null(strstr(st.msg, "'c'"));
    assert_non_null(strstr(st.msg, "not found"));
    /* nothing changed, not even global_step, which alone would have restored fine */
    assert_true(var_is(s2, w2, 7));
    assert_true(var_is(s2, b2, 8));
    assert_true(var_is(s2, c2, 9));
    assert_true(var_is(s2, s2v, 10));
    graft_saver_free(sv2);
    graft_session_free(s2);
    graft_graph_free(g2);
    /* a damaged tensor (the last one read): nothing changes either */
    char *data = ckt_path(dir, "t.data-00000-of-00001");
    size_t n;
    uint8_t *d = ckt_read_file(data, &n);
    d[n - 1] ^= 0x01; /* inside w, the last key */
    assert_true(ckt_write_file(data, d, n));
    free(d);
    set_var(m.s, m.w, 1);
    set_var(m.s, m.b, 2);
    set_var(m.s, m.step, 3);
    rc = graft_saver_restore(sv, m.s, path, &st);
    assert_int_equal(rc, GRAFT_ERR_CORRUPT);
    assert_non_null(strstr(st.msg, "t.data-00000-of-00001: w: tensor checksum mismatch"));
    assert_true(var_is(m.s, m.w, 1));
    assert_true(var_is(m.s, m.b, 2));
    assert_true(var_is(m.s, m.step, 3));
    free(data);
    graft_saver_free(sv);
    model_free(&m);
    ckt_rm_rf(dir);
    free(path);
    free(dir);
}

static void test_save_guards(void **state)
{
    (void)state;
    char *dir = ckt_tempdir("saver");
    char *path = ckt_path(dir, "g");
    graft_graph *g = graft_graph_new();
    int64_t d[1] = {4};
    graft_op *v = add_var(g, "v", GRAFT_FLOAT, d, 1);
    graft_status st;
    graft_session *s = graft_session_new(g, NULL, &st);
    graft_saver_opts o = no_meta();
    graft_saver *sv = graft_saver_new(g, &o, &st);
    /* uninitialised: refused, nothing written */
    assert_int_equal(graft_saver_save(sv, s, path, 1, NULL, 0, &st), GRAFT_ERR_FAILED_PRECONDITION);
    assert_non_null(strstr(st.msg, "uninitialized value v"));
    assert_int_equal(ckt_count_files(dir, ""), 0);
    /* non-finite values: refused unless allowed */
    float vals[4] = {1, NAN, INFINITY, 2};
    graft_tensor *t = graft_tensor_from_data(GRAFT_FLOAT, d, 1, vals, sizeof vals, &st);
    assert_int_equal(graft_session_set_variable(s, v, t, &st), GRAFT_OK);
    assert_int_equal(graft_saver_save(sv, s, path, 1, NULL, 0, &st), GRAFT_ERR_INVALID_ARG);
    assert_non_null(strstr(st.msg, "v: 2 NaN/Inf"));
    assert_int_equal(ckt_count_files(dir, ""), 0);
    graft_saver_free(sv);
    o.allow_nonfinite = true;
    sv = graft_saver_new(g, &o, &st);
    assert_int_equal(graft_saver_save(sv, s, path, 1, NULL, 0, &st), GRAFT_OK);
    /* a missing directory */
    char *nodir = ckt_path(dir, "missing/x");
    assert_int_equal(graft_saver_save(sv, s, nodir, 1, NULL, 0, &st), GRAFT_ERR_NOT_FOUND);
    free(nodir);
    graft_tensor_free(t);
    graft_saver_free(sv);
    graft_session_free(s);
    graft_graph_free(g);
    ckt_rm_rf(dir);
    free(path);
    free(dir);
}

/* ---- retention ------------------------------------------------------------------------ */
static double g_clock;
static double fake_clock(void *ud)
{
    (void)ud;
    return g_clock;
}

static bool ckpt_present(const char *dir, int step)
{
    char name[64];
    snprintf(name, sizeof name, "m-%d.index", step);
    char *p = ckt_path(dir, name);
    bool ok = access(p, F_OK) == 0;
    free(p);
    snprintf(name, sizeof name, "m-%d.data-00000-of-00001", step);
    p = ckt_path(dir, name);
    bool data = access(p, F_OK) == 0;
    free(p);
    assert_int_equal(ok, data);
    return ok;
}

/* Expected on-disk sets are simulated by hand from saver.py's _RecordLastCheckpoint
 * and _MaybeDeleteOldCheckpoints (see the comments). */
static void test_retention_fake_clock(void **state)
{
    (void)state;
    char *dir = ckt_tempdir("saver");
    char *path = ckt_path(dir, "m");
    model m;
    model_new(&m, 50);
    graft_status st;
    graft_saver_opts o = no_meta();
    o.max_to_keep = 2;
    o.keep_checkpoint_every_n_hours = 1.0; /* 3600 s */
    o.clock = fake_clock;
    o.write_state_timestamps = true;
    g_clock = 0;
    graft_saver *sv = graft_saver_new(m.g, &o, &st); /* next keep threshold: 3600 */
    const double times[8] = {0, 1000, 2000, 4000, 5000, 8000, 9000, 12000};
    for (int i = 0; i < 8; i++) {
        g_clock = times[i];
        graft_code rc = graft_saver_save(sv, m.s, path, i, NULL, 0, &st);
        if (rc) fail_msg("%s", st.msg);
    }
    /* 0,1,2 deleted (saved before 3600); 3 (t=4000 > 3600) kept, threshold 7200;
     * 4 (5000) deleted; 5 (8000 > 7200) kept, threshold 10800; 6, 7 are the last two */
    const bool want[8] = {false, false, false, true, false, true, true, true};
    for (int i = 0; i < 8; i++)
        if (ckpt_present(dir, i) != want[i]) fail_msg("step %d: present=%d, expected %d", i, !want[i], want[i]);
    assert_int_equal(graft_saver_num_last_checkpoints(sv), 2);
    char *text = read_text(dir, "checkpoint");
    assert_string_equal(text, "model_checkpoint_path: \"m-7\"\n"
                              "all_model_checkpoint_paths: \"m-6\"\n"
                              "all_model_checkpoint_paths: \"m-7\"\n"
                              "all_model_checkpoint_timestamps: 9000.0\n"
                              "all_model_checkpoint_timestamps: 12000.0\n"
                              "last_preserved_timestamp: 7200.0\n");
    free(text);
    char *sp = ckt_path(dir, "checkpoint");
    refread_ok("state", sp);
    free(sp);
    graft_saver_free(sv);

    /* a restart: a new saver rebuilds [6 @9000, 7 @12000] and threshold 10800 from the
     * state file; at 13000 saving 8 pushes out 6 (9000 < 10800): deleted. TF's Saver
     * would have forgotten 6 and kept it forever. */
    g_clock = 13000;
    sv = graft_saver_new(m.g, &o, &st);
    assert_int_equal(graft_saver_save(sv, m.s, path, 8, NULL, 0, &st), GRAFT_OK);
    assert_false(ckpt_present(dir, 6));
    assert_true(ckpt_present(dir, 7));
    assert_true(ckpt_present(dir, 8));
    assert_true(ckpt_present(dir, 3));
    assert_true(ckpt_present(dir, 5));
    assert_int_equal(graft_saver_num_last_checkpoints(sv), 2);
    graft_saver_free(sv);
    model_free(&m);
    ckt_rm_rf(dir);
    free(path);
    free(dir);
}

static void test_retention_restart_without_timestamps(void **state)
{
    (void)state;
    char *dir = ckt_tempdir("saver");
    char *path = ckt_path(dir, "m");
    model m;
    model_new(&m, 60);
    graft_status st;
    graft_saver_opts o = no_meta();
    o.max_to_keep = 2;
    graft_saver *sv = graft_saver_new(m.g, &o, &st);
    assert_int_equal(graft_saver_save(sv, m.s, path, 0, NULL, 0, &st), GRAFT_OK);
    assert_int_equal(graft_saver_save(sv, m.s, path, 1, NULL, 0, &st), GRAFT_OK);
    graft_saver_free(sv);
    char *text = read_text(dir, "checkpoint");
    assert_null(strstr(text, "timestamp")); /* TF < 1.13 could not parse them */
    free(text);
    sv = graft_saver_new(m.g, &o, &st); /* "restart" */
    assert_int_equal(graft_saver_save(sv, m.s, path, 2, NULL, 0, &st), GRAFT_OK);
    assert_false(ckpt_present(dir, 0));
    assert_true(ckpt_present(dir, 1));
    assert_true(ckpt_present(dir, 2));
    char want1[4096], want2[4096];
    snprintf(want1, sizeof want1, "%s-1", path);
    snprintf(want2, sizeof want2, "%s-2", path);
    assert_int_equal(graft_saver_num_last_checkpoints(sv), 2);
    assert_string_equal(graft_saver_last_checkpoint(sv, 0), want1);
    assert_string_equal(graft_saver_last_checkpoint(sv, 1), want2);
    graft_saver_free(sv);
    /* max_to_keep 0: everything kept, the state file names only the newest */
    o.max_to_keep = 0;
    sv = graft_saver_new(m.g, &o, &st);
    for (int i = 3; i < 6; i++) assert_int_equal(graft_saver_save(sv, m.s, path, i, NULL, 0, &st), GRAFT_OK);
    for (int i = 1; i < 6; i++) assert_true(ckpt_present(dir, i));
    text = read_text(dir, "checkpoint");
    assert_string_equal(text, "model_checkpoint_path: \"m-5\"\nall_model_checkpoint_paths: \"m-5\"\n");
    free(text);
    graft_saver_free(sv);
    model_free(&m);
    ckt_rm_rf(dir);
    free(path);
    free(dir);
}

static void test_meta_graph_written(void **state)
{
    (void)state;
    char *dir = ckt_tempdir("saver");
    char *path = ckt_path(dir, "withmeta");
    model m;
    model_new(&m, 70);
    graft_status st;
    graft_saver *sv = graft_saver_new(m.g, NULL, &st); /* write_meta_graph defaults to true */
    char prefix[4096];
    graft_code rc = graft_saver_save(sv, m.s, path, 3, prefix, sizeof prefix, &st);
    if (rc) fail_msg("%s", st.msg);
    char meta[4200];
    snprintf(meta, sizeof meta, "%s.meta", prefix);
    assert_int_equal(access(meta, F_OK), 0);
    char why[512];
    const char *rb = ckt_refread_build(why, sizeof why);
    assert_non_null(rb);
    char cmd[9000], *out = NULL;
    snprintf(cmd, sizeof cmd, "REFREAD_BUILD='%s' '%s' '%s/tools/refread/refread.py' meta '%s'", rb, ckt_python(),
             GRAFT_SHARED_DIR, meta);
    assert_int_equal(ckt_run(cmd, &out, NULL), 0);
    ckt_json *j = ckt_json_parse(out, strlen(out));
    assert_non_null(j);
    const ckt_json *sd = ckt_json_get(j, "saver_def");
    assert_non_null(sd);
    assert_string_equal(ckt_json_str(sd, "filename_tensor_name"), "save/Const:0");
    assert_string_equal(ckt_json_str(sd, "restore_op_name"), "save/restore_all");
    ckt_json_free(j);
    free(out);
    graft_saver_free(sv);
    model_free(&m);
    ckt_rm_rf(dir);
    free(path);
    free(dir);
}

/* Restoring TensorFlow's own checkpoints: a V1 file by variable names, and a TF2
 * object-based one through a key map (values checked against golden sha256). */
static void test_restore_tf_fixtures(void **state)
{
    (void)state;
    graft_status st;
    graft_saver_opts o = no_meta();
    graft_graph *g = graft_graph_new();
    graft_op *a = add_var(g, "a", GRAFT_FLOAT, NULL, 0), *b = add_var(g, "b", GRAFT_FLOAT, NULL, 0);
    graft_session *s = graft_session_new(g, NULL, &st);
    graft_session_init_variables(s, &st);
    graft_saver *sv = graft_saver_new(g, &o, &st);
    char *p = ckt_path(GRAFT_FIXTURES_DIR, "tf1v1/half_plus_two_sharded_tf012/export");
    graft_code rc = graft_saver_restore(sv, s, p, &st);
    if (rc) fail_msg("%s", st.msg);
    assert_true(*(const float *)graft_tensor_cdata(graft_session_variable_storage(s, a)) == 0.5f);
    assert_true(*(const float *)graft_tensor_cdata(graft_session_variable_storage(s, b)) == 2.0f);
    free(p);
    graft_saver_free(sv);
    graft_session_free(s);
    graft_graph_free(g);

    g = graft_graph_new();
    int64_t kd[2] = {128, 3}, bd[1] = {3};
    graft_op *vars[2] = {add_var(g, "kernel", GRAFT_FLOAT, kd, 2), add_var(g, "bias", GRAFT_FLOAT, bd, 1)};
    s = graft_session_new(g, NULL, &st);
    graft_session_init_variables(s, &st);
    const char *keys[2] = {"layer-2/kernel/.ATTRIBUTES/VARIABLE_VALUE", "layer-2/bias/.ATTRIBUTES/VARIABLE_VALUE"};
    sv = graft_saver_new_map(g, keys, vars, 2, &o, &st);
    p = ckt_path(GRAFT_FIXTURES_DIR, "tf1/tf2_sharded_objgraph");
    rc = graft_saver_restore(sv, s, p, &st);
    if (rc) fail_msg("%s", st.msg);
    char *gp = ckt_path(p, "golden.json");
    ckt_json *gj = ckt_json_load(gp);
    const ckt_json *es = ckt_json_get(ckt_json_at(ckt_json_get(gj, "bundles"), 0), "entries");
    for (int i = 0; i < 2; i++) {
        const char *want = NULL;
        for (int k = 0; k < es->n; k++)
            if (!strcmp(ckt_json_str(ckt_json_at(es, k), "key"), keys[i])) want = ckt_json_str(ckt_json_at(es, k), "sha256");
        assert_non_null(want);
        char hex[65];
        ckt_tensor_sha256_v2(graft_session_variable_storage(s, vars[i]), hex);
        assert_string_equal(hex, want);
    }
    ckt_json_free(gj);
    free(gp);
    free(p);
    graft_saver_free(sv);
    graft_session_free(s);
    graft_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nodes_and_def),
        cmocka_unit_test(test_save_restore),
        cmocka_unit_test(test_run_save_nodes),
        cmocka_unit_test(test_map_and_subset),
        cmocka_unit_test(test_transactional_restore),
        cmocka_unit_test(test_save_guards),
        cmocka_unit_test(test_retention_fake_clock),
        cmocka_unit_test(test_retention_restart_without_timestamps),
        cmocka_unit_test(test_meta_graph_written),
        cmocka_unit_test(test_restore_tf_fixtures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
