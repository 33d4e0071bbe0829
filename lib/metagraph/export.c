/* lib/metagraph/export.c - graft graph -> MetaGraphDef (.meta) that TensorFlow
 * 1.x's tf.train.import_meta_graph loads: meta_info_def with stripped_op_list,
 * graph_def (versions, every attr explicit, _output_shapes), the variables /
 * trainable_variables collections as VariableDefs, graft's other collections,
 * and the Saver's SaverDef. Messages are built in an arena and packed once. */
#include <stdio.h>
#include <stdlib.h>

#include "mg.h"

static Tensorflow__AttrValue *av(mgI_arena *a, Tensorflow__AttrValue__ValueCase c)
{
    Tensorflow__AttrValue *v = graftI_arena_alloc(a, sizeof *v);
    if (!v) return NULL;
    tensorflow__attr_value__init(v);
    v->value_case = c;
    return v;
}

static Tensorflow__AttrValue__ListValue *lv(mgI_arena *a, Tensorflow__AttrValue *v)
{
    if (!v) return NULL;
    v->list = graftI_arena_alloc(a, sizeof *v->list);
    if (v->list) tensorflow__attr_value__list_value__init(v->list);
    return v->list;
}

Tensorflow__AttrValue *graftI_mg_attr_value(mgI_arena *a, const graftI_attr *at)
{
    Tensorflow__AttrValue *v = NULL;
    Tensorflow__AttrValue__ListValue *l = NULL;
    size_t n = at->n > 0 ? (size_t)at->n : 0;
    switch (at->type) {
    case GRAFTI_ATTR_INT:
        if ((v = av(a, TENSORFLOW__ATTR_VALUE__VALUE_I))) v->i = at->v.i;
        return v;
    case GRAFTI_ATTR_FLOAT:
        if ((v = av(a, TENSORFLOW__ATTR_VALUE__VALUE_F))) v->f = at->v.f;
        return v;
    case GRAFTI_ATTR_BOOL:
        if ((v = av(a, TENSORFLOW__ATTR_VALUE__VALUE_B))) v->b = at->v.b;
        return v;
    case GRAFTI_ATTR_TYPE:
        if ((v = av(a, TENSORFLOW__ATTR_VALUE__VALUE_TYPE))) v->type = (Tensorflow__DataType)at->v.dt;
        return v;
    case GRAFTI_ATTR_SHAPE:
        if ((v = av(a, TENSORFLOW__ATTR_VALUE__VALUE_SHAPE))) v->shape = graftI_mg_shape_proto(a, &at->v.shape);
        return v && v->shape ? v : NULL;
    case GRAFTI_ATTR_STRING:
        if ((v = av(a, TENSORFLOW__ATTR_VALUE__VALUE_S))) {
            v->s.data = graftI_arena_alloc(a, at->v.s.len + 1);
            if (!v->s.data) return NULL;
            if (at->v.s.len) memcpy(v->s.data, at->v.s.ptr, at->v.s.len);
            v->s.len = at->v.s.len;
        }
        return v;
    case GRAFTI_ATTR_TENSOR:
        if (!at->v.t) return NULL;
        if ((v = av(a, TENSORFLOW__ATTR_VALUE__VALUE_TENSOR))) v->tensor = graftI_mg_tensor_proto(a, at->v.t);
        return v && v->tensor ? v : NULL;
    case GRAFTI_ATTR_FUNC:
        if ((v = av(a, TENSORFLOW__ATTR_VALUE__VALUE_FUNC))) {
            v->func = graftI_arena_alloc(a, sizeof *v->func);
            if (!v->func) return NULL;
            tensorflow__name_attr_list__init(v->func);
            v->func->name = graftI_arena_alloc(a, at->v.s.len + 1);
            if (!v->func->name) return NULL;
            if (at->v.s.len) memcpy(v->func->name, at->v.s.ptr, at->v.s.len);
        }
        return v;
    default:
        break;
    }
    /* lists */
    v = av(a, TENSORFLOW__ATTR_VALUE__VALUE_LIST);
    if (!(l = lv(a, v))) return NULL;
    if (n == 0) return v;
    switch (at->type) {
    case GRAFTI_ATTR_LIST_INT:
        if (!(l->i = graftI_arena_alloc(a, n * sizeof *l->i))) return NULL;
        memcpy(l->i, at->l.i, n * sizeof *l->i);
        l->n_i = n;
        return v;
    case GRAFTI_ATTR_LIST_FLOAT:
        if (!(l->f = graftI_arena_alloc(a, n * sizeof *l->f))) return NULL;
        memcpy(l->f, at->l.f, n * sizeof *l->f);
        l->n_f = n;
        return v;
    case GRAFTI_ATTR_LIST_BOOL:
        if (!(l->b = graftI_arena_alloc(a, n * sizeof *l->b))) return NULL;
        for (size_t i = 0; i < n; i++) l->b[i] = at->l.b[i];
        l->n_b = n;
        return v;
    case GRAFTI_ATTR_LIST_TYPE:
        if (!(l->type = graftI_arena_alloc(a, n * sizeof *l->type))) return NULL;
        for (size_t i = 0; i < n; i++) l->type[i] = (Tensorflow__DataType)at->l.dt[i];
        l->n_type = n;
        return v;
    case GRAFTI_ATTR_LIST_SHAPE:
        if (!(l->shape = graftI_arena_alloc(a, n * sizeof *l->shape))) return NULL;
        for (size_t i = 0; i < n; i++)
            if (!(l->shape[i] = graftI_mg_shape_proto(a, &at->l.shape[i]))) return NULL;
        l->n_shape = n;
        return v;
    case GRAFTI_ATTR_LIST_STRING:
        if (!(l->s = graftI_arena_alloc(a, n * sizeof *l->s))) return NULL;
        for (size_t i = 0; i < n; i++) {
            l->s[i].data = graftI_arena_alloc(a, at->l.s[i].len + 1);
            if (!l->s[i].data) return NULL;
            if (at->l.s[i].len) memcpy(l->s[i].data, at->l.s[i].ptr, at->l.s[i].len);
            l->s[i].len = at->l.s[i].len;
        }
        l->n_s = n;
        return v;
    case GRAFTI_ATTR_LIST_TENSOR:
        if (!(l->tensor = graftI_arena_alloc(a, n * sizeof *l->tensor))) return NULL;
        for (size_t i = 0; i < n; i++)
            if (!(l->tensor[i] = graftI_mg_tensor_proto(a, at->l.t[i]))) return NULL;
        l->n_tensor = n;
        return v;
    default:
        return NULL;
    }
}

