/* lib/graph.c - graph storage: op creation through one validated path (the
 * generic builder and the typed builders share it), TensorFlow's naming rules
 * (unique names, name scopes), lookup of "op:N" tensors, control dependencies,
 * attrs, variables and collections, and the sticky error. */
#include "internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>

/* ---- a small string -> int map (open addressing) ----------------------------------- */
typedef struct smap_ent {
    char *key;
    int val;
} smap_ent;

typedef struct smap {
    smap_ent *e;
    int cap, n;
} smap;

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static smap_ent *smap_find(const smap *m, const char *k)
{
    if (!m->cap) return NULL;
    uint64_t i = hash_str(k) & (uint64_t)(m->cap - 1);
    for (;;) {
        smap_ent *e = &m->e[i];
        if (!e->key) return NULL;
        if (strcmp(e->key, k) == 0) return e;
        i = (i + 1) & (uint64_t)(m->cap - 1);
    }
}

static bool smap_put(smap *m, const char *k, int v)
{
    smap_ent *f = smap_find(m, k);
    if (f) {
        f->val = v;
        return true;
    }
    if ((m->n + 1) * 2 > m->cap) {
        int nc = m->cap ? m->cap * 2 : 64;
        smap_ent *ne = graftI_calloc((size_t)nc, sizeof *ne);
        if (!ne) return false;
        for (int i = 0; i < m->cap; i++) {
            if (!m->e[i].key) continue;
            uint64_t j = hash_str(m->e[i].key) & (uint64_t)(nc - 1);
            while (ne[j].key) j = (j + 1) & (uint64_t)(nc - 1);
            ne[j] = m->e[i];
        }
        graftI_free(m->e);
        m->e = ne;
        m->cap = nc;
    }
    char *kc = graftI_strdup(k);
    if (!kc) return false;
    uint64_t i = hash_str(k) & (uint64_t)(m->cap - 1);
    while (m->e[i].key) i = (i + 1) & (uint64_t)(m->cap - 1);
    m->e[i].key = kc;
    m->e[i].val = v;
    m->n++;
    return true;
}

static void smap_free(smap *m)
{
    for (int i = 0; i < m->cap; i++) graftI_free(m->e[i].key);
    graftI_free(m->e);
    memset(m, 0, sizeof *m);
}

/* ---- the graph ---------------------------------------------------------------------- */
typedef struct collection {
    char *name;
    graft_op **ops;
    int n, cap;
} collection;

typedef struct ctrl_frame {
    graft_op **ops;
    int n;
    bool reset; /* tf.control_dependencies(None): frames below are ignored */
} ctrl_frame;

struct graft_graph {
    graft_op **ops;
    int n_ops, cap_ops;
    smap by_name;        /* exact op name -> id */
    smap in_use;         /* lower-cased names and scopes -> use count (TF's _names_in_use) */
    char **scopes;       /* scope stack: full scope names without trailing '/' */
    int n_scopes, cap_scopes;
    ctrl_frame *ctrl;
    int n_ctrl, cap_ctrl;
    char *next_name;
    graft_variable *vars;
    int n_vars, cap_vars;
    collection *colls;
    int n_colls, cap_colls;
    int64_t seed;
    bool has_seed;
    int64_t last_op_seed;
    char scratch_name[512];
    graft_code err;
    char errmsg[GRAFT_STATUS_MSG_MAX];
};

graft_graph *graft_graph_new(void) { return graftI_calloc(1, sizeof(graft_graph)); }

void graftI_attr_clear(graftI_attr *a)
{
    if (!a) return;
    graftI_free(a->name);
    switch (a->type) {
    case GRAFTI_ATTR_STRING:
    case GRAFTI_ATTR_FUNC: graftI_free(a->v.s.ptr); break;
    case GRAFTI_ATTR_TENSOR: graft_tensor_free(a->v.t); break;
    case GRAFTI_ATTR_LIST_STRING:
        for (int i = 0; i < a->n; i++) graftI_free(a->l.s[i].ptr);
        break;
    case GRAFTI_ATTR_LIST_TENSOR:
        for (int i = 0; i < a->n; i++) graft_tensor_free(a->l.t[i]);
        break;
    default: break;
    }
    if (a->type >= GRAFTI_ATTR_LIST_INT) graftI_free(a->l.i);
    memset(a, 0, sizeof *a);
}

static size_t list_elem_size(graftI_attr_type t)
{
    switch (t) {
    case GRAFTI_ATTR_LIST_INT: return sizeof(int64_t);
    case GRAFTI_ATTR_LIST_FLOAT: return sizeof(float);
    case GRAFTI_ATTR_LIST_BOOL: return sizeof(bool);
    case GRAFTI_ATTR_LIST_TYPE: return sizeof(graft_dtype);
    case GRAFTI_ATTR_LIST_SHAPE: return sizeof(graft_shape);
    case GRAFTI_ATTR_LIST_STRING: return sizeof(graft_str);
    case GRAFTI_ATTR_LIST_TENSOR: return sizeof(graft_tensor *);
    default: return 0;
    }
}

graft_code graftI_attr_copy(graftI_attr *dst, const graftI_attr *src)
{
    memset(dst, 0, sizeof *dst);
    dst->type = src->type;
    dst->name = graftI_strdup(src->name ? src->name : "");
    if (!dst->name) return GRAFT_ERR_NOMEM;
    switch (src->type) {
    case GRAFTI_ATTR_STRING:
    case GRAFTI_ATTR_FUNC:
        dst->v.s.len = src->v.s.len;
        dst->v.s.ptr = graftI_strndup(src->v.s.ptr ? src->v.s.ptr : "", src->v.s.ptr ? src->v.s.len : 0);
        if (!dst->v.s.ptr) goto nomem;
        return GRAFT_OK;
    case GRAFTI_ATTR_TENSOR:
        dst->v.t = graft_tensor_ref(src->v.t);
        return GRAFT_OK;
    default: break;
    }
    if (src->type < GRAFTI_ATTR_LIST_INT) {
        dst->v = src->v;
        return GRAFT_OK;
    }
    dst->n = src->n;
    if (src->n > 0) {
        size_t es = list_elem_size(src->type);
        dst->l.i = graftI_calloc((size_t)src->n, es);
        if (!dst->l.i) goto nomem;
        if (src->type == GRAFTI_ATTR_LIST_STRING) {
            for (int i = 0; i < src->n; i++) {
                dst->l.s[i].len = src->l.s[i].len;
                dst->l.s[i].ptr = graftI_strndup(src->l.s[i].ptr ? src->l.s[i].ptr : "", src->l.s[i].len);
                if (!dst->l.s[i].ptr) goto nomem;
            }
        } else if (src->type == GRAFTI_ATTR_LIST_TENSOR) {
            for (int i = 0; i < src->n; i++) dst->l.t[i] = graft_tensor_ref(src->l.t[i]);
        } else {
            memcpy(dst->l.i, src->l.i, (size_t)src->n * es);
        }
    }
    return GRAFT_OK;
nomem:
    graftI_attr_clear(dst);
    return GRAFT_ERR_NOMEM;
}

