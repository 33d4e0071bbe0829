/* lib/metagraph/validate.c - structural validation of a decoded MetaGraphDef
 * before anything is built from it: node names, the name index, input
 * resolution, the topological order (iterative DFS; cycles refused), attr
 * values, tensor constants, collections and the SaverDef's names. */
#include <stdio.h>

#include "mg.h"

static uint64_t fnv1a(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h ^= (uint8_t)s[i];
        h *= 1099511628211ull;
    }
    return h;
}

int graftI_mg_find(const graft_meta_graph *m, const char *name, size_t len)
{
    if (!m->ht) return -1;
    size_t mask = m->ht_cap - 1;
    for (size_t i = (size_t)fnv1a(name, len) & mask;; i = (i + 1) & mask) {
        int k = m->ht[i];
        if (k < 0) return -1;
        const char *nm = m->nodes[k].def->name;
        if (strncmp(nm, name, len) == 0 && nm[len] == '\0') return k;
    }
}

const Tensorflow__AttrValue *graftI_mg_attr(const Tensorflow__NodeDef *n, const char *name)
{
    for (size_t i = 0; i < n->n_attr; i++)
        if (n->attr[i] && strcmp(n->attr[i]->key, name) == 0) return n->attr[i]->value;
    return NULL;
}

/* TF's node name rule: [A-Za-z0-9.][A-Za-z0-9_.\-/>]* (">" since TF 2.x). */
static bool valid_node_name(const char *s)
{
    if (!s[0]) return false;
    char c = s[0];
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.')) return false;
    for (const char *p = s + 1; *p; p++) {
        c = *p;
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
              c == '-' || c == '/' || c == '>'))
            return false;
    }
    return true;
}

/* Structural check of one AttrValue (type numbers, shapes, tensors). */
static graft_code check_attr(graft_meta_graph *m, const char *node, const char *key, const Tensorflow__AttrValue *a,
                             size_t *bytes, graft_status *st)
{
    char what[512];
    snprintf(what, sizeof what, "node '%s' attr '%s'", node, key);
    if (!a) return graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: %s: attr has no value", m->file, what);
    graft_shape sh;
    switch (a->value_case) {
    case TENSORFLOW__ATTR_VALUE__VALUE_S:
    case TENSORFLOW__ATTR_VALUE__VALUE_I:
    case TENSORFLOW__ATTR_VALUE__VALUE_F:
    case TENSORFLOW__ATTR_VALUE__VALUE_B:
    case TENSORFLOW__ATTR_VALUE__VALUE_PLACEHOLDER:
        return GRAFT_OK;
    case TENSORFLOW__ATTR_VALUE__VALUE_FUNC:
        if (!a->func) return graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: %s: empty function value", m->file, what);
        return GRAFT_OK;
    case TENSORFLOW__ATTR_VALUE__VALUE_TYPE:
        if (!graftI_tf_dtype_name((int)a->type))
            return graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: %s: unknown DataType %d", m->file, what, (int)a->type);
        return GRAFT_OK;
    case TENSORFLOW__ATTR_VALUE__VALUE_SHAPE:
        return graftI_mg_shape(a->shape, &sh, m->file, what, st) == GRAFT_ERR_CORRUPT ? GRAFT_ERR_CORRUPT : GRAFT_OK;
    case TENSORFLOW__ATTR_VALUE__VALUE_TENSOR:
        return graftI_mg_tensor_check(a->tensor, m->file, what, bytes, st);
    case TENSORFLOW__ATTR_VALUE__VALUE_LIST: {
        const Tensorflow__AttrValue__ListValue *l = a->list;
        if (!l) return GRAFT_OK;
        int kinds = (l->n_s > 0) + (l->n_i > 0) + (l->n_f > 0) + (l->n_b > 0) + (l->n_type > 0) + (l->n_shape > 0) +
                    (l->n_tensor > 0) + (l->n_func > 0);
        if (kinds > 1)
            return graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: %s: list mixes %d kinds of values", m->file, what,
                                    kinds);
        for (size_t i = 0; i < l->n_type; i++)
            if (!graftI_tf_dtype_name((int)l->type[i]))
                return graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: %s: element %zu: unknown DataType %d", m->file,
                                        what, i, (int)l->type[i]);
        for (size_t i = 0; i < l->n_shape; i++)
            if (graftI_mg_shape(l->shape[i], &sh, m->file, what, st) == GRAFT_ERR_CORRUPT) return GRAFT_ERR_CORRUPT;
        for (size_t i = 0; i < l->n_tensor; i++) {
            graft_code c = graftI_mg_tensor_check(l->tensor[i], m->file, what, bytes, st);
            if (c) return c;
        }
        for (size_t i = 0; i < l->n_func; i++)
            if (!l->func[i])
                return graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: %s: element %zu: empty function value", m->file,
                                        what, i);
        return GRAFT_OK;
    }
    default:
        return graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: %s: attr has no value", m->file, what);
    }
}