static const char *attr_kind(graftI_attr_type t)
{
    switch (t) {
    case GRAFTI_ATTR_INT: return "int";
    case GRAFTI_ATTR_FLOAT: return "float";
    case GRAFTI_ATTR_BOOL: return "bool";
    case GRAFTI_ATTR_TYPE: return "type";
    case GRAFTI_ATTR_SHAPE: return "shape";
    case GRAFTI_ATTR_STRING: return "string";
    case GRAFTI_ATTR_TENSOR: return "tensor";
    case GRAFTI_ATTR_FUNC: return "func";
    case GRAFTI_ATTR_LIST_INT: return "list(int)";
    case GRAFTI_ATTR_LIST_FLOAT: return "list(float)";
    case GRAFTI_ATTR_LIST_BOOL: return "list(bool)";
    case GRAFTI_ATTR_LIST_TYPE: return "list(type)";
    case GRAFTI_ATTR_LIST_SHAPE: return "list(shape)";
    case GRAFTI_ATTR_LIST_STRING: return "list(string)";
    case GRAFTI_ATTR_LIST_TENSOR: return "list(tensor)";
    default: return "string";
    }
}

/* OpDef for an op type missing from graft's table: its name and, for registered
 * ops, the attrs of graft's record (no argument names: TF's own registry is
 * what an importer checks nodes against); for inert imported ops (op = one of
 * them) the output dtypes and attr kinds graft holds. */
