/*
 * lib/internal.h - graft's private structures and cross-file helpers (never
 * installed). Internal cross-file symbols use the graftI_ prefix and hidden
 * visibility. This header is the contract between the graph core, the session,
 * autodiff and the op files under lib/ops/.
 */
#ifndef GRAFT_INTERNAL_H
#define GRAFT_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "graft/graft.h"

#if defined(__GNUC__)
#define GRAFTI_FUNC __attribute__((visibility("hidden")))
#define GRAFTI_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define GRAFTI_FUNC
#define GRAFTI_PRINTF(a, b)
#endif

/* For impossible internal states only, never for input: compiled in debug and
 * fuzz builds, returns GRAFT_ERR_INTERNAL from the enclosing function otherwise. */
#define GRAFT_ASSERT(cond)                                                                         \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            graftI_log(GRAFT_LOG_ERROR, "graft internal error: %s at %s:%d", #cond, __FILE__, __LINE__); \
            return GRAFT_ERR_INTERNAL;                                                             \
        }                                                                                          \
    } while (0)

/* ---- allocation (all through the process-wide hook) ------------------------- */
GRAFTI_FUNC void *graftI_malloc(size_t n);
GRAFTI_FUNC void *graftI_calloc(size_t count, size_t size); /* overflow-checked */
GRAFTI_FUNC void *graftI_realloc(void *p, size_t n);
GRAFTI_FUNC void graftI_free(void *p);
GRAFTI_FUNC char *graftI_strdup(const char *s);
GRAFTI_FUNC char *graftI_strndup(const char *s, size_t n);

/* Growable byte buffer (checkpoint encoders, HDF5 child results; put in
 * lib/checkpoint/crc32c.c); after an allocation failure `oom` is set and further
 * puts are ignored, so callers check once at the end. */
typedef struct graftI_ck_buf {
    uint8_t *p;
    size_t n, cap;
    bool oom;
} graftI_ck_buf;
GRAFTI_FUNC bool graftI_ck_buf_put(graftI_ck_buf *b, const void *data, size_t n);
/* Checked arithmetic: false on overflow. */
GRAFTI_FUNC bool graftI_mul_size(size_t a, size_t b, size_t *out);
GRAFTI_FUNC bool graftI_add_size(size_t a, size_t b, size_t *out);
GRAFTI_FUNC bool graftI_mul_i64(int64_t a, int64_t b, int64_t *out);
/* Growable array helper: ensures *cap >= need elements of size elem. */
GRAFTI_FUNC bool graftI_grow(void **arr, int *cap, int need, size_t elem);

GRAFTI_FUNC void graftI_log(graft_log_level lvl, const char *fmt, ...) GRAFTI_PRINTF(2, 3);
GRAFTI_FUNC graft_code graftI_vset(graft_status *st, graft_code code, const char *fmt, va_list ap);

/* ---- file I/O through the hooks (lib/io.c) ----------------------------------- */
GRAFTI_FUNC const graft_io_hooks *graftI_io(void);
/* Reads a whole file (capped at max_bytes: larger is GRAFT_ERR_NOMEM naming the cap). */
GRAFTI_FUNC graft_code graftI_read_file(const char *path, size_t max_bytes, uint8_t **data, size_t *len,
                                        graft_status *st);
/* Atomic write: path.tempstate<random>, write all, fsync, rename, fsync dir. */
GRAFTI_FUNC graft_code graftI_write_file_atomic(const char *path, const void *data, size_t len, graft_status *st);
/* The same; *renamed tells whether the new file was renamed into place (a failure
 * after that is the directory fsync: path already holds the new bytes). */
GRAFTI_FUNC graft_code graftI_write_file_atomic_ex(const char *path, const void *data, size_t len, bool *renamed,
                                                   graft_status *st);
GRAFTI_FUNC graft_code graftI_fsync_dir(const char *dir, graft_status *st);
GRAFTI_FUNC uint64_t graftI_random64(void);

/* ---- tensors ----------------------------------------------------------------- */
typedef struct graftI_pool graftI_pool;

