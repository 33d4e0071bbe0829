/* lib/data/h5child.c - HDF5 parsing in a child process: libhdf5 1.10 crashes, leaks and
 * makes multi-gigabyte allocations on crafted files (found by tests/fuzz/fuzz_h5.c), so
 * by default a file image is parsed in a forked child under an address-space limit and
 * a deadline; the child sends its result as a blob through a pipe, and the caller
 * decodes that blob as it would any untrusted input. Also the blob writer and reader. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "h5util.h"

#if defined(__SANITIZE_ADDRESS__)
#define H5C_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer) || __has_feature(thread_sanitizer)
#define H5C_SANITIZED 1
#endif
#endif
#ifndef H5C_SANITIZED
#define H5C_SANITIZED 0
#endif

#define H5C_MAGIC 0x67683521u /* "!5hg" */

/* What the child sends first; the blob follows. */
typedef struct h5c_head {
    uint32_t magic;
    int32_t code;
    uint64_t blob_len;
    char msg[GRAFT_STATUS_MSG_MAX];
} h5c_head;

void (*graftI_h5_child_hook)(void); /* tests: runs in the child before parsing */

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static bool write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return false;
        c += w;
        n -= (size_t)w;
    }
    return true;
}

/* The current address-space size of this process (0 if unknown). */
static uint64_t vm_size(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long long pages = 0;
    if (f) {
        if (fscanf(f, "%llu", &pages) != 1) pages = 0;
        fclose(f);
    }
    long ps = sysconf(_SC_PAGESIZE);
    return pages * (uint64_t)(ps > 0 ? ps : 4096);
}

static void child(int fd, const void *data, size_t len, const char *name, graftI_h5_parse_fn fn,
                  const void *ctx, uint64_t as_limit, double cpu_s)
{
    /* the host's crash handlers are not for this process: a crash in libhdf5 ends it
     * and the parent reports the signal */
    static const int sigs[] = {SIGPIPE, SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTERM, SIGINT};
    for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++) signal(sigs[i], SIG_DFL);
    if (as_limit) {
        struct rlimit rl = {(rlim_t)as_limit, (rlim_t)as_limit};
        setrlimit(RLIMIT_AS, &rl);
    }
    struct rlimit cl = {(rlim_t)cpu_s + 1, (rlim_t)cpu_s + 2};
    setrlimit(RLIMIT_CPU, &cl);
    struct rlimit core = {0, 0}; /* a crash in libhdf5 is reported, not dumped */
    setrlimit(RLIMIT_CORE, &core);
    if (graftI_h5_child_hook) graftI_h5_child_hook();
    graft_status st;
    graft_status_clear(&st);
    graftI_ck_buf b = {0};
    graft_code rc = fn(data, len, name, ctx, &b, &st);
    if (rc == GRAFT_OK && b.oom) rc = graft_status_set(&st, GRAFT_ERR_NOMEM, "%s: out of memory", name);
    h5c_head hd;
    memset(&hd, 0, sizeof hd);
    hd.magic = H5C_MAGIC;
    hd.code = rc;
    snprintf(hd.msg, sizeof hd.msg, "%s", rc ? st.msg : "");
    hd.blob_len = rc ? 0 : b.n;
    bool ok = write_all(fd, &hd, sizeof hd) && (rc || write_all(fd, b.p, b.n));
    _exit(ok ? 0 : 3); /* no atexit handlers, no leak checks: the process ends here */
}

typedef struct reader {
    int fd;
    double deadline;
    const char *name;
} reader;