static Tensorflow__OpDef *fallback_opdef(mgI_arena *a, const char *type, const graft_op *op)
{
    Tensorflow__OpDef *d = graftI_arena_alloc(a, sizeof *d);
    if (!d) return NULL;
    tensorflow__op_def__init(d);
    d->name = graftI_arena_strdup(a, type);
    const graftI_op_def *def = graftI_op_lookup(type);
    if (!def && op) {
        /* an inert import: record the output dtypes graft knows as fixed-type
         * outputs, so a re-import can type them again, and the attrs by kind */
        bool typed = op->n_out > 0;
        for (int i = 0; i < op->n_out && typed; i++) typed = graft_dtype_valid(op->out[i].dtype);
        if (typed) {
            d->output_arg = graftI_arena_alloc(a, (size_t)op->n_out * sizeof *d->output_arg);
            if (!d->output_arg) return NULL;
            for (int i = 0; i < op->n_out; i++) {
                Tensorflow__OpDef__ArgDef *ar = graftI_arena_alloc(a, sizeof *ar);
                if (!ar) return NULL;
                tensorflow__op_def__arg_def__init(ar);
                char nm[32];
                snprintf(nm, sizeof nm, "output_%d", i);
                ar->name = graftI_arena_strdup(a, nm);
                ar->type = (Tensorflow__DataType)op->out[i].dtype;
                d->output_arg[i] = ar;
            }
            d->n_output_arg = (size_t)op->n_out;
        }
        if (op->n_attr > 0) {
            d->attr = graftI_arena_alloc(a, (size_t)op->n_attr * sizeof *d->attr);
            if (!d->attr) return NULL;
            for (int i = 0; i < op->n_attr; i++) {
                Tensorflow__OpDef__AttrDef *ad = graftI_arena_alloc(a, sizeof *ad);
                if (!ad) return NULL;
                tensorflow__op_def__attr_def__init(ad);
                ad->name = graftI_arena_strdup(a, op->attrs[i].name);
                ad->type = graftI_arena_strdup(a, attr_kind(op->attrs[i].type));
                d->attr[d->n_attr++] = ad;
            }
        }
        return d;
    }
    size_t n = 0;
    for (const graftI_attr_spec *s = def ? def->attrs : NULL; s && s->name; s++) n++;
    if (!n) return d;
    d->attr = graftI_arena_alloc(a, n * sizeof *d->attr);
    if (!d->attr) return NULL;
    for (size_t i = 0; i < n; i++) {
        const graftI_attr_spec *s = &def->attrs[i];
        Tensorflow__OpDef__AttrDef *ad = graftI_arena_alloc(a, sizeof *ad);
        if (!ad) return NULL;
        tensorflow__op_def__attr_def__init(ad);
        ad->name = graftI_arena_strdup(a, s->name);
        ad->type = graftI_arena_strdup(a, attr_kind(s->type));
        if (s->def) {
            graftI_attr dv;
            memset(&dv, 0, sizeof dv);
            if (graftI_attr_parse_default(s, &dv) == GRAFT_OK) {
                ad->default_value = graftI_mg_attr_value(a, &dv);
                graftI_attr_clear(&dv);
            }
        }
        d->attr[i] = ad;
    }
    d->n_attr = n;
    return d;
}

static bool av_equal(const Tensorflow__AttrValue *x, const Tensorflow__AttrValue *y)
{
    if (!x || !y) return false;
    size_t nx = tensorflow__attr_value__get_packed_size(x), ny = tensorflow__attr_value__get_packed_size(y);
    if (nx != ny) return false;
    if (nx == 0) return true;
    uint8_t sx[256], sy[256];
    if (nx > sizeof sx) return false;
    tensorflow__attr_value__pack(x, sx);
    tensorflow__attr_value__pack(y, sy);
    return memcmp(sx, sy, nx) == 0;
}

/* true when attr `v` named `name` may be left out for older TensorFlow: it is
 * marked newer in the OpDef and holds the OpDef's default */