/* A refcounted block of tensor memory; several tensor headers may share one
 * (reshape views). String buffers own their elements' bytes. */
typedef struct graftI_buffer {
    int refcnt;
    void *data;
    size_t cap;              /* bytes */
    int64_t n_strings;       /* > 0 for string buffers: elements to release */
    void (*dealloc)(void *data, size_t n, void *arg); /* wrapped caller memory */
    void *dealloc_arg;
    graftI_pool *pool;       /* returned here instead of freed when non-NULL */
    struct graftI_buffer *next; /* pool free-list link */
    bool wrapped;            /* data is caller memory (graft_tensor_wrap) */
} graftI_buffer;

struct graft_tensor {
    int refcnt;
    graft_dtype dtype;
    int rank;
    int64_t dims[GRAFT_MAX_DIMS];
    int64_t n;               /* element count */
    size_t nbytes;           /* n * dtype size (strings: n * sizeof(graft_str)) */
    void *data;              /* == buf->data */
    graftI_buffer *buf;
    graftI_pool *pool;       /* header returned here on free when non-NULL */
};

/* Pool of buffers keyed by exact size and of tensor headers (lib/tensor.c). */
GRAFTI_FUNC graftI_pool *graftI_pool_new(void);
/* Closes the pool: frees what is cached; outstanding buffers free themselves later. */
GRAFTI_FUNC void graftI_pool_close(graftI_pool *p);
/* Tensor from the pool (NULL pool = plain allocation). Data is NOT zeroed unless zero. */
GRAFTI_FUNC graft_tensor *graftI_tensor_alloc(graftI_pool *p, graft_dtype dt, const int64_t *dims, int rank,
                                              bool zero);
/* New header sharing t's buffer with another shape of the same element count. */
GRAFTI_FUNC graft_tensor *graftI_tensor_view(graftI_pool *p, graft_tensor *t, const int64_t *dims, int rank);
GRAFTI_FUNC size_t graftI_pool_allocations(const graftI_pool *p); /* real mallocs so far */
GRAFTI_FUNC size_t graftI_pool_live_bytes(const graftI_pool *p);

/* Shapes. */
GRAFTI_FUNC bool graftI_shape_known(const graft_shape *s);  /* rank >= 0 and no -1 dim */
GRAFTI_FUNC bool graftI_shape_compatible(const graft_shape *a, const graft_shape *b);
GRAFTI_FUNC bool graftI_shape_equal(const graft_shape *a, const graft_shape *b);
/* NumPy broadcasting of static shapes (unknown dims allowed); false if incompatible. */
GRAFTI_FUNC bool graftI_broadcast_shape(const graft_shape *a, const graft_shape *b, graft_shape *out);
GRAFTI_FUNC graft_shape graftI_tensor_shape(const graft_tensor *t);

/* ---- attrs ------------------------------------------------------------------ */
typedef enum graftI_attr_type {
    GRAFTI_ATTR_NONE = 0,
    GRAFTI_ATTR_INT,
    GRAFTI_ATTR_FLOAT,
    GRAFTI_ATTR_BOOL,
    GRAFTI_ATTR_TYPE,
    GRAFTI_ATTR_SHAPE,
    GRAFTI_ATTR_STRING,
    GRAFTI_ATTR_TENSOR,
    GRAFTI_ATTR_FUNC,        /* name only (kept for round trips) */
    GRAFTI_ATTR_LIST_INT,
    GRAFTI_ATTR_LIST_FLOAT,
    GRAFTI_ATTR_LIST_BOOL,
    GRAFTI_ATTR_LIST_TYPE,
    GRAFTI_ATTR_LIST_SHAPE,
    GRAFTI_ATTR_LIST_STRING,
    GRAFTI_ATTR_LIST_TENSOR
} graftI_attr_type;

typedef struct graftI_attr {
    char *name;
    graftI_attr_type type;
    union {
        int64_t i;
        float f;
        bool b;
        graft_dtype dt;
        graft_shape shape;
        graft_str s;         /* STRING, FUNC (owned bytes) */
        graft_tensor *t;     /* owned reference */
    } v;
    int n;                   /* list length */
    union {
        int64_t *i;
        float *f;
        bool *b;
        graft_dtype *dt;
        graft_shape *shape;
        graft_str *s;
        graft_tensor **t;
    } l;                     /* owned arrays */
} graftI_attr;

