/*
 * tests/support/rel_power.h - power-loss simulation (reliability T4): an I/O shim over
 * graft_set_io_hooks that models what a file system keeps when the power goes: file
 * bytes only as of their last fsync, directory entries (create, rename, unlink) only
 * as of the directory's last fsync. At every sync point of a save, and after it, it
 * builds crash states in which unsynced writes and entry changes are dropped, cut,
 * zero-filled or applied out of order, writes each one to a scratch directory and
 * asks a checker whether it recovers.
 */
#ifndef GRAFT_TEST_REL_POWER_H
#define GRAFT_TEST_REL_POWER_H

#include <stdbool.h>
#include <stddef.h>

/* Called with a directory holding one crash state; returns NULL when it recovers,
 * else a description (copied into the failure report). */
typedef const char *(*rel_power_check_fn)(void *ud, const char *crash_dir);

typedef struct rel_power_stats {
    long sync_points;  /* fsync calls seen (file and directory) */
    long states;       /* crash states built and checked */
    long failures;     /* states the checker refused */
    char first_failure[4096];
} rel_power_stats;

/* Models every file and entry of dir (taken as durable now) and installs the shim;
 * crash states go to scratch (created/emptied as needed). patterns: random damage
 * patterns per sync point, on top of three fixed ones (nothing pending lands,
 * everything lands, entries land but unsynced bytes do not). */
bool rel_power_begin(const char *dir, const char *scratch, unsigned seed, int patterns, char *why, size_t cap);
/* The checker for the sync points from now on. */
void rel_power_set_check(rel_power_check_fn fn, void *ud);
/* Builds and checks crash states for the current moment (e.g. after a save returned). */
void rel_power_point(void);
/* Negative controls: the model ignores (the OS still does) fsyncs of files and/or of
 * the directory, as if the code under test never made them; the checker must then
 * see unrecoverable states. */
void rel_power_forget_syncs(bool files, bool dirs);
/* Uninstalls the shim, frees the model. */
void rel_power_end(rel_power_stats *out);

#endif
