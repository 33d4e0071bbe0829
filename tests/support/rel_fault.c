/* tests/support/rel_fault.c - the reliability tests' I/O shim and counting allocator
 * (see rel_fault.h), and directory snapshots for "byte-identical to before" checks. */
#include "rel_fault.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "graft/common.h"

const char *rel_op_name(rel_op op)
{
    static const char *const names[] = {"open", "read", "write", "pread", "fsync", "close", "rename", "unlink"};
    return names[op];
}

/* ---- I/O shim ------------------------------------------------------------------------------ */
#define REL_MAX_FD 4096
static struct {
    rel_io_cfg cfg;
    long mut, all, shorts;
    unsigned rng;
    bool state_renamed;
    rel_io_fault fault;
    char *fd_path[REL_MAX_FD];
    bool fd_write[REL_MAX_FD];
} g_io;

static const graft_io_hooks *dflt(void) { return graft_default_io_hooks(); }

static void tick_all(void)
{
    if (++g_io.all == g_io.cfg.exit_at) _exit(0);
}

/* Counts a mutating call; returns true when it must fail (errno set). */
static bool tick_mut(rel_op op, const char *path, const char *path2)
{
    long n = ++g_io.mut;
    bool fail = g_io.cfg.fail_at > 0 && (n == g_io.cfg.fail_at || (g_io.cfg.persistent && n > g_io.cfg.fail_at));
    if (!fail) return false;
    if (!g_io.fault.hit) {
        g_io.fault.hit = true;
        g_io.fault.op = op;
        snprintf(g_io.fault.path, sizeof g_io.fault.path, "%s", path ? path : "");
        snprintf(g_io.fault.path2, sizeof g_io.fault.path2, "%s", path2 ? path2 : "");
        g_io.fault.after_state_rename = g_io.state_renamed;
    }
    errno = g_io.cfg.err;
    return true;
}

static const char *fdp(int fd) { return fd >= 0 && fd < REL_MAX_FD && g_io.fd_path[fd] ? g_io.fd_path[fd] : "?"; }
static bool fdw(int fd) { return fd >= 0 && fd < REL_MAX_FD && g_io.fd_write[fd]; }

static int h_open(void *ud, const char *p, int f, int m)
{
    (void)ud;
    tick_all();
    bool mutating = (f & (O_WRONLY | O_RDWR | O_CREAT)) || (f & O_DIRECTORY);
    if (mutating && tick_mut(REL_OPEN, p, NULL)) return -1;
    int fd = dflt()->open(NULL, p, f, m);
    if (fd >= 0 && fd < REL_MAX_FD) {
        free(g_io.fd_path[fd]);
        g_io.fd_path[fd] = strdup(p);
        g_io.fd_write[fd] = (f & (O_WRONLY | O_RDWR | O_CREAT)) != 0; /* a directory's close is not */
    }
    return fd;
}
static long h_read(void *ud, int fd, void *b, size_t n)
{
    (void)ud;
    tick_all();
    return dflt()->read(NULL, fd, b, n);
}
static long h_pread(void *ud, int fd, void *b, size_t n, int64_t o)
{
    (void)ud;
    tick_all();
    return dflt()->pread(NULL, fd, b, n, o);
}
static long h_write(void *ud, int fd, const void *b, size_t n)
{
    (void)ud;
    tick_all();
    if (tick_mut(REL_WRITE, fdp(fd), NULL)) return -1;
    if (g_io.cfg.short_seed && n > 0) {
        g_io.rng = g_io.rng * 1103515245u + 12345u;
        unsigned r = g_io.rng >> 8;
        if (r % 5 == 0) {
            g_io.shorts++;
            errno = EINTR;
            return -1;
        }
        size_t k = 1 + (size_t)(r % 4099u);
        if (k < n) {
            g_io.shorts++;
            n = k;
        }
    }
    return dflt()->write(NULL, fd, b, n);
}
static int h_fsync(void *ud, int fd)
{
    (void)ud;
    tick_all();
    if (tick_mut(REL_FSYNC, fdp(fd), NULL)) return -1;
    return dflt()->fsync(NULL, fd);
}
static int h_close(void *ud, int fd)
{
    (void)ud;
    tick_all();
    bool w = fdw(fd);
    /* POSIX: the descriptor is released even when close reports an error */
    char path[4096];
    snprintf(path, sizeof path, "%s", fdp(fd));
    if (fd >= 0 && fd < REL_MAX_FD) {
        free(g_io.fd_path[fd]);
        g_io.fd_path[fd] = NULL;
        g_io.fd_write[fd] = false;
    }
    int r = dflt()->close(NULL, fd);
    if (w && tick_mut(REL_CLOSE, path, NULL)) return -1;
    return r;
}
static int h_rename(void *ud, const char *a, const char *b)
{
    (void)ud;
    tick_all();
    if (tick_mut(REL_RENAME, b, a)) return -1;
    int r = dflt()->rename(NULL, a, b);
    const char *base = strrchr(b, '/');
    base = base ? base + 1 : b;
    if (r == 0 && strcmp(base, "checkpoint") == 0) g_io.state_renamed = true;
    return r;
}
static int h_unlink(void *ud, const char *p)
{
    (void)ud;
    tick_all();
    if (tick_mut(REL_UNLINK, p, NULL)) return -1;
    return dflt()->unlink(NULL, p);
}