/* _output_shapes -> node shapes (informational; malformed ones are an error,
 * ranks graft cannot hold become unknown). */
static graft_code read_output_shapes(graft_meta_graph *m, mgI_node *n, graft_status *st)
{
    const Tensorflow__AttrValue *a = graftI_mg_attr(n->def, "_output_shapes");
    if (!a || a->value_case != TENSORFLOW__ATTR_VALUE__VALUE_LIST || !a->list || a->list->n_shape == 0)
        return GRAFT_OK;
    size_t k = a->list->n_shape;
    if (k > GRAFTI_META_MAX_OUTPUTS)
        return graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: node '%s': %zu output shapes (cap %d)", m->file,
                                n->def->name, k, GRAFTI_META_MAX_OUTPUTS);
    n->shapes = graftI_calloc(k, sizeof *n->shapes);
    if (!n->shapes) return graft_status_set(st, GRAFT_ERR_NOMEM, "%s: out of memory", m->file);
    n->n_shapes = (int)k;
    for (size_t i = 0; i < k; i++) {
        graft_code c = graftI_mg_shape(a->list->shape[i], &n->shapes[i], m->file, "_output_shapes", st);
        if (c == GRAFT_ERR_UNSUPPORTED) {
            n->shapes[i] = graft_shape_unknown();
            graft_status_clear(st);
        } else if (c) {
            return c;
        }
    }
    if (n->n_out < (int)k) n->n_out = (int)k;
    return GRAFT_OK;
}

/* "name", "name:N" or "^name" -> node/index. */
static graft_code parse_input(graft_meta_graph *m, const mgI_node *n, const char *s, mgI_input *out, graft_status *st)
{
    bool ctrl = s[0] == '^';
    const char *b = s + ctrl;
    const char *colon = strchr(b, ':');
    size_t len = colon ? (size_t)(colon - b) : strlen(b);
    long idx = 0;
    if (colon) {
        if (ctrl)
            return graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: node '%s': control input '%s' has an output index",
                                    m->file, n->def->name, s);
        const char *p = colon + 1;
        if (!*p) goto bad;
        for (; *p; p++) {
            if (*p < '0' || *p > '9') goto bad;
            idx = idx * 10 + (*p - '0');
            if (idx >= GRAFTI_META_MAX_OUTPUTS)
                return graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: node '%s': input '%s': output index over the cap "
                                        "of %d", m->file, n->def->name, s, GRAFTI_META_MAX_OUTPUTS);
        }
    }
    int k = len ? graftI_mg_find(m, b, len) : -1;
    if (k < 0)
        return graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: node '%s': input '%s' names no node in the graph", m->file,
                                n->def->name, s);
    out->node = k;
    out->index = ctrl ? -1 : (int)idx;
    return GRAFT_OK;
bad:
    return graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: node '%s': malformed input '%s' (expected name, name:N or ^name)",
                            m->file, n->def->name, s);
}

/* The stripped_op_list's attr defaults are used when stripped_default_attrs is
 * set (once per node): well formed, and tensor defaults small. */