/* Static description of an attr in an op signature. def is the default in a
 * tiny text form ("0", "1.5", "true", "float", "NHWC", "[1,1,1,1]", "[]"),
 * or NULL when the attr is required. */
typedef struct graftI_attr_spec {
    const char *name;
    graftI_attr_type type;
    const char *def;
} graftI_attr_spec;

GRAFTI_FUNC void graftI_attr_clear(graftI_attr *a);
GRAFTI_FUNC graft_code graftI_attr_copy(graftI_attr *dst, const graftI_attr *src);
/* Parses a spec's default text into a (cleared) attr. */
GRAFTI_FUNC graft_code graftI_attr_parse_default(const graftI_attr_spec *spec, graftI_attr *out);

/* ---- ops and graphs ---------------------------------------------------------- */
typedef struct graftI_op_def graftI_op_def;
typedef struct graftI_kctx graftI_kctx;

enum {
    GRAFTI_OP_STATEFUL = 1u << 0,   /* random, variable, assign: never deduplicated */
    GRAFTI_OP_NO_GRAD = 1u << 1,    /* no gradient flows through (Shape, ArgMax, Equal, ...) */
    GRAFTI_OP_REF_INPUT0 = 1u << 2, /* input 0 must be a variable op's output 0 (Assign*, Apply*) */
    GRAFTI_OP_VARIABLE = 1u << 3,   /* the op is a variable (VariableV2, Variable, VarHandleOp) */
    GRAFTI_OP_PLACEHOLDER = 1u << 4 /* must be fed (Placeholder) */
};

struct graftI_op_def {
    const char *name;               /* TensorFlow op type */
    int min_inputs, max_inputs;     /* max_inputs -1: any number */
    const graftI_attr_spec *attrs;  /* terminated by {NULL} */
    unsigned flags;
    /* Validates inputs/attrs and sets the outputs (graftI_set_outputs). Runs at
     * build time; op->in, op->attrs are set, op->out not yet. Errors go to st
     * (the caller prefixes the op name). */
    graft_code (*infer)(graft_op *op, graft_status *st);
    /* Computes outputs from k->in into k->out (NULL: op is not runnable). */
    graft_code (*forward)(graftI_kctx *k);
    /* Builds gradient ops: dy[i] for each output (op NULL when no gradient
     * reaches it), sets dx[i] for each input (left {NULL,0} when none). NULL
     * with GRAFTI_OP_NO_GRAD: no gradient; NULL otherwise: "no gradient for op". */
    graft_code (*grad)(graft_graph *g, graft_op *op, const graft_out *dy, graft_out *dx);
};

typedef struct graftI_outinfo {
    graft_dtype dtype;
    graft_shape shape;
} graftI_outinfo;

struct graft_op {
    int id;                       /* index in g->ops, creation order */
    graft_graph *g;
    const graftI_op_def *def;     /* NULL for an inert (unknown) op */
    char *type;                   /* TF op type (owned) */
    char *name;                   /* owned */
    char *device;                 /* owned, may be NULL */
    int n_in;
    graft_out *in;
    int n_ctrl;
    graft_op **ctrl;
    int n_out;
    graftI_outinfo *out;
    int n_attr;
    graftI_attr *attrs;
};

GRAFTI_FUNC const graftI_attr *graftI_op_attr(const graft_op *op, const char *name);
/* Typed attr access with a fallback value. */
GRAFTI_FUNC int64_t graftI_attr_i(const graft_op *op, const char *name, int64_t dflt);
GRAFTI_FUNC float graftI_attr_f(const graft_op *op, const char *name, float dflt);
GRAFTI_FUNC bool graftI_attr_b(const graft_op *op, const char *name, bool dflt);
GRAFTI_FUNC graft_dtype graftI_attr_dt(const graft_op *op, const char *name, graft_dtype dflt);
/* String attr (NUL-terminated) or dflt. */
GRAFTI_FUNC const char *graftI_attr_s(const graft_op *op, const char *name, const char *dflt);
/* Int list attr: count (or -1 if absent), values in *v (borrowed). */
GRAFTI_FUNC int graftI_attr_ilist(const graft_op *op, const char *name, const int64_t **v);