static graft_code read_exact(reader *r, void *p, size_t n, const char *what, graft_status *st)
{
    char *c = p;
    while (n > 0) {
        double left = r->deadline - mono_s();
        if (left <= 0)
            return graft_status_set(st, GRAFT_ERR_IO, "%s: the HDF5 parser did not finish within the time limit "
                                    "(reading %s; raise h5_timeout_s)", r->name, what);
        struct pollfd pf = {r->fd, POLLIN, 0};
        int pr = poll(&pf, 1, left > 3600 ? 3600000 : (int)(left * 1000) + 1);
        if (pr < 0 && errno == EINTR) continue;
        if (pr < 0) return graft_status_set(st, GRAFT_ERR_IO, "%s: poll: %s", r->name, strerror(errno));
        if (pr == 0) continue;
        ssize_t got = read(r->fd, c, n);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) return graft_status_set(st, GRAFT_ERR_IO, "%s: read from the HDF5 parser: %s", r->name, strerror(errno));
        if (got == 0) return GRAFT_ERR_CORRUPT; /* the child ended early: its exit status says why */
        c += got;
        n -= (size_t)got;
    }
    return GRAFT_OK;
}

/* Reaps the child (killing it first if asked) and describes how it ended. */
static void reap(pid_t pid, bool kill_it, char *how, size_t cap)
{
    if (kill_it) kill(pid, SIGKILL);
    int ws = 0;
    pid_t w;
    do
        w = waitpid(pid, &ws, 0);
    while (w < 0 && errno == EINTR);
    if (w < 0) snprintf(how, cap, "its status is unknown (%s)", strerror(errno));
    else if (WIFSIGNALED(ws))
        snprintf(how, cap, "it was killed by signal %d (%s)", WTERMSIG(ws), strsignal(WTERMSIG(ws)));
    else if (WIFEXITED(ws))
        snprintf(how, cap, "it exited with status %d", WEXITSTATUS(ws));
    else
        snprintf(how, cap, "it stopped");
}

static graft_code run_here(const void *data, size_t len, const char *name, graftI_h5_parse_fn fn, const void *ctx,
                           uint8_t **blob, size_t *blob_len, graft_status *st)
{
    graftI_ck_buf b = {0};
    graft_status loc; /* fn may rely on a status (st may be NULL) */
    graft_status_clear(&loc);
    graft_code rc = fn(data, len, name, ctx, &b, &loc);
    if (rc == GRAFT_OK && b.oom) rc = graft_status_set(&loc, GRAFT_ERR_NOMEM, "%s: out of memory", name);
    if (rc) {
        graftI_free(b.p);
        if (st) *st = loc;
        return rc;
    }
    *blob = b.p;
    *blob_len = b.n;
    return GRAFT_OK;
}

