/* lib/data/h5child.c - HDF5 parsing in a child process: libhdf5 1.10 crashes, leaks and
 * makes multi-gigabyte allocations on crafted files (found by tests/fuzz/fuzz_h5.c), so
 * by default the file image is parsed in a forked child under an address-space limit and
 * a deadline; the parent reads the decoded arrays back through a pipe and checks them
 * as it would any untrusted input. */
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "data_internal.h"

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

/* What the child sends first; the arrays follow (pixels, then n int32 labels). */
typedef struct h5c_head {
    uint32_t magic;
    int32_t code;
    int32_t dtype;
    int32_t pad;
    int64_t n, h, w, c;
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

static void child(int fd, const void *data, size_t len, const char *name, const graft_data_opts *o,
                  uint64_t as_limit, double cpu_s)
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
    graft_dataset *ds = graftI_h5_parse(data, len, name, o, &st);
    h5c_head hd;
    memset(&hd, 0, sizeof hd);
    hd.magic = H5C_MAGIC;
    hd.code = ds ? GRAFT_OK : (st.code != GRAFT_OK ? st.code : GRAFT_ERR_CORRUPT);
    snprintf(hd.msg, sizeof hd.msg, "%s", ds ? "" : st.msg);
    if (ds) {
        hd.dtype = ds->dtype;
        hd.n = ds->n;
        hd.h = ds->h;
        hd.w = ds->w;
        hd.c = ds->c;
    }
    bool ok = write_all(fd, &hd, sizeof hd);
    if (ok && ds && ds->n > 0)
        ok = write_all(fd, ds->pixels, (size_t)ds->n * graftI_ds_image_bytes(ds)) &&
             write_all(fd, ds->labels, (size_t)ds->n * sizeof(int32_t));
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

graft_dataset *graftI_h5_parse_isolated(const void *data, size_t len, const char *name, const graft_data_opts *o,
                                        graft_status *st)
{
    double limit_s = o->h5_timeout_s > 0 ? o->h5_timeout_s : 60.0 + (double)len / 1e7;
    /* Address space: what this process maps now plus twice the decoded-array cap and
     * 1 GiB for libhdf5 (its caches and the in-memory file). Not under sanitizers,
     * whose shadow mappings dwarf any sensible limit. */
    uint64_t as_limit = 0;
    if (!H5C_SANITIZED) {
        uint64_t base = vm_size();
        if (base) as_limit = base + 2 * (uint64_t)o->max_bytes + ((uint64_t)1 << 30);
    }
    int p[2];
    if (pipe(p) != 0) return graft_status_set(st, GRAFT_ERR_IO, "%s: pipe: %s", name, strerror(errno)), NULL;
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(p[0]);
        close(p[1]);
        return graft_status_set(st, GRAFT_ERR_IO, "%s: fork for the HDF5 parser: %s (h5_in_process avoids it)",
                                name, strerror(e)),
               NULL;
    }
    if (pid == 0) {
        close(p[0]);
        child(p[1], data, len, name, o, as_limit, limit_s);
    }
    close(p[1]);
    reader r = {p[0], mono_s() + limit_s, name};
    char how[160];
    graft_dataset *ds = NULL;
    void *pixels = NULL;
    int32_t *labels = NULL;
    h5c_head hd;
    graft_code rc = read_exact(&r, &hd, sizeof hd, "its result", st);
    if (rc == GRAFT_ERR_CORRUPT) { /* no result: the parser died */
        close(p[0]);
        reap(pid, false, how, sizeof how);
        return graft_status_set(st, GRAFT_ERR_CORRUPT,
                                "%s: the HDF5 parser (libhdf5, in a child process) failed on this file: %s; "
                                "the file is malformed or hostile",
                                name, how),
               NULL;
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
    /* the child's result is checked like any input: type, shape, caps, labels */
    size_t image_bytes = 0;
    rc = graftI_ds_check_dims(name, (graft_dtype)hd.dtype, hd.n, hd.h, hd.w, hd.c, o->max_bytes, &image_bytes, st);
    if (rc != GRAFT_OK) goto fail;
    size_t npx = (size_t)hd.n * image_bytes, nlb = (size_t)hd.n * sizeof(int32_t);
    pixels = graftI_malloc(npx ? npx : 1);
    labels = graftI_malloc(nlb ? nlb : 1);
    if (!pixels || !labels) {
        rc = graft_status_set(st, GRAFT_ERR_NOMEM, "%s: cannot allocate %zu bytes of images", name, npx + nlb);
        goto fail;
    }
    if ((rc = read_exact(&r, pixels, npx, "the images", st)) != GRAFT_OK ||
        (rc = read_exact(&r, labels, nlb, "the labels", st)) != GRAFT_OK) {
        if (rc == GRAFT_ERR_CORRUPT)
            graft_status_set(st, rc, "%s: the HDF5 parser ended before sending every image", name);
        goto fail;
    }
    for (int64_t i = 0; i < hd.n; i++)
        if (labels[i] < 0) {
            rc = graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: /labels: element %lld is %d", name, (long long)i,
                                  (int)labels[i]);
            goto fail;
        }
    if (hd.dtype == GRAFT_FLOAT) {
        const float *f = pixels;
        for (size_t i = 0; i < npx / sizeof(float); i++)
            if (!isfinite(f[i])) {
                rc = graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: /images: element %zu is not finite", name, i);
                goto fail;
            }
    }
    close(p[0]);
    reap(pid, false, how, sizeof how);
    ds = graftI_ds_adopt((graft_dtype)hd.dtype, hd.n, hd.h, hd.w, hd.c, pixels, labels, st);
    if (ds) graft_status_clear(st);
    return ds;
fail:
    close(p[0]);
    reap(pid, true, how, sizeof how);
    graftI_free(pixels);
    graftI_free(labels);
    (void)rc;
    return NULL;
}
