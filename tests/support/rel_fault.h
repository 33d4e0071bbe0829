/*
 * tests/support/rel_fault.h - fault injection for the reliability tests (issue #6):
 * an I/O shim over graft_set_io_hooks that counts calls and fails, shortens or
 * _exit()s at a chosen one, and a counting allocator over graft_set_allocator that
 * fails the Nth allocation and tracks live blocks; plus small file helpers.
 */
#ifndef GRAFT_TEST_REL_FAULT_H
#define GRAFT_TEST_REL_FAULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum rel_op { REL_OPEN, REL_READ, REL_WRITE, REL_PREAD, REL_FSYNC, REL_CLOSE, REL_RENAME, REL_UNLINK } rel_op;
const char *rel_op_name(rel_op op);

/* ---- the I/O shim ----------------------------------------------------------------------
 * "Mutating" calls are the ones a save makes: open for writing (or of a directory, for
 * its fsync), write, fsync, close of a descriptor opened for writing, rename, unlink.
 * Positions count mutating calls from 1 since rel_io_install. */
typedef struct rel_io_cfg {
    long fail_at;         /* mutating call to fail (0: none) */
    bool persistent;      /* fail every mutating call from fail_at on */
    int err;              /* errno to fail with (ENOSPC, EIO, ...) */
    long exit_at;         /* any call (mutating or not) at which to _exit(0) (0: none) */
    unsigned short_seed;  /* != 0: writes return short counts (1..n), some EINTR */
} rel_io_cfg;

typedef struct rel_io_fault {
    bool hit;             /* a call was failed */
    rel_op op;            /* the first failed call */
    char path[4096];      /* its path (rename: the target; fd calls: the path it was opened with) */
    char path2[4096];     /* rename: the source */
    bool after_state_rename; /* a rename onto a file named "checkpoint" succeeded before the fault */
} rel_io_fault;

void rel_io_install(const rel_io_cfg *cfg);
void rel_io_uninstall(void);
long rel_io_mutating_calls(void);
long rel_io_all_calls(void);
long rel_io_short_writes(void);
const rel_io_fault *rel_io_last_fault(void);

/* ---- the allocator -----------------------------------------------------------------------
 * Installed once (rel_alloc_install) before any graft object exists. Counts live blocks
 * and allocation requests (fresh blocks and growing reallocs); fail_at arms a failure
 * of the Nth request after rel_alloc_arm (persistent: and every later one). */
void rel_alloc_install(void);
void rel_alloc_uninstall(void);
void rel_alloc_arm(long fail_at, bool persistent);
void rel_alloc_disarm(void);
long rel_alloc_requests(void); /* since the last rel_alloc_arm */
long rel_alloc_failures(void); /* since the last rel_alloc_arm */
long rel_alloc_live(void);     /* blocks currently allocated through graft */

/* ---- files -------------------------------------------------------------------------------- */
/* Snapshot of a directory's regular files (names and contents). */
typedef struct rel_snap {
    int n;
    char **names;
    uint8_t **data;
    size_t *len;
} rel_snap;
void rel_snap_take(rel_snap *s, const char *dir);
void rel_snap_free(rel_snap *s);
/* Returns NULL if every file of s is still in dir with the same bytes, else a
 * static description of the first difference. Extra files in dir are ignored. */
const char *rel_snap_diff(const rel_snap *s, const char *dir);
/* Number of entries of dir whose name contains part. */
int rel_count(const char *dir, const char *part);
/* mkdtemp under the working directory, "<tag>.XXXXXX"; malloc'd. */
char *rel_tempdir(const char *tag);
void rel_rm_rf(const char *path);
/* a "/" b, malloc'd. */
char *rel_join(const char *a, const char *b);
uint8_t *rel_read(const char *path, size_t *n);
bool rel_write(const char *path, const void *data, size_t n);

#endif
