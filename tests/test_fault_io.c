/* tests/test_fault_io.c - I/O faults during a Saver save (reliability T5): ENOSPC and
 * EIO injected at every mutating I/O call of a save (once and persistently), and short
 * writes / EINTR on every write. A failed save must name path, operation and errno; the
 * previous checkpoint and `checkpoint` stay byte-identical; no temp file remains. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "graft/graft.h"
#include "rel_fault.h"
#include "rel_model.h"

static void must_model(rel_model *m, int keep, bool meta)
{
    char why[2300];
    if (!rel_model_new(m, keep, meta, why, sizeof why)) fail_msg("model: %s", why);
}

static void must_save(rel_model *m, const char *path, int64_t k)
{
    graft_status st;
    rel_model_set_step(m, k);
    if (graft_saver_save(m->sv, m->s, path, k, NULL, 0, &st) != GRAFT_OK) fail_msg("save %lld: %s", (long long)k, st.msg);
}

/* The operation word a message must contain for a failed call. */
static const char *op_word(rel_op op)
{
    switch (op) {
    case REL_OPEN: return "open";
    case REL_WRITE: return "write";
    case REL_FSYNC: return "fsync";
    case REL_CLOSE: return "close";
    case REL_RENAME: return "rename";
    case REL_UNLINK: return "unlink";
    default: return "?";
    }
}

/* The latest checkpoint of dir (resolved), checked to hold step k. */
static void expect_latest(const char *dir, int64_t k)
{
    char latest[4096];
    graft_status st;
    if (graft_latest_checkpoint(dir, latest, sizeof latest, &st) != GRAFT_OK) fail_msg("latest: %s", st.msg);
    const char *why = rel_ckpt_check(latest, k);
    if (why) fail_msg("latest checkpoint: %s", why);
}

typedef struct sweep_result {
    long total;      /* mutating calls of a clean save */
    int failed, tolerated, after_state;
} sweep_result;

/* One save of step 2 over a directory holding steps (1) [and 0], with call n failing. */
static bool one_fault(int keep, bool meta, int err, bool persistent, long n, sweep_result *res)
{
    char *dir = rel_tempdir("fio");
    assert_non_null(dir);
    char *path = rel_join(dir, "m");
    rel_model m;
    must_model(&m, keep, meta);
    if (keep == 1) must_save(&m, path, 0); /* so step 2's save also deletes step 1 */
    must_save(&m, path, 1);
    rel_snap before;
    rel_snap_take(&before, dir);
    rel_model_set_step(&m, 2);
    uint64_t h = rel_model_hash(&m);
    graft_status st;
    rel_io_cfg cfg = {.fail_at = n, .persistent = persistent, .err = err};
    rel_io_install(&cfg);
    graft_code rc = graft_saver_save(m.sv, m.s, path, 2, NULL, 0, &st);
    long calls = rel_io_mutating_calls();
    rel_io_fault f = *rel_io_last_fault();
    rel_io_uninstall();
    assert_true(rel_model_hash(&m) == h); /* a save never changes the variables */
    bool done = false;
    if (!f.hit) {
        if (rc != GRAFT_OK) fail_msg("clean save (no fault at call %ld) failed: %s", n, st.msg);
        res->total = calls;
        expect_latest(dir, 2);
        done = true;
    } else if (rc == GRAFT_OK) {
        /* only deleting what retention dropped may fail without failing the save */
        if (f.op != REL_UNLINK)
            fail_msg("%s at call %ld (%s %s) was ignored: the save reported success", strerror(err), n,
                     rel_op_name(f.op), f.path);
        res->tolerated++;
        expect_latest(dir, 2);
    } else {
        res->failed++;
        /* the message names the path, the operation and the errno text */
        if (!strstr(st.msg, strerror(err)) || !strstr(st.msg, op_word(f.op)) ||
            !(strstr(st.msg, f.path) || (f.path2[0] && strstr(st.msg, f.path2))))
            fail_msg("call %ld (%s %s -> %s): message lacks path/operation/errno: %s", n, rel_op_name(f.op), f.path2,
                     f.path, st.msg);
        if (f.after_state_rename && strstr(st.msg, "the new state file stays")) {
            /* the directory fsync after the state rename failed and putting the
             * previous state back failed too (only when faults persist): the state
             * names the new, complete checkpoint */
            if (!persistent) fail_msg("call %ld: one fault, yet the previous state was not put back: %s", n, st.msg);
            res->after_state++;
            expect_latest(dir, 2);
        } else {
            if (f.after_state_rename) {
                res->after_state++;
                if (!strstr(st.msg, "the previous state file was put back"))
                    fail_msg("call %ld: failure after the state rename not rolled back: %s", n, st.msg);
            }
            const char *why = rel_snap_diff(&before, dir);
            if (why) fail_msg("call %ld (%s %s): previous files changed: %s", n, rel_op_name(f.op), f.path, why);
            expect_latest(dir, 1);
        }
    }
    if (!persistent && rel_count(dir, ".tempstate") != 0)
        fail_msg("call %ld (%s %s): %d temp files left", n, rel_op_name(f.op), f.path, rel_count(dir, ".tempstate"));
    if (persistent && f.hit) {
        /* cleanup itself may have failed; the next save (a fresh saver) removes leftovers */
        rel_model m2;
        must_model(&m2, keep, meta);
        must_save(&m2, path, 3);
        assert_int_equal(rel_count(dir, ".tempstate"), 0);
        expect_latest(dir, 3);
        rel_model_free(&m2);
    }
    rel_snap_free(&before);
    rel_model_free(&m);
    rel_rm_rf(dir);
    free(path);
    free(dir);
    return done;
}

