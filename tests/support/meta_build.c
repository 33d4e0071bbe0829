/* tests/support/meta_build.c - small MetaGraphDef construction for tests. */
#include "meta_build.h"

#include <stdlib.h>
#include <string.h>

struct mb {
    void **blocks;
    int n, cap;
    Tensorflow__MetaGraphDef meta;
    Tensorflow__GraphDef graph;
    Tensorflow__MetaGraphDef__MetaInfoDef info;
    Tensorflow__NodeDef **nodes;
    int n_nodes, cap_nodes;
};

void *mb_alloc(mb *b, size_t n)
{
    void *p = calloc(1, n ? n : 1);
    if (b->n == b->cap) b->blocks = realloc(b->blocks, (size_t)(b->cap = b->cap ? b->cap * 2 : 64) * sizeof(void *));
    b->blocks[b->n++] = p;
    return p;
}

char *mb_strdup(mb *b, const char *s)
{
    char *p = mb_alloc(b, strlen(s) + 1);
    strcpy(p, s);
    return p;
}

mb *mb_new(void)
{
    mb *b = calloc(1, sizeof *b);
    tensorflow__meta_graph_def__init(&b->meta);
    tensorflow__graph_def__init(&b->graph);
    tensorflow__meta_graph_def__meta_info_def__init(&b->info);
    b->meta.graph_def = &b->graph;
    b->meta.meta_info_def = &b->info;
    return b;
}

void mb_free(mb *b)
{
    if (!b) return;
    for (int i = 0; i < b->n; i++) free(b->blocks[i]);
    free(b->blocks);
    free(b->nodes);
    free(b);
}

Tensorflow__MetaGraphDef *mb_meta(mb *b) { return &b->meta; }

Tensorflow__NodeDef *mb_node(mb *b, const char *name, const char *op, const char *const *inputs)
{
    Tensorflow__NodeDef *n = mb_alloc(b, sizeof *n);
    tensorflow__node_def__init(n);
    n->name = mb_strdup(b, name);
    n->op = mb_strdup(b, op);
    int k = 0;
    while (inputs && inputs[k]) k++;
    if (k) {
        n->input = mb_alloc(b, (size_t)k * sizeof(char *));
        for (int i = 0; i < k; i++) n->input[i] = mb_strdup(b, inputs[i]);
        n->n_input = (size_t)k;
    }
    if (b->n_nodes == b->cap_nodes)
        b->nodes = realloc(b->nodes, (size_t)(b->cap_nodes = b->cap_nodes ? b->cap_nodes * 2 : 16) * sizeof(void *));
    b->nodes[b->n_nodes++] = n;
    b->graph.node = b->nodes;
    b->graph.n_node = (size_t)b->n_nodes;
    return n;
}

void mb_attr(mb *b, Tensorflow__NodeDef *n, const char *key, Tensorflow__AttrValue *v)
{
    Tensorflow__NodeDef__AttrEntry **a = mb_alloc(b, (n->n_attr + 1) * sizeof *a);
    if (n->n_attr) memcpy(a, n->attr, n->n_attr * sizeof *a);
    Tensorflow__NodeDef__AttrEntry *e = mb_alloc(b, sizeof *e);
    tensorflow__node_def__attr_entry__init(e);
    e->key = mb_strdup(b, key);
    e->value = v;
    a[n->n_attr++] = e;
    n->attr = a;
}

static Tensorflow__AttrValue *av(mb *b)
{
    Tensorflow__AttrValue *v = mb_alloc(b, sizeof *v);
    tensorflow__attr_value__init(v);
    return v;
}

Tensorflow__AttrValue *mb_type(mb *b, int dt)
{
    Tensorflow__AttrValue *v = av(b);
    v->value_case = TENSORFLOW__ATTR_VALUE__VALUE_TYPE;
    v->type = (Tensorflow__DataType)dt;
    return v;
}
Tensorflow__AttrValue *mb_int(mb *b, int64_t x)
{
    Tensorflow__AttrValue *v = av(b);
    v->value_case = TENSORFLOW__ATTR_VALUE__VALUE_I;
    v->i = x;
    return v;
}
Tensorflow__AttrValue *mb_float(mb *b, float x)
{
    Tensorflow__AttrValue *v = av(b);
    v->value_case = TENSORFLOW__ATTR_VALUE__VALUE_F;
    v->f = x;
    return v;
}
Tensorflow__AttrValue *mb_bool(mb *b, bool x)
{
    Tensorflow__AttrValue *v = av(b);
    v->value_case = TENSORFLOW__ATTR_VALUE__VALUE_B;
    v->b = x;
    return v;
}
Tensorflow__AttrValue *mb_str(mb *b, const char *s)
{
    Tensorflow__AttrValue *v = av(b);
    v->value_case = TENSORFLOW__ATTR_VALUE__VALUE_S;
    v->s.data = (uint8_t *)mb_strdup(b, s);
    v->s.len = strlen(s);
    return v;
}

