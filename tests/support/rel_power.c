/* tests/support/rel_power.c - the power-loss model of reliability T4 (see rel_power.h):
 * file nodes with their synced and current bytes, the directory's synced and current
 * entries plus the entry changes since its last fsync, and the crash states built
 * from them at each sync point. */
#include "rel_power.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "graft/common.h"
#include "rel_fault.h"

typedef struct pnode {
    uint8_t *cur, *dur; /* current bytes; bytes as of the last fsync */
    size_t cur_len, cur_cap, dur_len;
    bool dirty;         /* cur differs from dur */
} pnode;

typedef struct pentry {
    char *name;
    int node;
} pentry;

typedef struct pns {
    pentry *e;
    int n, cap;
} pns;

typedef enum { OP_LINK, OP_RENAME, OP_UNLINK } pop_kind;
typedef struct pop {
    pop_kind kind;
    char *name, *name2; /* rename: name -> name2 */
    int node;
} pop;

#define P_MAX_FD 1024
typedef struct pfd {
    bool used, is_dir;
    int node;
    size_t off;
} pfd;

static struct {
    bool on, checking;
    char *dir, *scratch;
    size_t dir_len;
    pnode *nodes;
    int n_nodes, nodes_cap;
    pns cur, dur;
    pop *ops; /* entry changes since the directory's last fsync, in order */
    int n_ops, ops_cap;
    pfd fds[P_MAX_FD];
    uint64_t rng;
    int patterns;
    bool forget_file_syncs, forget_dir_syncs; /* negative controls */
    rel_power_check_fn check;
    void *check_ud;
    rel_power_stats st;
} P;

static const graft_io_hooks *dflt(void) { return graft_default_io_hooks(); }

static uint64_t rnd(void)
{
    P.rng ^= P.rng << 13;
    P.rng ^= P.rng >> 7;
    P.rng ^= P.rng << 17;
    return P.rng;
}
static size_t rnd_upto(size_t n) { return n ? (size_t)(rnd() % (n + 1)) : 0; } /* 0..n */

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) abort(); /* test support: out of memory ends the test run */
    return q;
}
static char *xstrdup(const char *s)
{
    char *d = xrealloc(NULL, strlen(s) + 1);
    strcpy(d, s);
    return d;
}

/* ---- entries ------------------------------------------------------------------------------- */
static int ns_find(const pns *ns, const char *name)
{
    for (int i = 0; i < ns->n; i++)
        if (strcmp(ns->e[i].name, name) == 0) return i;
    return -1;
}
static int ns_get(const pns *ns, const char *name)
{
    int i = ns_find(ns, name);
    return i < 0 ? -1 : ns->e[i].node;
}
static void ns_set(pns *ns, const char *name, int node)
{
    int i = ns_find(ns, name);
    if (i >= 0) {
        ns->e[i].node = node;
        return;
    }
    if (ns->n == ns->cap) {
        ns->cap = ns->cap ? 2 * ns->cap : 16;
        ns->e = xrealloc(ns->e, (size_t)ns->cap * sizeof *ns->e);
    }
    ns->e[ns->n].name = xstrdup(name);
    ns->e[ns->n++].node = node;
}
static void ns_del(pns *ns, const char *name)
{
    int i = ns_find(ns, name);
    if (i < 0) return;
    free(ns->e[i].name);
    ns->e[i] = ns->e[--ns->n];
}
static void ns_clear(pns *ns)
{
    for (int i = 0; i < ns->n; i++) free(ns->e[i].name);
    free(ns->e);
    memset(ns, 0, sizeof *ns);
}
static void ns_copy(pns *to, const pns *from)
{
    ns_clear(to);
    for (int i = 0; i < from->n; i++) ns_set(to, from->e[i].name, from->e[i].node);
}

