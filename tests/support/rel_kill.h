/*
 * tests/support/rel_kill.h - the kill harness of tests/test_kill.c and tests/slow_kill.c
 * (reliability T3): a child process saves the rel_model step after step; the parent
 * SIGKILLs it at random moments, or makes it _exit at the Nth I/O call of a save, and
 * checks that the `checkpoint` file parses and its model_checkpoint_path holds the
 * values of the last step reported saved or of the one being saved.
 */
#ifndef GRAFT_TEST_REL_KILL_H
#define GRAFT_TEST_REL_KILL_H

#include <stdbool.h>
#include <stddef.h>

typedef struct rel_kill_stats {
    int kills;
    int at_last_done;    /* state named the last step the child reported saved */
    int at_in_flight;    /* state named the step being saved (its state rename was done) */
    double save_ms;      /* measured duration of one save */
    long io_calls;       /* _exit sweep: I/O calls of one save */
} rel_kill_stats;

/* SIGKILL `kills` children at random moments within their saves, in one directory
 * created under the working directory. Returns false with the reason in why. */
bool rel_kill_random(int kills, unsigned seed, rel_kill_stats *out, char *why, size_t cap);
/* For every N from 1 to the number of I/O calls of a save (+1), a child that saved
 * step 1 _exits at the Nth I/O call of saving step 2. */
bool rel_kill_every_io_call(rel_kill_stats *out, char *why, size_t cap);
/* From now on children save every step to the same prefix, without a global step
 * (the overwrite that graft routes through a "<prefix>.graft-swap" copy). */
void rel_kill_set_overwrite(bool on);

#endif
