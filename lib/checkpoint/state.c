/* lib/checkpoint/state.c - the `checkpoint` state file (CheckpointState in protobuf
 * text format): a bounded parser, an atomic writer producing what Python's
 * text_format writes, path resolution confined to the checkpoint directory, and
 * latest_checkpoint as TensorFlow resolves it. */
#include <errno.h>
#include <glob.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "checkpoint/ckpt_internal.h"

#define STATE_MAX_BYTES (16u << 20)
#define STATE_MAX_PATH 4096
#define STATE_MAX_PATHS 100000

void graft_checkpoint_state_free(graft_checkpoint_state *s)
{
    if (!s) return;
    graftI_free(s->model_checkpoint_path);
    for (int i = 0; i < s->n_paths; i++) graftI_free(s->all_model_checkpoint_paths[i]);
    graftI_free(s->all_model_checkpoint_paths);
    graftI_free(s->all_model_checkpoint_timestamps);
    graftI_free(s);
}

/* ---- parser ------------------------------------------------------------------------------ */
typedef struct lex {
    const char *p, *end, *file;
    int line;
    graft_status *st;
} lex;

static void skip_ws(lex *l)
{
    while (l->p < l->end) {
        char c = *l->p;
        if (c == '\n') {
            l->line++;
            l->p++;
        } else if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
            l->p++;
        } else if (c == '#') {
            while (l->p < l->end && *l->p != '\n') l->p++;
        } else {
            break;
        }
    }
}

