/* tests/support/meta_json.c - a tiny recursive-descent JSON reader for test
 * oracles (trusted, small files; plain malloc). */
#include "meta_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct mj {
    mj_kind kind;
    bool b;
    double num;
    char *str;
    int n;
    char **keys;
    mj **items;
};

typedef struct {
    const char *p;
    int err;
} mjp;

static void ws(mjp *s)
{
    while (*s->p == ' ' || *s->p == '\n' || *s->p == '\t' || *s->p == '\r') s->p++;
}

static mj *parse_value(mjp *s, int depth);

static char *parse_string(mjp *s)
{
    if (*s->p != '"') {
        s->err = 1;
        return NULL;
    }
    s->p++;
    size_t cap = 16, n = 0;
    char *o = malloc(cap);
    while (*s->p && *s->p != '"') {
        char c = *s->p++;
        if (c == '\\') {
            char e = *s->p++;
            switch (e) {
            case 'n': c = '\n'; break;
            case 't': c = '\t'; break;
            case 'r': c = '\r'; break;
            case 'b': c = '\b'; break;
            case 'f': c = '\f'; break;
            case 'u': {
                unsigned v = 0;
                for (int i = 0; i < 4 && *s->p; i++) {
                    char h = *s->p++;
                    v = v * 16 + (unsigned)(h >= 'a' ? h - 'a' + 10 : h >= 'A' ? h - 'A' + 10 : h - '0');
                }
                c = v < 128 ? (char)v : '?';
                break;
            }
            case '\0': s->err = 1; free(o); return NULL;
            default: c = e; break;
            }
        }
        if (n + 2 > cap) o = realloc(o, cap *= 2);
        o[n++] = c;
    }
    if (*s->p != '"') {
        s->err = 1;
        free(o);
        return NULL;
    }
    s->p++;
    o[n] = '\0';
    return o;
}

static void push(mj *v, char *key, mj *item)
{
    v->items = realloc(v->items, (size_t)(v->n + 1) * sizeof *v->items);
    v->keys = realloc(v->keys, (size_t)(v->n + 1) * sizeof *v->keys);
    v->items[v->n] = item;
    v->keys[v->n] = key;
    v->n++;
}

static mj *parse_value(mjp *s, int depth)
{
    ws(s);
    if (depth > 200) {
        s->err = 1;
        return NULL;
    }
    mj *v = calloc(1, sizeof *v);
    char c = *s->p;
    if (c == '{' || c == '[') {
        v->kind = c == '{' ? MJ_OBJ : MJ_ARR;
        s->p++;
        ws(s);
        char close = c == '{' ? '}' : ']';
        if (*s->p == close) {
            s->p++;
            return v;
        }
        for (;;) {
            char *key = NULL;
            ws(s);
            if (v->kind == MJ_OBJ) {
                key = parse_string(s);
                if (!key) break;
                ws(s);
                if (*s->p != ':') {
                    s->err = 1;
                    free(key);
                    break;
                }
                s->p++;
            }
            mj *item = parse_value(s, depth + 1);
            if (!item) {
                free(key);
                break;
            }
            push(v, key, item);
            ws(s);
            if (*s->p == ',') {
                s->p++;
                continue;
            }
            if (*s->p == close) {
                s->p++;
                return v;
            }
            s->err = 1;
            break;
        }
        s->err = 1;
        mj_free(v);
        return NULL;
    }
    if (c == '"') {
        v->kind = MJ_STR;
        v->str = parse_string(s);
        if (!v->str) {
            free(v);
            return NULL;
        }
        return v;
    }
    if (!strncmp(s->p, "true", 4) || !strncmp(s->p, "false", 5)) {
        v->kind = MJ_BOOL;
        v->b = c == 't';
        s->p += v->b ? 4 : 5;
        return v;
    }
    if (!strncmp(s->p, "null", 4)) {
        s->p += 4;
        return v;
    }
    char *end;
    v->kind = MJ_NUM;
    v->num = strtod(s->p, &end);
    if (end == s->p) {
        s->err = 1;
        free(v);
        return NULL;
    }
    s->p = end;
    return v;
}

mj *mj_parse(const char *text)
{
    mjp s = {text, 0};
    mj *v = parse_value(&s, 0);
    if (v && !s.err) {
        ws(&s);
        if (*s.p == '\0') return v;
    }
    mj_free(v);
    fprintf(stderr, "meta_json: parse error near '%.20s'\n", s.p);
    return NULL;
}

mj *mj_parse_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "meta_json: cannot open %s\n", path);
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    size_t got = fread(buf, 1, (size_t)n, f);
    fclose(f);
    buf[got] = '\0';
    mj *v = mj_parse(buf);
    free(buf);
    return v;
}

void mj_free(mj *v)
{
    if (!v) return;
    for (int i = 0; i < v->n; i++) {
        mj_free(v->items[i]);
        free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    free(v->str);
    free(v);
}

mj_kind mj_type(const mj *v) { return v ? v->kind : MJ_NULL; }

const mj *mj_get(const mj *v, const char *key)
{
    if (!v || v->kind != MJ_OBJ) return NULL;
    for (int i = 0; i < v->n; i++)
        if (!strcmp(v->keys[i], key)) return v->items[i];
    return NULL;
}

const mj *mj_path(const mj *v, const char *path)
{
    char buf[512];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *tok = strtok(buf, "."); tok && v; tok = strtok(NULL, ".")) v = mj_get(v, tok);
    return v;
}

int mj_len(const mj *v) { return v && (v->kind == MJ_ARR || v->kind == MJ_OBJ) ? v->n : 0; }
const mj *mj_at(const mj *v, int i) { return v && i >= 0 && i < v->n ? v->items[i] : NULL; }
const char *mj_key_at(const mj *v, int i) { return v && v->kind == MJ_OBJ && i >= 0 && i < v->n ? v->keys[i] : NULL; }
double mj_num(const mj *v) { return v && v->kind == MJ_NUM ? v->num : 0; }
const char *mj_str(const mj *v) { return v && v->kind == MJ_STR ? v->str : NULL; }
bool mj_bool(const mj *v) { return v && v->kind == MJ_BOOL && v->b; }