static const char *attr_type_name(graftI_attr_type t)
{
    static const char *const names[] = {"none", "int", "float", "bool", "type", "shape", "string", "tensor", "func",
                                        "list(int)", "list(float)", "list(bool)", "list(type)", "list(shape)",
                                        "list(string)", "list(tensor)"};
    return (unsigned)t < sizeof names / sizeof names[0] ? names[t] : "?";
}

/* Parses "[a,b,c]" of ints. */
static int parse_int_list(const char *s, int64_t *out, int cap)
{
    int n = 0;
    if (*s != '[') return -1;
    s++;
    while (*s && *s != ']') {
        char *end;
        long long v = strtoll(s, &end, 10);
        if (end == s || n >= cap) return -1;
        out[n++] = v;
        s = end;
        while (*s == ',' || *s == ' ') s++;
    }
    return *s == ']' ? n : -1;
}

graft_code graftI_attr_parse_default(const graftI_attr_spec *spec, graftI_attr *out)
{
    memset(out, 0, sizeof *out);
    out->name = graftI_strdup(spec->name);
    if (!out->name) return GRAFT_ERR_NOMEM;
    out->type = spec->type;
    const char *d = spec->def;
    int64_t tmp[GRAFT_MAX_DIMS * 4];
    switch (spec->type) {
    case GRAFTI_ATTR_INT: out->v.i = strtoll(d, NULL, 10); break;
    case GRAFTI_ATTR_FLOAT: out->v.f = strtof(d, NULL); break;
    case GRAFTI_ATTR_BOOL: out->v.b = strcmp(d, "true") == 0; break;
    case GRAFTI_ATTR_TYPE: out->v.dt = graft_dtype_from_name(d); break;
    case GRAFTI_ATTR_SHAPE: {
        if (strcmp(d, "?") == 0) {
            out->v.shape = graft_shape_unknown();
            break;
        }
        int n = parse_int_list(d, tmp, GRAFT_MAX_DIMS);
        if (n < 0) goto bad;
        out->v.shape = graft_shape_make(n, tmp);
        break;
    }
    case GRAFTI_ATTR_STRING:
    case GRAFTI_ATTR_FUNC:
        out->v.s.len = strlen(d);
        out->v.s.ptr = graftI_strdup(d);
        if (!out->v.s.ptr) goto nomem;
        break;
    case GRAFTI_ATTR_LIST_INT: {
        int n = parse_int_list(d, tmp, (int)(sizeof tmp / sizeof tmp[0]));
        if (n < 0) goto bad;
        out->n = n;
        if (n) {
            out->l.i = graftI_calloc((size_t)n, sizeof(int64_t));
            if (!out->l.i) goto nomem;
            memcpy(out->l.i, tmp, (size_t)n * sizeof(int64_t));
        }
        break;
    }
    default:
        /* other list defaults are only ever "[]" */
        if (strcmp(d, "[]") != 0) goto bad;
        out->n = 0;
        break;
    }
    return GRAFT_OK;
bad:
    graftI_attr_clear(out);
    return GRAFT_ERR_INTERNAL;
nomem:
    graftI_attr_clear(out);
    return GRAFT_ERR_NOMEM;
}

static void op_free(graft_op *op)
{
    if (!op) return;
    graftI_free(op->type);
    graftI_free(op->name);
    graftI_free(op->device);
    graftI_free(op->in);
    graftI_free(op->ctrl);
    graftI_free(op->out);
    for (int i = 0; i < op->n_attr; i++) graftI_attr_clear(&op->attrs[i]);
    graftI_free(op->attrs);
    graftI_free(op);
}

void graft_graph_free(graft_graph *g)
{
    if (!g) return;
    for (int i = 0; i < g->n_ops; i++) op_free(g->ops[i]);
    graftI_free(g->ops);
    smap_free(&g->by_name);
    smap_free(&g->in_use);
    for (int i = 0; i < g->n_scopes; i++) graftI_free(g->scopes[i]);
    graftI_free(g->scopes);
    for (int i = 0; i < g->n_ctrl; i++) graftI_free(g->ctrl[i].ops);
    graftI_free(g->ctrl);
    graftI_free(g->next_name);
    graftI_free(g->vars);
    for (int i = 0; i < g->n_colls; i++) {
        graftI_free(g->colls[i].name);
        graftI_free(g->colls[i].ops);
    }
    graftI_free(g->colls);
    graftI_free(g);
}

/* ---- sticky error ----------------------------------------------------------------------- */
graft_code graft_graph_status(const graft_graph *g) { return g ? g->err : GRAFT_ERR_MISUSE; }
const char *graft_graph_errmsg(const graft_graph *g) { return g ? g->errmsg : "NULL graph"; }
void graft_graph_clear_error(graft_graph *g)
{
    if (!g) return;
    g->err = GRAFT_OK;
    g->errmsg[0] = '\0';
}
graft_code graft_graph_check(const graft_graph *g, graft_status *st)
{
    if (!g) return graft_status_set(st, GRAFT_ERR_MISUSE, "NULL graph");
    if (g->err == GRAFT_OK) {
        graft_status_clear(st);
        return GRAFT_OK;
    }
    return graft_status_set(st, g->err, "%s", g->errmsg);
}

graft_code graftI_graph_fail(graft_graph *g, graft_code code, const char *fmt, ...)
{
    if (!g || g->err != GRAFT_OK) return code;
    va_list ap;
    va_start(ap, fmt);
    graft_status st;
    graftI_vset(&st, code, fmt, ap);
    va_end(ap);
    g->err = code;
    memcpy(g->errmsg, st.msg, sizeof g->errmsg);
    return code;
}

void graft_graph_set_seed(graft_graph *g, int64_t seed)
{
    if (!g) return;
    g->seed = seed;
    g->has_seed = true;
    g->last_op_seed = 0;
}

/* TF's get_seed: (graph seed, op seed); with a graph seed and no op seed, the
 * op seed is the op count, so each op draws a distinct stream. Exposed through
 * graftI for the random builders. */
void graftI_graph_seeds(graft_graph *g, int64_t op_seed, int64_t *seed, int64_t *seed2)
{
    if (g->has_seed) {
        *seed = g->seed;
        *seed2 = op_seed ? op_seed : g->n_ops;
    } else if (op_seed) {
        *seed = 87654321; /* TF's DEFAULT_GRAPH_SEED */
        *seed2 = op_seed;
    } else {
        *seed = 0;
        *seed2 = 0;
    }
}

/* ---- naming ----------------------------------------------------------------------------- */
static void lower_into(char *dst, const char *src, size_t cap)
{
    size_t i = 0;
    for (; src[i] && i + 1 < cap; i++) dst[i] = (char)tolower((unsigned char)src[i]);
    dst[i] = '\0';
}

/* Marks every '/'-prefix of a verbatim name (so "save/Const" reserves "save"). */
static bool mark_name_and_prefixes(graft_graph *g, const char *name)
{
    char key[512];
    lower_into(key, name, sizeof key);
    for (char *p = key; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        smap_ent *e = smap_find(&g->in_use, key);
        if (!e && !smap_put(&g->in_use, key, 1)) return false;
        *p = '/';
    }
    smap_ent *e = smap_find(&g->in_use, key);
    return e ? true : smap_put(&g->in_use, key, 1);
}