static void op_push(pop_kind kind, const char *name, const char *name2, int node)
{
    if (P.n_ops == P.ops_cap) {
        P.ops_cap = P.ops_cap ? 2 * P.ops_cap : 32;
        P.ops = xrealloc(P.ops, (size_t)P.ops_cap * sizeof *P.ops);
    }
    pop *o = &P.ops[P.n_ops++];
    o->kind = kind;
    o->name = xstrdup(name);
    o->name2 = name2 ? xstrdup(name2) : NULL;
    o->node = node;
}
static void ops_clear(void)
{
    for (int i = 0; i < P.n_ops; i++) {
        free(P.ops[i].name);
        free(P.ops[i].name2);
    }
    P.n_ops = 0;
}
static void op_apply(pns *ns, const pop *o)
{
    switch (o->kind) {
    case OP_LINK: ns_set(ns, o->name, o->node); break;
    case OP_RENAME: /* the target names the node whether or not the source's entry landed */
        if (ns_get(ns, o->name) == o->node) ns_del(ns, o->name);
        ns_set(ns, o->name2, o->node);
        break;
    case OP_UNLINK:
        if (ns_get(ns, o->name) == o->node) ns_del(ns, o->name);
        break;
    }
}

/* ---- nodes --------------------------------------------------------------------------------- */
static int node_new(const uint8_t *data, size_t len)
{
    if (P.n_nodes == P.nodes_cap) {
        P.nodes_cap = P.nodes_cap ? 2 * P.nodes_cap : 32;
        P.nodes = xrealloc(P.nodes, (size_t)P.nodes_cap * sizeof *P.nodes);
    }
    pnode *n = &P.nodes[P.n_nodes];
    memset(n, 0, sizeof *n);
    n->cur = xrealloc(NULL, len);
    n->dur = xrealloc(NULL, len);
    if (len) {
        memcpy(n->cur, data, len);
        memcpy(n->dur, data, len);
    }
    n->cur_len = n->cur_cap = n->dur_len = len;
    return P.n_nodes++;
}
static void node_write(pnode *n, size_t off, const void *buf, size_t len)
{
    size_t end = off + len;
    if (end > n->cur_cap) {
        n->cur_cap = end > 2 * n->cur_cap ? end : 2 * n->cur_cap;
        n->cur = xrealloc(n->cur, n->cur_cap);
    }
    if (off > n->cur_len) memset(n->cur + n->cur_len, 0, off - n->cur_len);
    memcpy(n->cur + off, buf, len);
    if (end > n->cur_len) n->cur_len = end;
    n->dirty = true;
}
static void node_sync(pnode *n)
{
    n->dur = xrealloc(n->dur, n->cur_len);
    if (n->cur_len) memcpy(n->dur, n->cur, n->cur_len);
    n->dur_len = n->cur_len;
    n->dirty = false;
}

/* The name of path inside the modelled directory, or NULL. */
static const char *in_dir(const char *path)
{
    if (strncmp(path, P.dir, P.dir_len) != 0 || path[P.dir_len] != '/') return NULL;
    const char *name = path + P.dir_len + 1;
    return *name && !strchr(name, '/') ? name : NULL;
}
static bool is_the_dir(const char *path)
{
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/') n--;
    return n == P.dir_len && strncmp(path, P.dir, n) == 0;
}

/* ---- crash states --------------------------------------------------------------------------- */
typedef enum { D_DROP, D_ALL, D_CUT, D_ZERO } damage;

static bool write_state_file(const char *path, const uint8_t *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return false;
    bool ok = len == 0 || write(fd, data, len) == (ssize_t)len;
    return close(fd) == 0 && ok;
}

/* pattern 0: nothing pending lands; 1: everything lands; 2: the entry changes land but
 * no unsynced byte; >= 3: a random subset of entry changes (in order, or a random
 * prefix) and for each file with unsynced bytes one of drop / all / cut / zero-fill. */
