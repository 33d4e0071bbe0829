/* tests/support/ckpt_support.c - SHA-256, a small JSON reader, file/process helpers and
 * the reference-reader (refread) driver used by the checkpoint tests. Plain libc
 * allocation on purpose: test helpers must not disturb graft's allocator hooks. */
#include "ckpt_support.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- SHA-256 (FIPS 180-4) ------------------------------------------------------------ */
static const uint32_t K256[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha_block(ckt_sha256 *c, const uint8_t *p)
{
    uint32_t w[64];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = c->h[0], b = c->h[1], cc = c->h[2], d = c->h[3], e = c->h[4], f = c->h[5], g = c->h[6],
             h = c->h[7];
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = h + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) + K256[i] + w[i];
        uint32_t t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & b) ^ (a & cc) ^ (b & cc));
        h = g;
        g = f;
        f = e;
        e = d + t1;
        d = cc;
        cc = b;
        b = a;
        a = t1 + t2;
    }
    c->h[0] += a;
    c->h[1] += b;
    c->h[2] += cc;
    c->h[3] += d;
    c->h[4] += e;
    c->h[5] += f;
    c->h[6] += g;
    c->h[7] += h;
}

void ckt_sha256_init(ckt_sha256 *c)
{
    static const uint32_t iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    memcpy(c->h, iv, sizeof iv);
    c->len = 0;
    c->n = 0;
}

void ckt_sha256_update(ckt_sha256 *c, const void *data, size_t n)
{
    const uint8_t *p = data;
    c->len += n;
    while (n > 0) {
        size_t k = 64 - c->n < n ? 64 - c->n : n;
        memcpy(c->buf + c->n, p, k);
        c->n += k;
        p += k;
        n -= k;
        if (c->n == 64) {
            sha_block(c, c->buf);
            c->n = 0;
        }
    }
}

void ckt_sha256_final(ckt_sha256 *c, char hex[65])
{
    uint64_t bits = c->len * 8;
    uint8_t pad = 0x80;
    ckt_sha256_update(c, &pad, 1);
    pad = 0;
    while (c->n != 56) ckt_sha256_update(c, &pad, 1);
    uint8_t lb[8];
    for (int i = 0; i < 8; i++) lb[i] = (uint8_t)(bits >> (56 - 8 * i));
    ckt_sha256_update(c, lb, 8);
    for (int i = 0; i < 8; i++) snprintf(hex + 8 * i, 9, "%08x", c->h[i]);
}

void ckt_sha256_hex(const void *data, size_t n, char hex[65])
{
    ckt_sha256 c;
    ckt_sha256_init(&c);
    ckt_sha256_update(&c, data, n);
    ckt_sha256_final(&c, hex);
}

/* ---- JSON ---------------------------------------------------------------------------- */
typedef struct jp {
    const char *p, *end;
    int depth;
} jp;

static void jws(jp *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\n' || *j->p == '\r' || *j->p == '\t')) j->p++;
}

static ckt_json *jnew(ckt_jtype t)
{
    ckt_json *v = calloc(1, sizeof *v);
    if (v) v->type = t;
    return v;
}

static bool jpush(ckt_json *a, ckt_json *item, char *key)
{
    ckt_json **it = realloc(a->items, (size_t)(a->n + 1) * sizeof *it);
    if (!it) return false;
    a->items = it;
    if (a->type == CKT_JOBJ) {
        char **k = realloc(a->keys, (size_t)(a->n + 1) * sizeof *k);
        if (!k) return false;
        a->keys = k;
        k[a->n] = key;
    }
    it[a->n++] = item;
    return true;
}