/* Used by infer: allocate n outputs (dtype INVALID, unknown shape). */
GRAFTI_FUNC graft_code graftI_set_outputs(graft_op *op, int n);
static inline graft_dtype graftI_in_dtype(const graft_op *op, int i) { return op->in[i].op->out[op->in[i].index].dtype; }
static inline const graft_shape *graftI_in_shape(const graft_op *op, int i) { return &op->in[i].op->out[op->in[i].index].shape; }
/* If input i is produced by a Const op, its value (borrowed), else NULL. Used by
 * infer for shape-like inputs (Reshape's shape, Sum's axes). */
GRAFTI_FUNC const graft_tensor *graftI_const_input(const graft_op *op, int i);

/* Registry (lib/ops/registry.c, tables listed in lib/ops/ops.def). */
GRAFTI_FUNC const graftI_op_def *graftI_op_lookup(const char *type);
GRAFTI_FUNC int graftI_op_count(void);
GRAFTI_FUNC const graftI_op_def *graftI_op_at(int i);

/* Typed-builder core (lib/graph.c): makes an op of `type` named from the one-shot
 * name (graft_name_next) or default_name, in the current scope, uniquified, with
 * the current control deps, via the same path as the generic builder. Attrs are
 * given as an array. Sticky error on failure: returns NULL. Null inputs make it
 * return NULL quietly. */
GRAFTI_FUNC graft_op *graftI_make_op(graft_graph *g, const char *type, const char *default_name,
                                     const graft_out *in, int n_in, const graftI_attr *attrs, int n_attrs);
/* Attr constructors for graftI_make_op (values borrowed; the builder copies). */
GRAFTI_FUNC graftI_attr graftI_a_int(const char *name, int64_t v);
GRAFTI_FUNC graftI_attr graftI_a_float(const char *name, float v);
GRAFTI_FUNC graftI_attr graftI_a_bool(const char *name, bool v);
GRAFTI_FUNC graftI_attr graftI_a_type(const char *name, graft_dtype v);
GRAFTI_FUNC graftI_attr graftI_a_shape(const char *name, graft_shape v);
GRAFTI_FUNC graftI_attr graftI_a_str(const char *name, const char *s);
GRAFTI_FUNC graftI_attr graftI_a_tensor(const char *name, graft_tensor *t);
GRAFTI_FUNC graftI_attr graftI_a_ilist(const char *name, const int64_t *v, int n);
GRAFTI_FUNC graftI_attr graftI_a_tlist(const char *name, const graft_dtype *v, int n);
/* Sets the sticky error (if none yet); returns code. */
GRAFTI_FUNC graft_code graftI_graph_fail(graft_graph *g, graft_code code, const char *fmt, ...) GRAFTI_PRINTF(3, 4);
/* Marks: graftI_graph_rollback removes everything added to g since the mark
 * (ops, variables, collection entries, reserved names) without allocating, so
 * multi-op builders (the meta-graph importer) can leave g unchanged on failure.
 * mark_new returns NULL when out of memory; mark_free keeps the changes. */
typedef struct graftI_graph_mark graftI_graph_mark;
GRAFTI_FUNC graftI_graph_mark *graftI_graph_mark_new(graft_graph *g);
GRAFTI_FUNC void graftI_graph_mark_free(graftI_graph_mark *m);
GRAFTI_FUNC void graftI_graph_rollback(graft_graph *g, graftI_graph_mark *m);
/* Take out / put back the pending graft_name_next name (lib/graph.c). */
GRAFTI_FUNC char *graftI_take_next_name(graft_graph *g);
GRAFTI_FUNC void graftI_restore_next_name(graft_graph *g, char *name);
/* Consts made by builders for their own use (axes, shapes): they leave a
 * pending graft_name_next name to the builder's main op (lib/ops/op_state.c;
 * lib/ops/helper_consts.h maps graft_const* to these inside op files). */
