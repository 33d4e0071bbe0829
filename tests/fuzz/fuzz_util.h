/*
 * tests/fuzz/fuzz_util.h - shared helpers of the libFuzzer targets (header-only, so
 * tests/test_fuzz_replay.c can include every target in one program): an in-memory
 * file system the checkpoint readers see through graft_set_io_hooks (they take paths,
 * so inputs become files), a silent log hook, and helpers that read everything.
 */
#ifndef GRAFT_FUZZ_UTIL_H
#define GRAFT_FUZZ_UTIL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "graft/graft.h"
#include "graft/npy.h"


/* ---- an in-memory file system behind graft_set_io_hooks -----------------------
 * The checkpoint readers take paths, so each input becomes one or more files. They
 * live in memory, pointing into the input itself (no copy), under a directory that
 * exists only here: no system calls per execution, which was most of the cost of
 * writing real files (and keeps parallel fuzzers apart). Paths outside FZ_ROOT go
 * to the POSIX defaults. Files are read-only: creating, writing, renaming or
 * unlinking one fails with EROFS. */
#define FZ_ROOT "/graft-fuzz-mem"
#define FZ_MAXFILES 8
#define FZ_MAXFDS 32
#define FZ_FD0 1000000

typedef struct fz_file {
    char name[128]; /* below FZ_ROOT/, "" when unused */
    const uint8_t *data;
    size_t n;
} fz_file;
static fz_file fz_files[FZ_MAXFILES];
static int fz_fds[FZ_MAXFDS]; /* file index + 1, 0 when closed */

static void fz_quiet_log(void *ud, graft_log_level lvl, const char *msg)
{
    (void)ud;
    (void)lvl;
    (void)msg;
}

/* The file index for path, -2 for FZ_ROOT itself, -1 for none, -3 when outside. */
static int fz_lookup(const char *path)
{
    size_t rl = sizeof FZ_ROOT - 1;
    if (strncmp(path, FZ_ROOT, rl) != 0 || (path[rl] != '\0' && path[rl] != '/')) return -3;
    const char *name = path + rl;
    while (*name == '/') name++;
    if (!*name || strcmp(name, ".") == 0) return -2;
    for (int i = 0; i < FZ_MAXFILES; i++)
        if (fz_files[i].name[0] && strcmp(fz_files[i].name, name) == 0) return i;
    return -1;
}

static int fz_fdfile(int fd)
{
    int k = fd - FZ_FD0;
    if (k < 0 || k >= FZ_MAXFDS || !fz_fds[k]) return -1;
    return fz_fds[k] - 1;
}

static int fz_open(void *ud, const char *path, int flags, int mode)
{
    int i = fz_lookup(path);
    if (i == -3) return graft_default_io_hooks()->open(ud, path, flags, mode);
    if ((flags & O_ACCMODE) != O_RDONLY || (flags & O_CREAT)) {
        errno = EROFS;
        return -1;
    }
    if (i == -1) {
        errno = ENOENT;
        return -1;
    }
    if (i == -2) {
        errno = EISDIR; /* directory fsyncs are for writers, which cannot work here */
        return -1;
    }
    for (int k = 0; k < FZ_MAXFDS; k++)
        if (!fz_fds[k]) {
            fz_fds[k] = i + 1;
            return FZ_FD0 + k;
        }
    errno = EMFILE;
    return -1;
}

static long fz_pread(void *ud, int fd, void *buf, size_t n, int64_t off)
{
    int i = fz_fdfile(fd);
    if (i < 0) return fd >= FZ_FD0 ? (errno = EBADF, -1) : graft_default_io_hooks()->pread(ud, fd, buf, n, off);
    if (off < 0) {
        errno = EINVAL;
        return -1;
    }
    const fz_file *f = &fz_files[i];
    if ((uint64_t)off >= f->n) return 0;
    size_t k = f->n - (size_t)off < n ? f->n - (size_t)off : n;
    memcpy(buf, f->data + off, k);
    return (long)k;
}

static long fz_read(void *ud, int fd, void *buf, size_t n)
{
    (void)buf;
    (void)n;
    if (fd >= FZ_FD0) { /* no reader here reads sequentially; fail loudly if one starts */
        errno = ENOSYS;
        return -1;
    }
    return graft_default_io_hooks()->read(ud, fd, buf, n);
}

static long fz_write(void *ud, int fd, const void *buf, size_t n)
{
    if (fd >= FZ_FD0) {
        errno = EROFS;
        return -1;
    }
    return graft_default_io_hooks()->write(ud, fd, buf, n);
}