const char *graft_graph_unique_name(graft_graph *g, const char *name, bool mark_used)
{
    if (!g || !name) return NULL;
    char full[512];
    if (g->n_scopes > 0 && g->scopes[g->n_scopes - 1][0]) snprintf(full, sizeof full, "%s/%s", g->scopes[g->n_scopes - 1], name);
    else snprintf(full, sizeof full, "%s", name);
    char key[512], base[512];
    lower_into(key, full, sizeof key);
    smap_ent *e = smap_find(&g->in_use, key);
    int i = e ? e->val : 0;
    if (mark_used && !smap_put(&g->in_use, key, i + 1)) return NULL;
    if (i > 0) {
        memcpy(base, key, sizeof base);
        while (smap_find(&g->in_use, key)) {
            snprintf(key, sizeof key, "%.480s_%d", base, i);
            i++;
        }
        if (mark_used && !smap_put(&g->in_use, key, 1)) return NULL;
        snprintf(g->scratch_name, sizeof g->scratch_name, "%.480s_%d", full, i - 1);
    } else {
        snprintf(g->scratch_name, sizeof g->scratch_name, "%s", full);
    }
    return g->scratch_name;
}

const char *graft_graph_push_scope(graft_graph *g, const char *name)
{
    if (!g || !name) return NULL;
    if (!graftI_grow((void **)&g->scopes, &g->cap_scopes, g->n_scopes + 1, sizeof(char *))) {
        graftI_graph_fail(g, GRAFT_ERR_NOMEM, "out of memory pushing scope '%s'", name);
        return NULL;
    }
    char *s;
    size_t len = strlen(name);
    if (len > 0 && name[len - 1] == '/') {
        s = graftI_strndup(name, len - 1); /* re-enter exactly */
    } else if (len == 0) {
        s = graftI_strdup("");
    } else {
        const char *u = graft_graph_unique_name(g, name, true);
        s = u ? graftI_strdup(u) : NULL;
    }
    if (!s) {
        graftI_graph_fail(g, GRAFT_ERR_NOMEM, "out of memory pushing scope '%s'", name);
        return NULL;
    }
    g->scopes[g->n_scopes++] = s;
    return s;
}

void graft_graph_pop_scope(graft_graph *g)
{
    if (!g || g->n_scopes == 0) return;
    graftI_free(g->scopes[--g->n_scopes]);
}

void graft_name_next(graft_graph *g, const char *name)
{
    if (!g) return;
    graftI_free(g->next_name);
    g->next_name = name ? graftI_strdup(name) : NULL;
}

void graft_graph_push_control_deps(graft_graph *g, graft_op *const *ops, int n)
{
    if (!g) return;
    if (!graftI_grow((void **)&g->ctrl, &g->cap_ctrl, g->n_ctrl + 1, sizeof(ctrl_frame))) {
        graftI_graph_fail(g, GRAFT_ERR_NOMEM, "out of memory pushing control dependencies");
        return;
    }
    ctrl_frame f = {NULL, 0, n < 0};
    if (n > 0) {
        f.ops = graftI_calloc((size_t)n, sizeof(graft_op *));
        if (!f.ops) {
            graftI_graph_fail(g, GRAFT_ERR_NOMEM, "out of memory pushing control dependencies");
            return;
        }
        for (int i = 0; i < n; i++)
            if (ops[i]) f.ops[f.n++] = ops[i];
    }
    g->ctrl[g->n_ctrl++] = f;
}

void graft_graph_pop_control_deps(graft_graph *g)
{
    if (!g || g->n_ctrl == 0) return;
    graftI_free(g->ctrl[--g->n_ctrl].ops);
}

/* ---- lookup ------------------------------------------------------------------------------ */
graft_op *graft_graph_op(const graft_graph *g, const char *name)
{
    if (!g || !name) return NULL;
    smap_ent *e = smap_find(&g->by_name, name);
    return e && e->val >= 0 ? g->ops[e->val] : NULL;
}

graft_code graft_graph_tensor(const graft_graph *g, const char *name, graft_out *out, graft_status *st)
{
    out->op = NULL;
    out->index = 0;
    if (!g || !name) return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "graft_graph_tensor: NULL argument");
    const char *colon = strrchr(name, ':');
    if (!colon) {
        if (graft_graph_op(g, name))
            return graft_status_set(st, GRAFT_ERR_INVALID_ARG,
                                    "The name '%s' refers to an Operation, not a Tensor. Tensor names must be of "
                                    "the form \"<op_name>:<output_index>\"; did you mean '%s:0'?",
                                    name, name);
        return graft_status_set(st, GRAFT_ERR_INVALID_ARG,
                                "The name '%s' looks like an (invalid) Operation name, not a Tensor. Tensor names "
                                "must be of the form \"<op_name>:<output_index>\".",
                                name);
    }
    char *end;
    long idx = strtol(colon + 1, &end, 10);
    if (colon[1] == '\0' || *end != '\0' || idx < 0 || idx > 1000000)
        return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "'%s': the output index after ':' is not a number", name);
    char opname[512];
    size_t ol = (size_t)(colon - name);
    if (ol >= sizeof opname) return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "'%s': name too long", name);
    memcpy(opname, name, ol);
    opname[ol] = '\0';
    graft_op *op = graft_graph_op(g, opname);
    if (!op)
        return graft_status_set(st, GRAFT_ERR_NOT_FOUND,
                                "The name '%s' refers to a Tensor which does not exist. The operation, '%s', does "
                                "not exist in the graph.",
                                name, opname);
    if (idx >= op->n_out)
        return graft_status_set(st, GRAFT_ERR_NOT_FOUND,
                                "The name '%s' refers to a Tensor which does not exist. The operation, '%s', exists "
                                "but only has %d outputs.",
                                name, opname, op->n_out);
    out->op = op;
    out->index = (int)idx;
    graft_status_clear(st);
    return GRAFT_OK;
}

int graft_graph_num_ops(const graft_graph *g) { return g ? g->n_ops : 0; }
graft_op *graft_graph_op_at(const graft_graph *g, int i) { return g && i >= 0 && i < g->n_ops ? g->ops[i] : NULL; }
const char *graft_op_name(const graft_op *op) { return op ? op->name : NULL; }
const char *graft_op_type(const graft_op *op) { return op ? op->type : NULL; }
int graft_op_num_inputs(const graft_op *op) { return op ? op->n_in : 0; }
graft_out graft_op_input(const graft_op *op, int i)
{
    graft_out o = {NULL, 0};
    if (op && i >= 0 && i < op->n_in) o = op->in[i];
    return o;
}
int graft_op_num_control_inputs(const graft_op *op) { return op ? op->n_ctrl : 0; }
graft_op *graft_op_control_input(const graft_op *op, int i) { return op && i >= 0 && i < op->n_ctrl ? op->ctrl[i] : NULL; }
int graft_op_num_outputs(const graft_op *op) { return op ? op->n_out : 0; }
bool graft_op_runnable(const graft_op *op) { return op && op->def && op->def->forward; }
graft_dtype graft_out_dtype(graft_out o)
{
    return o.op && o.index >= 0 && o.index < o.op->n_out ? o.op->out[o.index].dtype : GRAFT_INVALID;
}
graft_shape graft_out_shape(graft_out o)
{
    return o.op && o.index >= 0 && o.index < o.op->n_out ? o.op->out[o.index].shape : graft_shape_unknown();
}
const char *graft_out_name(graft_out o, char *buf, size_t cap)
{
    if (!buf || !cap) return buf;
    snprintf(buf, cap, "%s:%d", o.op ? o.op->name : "<null>", o.index);
    return buf;
}

