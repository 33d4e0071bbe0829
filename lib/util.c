/* lib/util.c - status objects, the allocation and I/O hooks every module goes
 * through, logging, checked arithmetic and small file helpers. */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int graft_version_number(void) { return GRAFT_VERSION_NUMBER; }

const char *graft_code_str(graft_code code)
{
    switch (code) {
    case GRAFT_OK: return "ok";
    case GRAFT_ERR_INVALID_ARG: return "invalid argument";
    case GRAFT_ERR_NOT_FOUND: return "not found";
    case GRAFT_ERR_SHAPE: return "shape mismatch";
    case GRAFT_ERR_DTYPE: return "dtype mismatch";
    case GRAFT_ERR_NOMEM: return "out of memory or over a resource cap";
    case GRAFT_ERR_IO: return "I/O error";
    case GRAFT_ERR_CORRUPT: return "corrupt data";
    case GRAFT_ERR_VERSION: return "unsupported version";
    case GRAFT_ERR_UNSUPPORTED: return "unsupported";
    case GRAFT_ERR_FAILED_PRECONDITION: return "failed precondition";
    case GRAFT_ERR_MISUSE: return "API misuse";
    case GRAFT_ERR_ABORTED: return "aborted";
    case GRAFT_ERR_INTERNAL: return "internal error";
    default: return "unknown error code";
    }
}

void graft_status_clear(graft_status *st)
{
    if (!st) return;
    st->code = GRAFT_OK;
    st->msg[0] = '\0';
}

/* Length of the valid UTF-8 sequence at p (1..4), 0 when p starts none (overlong
 * forms, surrogates and code points past U+10FFFF are invalid). */
static size_t utf8_len(const unsigned char *p)
{
    unsigned c = p[0];
    if (c < 0x80) return 1;
    size_t n = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
    for (size_t i = 1; i < n; i++)
        if ((p[i] & 0xC0) != 0x80) return 0;
    if (n == 3 && ((c == 0xE0 && p[1] < 0xA0) || (c == 0xED && p[1] >= 0xA0))) return 0;
    if (n == 4 && ((c == 0xF0 && p[1] < 0x90) || (c == 0xF4 && p[1] >= 0x90))) return 0;
    return n;
}

/* Messages are for people and terminals and often quote names from files: control
 * characters (except newline and tab) and bytes that are not UTF-8 become \xNN, so a
 * hostile name can neither garble a log nor drive a terminal. */
static void sanitize_msg(char *msg, size_t cap)
{
    const unsigned char *p = (const unsigned char *)msg;
    bool clean = true;
    for (const unsigned char *q = p; *q && clean; q++) clean = (*q >= 0x20 && *q < 0x7f) || *q == '\n' || *q == '\t';
    if (clean) return;
    char out[GRAFT_STATUS_MSG_MAX];
    size_t o = 0, room = cap < sizeof out ? cap : sizeof out;
    while (*p) {
        size_t n = utf8_len(p);
        bool keep = n > 1 || (n == 1 && ((*p >= 0x20 && *p != 0x7f) || *p == '\n' || *p == '\t'));
        size_t need = keep ? n : 4;
        if (o + need + 4 > room) { /* no room: end as a truncated message does */
            memcpy(out + o, "...", 4);
            o += 3;
            break;
        }
        if (keep) memcpy(out + o, p, n);
        else snprintf(out + o, 5, "\\x%02X", *p);
        o += need;
        p += keep ? n : 1;
    }
    out[o] = '\0';
    memcpy(msg, out, o + 1);
}

graft_code graftI_vset(graft_status *st, graft_code code, const char *fmt, va_list ap)
{
    if (!st) return code;
    st->code = code;
    if (fmt) {
        char tmp[GRAFT_STATUS_MSG_MAX]; /* arguments may point into st->msg itself */
        int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
        if (n >= (int)sizeof tmp) memcpy(tmp + sizeof tmp - 5, "...", 4);
        memcpy(st->msg, tmp, sizeof tmp);
        sanitize_msg(st->msg, sizeof st->msg);
    } else {
        snprintf(st->msg, sizeof st->msg, "%s", graft_code_str(code));
    }
    return code;
}

