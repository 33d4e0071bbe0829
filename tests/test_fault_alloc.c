/* tests/test_fault_alloc.c - allocation failure (reliability T6): the Nth allocation
 * fails, for N = 1 .. until the operation succeeds, during restore (a graft checkpoint
 * and a TensorFlow fixture), meta-graph import (a TensorFlow fixture .meta) and save.
 * Each failure is a clean GRAFT_ERR_NOMEM, leaks nothing (live block count, and ASan),
 * and changes neither the variables nor the graph nor the files on disk. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graft/graft.h"
#include "rel_fault.h"
#include "rel_model.h"

#define FIX_TINY GRAFT_FIXTURES_DIR "/tf1/mlp_tiny_tf113"

static int reset(void);
static int setup(void **state)
{
    (void)state;
    reset();
    rel_alloc_install();
    return 0;
}
static int teardown(void **state)
{
    (void)state;
    rel_alloc_disarm();
    rel_alloc_uninstall();
    return 0;
}

static void must_model(rel_model *m)
{
    char why[2300];
    if (!rel_model_new(m, 5, false, why, sizeof why)) fail_msg("model: %s", why);
}

/* Problems are counted, not fatal at once, so one sweep shows all of them. Known,
 * reported bugs (see known_bug) are tolerated here and fail tests/slow_fault_alloc_strict.c
 * (this file built with REL_STRICT). */
#ifndef REL_STRICT
#define REL_STRICT 0
#endif
static int g_problems, g_known;

static void problem(bool known, const char *fmt, ...)
{
    char buf[3000];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (known && !REL_STRICT) {
        if (g_known++ < 3) print_message("known bug (tolerated): %s\n", buf);
        return;
    }
    if (g_problems++ < 20) print_message("PROBLEM: %s\n", buf);
}

/* Bugs reported to the module owners, recognised by their message (none of the
 * restore/save paths at the moment: reader.c's two were fixed on 2026-11-25). */
static bool known_bug(graft_code rc, const char *msg)
{
    (void)rc;
    (void)msg;
    return false;
}

/* A failure must be NOMEM with a message (a code path that reports a failed
 * allocation as I/O, corrupt data or a missing file hides the real cause). */
static void expect_nomem(graft_code rc, const graft_status *st, const char *what, long n)
{
    if (rc != GRAFT_ERR_NOMEM)
        problem(known_bug(rc, st->msg), "%s: allocation %ld failed but the error is %s: %s", what, n,
                graft_code_str(rc), st->msg);
    else if (!st->msg[0])
        problem(false, "%s: allocation %ld failed with an empty message", what, n);
}

static int reset(void)
{
    g_problems = g_known = 0;
    return 0;
}
#define CHECK_PROBLEMS()                                                                                   \
    do {                                                                                                   \
        if (g_known) print_message("%d failures matched known bugs (tolerated unless REL_STRICT)\n", g_known); \
        assert_int_equal(g_problems, 0);                                                                   \
    } while (0)

static void test_restore_own_checkpoint(void **state)
{
    (void)state;
    long base = rel_alloc_live();
    char *dir = rel_tempdir("falloc");
    char *path = rel_join(dir, "m");
    rel_model m;
    must_model(&m);
    rel_model_set_step(&m, 3);
    graft_status st;
    char prefix[4096];
    assert_int_equal(graft_saver_save(m.sv, m.s, path, 3, prefix, sizeof prefix, &st), GRAFT_OK);
    int failures = 0;
    long n;
    for (n = 1;; n++) {
        assert_true(n < 100000);
        rel_model_set_step(&m, 9);
        uint64_t h = rel_model_hash(&m);
        long live = rel_alloc_live();
        rel_alloc_arm(n, false);
        graft_code rc = graft_saver_restore(m.sv, m.s, prefix, &st);
        long hit = rel_alloc_failures();
        rel_alloc_disarm();
        if (!hit) {
            assert_int_equal(rc, GRAFT_OK);
            assert_int_equal(rel_model_step_of(&m), 3);
            break;
        }
        if (rc == GRAFT_OK) {
            assert_int_equal(rel_model_step_of(&m), 3); /* recovered internally: must still be right */
            continue;
        }
        failures++;
        expect_nomem(rc, &st, "restore", n);
        if (rel_model_hash(&m) != h) problem(false, "restore: allocation %ld failed and the variables changed", n);
        if (rel_alloc_live() != live)
            problem(false, "restore: allocation %ld failed and %ld blocks leaked", n, rel_alloc_live() - live);
    }
    print_message("restore makes %ld allocations; %d injected failures returned an error\n", n - 1, failures);
    CHECK_PROBLEMS();
    assert_true(failures > 0);
    rel_model_free(&m);
    assert_int_equal(rel_alloc_live(), base);
    rel_rm_rf(dir);
    free(path);
    free(dir);
}