/* ---- attrs on ops -------------------------------------------------------------------------- */
const graftI_attr *graftI_op_attr(const graft_op *op, const char *name)
{
    if (!op) return NULL;
    for (int i = 0; i < op->n_attr; i++)
        if (strcmp(op->attrs[i].name, name) == 0) return &op->attrs[i];
    return NULL;
}
int64_t graftI_attr_i(const graft_op *op, const char *name, int64_t dflt)
{
    const graftI_attr *a = graftI_op_attr(op, name);
    return a && a->type == GRAFTI_ATTR_INT ? a->v.i : dflt;
}
float graftI_attr_f(const graft_op *op, const char *name, float dflt)
{
    const graftI_attr *a = graftI_op_attr(op, name);
    return a && a->type == GRAFTI_ATTR_FLOAT ? a->v.f : dflt;
}
bool graftI_attr_b(const graft_op *op, const char *name, bool dflt)
{
    const graftI_attr *a = graftI_op_attr(op, name);
    return a && a->type == GRAFTI_ATTR_BOOL ? a->v.b : dflt;
}
graft_dtype graftI_attr_dt(const graft_op *op, const char *name, graft_dtype dflt)
{
    const graftI_attr *a = graftI_op_attr(op, name);
    return a && a->type == GRAFTI_ATTR_TYPE ? a->v.dt : dflt;
}
const char *graftI_attr_s(const graft_op *op, const char *name, const char *dflt)
{
    const graftI_attr *a = graftI_op_attr(op, name);
    return a && a->type == GRAFTI_ATTR_STRING ? a->v.s.ptr : dflt;
}
int graftI_attr_ilist(const graft_op *op, const char *name, const int64_t **v)
{
    const graftI_attr *a = graftI_op_attr(op, name);
    if (!a || a->type != GRAFTI_ATTR_LIST_INT) {
        *v = NULL;
        return -1;
    }
    *v = a->l.i;
    return a->n;
}

bool graft_op_attr_int(const graft_op *op, const char *name, int64_t *v)
{
    const graftI_attr *a = graftI_op_attr(op, name);
    if (!a || a->type != GRAFTI_ATTR_INT) return false;
    *v = a->v.i;
    return true;
}
bool graft_op_attr_float(const graft_op *op, const char *name, float *v)
{
    const graftI_attr *a = graftI_op_attr(op, name);
    if (!a || a->type != GRAFTI_ATTR_FLOAT) return false;
    *v = a->v.f;
    return true;
}
bool graft_op_attr_bool(const graft_op *op, const char *name, bool *v)
{
    const graftI_attr *a = graftI_op_attr(op, name);
    if (!a || a->type != GRAFTI_ATTR_BOOL) return false;
    *v = a->v.b;
    return true;
}
bool graft_op_attr_type(const graft_op *op, const char *name, graft_dtype *v)
{
    const graftI_attr *a = graftI_op_attr(op, name);
    if (!a || a->type != GRAFTI_ATTR_TYPE) return false;
    *v = a->v.dt;
    return true;
}
bool graft_op_attr_shape(const graft_op *op, const char *name, graft_shape *v)
{
    const graftI_attr *a = graftI_op_attr(op, name);
    if (!a || a->type != GRAFTI_ATTR_SHAPE) return false;
    *v = a->v.shape;
    return true;
}
bool graft_op_attr_string(const graft_op *op, const char *name, const char **s, size_t *len)
{
    const graftI_attr *a = graftI_op_attr(op, name);
    if (!a || a->type != GRAFTI_ATTR_STRING) return false;
    *s = a->v.s.ptr;
    if (len) *len = a->v.s.len;
    return true;
}
const graft_tensor *graft_op_attr_tensor(const graft_op *op, const char *name)
{
    const graftI_attr *a = graftI_op_attr(op, name);
    return a && a->type == GRAFTI_ATTR_TENSOR ? a->v.t : NULL;
}

graft_code graftI_set_outputs(graft_op *op, int n)
{
    graftI_free(op->out);
    op->out = NULL;
    op->n_out = 0;
    if (n < 0) return GRAFT_ERR_INTERNAL;
    if (n > 0) {
        op->out = graftI_calloc((size_t)n, sizeof(graftI_outinfo));
        if (!op->out) return GRAFT_ERR_NOMEM;
        for (int i = 0; i < n; i++) op->out[i].shape = graft_shape_unknown();
    }
    op->n_out = n;
    return GRAFT_OK;
}

const graft_tensor *graftI_const_input(const graft_op *op, int i)
{
    if (!op || i < 0 || i >= op->n_in) return NULL;
    graft_op *p = op->in[i].op;
    if (!p || strcmp(p->type, "Const") != 0) return NULL;
    return graft_op_attr_tensor(p, "value");
}

/* ---- the one op-creation path ---------------------------------------------------------------- */
struct graft_op_builder {
    graft_graph *g;
    char *type;
    char *name;
    char *device;
    graft_out *in;
    int n_in, cap_in;
    graft_op **ctrl;
    int n_ctrl, cap_ctrl;
    graftI_attr *attrs;
    int n_attr, cap_attr;
    bool allow_unknown;
    int unknown_outputs;
    graftI_outinfo *unknown_info; /* declared outputs of an inert op (unknown_outputs entries) */
    graft_code err; /* first error while filling (e.g. out of memory) */
    char errmsg[256];
};

static void builder_fail(graft_op_builder *b, graft_code c, const char *fmt, ...) GRAFTI_PRINTF(3, 4);
static void builder_fail(graft_op_builder *b, graft_code c, const char *fmt, ...)
{
    if (b->err) return;
    b->err = c;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b->errmsg, sizeof b->errmsg, fmt, ap);
    va_end(ap);
}

graft_op_builder *graft_op_builder_new(graft_graph *g, const char *op_type, const char *name)
{
    if (!g || !op_type || !name) return NULL;
    graft_op_builder *b = graftI_calloc(1, sizeof *b);
    if (!b) return NULL;
    b->g = g;
    b->type = graftI_strdup(op_type);
    b->name = graftI_strdup(name);
    if (!b->type || !b->name) builder_fail(b, GRAFT_ERR_NOMEM, "out of memory");
    return b;
}

void graft_op_builder_free(graft_op_builder *b)
{
    if (!b) return;
    graftI_free(b->type);
    graftI_free(b->name);
    graftI_free(b->device);
    graftI_free(b->in);
    graftI_free(b->ctrl);
    graftI_free(b->unknown_info);
    for (int i = 0; i < b->n_attr; i++) graftI_attr_clear(&b->attrs[i]);
    graftI_free(b->attrs);
    graftI_free(b);
}

void graft_op_builder_add_input(graft_op_builder *b, graft_out in)
{
    if (!b) return;
    if (!graftI_grow((void **)&b->in, &b->cap_in, b->n_in + 1, sizeof(graft_out))) {
        builder_fail(b, GRAFT_ERR_NOMEM, "out of memory");
        return;
    }
    b->in[b->n_in++] = in;
}

