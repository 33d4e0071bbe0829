/*
 * graft/metagraph.h - TensorFlow MetaGraphDef (.meta, and the meta graphs in a
 * saved_model.pb): reading and inspecting one, importing it into a graft graph
 * (tf.train.import_meta_graph), and exporting a graft graph as a .meta that
 * TensorFlow 1.x imports and restores (tf.train.export_meta_graph).
 *
 *     graft_graph *g = graft_graph_new();
 *     graft_meta_import *imp = NULL;
 *     if (graft_import_meta_graph(g, "model.ckpt.meta", NULL, &imp, &st)) ...;
 *     graft_saver *saver = graft_meta_import_take_saver(imp);  // may be NULL
 *     graft_out x, y;
 *     graft_graph_tensor(g, "Placeholder:0", &x, &st);
 *     graft_graph_tensor(g, "Add_2:0", &y, &st);
 *
 * Reading validates everything before anything else happens: the file size
 * (GRAFT_META_MAX_FILE by default), the protobuf wire format (nesting depth
 * <= 64, every length inside the file; protobuf-c's allocations go through
 * graft's allocator with a budget), node names unique and well formed, every
 * input resolving to a node of the file with data inputs before control
 * inputs, no cycles (TensorFlow while-loop frames are therefore refused with a
 * message saying so), attr values well formed, and every tensor constant's
 * values consistent with its dtype and shape (tensor_content of exactly
 * count x dtype size bytes, or at most count typed values, filled by repeating
 * the last one as TensorFlow does; the expanded total is capped).
 *
 * Importing adds every node, in a topological order, through the generic op
 * builder. Op types graft does not implement (summaries, queues, old training
 * ops, savers' string ops, ...) are kept as inert ops: importing never fails on
 * them, and running a fetch that needs one is an error naming the node and its
 * op type. Names: with an import scope "s" every node becomes "s/<name>"; a
 * name that clashes with an op (or name scope) already in the graph is
 * uniquified as TensorFlow's importer does ("w1" -> "w1_1", skipping names the
 * file itself uses), so placeholders defined before importing keep their names
 * and the imported ones must be looked up by their new names. The import is
 * first built into a scratch graph, so a failure leaves the target unchanged.
 * GraphDefs of producer <= 21 (TF < 1.0) whose Placeholder shape attr is a
 * scalar get an unknown shape, as TensorFlow reads them.
 *
 * Errors are "<file>: <node or key>: <what>" in st.
 */
#ifndef GRAFT_METAGRAPH_H
#define GRAFT_METAGRAPH_H
#include "graft/checkpoint.h"