static void sweep(int keep, bool meta, int err, bool persistent)
{
    sweep_result res = {0};
    long n = 1;
    for (; !one_fault(keep, meta, err, persistent, n, &res); n++) assert_true(n < 2000);
    print_message("keep=%d meta=%d %s%s: a save makes %ld mutating I/O calls; %d failed cleanly, %d tolerated "
                  "(retention deletes), %d after the state rename\n",
                  keep, meta, strerror(err), persistent ? " (persistent)" : "", res.total, res.failed, res.tolerated,
                  res.after_state);
    assert_true(res.total >= 8); /* open/write/fsync/close/rename for data, index and state at least */
    assert_int_equal(n, res.total + 1);
}

static void test_enospc_every_call(void **state)
{
    (void)state;
    sweep(5, true, ENOSPC, false);
}
static void test_eio_every_call(void **state)
{
    (void)state;
    sweep(5, true, EIO, false);
}
static void test_faults_with_retention_delete(void **state)
{
    (void)state;
    sweep(1, false, EIO, false);
    sweep(1, false, ENOSPC, false);
}
static void test_persistent_faults(void **state)
{
    (void)state;
    sweep(5, true, ENOSPC, true);
    sweep(5, true, EIO, true);
}

/* Saving again to the same prefix without a global step goes through a swap copy.
 * A fault at any call: either a clean failure (state and previous files as they
 * were, the old values loadable) or the new values complete under a name the state
 * file gives, said so in the message; never a torn checkpoint named. */
static void save_over(rel_model *m, const char *path, int64_t k)
{
    graft_status st;
    rel_model_set_step(m, k);
    if (graft_saver_save(m->sv, m->s, path, -1, NULL, 0, &st) != GRAFT_OK) fail_msg("save %lld: %s", (long long)k, st.msg);
}