graft_code graftI_h5_run(const void *data, size_t len, const char *name, bool in_process, double timeout_s,
                         int64_t max_bytes, graftI_h5_parse_fn fn, const void *ctx, uint8_t **blob, size_t *blob_len,
                         graft_status *st)
{
    *blob = NULL;
    *blob_len = 0;
    if (in_process) return run_here(data, len, name, fn, ctx, blob, blob_len, st);
    double limit_s = timeout_s > 0 ? timeout_s : 60.0 + (double)len / 1e7;
    /* Address space: what this process maps now plus twice the decoded-array cap and
     * 1 GiB for libhdf5 (its caches and the in-memory file). Not under sanitizers,
     * whose shadow mappings dwarf any sensible limit. */
    uint64_t as_limit = 0;
    if (!H5C_SANITIZED) {
        uint64_t base = vm_size();
        if (base) as_limit = base + 2 * (uint64_t)max_bytes + ((uint64_t)1 << 30);
    }
    uint64_t max_blob = 2 * (uint64_t)max_bytes + ((uint64_t)64 << 20);
    int p[2];
    if (pipe(p) != 0) return graft_status_set(st, GRAFT_ERR_IO, "%s: pipe: %s", name, strerror(errno));
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(p[0]);
        close(p[1]);
        return graft_status_set(st, GRAFT_ERR_IO, "%s: fork for the HDF5 parser: %s (in-process parsing avoids it)",
                                name, strerror(e));
    }
    if (pid == 0) {
        close(p[0]);
        child(p[1], data, len, name, fn, ctx, as_limit, limit_s);
    }
    close(p[1]);
    reader r = {p[0], mono_s() + limit_s, name};
    char how[160];
    uint8_t *b = NULL;
    h5c_head hd;
    graft_code rc = read_exact(&r, &hd, sizeof hd, "its result", st);
    if (rc == GRAFT_ERR_CORRUPT) { /* no result: the parser died */
        close(p[0]);
        reap(pid, false, how, sizeof how);
        return graft_status_set(st, GRAFT_ERR_CORRUPT,
                                "%s: the HDF5 parser (libhdf5, in a child process) failed on this file: %s; "
                                "the file is malformed or hostile",
                                name, how);
    }
    if (rc != GRAFT_OK) goto fail;
    hd.msg[sizeof hd.msg - 1] = '\0';
    if (hd.magic != H5C_MAGIC) {
        rc = graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: the HDF5 parser sent a malformed result", name);
        goto fail;
    }
    if (hd.code != GRAFT_OK) {
        graft_code code = hd.code > 0 && hd.code < GRAFT_CODE_COUNT ? (graft_code)hd.code : GRAFT_ERR_CORRUPT;
        rc = graft_status_set(st, code, "%s", hd.msg[0] ? hd.msg : "HDF5 parsing failed");
        goto fail;
    }
    if (hd.blob_len > max_blob) {
        rc = graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: the HDF5 parser sent %llu bytes (at most %llu expected)",
                              name, (unsigned long long)hd.blob_len, (unsigned long long)max_blob);
        goto fail;
    }
    b = graftI_malloc(hd.blob_len ? (size_t)hd.blob_len : 1);
    if (!b) {
        rc = graft_status_set(st, GRAFT_ERR_NOMEM, "%s: cannot allocate %llu bytes for the parsed file", name,
                              (unsigned long long)hd.blob_len);
        goto fail;
    }
    if ((rc = read_exact(&r, b, (size_t)hd.blob_len, "its result", st)) != GRAFT_OK) {
        if (rc == GRAFT_ERR_CORRUPT)
            graft_status_set(st, rc, "%s: the HDF5 parser ended before sending its whole result", name);
        goto fail;
    }
    close(p[0]);
    reap(pid, false, how, sizeof how);
    *blob = b;
    *blob_len = (size_t)hd.blob_len;
    return GRAFT_OK;
fail:
    close(p[0]);
    reap(pid, true, how, sizeof how);
    graftI_free(b);
    return rc;
}

/* ---- blobs ------------------------------------------------------------------------------ */
void graftI_blob_u64(graftI_ck_buf *b, uint64_t v) { graftI_ck_buf_put(b, &v, sizeof v); }

void graftI_blob_str(graftI_ck_buf *b, const char *s)
{
    size_t l = s ? strlen(s) : 0;
    graftI_blob_u64(b, l);
    graftI_ck_buf_put(b, s, l);
}

bool graftI_rd_u64(graftI_blob_rd *r, uint64_t *v)
{
    const void *p = graftI_rd_bytes(r, sizeof *v);
    if (!p) return false;
    memcpy(v, p, sizeof *v);
    return true;
}

const void *graftI_rd_bytes(graftI_blob_rd *r, size_t n)
{
    if (n > r->n - r->off) return NULL;
    const void *p = r->p + r->off;
    r->off += n;
    return p;
}

char *graftI_rd_str(graftI_blob_rd *r, size_t max)
{
    uint64_t l;
    if (!graftI_rd_u64(r, &l) || l > max) return NULL;
    const char *p = graftI_rd_bytes(r, (size_t)l);
    if (!p || memchr(p, '\0', (size_t)l)) return NULL;
    char *s = graftI_malloc((size_t)l + 1);
    if (!s) return NULL;
    memcpy(s, p, (size_t)l);
    s[l] = '\0';
    return s;
}