static char *jstring(jp *j, size_t *len)
{
    if (j->p >= j->end || *j->p != '"') return NULL;
    j->p++;
    size_t cap = 16, n = 0;
    char *s = malloc(cap);
    while (s && j->p < j->end && *j->p != '"') {
        unsigned c = (unsigned char)*j->p++;
        if (c == '\\') {
            if (j->p >= j->end) break;
            char e = *j->p++;
            switch (e) {
            case 'n': c = '\n'; break;
            case 't': c = '\t'; break;
            case 'r': c = '\r'; break;
            case 'b': c = '\b'; break;
            case 'f': c = '\f'; break;
            case 'u': {
                unsigned u = 0;
                for (int i = 0; i < 4 && j->p < j->end; i++) {
                    char h = *j->p++;
                    u = u * 16 + (unsigned)(h >= 'a' ? h - 'a' + 10 : h >= 'A' ? h - 'A' + 10 : h - '0');
                }
                c = u; /* tests only need ASCII; others become one byte */
                if (u > 0x7f) c = '?';
                break;
            }
            default: c = (unsigned char)e;
            }
        }
        if (n + 2 > cap) {
            cap *= 2;
            char *t = realloc(s, cap);
            if (!t) {
                free(s);
                return NULL;
            }
            s = t;
        }
        s[n++] = (char)c;
    }
    if (!s || j->p >= j->end) {
        free(s);
        return NULL;
    }
    j->p++;
    s[n] = '\0';
    *len = n;
    return s;
}

static ckt_json *jvalue(jp *j)
{
    jws(j);
    if (j->p >= j->end || ++j->depth > 200) return NULL;
    ckt_json *v = NULL;
    char c = *j->p;
    if (c == '{' || c == '[') {
        j->p++;
        v = jnew(c == '{' ? CKT_JOBJ : CKT_JARR);
        if (!v) return NULL;
        jws(j);
        if (j->p < j->end && *j->p == (c == '{' ? '}' : ']')) {
            j->p++;
            j->depth--;
            return v;
        }
        for (;;) {
            char *key = NULL;
            if (c == '{') {
                jws(j);
                size_t kl;
                key = jstring(j, &kl);
                jws(j);
                if (!key || j->p >= j->end || *j->p != ':') {
                    free(key);
                    ckt_json_free(v);
                    return NULL;
                }
                j->p++;
            }
            ckt_json *item = jvalue(j);
            if (!item || !jpush(v, item, key)) {
                free(key);
                ckt_json_free(item);
                ckt_json_free(v);
                return NULL;
            }
            jws(j);
            if (j->p < j->end && *j->p == ',') {
                j->p++;
                continue;
            }
            if (j->p < j->end && *j->p == (c == '{' ? '}' : ']')) {
                j->p++;
                break;
            }
            ckt_json_free(v);
            return NULL;
        }
    } else if (c == '"') {
        v = jnew(CKT_JSTR);
        if (v && !(v->str = jstring(j, &v->slen))) {
            free(v);
            v = NULL;
        }
    } else if (!strncmp(j->p, "true", 4) || !strncmp(j->p, "false", 5)) {
        v = jnew(CKT_JBOOL);
        if (v) v->b = c == 't';
        j->p += c == 't' ? 4 : 5;
    } else if (!strncmp(j->p, "null", 4)) {
        v = jnew(CKT_JNULL);
        j->p += 4;
    } else {
        char *endp;
        double d = strtod(j->p, &endp);
        if (endp == j->p) return NULL;
        v = jnew(CKT_JNUM);
        if (v) v->num = d;
        j->p = endp;
    }
    j->depth--;
    return v;
}

ckt_json *ckt_json_parse(const char *text, size_t n)
{
    jp j = {text, text + n, 0};
    ckt_json *v = jvalue(&j);
    jws(&j);
    if (v && j.p != j.end) {
        ckt_json_free(v);
        return NULL;
    }
    return v;
}

ckt_json *ckt_json_load(const char *path)
{
    size_t n;
    uint8_t *d = ckt_read_file(path, &n);
    if (!d) return NULL;
    ckt_json *v = ckt_json_parse((const char *)d, n);
    free(d);
    return v;
}