void graft_op_builder_add_control_input(graft_op_builder *b, graft_op *op)
{
    if (!b || !op) return;
    for (int i = 0; i < b->n_ctrl; i++)
        if (b->ctrl[i] == op) return;
    if (!graftI_grow((void **)&b->ctrl, &b->cap_ctrl, b->n_ctrl + 1, sizeof(graft_op *))) {
        builder_fail(b, GRAFT_ERR_NOMEM, "out of memory");
        return;
    }
    b->ctrl[b->n_ctrl++] = op;
}

void graft_op_builder_set_device(graft_op_builder *b, const char *device)
{
    if (!b) return;
    graftI_free(b->device);
    b->device = device ? graftI_strdup(device) : NULL;
}

void graft_op_builder_allow_unknown(graft_op_builder *b, int n_outputs)
{
    if (!b) return;
    b->allow_unknown = true;
    b->unknown_outputs = n_outputs < 0 ? 0 : n_outputs;
    graftI_free(b->unknown_info);
    b->unknown_info = NULL;
    if (b->unknown_outputs > 0) {
        b->unknown_info = graftI_calloc((size_t)b->unknown_outputs, sizeof(graftI_outinfo));
        if (!b->unknown_info) {
            builder_fail(b, GRAFT_ERR_NOMEM, "out of memory");
            return;
        }
        for (int i = 0; i < b->unknown_outputs; i++) b->unknown_info[i].shape = graft_shape_unknown();
    }
}

void graft_op_builder_unknown_output(graft_op_builder *b, int i, graft_dtype dt, graft_shape shape)
{
    if (!b) return;
    if (!b->allow_unknown || i < 0 || i >= b->unknown_outputs || !b->unknown_info) {
        builder_fail(b, GRAFT_ERR_INVALID_ARG, "unknown_output %d: call graft_op_builder_allow_unknown with enough outputs first", i);
        return;
    }
    b->unknown_info[i].dtype = graft_dtype_valid(dt) ? dt : GRAFT_INVALID;
    b->unknown_info[i].shape = shape;
}

/* Adds a copy of a (replacing an attr of the same name). */
static void builder_put_attr(graft_op_builder *b, const graftI_attr *a)
{
    if (!b) return;
    graftI_attr c;
    if (graftI_attr_copy(&c, a) != GRAFT_OK) {
        builder_fail(b, GRAFT_ERR_NOMEM, "out of memory");
        return;
    }
    for (int i = 0; i < b->n_attr; i++) {
        if (strcmp(b->attrs[i].name, a->name) == 0) {
            graftI_attr_clear(&b->attrs[i]);
            b->attrs[i] = c;
            return;
        }
    }
    if (!graftI_grow((void **)&b->attrs, &b->cap_attr, b->n_attr + 1, sizeof(graftI_attr))) {
        graftI_attr_clear(&c);
        builder_fail(b, GRAFT_ERR_NOMEM, "out of memory");
        return;
    }
    b->attrs[b->n_attr++] = c;
}

graftI_attr graftI_a_int(const char *name, int64_t v)
{
    graftI_attr a;
    memset(&a, 0, sizeof a);
    a.name = (char *)name;
    a.type = GRAFTI_ATTR_INT;
    a.v.i = v;
    return a;
}
graftI_attr graftI_a_float(const char *name, float v)
{
    graftI_attr a;
    memset(&a, 0, sizeof a);
    a.name = (char *)name;
    a.type = GRAFTI_ATTR_FLOAT;
    a.v.f = v;
    return a;
}
graftI_attr graftI_a_bool(const char *name, bool v)
{
    graftI_attr a;
    memset(&a, 0, sizeof a);
    a.name = (char *)name;
    a.type = GRAFTI_ATTR_BOOL;
    a.v.b = v;
    return a;
}
graftI_attr graftI_a_type(const char *name, graft_dtype v)
{
    graftI_attr a;
    memset(&a, 0, sizeof a);
    a.name = (char *)name;
    a.type = GRAFTI_ATTR_TYPE;
    a.v.dt = v;
    return a;
}
graftI_attr graftI_a_shape(const char *name, graft_shape v)
{
    graftI_attr a;
    memset(&a, 0, sizeof a);
    a.name = (char *)name;
    a.type = GRAFTI_ATTR_SHAPE;
    a.v.shape = v;
    return a;
}
graftI_attr graftI_a_str(const char *name, const char *s)
{
    graftI_attr a;
    memset(&a, 0, sizeof a);
    a.name = (char *)name;
    a.type = GRAFTI_ATTR_STRING;
    a.v.s.ptr = (char *)s;
    a.v.s.len = s ? strlen(s) : 0;
    return a;
}
graftI_attr graftI_a_tensor(const char *name, graft_tensor *t)
{
    graftI_attr a;
    memset(&a, 0, sizeof a);
    a.name = (char *)name;
    a.type = GRAFTI_ATTR_TENSOR;
    a.v.t = t;
    return a;
}
graftI_attr graftI_a_ilist(const char *name, const int64_t *v, int n)
{
    graftI_attr a;
    memset(&a, 0, sizeof a);
    a.name = (char *)name;
    a.type = GRAFTI_ATTR_LIST_INT;
    a.n = n;
    a.l.i = (int64_t *)v;
    return a;
}
graftI_attr graftI_a_tlist(const char *name, const graft_dtype *v, int n)
{
    graftI_attr a;
    memset(&a, 0, sizeof a);
    a.name = (char *)name;
    a.type = GRAFTI_ATTR_LIST_TYPE;
    a.n = n;
    a.l.dt = (graft_dtype *)v;
    return a;
}