static bool skip_newer(const Tensorflow__OpDef *d, const char *name, const Tensorflow__AttrValue *v)
{
    for (size_t i = 0; d && i < d->n_attr; i++) {
        const Tensorflow__OpDef__AttrDef *ad = d->attr[i];
        if (strcmp(ad->name, name)) continue;
        return ad->description && !strcmp(ad->description, GRAFTI_MG_NEWER_ATTR) && av_equal(v, ad->default_value);
    }
    return false;
}

/* "op" for output 0, "op:i" otherwise (TF's NodeDef input spelling). */
static char *input_name(mgI_arena *a, graft_out o)
{
    char buf[1100];
    if (o.index == 0) snprintf(buf, sizeof buf, "%s", o.op->name);
    else snprintf(buf, sizeof buf, "%s:%d", o.op->name, o.index);
    return graftI_arena_strdup(a, buf);
}

static char *tensor_name(mgI_arena *a, graft_out o)
{
    char buf[1100];
    snprintf(buf, sizeof buf, "%s:%d", o.op->name, o.index);
    return graftI_arena_strdup(a, buf);
}

static Tensorflow__NodeDef *node_def(mgI_arena *a, const graft_op *op, const Tensorflow__OpDef *od)
{
    Tensorflow__NodeDef *n = graftI_arena_alloc(a, sizeof *n);
    if (!n) return NULL;
    tensorflow__node_def__init(n);
    n->name = graftI_arena_strdup(a, op->name);
    n->op = graftI_arena_strdup(a, op->type);
    n->device = graftI_arena_strdup(a, op->device ? op->device : "");
    size_t ni = (size_t)op->n_in + (size_t)op->n_ctrl;
    if (ni) {
        n->input = graftI_arena_alloc(a, ni * sizeof *n->input);
        if (!n->input) return NULL;
        for (int i = 0; i < op->n_in; i++) n->input[i] = input_name(a, op->in[i]);
        for (int i = 0; i < op->n_ctrl; i++) {
            char buf[1100];
            snprintf(buf, sizeof buf, "^%s", op->ctrl[i]->name);
            n->input[op->n_in + i] = graftI_arena_strdup(a, buf);
        }
        n->n_input = ni;
    }
    size_t na = (size_t)op->n_attr + (op->n_out > 0);
    n->attr = graftI_arena_alloc(a, (na ? na : 1) * sizeof *n->attr);
    if (!n->attr) return NULL;
    for (int i = 0; i < op->n_attr; i++) {
        const graftI_attr *at = &op->attrs[i];
        if (!strcmp(at->name, "_output_shapes")) continue; /* written below from the inferred shapes */
        Tensorflow__NodeDef__AttrEntry *e = graftI_arena_alloc(a, sizeof *e);
        if (!e) return NULL;
        tensorflow__node_def__attr_entry__init(e);
        e->key = graftI_arena_strdup(a, at->name);
        e->value = graftI_mg_attr_value(a, at);
        if (!e->value) return NULL;
        if (skip_newer(od, at->name, e->value)) continue;
        n->attr[n->n_attr++] = e;
    }
    if (op->n_out > 0) {
        /* _output_shapes, as a TF1 Saver's export_meta_graph writes (add_shapes=True) */
        Tensorflow__NodeDef__AttrEntry *e = graftI_arena_alloc(a, sizeof *e);
        if (!e) return NULL;
        tensorflow__node_def__attr_entry__init(e);
        e->key = graftI_arena_strdup(a, "_output_shapes");
        e->value = av(a, TENSORFLOW__ATTR_VALUE__VALUE_LIST);
        Tensorflow__AttrValue__ListValue *l = lv(a, e->value);
        if (!l) return NULL;
        l->shape = graftI_arena_alloc(a, (size_t)op->n_out * sizeof *l->shape);
        if (!l->shape) return NULL;
        for (int i = 0; i < op->n_out; i++)
            if (!(l->shape[i] = graftI_mg_shape_proto(a, &op->out[i].shape))) return NULL;
        l->n_shape = (size_t)op->n_out;
        n->attr[n->n_attr++] = e;
    }
    return graftI_arena_failed(a) ? NULL : n;
}