static graft_code perr(lex *l, const char *what)
{
    return graft_status_set(l->st, GRAFT_ERR_CORRUPT, "%s: line %d: %s", l->file, l->line, what);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* One or more adjacent quoted strings, unescaped and concatenated. */
static graft_code parse_string(lex *l, char **out)
{
    graftI_ck_buf b = {0};
    int pieces = 0;
    for (;;) {
        skip_ws(l);
        if (l->p >= l->end || (*l->p != '"' && *l->p != '\'')) break;
        char q = *l->p++;
        pieces++;
        for (;;) {
            if (l->p >= l->end || *l->p == '\n') {
                graftI_ck_buf_free(&b);
                return perr(l, "unterminated string");
            }
            char c = *l->p++;
            if (c == q) break;
            if (c != '\\') {
                graftI_ck_buf_put(&b, &c, 1);
                continue;
            }
            if (l->p >= l->end) {
                graftI_ck_buf_free(&b);
                return perr(l, "unterminated escape");
            }
            char e = *l->p++;
            int v = -1;
            switch (e) {
            case 'n': v = '\n'; break;
            case 't': v = '\t'; break;
            case 'r': v = '\r'; break;
            case 'a': v = '\a'; break;
            case 'b': v = '\b'; break;
            case 'f': v = '\f'; break;
            case 'v': v = '\v'; break;
            case '\\': case '\'': case '"': case '?': v = e; break;
            case 'x': case 'X': {
                int h = 0, k = 0;
                while (k < 2 && l->p < l->end && hexval(*l->p) >= 0) h = h * 16 + hexval(*l->p++), k++;
                if (!k) {
                    graftI_ck_buf_free(&b);
                    return perr(l, "bad \\x escape");
                }
                v = h;
                break;
            }
            default:
                if (e >= '0' && e <= '7') {
                    int o = e - '0', k = 1;
                    while (k < 3 && l->p < l->end && *l->p >= '0' && *l->p <= '7') o = o * 8 + (*l->p++ - '0'), k++;
                    if (o > 255) {
                        graftI_ck_buf_free(&b);
                        return perr(l, "octal escape out of range");
                    }
                    v = o;
                }
                break;
            }
            if (v < 0) {
                graftI_ck_buf_free(&b);
                return perr(l, "unknown escape sequence");
            }
            if (v == 0) {
                graftI_ck_buf_free(&b);
                return perr(l, "NUL byte in a path");
            }
            uint8_t ch = (uint8_t)v;
            graftI_ck_buf_put(&b, &ch, 1);
        }
        if (b.n > STATE_MAX_PATH) {
            graftI_ck_buf_free(&b);
            return perr(l, "path longer than 4096 bytes");
        }
    }
    if (!pieces) return perr(l, "expected a quoted string");
    graftI_ck_buf_put(&b, "", 1);
    if (b.oom) {
        graftI_ck_buf_free(&b);
        return graft_status_set(l->st, GRAFT_ERR_NOMEM, "%s: out of memory", l->file);
    }
    *out = (char *)b.p;
    return GRAFT_OK;
}

static graft_code parse_double(lex *l, double *out)
{
    skip_ws(l);
    char buf[64];
    size_t n = 0;
    while (l->p + n < l->end && n < sizeof buf - 1) {
        char c = l->p[n];
        if ((c >= '0' && c <= '9') || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E' || (c >= 'a' && c <= 'z') ||
            (c >= 'A' && c <= 'Z'))
            n++;
        else
            break;
    }
    memcpy(buf, l->p, n);
    buf[n] = '\0';
    if (n && (buf[n - 1] == 'f' || buf[n - 1] == 'F') && strncmp(buf, "inf", 3) && strncmp(buf, "-inf", 4)) buf[--n] = '\0';
    char *endp;
    double v;
    if (!strcmp(buf, "inf") || !strcmp(buf, "infinity") || !strcmp(buf, "Infinity")) v = INFINITY;
    else if (!strcmp(buf, "-inf") || !strcmp(buf, "-infinity") || !strcmp(buf, "-Infinity")) v = -INFINITY;
    else if (!strcmp(buf, "nan") || !strcmp(buf, "NaN")) v = NAN;
    else {
        errno = 0;
        v = strtod(buf, &endp);
        if (!n || *endp) return perr(l, "expected a number");
    }
    l->p += n;
    *out = v;
    return GRAFT_OK;
}

/* New capacity when an array of n elements is full (n is 0 or a power of two >= 4), else 0. */
static size_t grow_to(int n)
{
    if (n == 0) return 4;
    if (n >= 4 && (n & (n - 1)) == 0) return (size_t)n * 2;
    return 0;
}

static bool add_path(graft_checkpoint_state *s, char *p)
{
    if (s->n_paths >= STATE_MAX_PATHS) return false;
    /* capacity doubles (it is the next power of two >= n_paths): growing by one
     * entry per path made a file of many paths quadratic */
    if (grow_to(s->n_paths)) {
        char **np = graftI_realloc(s->all_model_checkpoint_paths, grow_to(s->n_paths) * sizeof *np);
        if (!np) return false;
        s->all_model_checkpoint_paths = np;
    }
    char **np = s->all_model_checkpoint_paths;
    np[s->n_paths++] = p;
    return true;
}

static bool add_ts(graft_checkpoint_state *s, double v)
{
    if (s->n_timestamps >= STATE_MAX_PATHS) return false;
    if (grow_to(s->n_timestamps)) {
        double *np = graftI_realloc(s->all_model_checkpoint_timestamps, grow_to(s->n_timestamps) * sizeof *np);
        if (!np) return false;
        s->all_model_checkpoint_timestamps = np;
    }
    double *np = s->all_model_checkpoint_timestamps;
    np[s->n_timestamps++] = v;
    return true;
}

/* value (or [v, v, ...] for repeated fields) of field `f`. */
static graft_code parse_value(lex *l, int f, graft_checkpoint_state *s)
{
    skip_ws(l);
    bool list = l->p < l->end && *l->p == '[';
    if (list && f != 2 && f != 3) return perr(l, "a list for a singular field");
    if (list) l->p++;
    for (;;) {
        skip_ws(l);
        if (list && l->p < l->end && *l->p == ']') {
            l->p++;
            return GRAFT_OK;
        }
        graft_code rc;
        int at_line = l->line; /* parse_string looks past newlines for adjacent strings */
        if (f == 1 || f == 2) {
            char *str = NULL;
            rc = parse_string(l, &str);
            if (rc != GRAFT_OK) return rc;
            if (f == 1) {
                graftI_free(s->model_checkpoint_path);
                s->model_checkpoint_path = str;
            } else if (s->n_paths >= STATE_MAX_PATHS) {
                graftI_free(str);
                return graft_status_set(l->st, GRAFT_ERR_NOMEM,
                                        "%s: line %d: more than %d all_model_checkpoint_paths (the cap)", l->file,
                                        at_line, STATE_MAX_PATHS);
            } else if (!add_path(s, str)) {
                graftI_free(str);
                return graft_status_set(l->st, GRAFT_ERR_NOMEM, "%s: line %d: out of memory", l->file, at_line);
            }
        } else {
            double v = 0;
            rc = parse_double(l, &v);
            if (rc != GRAFT_OK) return rc;
            if (f == 4) {
                s->last_preserved_timestamp = v;
                s->has_last_preserved_timestamp = true;
            } else if (s->n_timestamps >= STATE_MAX_PATHS) {
                return graft_status_set(l->st, GRAFT_ERR_NOMEM,
                                        "%s: line %d: more than %d all_model_checkpoint_timestamps (the cap)",
                                        l->file, at_line, STATE_MAX_PATHS);
            } else if (!add_ts(s, v)) {
                return graft_status_set(l->st, GRAFT_ERR_NOMEM, "%s: line %d: out of memory", l->file, at_line);
            }
        }
        if (!list) return GRAFT_OK;
        skip_ws(l);
        if (l->p < l->end && *l->p == ',') {
            l->p++;
            continue;
        }
        if (l->p < l->end && *l->p == ']') continue;
        return perr(l, "expected ',' or ']' in a list");
    }
}

/* *mcp_line: the line of the last model_checkpoint_path (the last line when absent). */
static graft_code parse_state(const char *text, size_t n, const char *file, graft_checkpoint_state *s, int *mcp_line,
                              graft_status *st)
{
    lex l = {text, text + n, file, 1, st};
    *mcp_line = 0;
    for (;;) {
        skip_ws(&l);
        if (l.p >= l.end) break;
        const char *id = l.p;
        while (l.p < l.end && ((*l.p >= 'a' && *l.p <= 'z') || (*l.p >= 'A' && *l.p <= 'Z') || *l.p == '_' ||
                               (*l.p >= '0' && *l.p <= '9')))
            l.p++;
        size_t il = (size_t)(l.p - id);
        if (!il) return perr(&l, "expected a field name");
        int f = 0;
        if (il == 21 && !memcmp(id, "model_checkpoint_path", il)) f = 1;
        else if (il == 26 && !memcmp(id, "all_model_checkpoint_paths", il)) f = 2;
        else if (il == 31 && !memcmp(id, "all_model_checkpoint_timestamps", il)) f = 3;
        else if (il == 24 && !memcmp(id, "last_preserved_timestamp", il)) f = 4;
        if (!f) {
            char msg[160];
            snprintf(msg, sizeof msg, "unknown field '%.*s' in CheckpointState", (int)(il > 64 ? 64 : il), id);
            return perr(&l, msg);
        }
        skip_ws(&l);
        if (l.p >= l.end || *l.p != ':') return perr(&l, "expected ':' after the field name");
        l.p++;
        if (f == 1) *mcp_line = l.line;
        graft_code rc = parse_value(&l, f, s);
        if (rc != GRAFT_OK) return rc;
        skip_ws(&l);
        if (l.p < l.end && (*l.p == ',' || *l.p == ';')) l.p++;
    }
    if (!*mcp_line) *mcp_line = l.line;
    return GRAFT_OK;
}

static const char *state_name(const char *latest_filename)
{
    return latest_filename && *latest_filename ? latest_filename : "checkpoint";
}

graft_code graft_checkpoint_state_read(const char *dir, const char *latest_filename, graft_checkpoint_state **out,
                                       graft_status *st)
{
    *out = NULL;
    const char *name = state_name(latest_filename);
    if (strchr(name, '/'))
        return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "latest_filename '%s' must not contain a path", name);
    char *path = graftI_ck_join(dir, name);
    if (!path) return graft_status_set(st, GRAFT_ERR_NOMEM, "out of memory");
    uint8_t *text = NULL;
    size_t n = 0;
    graft_code rc = graftI_read_file(path, STATE_MAX_BYTES, &text, &n, st);
    if (rc != GRAFT_OK) {
        graftI_free(path);
        return rc;
    }
    graft_checkpoint_state *s = graftI_calloc(1, sizeof *s);
    const uint8_t *nul = memchr(text, 0, n);
    int mcp_line = 0;
    if (!s) rc = graft_status_set(st, GRAFT_ERR_NOMEM, "%s: out of memory", path);
    else if (nul)
        rc = graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: offset %zu: NUL byte in a text file", path,
                              (size_t)(nul - text));
    else rc = parse_state((const char *)text, n, path, s, &mcp_line, st);
    if (rc == GRAFT_OK && (!s->model_checkpoint_path || !*s->model_checkpoint_path))
        rc = graft_status_set(st, GRAFT_ERR_CORRUPT,
                              "%s: line %d: invalid checkpoint state: model_checkpoint_path is %s", path, mcp_line,
                              s->model_checkpoint_path ? "empty" : "missing");
    graftI_free(text);
    graftI_free(path);
    if (rc != GRAFT_OK) {
        graft_checkpoint_state_free(s);
        return rc;
    }
    *out = s;
    graft_status_clear(st);
    return GRAFT_OK;
}