void ckt_json_free(ckt_json *v)
{
    if (!v) return;
    for (int i = 0; i < v->n; i++) {
        ckt_json_free(v->items[i]);
        if (v->keys) free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    free(v->str);
    free(v);
}

const ckt_json *ckt_json_get(const ckt_json *o, const char *key)
{
    if (!o || o->type != CKT_JOBJ) return NULL;
    for (int i = 0; i < o->n; i++)
        if (!strcmp(o->keys[i], key)) return o->items[i];
    return NULL;
}

const ckt_json *ckt_json_at(const ckt_json *a, int i)
{
    if (!a || (a->type != CKT_JARR && a->type != CKT_JOBJ) || i < 0 || i >= a->n) return NULL;
    return a->items[i];
}

const char *ckt_json_str(const ckt_json *o, const char *key)
{
    const ckt_json *v = ckt_json_get(o, key);
    return v && v->type == CKT_JSTR ? v->str : NULL;
}

double ckt_json_num(const ckt_json *o, const char *key, double dflt)
{
    const ckt_json *v = ckt_json_get(o, key);
    return v && v->type == CKT_JNUM ? v->num : dflt;
}

/* ---- files ----------------------------------------------------------------------------- */
uint8_t *ckt_read_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    if (fseek(f, 0, SEEK_END) != 0) {
        fclose(f);
        return NULL;
    }
    long sz = ftell(f);
    rewind(f);
    uint8_t *d = malloc(sz > 0 ? (size_t)sz + 1 : 1);
    if (d && sz > 0 && fread(d, 1, (size_t)sz, f) != (size_t)sz) {
        free(d);
        d = NULL;
    }
    fclose(f);
    if (d) {
        d[sz > 0 ? sz : 0] = 0;
        *n = sz > 0 ? (size_t)sz : 0;
    }
    return d;
}

/* Overwrites in place and then truncates: opening with O_TRUNC makes ext4 flush
 * the file on close (auto_da_alloc), which turns the corruption sweeps' thousands
 * of rewrites into minutes of disk waits. */
bool ckt_write_file(const char *path, const void *data, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT, 0644);
    if (fd < 0) return false;
    const uint8_t *p = data;
    size_t left = n;
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) break;
        p += w;
        left -= (size_t)w;
    }
    bool ok = left == 0 && ftruncate(fd, (off_t)n) == 0;
    return close(fd) == 0 && ok;
}

bool ckt_copy_file(const char *from, const char *to)
{
    size_t n;
    uint8_t *d = ckt_read_file(from, &n);
    if (!d) return false;
    bool ok = ckt_write_file(to, d, n);
    free(d);
    return ok;
}

bool ckt_files_equal(const char *a, const char *b)
{
    size_t na, nb;
    uint8_t *x = ckt_read_file(a, &na), *y = ckt_read_file(b, &nb);
    bool eq = x && y && na == nb && memcmp(x, y, na) == 0;
    free(x);
    free(y);
    return eq;
}

char *ckt_tempdir(const char *tag)
{
    size_t n = strlen(tag) + 16;
    char *p = malloc(n);
    if (!p) return NULL;
    snprintf(p, n, "%s.XXXXXX", tag);
    if (!mkdtemp(p)) {
        free(p);
        return NULL;
    }
    return p;
}