static bool one_overwrite_fault(int err, bool persistent, long n, sweep_result *res)
{
    char *dir = rel_tempdir("fio");
    char *path = rel_join(dir, "m");
    rel_model m;
    must_model(&m, 5, true);
    save_over(&m, path, 1);
    rel_snap before;
    rel_snap_take(&before, dir);
    rel_model_set_step(&m, 2);
    graft_status st;
    rel_io_cfg cfg = {.fail_at = n, .persistent = persistent, .err = err};
    rel_io_install(&cfg);
    graft_code rc = graft_saver_save(m.sv, m.s, path, -1, NULL, 0, &st);
    long calls = rel_io_mutating_calls();
    rel_io_fault f = *rel_io_last_fault();
    rel_io_uninstall();
    bool done = false;
    if (!f.hit) {
        if (rc != GRAFT_OK) fail_msg("clean overwrite (no fault at call %ld) failed: %s", n, st.msg);
        res->total = calls;
        expect_latest(dir, 2);
        assert_int_equal(rel_count(dir, "graft-swap"), 0);
        done = true;
    } else if (rc == GRAFT_OK) {
        if (f.op != REL_UNLINK)
            fail_msg("%s at call %ld (%s %s) was ignored: the save reported success", strerror(err), n,
                     rel_op_name(f.op), f.path);
        res->tolerated++;
        expect_latest(dir, 2);
    } else {
        if (!strstr(st.msg, strerror(err)) || !strstr(st.msg, op_word(f.op)))
            fail_msg("call %ld (%s %s): message lacks operation/errno: %s", n, rel_op_name(f.op), f.path, st.msg);
        if (strstr(st.msg, "the new values are saved as") || strstr(st.msg, "the new state file stays")) {
            res->after_state++;
            expect_latest(dir, 2);
        } else {
            res->failed++;
            const char *why = rel_snap_diff(&before, dir);
            if (why) fail_msg("call %ld (%s %s): previous files changed: %s", n, rel_op_name(f.op), f.path, why);
            expect_latest(dir, 1);
        }
    }
    if (!persistent && rel_count(dir, ".tempstate") != 0)
        fail_msg("call %ld (%s %s): %d temp files left", n, rel_op_name(f.op), f.path, rel_count(dir, ".tempstate"));
    if (f.hit) { /* the next overwrite, by a fresh saver, recovers whatever was left */
        rel_model m2;
        must_model(&m2, 5, true);
        save_over(&m2, path, 3);
        expect_latest(dir, 3);
        assert_int_equal(rel_count(dir, ".tempstate"), 0);
        assert_int_equal(rel_count(dir, "graft-swap"), 0);
        rel_model_free(&m2);
    }
    rel_snap_free(&before);
    rel_model_free(&m);
    rel_rm_rf(dir);
    free(path);
    free(dir);
    return done;
}

static void test_overwrite_every_call(void **state)
{
    (void)state;
    for (int persistent = 0; persistent <= 1; persistent++)
        for (int e = 0; e < 2; e++) {
            int err = e ? EIO : ENOSPC;
            sweep_result res = {0};
            long n = 1;
            for (; !one_overwrite_fault(err, persistent, n, &res); n++) assert_true(n < 4000);
            print_message("overwrite, %s%s: %ld mutating I/O calls; %d failed cleanly, %d tolerated, %d left the new "
                          "values named\n",
                          strerror(err), persistent ? " (persistent)" : "", res.total, res.failed, res.tolerated,
                          res.after_state);
            assert_true(res.failed > 10 && res.after_state > 5);
            assert_int_equal(n, res.total + 1);
        }
}

/* Short writes and EINTR on every write: the files are byte-identical to a normal save. */
static void test_short_writes(void **state)
{
    (void)state;
    for (unsigned seed = 1; seed <= 5; seed++) {
        char *da = rel_tempdir("fio_a"), *db = rel_tempdir("fio_b");
        char *pa = rel_join(da, "m"), *pb = rel_join(db, "m");
        rel_model m, m2;
        must_model(&m2, 5, true);
        must_save(&m2, pa, 7);
        rel_model_free(&m2);
        must_model(&m, 5, true);
        rel_io_cfg cfg = {.short_seed = seed};
        rel_io_install(&cfg);
        graft_status st;
        rel_model_set_step(&m, 7);
        graft_code rc = graft_saver_save(m.sv, m.s, pb, 7, NULL, 0, &st);
        long shorts = rel_io_short_writes();
        rel_io_uninstall();
        if (rc != GRAFT_OK) fail_msg("save with short writes: %s", st.msg);
        assert_true(shorts > 0);
        const char *files[] = {"m-7.index", "m-7.data-00000-of-00001", "m-7.meta", "checkpoint"};
        for (int i = 0; i < 4; i++) {
            char *a = rel_join(da, files[i]), *b = rel_join(db, files[i]);
            size_t na = 0, nb = 0;
            uint8_t *x = rel_read(a, &na), *y = rel_read(b, &nb);
            if (!x || !y || na != nb || memcmp(x, y, na) != 0)
                fail_msg("seed %u: %s differs after %ld short writes (%zu vs %zu bytes)", seed, files[i], shorts, na,
                         nb);
            free(x);
            free(y);
            free(a);
            free(b);
        }
        expect_latest(db, 7);
        rel_model_free(&m);
        rel_rm_rf(da);
        rel_rm_rf(db);
        free(pa);
        free(pb);
        free(da);
        free(db);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_enospc_every_call),
        cmocka_unit_test(test_eio_every_call),
        cmocka_unit_test(test_faults_with_retention_delete),
        cmocka_unit_test(test_persistent_faults),
        cmocka_unit_test(test_short_writes),
        cmocka_unit_test(test_overwrite_every_call),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