/* ---- writer ------------------------------------------------------------------------------ */
static void put_escaped(graftI_ck_buf *b, const char *s)
{
    graftI_ck_buf_put(b, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char e[8];
        size_t n;
        switch (*p) {
        case '\n': n = 2, memcpy(e, "\\n", 2); break;
        case '\r': n = 2, memcpy(e, "\\r", 2); break;
        case '\t': n = 2, memcpy(e, "\\t", 2); break;
        case '"': n = 2, memcpy(e, "\\\"", 2); break;
        case '\'': n = 2, memcpy(e, "\\'", 2); break;
        case '\\': n = 2, memcpy(e, "\\\\", 2); break;
        default:
            if (*p < 0x20 || *p >= 0x7f) n = (size_t)snprintf(e, sizeof e, "\\%03o", *p);
            else e[0] = (char)*p, n = 1;
        }
        graftI_ck_buf_put(b, e, n);
    }
    graftI_ck_buf_put(b, "\"\n", 2);
}

/* Python's repr(float): the shortest digits that round-trip, in fixed notation
 * for decimal exponents -4..15 (with ".0" when integral), else "1.5e+16". */
static void put_double(graftI_ck_buf *b, double v)
{
    char s[64];
    if (isnan(v)) strcpy(s, "nan");
    else if (isinf(v)) strcpy(s, v > 0 ? "inf" : "-inf");
    else if (v == 0) strcpy(s, signbit(v) ? "-0.0" : "0.0");
    else {
        char e[40];
        int p;
        for (p = 0; p < 17; p++) {
            snprintf(e, sizeof e, "%.*e", p, v);
            if (strtod(e, NULL) == v) break;
        }
        /* e = [-]d[.ddd]e[+-]XX */
        char digits[24];
        int nd = 0, exp10 = atoi(strchr(e, 'e') + 1);
        for (const char *q = e; *q && *q != 'e'; q++)
            if (*q >= '0' && *q <= '9') digits[nd++] = *q;
        while (nd > 1 && digits[nd - 1] == '0') nd--;
        digits[nd] = '\0';
        size_t o = 0;
        if (v < 0) s[o++] = '-';
        if (exp10 >= -4 && exp10 < 16) {
            if (exp10 < 0) {
                s[o++] = '0';
                s[o++] = '.';
                for (int i = -1; i > exp10; i--) s[o++] = '0';
                for (int i = 0; i < nd; i++) s[o++] = digits[i];
            } else {
                for (int i = 0; i <= exp10; i++) s[o++] = i < nd ? digits[i] : '0';
                s[o++] = '.';
                if (nd > exp10 + 1)
                    for (int i = exp10 + 1; i < nd; i++) s[o++] = digits[i];
                else
                    s[o++] = '0';
            }
            s[o] = '\0';
        } else {
            s[o++] = digits[0];
            if (nd > 1) {
                s[o++] = '.';
                for (int i = 1; i < nd; i++) s[o++] = digits[i];
            }
            snprintf(s + o, sizeof s - o, "e%c%02d", exp10 < 0 ? '-' : '+', exp10 < 0 ? -exp10 : exp10);
        }
    }
    graftI_ck_buf_put(b, s, strlen(s));
    graftI_ck_buf_put(b, "\n", 1);
}