static int fz_fsync(void *ud, int fd) { return fd >= FZ_FD0 ? 0 : graft_default_io_hooks()->fsync(ud, fd); }

static int fz_close(void *ud, int fd)
{
    if (fd < FZ_FD0) return graft_default_io_hooks()->close(ud, fd);
    if (fz_fdfile(fd) < 0) {
        errno = EBADF;
        return -1;
    }
    fz_fds[fd - FZ_FD0] = 0;
    return 0;
}

static int fz_rename(void *ud, const char *a, const char *b)
{
    if (fz_lookup(a) != -3 || fz_lookup(b) != -3) {
        errno = EROFS;
        return -1;
    }
    return graft_default_io_hooks()->rename(ud, a, b);
}

static int fz_unlink(void *ud, const char *p)
{
    if (fz_lookup(p) != -3) {
        errno = EROFS;
        return -1;
    }
    return graft_default_io_hooks()->unlink(ud, p);
}

static int fz_stat(void *ud, const char *path, graft_file_stat *out)
{
    int i = fz_lookup(path);
    if (i == -3) return graft_default_io_hooks()->stat(ud, path, out);
    if (i == -1) {
        errno = ENOENT;
        return -1;
    }
    out->kind = i == -2 ? GRAFT_FILE_DIRECTORY : GRAFT_FILE_REGULAR;
    out->size = i == -2 ? 0 : (int64_t)fz_files[i].n;
    return 0;
}

static int fz_fstat(void *ud, int fd, graft_file_stat *out)
{
    int i = fz_fdfile(fd);
    if (i < 0) return fd >= FZ_FD0 ? (errno = EBADF, -1) : graft_default_io_hooks()->fstat(ud, fd, out);
    out->kind = GRAFT_FILE_REGULAR;
    out->size = (int64_t)fz_files[i].n;
    return 0;
}

/* The directory the targets work in; the first call installs the hooks and a
 * silent log. Every call forgets the previous input's files (a target calls it
 * first) and checks that the previous run closed what it opened. */
static inline const char *fz_dir(void)
{
    static int ready;
    if (!ready) {
        graft_set_log(fz_quiet_log, NULL);
        graft_io_hooks h = {.open = fz_open,
                            .read = fz_read,
                            .write = fz_write,
                            .pread = fz_pread,
                            .fsync = fz_fsync,
                            .close = fz_close,
                            .rename = fz_rename,
                            .unlink = fz_unlink,
                            .stat = fz_stat,
                            .fstat = fz_fstat};
        graft_set_io_hooks(&h);
        ready = 1;
    }
    for (int k = 0; k < FZ_MAXFDS; k++)
        if (fz_fds[k]) abort(); /* a graft reader leaked a descriptor: a finding */
    memset(fz_files, 0, sizeof fz_files);
    return FZ_ROOT;
}

/* FZ_ROOT/name, into a static buffer per slot (0..3). */
static inline const char *fz_path(int slot, const char *name)
{
    static char buf[4][256];
    snprintf(buf[slot], sizeof buf[slot], "%s/%s", FZ_ROOT, name);
    return buf[slot];
}

/* Makes path (from fz_path) a file holding data[0..n), valid while data is. */
static inline void fz_put(const char *path, const uint8_t *data, size_t n)
{
    const char *name = path + sizeof FZ_ROOT;
    int i = fz_lookup(path);
    if (i == -3 || i == -2) abort(); /* the harness, not graft */
    if (i == -1)
        for (i = 0; i < FZ_MAXFILES && fz_files[i].name[0]; i++) {
        }
    size_t nl = strlen(name);
    if (i >= FZ_MAXFILES || nl >= sizeof fz_files[i].name) abort();
    memcpy(fz_files[i].name, name, nl + 1);
    fz_files[i].data = data;
    fz_files[i].n = n;
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

/* Tensors fz_read_all read successfully (the replay test checks the harness reaches them). */
static long fz_reads_ok;

/* Opens a checkpoint at prefix, lists and reads every entry, and with verify checks
 * every checksum again (graft_ckpt_reader_verify). */
static inline void fz_read_all(const char *prefix, bool verify)
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
        if (graft_ckpt_reader_read(r, e.name, &t, &st) == GRAFT_OK) {
            fz_consume(t);
            fz_reads_ok++;
        }
        graft_tensor_free(t);
    }
    if (verify) graft_ckpt_reader_verify(r, &st);
    graft_ckpt_reader_free(r);
}

#endif