void ckt_rm_rf(const char *path)
{
    DIR *d = opendir(path);
    if (d) {
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
            if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
            char *c = ckt_path(path, de->d_name);
            ckt_rm_rf(c);
            free(c);
        }
        closedir(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}

char *ckt_path(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s/%s", a, b);
    return p;
}

int ckt_count_files(const char *dir, const char *part)
{
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") && strstr(de->d_name, part)) n++;
    closedir(d);
    return n;
}

static char *slurp_fd(int fd)
{
    size_t cap = 4096, n = 0;
    char *s = malloc(cap);
    for (;;) {
        if (!s) return NULL;
        if (n + 1024 > cap) {
            cap *= 2;
            char *t = realloc(s, cap);
            if (!t) {
                free(s);
                return NULL;
            }
            s = t;
        }
        ssize_t r = read(fd, s + n, cap - n - 1);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        n += (size_t)r;
    }
    s[n] = '\0';
    return s;
}

int ckt_run(const char *cmd, char **out, char **err)
{
    char ef[] = "/tmp/ckt_err.XXXXXX";
    int efd = mkstemp(ef);
    if (efd < 0) return -1;
    int po[2];
    if (pipe(po) != 0) {
        close(efd);
        unlink(ef);
        return -1;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(po[1], 1);
        dup2(efd, 2);
        close(po[0]);
        close(po[1]);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    close(po[1]);
    char *o = slurp_fd(po[0]);
    close(po[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    lseek(efd, 0, SEEK_SET);
    char *e = slurp_fd(efd);
    close(efd);
    unlink(ef);
    if (out) *out = o;
    else free(o);
    if (err) *err = e;
    else free(e);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* ---- refread ---------------------------------------------------------------------------- */
const char *ckt_python(void)
{
    const char *p = getenv("GRAFT_PYTHON");
    return p && *p ? p : "/usr/bin/python3";
}

static bool refread_ready(const char *dir)
{
    static const char *const need[] = {"ldbdump", "ldbwrite", "refread_pb2.py", "refread_v1_pb2.py"};
    for (size_t i = 0; i < sizeof need / sizeof need[0]; i++) {
        char *p = ckt_path(dir, need[i]);
        bool ok = p && access(p, R_OK) == 0;
        free(p);
        if (!ok) return false;
    }
    return true;
}

const char *ckt_refread_build(char *why, size_t cap)
{
    static char dir[4096];
    static int state; /* 0 unknown, 1 ready, -1 failed */
    if (state == 1) return dir;
    snprintf(dir, sizeof dir, "%s/refread-build", GRAFT_BINARY_DIR);
    mkdir(dir, 0755);
    char lockp[4200];
    snprintf(lockp, sizeof lockp, "%s/.lock", dir);
    int lfd = open(lockp, O_CREAT | O_RDWR, 0644);
    if (lfd >= 0) flock(lfd, LOCK_EX);
    if (!refread_ready(dir)) {
        char cmd[9000], *out = NULL, *err = NULL;
        snprintf(cmd, sizeof cmd,
                 "REFREAD_BUILD='%s' sh '%s/tools/refread/build.sh' && REFREAD_BUILD='%s' sh "
                 "'%s/tools/refread/build_v1.sh'",
                 dir, GRAFT_SHARED_DIR, dir, GRAFT_SHARED_DIR);
        int rc = ckt_run(cmd, &out, &err);
        if (rc != 0 || !refread_ready(dir)) {
            snprintf(why, cap,
                     "building refread into %s failed (exit %d): %s%s -- install g++ libleveldb-dev "
                     "protobuf-compiler python3-protobuf python3-numpy",
                     dir, rc, out ? out : "", err ? err : "");
            free(out);
            free(err);
            if (lfd >= 0) close(lfd);
            state = -1;
            return NULL;
        }
        free(out);
        free(err);
    }
    if (lfd >= 0) close(lfd);
    state = 1;
    return dir;
}

int ckt_refread(const char *sub, const char *path, bool v1, char **out)
{
    char why[4096];
    const char *b = ckt_refread_build(why, sizeof why);
    if (!b) {
        if (out) *out = strdup(why);
        return -2;
    }
    char cmd[9000];
    snprintf(cmd, sizeof cmd, "REFREAD_BUILD='%s' '%s' '%s/tools/refread/%s' %s '%s' 2>&1", b, ckt_python(),
             GRAFT_SHARED_DIR, v1 ? "refread_v1.py" : "refread.py", sub, path);
    return ckt_run(cmd, out, NULL);
}