/* Replaces the state file atomically. When the new file was renamed into place but
 * the directory fsync then failed, the save is reported failed, so the previous
 * file (or its absence) is put back: a failed save leaves the state as it was. Only
 * a state known before (read, or known absent) is put back; if that fails too, the
 * new file stays, naming a complete checkpoint, and the message says so. */
static graft_code write_state_file(const char *path, const uint8_t *data, size_t n, bool *left_new,
                                   graft_status *st)
{
    *left_new = false;
    uint8_t *old = NULL;
    size_t on = 0;
    graft_status rs;
    graft_code orc = graftI_read_file(path, STATE_MAX_BYTES, &old, &on, &rs);
    bool renamed = false;
    graft_code rc = graftI_write_file_atomic_ex(path, data, n, &renamed, st);
    if (rc != GRAFT_OK && renamed && (orc == GRAFT_OK || orc == GRAFT_ERR_NOT_FOUND)) {
        graft_code back;
        if (orc == GRAFT_OK) {
            back = graftI_write_file_atomic(path, old, on, &rs);
        } else {
            const graft_io_hooks *io = graftI_io();
            char *dir = graftI_ck_dirname(path);
            back = io->unlink(io->ud, path) != 0 ? graft_status_set(&rs, GRAFT_ERR_IO, "%s: unlink: %s", path,
                                                                    strerror(errno))
                   : dir                        ? graftI_fsync_dir(dir, &rs)
                                                : graft_status_set(&rs, GRAFT_ERR_NOMEM, "out of memory");
            graftI_free(dir);
        }
        *left_new = back != GRAFT_OK;
        size_t ml = st ? strlen(st->msg) : 0;
        if (!st) {
        } else if (back == GRAFT_OK)
            snprintf(st->msg + ml, sizeof st->msg - ml, " (the previous state file was put back)");
        else
            snprintf(st->msg + ml, sizeof st->msg - ml,
                     " (the new state file stays; putting the previous one back failed: %s)", rs.msg);
    }
    graftI_free(old);
    return rc;
}

