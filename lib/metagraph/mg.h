/* lib/metagraph/mg.h - private glue of the meta-graph module: the decoded
 * MetaGraphDef with its validated node index, the TensorProto/AttrValue
 * converters and the OpDef table used by the exporter. */
#ifndef GRAFT_MG_H
#define GRAFT_MG_H

#include "internal.h"
#include "graft/metagraph.h"
#include "meta_graph.pb-c.h"
#include "saved_model.pb-c.h"
#include "variable.pb-c.h"

/* Caps (reliability.md T13). */
#define GRAFTI_META_MAX_FILE ((size_t)1 << 30)       /* .meta <= 1 GiB */
#define GRAFTI_META_MAX_DEPTH 64                     /* protobuf nesting */
#define GRAFTI_META_MAX_CONST ((size_t)1 << 30)      /* expanded constants */
#define GRAFTI_META_MAX_OUTPUTS 4096                 /* outputs of one node */
#define GRAFTI_META_MAX_TF_RANK 254                  /* TensorShapeProto dims */

/* A node input after parsing "name", "name:N" or "^name". */
typedef struct mgI_input {
    int node;   /* index into mgI_graph.nodes */
    int index;  /* output index, -1 for a control input */
} mgI_input;

typedef struct mgI_node {
    Tensorflow__NodeDef *def;
    int n_in;                /* data inputs first, then control inputs */
    int n_data;
    mgI_input *in;
    int n_out;               /* max(referenced output + 1, |_output_shapes|) */
    int n_shapes;            /* from _output_shapes (-1 rank = unknown) */
    graft_shape *shapes;
} mgI_node;

/* Allocator handed to protobuf-c: graftI_malloc with a byte budget. */
typedef struct mgI_alloc {
    ProtobufCAllocator pc;
    size_t used, budget;
    bool over;       /* the budget was hit */
    bool nomem;      /* an allocation failed */
} mgI_alloc;

struct graft_meta_graph {
    char *file;                          /* for messages */
    mgI_alloc alloc;
    Tensorflow__SavedModel *sm;          /* when read from saved_model.pb */
    Tensorflow__MetaGraphDef *own_mg;    /* when read from a .meta */
    Tensorflow__MetaGraphDef *mg;        /* the selected meta graph (borrowed from the above) */
    int n_nodes;
    mgI_node *nodes;
    int *topo;                           /* node indices, inputs before consumers */
    int *ht;                             /* open-addressing name index, -1 empty */
    size_t ht_cap;
    size_t const_bytes;                  /* constants after TF's fill rule */
    int n_funcs;
};

GRAFTI_FUNC void graftI_mg_alloc_init(mgI_alloc *a, size_t budget);
/* Iterative wire-format pre-scan guided by the message descriptors: rejects
 * nesting deeper than GRAFTI_META_MAX_DEPTH, lengths past the end, groups,
 * bad wire types and over-long varints. */
GRAFTI_FUNC graft_code graftI_mg_prescan(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len,
                                         const char *file, graft_status *st);
/* Node lookup by exact name; -1 when absent. */
GRAFTI_FUNC int graftI_mg_find(const graft_meta_graph *m, const char *name, size_t len);
/* Attr of a NodeDef, or NULL. */
GRAFTI_FUNC const Tensorflow__AttrValue *graftI_mg_attr(const Tensorflow__NodeDef *n, const char *name);
/* Structural validation of the selected meta graph and building of the index. */
GRAFTI_FUNC graft_code graftI_mg_index(graft_meta_graph *m, size_t max_const_bytes, graft_status *st);

/* ---- conversions (convert.c) ---------------------------------------------- */
/* Element size of a TF DataType for tensor_content (0 = not fixed width / unknown). */
GRAFTI_FUNC size_t graftI_tf_dtype_size(int dt);
GRAFTI_FUNC const char *graftI_tf_dtype_name(int dt);
/* TensorShapeProto -> graft_shape (rank -1 when unknown_rank). Errors name `what`. */
GRAFTI_FUNC graft_code graftI_mg_shape(const Tensorflow__TensorShapeProto *p, graft_shape *out, const char *file,
                                       const char *what, graft_status *st);
/* Checks a TensorProto's shape and value sizes; adds its expanded size to *bytes. */
GRAFTI_FUNC graft_code graftI_mg_tensor_check(const Tensorflow__TensorProto *p, const char *file, const char *what,
                                              size_t *bytes, graft_status *st);
/* TensorProto -> new graft tensor (content or typed values with TF's
 * "last value repeats" rule). */
GRAFTI_FUNC graft_tensor *graftI_mg_tensor(const Tensorflow__TensorProto *p, const char *file, const char *what,
                                           graft_status *st);

/* ---- a bump arena for building messages to pack (export) -------------------- */
typedef struct mgI_arena mgI_arena;
GRAFTI_FUNC mgI_arena *graftI_arena_new(void);
GRAFTI_FUNC void graftI_arena_free(mgI_arena *a);
/* Zeroed memory; NULL on failure (sticky: the arena remembers). */
GRAFTI_FUNC void *graftI_arena_alloc(mgI_arena *a, size_t n);
GRAFTI_FUNC char *graftI_arena_strdup(mgI_arena *a, const char *s);
GRAFTI_FUNC bool graftI_arena_failed(const mgI_arena *a);

/* graft tensor -> TensorProto (arena memory). */
GRAFTI_FUNC Tensorflow__TensorProto *graftI_mg_tensor_proto(mgI_arena *a, const graft_tensor *t);
GRAFTI_FUNC Tensorflow__TensorShapeProto *graftI_mg_shape_proto(mgI_arena *a, const graft_shape *s);

/* ---- OpDefs graft writes into stripped_op_list (opdefs.c) ------------------- */
/* TensorFlow's OpDef of an op type as graft knows it (arena memory), or NULL
 * when graft's table has no entry; st is set only on a malformed table entry. */
GRAFTI_FUNC Tensorflow__OpDef *graftI_mg_opdef(mgI_arena *a, const char *type, graft_status *st);
/* AttrDef.description of attrs newer than the TF release graft's .meta files
 * claim: written only when they differ from their default. */
#define GRAFTI_MG_NEWER_ATTR "graft: attr added after TensorFlow 1.10"
/* The table's i-th op type name (NULL past the end), for tests. */
GRAFTI_FUNC const char *graftI_mg_opdef_name(int i);
/* Convert a graft attr to an AttrValue / a default text to an AttrValue. */
GRAFTI_FUNC Tensorflow__AttrValue *graftI_mg_attr_value(mgI_arena *a, const graftI_attr *at);

#endif