GRAFTI_FUNC graft_out graftI_helper_const(graft_graph *g, const char *name, graft_tensor *t);
GRAFTI_FUNC graft_out graftI_helper_const_f32(graft_graph *g, float v);
GRAFTI_FUNC graft_out graftI_helper_const_i32(graft_graph *g, int32_t v);
GRAFTI_FUNC graft_out graftI_helper_const_i64(graft_graph *g, int64_t v);
GRAFTI_FUNC graft_out graftI_helper_const_i32_vec(graft_graph *g, const int32_t *v, int n);
/* TF's get_seed: (graph seed, op seed) -> the seed/seed2 attrs of a random op. */
GRAFTI_FUNC void graftI_graph_seeds(graft_graph *g, int64_t op_seed, int64_t *seed, int64_t *seed2);
/* Collection names, for export. */
GRAFTI_FUNC int graftI_graph_num_collections(const graft_graph *g);
GRAFTI_FUNC const char *graftI_graph_collection_name(const graft_graph *g, int i);
/* TensorFlow's DataTypeString ("float", "double", "int32", "string", ...). */
GRAFTI_FUNC const char *graftI_tf_dtype_string(graft_dtype dt);
static inline graft_out graftI_o(graft_op *op, int i) { graft_out o = {op, op ? i : 0}; return o; }

/* ---- kernels (lib/session.c provides these to forward functions) ------------- */
struct graftI_kctx {
    graft_session *s;
    graft_op *op;
    int n_in;
    graft_tensor **in;       /* borrowed input values (never NULL except for REF_INPUT0 input 0) */
    graft_tensor **out;      /* set by the kernel: one new reference each */
    graft_status *st;
};

/* Allocates output i (from the session's pool, uninitialised unless zero). */
GRAFTI_FUNC graft_tensor *graftI_out_alloc(graftI_kctx *k, int i, graft_dtype dt, const int64_t *dims, int rank,
                                           bool zero);
/* Output i becomes t (takes the reference). */
GRAFTI_FUNC void graftI_out_set(graftI_kctx *k, int i, graft_tensor *t);
/* Output i as a view of input j with another shape (no copy). */
GRAFTI_FUNC graft_tensor *graftI_out_view(graftI_kctx *k, int i, int j, const int64_t *dims, int rank);
/* Output i may overwrite input j when nothing else uses it (refcount 1, same size); else allocates. */
GRAFTI_FUNC graft_tensor *graftI_out_reuse(graftI_kctx *k, int i, int j, graft_dtype dt, const int64_t *dims,
                                           int rank);
/* Scratch memory valid until the kernel returns (pooled). */
GRAFTI_FUNC void *graftI_scratch(graftI_kctx *k, size_t bytes);
/* Error from a kernel: prefixes "<op name> (<type>): ". */
GRAFTI_FUNC graft_code graftI_kfail(graftI_kctx *k, graft_code code, const char *fmt, ...) GRAFTI_PRINTF(3, 4);
/* The session's storage slot of a variable op (for VariableV2, Assign*, Apply*). */
GRAFTI_FUNC graft_tensor **graftI_var_slot(graftI_kctx *k, const graft_op *var);
/* Per-op persistent state in the session (e.g. an RNG counter), zero at first. */
GRAFTI_FUNC uint64_t *graftI_op_state(graftI_kctx *k);
GRAFTI_FUNC int graftI_threads(graftI_kctx *k);

/* Seeded generator (lib/random.c): Philox-free counter-based splitmix/xoshiro. */
typedef struct graftI_rng { uint64_t s[4]; } graftI_rng;
GRAFTI_FUNC void graftI_rng_seed(graftI_rng *r, uint64_t seed, uint64_t stream);
GRAFTI_FUNC uint64_t graftI_rng_next(graftI_rng *r);
GRAFTI_FUNC float graftI_rng_uniform(graftI_rng *r);  /* [0,1) */
GRAFTI_FUNC float graftI_rng_normal(graftI_rng *r);

#endif