graft_code graft_checkpoint_state_write(const char *dir, const char *latest_filename, const graft_checkpoint_state *s,
                                        graft_status *st)
{
    bool left_new;
    return graftI_ck_state_write(dir, latest_filename, s, &left_new, st);
}

graft_code graftI_ck_state_write(const char *dir, const char *latest_filename, const graft_checkpoint_state *s,
                                 bool *left_new, graft_status *st)
{
    *left_new = false;
    const char *name = state_name(latest_filename);
    if (strchr(name, '/'))
        return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "latest_filename '%s' must not contain a path", name);
    if (!s || !s->model_checkpoint_path || !*s->model_checkpoint_path)
        return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "checkpoint state needs a model_checkpoint_path");
    graftI_ck_buf b = {0};
    graftI_ck_buf_put(&b, "model_checkpoint_path: ", 23);
    put_escaped(&b, s->model_checkpoint_path);
    for (int i = 0; i < s->n_paths; i++) {
        graftI_ck_buf_put(&b, "all_model_checkpoint_paths: ", 28);
        put_escaped(&b, s->all_model_checkpoint_paths[i]);
    }
    for (int i = 0; i < s->n_timestamps; i++) {
        graftI_ck_buf_put(&b, "all_model_checkpoint_timestamps: ", 33);
        put_double(&b, s->all_model_checkpoint_timestamps[i]);
    }
    if (s->has_last_preserved_timestamp) {
        graftI_ck_buf_put(&b, "last_preserved_timestamp: ", 26);
        put_double(&b, s->last_preserved_timestamp);
    }
    graft_code rc;
    char *path = graftI_ck_join(dir, name);
    if (b.oom || !path) rc = graft_status_set(st, GRAFT_ERR_NOMEM, "out of memory");
    else if (strcmp(graftI_ck_basename(s->model_checkpoint_path), name) == 0 &&
             !strchr(s->model_checkpoint_path, '/'))
        rc = graft_status_set(st, GRAFT_ERR_INVALID_ARG,
                              "%s: model_checkpoint_path '%s' would overwrite the state file itself", path,
                              s->model_checkpoint_path);
    else rc = write_state_file(path, b.p, b.n, left_new, st);
    graftI_free(path);
    graftI_ck_buf_free(&b);
    if (rc == GRAFT_OK) graft_status_clear(st);
    return rc;
}