void graft_op_builder_attr_int(graft_op_builder *b, const char *name, int64_t v)
{
    graftI_attr a = graftI_a_int(name, v);
    builder_put_attr(b, &a);
}
void graft_op_builder_attr_float(graft_op_builder *b, const char *name, float v)
{
    graftI_attr a = graftI_a_float(name, v);
    builder_put_attr(b, &a);
}
void graft_op_builder_attr_bool(graft_op_builder *b, const char *name, bool v)
{
    graftI_attr a = graftI_a_bool(name, v);
    builder_put_attr(b, &a);
}
void graft_op_builder_attr_type(graft_op_builder *b, const char *name, graft_dtype v)
{
    graftI_attr a = graftI_a_type(name, v);
    builder_put_attr(b, &a);
}
void graft_op_builder_attr_shape(graft_op_builder *b, const char *name, graft_shape v)
{
    graftI_attr a = graftI_a_shape(name, v);
    builder_put_attr(b, &a);
}
void graft_op_builder_attr_string(graft_op_builder *b, const char *name, const char *s, size_t len)
{
    graftI_attr a;
    memset(&a, 0, sizeof a);
    a.name = (char *)name;
    a.type = GRAFTI_ATTR_STRING;
    a.v.s.ptr = (char *)s;
    a.v.s.len = len;
    builder_put_attr(b, &a);
}
void graft_op_builder_attr_tensor(graft_op_builder *b, const char *name, graft_tensor *t)
{
    graftI_attr a = graftI_a_tensor(name, t);
    builder_put_attr(b, &a);
}
void graft_op_builder_attr_int_list(graft_op_builder *b, const char *name, const int64_t *v, int n)
{
    graftI_attr a = graftI_a_ilist(name, v, n);
    builder_put_attr(b, &a);
}
void graft_op_builder_attr_float_list(graft_op_builder *b, const char *name, const float *v, int n)
{
    graftI_attr a;
    memset(&a, 0, sizeof a);
    a.name = (char *)name;
    a.type = GRAFTI_ATTR_LIST_FLOAT;
    a.n = n;
    a.l.f = (float *)v;
    builder_put_attr(b, &a);
}
void graft_op_builder_attr_type_list(graft_op_builder *b, const char *name, const graft_dtype *v, int n)
{
    graftI_attr a = graftI_a_tlist(name, v, n);
    builder_put_attr(b, &a);
}
void graft_op_builder_attr_shape_list(graft_op_builder *b, const char *name, const graft_shape *v, int n)
{
    graftI_attr a;
    memset(&a, 0, sizeof a);
    a.name = (char *)name;
    a.type = GRAFTI_ATTR_LIST_SHAPE;
    a.n = n;
    a.l.shape = (graft_shape *)v;
    builder_put_attr(b, &a);
}
void graft_op_builder_attr_bool_list(graft_op_builder *b, const char *name, const bool *v, int n)
{
    graftI_attr a;
    memset(&a, 0, sizeof a);
    a.name = (char *)name;
    a.type = GRAFTI_ATTR_LIST_BOOL;
    a.n = n;
    a.l.b = (bool *)v;
    builder_put_attr(b, &a);
}
void graft_op_builder_attr_tensor_list(graft_op_builder *b, const char *name, graft_tensor *const *v, int n)
{
    graftI_attr a;
    memset(&a, 0, sizeof a);
    a.name = (char *)name;
    a.type = GRAFTI_ATTR_LIST_TENSOR;
    a.n = n;
    a.l.t = (graft_tensor **)v;
    builder_put_attr(b, &a);
}
void graft_op_builder_attr_func(graft_op_builder *b, const char *name, const char *func_name)
{
    graftI_attr a;
    memset(&a, 0, sizeof a);
    a.name = (char *)name;
    a.type = GRAFTI_ATTR_FUNC;
    a.v.s.ptr = (char *)(func_name ? func_name : "");
    a.v.s.len = strlen(a.v.s.ptr);
    builder_put_attr(b, &a);
}
void graft_op_builder_attr_string_list(graft_op_builder *b, const char *name, const char *const *v,
                                       const size_t *lens, int n)
{
    graftI_attr a;
    memset(&a, 0, sizeof a);
    a.name = (char *)name;
    a.type = GRAFTI_ATTR_LIST_STRING;
    a.n = n;
    graft_str *tmp = n > 0 ? graftI_calloc((size_t)n, sizeof(graft_str)) : NULL;
    if (n > 0 && !tmp) {
        if (b) builder_fail(b, GRAFT_ERR_NOMEM, "out of memory");
        return;
    }
    for (int i = 0; i < n; i++) {
        tmp[i].ptr = (char *)v[i];
        tmp[i].len = lens ? lens[i] : strlen(v[i]);
    }
    a.l.s = tmp;
    builder_put_attr(b, &a);
    graftI_free(tmp);
}

static bool valid_op_name(const char *s)
{
    /* TF: [A-Za-z0-9.][A-Za-z0-9_.\-/>]* */
    if (!s || !*s) return false;
    if (!(isalnum((unsigned char)s[0]) || s[0] == '.')) return false;
    for (const char *p = s + 1; *p; p++)
        if (!(isalnum((unsigned char)*p) || *p == '_' || *p == '.' || *p == '-' || *p == '/' || *p == '>'))
            return false;
    return strlen(s) < 500;
}