static graft_code check_oplist(graft_meta_graph *m, graft_status *st)
{
    const Tensorflow__MetaGraphDef__MetaInfoDef *mi = m->mg->meta_info_def;
    const Tensorflow__OpList *l = mi ? mi->stripped_op_list : NULL;
    for (size_t i = 0; l && i < l->n_op; i++) {
        const Tensorflow__OpDef *d = l->op[i];
        if (!d) return graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: stripped_op_list entry %zu is empty", m->file, i);
        for (size_t k = 0; k < d->n_attr; k++) {
            const Tensorflow__OpDef__AttrDef *ad = d->attr[k];
            if (!ad) return graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: OpDef '%s': empty attr", m->file, d->name);
            if (!ad->default_value) continue;
            char where[300];
            snprintf(where, sizeof where, "OpDef %.100s", d->name);
            size_t bytes = 0;
            graft_code c = check_attr(m, where, ad->name, ad->default_value, &bytes, st);
            if (c) return c;
            if (bytes > ((size_t)1 << 20))
                return graft_status_set(st, GRAFT_ERR_NOMEM,
                                        "%s: OpDef '%s' attr '%s': default tensor of %zu bytes (cap 1 MiB)", m->file,
                                        d->name, ad->name, bytes);
        }
    }
    return GRAFT_OK;
}

static graft_code check_collections(graft_meta_graph *m, graft_status *st)
{
    graft_code c = check_oplist(m, st);
    if (c) return c;
    const Tensorflow__MetaGraphDef *mg = m->mg;
    for (size_t i = 0; i < mg->n_collection_def; i++) {
        const Tensorflow__MetaGraphDef__CollectionDefEntry *e = mg->collection_def[i];
        if (!e) continue;
        if (!e->value)
            return graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: collection '%s': entry has no value", m->file, e->key);
    }
    return GRAFT_OK;
}