/* ---- resolution -------------------------------------------------------------------------- */
/* Lexically normalises an absolute or relative path ("a/./b/../c" -> "a/c"); a
 * leading ".." that cannot be removed is kept. Result in out (cap bytes). */
static bool normalise(const char *path, char *out, size_t cap)
{
    bool abs = path[0] == '/';
    size_t o = 0;
    int depth = 0; /* removable components in out */
    if (abs) {
        if (cap < 2) return false;
        out[o++] = '/';
    }
    const char *p = path;
    while (*p) {
        while (*p == '/') p++;
        if (!*p) break;
        const char *q = p;
        while (*q && *q != '/') q++;
        size_t n = (size_t)(q - p);
        if (n == 1 && p[0] == '.') {
            /* skip */
        } else if (n == 2 && p[0] == '.' && p[1] == '.' && depth > 0) {
            while (o > (abs ? 1u : 0u) && out[o - 1] != '/') o--;
            if (o > (abs ? 1u : 0u)) o--;
            depth--;
        } else if (n == 2 && p[0] == '.' && p[1] == '.' && abs) {
            /* "/.." is "/" */
        } else {
            if (o > (abs ? 1u : 0u)) {
                if (o + 1 >= cap) return false;
                out[o++] = '/';
            }
            if (o + n >= cap) return false;
            memcpy(out + o, p, n);
            o += n;
            if (!(n == 2 && p[0] == '.' && p[1] == '.')) depth++;
        }
        p = q;
    }
    if (o == 0) {
        if (cap < 2) return false;
        out[o++] = '.';
    }
    out[o] = '\0';
    return true;
}

/* 1 when a checkpoint exists at prefix (V2 index or V1 file/pattern), 0 when
 * not, -1 out of memory. */
static int ckpt_exists(const char *prefix)
{
    size_t n = strlen(prefix);
    char *idx = graftI_malloc(n + 7);
    if (!idx) return -1;
    memcpy(idx, prefix, n);
    memcpy(idx + n, ".index", 7);
    int ok = graftI_ck_exists(idx) || graftI_ck_exists(prefix);
    graftI_free(idx);
    if (!ok && strchr(prefix, '?')) {
        glob_t g;
        if (glob(prefix, 0, NULL, &g) == 0) {
            ok = g.gl_pathc > 0;
            globfree(&g);
        }
    }
    return ok;
}

