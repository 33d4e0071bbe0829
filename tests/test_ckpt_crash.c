/* tests/test_ckpt_crash.c - crash safety of saves (reliability T3): a child process
 * saving in a loop is killed with SIGKILL at random moments, and separately made to
 * _exit at every single I/O call of a save; afterwards the `checkpoint` file must
 * name a checkpoint that loads and equals the values saved at that step (or the
 * previous one), and the next successful save leaves no temp files behind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "ckpt_support.h"

#define BIG 2000000 /* floats: an 8 MB tensor, so kills land inside writes */

typedef struct model {
    graft_graph *g;
    graft_session *s;
    graft_op *big, *small;
    graft_saver *sv;
} model;

static void model_new(model *m)
{
    graft_status st;
    m->g = graft_graph_new();
    int64_t bd[1] = {BIG}, sd[2] = {3, 4};
    graft_variable info;
    graft_variable_new(m->g, "big", graft_zeros(m->g, GRAFT_FLOAT, bd, 1), true, &info);
    m->big = info.var;
    graft_variable_new(m->g, "small", graft_zeros(m->g, GRAFT_INT64, sd, 2), true, &info);
    m->small = info.var;
    m->s = graft_session_new(m->g, NULL, &st);
    graft_session_init_variables(m->s, &st);
    graft_saver_opts o;
    graft_saver_opts_init(&o);
    o.write_meta_graph = false;
    o.max_to_keep = 3;
    m->sv = graft_saver_new(m->g, &o, &st);
}

static void model_free(model *m)
{
    graft_saver_free(m->sv);
    graft_session_free(m->s);
    graft_graph_free(m->g);
}

/* The values of step k: big = k + i/BIG, small = 1000*k + i. */
static void set_step(model *m, int k)
{
    graft_tensor *b = graft_session_variable_storage(m->s, m->big);
    float *bf = graft_tensor_data(b);
    for (int i = 0; i < BIG; i++) bf[i] = (float)k + (float)i / BIG;
    int64_t *sv = graft_tensor_data(graft_session_variable_storage(m->s, m->small));
    for (int i = 0; i < 12; i++) sv[i] = 1000 * (int64_t)k + i;
}

static int step_of(const char *prefix)
{
    const char *d = strrchr(prefix, '-');
    return d ? atoi(d + 1) : -1;
}

/* Every checkpoint the state file lists exists, loads and holds its step's values;
 * returns the latest step, or -1 when no state file exists yet. */
static int verify_dir(const char *dir)
{
    char latest[4096];
    graft_status st;
    if (graft_latest_checkpoint(dir, latest, sizeof latest, &st) != GRAFT_OK) {
        char *sp = ckt_path(dir, "checkpoint");
        bool has_state = access(sp, F_OK) == 0;
        free(sp);
        if (has_state) fail_msg("state file present but unusable: %s", st.msg);
        return -1;
    }
    graft_checkpoint_state *cs = NULL;
    assert_int_equal(graft_checkpoint_state_read(dir, NULL, &cs, &st), GRAFT_OK);
    for (int p = 0; p < cs->n_paths; p++) {
        char *prefix = ckt_path(dir, cs->all_model_checkpoint_paths[p]);
        graft_ckpt_reader *r = graft_ckpt_reader_open(prefix, NULL, &st);
        if (!r) fail_msg("listed checkpoint %s does not open: %s", prefix, st.msg);
        int k = step_of(prefix);
        graft_tensor *b = NULL, *s = NULL;
        if (graft_ckpt_reader_read(r, "big", &b, &st) || graft_ckpt_reader_read(r, "small", &s, &st))
            fail_msg("%s: %s", prefix, st.msg);
        const float *bf = graft_tensor_cdata(b);
        for (int i = 0; i < BIG; i += 9973)
            if (bf[i] != (float)k + (float)i / BIG) fail_msg("%s: big[%d] is not step %d's", prefix, i, k);
        const int64_t *si = graft_tensor_cdata(s);
        for (int i = 0; i < 12; i++) assert_true(si[i] == 1000 * (int64_t)k + i);
        graft_tensor_free(b);
        graft_tensor_free(s);
        graft_ckpt_reader_free(r);
        free(prefix);
    }
    graft_checkpoint_state_free(cs);
    return step_of(latest);
}

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Reads one progress byte (a completed save) within 60 s. */
static bool wait_save(int fd)
{
    fd_set rf;
    FD_ZERO(&rf);
    FD_SET(fd, &rf);
    struct timeval tv = {60, 0};
    char c;
    return select(fd + 1, &rf, NULL, NULL, &tv) == 1 && read(fd, &c, 1) == 1;
}