/* Creates the op or fails leaving the graph unchanged. Consumes b. */
static graft_op *builder_finish(graft_op_builder *b, bool verbatim_name, graft_status *st)
{
    graft_graph *g = b->g;
    graft_op *op = NULL;
    if (b->err) {
        graft_status_set(st, b->err, "%s: %s", b->name ? b->name : "?", b->errmsg);
        goto fail;
    }
    if (verbatim_name && !valid_op_name(b->name)) {
        graft_status_set(st, GRAFT_ERR_INVALID_ARG, "'%s' is not a valid TensorFlow op name", b->name);
        goto fail;
    }
    if (graft_graph_op(g, b->name)) {
        graft_status_set(st, GRAFT_ERR_INVALID_ARG, "duplicate op name '%s'", b->name);
        goto fail;
    }
    const graftI_op_def *def = graftI_op_lookup(b->type);
    if (!def && !b->allow_unknown) {
        graft_status_set(st, GRAFT_ERR_UNSUPPORTED, "%s: graft has no op type '%s'", b->name, b->type);
        goto fail;
    }
    for (int i = 0; i < b->n_in; i++) {
        graft_out in = b->in[i];
        if (!in.op || in.op->g != g || in.op->id >= g->n_ops || g->ops[in.op->id] != in.op) {
            graft_status_set(st, GRAFT_ERR_INVALID_ARG, "%s (%s): input %d is %s", b->name, b->type, i,
                             in.op ? "from another graph" : "null");
            goto fail;
        }
        if (in.index < 0 || in.index >= in.op->n_out) {
            graft_status_set(st, GRAFT_ERR_INVALID_ARG, "%s (%s): input %d refers to %s:%d but '%s' has %d outputs",
                             b->name, b->type, i, in.op->name, in.index, in.op->name, in.op->n_out);
            goto fail;
        }
    }
    for (int i = 0; i < b->n_ctrl; i++) {
        graft_op *c = b->ctrl[i];
        if (c->g != g || c->id >= g->n_ops || g->ops[c->id] != c) {
            graft_status_set(st, GRAFT_ERR_INVALID_ARG, "%s: control input %d is from another graph", b->name, i);
            goto fail;
        }
    }
    if (def) {
        if (b->n_in < def->min_inputs || (def->max_inputs >= 0 && b->n_in > def->max_inputs)) {
            if (def->min_inputs == def->max_inputs)
                graft_status_set(st, GRAFT_ERR_INVALID_ARG, "%s (%s): expects %d inputs, got %d", b->name, b->type,
                                 def->min_inputs, b->n_in);
            else
                graft_status_set(st, GRAFT_ERR_INVALID_ARG, "%s (%s): expects %d..%d inputs, got %d", b->name,
                                 b->type, def->min_inputs, def->max_inputs, b->n_in);
            goto fail;
        }
        /* attrs: each given one must be known (or start with '_') and well typed */
        for (int i = 0; i < b->n_attr; i++) {
            const graftI_attr *a = &b->attrs[i];
            if (a->name[0] == '_') continue;
            const graftI_attr_spec *sp = def->attrs;
            while (sp && sp->name && strcmp(sp->name, a->name) != 0) sp++;
            if (!sp || !sp->name) {
                graft_status_set(st, GRAFT_ERR_INVALID_ARG, "%s (%s): unknown attr '%s'", b->name, b->type, a->name);
                goto fail;
            }
            bool ok = sp->type == a->type;
            /* an empty list of any element type fits any list type (TF encodes [] without a type) */
            if (!ok && sp->type >= GRAFTI_ATTR_LIST_INT && a->type >= GRAFTI_ATTR_LIST_INT && a->n == 0) ok = true;
            if (!ok) {
                graft_status_set(st, GRAFT_ERR_INVALID_ARG, "%s (%s): attr '%s' must be %s, got %s", b->name, b->type,
                                 a->name, attr_type_name(sp->type), attr_type_name(a->type));
                goto fail;
            }
            if (a->type != sp->type) {
                /* retype the empty list */
                graftI_attr *m = &b->attrs[i];
                graftI_free(m->l.i);
                m->l.i = NULL;
                m->type = sp->type;
            }
            if (a->type == GRAFTI_ATTR_TYPE && !graft_dtype_valid(a->v.dt) && a->v.dt != GRAFT_INVALID) {
                graft_status_set(st, GRAFT_ERR_UNSUPPORTED, "%s (%s): attr '%s' has unsupported dtype %d", b->name,
                                 b->type, a->name, (int)a->v.dt);
                goto fail;
            }
        }
        for (const graftI_attr_spec *sp = def->attrs; sp && sp->name; sp++) {
            bool have = false;
            for (int i = 0; i < b->n_attr && !have; i++) have = strcmp(b->attrs[i].name, sp->name) == 0;
            if (have) continue;
            if (!sp->def) {
                graft_status_set(st, GRAFT_ERR_INVALID_ARG, "%s (%s): missing required attr '%s'", b->name, b->type,
                                 sp->name);
                goto fail;
            }
            graftI_attr d;
            graft_code rc = graftI_attr_parse_default(sp, &d);
            if (rc != GRAFT_OK) {
                graft_status_set(st, rc, "%s (%s): attr '%s' default", b->name, b->type, sp->name);
                goto fail;
            }
            if (!graftI_grow((void **)&b->attrs, &b->cap_attr, b->n_attr + 1, sizeof(graftI_attr))) {
                graftI_attr_clear(&d);
                graft_status_set(st, GRAFT_ERR_NOMEM, "out of memory");
                goto fail;
            }
            b->attrs[b->n_attr++] = d;
        }
    }
    if (!graftI_grow((void **)&g->ops, &g->cap_ops, g->n_ops + 1, sizeof(graft_op *))) {
        graft_status_set(st, GRAFT_ERR_NOMEM, "out of memory");
        goto fail;
    }
    op = graftI_calloc(1, sizeof *op);
    if (!op) {
        graft_status_set(st, GRAFT_ERR_NOMEM, "out of memory");
        goto fail;
    }
    op->id = g->n_ops;
    op->g = g;
    op->def = def;
    op->type = b->type;
    b->type = NULL;
    op->name = b->name;
    b->name = NULL;
    op->device = b->device;
    b->device = NULL;
    op->in = b->in;
    op->n_in = b->n_in;
    b->in = NULL;
    op->ctrl = b->ctrl;
    op->n_ctrl = b->n_ctrl;
    b->ctrl = NULL;
    op->attrs = b->attrs;
    op->n_attr = b->n_attr;
    b->attrs = NULL;
    b->n_attr = 0;
    if (def && def->infer) {
        graft_status ist;
        graft_status_clear(&ist);
        graft_code rc = def->infer(op, &ist);
        if (rc != GRAFT_OK) {
            graft_status_set(st, rc, "%s (%s): %s", op->name, op->type, ist.msg[0] ? ist.msg : graft_code_str(rc));
            goto fail;
        }
    } else {
        if (graftI_set_outputs(op, def ? 0 : b->unknown_outputs) != GRAFT_OK) {
            graft_status_set(st, GRAFT_ERR_NOMEM, "out of memory");
            goto fail;
        }
        /* inert ops: outputs as declared by the caller (unknown otherwise) */
        if (!def && b->unknown_info)
            for (int i = 0; i < op->n_out; i++) op->out[i] = b->unknown_info[i];
    }
    if (!smap_put(&g->by_name, op->name, op->id) || !mark_name_and_prefixes(g, op->name)) {
        graft_status_set(st, GRAFT_ERR_NOMEM, "out of memory");
        smap_ent *e = smap_find(&g->by_name, op->name);
        if (e) e->val = -1; /* cannot delete from the map cheaply; -1 is never returned below */
        goto fail;
    }
    g->ops[g->n_ops++] = op;
    graft_op_builder_free(b);
    graft_status_clear(st);
    return op;
fail:
    op_free(op);
    graft_op_builder_free(b);
    return NULL;
}

graft_op *graft_op_builder_finish(graft_op_builder *b, graft_status *st)
{
    if (!b) {
        graft_status_set(st, GRAFT_ERR_INVALID_ARG, "graft_op_builder_finish: NULL builder (out of memory?)");
        return NULL;
    }
    return builder_finish(b, true, st);
}

graft_op *graftI_make_op(graft_graph *g, const char *type, const char *default_name, const graft_out *in, int n_in,
                         const graftI_attr *attrs, int n_attrs)
{
    if (!g) return NULL;
    for (int i = 0; i < n_in; i++)
        if (!in[i].op) {
            graft_name_next(g, NULL);
            return NULL; /* an earlier builder failed: stay quiet, the sticky error says why */
        }
    if (g->err != GRAFT_OK) {
        graft_name_next(g, NULL);
        return NULL;
    }
    const char *nm;
    size_t nl = g->next_name ? strlen(g->next_name) : 0;
    if (nl > 1 && g->next_name[nl - 1] == '/') {
        /* TF's convention: a name ending in '/' is used verbatim (no scope, no suffix) */
        g->next_name[nl - 1] = '\0';
        if (!mark_name_and_prefixes(g, g->next_name)) {
            graft_name_next(g, NULL);
            graftI_graph_fail(g, GRAFT_ERR_NOMEM, "out of memory creating %s", type);
            return NULL;
        }
        snprintf(g->scratch_name, sizeof g->scratch_name, "%s", g->next_name);
        nm = g->scratch_name;
    } else {
        nm = graft_graph_unique_name(g, g->next_name ? g->next_name : default_name, true);
    }
    graft_op_builder *b = nm ? graft_op_builder_new(g, type, nm) : NULL;
    graft_name_next(g, NULL);
    if (!b) {
        graftI_graph_fail(g, GRAFT_ERR_NOMEM, "out of memory creating %s", type);
        return NULL;
    }
    for (int i = 0; i < n_in; i++) graft_op_builder_add_input(b, in[i]);
    int f0 = 0;
    for (int f = g->n_ctrl - 1; f >= 0; f--)
        if (g->ctrl[f].reset) {
            f0 = f + 1;
            break;
        }
    for (int f = f0; f < g->n_ctrl; f++)
        for (int j = 0; j < g->ctrl[f].n; j++) {
            graft_op *c = g->ctrl[f].ops[j];
            bool direct = false;
            for (int i = 0; i < n_in && !direct; i++) direct = in[i].op == c;
            if (!direct) graft_op_builder_add_control_input(b, c);
        }
    for (int i = 0; i < n_attrs; i++) builder_put_attr(b, &attrs[i]);
    graft_status st;
    graft_op *op = builder_finish(b, false, &st);
    if (!op) graftI_graph_fail(g, st.code, "%s", st.msg);
    return op;
}