static void test_save(void **state)
{
    (void)state;
    long base = rel_alloc_live();
    char *dir = rel_tempdir("falloc");
    char *path = rel_join(dir, "m");
    int failures = 0;
    long n;
    for (n = 1;; n++) {
        assert_true(n < 100000);
        /* fresh model and directory each round: a saver keeps its retention list */
        rel_model m;
        must_model(&m);
        rel_model_set_step(&m, 1);
        graft_status st;
        assert_int_equal(graft_saver_save(m.sv, m.s, path, 1, NULL, 0, &st), GRAFT_OK);
        rel_snap before;
        rel_snap_take(&before, dir);
        rel_model_set_step(&m, 2);
        uint64_t h = rel_model_hash(&m);
        rel_alloc_arm(n, false);
        graft_code rc = graft_saver_save(m.sv, m.s, path, 2, NULL, 0, &st);
        long hit = rel_alloc_failures();
        rel_alloc_disarm();
        assert_true(rel_model_hash(&m) == h);
        bool done = !hit;
        if (!hit || rc == GRAFT_OK) {
            assert_int_equal(rc, GRAFT_OK);
            char latest[4096];
            assert_int_equal(graft_latest_checkpoint(dir, latest, sizeof latest, &st), GRAFT_OK);
            const char *why = rel_ckpt_check(latest, 2);
            if (why) fail_msg("save with allocation %ld failing: %s", n, why);
        } else {
            failures++;
            expect_nomem(rc, &st, "save", n);
            const char *why = rel_snap_diff(&before, dir);
            if (why) problem(false, "save: allocation %ld failed (%s) and the previous files changed: %s", n, st.msg, why);
            if (rel_count(dir, ".tempstate")) problem(false, "save: allocation %ld failed and left temp files", n);
        }
        rel_snap_free(&before);
        rel_model_free(&m);
        rel_rm_rf(dir);
        free(dir);
        dir = rel_tempdir("falloc");
        free(path);
        path = rel_join(dir, "m");
        if (rel_alloc_live() != base) {
            problem(false, "save: allocation %ld failed: %ld blocks leaked", n, rel_alloc_live() - base);
            base = rel_alloc_live();
        }
        if (done) break;
    }
    print_message("save makes %ld allocations; %d injected failures returned an error\n", n - 1, failures);
    CHECK_PROBLEMS();
    assert_true(failures > 0);
    rel_rm_rf(dir);
    free(path);
    free(dir);
}

/* Import the fixture's .meta into a graph that already holds an op; every failure
 * leaves the graph as it was (same ops, no sticky error). */
static void test_meta_import(void **state)
{
    (void)state;
    long base = rel_alloc_live();
    int failures = 0;
    long n;
    /* every allocation in the strict (slow) build; the default suite takes the first
     * 300 and then every 97th (an import makes ~14,000) */
    for (n = 1;; n += (REL_STRICT || n < 300) ? 1 : 97) {
        assert_true(n < 1000000);
        graft_graph *g = graft_graph_new();
        graft_const_f32(g, 1.0f);
        int ops = graft_graph_num_ops(g);
        graft_meta_import *imp = NULL;
        graft_status st;
        rel_alloc_arm(n, false);
        graft_code rc = graft_import_meta_graph(g, FIX_TINY "/model.ckpt.meta", NULL, &imp, &st);
        long hit = rel_alloc_failures();
        rel_alloc_disarm();
        bool done = !hit;
        if (rc == GRAFT_OK) {
            assert_non_null(graft_graph_op(g, "Bias1"));
            assert_true(graft_graph_num_ops(g) > ops);
        } else {
            if (!hit) fail_msg("meta import failed without an injected fault: %s", st.msg);
            failures++;
            expect_nomem(rc, &st, "meta import", n);
            /* the import rolls the graph back (graftI_graph_rollback) on any failure */
            if (graft_graph_num_ops(g) != ops)
                problem(false, "meta import: allocation %ld failed and the graph changed (%d ops vs %d)", n,
                        graft_graph_num_ops(g), ops);
            if (graft_graph_status(g) != GRAFT_OK)
                problem(false, "meta import: allocation %ld failed and left a sticky graph error: %s", n,
                         graft_graph_errmsg(g));
        }
        graft_meta_import_free(imp);
        graft_graph_free(g);
        if (rel_alloc_live() != base) {
            problem(false, "meta import: allocation %ld failed: %ld blocks leaked", n, rel_alloc_live() - base);
            base = rel_alloc_live();
        }
        if (done) break;
    }
    print_message("meta import makes %ld allocations; %d injected failures returned an error\n", n - 1, failures);
    CHECK_PROBLEMS();
    assert_true(failures > 0);
}

