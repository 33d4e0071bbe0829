/* lib/metagraph/import.c - MetaGraphDef -> graft graph (tf.train.import_meta_graph):
 * nodes in topological order through the generic builder (unknown op types
 * inert), attrs converted, variables and collections re-registered, the
 * requested tensors' missing feeds and unrunnable ops listed, and the Saver
 * rebuilt from the SaverDef. Into a non-empty graph the whole import is first
 * built into a scratch graph so that failure leaves the target unchanged. */
#include <stdio.h>
#include <stdlib.h>

#include "mg.h"
#include "mg_saver.h"

struct graft_meta_import {
    int n_ret;
    graft_out *ret;
    int n_missing;
    graft_op **missing;
    int n_unrun;
    graft_op **unrun;
    int n_types;
    char **types;
    int *type_counts;
    int n_vars;
    graft_saver *saver;
    char note[512];
};

/* State of one import pass. */
typedef struct imp {
    const graft_meta_graph *m;
    const graft_meta_opts *o;
    graft_graph *g;
    const char *scope;          /* "" or "s/" */
    char *const *names;         /* final (scoped, uniquified) name per node */
    graft_op **ops;             /* per node index */
    graft_tensor **tcache;      /* converted tensor attrs, per (node, attr) */
    size_t *tbase;              /* first tcache slot of each node */
    const Tensorflow__OpList *oplist;
    graft_meta_import *res;
    graft_status *st;
    int producer;               /* GraphDef versions.producer */
} imp;