static graft_code copy_out(const char *s, char *out, size_t cap, graft_status *st)
{
    size_t n = strlen(s);
    if (n + 1 > cap) return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "path '%s' longer than the buffer (%zu)", s, cap);
    memcpy(out, s, n + 1);
    return GRAFT_OK;
}

graft_code graft_checkpoint_resolve(const char *dir, const char *entry, unsigned flags, char *out, size_t cap,
                                    graft_status *st)
{
    if (!dir || !*dir) dir = ".";
    if (!entry || !*entry) return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "%s: empty checkpoint path", dir);
    char nd[STATE_MAX_PATH * 2], ne[STATE_MAX_PATH * 2];
    if (strlen(entry) > STATE_MAX_PATH || strlen(dir) > STATE_MAX_PATH)
        return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "%s: path longer than %d bytes", dir, STATE_MAX_PATH);
    bool allow = flags & GRAFT_CKPT_ALLOW_OUTSIDE_DIR;
    if (entry[0] != '/') {
        if (!normalise(entry, ne, sizeof ne)) return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "%s: path too long", entry);
        if (!allow && (strcmp(ne, "..") == 0 || strncmp(ne, "../", 3) == 0))
            return graft_status_set(st, GRAFT_ERR_INVALID_ARG,
                                    "%s: checkpoint path '%s' leads outside the directory (refused; set "
                                    "GRAFT_CKPT_ALLOW_OUTSIDE_DIR to allow)",
                                    dir, entry);
        char *j = graftI_ck_join(dir, strcmp(ne, ".") ? ne : entry);
        if (!j) return graft_status_set(st, GRAFT_ERR_NOMEM, "out of memory");
        graft_code rc = copy_out(j, out, cap, st);
        graftI_free(j);
        return rc;
    }
    if (allow) return copy_out(entry, out, cap, st);
    /* absolute: inside dir (compared on absolute, normalised paths)? */
    char cwd[STATE_MAX_PATH];
    char absdir[STATE_MAX_PATH * 2];
    if (dir[0] == '/') {
        snprintf(absdir, sizeof absdir, "%s", dir);
    } else {
        if (!getcwd(cwd, sizeof cwd)) return graft_status_set(st, GRAFT_ERR_IO, "getcwd: %s", strerror(errno));
        snprintf(absdir, sizeof absdir, "%s/%s", cwd, dir);
    }
    if (!normalise(absdir, nd, sizeof nd) || !normalise(entry, ne, sizeof ne))
        return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "%s: path too long", entry);
    size_t dl = strlen(nd);
    if (strncmp(ne, nd, dl) == 0 && (ne[dl] == '/' || (dl == 1 && nd[0] == '/')) && ne[dl] != '\0')
        return copy_out(entry, out, cap, st);
    /* a moved directory: the same checkpoint name inside dir */
    char *moved = graftI_ck_join(dir, graftI_ck_basename(ne));
    if (!moved) return graft_status_set(st, GRAFT_ERR_NOMEM, "out of memory");
    int ex = ckpt_exists(moved);
    if (ex < 0) {
        graftI_free(moved);
        return graft_status_set(st, GRAFT_ERR_NOMEM, "out of memory");
    }
    if (ex) {
        graft_code rc = copy_out(moved, out, cap, st);
        graftI_free(moved);
        return rc;
    }
    graftI_free(moved);
    return graft_status_set(st, GRAFT_ERR_INVALID_ARG,
                            "%s: checkpoint path '%s' is outside the directory (refused; set "
                            "GRAFT_CKPT_ALLOW_OUTSIDE_DIR to allow)",
                            dir, entry);
}