static void crash_state(int pattern)
{
    pns ns = {0};
    ns_copy(&ns, &P.dur);
    bool prefix_only = pattern >= 3 && (rnd() & 1);
    int prefix = prefix_only ? (int)rnd_upto((size_t)P.n_ops) : P.n_ops;
    for (int i = 0; i < P.n_ops; i++) {
        bool take = pattern == 1 || pattern == 2 || (pattern >= 3 && (prefix_only ? i < prefix : (rnd() & 1)));
        if (take) op_apply(&ns, &P.ops[i]);
    }
    rel_rm_rf(P.scratch);
    if (mkdir(P.scratch, 0755) != 0) {
        snprintf(P.st.first_failure, sizeof P.st.first_failure, "%s: mkdir: %s", P.scratch, strerror(errno));
        P.st.failures++;
        ns_clear(&ns);
        return;
    }
    char listing[1536];
    size_t ll = 0;
    listing[0] = '\0';
    for (int i = 0; i < ns.n; i++) {
        pnode *n = &P.nodes[ns.e[i].node];
        damage d = !n->dirty ? D_DROP : pattern == 1 ? D_ALL : pattern == 0 || pattern == 2 ? D_DROP : (damage)(rnd() % 4);
        const uint8_t *data = n->dur;
        size_t len = n->dur_len;
        uint8_t *tmp = NULL;
        if (d == D_ALL || d == D_CUT) {
            data = n->cur;
            len = d == D_ALL ? n->cur_len : rnd_upto(n->cur_len);
        } else if (d == D_ZERO) {
            tmp = xrealloc(NULL, n->cur_len);
            memcpy(tmp, n->cur, n->cur_len);
            size_t from = rnd_upto(n->cur_len);
            memset(tmp + from, 0, n->cur_len - from);
            data = tmp;
            len = n->cur_len;
        }
        char *path = rel_join(P.scratch, ns.e[i].name);
        bool ok = write_state_file(path, data, len);
        free(path);
        free(tmp);
        if (!ok) {
            snprintf(P.st.first_failure, sizeof P.st.first_failure, "%s: cannot write the crash state", P.scratch);
            P.st.failures++;
            ns_clear(&ns);
            return;
        }
        static const char *const dn[] = {"", "+unsynced", "+cut", "+zeroed"};
        int w = snprintf(listing + ll, sizeof listing - ll, " %s(%zu%s)", ns.e[i].name, len, dn[d]);
        if (w > 0 && (size_t)w < sizeof listing - ll) ll += (size_t)w;
    }
    P.st.states++;
    const char *why = P.check ? P.check(P.check_ud, P.scratch) : NULL;
    if (why) {
        if (P.st.failures++ == 0)
            snprintf(P.st.first_failure, sizeof P.st.first_failure,
                     "sync point %ld, pattern %d (%d entry changes pending): %s; files:%s", P.st.sync_points, pattern,
                     P.n_ops, why, listing);
    }
    ns_clear(&ns);
}

void rel_power_point(void)
{
    bool was = P.checking;
    P.checking = true; /* the checker's own reads pass straight through */
    for (int p = 0; p < 3 + P.patterns; p++) crash_state(p);
    P.checking = was;
}

/* ---- the hooks ----------------------------------------------------------------------------- */
static int h_open(void *ud, const char *path, int flags, int mode)
{
    (void)ud;
    int fd = dflt()->open(dflt()->ud, path, flags, mode);
    if (fd < 0 || P.checking || fd >= P_MAX_FD) return fd;
    pfd *f = &P.fds[fd];
    memset(f, 0, sizeof *f);
    f->node = -1;
    if (is_the_dir(path)) {
        f->used = f->is_dir = true;
        return fd;
    }
    const char *name = in_dir(path);
    if (!name || (flags & O_ACCMODE) == O_RDONLY) return fd;
    int node = ns_get(&P.cur, name);
    if (node < 0) {
        node = node_new(NULL, 0);
        ns_set(&P.cur, name, node);
        op_push(OP_LINK, name, NULL, node);
    }
    if (flags & O_TRUNC) {
        P.nodes[node].cur_len = 0;
        P.nodes[node].dirty = true;
    }
    f->used = true;
    f->node = node;
    f->off = (flags & O_APPEND) ? P.nodes[node].cur_len : 0;
    return fd;
}

static long h_write(void *ud, int fd, const void *buf, size_t n)
{
    (void)ud;
    long w = dflt()->write(dflt()->ud, fd, buf, n);
    if (w > 0 && !P.checking && fd >= 0 && fd < P_MAX_FD && P.fds[fd].used && P.fds[fd].node >= 0) {
        node_write(&P.nodes[P.fds[fd].node], P.fds[fd].off, buf, (size_t)w);
        P.fds[fd].off += (size_t)w;
    }
    return w;
}