static graft_code imp_fail(imp *I, graft_code c, const char *fmt, ...) GRAFTI_PRINTF(3, 4);
static graft_code imp_fail(imp *I, graft_code c, const char *fmt, ...)
{
    char buf[GRAFT_STATUS_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return graft_status_set(I->st, c, "%s: %s", I->m->file, buf);
}

static const Tensorflow__OpDef *find_opdef(const Tensorflow__OpList *l, const char *type)
{
    if (!l) return NULL;
    for (size_t i = 0; i < l->n_op; i++)
        if (l->op[i] && strcmp(l->op[i]->name, type) == 0) return l->op[i];
    return NULL;
}

static const Tensorflow__OpDef__AttrDef *find_attrdef(const Tensorflow__OpDef *d, const char *name)
{
    if (!d) return NULL;
    for (size_t i = 0; i < d->n_attr; i++)
        if (d->attr[i] && strcmp(d->attr[i]->name, name) == 0) return d->attr[i];
    return NULL;
}

static const graftI_attr_spec *find_spec(const graftI_op_def *def, const char *name)
{
    if (!def) return NULL;
    for (const graftI_attr_spec *s = def->attrs; s && s->name; s++)
        if (strcmp(s->name, name) == 0) return s;
    return NULL;
}

/* TF defaults of attrs some graft op records may not declare: dropping an attr
 * graft does not know is only safe when it holds TF's default value. */
static bool is_tf_default(const char *name, const Tensorflow__AttrValue *v)
{
    switch (v->value_case) {
    case TENSORFLOW__ATTR_VALUE__VALUE_B:
        return (!strcmp(name, "use_cudnn_on_gpu") && v->b) ||
               ((!strcmp(name, "use_locking") || !strcmp(name, "use_nesterov") ||
                 !strcmp(name, "validate_indices")) && !v->b);
    case TENSORFLOW__ATTR_VALUE__VALUE_S:
        return !strcmp(name, "data_format") &&
               ((v->s.len == 4 && !memcmp(v->s.data, "NHWC", 4)) || (v->s.len == 0));
    case TENSORFLOW__ATTR_VALUE__VALUE_LIST: {
        const Tensorflow__AttrValue__ListValue *l = v->list;
        if (!l) return true;
        if (!strcmp(name, "dilations")) {
            for (size_t i = 0; i < l->n_i; i++)
                if (l->i[i] != 1) return false;
            return true;
        }
        return !strcmp(name, "explicit_paddings") && l->n_i == 0;
    }
    default:
        return false;
    }
}

/* Two AttrValues equal (for the simple kinds the OpDef default comparison needs). */
static bool attr_equal(const Tensorflow__AttrValue *a, const Tensorflow__AttrValue *b)
{
    if (!a || !b || a->value_case != b->value_case) return false;
    switch (a->value_case) {
    case TENSORFLOW__ATTR_VALUE__VALUE_S: return a->s.len == b->s.len && !memcmp(a->s.data, b->s.data, a->s.len);
    case TENSORFLOW__ATTR_VALUE__VALUE_I: return a->i == b->i;
    case TENSORFLOW__ATTR_VALUE__VALUE_F: return a->f == b->f;
    case TENSORFLOW__ATTR_VALUE__VALUE_B: return !a->b == !b->b;
    case TENSORFLOW__ATTR_VALUE__VALUE_TYPE: return a->type == b->type;
    case TENSORFLOW__ATTR_VALUE__VALUE_LIST: {
        const Tensorflow__AttrValue__ListValue *x = a->list, *y = b->list;
        size_t nx = x ? x->n_i + x->n_s + x->n_f + x->n_b + x->n_type + x->n_shape + x->n_tensor + x->n_func : 0;
        size_t ny = y ? y->n_i + y->n_s + y->n_f + y->n_b + y->n_type + y->n_shape + y->n_tensor + y->n_func : 0;
        if (nx == 0 || ny == 0) return nx == ny;
        if (x->n_i != y->n_i || x->n_f != y->n_f || x->n_b != y->n_b || x->n_type != y->n_type) return false;
        if (x->n_s || y->n_s || x->n_shape || y->n_shape || x->n_tensor || x->n_func) return false;
        return !memcmp(x->i, y->i, x->n_i * sizeof *x->i) && !memcmp(x->f, y->f, x->n_f * sizeof *x->f) &&
               !memcmp(x->b, y->b, x->n_b * sizeof *x->b) && !memcmp(x->type, y->type, x->n_type * sizeof *x->type);
    }
    default:
        return false;
    }
}

static graft_dtype base_dtype(int t)
{
    return (graft_dtype)(t > 100 ? t - 100 : t);
}

/* Sets one attr on the builder. For inert (unregistered) ops, values graft
 * cannot hold are dropped (the op never runs); for registered ops they are errors. */
static graft_code put_attr(imp *I, graft_op_builder *b, int node, size_t ai, const char *key,
                           const Tensorflow__AttrValue *v, bool registered)
{
    const char *nn = I->m->nodes[node].def->name;
    char what[512];
    snprintf(what, sizeof what, "node '%s' attr '%s'", nn, key);
#define DROP_OR_FAIL(why)                                                                                         \
    do {                                                                                                          \
        if (!registered) return GRAFT_OK;                                                                         \
        return imp_fail(I, GRAFT_ERR_UNSUPPORTED, "%s: %s", what, why);                                           \
    } while (0)
    switch (v->value_case) {
    case TENSORFLOW__ATTR_VALUE__VALUE_S:
        graft_op_builder_attr_string(b, key, (const char *)v->s.data, v->s.len);
        return GRAFT_OK;
    case TENSORFLOW__ATTR_VALUE__VALUE_I: graft_op_builder_attr_int(b, key, v->i); return GRAFT_OK;
    case TENSORFLOW__ATTR_VALUE__VALUE_F: graft_op_builder_attr_float(b, key, v->f); return GRAFT_OK;
    case TENSORFLOW__ATTR_VALUE__VALUE_B: graft_op_builder_attr_bool(b, key, v->b != 0); return GRAFT_OK;
    case TENSORFLOW__ATTR_VALUE__VALUE_TYPE: graft_op_builder_attr_type(b, key, base_dtype((int)v->type)); return GRAFT_OK;
    case TENSORFLOW__ATTR_VALUE__VALUE_SHAPE: {
        graft_shape s;
        graft_code c = graftI_mg_shape(v->shape, &s, I->m->file, what, I->st);
        if (c == GRAFT_ERR_UNSUPPORTED && !registered) {
            graft_status_clear(I->st);
            return GRAFT_OK;
        }
        if (c) return c;
        graft_op_builder_attr_shape(b, key, s);
        return GRAFT_OK;
    }
    case TENSORFLOW__ATTR_VALUE__VALUE_TENSOR: {
        graft_tensor **slot = &I->tcache[I->tbase[node] + ai];
        if (!*slot) {
            *slot = graftI_mg_tensor(v->tensor, I->m->file, what, I->st);
            if (!*slot) {
                if (!registered && I->st && I->st->code == GRAFT_ERR_UNSUPPORTED) {
                    graft_status_clear(I->st);
                    return GRAFT_OK;
                }
                return I->st ? I->st->code : GRAFT_ERR_CORRUPT;
            }
        }
        graft_op_builder_attr_tensor(b, key, *slot);
        return GRAFT_OK;
    }
    case TENSORFLOW__ATTR_VALUE__VALUE_LIST: {
        const Tensorflow__AttrValue__ListValue *l = v->list;
        if (!l || (!l->n_s && !l->n_i && !l->n_f && !l->n_b && !l->n_type && !l->n_shape && !l->n_tensor &&
                   !l->n_func)) {
            graft_op_builder_attr_int_list(b, key, NULL, 0); /* empty: the builder retypes it */
            return GRAFT_OK;
        }
        if (l->n_s + l->n_i + l->n_f + l->n_b + l->n_type + l->n_shape > (size_t)INT32_MAX)
            return imp_fail(I, GRAFT_ERR_CORRUPT, "%s: list too long", what);
        if (l->n_i) {
            graft_op_builder_attr_int_list(b, key, l->i, (int)l->n_i);
        } else if (l->n_f) {
            graft_op_builder_attr_float_list(b, key, l->f, (int)l->n_f);
        } else if (l->n_s) {
            const char **p = graftI_calloc(l->n_s, sizeof *p);
            size_t *lens = graftI_calloc(l->n_s, sizeof *lens);
            if (!p || !lens) {
                graftI_free(p);
                graftI_free(lens);
                return imp_fail(I, GRAFT_ERR_NOMEM, "%s: out of memory", what);
            }
            for (size_t i = 0; i < l->n_s; i++) {
                p[i] = (const char *)l->s[i].data;
                lens[i] = l->s[i].len;
            }
            graft_op_builder_attr_string_list(b, key, p, lens, (int)l->n_s);
            graftI_free(p);
            graftI_free(lens);
        } else if (l->n_type) {
            graft_dtype *t = graftI_calloc(l->n_type, sizeof *t);
            if (!t) return imp_fail(I, GRAFT_ERR_NOMEM, "%s: out of memory", what);
            for (size_t i = 0; i < l->n_type; i++) t[i] = base_dtype((int)l->type[i]);
            graft_op_builder_attr_type_list(b, key, t, (int)l->n_type);
            graftI_free(t);
        } else if (l->n_shape) {
            graft_shape *s = graftI_calloc(l->n_shape, sizeof *s);
            if (!s) return imp_fail(I, GRAFT_ERR_NOMEM, "%s: out of memory", what);
            for (size_t i = 0; i < l->n_shape; i++) {
                graft_code c = graftI_mg_shape(l->shape[i], &s[i], I->m->file, what, I->st);
                if (c) {
                    graftI_free(s);
                    if (c == GRAFT_ERR_UNSUPPORTED && !registered) {
                        graft_status_clear(I->st);
                        return GRAFT_OK;
                    }
                    return c;
                }
            }
            graft_op_builder_attr_shape_list(b, key, s, (int)l->n_shape);
            graftI_free(s);
        } else if (l->n_b) {
            DROP_OR_FAIL("lists of bools are not supported");
        } else if (l->n_tensor) {
            DROP_OR_FAIL("lists of tensors are not supported");
        } else {
            DROP_OR_FAIL("lists of functions are not supported");
        }
        return GRAFT_OK;
    }
    case TENSORFLOW__ATTR_VALUE__VALUE_FUNC: DROP_OR_FAIL("function attrs are not supported");
    case TENSORFLOW__ATTR_VALUE__VALUE_PLACEHOLDER: DROP_OR_FAIL("attr placeholders only belong in functions");
    default: return imp_fail(I, GRAFT_ERR_CORRUPT, "%s: attr has no value", what);
    }
#undef DROP_OR_FAIL
}

/* Output dtypes of an inert op from the file's OpDef (fixed types, type attrs,
 * number attrs and type lists). Returns the count, or -1 when unknown. */
static int opdef_output_types(const Tensorflow__OpDef *d, const Tensorflow__NodeDef *n, graft_dtype *out, int cap)
{
    if (!d) return -1;
    int k = 0;
    for (size_t i = 0; i < d->n_output_arg; i++) {
        const Tensorflow__OpDef__ArgDef *a = d->output_arg[i];
        if (!a) return -1;
        if (a->type_list_attr[0]) {
            const Tensorflow__AttrValue *v = graftI_mg_attr(n, a->type_list_attr);
            if (!v || v->value_case != TENSORFLOW__ATTR_VALUE__VALUE_LIST) return -1;
            for (size_t j = 0; v->list && j < v->list->n_type; j++) {
                if (k >= cap) return -1;
                out[k++] = base_dtype((int)v->list->type[j]);
            }
            continue;
        }
        graft_dtype t = base_dtype((int)a->type);
        if (a->type_attr[0]) {
            const Tensorflow__AttrValue *v = graftI_mg_attr(n, a->type_attr);
            if (!v || v->value_case != TENSORFLOW__ATTR_VALUE__VALUE_TYPE) return -1;
            t = base_dtype((int)v->type);
        }
        int64_t cnt = 1;
        if (a->number_attr[0]) {
            const Tensorflow__AttrValue *v = graftI_mg_attr(n, a->number_attr);
            if (!v || v->value_case != TENSORFLOW__ATTR_VALUE__VALUE_I || v->i < 0) return -1;
            cnt = v->i;
        }
        for (int64_t j = 0; j < cnt; j++) {
            if (k >= cap) return -1;
            out[k++] = t;
        }
    }
    return k;
}

static graft_code build_node(imp *I, int idx)
{
    const mgI_node *n = &I->m->nodes[idx];
    const Tensorflow__NodeDef *d = n->def;
    const graftI_op_def *def = graftI_op_lookup(d->op);
    const Tensorflow__OpDef *od = find_opdef(I->oplist, d->op);
    graft_op_builder *b = graft_op_builder_new(I->g, d->op, I->names[idx]);
    if (!b) return imp_fail(I, GRAFT_ERR_NOMEM, "node '%s': out of memory", d->name);
    graft_dtype otypes[GRAFTI_META_MAX_OUTPUTS];
    int n_ot = def ? -1 : opdef_output_types(od, d, otypes, GRAFTI_META_MAX_OUTPUTS);
    if (!def) graft_op_builder_allow_unknown(b, n_ot > n->n_out ? n_ot : n->n_out);
    for (int j = 0; j < n->n_in; j++) {
        graft_op *src = I->ops[n->in[j].node];
        if (n->in[j].index < 0)
            graft_op_builder_add_control_input(b, src);
        else
            graft_op_builder_add_input(b, graftI_o(src, n->in[j].index));
    }
    if (!I->o->clear_devices && d->device[0]) graft_op_builder_set_device(b, d->device);
    for (size_t k = 0; k < d->n_attr; k++) {
        const char *key = d->attr[k]->key;
        const Tensorflow__AttrValue *v = d->attr[k]->value;
        if (key[0] == '_') continue; /* _output_shapes, _class (colocation), ...: graft recomputes or ignores */
        if (def && !find_spec(def, key)) {
            /* graft's op record does not have it: fine only if TF's default */
            const Tensorflow__OpDef__AttrDef *ad = find_attrdef(od, key);
            if ((ad && attr_equal(v, ad->default_value)) || is_tf_default(key, v)) continue;
        }
        /* GraphDefs of producer <= 21 cannot tell a scalar Placeholder shape from an
         * unknown one; TF's shape function reads it as unknown, so does graft */
        if (!strcmp(d->op, "Placeholder") && !strcmp(key, "shape") && I->producer <= 21 &&
            v->value_case == TENSORFLOW__ATTR_VALUE__VALUE_SHAPE && (!v->shape || v->shape->n_dim == 0)) {
            graft_op_builder_attr_shape(b, key, graft_shape_unknown());
            continue;
        }
        graft_code c = put_attr(I, b, idx, k, key, v, def != NULL);
        if (c) {
            graft_op_builder_free(b);
            return c;
        }
    }
    /* stripped_default_attrs: put back the OpDef defaults that were left out */
    if (I->m->mg->meta_info_def && I->m->mg->meta_info_def->stripped_default_attrs && od) {
        for (size_t k = 0; k < od->n_attr; k++) {
            const Tensorflow__OpDef__AttrDef *ad = od->attr[k];
            if (!ad || !ad->default_value || graftI_mg_attr(d, ad->name)) continue;
            if (def && !find_spec(def, ad->name)) continue;
            graft_code c = GRAFT_OK;
            if (ad->default_value->value_case == TENSORFLOW__ATTR_VALUE__VALUE_TENSOR) {
                char what[300];
                snprintf(what, sizeof what, "OpDef '%s' default of attr '%s'", od->name, ad->name);
                graft_tensor *t = graftI_mg_tensor(ad->default_value->tensor, I->m->file, what, I->st);
                if (!t) {
                    c = I->st ? I->st->code : GRAFT_ERR_CORRUPT;
                } else {
                    graft_op_builder_attr_tensor(b, ad->name, t);
                    graft_tensor_free(t);
                }
            } else if (ad->default_value->value_case != TENSORFLOW__ATTR_VALUE__VALUE__NOT_SET) {
                c = put_attr(I, b, idx, 0, ad->name, ad->default_value, def != NULL);
            }
            if (c) {
                graft_op_builder_free(b);
                return c;
            }
        }
    }
    graft_status bst;
    graft_status_clear(&bst);
    graft_op *op = graft_op_builder_finish(b, &bst);
    if (!op) return imp_fail(I, bst.code ? bst.code : GRAFT_ERR_INTERNAL, "node '%s' (%s): %s", d->name, d->op, bst.msg);
    if (!def) {
        /* inert op: give its outputs the dtypes/shapes the file states, so the
         * registered ops consuming them can infer theirs */
        for (int k = 0; k < op->n_out; k++) {
            if (n_ot > k && graft_dtype_valid((int)otypes[k])) op->out[k].dtype = otypes[k];
            if (k < n->n_shapes) op->out[k].shape = n->shapes[k];
        }
        if (n_ot < 0 && op->n_out == 1) {
            static const char *const guess[] = {"out_type", "dtype", "T"};
            for (size_t gi = 0; gi < 3; gi++) {
                const Tensorflow__AttrValue *v = graftI_mg_attr(d, guess[gi]);
                if (v && v->value_case == TENSORFLOW__ATTR_VALUE__VALUE_TYPE && graft_dtype_valid((int)base_dtype((int)v->type))) {
                    op->out[0].dtype = base_dtype((int)v->type);
                    break;
                }
            }
        }
    }
    I->ops[idx] = op;
    return GRAFT_OK;
}

/* "name:N" or "name" in the file's namespace -> op in the import (scoped). */
static graft_op *scoped_op(imp *I, const char *name, int *index)
{
    const char *colon = strchr(name, ':');
    size_t len = colon ? (size_t)(colon - name) : strlen(name);
    if (index) *index = colon ? atoi(colon + 1) : 0;
    if (len && name[0] == '^') {
        name++;
        len--;
    }
    int k = graftI_mg_find(I->m, name, len);
    return k >= 0 ? I->ops[k] : NULL;
}

static bool is_var_collection(const char *name)
{
    static const char *const names[] = {"variables", "trainable_variables", "local_variables", "model_variables",
                                        "global_step", "moving_average_variables", "metric_variables", NULL};
    for (int i = 0; names[i]; i++)
        if (!strcmp(name, names[i])) return true;
    return false;
}

/* Registers the variables of the VariableDef collections. */
static graft_code import_variables(imp *I)
{
    const Tensorflow__MetaGraphDef *mg = I->m->mg;
    const Tensorflow__CollectionDef *trainable = NULL;
    for (size_t i = 0; i < mg->n_collection_def; i++)
        if (!strcmp(mg->collection_def[i]->key, "trainable_variables")) trainable = mg->collection_def[i]->value;
    for (size_t ci = 0; ci < mg->n_collection_def; ci++) {
        const char *cname = mg->collection_def[ci]->key;
        const Tensorflow__CollectionDef *cd = mg->collection_def[ci]->value;
        if (!is_var_collection(cname) || cd->kind_case != TENSORFLOW__COLLECTION_DEF__KIND_BYTES_LIST ||
            !cd->bytes_list)
            continue;
        for (size_t vi = 0; vi < cd->bytes_list->n_value; vi++) {
            const ProtobufCBinaryData *raw = &cd->bytes_list->value[vi];
            graft_code c = graftI_mg_prescan(&tensorflow__variable_def__descriptor, raw->data, raw->len, I->m->file,
                                             I->st);
            if (c) return c;
            mgI_alloc al;
            graftI_mg_alloc_init(&al, raw->len * 32 + 65536);
            Tensorflow__VariableDef *vd = tensorflow__variable_def__unpack(&al.pc, raw->len, raw->data);
            if (!vd && al.nomem) return imp_fail(I, GRAFT_ERR_NOMEM, "collection '%s': out of memory", cname);
            if (!vd)
                return imp_fail(I, GRAFT_ERR_CORRUPT, "collection '%s': entry %zu is not a VariableDef", cname, vi);
            int oi = 0;
            graft_op *var = scoped_op(I, vd->variable_name, &oi);
            bool trainable_flag = false;
            if (trainable && trainable->kind_case == TENSORFLOW__COLLECTION_DEF__KIND_BYTES_LIST && trainable->bytes_list) {
                /* membership by variable_name, as TF1 decides trainability */
                for (size_t t = 0; t < trainable->bytes_list->n_value && !trainable_flag; t++) {
                    const ProtobufCBinaryData *r2 = &trainable->bytes_list->value[t];
                    if (graftI_mg_prescan(&tensorflow__variable_def__descriptor, r2->data, r2->len, I->m->file, NULL))
                        continue;
                    Tensorflow__VariableDef *v2 = tensorflow__variable_def__unpack(&al.pc, r2->len, r2->data);
                    if (v2) {
                        trainable_flag = !strcmp(v2->variable_name, vd->variable_name);
                        tensorflow__variable_def__free_unpacked(v2, &al.pc);
                    }
                }
            }
            graft_code rc = GRAFT_OK;
            if (!var) {
                rc = imp_fail(I, GRAFT_ERR_CORRUPT, "collection '%s': variable '%s' names no node", cname,
                              vd->variable_name);
            } else if (var->def && (var->def->flags & GRAFTI_OP_VARIABLE)) {
                graft_variable info;
                memset(&info, 0, sizeof info);
                info.var = var;
                info.initializer = vd->initializer_name[0] ? scoped_op(I, vd->initializer_name, NULL) : NULL;
                int si = 0;
                graft_op *snap = vd->snapshot_name[0] ? scoped_op(I, vd->snapshot_name, &si) : NULL;
                info.value = snap && si < snap->n_out ? graftI_o(snap, si) : graftI_o(var, 0);
                int ii = 0;
                graft_op *iv = vd->initial_value_name[0] ? scoped_op(I, vd->initial_value_name, &ii) : NULL;
                info.initial_value = iv && ii < iv->n_out ? graftI_o(iv, ii) : graftI_o(NULL, 0);
                info.trainable = trainable_flag || (!strcmp(cname, "trainable_variables"));
                graft_variable prev;
                if (graft_graph_find_variable(I->g, var, &prev)) {
                    /* seen in another collection: keep the richer record */
                    if (prev.trainable) info.trainable = true;
                    if (!info.initializer) info.initializer = prev.initializer;
                } else {
                    I->res->n_vars++;
                }
                graft_status vst;
                rc = graft_graph_add_variable(I->g, &info, &vst);
                if (rc) rc = imp_fail(I, rc, "variable '%s': %s", vd->variable_name, vst.msg);
                if (!rc && strcmp(cname, "variables") && strcmp(cname, "trainable_variables"))
                    graft_graph_add_to_collection(I->g, cname, var);
            }
            tensorflow__variable_def__free_unpacked(vd, &al.pc);
            if (rc) return rc;
        }
    }
    return GRAFT_OK;
}

static graft_code import_collections(imp *I)
{
    const Tensorflow__MetaGraphDef *mg = I->m->mg;
    for (size_t ci = 0; ci < mg->n_collection_def; ci++) {
        const char *cname = mg->collection_def[ci]->key;
        const Tensorflow__CollectionDef *cd = mg->collection_def[ci]->value;
        if (cd->kind_case != TENSORFLOW__COLLECTION_DEF__KIND_NODE_LIST || !cd->node_list) continue;
        for (size_t i = 0; i < cd->node_list->n_value; i++) {
            graft_op *op = scoped_op(I, cd->node_list->value[i], NULL);
            if (op) graft_graph_add_to_collection(I->g, cname, op); /* missing names are skipped, as TF does */
        }
    }
    return graft_graph_status(I->g) == GRAFT_OK ? GRAFT_OK
                                                 : imp_fail(I, graft_graph_status(I->g), "%s", graft_graph_errmsg(I->g));
}

/* Ancestors of the return tensors: placeholders to feed, ops graft cannot run. */
static graft_code analyse_returns(imp *I)
{
    graft_meta_import *r = I->res;
    int n = I->o->n_return_tensors;
    if (n <= 0) return GRAFT_OK;
    r->ret = graftI_calloc((size_t)n, sizeof *r->ret);
    if (!r->ret) return imp_fail(I, GRAFT_ERR_NOMEM, "out of memory");
    r->n_ret = n;
    int total = graft_graph_num_ops(I->g);
    uint8_t *seen = graftI_calloc((size_t)total + 1, 1);
    graft_op **stack = graftI_calloc((size_t)total + 1, sizeof *stack);
    r->missing = graftI_calloc((size_t)total + 1, sizeof *r->missing);
    r->unrun = graftI_calloc((size_t)total + 1, sizeof *r->unrun);
    if (!seen || !stack || !r->missing || !r->unrun) {
        graftI_free(seen);
        graftI_free(stack);
        return imp_fail(I, GRAFT_ERR_NOMEM, "out of memory");
    }
    int sp = 0;
    graft_code rc = GRAFT_OK;
    for (int i = 0; i < n && !rc; i++) {
        const char *nm = I->o->return_tensors[i];
        const char *colon = nm ? strrchr(nm, ':') : NULL;
        int idx = 0;
        graft_op *op = NULL;
        if (colon && colon[1]) {
            char *end;
            long v = strtol(colon + 1, &end, 10);
            if (!*end && v >= 0 && v < GRAFTI_META_MAX_OUTPUTS) {
                idx = (int)v;
                int k = graftI_mg_find(I->m, nm, (size_t)(colon - nm));
                op = k >= 0 ? I->ops[k] : NULL;
            }
        }
        if (!op || idx >= op->n_out) {
            rc = imp_fail(I, GRAFT_ERR_NOT_FOUND, "return tensor '%s': no such tensor in the file (\"name:N\" expected)",
                          nm ? nm : "(null)");
            break;
        }
        r->ret[i] = graftI_o(op, idx);
        graft_op *o = r->ret[i].op;
        if (!seen[o->id]) {
            seen[o->id] = 1;
            stack[sp++] = o;
        }
    }
    while (!rc && sp > 0) {
        graft_op *o = stack[--sp];
        if (!strcmp(o->type, "Placeholder")) r->missing[r->n_missing++] = o;
        else if (!graft_op_runnable(o)) r->unrun[r->n_unrun++] = o;
        for (int j = 0; j < o->n_in + o->n_ctrl; j++) {
            graft_op *p = j < o->n_in ? o->in[j].op : o->ctrl[j - o->n_in];
            if (p && !seen[p->id]) {
                seen[p->id] = 1;
                stack[sp++] = p;
            }
        }
    }
    graftI_free(seen);
    graftI_free(stack);
    return rc;
}

static graft_code inert_types(imp *I)
{
    graft_meta_import *r = I->res;
    int n = I->m->n_nodes;
    r->types = graftI_calloc((size_t)n + 1, sizeof *r->types);
    r->type_counts = graftI_calloc((size_t)n + 1, sizeof *r->type_counts);
    if (!r->types || !r->type_counts) return imp_fail(I, GRAFT_ERR_NOMEM, "out of memory");
    for (int i = 0; i < n; i++) {
        const graftI_op_def *def = graftI_op_lookup(I->m->nodes[i].def->op);
        if (def && def->forward) continue;
        const char *t = I->m->nodes[i].def->op;
        int k = 0;
        while (k < r->n_types && strcmp(r->types[k], t)) k++;
        if (k == r->n_types) {
            r->types[k] = graftI_strdup(t);
            if (!r->types[k]) return imp_fail(I, GRAFT_ERR_NOMEM, "out of memory");
            r->n_types++;
        }
        r->type_counts[k]++;
    }
    return GRAFT_OK;
}

void graft_meta_import_free(graft_meta_import *r)
{
    if (!r) return;
    graftI_free(r->ret);
    graftI_free(r->missing);
    graftI_free(r->unrun);
    for (int i = 0; i < r->n_types; i++) graftI_free(r->types[i]);
    graftI_free(r->types);
    graftI_free(r->type_counts);
    graftI_mg_saver_free(r->saver);
    graftI_free(r);
}

/* ---- names: TF's uniquify_names -------------------------------------------------------- */
typedef struct nset {
    const char **s;
    size_t *len;
    size_t cap, n;
} nset;

static uint64_t nhash(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * 1099511628211ull;
    return h;
}

static bool nset_has(const nset *z, const char *s, size_t n)
{
    for (size_t i = (size_t)nhash(s, n) & (z->cap - 1);; i = (i + 1) & (z->cap - 1)) {
        if (!z->s[i]) return false;
        if (z->len[i] == n && !memcmp(z->s[i], s, n)) return true;
    }
}

/* s must outlive the set; the set never grows past half full (sized up front) */
static void nset_add(nset *z, const char *s, size_t n)
{
    if (nset_has(z, s, n)) return;
    size_t i = (size_t)nhash(s, n) & (z->cap - 1);
    while (z->s[i]) i = (i + 1) & (z->cap - 1);
    z->s[i] = s;
    z->len[i] = n;
    z->n++;
}

/* a name and every "a/b" prefix of it */
static void nset_add_prefixes(nset *z, const char *s)
{
    size_t n = strlen(s);
    nset_add(z, s, n);
    for (size_t i = 0; i < n; i++)
        if (s[i] == '/') nset_add(z, s, i);
}

static void free_names(char **names, int n)
{
    if (!names) return;
    for (int i = 0; i < n; i++) graftI_free(names[i]);
    graftI_free(names);
}

static graft_code make_names(graft_graph *g, const graft_meta_graph *m, const char *scope, char ***out,
                             graft_status *st)
{
    *out = NULL;
    int nops = graft_graph_num_ops(g);
    /* entries: every name plus its '/' prefixes, existing and imported (twice: the
     * file's names and the final ones); the sets stay at most half full */
    size_t want = 16, cap = 16;
    for (int i = 0; i < nops; i++) {
        const char *p = graft_op_name(graft_graph_op_at(g, i));
        want += 1;
        for (; *p; p++) want += *p == '/';
    }
    size_t sl = 0;
    for (const char *p = scope; *p; p++) sl += *p == '/';
    for (int i = 0; i < m->n_nodes; i++) {
        want += 2 * (1 + sl);
        for (const char *p = m->nodes[i].def->name; *p; p++) want += 2 * (*p == '/');
    }
    while (cap < 2 * want) cap *= 2;
    nset ex = {graftI_calloc(cap, sizeof(char *)), graftI_calloc(cap, sizeof(size_t)), cap, 0};
    nset file = {graftI_calloc(cap, sizeof(char *)), graftI_calloc(cap, sizeof(size_t)), cap, 0};
    char **names = graftI_calloc((size_t)m->n_nodes + 1, sizeof *names);
    graft_code rc = GRAFT_OK;
    if (!ex.s || !ex.len || !file.s || !file.len || !names) {
        rc = graft_status_set(st, GRAFT_ERR_NOMEM, "%s: out of memory", m->file);
        goto done;
    }
    for (int i = 0; i < nops; i++) {
        nset_add_prefixes(&ex, graft_op_name(graft_graph_op_at(g, i)));
    }
    if (scope[0] || nops > 0) {
        for (int i = 0; i < m->n_nodes; i++) {
            char full[1024];
            if ((size_t)snprintf(full, sizeof full, "%s%s", scope, m->nodes[i].def->name) >= sizeof full) {
                rc = graft_status_set(st, GRAFT_ERR_INVALID_ARG, "%s: node '%s': name too long with the import scope",
                                      m->file, m->nodes[i].def->name);
                goto done;
            }
            if (!(names[i] = graftI_strdup(full))) {
                rc = graft_status_set(st, GRAFT_ERR_NOMEM, "%s: out of memory", m->file);
                goto done;
            }
            nset_add(&file, names[i], strlen(names[i]));
        }
    } else {
        for (int i = 0; i < m->n_nodes; i++)
            if (!(names[i] = graftI_strdup(m->nodes[i].def->name))) {
                rc = graft_status_set(st, GRAFT_ERR_NOMEM, "%s: out of memory", m->file);
                goto done;
            }
        goto done; /* an empty graph: nothing can clash */
    }
    /* in topological order, as TF renames (inputs refer to nodes, not names, here) */
    for (int k = 0; k < m->n_nodes; k++) {
        int i = m->topo[k];
        char *nm = names[i];
        if (nset_has(&ex, nm, strlen(nm))) {
            size_t bl = strlen(nm);
            char *buf = graftI_malloc(bl + 24);
            if (!buf) {
                rc = graft_status_set(st, GRAFT_ERR_NOMEM, "%s: out of memory", m->file);
                goto done;
            }
            for (long cnt = 1;; cnt++) {
                snprintf(buf, bl + 24, "%s_%ld", nm, cnt);
                size_t l = strlen(buf);
                if (!nset_has(&ex, buf, l) && !nset_has(&file, buf, l)) break;
            }
            graftI_free(nm);
            names[i] = nm = buf;
        }
        nset_add_prefixes(&ex, nm);
    }
done:
    graftI_free(ex.s);
    graftI_free(ex.len);
    graftI_free(file.s);
    graftI_free(file.len);
    if (rc) free_names(names, m->n_nodes);
    else *out = names;
    return rc;
}

/* One full pass into g. On failure g may hold some of the new ops (the caller
 * only lets that happen on a scratch graph). */
static graft_code import_pass(const graft_meta_graph *m, const graft_meta_opts *o, const char *scope,
                              char *const *names, graft_graph *g, graft_tensor **tcache, size_t *tbase,
                              graft_meta_import *res, bool make_saver, graft_status *st)
{
    imp I;
    memset(&I, 0, sizeof I);
    I.m = m;
    I.o = o;
    I.g = g;
    I.scope = scope;
    I.names = names;
    I.tcache = tcache;
    I.tbase = tbase;
    I.res = res;
    I.st = st;
    I.oplist = m->mg->meta_info_def ? m->mg->meta_info_def->stripped_op_list : NULL;
    I.producer = m->mg->graph_def && m->mg->graph_def->versions ? m->mg->graph_def->versions->producer : 0;
    I.ops = graftI_calloc((size_t)m->n_nodes + 1, sizeof *I.ops);
    if (!I.ops) return imp_fail(&I, GRAFT_ERR_NOMEM, "out of memory");
    graft_code c = GRAFT_OK;
    for (int k = 0; k < m->n_nodes && !c; k++) c = build_node(&I, m->topo[k]);
    if (!c) c = import_variables(&I);
    if (!c) c = import_collections(&I);
    if (!c) c = analyse_returns(&I);
    if (!c) c = inert_types(&I);
    if (!c && make_saver && m->mg->saver_def) {
        c = graftI_mg_saver_from_def(g, m, I.ops, &res->saver, res->note, sizeof res->note, st);
        if (c == GRAFT_ERR_UNSUPPORTED) { /* a saver graft cannot drive is not an import failure */
            graft_status_clear(st);
            c = GRAFT_OK;
        }
    }
    graftI_free(I.ops);
    return c;
}

graft_code graft_meta_graph_import(graft_graph *g, const graft_meta_graph *m, const graft_meta_opts *opts,
                                   graft_meta_import **res, graft_status *st)
{
    if (res) *res = NULL;
    if (!g || !m) return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "graft_meta_graph_import: NULL argument");
    graft_meta_opts defo;
    graft_meta_opts_init(&defo);
    const graft_meta_opts *o = opts ? opts : &defo;
    if (graft_graph_status(g) != GRAFT_OK)
        return graft_status_set(st, GRAFT_ERR_MISUSE, "%s: the target graph has a sticky error: %s", m->file,
                                graft_graph_errmsg(g));
    /* scope: "s" -> "s/" (TF's import_scope), validated like a node name */
    char scope[512] = "";
    if (o->import_scope && o->import_scope[0]) {
        size_t sl = strlen(o->import_scope);
        if (sl + 2 > sizeof scope)
            return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "import scope '%.100s...' is too long", o->import_scope);
        memcpy(scope, o->import_scope, sl + 1);
        if (scope[sl - 1] != '/') strcat(scope, "/");
        char test[520];
        snprintf(test, sizeof test, "%sx", scope);
        const char *p = test;
        bool ok = (p[0] >= 'A' && p[0] <= 'Z') || (p[0] >= 'a' && p[0] <= 'z') || (p[0] >= '0' && p[0] <= '9') ||
                  p[0] == '.';
        for (p = test + 1; ok && *p; p++)
            ok = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' ||
                 *p == '.' || *p == '-' || *p == '/';
        if (!ok || strstr(scope, "//"))
            return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "import scope '%s' is not a valid name scope",
                                    o->import_scope);
    }
    /* final names: scope + file name, uniquified against g as TensorFlow's importer
     * does (a clash with an existing op or name scope becomes name_1, name_2, ...
     * skipping the file's own names), so importing next to existing ops works */
    char **names = NULL;
    graft_code c = make_names(g, m, scope, &names, st);
    if (c) return c;
    /* tensor cache slots */
    size_t nslots = 0;
    size_t *tbase = graftI_calloc((size_t)m->n_nodes + 1, sizeof *tbase);
    if (!tbase) {
        free_names(names, m->n_nodes);
        return graft_status_set(st, GRAFT_ERR_NOMEM, "%s: out of memory", m->file);
    }
    for (int i = 0; i < m->n_nodes; i++) {
        tbase[i] = nslots;
        nslots += m->nodes[i].def->n_attr;
    }
    graft_tensor **tcache = graftI_calloc(nslots + 1, sizeof *tcache);
    graft_meta_import *r = graftI_calloc(1, sizeof *r);
    graft_graph *scratch = graft_graph_new();
    if (!tcache || !r || !scratch) {
        c = graft_status_set(st, GRAFT_ERR_NOMEM, "%s: out of memory", m->file);
        goto done;
    }
    /* pass 1: everything into a scratch graph (the builder's own checks included) */
    c = import_pass(m, o, scope, names, scratch, tcache, tbase, r, false, st);
    if (c) goto done;
    /* pass 2: the same into g; only allocation failure can differ now */
    graft_meta_import_free(r); /* pass 1 made no saver */
    r = graftI_calloc(1, sizeof *r);
    if (!r) {
        c = graft_status_set(st, GRAFT_ERR_NOMEM, "%s: out of memory", m->file);
        goto done;
    }
    graftI_graph_mark *mark = graftI_graph_mark_new(g);
    if (!mark) {
        c = graft_status_set(st, GRAFT_ERR_NOMEM, "%s: out of memory", m->file);
        goto done;
    }
    c = import_pass(m, o, scope, names, g, tcache, tbase, r, true, st);
    if (c) {
        /* only an allocation can fail here: take back what pass 2 added */
        graft_meta_import_free(r);
        r = NULL;
        graftI_graph_rollback(g, mark);
        goto done;
    }
    graftI_graph_mark_free(mark);
    graft_status_clear(st);
