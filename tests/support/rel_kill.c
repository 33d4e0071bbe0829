/* tests/support/rel_kill.c - the kill harness (see rel_kill.h): children that save in a
 * loop, SIGKILLed at random or _exit()ing at the Nth I/O call, and the verification of
 * the directory they leave behind. */
#include "rel_kill.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "graft/graft.h"
#include "rel_fault.h"
#include "rel_model.h"

/* Overwrite mode: every save goes to the same prefix, without a global step. */
static bool g_overwrite;
void rel_kill_set_overwrite(bool on) { g_overwrite = on; }
static int64_t step_arg(long k) { return g_overwrite ? -1 : (int64_t)k; }

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The directory after a kill: the state file parses, model_checkpoint_path resolves
 * inside dir and holds step last_done or in_flight, and every listed checkpoint
 * verifies. *got receives the step found. last_done < 0: no state file is fine. */
static bool verify(const char *dir, long last_done, long in_flight, long *got, char *why, size_t cap)
{
    graft_checkpoint_state *cs = NULL;
    graft_status st;
    graft_code rc = graft_checkpoint_state_read(dir, NULL, &cs, &st);
    if (rc == GRAFT_ERR_NOT_FOUND && last_done < 0) {
        *got = -1;
        return true;
    }
    if (rc != GRAFT_OK) {
        snprintf(why, cap, "state file unusable after a kill: %s", st.msg);
        return false;
    }
    bool ok = true;
    char path[4096], r[2300];
    if (graft_checkpoint_resolve(dir, cs->model_checkpoint_path, 0, path, sizeof path, &st) != GRAFT_OK) {
        snprintf(why, cap, "model_checkpoint_path '%s': %s", cs->model_checkpoint_path, st.msg);
        ok = false;
    }
    long k = ok ? (long)rel_ckpt_step(path, r, sizeof r) : -1;
    if (ok && k < 0) {
        snprintf(why, cap, "the state names %s, which does not verify: %s", path, r);
        ok = false;
    }
    if (ok && k != last_done && k != in_flight) {
        snprintf(why, cap, "the state names step %ld; the child had saved %ld and was saving %ld", k, last_done,
                 in_flight);
        ok = false;
    }
    for (int i = 0; ok && i < cs->n_paths; i++) {
        if (graft_checkpoint_resolve(dir, cs->all_model_checkpoint_paths[i], 0, path, sizeof path, &st) != GRAFT_OK ||
            rel_ckpt_step(path, r, sizeof r) < 0) {
            snprintf(why, cap, "listed checkpoint '%s' does not verify: %s %s", cs->all_model_checkpoint_paths[i],
                     st.msg, r);
            ok = false;
        }
    }
    graft_checkpoint_state_free(cs);
    *got = k;
    return ok;
}

/* Child: saves steps first, first+1, ... reporting each completed step on fd. */
static void child_loop(const char *path, long first, int fd)
{
    char why[2300];
    rel_model m;
    if (!rel_model_new(&m, 3, true, why, sizeof why)) {
        fprintf(stderr, "kill child: %s\n", why);
        _exit(3);
    }
    for (long k = first;; k++) {
        graft_status st;
        rel_model_set_step(&m, k);
        if (graft_saver_save(m.sv, m.s, path, step_arg(k), NULL, 0, &st) != GRAFT_OK) {
            fprintf(stderr, "kill child: save %ld: %s\n", k, st.msg);
            _exit(3);
        }
        int64_t v = k;
        if (write(fd, &v, sizeof v) != (ssize_t)sizeof v) _exit(4);
    }
}

/* Reads one step report within 60 s; false on timeout or EOF. */
static bool read_report(int fd, long *k)
{
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, 60000) != 1) return false;
    int64_t v;
    if (read(fd, &v, sizeof v) != (ssize_t)sizeof v) return false;
    *k = (long)v;
    return true;
}

