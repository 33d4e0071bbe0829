/*
 * tests/fuzz/fuzz_util.h - shared helpers of the libFuzzer targets (header-only, so
 * tests/test_fuzz_replay.c can include every target in one program): a private
 * scratch directory on tmpfs where available, writing an input there as a file, and
 * a silent log hook. The checkpoint readers take paths, so inputs become files.
 */
#ifndef GRAFT_FUZZ_UTIL_H
#define GRAFT_FUZZ_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "graft/graft.h"
#include "graft/npy.h"

static void fz_quiet_log(void *ud, graft_log_level lvl, const char *msg)
{
    (void)ud;
    (void)lvl;
    (void)msg;
}

/* A directory private to this process, created on first use and reused. */
static inline const char *fz_dir(void)
{
    static char dir[256];
    if (!dir[0]) {
        graft_set_log(fz_quiet_log, NULL);
        struct stat sb;
        const char *base = stat("/dev/shm", &sb) == 0 && S_ISDIR(sb.st_mode) ? "/dev/shm" : "/tmp";
        snprintf(dir, sizeof dir, "%s/graft-fuzz.XXXXXX", base);
        if (!mkdtemp(dir)) abort(); /* the harness, not graft: no place to work */
    }
    return dir;
}

/* fz_dir()/name, into a static buffer per slot (0..3). */
static inline const char *fz_path(int slot, const char *name)
{
    static char buf[4][512];
    snprintf(buf[slot], sizeof buf[slot], "%s/%s", fz_dir(), name);
    return buf[slot];
}

static inline void fz_write(const char *path, const uint8_t *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    if (n && fwrite(data, 1, n, f) != n) abort();
    if (fclose(f) != 0) abort();
}

/* Touches every byte of a tensor so the optimiser cannot drop the reads. */
static inline uint8_t fz_consume(graft_tensor *t)
{
    volatile uint8_t acc = 0;
    if (!t) return 0;
    if (graft_tensor_dtype(t) == GRAFT_STRING) return 0;
    const uint8_t *p = graft_tensor_data(t);
    size_t n = graft_tensor_nbytes(t);
    for (size_t i = 0; i < n; i++) acc ^= p[i];
    return acc;
}

/* Opens a checkpoint at prefix, lists and reads every entry. */
static inline void fz_read_all(const char *prefix)
{
    graft_status st;
    graft_ckpt_opts o;
    graft_ckpt_opts_init(&o);
    o.max_entries = 10000; /* keep each input well under -timeout=1 */
    graft_ckpt_reader *r = graft_ckpt_reader_open(prefix, &o, &st);
    if (!r) return;
    int n = graft_ckpt_reader_num_entries(r);
    for (int i = 0; i < n; i++) {
        graft_ckpt_entry e;
        if (!graft_ckpt_reader_entry(r, i, &e)) continue;
        (void)graft_ckpt_reader_find(r, e.name);
        (void)graft_ckpt_dtype_name(e.dtype);
        graft_tensor *t = NULL;
        if (graft_ckpt_reader_read(r, e.name, &t, &st) == GRAFT_OK) fz_consume(t);
        graft_tensor_free(t);
    }
    graft_ckpt_reader_free(r);
}

#endif