/* ---- variables and collections --------------------------------------------------------------------- */
int graft_graph_num_variables(const graft_graph *g) { return g ? g->n_vars : 0; }
bool graft_graph_variable_at(const graft_graph *g, int i, graft_variable *info)
{
    if (!g || i < 0 || i >= g->n_vars) return false;
    if (info) *info = g->vars[i];
    return true;
}
bool graft_graph_find_variable(const graft_graph *g, const graft_op *op, graft_variable *info)
{
    if (!g || !op) return false;
    for (int i = 0; i < g->n_vars; i++)
        if (g->vars[i].var == op || g->vars[i].value.op == op) {
            if (info) *info = g->vars[i];
            return true;
        }
    return false;
}
bool graft_graph_find_variable_by_name(const graft_graph *g, const char *name, graft_variable *info)
{
    return graft_graph_find_variable(g, graft_graph_op(g, name), info);
}
graft_code graft_graph_add_variable(graft_graph *g, const graft_variable *info, graft_status *st)
{
    if (!g || !info || !info->var) return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "graft_graph_add_variable: NULL");
    if (!info->var->def || !(info->var->def->flags & GRAFTI_OP_VARIABLE))
        return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "'%s' (%s) is not a variable op", info->var->name,
                                info->var->type);
    for (int i = 0; i < g->n_vars; i++)
        if (g->vars[i].var == info->var) {
            g->vars[i] = *info;
            graft_status_clear(st);
            return GRAFT_OK;
        }
    if (!graftI_grow((void **)&g->vars, &g->cap_vars, g->n_vars + 1, sizeof(graft_variable)))
        return graft_status_set(st, GRAFT_ERR_NOMEM, "out of memory");
    g->vars[g->n_vars++] = *info;
    graft_status_clear(st);
    return GRAFT_OK;
}

static collection *find_coll(const graft_graph *g, const char *name)
{
    for (int i = 0; i < g->n_colls; i++)
        if (strcmp(g->colls[i].name, name) == 0) return &g->colls[i];
    return NULL;
}

void graft_graph_add_to_collection(graft_graph *g, const char *name, graft_op *op)
{
    if (!g || !name || !op) return;
    collection *c = find_coll(g, name);
    if (!c) {
        if (!graftI_grow((void **)&g->colls, &g->cap_colls, g->n_colls + 1, sizeof(collection))) goto nomem;
        c = &g->colls[g->n_colls];
        memset(c, 0, sizeof *c);
        c->name = graftI_strdup(name);
        if (!c->name) goto nomem;
        g->n_colls++;
    }
    for (int i = 0; i < c->n; i++)
        if (c->ops[i] == op) return;
    if (!graftI_grow((void **)&c->ops, &c->cap, c->n + 1, sizeof(graft_op *))) goto nomem;
    c->ops[c->n++] = op;
    return;
nomem:
    graftI_graph_fail(g, GRAFT_ERR_NOMEM, "out of memory adding to collection '%s'", name);
}

int graft_graph_collection_size(const graft_graph *g, const char *name)
{
    collection *c = g && name ? find_coll(g, name) : NULL;
    return c ? c->n : 0;
}

graft_op *graft_graph_collection_at(const graft_graph *g, const char *name, int i)
{
    collection *c = g && name ? find_coll(g, name) : NULL;
    return c && i >= 0 && i < c->n ? c->ops[i] : NULL;
}

/* Names of all collections (for export). */
int graftI_graph_num_collections(const graft_graph *g) { return g ? g->n_colls : 0; }
const char *graftI_graph_collection_name(const graft_graph *g, int i)
{
    return g && i >= 0 && i < g->n_colls ? g->colls[i].name : NULL;
}

/* The pending one-shot name, taken out and put back around helper ops (a
 * builder's axis Const must not steal the name meant for the builder's op). */
char *graftI_take_next_name(graft_graph *g)
{
    if (!g) return NULL;
    char *n = g->next_name;
    g->next_name = NULL;
    return n;
}

void graftI_restore_next_name(graft_graph *g, char *name)
{
    if (!g) {
        graftI_free(name);
        return;
    }
    graftI_free(g->next_name);
    g->next_name = name;
}

/* ---- marks: roll a graph back to an earlier state ---------------------------------- */
struct graftI_graph_mark {
    int n_ops, n_vars, n_colls;
    graft_code err;
    char errmsg[GRAFT_STATUS_MSG_MAX];
    int *coll_n;
    smap in_use;
};

graftI_graph_mark *graftI_graph_mark_new(graft_graph *g)
{
    if (!g) return NULL;
    graftI_graph_mark *m = graftI_calloc(1, sizeof *m);
    if (!m) return NULL;
    m->n_ops = g->n_ops;
    m->n_vars = g->n_vars;
    m->n_colls = g->n_colls;
    m->err = g->err;
    memcpy(m->errmsg, g->errmsg, sizeof m->errmsg);
    m->coll_n = graftI_calloc((size_t)g->n_colls + 1, sizeof(int));
    if (!m->coll_n) goto nomem;
    for (int i = 0; i < g->n_colls; i++) m->coll_n[i] = g->colls[i].n;
    if (g->in_use.cap) {
        m->in_use.e = graftI_calloc((size_t)g->in_use.cap, sizeof(smap_ent));
        if (!m->in_use.e) goto nomem;
        m->in_use.cap = g->in_use.cap;
        for (int i = 0; i < g->in_use.cap; i++) {
            if (!g->in_use.e[i].key) continue;
            m->in_use.e[i].key = graftI_strdup(g->in_use.e[i].key);
            if (!m->in_use.e[i].key) goto nomem;
            m->in_use.e[i].val = g->in_use.e[i].val;
            m->in_use.n++;
        }
    }
    return m;
nomem:
    graftI_graph_mark_free(m);
    return NULL;
}

void graftI_graph_mark_free(graftI_graph_mark *m)
{
    if (!m) return;
    graftI_free(m->coll_n);
    smap_free(&m->in_use);
    graftI_free(m);
}

/* Removes every op, variable, collection entry and name reservation made since
 * the mark, and frees the mark. Allocates nothing, so it cannot fail. Handles to
 * the removed ops become invalid. */
void graftI_graph_rollback(graft_graph *g, graftI_graph_mark *m)
{
    if (!g || !m) return;
    for (int i = g->n_ops - 1; i >= m->n_ops; i--) {
        smap_ent *e = smap_find(&g->by_name, g->ops[i]->name);
        if (e) e->val = -1;
        op_free(g->ops[i]);
        g->ops[i] = NULL;
    }
    if (g->n_ops > m->n_ops) g->n_ops = m->n_ops;
    if (g->n_vars > m->n_vars) g->n_vars = m->n_vars;
    for (int i = g->n_colls - 1; i >= m->n_colls; i--) {
        graftI_free(g->colls[i].name);
        graftI_free(g->colls[i].ops);
        memset(&g->colls[i], 0, sizeof g->colls[i]);
    }
    if (g->n_colls > m->n_colls) g->n_colls = m->n_colls;
    for (int i = 0; i < g->n_colls; i++)
        if (g->colls[i].n > m->coll_n[i]) g->colls[i].n = m->coll_n[i];
    smap_free(&g->in_use);
    g->in_use = m->in_use;
    memset(&m->in_use, 0, sizeof m->in_use);
    g->err = m->err;
    memcpy(g->errmsg, m->errmsg, sizeof g->errmsg);
    graftI_graph_mark_free(m);
}