Tensorflow__TensorShapeProto *mb_shape_proto(mb *b, int rank, const int64_t *dims)
{
    Tensorflow__TensorShapeProto *s = mb_alloc(b, sizeof *s);
    tensorflow__tensor_shape_proto__init(s);
    if (rank < 0) {
        s->unknown_rank = 1;
        return s;
    }
    if (rank) {
        s->dim = mb_alloc(b, (size_t)rank * sizeof *s->dim);
        for (int i = 0; i < rank; i++) {
            s->dim[i] = mb_alloc(b, sizeof **s->dim);
            tensorflow__tensor_shape_proto__dim__init(s->dim[i]);
            s->dim[i]->size = dims[i];
        }
        s->n_dim = (size_t)rank;
    }
    return s;
}

Tensorflow__AttrValue *mb_shape(mb *b, int rank, const int64_t *dims)
{
    Tensorflow__AttrValue *v = av(b);
    v->value_case = TENSORFLOW__ATTR_VALUE__VALUE_SHAPE;
    v->shape = mb_shape_proto(b, rank, dims);
    return v;
}

Tensorflow__AttrValue *mb_ints(mb *b, const int64_t *x, int n)
{
    Tensorflow__AttrValue *v = av(b);
    v->value_case = TENSORFLOW__ATTR_VALUE__VALUE_LIST;
    v->list = mb_alloc(b, sizeof *v->list);
    tensorflow__attr_value__list_value__init(v->list);
    if (n) {
        v->list->i = mb_alloc(b, (size_t)n * sizeof(int64_t));
        memcpy(v->list->i, x, (size_t)n * sizeof(int64_t));
        v->list->n_i = (size_t)n;
    }
    return v;
}

Tensorflow__TensorProto *mb_tensor(mb *b, int dt, int rank, const int64_t *dims)
{
    Tensorflow__TensorProto *t = mb_alloc(b, sizeof *t);
    tensorflow__tensor_proto__init(t);
    t->dtype = (Tensorflow__DataType)dt;
    t->tensor_shape = mb_shape_proto(b, rank, dims);
    return t;
}

Tensorflow__AttrValue *mb_tensor_attr(mb *b, Tensorflow__TensorProto *t)
{
    Tensorflow__AttrValue *v = av(b);
    v->value_case = TENSORFLOW__ATTR_VALUE__VALUE_TENSOR;
    v->tensor = t;
    return v;
}

Tensorflow__NodeDef *mb_placeholder(mb *b, const char *name, int dt, int rank, const int64_t *dims)
{
    Tensorflow__NodeDef *n = mb_node(b, name, "Placeholder", NULL);
    mb_attr(b, n, "dtype", mb_type(b, dt));
    mb_attr(b, n, "shape", mb_shape(b, rank, dims));
    return n;
}

Tensorflow__NodeDef *mb_const_f32(mb *b, const char *name, const float *v, int rank, const int64_t *dims)
{
    Tensorflow__NodeDef *n = mb_node(b, name, "Const", NULL);
    Tensorflow__TensorProto *t = mb_tensor(b, 1, rank, dims);
    size_t cnt = 1;
    for (int i = 0; i < rank; i++) cnt *= (size_t)dims[i];
    t->tensor_content.data = mb_alloc(b, cnt * 4);
    memcpy(t->tensor_content.data, v, cnt * 4);
    t->tensor_content.len = cnt * 4;
    mb_attr(b, n, "dtype", mb_type(b, 1));
    mb_attr(b, n, "value", mb_tensor_attr(b, t));
    return n;
}

uint8_t *mb_pack(mb *b, size_t *len)
{
    size_t n = tensorflow__meta_graph_def__get_packed_size(&b->meta);
    uint8_t *p = malloc(n ? n : 1);
    *len = tensorflow__meta_graph_def__pack(&b->meta, p);
    return p;
}