void rel_io_install(const rel_io_cfg *cfg)
{
    rel_io_uninstall();
    memset(&g_io.fault, 0, sizeof g_io.fault);
    g_io.cfg = *cfg;
    g_io.mut = g_io.all = g_io.shorts = 0;
    g_io.rng = cfg->short_seed;
    g_io.state_renamed = false;
    graft_io_hooks h = {.open = h_open, .read = h_read, .write = h_write, .pread = h_pread, .fsync = h_fsync, .close = h_close, .rename = h_rename, .unlink = h_unlink};
    graft_set_io_hooks(&h);
}

void rel_io_uninstall(void)
{
    graft_set_io_hooks(NULL);
    for (int i = 0; i < REL_MAX_FD; i++) {
        free(g_io.fd_path[i]);
        g_io.fd_path[i] = NULL;
        g_io.fd_write[i] = false;
    }
}

long rel_io_mutating_calls(void) { return g_io.mut; }
long rel_io_all_calls(void) { return g_io.all; }
long rel_io_short_writes(void) { return g_io.shorts; }
const rel_io_fault *rel_io_last_fault(void) { return &g_io.fault; }

/* ---- allocator ---------------------------------------------------------------------------- */
static atomic_long a_live, a_req, a_fail, a_fail_at;
static atomic_bool a_persistent;

static void *rel_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    (void)ud;
    if (nsize == 0) {
        if (ptr) atomic_fetch_sub(&a_live, 1);
        free(ptr);
        return NULL;
    }
    if (!ptr || nsize > osize) {
        long n = atomic_fetch_add(&a_req, 1) + 1;
        long at = atomic_load(&a_fail_at);
        if (at > 0 && (n == at || (atomic_load(&a_persistent) && n > at))) {
            atomic_fetch_add(&a_fail, 1);
            return NULL;
        }
    }
    void *q = realloc(ptr, nsize);
    if (q && !ptr) atomic_fetch_add(&a_live, 1);
    return q;
}

void rel_alloc_install(void) { graft_set_allocator(rel_alloc, NULL); }
void rel_alloc_uninstall(void) { graft_set_allocator(NULL, NULL); }
void rel_alloc_arm(long fail_at, bool persistent)
{
    atomic_store(&a_req, 0);
    atomic_store(&a_fail, 0);
    atomic_store(&a_persistent, persistent);
    atomic_store(&a_fail_at, fail_at);
}
void rel_alloc_disarm(void) { atomic_store(&a_fail_at, 0); }
long rel_alloc_requests(void) { return atomic_load(&a_req); }
long rel_alloc_failures(void) { return atomic_load(&a_fail); }
long rel_alloc_live(void) { return atomic_load(&a_live); }

/* ---- files -------------------------------------------------------------------------------- */
char *rel_join(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s/%s", a, b);
    return p;
}

uint8_t *rel_read(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, len = 0;
    uint8_t *buf = malloc(cap);
    for (;;) {
        if (len == cap) buf = realloc(buf, cap *= 2);
        size_t r = fread(buf + len, 1, cap - len, f);
        if (r == 0) break;
        len += r;
    }
    fclose(f);
    *n = len;
    return buf;
}

bool rel_write(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f) return false;
    bool ok = fwrite(data, 1, n, f) == n;
    return fclose(f) == 0 && ok;
}

void rel_snap_take(rel_snap *s, const char *dir)
{
    memset(s, 0, sizeof *s);
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        char *p = rel_join(dir, de->d_name);
        struct stat sb;
        if (stat(p, &sb) == 0 && S_ISREG(sb.st_mode)) {
            s->names = realloc(s->names, (size_t)(s->n + 1) * sizeof *s->names);
            s->data = realloc(s->data, (size_t)(s->n + 1) * sizeof *s->data);
            s->len = realloc(s->len, (size_t)(s->n + 1) * sizeof *s->len);
            s->names[s->n] = strdup(de->d_name);
            s->data[s->n] = rel_read(p, &s->len[s->n]);
            s->n++;
        }
        free(p);
    }
    closedir(d);
}

void rel_snap_free(rel_snap *s)
{
    for (int i = 0; i < s->n; i++) {
        free(s->names[i]);
        free(s->data[i]);
    }
    free(s->names);
    free(s->data);
    free(s->len);
    memset(s, 0, sizeof *s);
}

const char *rel_snap_diff(const rel_snap *s, const char *dir)
{
    static char why[4200];
    for (int i = 0; i < s->n; i++) {
        char *p = rel_join(dir, s->names[i]);
        size_t n = 0;
        uint8_t *d = rel_read(p, &n);
        free(p);
        if (!d) {
            snprintf(why, sizeof why, "%s: gone", s->names[i]);
            return why;
        }
        bool same = n == s->len[i] && memcmp(d, s->data[i], n) == 0;
        free(d);
        if (!same) {
            snprintf(why, sizeof why, "%s: changed (%zu bytes before, %zu now)", s->names[i], s->len[i], n);
            return why;
        }
    }
    return NULL;
}

int rel_count(const char *dir, const char *part)
{
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        if (strstr(de->d_name, part)) n++;
    closedir(d);
    return n;
}

char *rel_tempdir(const char *tag)
{
    size_t n = strlen(tag) + 16;
    char *p = malloc(n);
    snprintf(p, n, "%s.XXXXXX", tag);
    if (!mkdtemp(p)) {
        free(p);
        return NULL;
    }
    return p;
}

void rel_rm_rf(const char *path)
{
    DIR *d = opendir(path);
    if (d) {
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
            if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
            char *p = rel_join(path, de->d_name);
            rel_rm_rf(p);
            free(p);
        }
        closedir(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}