graft_code graftI_mg_index(graft_meta_graph *m, size_t max_const_bytes, graft_status *st)
{
    Tensorflow__GraphDef *gd = m->mg->graph_def;
    size_t nn = gd ? gd->n_node : 0;
    if (nn > (size_t)INT32_MAX / 4)
        return graft_status_set(st, GRAFT_ERR_NOMEM, "%s: %zu nodes is over the cap", m->file, nn);
    if (gd && gd->library) m->n_funcs = (int)gd->library->n_function;
    m->n_nodes = (int)nn;
    if (nn == 0) return check_collections(m, st);
    m->nodes = graftI_calloc(nn, sizeof *m->nodes);
    m->topo = graftI_calloc(nn, sizeof *m->topo);
    size_t cap = 16;
    while (cap < nn * 2) cap *= 2;
    m->ht = graftI_malloc(cap * sizeof *m->ht);
    if (!m->nodes || !m->topo || !m->ht) return graft_status_set(st, GRAFT_ERR_NOMEM, "%s: out of memory", m->file);
    m->ht_cap = cap;
    for (size_t i = 0; i < cap; i++) m->ht[i] = -1;

    /* names: present, well formed, unique */
    for (size_t i = 0; i < nn; i++) {
        Tensorflow__NodeDef *d = gd->node[i];
        if (!d) return graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: node #%zu is empty", m->file, i);
        m->nodes[i].def = d;
        if (!valid_node_name(d->name))
            return graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: node #%zu: invalid node name '%.200s'", m->file, i,
                                    d->name);
        if (!d->op[0]) return graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: node '%s': no op type", m->file, d->name);
        size_t len = strlen(d->name);
        size_t mask = cap - 1, h = (size_t)fnv1a(d->name, len) & mask;
        while (m->ht[h] >= 0) {
            if (strcmp(m->nodes[m->ht[h]].def->name, d->name) == 0)
                return graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: node '%s': duplicate node name", m->file, d->name);
            h = (h + 1) & mask;
        }
        m->ht[h] = (int)i;
    }

    /* inputs: resolve, data before control; count outputs referenced */
    for (size_t i = 0; i < nn; i++) {
        mgI_node *n = &m->nodes[i];
        size_t ni = n->def->n_input;
        if (ni > (size_t)INT32_MAX / 2)
            return graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: node '%s': too many inputs", m->file, n->def->name);
        if (ni) {
            n->in = graftI_calloc(ni, sizeof *n->in);
            if (!n->in) return graft_status_set(st, GRAFT_ERR_NOMEM, "%s: out of memory", m->file);
        }
        n->n_in = (int)ni;
        bool seen_ctrl = false;
        for (size_t j = 0; j < ni; j++) {
            graft_code c = parse_input(m, n, n->def->input[j], &n->in[j], st);
            if (c) return c;
            if (n->in[j].index < 0) {
                seen_ctrl = true;
            } else {
                if (seen_ctrl)
                    return graft_status_set(st, GRAFT_ERR_CORRUPT,
                                            "%s: node '%s': data input '%s' after a control input", m->file,
                                            n->def->name, n->def->input[j]);
                n->n_data++;
                mgI_node *src = &m->nodes[n->in[j].node];
                if (src->n_out < n->in[j].index + 1) src->n_out = n->in[j].index + 1;
            }
        }
    }

    /* attrs */
    size_t bytes = 0;
    for (size_t i = 0; i < nn; i++) {
        mgI_node *n = &m->nodes[i];
        for (size_t k = 0; k < n->def->n_attr; k++) {
            const Tensorflow__NodeDef__AttrEntry *e = n->def->attr[k];
            if (!e) return graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: node '%s': empty attr entry", m->file, n->def->name);
            if (!e->key[0])
                return graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: node '%s': attr with an empty name", m->file,
                                        n->def->name);
            for (size_t k2 = 0; k2 < k; k2++)
                if (n->def->attr[k2] && strcmp(n->def->attr[k2]->key, e->key) == 0)
                    return graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: node '%s': attr '%s' given twice", m->file,
                                            n->def->name, e->key);
            graft_code c = check_attr(m, n->def->name, e->key, e->value, &bytes, st);
            if (c) return c;
            if (bytes > max_const_bytes)
                return graft_status_set(st, GRAFT_ERR_NOMEM,
                                        "%s: node '%s': constants expand to more than the cap of %zu bytes "
                                        "(graft_meta_opts.max_const_bytes)",
                                        m->file, n->def->name, max_const_bytes);
        }
        graft_code c = read_output_shapes(m, n, st);
        if (c) return c;
    }
    m->const_bytes = bytes;

    /* topological order: a depth-first post-order taken in file order, so a file
     * already in topological order (as TF writes them) keeps its order exactly;
     * iterative (explicit stack, per-node input cursor), a back edge is a cycle */
    uint8_t *mark = graftI_calloc(nn, 1); /* 0 new, 1 on the stack, 2 done */
    int *stack = graftI_calloc(nn, sizeof *stack);
    int *cursor = graftI_calloc(nn, sizeof *cursor);
    graft_code rc = GRAFT_OK;
    size_t emitted = 0;
    if (!mark || !stack || !cursor) {
        rc = graft_status_set(st, GRAFT_ERR_NOMEM, "%s: out of memory", m->file);
        goto done;
    }
    for (size_t r = 0; r < nn && !rc; r++) {
        if (mark[r]) continue;
        size_t sp = 0;
        stack[sp++] = (int)r;
        mark[r] = 1;
        while (sp > 0) {
            int v = stack[sp - 1];
            mgI_node *n = &m->nodes[v];
            if (cursor[v] < n->n_in) {
                int u = n->in[cursor[v]++].node;
                if (mark[u] == 0) {
                    mark[u] = 1;
                    stack[sp++] = u;
                } else if (mark[u] == 1) {
                    /* the cycle is stack[k..sp-1] from u's position */
                    size_t k = sp;
                    while (k > 0 && stack[k - 1] != u) k--;
                    bool frame = false;
                    for (size_t j = k > 0 ? k - 1 : 0; j < sp; j++) {
                        const char *t = m->nodes[stack[j]].def->op;
                        if (!strcmp(t, "NextIteration") || !strcmp(t, "Merge") || !strcmp(t, "Enter") ||
                            !strcmp(t, "RefNextIteration") || !strcmp(t, "RefMerge") || !strcmp(t, "Exit"))
                            frame = true;
                    }
                    rc = graft_status_set(st, frame ? GRAFT_ERR_UNSUPPORTED : GRAFT_ERR_CORRUPT,
                                          "%s: node '%s' (%s): the graph has a cycle through '%s' (%zu nodes)%s",
                                          m->file, m->nodes[u].def->name, m->nodes[u].def->op, n->def->name,
                                          sp - (k > 0 ? k - 1 : 0),
                                          frame ? "; TensorFlow while-loop frames (Enter/Merge/NextIteration) are "
                                                  "not supported"
                                                : "");
                    break;
                }
            } else {
                mark[v] = 2;
                m->topo[emitted++] = v;
                sp--;
            }
        }
    }
    if (rc) goto done;
    rc = check_collections(m, st);
done:
    graftI_free(mark);
    graftI_free(stack);
    graftI_free(cursor);
    return rc;
}