static int h_fsync(void *ud, int fd)
{
    (void)ud;
    bool modelled = !P.checking && fd >= 0 && fd < P_MAX_FD && P.fds[fd].used;
    if (modelled) {
        P.st.sync_points++;
        rel_power_point(); /* the power goes just before this sync */
    }
    int r = dflt()->fsync(dflt()->ud, fd);
    if (r == 0 && modelled && !(P.fds[fd].is_dir ? P.forget_dir_syncs : P.forget_file_syncs)) {
        if (P.fds[fd].is_dir) {
            for (int i = 0; i < P.n_ops; i++) op_apply(&P.dur, &P.ops[i]);
            ops_clear();
        } else {
            node_sync(&P.nodes[P.fds[fd].node]);
        }
    }
    return r;
}

static int h_close(void *ud, int fd)
{
    (void)ud;
    if (fd >= 0 && fd < P_MAX_FD && !P.checking) P.fds[fd].used = false;
    return dflt()->close(dflt()->ud, fd);
}

static int h_rename(void *ud, const char *from, const char *to)
{
    (void)ud;
    int r = dflt()->rename(dflt()->ud, from, to);
    if (r != 0 || P.checking) return r;
    const char *nf = in_dir(from), *nt = in_dir(to);
    int node = nf ? ns_get(&P.cur, nf) : -1;
    if (node >= 0 && nt) {
        ns_del(&P.cur, nf);
        ns_set(&P.cur, nt, node);
        op_push(OP_RENAME, nf, nt, node);
    }
    return r;
}

static int h_unlink(void *ud, const char *path)
{
    (void)ud;
    int r = dflt()->unlink(dflt()->ud, path);
    if (r != 0 || P.checking) return r;
    const char *name = in_dir(path);
    int node = name ? ns_get(&P.cur, name) : -1;
    if (node >= 0) {
        ns_del(&P.cur, name);
        op_push(OP_UNLINK, name, NULL, node);
    }
    return r;
}

bool rel_power_begin(const char *dir, const char *scratch, unsigned seed, int patterns, char *why, size_t cap)
{
    memset(&P, 0, sizeof P);
    P.dir = xstrdup(dir);
    P.dir_len = strlen(dir);
    P.scratch = xstrdup(scratch);
    P.rng = 0x9E3779B97F4A7C15ull ^ seed;
    P.patterns = patterns;
    DIR *d = opendir(dir);
    if (!d) {
        snprintf(why, cap, "%s: opendir: %s", dir, strerror(errno));
        return false;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.' && (!de->d_name[1] || (de->d_name[1] == '.' && !de->d_name[2]))) continue;
        char *path = rel_join(dir, de->d_name);
        size_t n = 0;
        uint8_t *data = rel_read(path, &n);
        free(path);
        if (!data) continue;
        int node = node_new(data, n);
        free(data);
        ns_set(&P.cur, de->d_name, node);
        ns_set(&P.dur, de->d_name, node);
    }
    closedir(d);
    graft_io_hooks h = {.open = h_open,
                        .write = h_write,
                        .fsync = h_fsync,
                        .close = h_close,
                        .rename = h_rename,
                        .unlink = h_unlink};
    graft_set_io_hooks(&h);
    P.on = true;
    return true;
}

void rel_power_set_check(rel_power_check_fn fn, void *ud)
{
    P.check = fn;
    P.check_ud = ud;
}

void rel_power_forget_syncs(bool files, bool dirs)
{
    P.forget_file_syncs = files;
    P.forget_dir_syncs = dirs;
}

void rel_power_end(rel_power_stats *out)
{
    graft_set_io_hooks(NULL);
    if (out) *out = P.st;
    rel_rm_rf(P.scratch);
    for (int i = 0; i < P.n_nodes; i++) {
        free(P.nodes[i].cur);
        free(P.nodes[i].dur);
    }
    free(P.nodes);
    ns_clear(&P.cur);
    ns_clear(&P.dur);
    ops_clear();
    free(P.ops);
    free(P.dir);
    free(P.scratch);
    memset(&P, 0, sizeof P);
}