graft_code graft_status_set(graft_status *st, graft_code code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    graftI_vset(st, code, fmt, ap);
    va_end(ap);
    return code;
}

/* ---- allocation ---------------------------------------------------------------- */
static void *default_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    (void)ud;
    (void)osize;
    if (nsize == 0) {
        free(ptr);
        return NULL;
    }
    return realloc(ptr, nsize);
}

static graft_alloc_fn g_alloc = default_alloc;
static void *g_alloc_ud;

void graft_set_allocator(graft_alloc_fn fn, void *ud)
{
    g_alloc = fn ? fn : default_alloc;
    g_alloc_ud = fn ? ud : NULL;
}

/* Blocks carry their size in a 16-byte header so the hook gets osize (Lua style). */
#define HDR 16

void *graftI_malloc(size_t n)
{
    size_t tot;
    if (!graftI_add_size(n, HDR, &tot)) return NULL;
    unsigned char *p = g_alloc(g_alloc_ud, NULL, 0, tot);
    if (!p) return NULL;
    memcpy(p, &n, sizeof n);
    return p + HDR;
}

void *graftI_calloc(size_t count, size_t size)
{
    size_t n;
    if (!graftI_mul_size(count, size, &n)) return NULL;
    void *p = graftI_malloc(n);
    if (p) memset(p, 0, n);
    return p;
}

void *graftI_realloc(void *p, size_t n)
{
    if (!p) return graftI_malloc(n);
    if (n == 0) {
        graftI_free(p);
        return NULL;
    }
    unsigned char *base = (unsigned char *)p - HDR;
    size_t old, tot;
    memcpy(&old, base, sizeof old);
    if (!graftI_add_size(n, HDR, &tot)) return NULL;
    unsigned char *q = g_alloc(g_alloc_ud, base, old + HDR, tot);
    if (!q) return NULL;
    memcpy(q, &n, sizeof n);
    return q + HDR;
}

void graftI_free(void *p)
{
    if (!p) return;
    unsigned char *base = (unsigned char *)p - HDR;
    size_t old;
    memcpy(&old, base, sizeof old);
    g_alloc(g_alloc_ud, base, old + HDR, 0);
}