/* Serialized VariableDef of a graft variable. */
static bool variable_def(mgI_arena *a, const graft_variable *v, ProtobufCBinaryData *out)
{
    Tensorflow__VariableDef d;
    tensorflow__variable_def__init(&d);
    d.variable_name = tensor_name(a, graftI_o(v->var, 0));
    d.initializer_name = graftI_arena_strdup(a, v->initializer ? v->initializer->name : "");
    d.snapshot_name = v->value.op ? tensor_name(a, v->value) : tensor_name(a, graftI_o(v->var, 0));
    d.initial_value_name = v->initial_value.op ? tensor_name(a, v->initial_value) : graftI_arena_strdup(a, "");
    d.is_resource = !strcmp(v->var->type, "VarHandleOp");
    d.trainable = v->trainable;
    if (graftI_arena_failed(a)) return false;
    size_t n = tensorflow__variable_def__get_packed_size(&d);
    out->data = graftI_arena_alloc(a, n ? n : 1);
    if (!out->data) return false;
    out->len = tensorflow__variable_def__pack(&d, out->data);
    return true;
}

static bool is_var_collection(const char *name)
{
    static const char *const names[] = {"local_variables", "model_variables", "global_step",
                                        "moving_average_variables", "metric_variables", NULL};
    for (int i = 0; names[i]; i++)
        if (!strcmp(name, names[i])) return true;
    return false;
}

static Tensorflow__MetaGraphDef__CollectionDefEntry *coll_entry(mgI_arena *a, const char *key,
                                                                Tensorflow__CollectionDef__KindCase kind, size_t n)
{
    Tensorflow__MetaGraphDef__CollectionDefEntry *e = graftI_arena_alloc(a, sizeof *e);
    Tensorflow__CollectionDef *c = graftI_arena_alloc(a, sizeof *c);
    if (!e || !c) return NULL;
    tensorflow__meta_graph_def__collection_def_entry__init(e);
    tensorflow__collection_def__init(c);
    e->key = graftI_arena_strdup(a, key);
    e->value = c;
    c->kind_case = kind;
    if (kind == TENSORFLOW__COLLECTION_DEF__KIND_BYTES_LIST) {
        c->bytes_list = graftI_arena_alloc(a, sizeof *c->bytes_list);
        if (!c->bytes_list) return NULL;
        tensorflow__collection_def__bytes_list__init(c->bytes_list);
        c->bytes_list->value = graftI_arena_alloc(a, (n ? n : 1) * sizeof *c->bytes_list->value);
        if (!c->bytes_list->value) return NULL;
    } else {
        c->node_list = graftI_arena_alloc(a, sizeof *c->node_list);
        if (!c->node_list) return NULL;
        tensorflow__collection_def__node_list__init(c->node_list);
        c->node_list->value = graftI_arena_alloc(a, (n ? n : 1) * sizeof *c->node_list->value);
        if (!c->node_list->value) return NULL;
    }
    return e;
}