graft_code graft_latest_checkpoint_ex(const char *dir, const char *latest_filename, unsigned flags, char *out,
                                      size_t cap, graft_status *st)
{
    if (!dir || !*dir) dir = ".";
    graft_checkpoint_state *s = NULL;
    graft_code rc = graft_checkpoint_state_read(dir, latest_filename, &s, st);
    if (rc == GRAFT_ERR_NOT_FOUND)
        return graft_status_set(st, GRAFT_ERR_NOT_FOUND, "%s: no checkpoint state file '%s'", dir,
                                state_name(latest_filename));
    if (rc != GRAFT_OK) return rc;
    /* newest first: model_checkpoint_path, then the list from its end */
    int nc = s->n_paths + 1;
    const char **cand = graftI_calloc((size_t)nc, sizeof *cand);
    if (!cand) {
        graft_checkpoint_state_free(s);
        return graft_status_set(st, GRAFT_ERR_NOMEM, "out of memory");
    }
    int k = 0;
    cand[k++] = s->model_checkpoint_path;
    for (int i = s->n_paths - 1; i >= 0; i--)
        if (strcmp(s->all_model_checkpoint_paths[i], s->model_checkpoint_path)) cand[k++] = s->all_model_checkpoint_paths[i];
    char tried[1024] = "";
    size_t to = 0;
    char buf[STATE_MAX_PATH * 2 + 16];
    rc = GRAFT_ERR_NOT_FOUND;
    char why[GRAFT_STATUS_MSG_MAX] = "";
    for (int i = 0; i < k; i++) {
        graft_status tmp;
        if (to + 8 < sizeof tried)
            to += (size_t)snprintf(tried + to, sizeof tried - to, "%s'%s'", i ? ", " : "", cand[i]);
        if (to >= sizeof tried) to = sizeof tried - 1;
        if (graft_checkpoint_resolve(dir, cand[i], flags, buf, sizeof buf, &tmp) != GRAFT_OK) {
            if (tmp.code == GRAFT_ERR_NOMEM) {
                rc = graft_status_set(st, GRAFT_ERR_NOMEM, "%s: out of memory", dir);
                break;
            }
            if (!why[0]) snprintf(why, sizeof why, "; %.1000s", tmp.msg);
            continue;
        }
        int ex = ckpt_exists(buf);
        if (ex < 0) {
            rc = graft_status_set(st, GRAFT_ERR_NOMEM, "%s: out of memory", dir);
            break;
        }
        if (!ex) continue;
        if (i > 0)
            graftI_log(GRAFT_LOG_WARN, "%s/%s: latest checkpoint '%s' is missing or refused; using '%s'", dir,
                       state_name(latest_filename), cand[0], cand[i]);
        rc = copy_out(buf, out, cap, st);
        break;
    }
    if (rc == GRAFT_ERR_NOT_FOUND)
        graft_status_set(st, GRAFT_ERR_NOT_FOUND, "%s/%s: no listed checkpoint exists (tried %s)%s", dir,
                         state_name(latest_filename), tried, why);
    graftI_free(cand);
    graft_checkpoint_state_free(s);
    if (rc == GRAFT_OK) graft_status_clear(st);
    return rc;
}

graft_code graft_latest_checkpoint(const char *dir, char *out, size_t cap, graft_status *st)
{
    return graft_latest_checkpoint_ex(dir, NULL, 0, out, cap, st);
}

graft_code graft_checkpoint_state_write_for(const char *prefix, graft_status *st)
{
    if (!prefix || !*prefix)
        return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "graft_checkpoint_state_write_for: empty prefix");
    const char *slash = strrchr(prefix, '/');
    char *dir = slash ? graftI_strndup(prefix, slash == prefix ? 1 : (size_t)(slash - prefix)) : graftI_strdup(".");
    if (!dir) return graft_status_set(st, GRAFT_ERR_NOMEM, "%s: out of memory", prefix);
    char *base = (char *)(slash ? slash + 1 : prefix);
    graft_checkpoint_state cs;
    memset(&cs, 0, sizeof cs);
    cs.model_checkpoint_path = base;
    cs.all_model_checkpoint_paths = &base;
    cs.n_paths = 1;
    graft_code rc = graft_checkpoint_state_write(dir, NULL, &cs, st);
    graftI_free(dir);
    return rc;
}