/* Restore TensorFlow's own checkpoint into the imported graph. */
static void test_restore_fixture(void **state)
{
    (void)state;
    long base = rel_alloc_live();
    graft_graph *g = graft_graph_new();
    graft_meta_import *imp = NULL;
    graft_status st;
    if (graft_import_meta_graph(g, FIX_TINY "/model.ckpt.meta", NULL, &imp, &st) != GRAFT_OK)
        fail_msg("import: %s", st.msg);
    graft_saver *sv = graft_meta_import_take_saver(imp);
    if (!sv) fail_msg("no saver: %s", graft_meta_import_saver_note(imp));
    graft_session *s = graft_session_new(g, NULL, &st);
    assert_non_null(s);
    assert_int_equal(graft_session_init_variables(s, &st), GRAFT_OK);
    graft_op *bias1 = graft_graph_op(g, "Bias1");
    assert_non_null(bias1);
    int nv = graft_saver_num_vars(sv);
    int failures = 0;
    long n;
    for (n = 1;; n++) {
        assert_true(n < 100000);
        /* a known state that is not the checkpoint's */
        for (int i = 0; i < nv; i++) {
            graft_tensor *t = graft_session_variable_storage(s, graft_saver_var(sv, i));
            memset(graft_tensor_data(t), 0x11, graft_tensor_nbytes(t));
        }
        long live = rel_alloc_live();
        rel_alloc_arm(n, false);
        graft_code rc = graft_saver_restore(sv, s, FIX_TINY "/model.ckpt", &st);
        long hit = rel_alloc_failures();
        rel_alloc_disarm();
        const float *b = graft_tensor_data(graft_session_variable_storage(s, bias1));
        if (rc == GRAFT_OK) {
            /* golden.json: Bias1 = [-11.60213851928711, -5.660688877105713] */
            assert_true(b[0] == -11.60213851928711f && b[1] == -5.660688877105713f);
            if (!hit) break;
            continue;
        }
        if (!hit) fail_msg("restore failed without an injected fault: %s", st.msg);
        failures++;
        expect_nomem(rc, &st, "fixture restore", n);
        for (int i = 0; i < nv; i++) {
            graft_tensor *t = graft_session_variable_storage(s, graft_saver_var(sv, i));
            const uint8_t *p = graft_tensor_data(t);
            for (size_t j = 0; j < graft_tensor_nbytes(t); j++)
                if (p[j] != 0x11) {
                    problem(false, "fixture restore: allocation %ld failed and %s changed", n, graft_saver_key(sv, i));
                    break;
                }
        }
        if (rel_alloc_live() != live)
            problem(false, "fixture restore: allocation %ld failed and %ld blocks leaked", n, rel_alloc_live() - live);
    }
    print_message("fixture restore makes %ld allocations; %d injected failures returned an error\n", n - 1, failures);
    CHECK_PROBLEMS();
    assert_true(failures > 0);
    graft_saver_free(sv);
    graft_session_free(s);
    graft_meta_import_free(imp);
    graft_graph_free(g);
    assert_int_equal(rel_alloc_live(), base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_restore_own_checkpoint, setup, teardown),
        cmocka_unit_test_setup_teardown(test_save, setup, teardown),
        cmocka_unit_test_setup_teardown(test_meta_import, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restore_fixture, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
