/* tests/test_powerloss.c - power loss during saves (reliability T4): at every fsync of
 * a save, and after it returns, crash states in which unsynced bytes and directory
 * entry changes are dropped, cut, zero-filled or land out of order must recover (via
 * latest_checkpoint) to a checkpoint holding the previous step or the new one, bit-
 * exactly, with a readable .meta; once the save has returned, only the new one. Two
 * negative controls show the harness catches a missing file or directory fsync. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "graft/graft.h"
#include "rel_fault.h"
#include "rel_model.h"
#include "rel_power.h"

typedef struct expect {
    int64_t prev, next; /* prev < 0: nothing was saved before */
    bool only_next;     /* the save has returned: its step must have survived */
    bool meta;
    long at_prev, at_next, at_none;
} expect;

static const char *check(void *ud, const char *dir)
{
    static char why[4096];
    expect *e = ud;
    char prefix[2048];
    graft_status st;
    graft_code rc = graft_latest_checkpoint(dir, prefix, sizeof prefix, &st);
    if (rc == GRAFT_ERR_NOT_FOUND && e->prev < 0 && !e->only_next) {
        e->at_none++;
        return NULL;
    }
    if (rc != GRAFT_OK) {
        snprintf(why, sizeof why, "latest_checkpoint: %s", st.msg);
        return why;
    }
    int64_t k = rel_ckpt_step(prefix, why, sizeof why);
    if (k < 0) return why;
    if (k != e->next && (k != e->prev || e->only_next)) {
        snprintf(why, sizeof why, "%s holds step %lld, expected %s%lld", prefix, (long long)k,
                 e->only_next ? "" : "the previous step or ", (long long)e->next);
        return why;
    }
    if (e->meta) {
        char mp[2100];
        snprintf(mp, sizeof mp, "%s.meta", prefix);
        graft_meta_graph *mg = NULL;
        if (graft_meta_graph_read(mp, NULL, &mg, &st) != GRAFT_OK) {
            snprintf(why, sizeof why, "%s", st.msg);
            return why;
        }
        graft_meta_graph_free(mg);
    }
    if (k == e->next) e->at_next++;
    else e->at_prev++;
    return NULL;
}

typedef struct run {
    bool overwrite;     /* every save to one prefix, no global step */
    bool forget_files, forget_dirs;
    int steps, patterns;
    rel_power_stats st;
    expect e;
} run;

/* Saves steps 1..steps from an empty directory (max_to_keep 2, with .meta) under the
 * shim, checking crash states at every sync point and after every save. */
static void run_saves(run *r, unsigned seed)
{
    char why[4096];
    char *dir = rel_tempdir("powerloss");
    char *scratch = rel_tempdir("powerloss-crash");
    assert_non_null(dir);
    assert_non_null(scratch);
    rel_model m;
    if (!rel_model_new(&m, 2, true, why, sizeof why)) fail_msg("%s", why);
    if (!rel_power_begin(dir, scratch, seed, r->patterns, why, sizeof why)) fail_msg("%s", why);
    rel_power_forget_syncs(r->forget_files, r->forget_dirs);
    memset(&r->e, 0, sizeof r->e);
    r->e.meta = true;
    rel_power_set_check(check, &r->e);
    char *path = rel_join(dir, "model.ckpt");
    bool saved_all = true;
    char save_err[2200] = "";
    for (int64_t k = 1; k <= r->steps; k++) {
        r->e.prev = k - 1 > 0 ? k - 1 : -1;
        r->e.next = k;
        r->e.only_next = false;
        rel_model_set_step(&m, k);
        graft_status st;
        if (graft_saver_save(m.sv, m.s, path, r->overwrite ? -1 : k, NULL, 0, &st) != GRAFT_OK) {
            snprintf(save_err, sizeof save_err, "step %lld: %s", (long long)k, st.msg);
            saved_all = false;
            break;
        }
        r->e.only_next = true;
        rel_power_point();
    }
    rel_power_end(&r->st);
    free(path);
    rel_model_free(&m);
    rel_rm_rf(dir);
    rel_rm_rf(scratch);
    free(dir);
    free(scratch);
    if (!saved_all) fail_msg("save failed: %s", save_err);
}

static unsigned seed_now(void) { return (unsigned)time(NULL); }

static void report(const char *what, unsigned seed, const run *r)
{
    print_message("%s (seed %u): %ld sync points, %ld crash states: %ld recovered the previous step, %ld the new "
                  "one, %ld (first save) no checkpoint yet; %ld failed\n",
                  what, seed, r->st.sync_points, r->st.states, r->e.at_prev, r->e.at_next, r->e.at_none,
                  r->st.failures);
}

static void test_powerloss_global_step(void **state)
{
    (void)state;
    unsigned seed = seed_now();
    run r = {.steps = 5, .patterns = 24};
    run_saves(&r, seed);
    report("saves with a global step", seed, &r);
    if (r.st.failures) fail_msg("seed %u: %ld of %ld crash states lost the checkpoint; first: %s", seed,
                                r.st.failures, r.st.states, r.st.first_failure);
    /* data, index, .meta and state file each fsync'd, plus directory fsyncs */
    assert_true(r.st.sync_points >= 5 * 6);
    assert_true(r.st.states >= r.st.sync_points * 27);
    assert_true(r.e.at_prev > 0 && r.e.at_next > 0 && r.e.at_none > 0);
}

static void test_powerloss_overwrite(void **state)
{
    (void)state;
    unsigned seed = seed_now();
    run r = {.overwrite = true, .steps = 5, .patterns = 24};
    run_saves(&r, seed);
    report("saves to one prefix", seed, &r);
    if (r.st.failures) fail_msg("seed %u: %ld of %ld crash states lost the checkpoint; first: %s", seed,
                                r.st.failures, r.st.states, r.st.first_failure);
    assert_true(r.st.sync_points >= 5 * 6);
    assert_true(r.e.at_prev > 0 && r.e.at_next > 0);
}

/* The harness must be able to fail: a save whose file fsyncs never happened can be
 * renamed into place with its bytes lost, and one whose directory fsyncs never
 * happened can lose its state rename after returning. */
static void test_control_missing_file_fsync(void **state)
{
    (void)state;
    run r = {.forget_files = true, .steps = 2, .patterns = 4};
    run_saves(&r, 1);
    print_message("without file fsyncs: %ld of %ld crash states lost the checkpoint; first: %s\n", r.st.failures,
                  r.st.states, r.st.first_failure);
    assert_true(r.st.failures > 0);
}

static void test_control_missing_dir_fsync(void **state)
{
    (void)state;
    run r = {.forget_dirs = true, .steps = 2, .patterns = 4};
    run_saves(&r, 1);
    print_message("without directory fsyncs: %ld of %ld crash states lost the checkpoint; first: %s\n",
                  r.st.failures, r.st.states, r.st.first_failure);
    assert_true(r.st.failures > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_powerloss_global_step),
        cmocka_unit_test(test_powerloss_overwrite),
        cmocka_unit_test(test_control_missing_file_fsync),
        cmocka_unit_test(test_control_missing_dir_fsync),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