static void test_sigkill_during_saves(void **state)
{
    (void)state;
    char *dir = ckt_tempdir("crash");
    char *path = ckt_path(dir, "m");
    srand((unsigned)time(NULL));
    int kills = 0, last = -1, first_step = 0;
    double save_time = -1;
    for (int round = 0; round < 25; round++) {
        int pfd[2];
        assert_int_equal(pipe(pfd), 0);
        fflush(NULL);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(pfd[0]);
            model m;
            model_new(&m);
            for (int k = first_step;; k++) {
                set_step(&m, k);
                graft_status st;
                if (graft_saver_save(m.sv, m.s, path, k, NULL, 0, &st) != GRAFT_OK) _exit(3);
                if (write(pfd[1], "s", 1) != 1) _exit(4);
            }
        }
        close(pfd[1]);
        /* let one save complete, then kill at a random moment of the following ones */
        assert_true(wait_save(pfd[0]));
        if (save_time < 0) {
            double t0 = mono();
            assert_true(wait_save(pfd[0]));
            save_time = mono() - t0;
        }
        usleep((useconds_t)((double)rand() / RAND_MAX * save_time * 1.5e6));
        kill(pid, SIGKILL);
        int status;
        waitpid(pid, &status, 0);
        close(pfd[0]);
        assert_true(WIFSIGNALED(status));
        kills++;
        int k = verify_dir(dir);
        assert_true(k >= 0);
        assert_true(k >= last); /* never goes back */
        last = k;
        first_step = k + 1;
    }
    print_message("%d kills survived (a save takes %.0f ms), last checkpoint step %d\n", kills, save_time * 1e3, last);
    assert_true(last >= 0);
    /* the next successful save cleans up every leftover */
    model m;
    model_new(&m);
    set_step(&m, last + 1);
    graft_status st;
    assert_int_equal(graft_saver_save(m.sv, m.s, path, last + 1, NULL, 0, &st), GRAFT_OK);
    assert_int_equal(ckt_count_files(dir, "tempstate"), 0);
    assert_int_equal(verify_dir(dir), last + 1);
    model_free(&m);
    ckt_rm_rf(dir);
    free(path);
    free(dir);
}

/* ---- _exit at the Nth I/O call -------------------------------------------------------- */
static long g_calls, g_die_at;

static void tick(void)
{
    if (++g_calls == g_die_at) _exit(0);
}
static int h_open(void *ud, const char *p, int f, int m) { (void)ud; tick(); return graft_default_io_hooks()->open(NULL, p, f, m); }
static long h_read(void *ud, int fd, void *b, size_t n) { (void)ud; tick(); return graft_default_io_hooks()->read(NULL, fd, b, n); }
static long h_write(void *ud, int fd, const void *b, size_t n) { (void)ud; tick(); return graft_default_io_hooks()->write(NULL, fd, b, n); }
static long h_pread(void *ud, int fd, void *b, size_t n, int64_t o) { (void)ud; tick(); return graft_default_io_hooks()->pread(NULL, fd, b, n, o); }
static int h_fsync(void *ud, int fd) { (void)ud; tick(); return graft_default_io_hooks()->fsync(NULL, fd); }
static int h_close(void *ud, int fd) { (void)ud; tick(); return graft_default_io_hooks()->close(NULL, fd); }
static int h_rename(void *ud, const char *a, const char *b) { (void)ud; tick(); return graft_default_io_hooks()->rename(NULL, a, b); }
static int h_unlink(void *ud, const char *p) { (void)ud; tick(); return graft_default_io_hooks()->unlink(NULL, p); }

static void test_exit_at_every_io_call(void **state)
{
    (void)state;
    char *dir = ckt_tempdir("crash");
    char *path = ckt_path(dir, "m");
    graft_io_hooks h = {.open = h_open, .read = h_read, .write = h_write, .pread = h_pread, .fsync = h_fsync, .close = h_close, .rename = h_rename, .unlink = h_unlink};
    long total = -1;
    int survived = 0;
    for (long n = 1; total < 0 || n <= total + 1; n++) {
        fflush(NULL);
        pid_t pid = fork();
        if (pid == 0) {
            model m;
            model_new(&m);
            graft_status st;
            set_step(&m, 1);
            if (graft_saver_save(m.sv, m.s, path, 1, NULL, 0, &st) != GRAFT_OK) _exit(3);
            set_step(&m, 2);
            g_calls = 0;
            g_die_at = n;
            graft_set_io_hooks(&h);
            if (graft_saver_save(m.sv, m.s, path, 2, NULL, 0, &st) != GRAFT_OK) _exit(3);
            graft_set_io_hooks(NULL);
            _exit(g_calls > 250 ? 250 : (int)g_calls + 4); /* completed: report the call count */
        }
        int status;
        waitpid(pid, &status, 0);
        assert_true(WIFEXITED(status));
        int code = WEXITSTATUS(status);
        assert_int_not_equal(code, 3);
        if (code >= 4 && total < 0) total = code - 4; /* first completed save: calls per save */
        int k = verify_dir(dir);
        assert_true(k == 1 || k == 2);
        survived++;
        ckt_rm_rf(dir);
        assert_int_equal(mkdir(dir, 0755), 0);
        assert_true(n < 400);
    }
    print_message("a save makes %ld I/O calls; a crash at each one left a loadable checkpoint (%d runs)\n", total,
                  survived);
    assert_true(total > 5);
    ckt_rm_rf(dir);
    free(path);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exit_at_every_io_call),
        cmocka_unit_test(test_sigkill_during_saves),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