char *graftI_strndup(const char *s, size_t n)
{
    char *d = graftI_malloc(n + 1);
    if (!d) return NULL;
    if (n) memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

char *graftI_strdup(const char *s) { return s ? graftI_strndup(s, strlen(s)) : NULL; }

bool graftI_mul_size(size_t a, size_t b, size_t *out) { return !__builtin_mul_overflow(a, b, out); }
bool graftI_add_size(size_t a, size_t b, size_t *out) { return !__builtin_add_overflow(a, b, out); }
bool graftI_mul_i64(int64_t a, int64_t b, int64_t *out) { return !__builtin_mul_overflow(a, b, out); }

bool graftI_grow(void **arr, int *cap, int need, size_t elem)
{
    if (need <= *cap) return true;
    int nc = *cap ? *cap : 4;
    while (nc < need) {
        if (nc > (1 << 29)) return false;
        nc *= 2;
    }
    size_t bytes;
    if (!graftI_mul_size((size_t)nc, elem, &bytes)) return false;
    void *p = graftI_realloc(*arr, bytes);
    if (!p) return false;
    memset((char *)p + (size_t)*cap * elem, 0, (size_t)(nc - *cap) * elem);
    *arr = p;
    *cap = nc;
    return true;
}

/* ---- logging -------------------------------------------------------------------- */
static void default_log(void *ud, graft_log_level lvl, const char *msg)
{
    (void)ud;
    if (lvl >= GRAFT_LOG_WARN) fprintf(stderr, "graft: %s\n", msg);
}
static graft_log_fn g_log = default_log;
static void *g_log_ud;

void graft_set_log(graft_log_fn fn, void *ud)
{
    g_log = fn ? fn : default_log;
    g_log_ud = fn ? ud : NULL;
}

void graftI_log(graft_log_level lvl, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    g_log(g_log_ud, lvl, buf);
}

/* ---- I/O hooks --------------------------------------------------------------------- */
static int d_open(void *ud, const char *path, int flags, int mode) { (void)ud; return open(path, flags | O_CLOEXEC, mode); }
static long d_read(void *ud, int fd, void *buf, size_t n) { (void)ud; return (long)read(fd, buf, n); }
static long d_write(void *ud, int fd, const void *buf, size_t n) { (void)ud; return (long)write(fd, buf, n); }
static long d_pread(void *ud, int fd, void *buf, size_t n, int64_t off) { (void)ud; return (long)pread(fd, buf, n, (off_t)off); }
static int d_fsync(void *ud, int fd) { (void)ud; return fsync(fd); }
static int d_close(void *ud, int fd) { (void)ud; return close(fd); }
static int d_rename(void *ud, const char *a, const char *b) { (void)ud; return rename(a, b); }
static int d_unlink(void *ud, const char *p) { (void)ud; return unlink(p); }

static void d_fill(const struct stat *sb, graft_file_stat *out)
{
    out->size = (int64_t)sb->st_size;
    out->kind = S_ISREG(sb->st_mode) ? GRAFT_FILE_REGULAR : S_ISDIR(sb->st_mode) ? GRAFT_FILE_DIRECTORY : GRAFT_FILE_OTHER;
}
static int d_stat(void *ud, const char *path, graft_file_stat *out)
{
    (void)ud;
    struct stat sb;
    if (stat(path, &sb) != 0) return -1;
    d_fill(&sb, out);
    return 0;
}
static int d_fstat(void *ud, int fd, graft_file_stat *out)
{
    (void)ud;
    struct stat sb;
    if (fstat(fd, &sb) != 0) return -1;
    d_fill(&sb, out);
    return 0;
}

static const graft_io_hooks default_io = {d_open,   d_read,   d_write, d_pread, d_fsync, d_close,
                                          d_rename, d_unlink, NULL,    d_stat,  d_fstat};
static graft_io_hooks g_io = {d_open, d_read, d_write, d_pread, d_fsync, d_close, d_rename, d_unlink, NULL, d_stat, d_fstat};

void graft_set_io_hooks(const graft_io_hooks *hooks)
{
    if (!hooks) {
        g_io = default_io;
        return;
    }
    graft_io_hooks h = *hooks;
#define FILL(m) \
    if (!h.m) h.m = default_io.m
    FILL(open);
    FILL(read);
    FILL(write);
    FILL(pread);
    FILL(fsync);
    FILL(close);
    FILL(rename);
    FILL(unlink);
    FILL(stat);
    FILL(fstat);
#undef FILL
    g_io = h;
}
const graft_io_hooks *graft_default_io_hooks(void) { return &default_io; }
const graft_io_hooks *graftI_io(void) { return &g_io; }

graft_code graftI_read_file(const char *path, size_t max_bytes, uint8_t **data, size_t *len, graft_status *st)
{
    const graft_io_hooks *io = graftI_io();
    *data = NULL;
    *len = 0;
    int fd = io->open(io->ud, path, O_RDONLY, 0);
    if (fd < 0)
        return graft_status_set(st, errno == ENOENT ? GRAFT_ERR_NOT_FOUND : GRAFT_ERR_IO, "%s: open: %s", path,
                                strerror(errno));
    graft_file_stat sb;
    if (io->fstat(io->ud, fd, &sb) != 0 || sb.kind != GRAFT_FILE_REGULAR || sb.size < 0) {
        io->close(io->ud, fd);
        return graft_status_set(st, GRAFT_ERR_IO, "%s: not a regular file", path);
    }
    if ((uint64_t)sb.size > max_bytes) {
        io->close(io->ud, fd);
        return graft_status_set(st, GRAFT_ERR_NOMEM, "%s: file is %lld bytes, over the cap of %zu bytes", path,
                                (long long)sb.size, max_bytes);
    }
    size_t n = (size_t)sb.size;
    uint8_t *buf = graftI_malloc(n ? n : 1);
    if (!buf) {
        io->close(io->ud, fd);
        return graft_status_set(st, GRAFT_ERR_NOMEM, "%s: cannot allocate %zu bytes", path, n);
    }
    size_t got = 0;
    while (got < n) {
        long r = io->pread(io->ud, fd, buf + got, n - got, (int64_t)got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            int e = r < 0 ? errno : 0;
            io->close(io->ud, fd);
            graftI_free(buf);
            return graft_status_set(st, GRAFT_ERR_IO, "%s: offset %zu: read: %s", path, got,
                                    e ? strerror(e) : "unexpected end of file");
        }
        got += (size_t)r;
    }
    io->close(io->ud, fd);
    *data = buf;
    *len = n;
    return GRAFT_OK;
}

uint64_t graftI_random64(void)
{
    static uint64_t counter;
    uint64_t x = 0;
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        if (read(fd, &x, sizeof x) != (ssize_t)sizeof x) x = 0;
        close(fd);
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    x ^= (uint64_t)ts.tv_nsec * 0x9E3779B97F4A7C15ull ^ (uint64_t)getpid() << 32 ^ ++counter;
    return x;
}

graft_code graftI_fsync_dir(const char *dir, graft_status *st)
{
    const graft_io_hooks *io = graftI_io();
    int fd = io->open(io->ud, dir && *dir ? dir : ".", O_RDONLY | O_DIRECTORY, 0);
    if (fd < 0) return graft_status_set(st, GRAFT_ERR_IO, "%s: open directory: %s", dir, strerror(errno));
    int r = io->fsync(io->ud, fd);
    int e = errno;
    io->close(io->ud, fd);
    if (r != 0 && e != EINVAL) return graft_status_set(st, GRAFT_ERR_IO, "%s: fsync directory: %s", dir, strerror(e));
    return GRAFT_OK;
}

graft_code graftI_write_file_atomic(const char *path, const void *data, size_t len, graft_status *st)
{
    return graftI_write_file_atomic_ex(path, data, len, NULL, st);
}

graft_code graftI_write_file_atomic_ex(const char *path, const void *data, size_t len, bool *renamed,
                                       graft_status *st)
{
    if (renamed) *renamed = false;
    const graft_io_hooks *io = graftI_io();
    size_t pl = strlen(path);
    char *tmp = graftI_malloc(pl + 40);
    /* the directory name is allocated up front: an allocation failure after the
     * rename would report a failed write of a file that was in fact replaced */
    char *dir = graftI_strdup(path);
    if (!tmp || !dir) {
        graftI_free(tmp);
        graftI_free(dir);
        return graft_status_set(st, GRAFT_ERR_NOMEM, "%s: out of memory", path);
    }
    snprintf(tmp, pl + 40, "%s.tempstate%llu", path, (unsigned long long)graftI_random64());
    int fd = io->open(io->ud, tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        graft_status_set(st, GRAFT_ERR_IO, "%s: open: %s", tmp, strerror(errno));
        graftI_free(tmp);
        graftI_free(dir);
        return GRAFT_ERR_IO;
    }
    const char *p = data;
    size_t left = len;
    const char *what = NULL;
    int err = 0;
    while (left > 0) {
        long w = io->write(io->ud, fd, p, left);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            what = "write";
            err = w < 0 ? errno : EIO;
            break;
        }
        p += w;
        left -= (size_t)w;
    }
    if (!what && io->fsync(io->ud, fd) != 0) {
        what = "fsync";
        err = errno;
    }
    if (io->close(io->ud, fd) != 0 && !what) {
        what = "close";
        err = errno;
    }
    if (!what && io->rename(io->ud, tmp, path) != 0) {
        what = "rename";
        err = errno;
    }
    if (what) {
        graft_status_set(st, GRAFT_ERR_IO, "%s: %s: %s", what[0] == 'r' ? path : tmp, what, strerror(err));
        io->unlink(io->ud, tmp);
        graftI_free(tmp);
        graftI_free(dir);
        return GRAFT_ERR_IO;
    }
    graftI_free(tmp);
    if (renamed) *renamed = true;
    /* fsync the directory so the rename itself is durable */
    char *slash = strrchr(dir, '/');
    graft_code rc;
    if (slash) {
        if (slash == dir) slash[1] = '\0';
        else *slash = '\0';
        rc = graftI_fsync_dir(dir, st);
    } else {
        rc = graftI_fsync_dir(".", st);
    }
    graftI_free(dir);
    return rc;
}