graft_code graft_meta_graph_export_buffer(graft_graph *g, const graft_saver *saver, void **data, size_t *len,
                                          graft_status *st)
{
    if (data) *data = NULL;
    if (len) *len = 0;
    if (!g || !data || !len) return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "graft_meta_graph_export: NULL argument");
    if (graft_graph_status(g) != GRAFT_OK)
        return graft_status_set(st, GRAFT_ERR_MISUSE, "meta graph export: the graph has a sticky error: %s",
                                graft_graph_errmsg(g));
    mgI_arena *a = graftI_arena_new();
    if (!a) return graft_status_set(st, GRAFT_ERR_NOMEM, "meta graph export: out of memory");
    graft_code rc = GRAFT_OK;
    Tensorflow__MetaGraphDef meta;
    Tensorflow__MetaGraphDef__MetaInfoDef info;
    Tensorflow__GraphDef gd;
    Tensorflow__VersionDef ver;
    Tensorflow__OpList oplist;
    Tensorflow__SaverDef sd;
    tensorflow__meta_graph_def__init(&meta);
    tensorflow__meta_graph_def__meta_info_def__init(&info);
    tensorflow__graph_def__init(&gd);
    tensorflow__version_def__init(&ver);
    tensorflow__op_list__init(&oplist);
    tensorflow__saver_def__init(&sd);
    meta.meta_info_def = &info;
    meta.graph_def = &gd;
    gd.versions = &ver;
    ver.producer = GRAFT_META_PRODUCER;
    info.tensorflow_version = GRAFT_META_TF_VERSION;
    info.tensorflow_git_version = GRAFT_META_GIT_VERSION;
    info.stripped_op_list = &oplist;

    /* op types used, sorted by name as TF's stripped_op_list_for_graph, with their OpDefs */
    int nops = graft_graph_num_ops(g);
    char **types = graftI_arena_alloc(a, (size_t)(nops ? nops : 1) * sizeof *types);
    const graft_op **first = graftI_arena_alloc(a, (size_t)(nops ? nops : 1) * sizeof *first);
    if (!types || !first) goto nomem;
    size_t ntypes = 0;
    for (int i = 0; i < nops; i++) {
        const graft_op *op = graft_graph_op_at(g, i);
        size_t k = 0;
        while (k < ntypes && strcmp(types[k], op->type)) k++;
        if (k == ntypes) {
            first[ntypes] = op;
            types[ntypes++] = op->type;
        }
    }
    for (size_t i = 1; i < ntypes; i++) /* insertion sort keeps types[] and first[] paired */
        for (size_t j = i; j > 0 && strcmp(types[j - 1], types[j]) > 0; j--) {
            char *t = types[j];
            types[j] = types[j - 1];
            types[j - 1] = t;
            const graft_op *o = first[j];
            first[j] = first[j - 1];
            first[j - 1] = o;
        }
    oplist.op = graftI_arena_alloc(a, (ntypes ? ntypes : 1) * sizeof *oplist.op);
    if (!oplist.op) goto nomem;
    for (size_t k = 0; k < ntypes; k++) {
        graft_status ost;
        graft_status_clear(&ost);
        Tensorflow__OpDef *d = graftI_mg_opdef(a, types[k], &ost);
        if (!d && ost.code) {
            rc = graft_status_set(st, ost.code, "meta graph export: %s", ost.msg);
            goto out;
        }
        if (!d && !(d = fallback_opdef(a, types[k], first[k]))) goto nomem;
        oplist.op[oplist.n_op++] = d;
    }

    /* nodes, in creation order (inputs before consumers) */
    gd.node = graftI_arena_alloc(a, (size_t)(nops ? nops : 1) * sizeof *gd.node);
    if (!gd.node) goto nomem;
    for (int i = 0; i < nops; i++) {
        const graft_op *op = graft_graph_op_at(g, i);
        const Tensorflow__OpDef *od = NULL;
        for (size_t k = 0; k < ntypes && !od; k++)
            if (!strcmp(types[k], op->type)) od = oplist.op[k];
        if (!(gd.node[i] = node_def(a, op, od))) goto nomem;
    }
    gd.n_node = (size_t)nops;
    for (size_t k = 0; k < oplist.n_op; k++) /* graft's marker is not for the file */
        for (size_t j = 0; j < oplist.op[k]->n_attr; j++)
            if (oplist.op[k]->attr[j]->description &&
                !strcmp(oplist.op[k]->attr[j]->description, GRAFTI_MG_NEWER_ATTR))
                oplist.op[k]->attr[j]->description = (char *)protobuf_c_empty_string;

    /* collections */
    int nvars = graft_graph_num_variables(g);
    int ncoll = graftI_graph_num_collections(g);
    meta.collection_def = graftI_arena_alloc(a, (size_t)(ncoll + 2) * sizeof *meta.collection_def);
    if (!meta.collection_def) goto nomem;
    if (nvars > 0) {
        Tensorflow__MetaGraphDef__CollectionDefEntry *all =
            coll_entry(a, "variables", TENSORFLOW__COLLECTION_DEF__KIND_BYTES_LIST, (size_t)nvars);
        Tensorflow__MetaGraphDef__CollectionDefEntry *tr =
            coll_entry(a, "trainable_variables", TENSORFLOW__COLLECTION_DEF__KIND_BYTES_LIST, (size_t)nvars);
        if (!all || !tr) goto nomem;
        for (int i = 0; i < nvars; i++) {
            graft_variable v;
            if (!graft_graph_variable_at(g, i, &v)) continue;
            ProtobufCBinaryData b;
            if (!variable_def(a, &v, &b)) goto nomem;
            all->value->bytes_list->value[all->value->bytes_list->n_value++] = b;
            if (v.trainable) tr->value->bytes_list->value[tr->value->bytes_list->n_value++] = b;
        }
        meta.collection_def[meta.n_collection_def++] = all;
        if (tr->value->bytes_list->n_value) meta.collection_def[meta.n_collection_def++] = tr;
    }
    for (int c = 0; c < ncoll; c++) {
        const char *name = graftI_graph_collection_name(g, c);
        if (!name || !strcmp(name, "variables") || !strcmp(name, "trainable_variables")) continue;
        int n = graft_graph_collection_size(g, name);
        bool vars = is_var_collection(name);
        Tensorflow__MetaGraphDef__CollectionDefEntry *e =
            coll_entry(a, name, vars ? TENSORFLOW__COLLECTION_DEF__KIND_BYTES_LIST
                                     : TENSORFLOW__COLLECTION_DEF__KIND_NODE_LIST, (size_t)n);
        if (!e) goto nomem;
        for (int i = 0; i < n; i++) {
            graft_op *op = graft_graph_collection_at(g, name, i);
            if (!op) continue;
            if (vars) {
                graft_variable v;
                if (!graft_graph_find_variable(g, op, &v)) continue;
                ProtobufCBinaryData b;
                if (!variable_def(a, &v, &b)) goto nomem;
                e->value->bytes_list->value[e->value->bytes_list->n_value++] = b;
            } else {
                e->value->node_list->value[e->value->node_list->n_value++] = graftI_arena_strdup(a, op->name);
            }
        }
        meta.collection_def[meta.n_collection_def++] = e;
    }

    /* saver */
    if (saver) {
        graft_saver_def d;
        memset(&d, 0, sizeof d);
        graft_saver_get_def(saver, &d);
        sd.filename_tensor_name = graftI_arena_strdup(a, d.filename_tensor_name);
        sd.save_tensor_name = graftI_arena_strdup(a, d.save_tensor_name);
        sd.restore_op_name = graftI_arena_strdup(a, d.restore_op_name);
        sd.max_to_keep = d.max_to_keep;
        sd.sharded = d.sharded;
        sd.keep_checkpoint_every_n_hours = d.keep_checkpoint_every_n_hours;
        sd.version = (Tensorflow__SaverDef__CheckpointFormatVersion)d.version;
        meta.saver_def = &sd;
    }
    if (graftI_arena_failed(a)) goto nomem;

    size_t n = tensorflow__meta_graph_def__get_packed_size(&meta);
    uint8_t *buf = graftI_malloc(n ? n : 1);
    if (!buf) goto nomem;
    *len = tensorflow__meta_graph_def__pack(&meta, buf);
    *data = buf;
    graft_status_clear(st);
    goto out;
nomem:
    rc = graft_status_set(st, GRAFT_ERR_NOMEM, "meta graph export: out of memory");
out:
    graftI_arena_free(a);
    return rc;
}

void graft_meta_buffer_free(void *data)
{
    graftI_free(data);
}

graft_code graft_meta_graph_export(graft_graph *g, const graft_saver *saver, const char *path, graft_status *st)
{
    if (!path) return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "graft_meta_graph_export: NULL path");
    void *data;
    size_t len;
    graft_code c = graft_meta_graph_export_buffer(g, saver, &data, &len, st);
    if (c) {
        if (st) {
            char tmp[GRAFT_STATUS_MSG_MAX];
            snprintf(tmp, sizeof tmp, "%s", st->msg);
            graft_status_set(st, c, "%s: %s", path, tmp);
        }
        return c;
    }
    c = graftI_write_file_atomic(path, data, len, st);
    graftI_free(data);
    return c;
}