#ifdef __cplusplus
extern "C" {
#endif

#define GRAFT_META_MAX_FILE ((size_t)1 << 30)

/* What an exported .meta claims: GraphDef versions {producer 26, min_consumer 0}
 * (the producer TF 1.8-1.10 write; TF 1.x imports producers >= 0 and any TF >= 1.8
 * reads it without conversion), and meta_info_def.tensorflow_version "1.10.0",
 * the TensorFlow release whose op set the OpDefs in stripped_op_list follow.
 * tensorflow_git_version says the file was written by graft. */
#define GRAFT_META_PRODUCER 26
#define GRAFT_META_TF_VERSION "1.10.0"
#define GRAFT_META_GIT_VERSION "graft-" GRAFT_VERSION_STRING

/* ---- options --------------------------------------------------------------- */
typedef struct graft_meta_opts {
    size_t max_file_bytes;        /* 0: GRAFT_META_MAX_FILE */
    size_t max_const_bytes;       /* 0: 1 GiB of constant tensors after TF's fill rule */
    const char *saved_model_tag;  /* saved_model.pb: first meta graph carrying this tag; NULL: the first */
    const char *import_scope;     /* NULL or "": none; "s": every node becomes "s/<name>" */
    bool clear_devices;           /* drop NodeDef.device strings */
    /* Tensors the caller means to fetch ("name:N" as in the file, before the
     * scope). The import resolves them and lists the placeholders and the inert
     * (not runnable) ops they depend on. */
    const char *const *return_tensors;
    int n_return_tensors;
} graft_meta_opts;

GRAFT_API void graft_meta_opts_init(graft_meta_opts *o);

/* ---- reading and inspecting ------------------------------------------------ */
typedef struct graft_meta_graph graft_meta_graph;

/* Reads a binary MetaGraphDef (.meta) or a SavedModel (saved_model.pb; chosen by
 * content, or by the ".pb" suffix when ambiguous). opts may be NULL. *out is
 * freed with graft_meta_graph_free. Text-format files are refused. */
GRAFT_API graft_code graft_meta_graph_read(const char *path, const graft_meta_opts *opts, graft_meta_graph **out,
                                           graft_status *st);
/* Same from memory; `name` is used in messages and to recognise ".pb". */
GRAFT_API graft_code graft_meta_graph_parse(const void *data, size_t len, const char *name,
                                            const graft_meta_opts *opts, graft_meta_graph **out, graft_status *st);
GRAFT_API void graft_meta_graph_free(graft_meta_graph *m);

/* Summary of a decoded meta graph; strings borrowed from m. */
typedef struct graft_meta_info {
    const char *meta_graph_version;
    const char *tensorflow_version;       /* "" when absent (TF < 1.0) */
    const char *tensorflow_git_version;
    int producer, min_consumer;           /* GraphDef versions */
    int num_nodes;
    int num_functions;                    /* FunctionDefLibrary entries (never run) */
    int num_tags;
    const char *const *tags;
    bool stripped_default_attrs;
    bool has_saver_def;
    int num_collections;
    int num_signatures;
    bool from_saved_model;
} graft_meta_info;
GRAFT_API void graft_meta_graph_get_info(const graft_meta_graph *m, graft_meta_info *out);

/* One NodeDef; strings borrowed from m. */
typedef struct graft_meta_node {
    const char *name;
    const char *op;
    const char *device;
    int num_inputs;
    const char *const *inputs;            /* as written: "a", "a:1", "^a" */
    int num_outputs;                      /* outputs seen: referenced or in _output_shapes */
    int num_output_shapes;                /* from the _output_shapes attr (0 when absent) */
    const graft_shape *output_shapes;     /* rank -1: unknown */
    graft_dtype dtype;                    /* the "dtype" or "T" attr, else GRAFT_INVALID */
    bool registered;                      /* graft knows the op type */
    bool runnable;                        /* ... and has a kernel for it */
} graft_meta_node;
GRAFT_API int graft_meta_graph_num_nodes(const graft_meta_graph *m);
/* Node i in file order; false when i is out of range. */
GRAFT_API bool graft_meta_graph_node(const graft_meta_graph *m, int i, graft_meta_node *out);
/* Index of the node with this name, or -1. */
GRAFT_API int graft_meta_graph_find_node(const graft_meta_graph *m, const char *name);
/* The SaverDef, if the file has one (strings borrowed from m). */
GRAFT_API bool graft_meta_graph_saver_def(const graft_meta_graph *m, graft_saver_def *out);

/* ---- importing ------------------------------------------------------------- */
typedef struct graft_meta_import graft_meta_import;

/* Adds m's nodes to g (see the top of this header), registers the variables
 * of the "variables"/"trainable_variables" collections (VariableDef; resource
 * variables included), copies node_list collections, and, when the file has a
 * SaverDef whose nodes graft can use, makes a graft_saver over the imported
 * graph's own checkpoint-key -> variable mapping. res (may be NULL) receives a
 * result object freed with graft_meta_import_free. On failure g is unchanged. */
GRAFT_API graft_code graft_meta_graph_import(graft_graph *g, const graft_meta_graph *m, const graft_meta_opts *opts,
                                             graft_meta_import **res, graft_status *st);
/* graft_meta_graph_read + graft_meta_graph_import. */
GRAFT_API graft_code graft_import_meta_graph(graft_graph *g, const char *path, const graft_meta_opts *opts,
                                             graft_meta_import **res, graft_status *st);
GRAFT_API void graft_meta_import_free(graft_meta_import *r);

/* Resolved opts.return_tensors, in order. */
GRAFT_API int graft_meta_import_num_return_tensors(const graft_meta_import *r);
GRAFT_API graft_out graft_meta_import_return_tensor(const graft_meta_import *r, int i);
/* Placeholders (not PlaceholderWithDefault) that the return tensors depend on
 * and that must be fed to run them, e.g. a dropout keep_prob. */
GRAFT_API int graft_meta_import_num_missing_feeds(const graft_meta_import *r);
GRAFT_API graft_op *graft_meta_import_missing_feed(const graft_meta_import *r, int i);
/* Ops the return tensors depend on that graft cannot run (inert imports). */
GRAFT_API int graft_meta_import_num_unrunnable(const graft_meta_import *r);
GRAFT_API graft_op *graft_meta_import_unrunnable(const graft_meta_import *r, int i);
/* Every op type in the file graft has no kernel for, with counts ("ScalarSummary"). */
GRAFT_API int graft_meta_import_num_inert_types(const graft_meta_import *r);
GRAFT_API const char *graft_meta_import_inert_type(const graft_meta_import *r, int i, int *count);
/* Number of variables registered by the import. */
GRAFT_API int graft_meta_import_num_variables(const graft_meta_import *r);
/* The Saver rebuilt from the SaverDef (reusing the imported save/ nodes), or
 * NULL when the file has none or it could not be rebuilt (see the note). The
 * caller owns it after this call (graft_saver_free); a second call returns NULL. */
GRAFT_API graft_saver *graft_meta_import_take_saver(graft_meta_import *r);
/* Why no saver was made ("" when one was, or when the file has no SaverDef). */
GRAFT_API const char *graft_meta_import_saver_note(const graft_meta_import *r);

/* ---- exporting ------------------------------------------------------------- */
/* Writes g as a MetaGraphDef to path atomically. saver may be NULL (no
 * saver_def); otherwise its SaverDef is recorded (its save/ nodes are already in
 * the graph). The file has meta_info_def (stripped_op_list with an OpDef per op
 * type used, tensorflow_version GRAFT_META_TF_VERSION), graph_def (versions
 * producer GRAFT_META_PRODUCER, every attr written explicitly: default attrs
 * are not stripped), the "variables" and "trainable_variables" collections as
 * VariableDefs, and graft's node_list collections. */
GRAFT_API graft_code graft_meta_graph_export(graft_graph *g, const graft_saver *saver, const char *path,
                                             graft_status *st);
/* Same into memory; *data is released with graft_meta_buffer_free. */
GRAFT_API graft_code graft_meta_graph_export_buffer(graft_graph *g, const graft_saver *saver, void **data,
                                                    size_t *len, graft_status *st);
GRAFT_API void graft_meta_buffer_free(void *data);

#ifdef __cplusplus
}
#endif
#endif