bool rel_kill_random(int kills, unsigned seed, rel_kill_stats *out, char *why, size_t cap)
{
    memset(out, 0, sizeof *out);
    char *dir = rel_tempdir("kill");
    char *path = rel_join(dir, "m");
    long last = -1, next = 0;
    double save_s = -1;
    bool ok = true;
    for (int round = 0; round < kills && ok; round++) {
        int pfd[2];
        if (pipe(pfd) != 0) {
            snprintf(why, cap, "pipe: %s", strerror(errno));
            ok = false;
            break;
        }
        fflush(NULL);
        pid_t pid = fork();
        if (pid == 0) {
            close(pfd[0]);
            child_loop(path, next, pfd[1]);
        }
        close(pfd[1]);
        long k = -1;
        if (!read_report(pfd[0], &k)) {
            snprintf(why, cap, "round %d: the child saved nothing", round);
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            close(pfd[0]);
            ok = false;
            break;
        }
        long done = k;
        if (save_s < 0) { /* measure a few saves once */
            double t0 = now_s();
            for (int i = 0; i < 4 && read_report(pfd[0], &k); i++) done = k;
            save_s = (now_s() - t0) / 4;
            out->save_ms = save_s * 1e3;
        }
        /* kill at a random moment within the next two saves */
        double delay = (double)rand_r(&seed) / RAND_MAX * save_s * 2;
        struct timespec ts = {(time_t)delay, (long)((delay - (double)(time_t)delay) * 1e9)};
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        int status = 0;
        waitpid(pid, &status, 0);
        while (read_report(pfd[0], &k)) done = k;
        close(pfd[0]);
        if (!WIFSIGNALED(status)) {
            snprintf(why, cap, "round %d: the child exited by itself (status %d)", round, status);
            ok = false;
            break;
        }
        out->kills++;
        long got;
        char r[4096];
        if (!verify(dir, done, done + 1, &got, r, sizeof r)) {
            snprintf(why, cap, "kill %d: %s", round, r);
            ok = false;
            break;
        }
        if (got == done) out->at_last_done++;
        else out->at_in_flight++;
        if (got < last) {
            snprintf(why, cap, "kill %d: the state went back from step %ld to %ld", round, last, got);
            ok = false;
        }
        last = got;
        next = done + 2; /* never reuse a step number that may be on disk half-written */
    }
    if (ok) {
        /* the next successful save leaves no leftovers */
        rel_model m;
        graft_status st;
        if (!rel_model_new(&m, 3, true, why, cap)) {
            ok = false;
        } else {
            rel_model_set_step(&m, next);
            if (graft_saver_save(m.sv, m.s, path, step_arg(next), NULL, 0, &st) != GRAFT_OK) {
                snprintf(why, cap, "save after the kills: %s", st.msg);
                ok = false;
            } else if (rel_count(dir, ".tempstate") != 0) {
                snprintf(why, cap, "%d temp files left after a successful save", rel_count(dir, ".tempstate"));
                ok = false;
            }
            rel_model_free(&m);
        }
    }
    rel_rm_rf(dir);
    free(path);
    free(dir);
    return ok;
}

bool rel_kill_every_io_call(rel_kill_stats *out, char *why, size_t cap)
{
    memset(out, 0, sizeof *out);
    long total = -1;
    bool ok = true;
    for (long n = 1; ok && (total < 0 || n <= total + 1); n++) {
        if (n > 5000) {
            snprintf(why, cap, "a save never completed within 5000 I/O calls");
            return false;
        }
        char *dir = rel_tempdir("killio");
        char *path = rel_join(dir, "m");
        int pfd[2];
        if (pipe(pfd) != 0) return false;
        fflush(NULL);
        pid_t pid = fork();
        if (pid == 0) {
            close(pfd[0]);
            char w[2300];
            rel_model m;
            graft_status st;
            if (!rel_model_new(&m, 3, true, w, sizeof w)) _exit(3);
            rel_model_set_step(&m, 1);
            if (graft_saver_save(m.sv, m.s, path, step_arg(1), NULL, 0, &st) != GRAFT_OK) _exit(3);
            rel_model_set_step(&m, 2);
            rel_io_cfg cfg = {.exit_at = n};
            rel_io_install(&cfg);
            graft_code rc = graft_saver_save(m.sv, m.s, path, step_arg(2), NULL, 0, &st);
            long calls = rel_io_all_calls();
            rel_io_uninstall();
            if (rc != GRAFT_OK) _exit(3);
            if (write(pfd[1], &calls, sizeof calls) != (ssize_t)sizeof calls) _exit(3);
            _exit(4);
        }
        close(pfd[1]);
        int status = 0;
        waitpid(pid, &status, 0);
        if (!WIFEXITED(status) || (WEXITSTATUS(status) != 0 && WEXITSTATUS(status) != 4)) {
            snprintf(why, cap, "I/O call %ld: the child failed (status %d)", n, status);
            ok = false;
        } else if (WEXITSTATUS(status) == 4) {
            if (read(pfd[0], &total, sizeof total) != (ssize_t)sizeof total) ok = false;
            out->io_calls = total;
        } else {
            out->kills++;
        }
        close(pfd[0]);
        long got;
        char r[4096];
        if (ok && !verify(dir, 1, 2, &got, r, sizeof r)) {
            snprintf(why, cap, "_exit at I/O call %ld: %s", n, r);
            ok = false;
        }
        if (ok) {
            if (got == 1) out->at_last_done++;
            else out->at_in_flight++;
            /* the next save cleans up whatever the dead one left */
            rel_model m;
            graft_status st;
            if (!rel_model_new(&m, 3, true, why, cap)) {
                ok = false;
            } else {
                rel_model_set_step(&m, 3);
                if (graft_saver_save(m.sv, m.s, path, step_arg(3), NULL, 0, &st) != GRAFT_OK) {
                    snprintf(why, cap, "_exit at I/O call %ld, then a new save failed: %s", n, st.msg);
                    ok = false;
                } else if (rel_count(dir, ".tempstate") != 0) {
                    snprintf(why, cap, "_exit at I/O call %ld: a new save left %d temp files", n,
                             rel_count(dir, ".tempstate"));
                    ok = false;
                }
                rel_model_free(&m);
            }
        }
        rel_rm_rf(dir);
        free(path);
        free(dir);
    }
    if (ok && total < 0) {
        snprintf(why, cap, "no save completed");
        ok = false;
    }
    return ok;
}