done:
    graft_graph_free(scratch);
    if (tcache)
        for (size_t i = 0; i < nslots; i++) graft_tensor_free(tcache[i]);
    graftI_free(tcache);
    graftI_free(tbase);
    free_names(names, m->n_nodes);
    if (c || !res)
        graft_meta_import_free(r);
    else
        *res = r;
    return c;
}

graft_code graft_import_meta_graph(graft_graph *g, const char *path, const graft_meta_opts *opts,
                                   graft_meta_import **res, graft_status *st)
{
    if (res) *res = NULL;
    graft_meta_graph *m = NULL;
    graft_code c = graft_meta_graph_read(path, opts, &m, st);
    if (c) return c;
    c = graft_meta_graph_import(g, m, opts, res, st);
    graft_meta_graph_free(m);
    return c;
}

/* ---- result accessors ------------------------------------------------------------ */
int graft_meta_import_num_return_tensors(const graft_meta_import *r) { return r ? r->n_ret : 0; }
graft_out graft_meta_import_return_tensor(const graft_meta_import *r, int i)
{
    return r && i >= 0 && i < r->n_ret ? r->ret[i] : graftI_o(NULL, 0);
}
int graft_meta_import_num_missing_feeds(const graft_meta_import *r) { return r ? r->n_missing : 0; }
graft_op *graft_meta_import_missing_feed(const graft_meta_import *r, int i)
{
    return r && i >= 0 && i < r->n_missing ? r->missing[i] : NULL;
}
int graft_meta_import_num_unrunnable(const graft_meta_import *r) { return r ? r->n_unrun : 0; }
graft_op *graft_meta_import_unrunnable(const graft_meta_import *r, int i)
{
    return r && i >= 0 && i < r->n_unrun ? r->unrun[i] : NULL;
}
int graft_meta_import_num_inert_types(const graft_meta_import *r) { return r ? r->n_types : 0; }
const char *graft_meta_import_inert_type(const graft_meta_import *r, int i, int *count)
{
    if (!r || i < 0 || i >= r->n_types) return NULL;
    if (count) *count = r->type_counts[i];
    return r->types[i];
}
int graft_meta_import_num_variables(const graft_meta_import *r) { return r ? r->n_vars : 0; }
graft_saver *graft_meta_import_take_saver(graft_meta_import *r)
{
    if (!r) return NULL;
    graft_saver *s = r->saver;
    r->saver = NULL;
    return s;
}
const char *graft_meta_import_saver_note(const graft_meta_import *r) { return r ? r->note : ""; }
