/*
 * graft/checkpoint.h - TensorFlow checkpoints: reading V2 tensor bundles and V1
 * single-file checkpoints, writing V2 bundles TensorFlow opens unchanged, the
 * `checkpoint` state file, and the Saver (TF1 tf.train.Saver semantics) over
 * all variables, a list of variables, or a key->variable map.
 *
 * Formats (see docs/file-formats.md):
 *  - V2 (TF >= 0.12): PREFIX.index (a LevelDB-format table of BundleEntryProto)
 *    plus PREFIX.data-SSSSS-of-NNNNN shards holding the raw tensor bytes, each
 *    tensor protected by a masked crc32c.
 *  - V1 (TF < 0.12, TF-slim's vgg_16.ckpt): one table file PREFIX (or a sharded
 *    set PREFIX-SSSSS-of-NNNNN) of SavedTensorSlices records keyed by OrderedCode.
 *  - TF2 object-based checkpoints are V2 bundles whose keys are object paths
 *    ending in "/.ATTRIBUTES/VARIABLE_VALUE"; they are read by those keys.
 *
 * Reading never trusts the file: every offset, length, varint and shape is
 * checked before use, every block and tensor checksum is verified, and errors
 * name the file and the key or offset: "<file>: <key or offset>: <what>
 * (<expected> vs <found>)". Writing follows the crash-safe protocol of
 * docs/file-formats.md: temp files, fsync, rename, index last.
 *
 * Ownership: handles are freed with their _free function (NULL is a no-op).
 * Strings returned by a handle are borrowed and live as long as the handle.
 * Tensors returned through `graft_tensor **out` are new references the caller
 * frees with graft_tensor_free.
 */
#ifndef GRAFT_CHECKPOINT_H
#define GRAFT_CHECKPOINT_H
#include "graft/session.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ==== reading ==================================================================== */

typedef struct graft_ckpt_reader graft_ckpt_reader;

typedef enum graft_ckpt_format { GRAFT_CKPT_V1 = 1, GRAFT_CKPT_V2 = 2 } graft_ckpt_format;

/* Resource caps and path policy for opening checkpoints. Initialise with
 * graft_ckpt_opts_init; a cap that is hit gives GRAFT_ERR_NOMEM naming it. */
typedef struct graft_ckpt_opts {
    uint64_t max_index_bytes; /* V2 .index file / any one table block: 1 GiB; V1 blocks may be 4x this */
    int64_t max_entries;      /* table entries, tensors, slices: 1,000,000 */
    size_t max_key_bytes;     /* one key: 64 KiB */
    unsigned flags;           /* GRAFT_CKPT_* below */
} graft_ckpt_opts;

/* A `checkpoint` state file may name paths outside its directory (absolute
 * paths, ".."): refused unless this flag is set (see graft_latest_checkpoint). */
#define GRAFT_CKPT_ALLOW_OUTSIDE_DIR 1u

GRAFT_API void graft_ckpt_opts_init(graft_ckpt_opts *o);

/* Opens a checkpoint. path may be
 *  - a prefix ("dir/model.ckpt-1000"), V2 or V1 (a V1 sharded set by its
 *    prefix, its "-?????-of-NNNNN" pattern, or any one shard file);
 *  - "x.index", "x.data-00000-of-00001" or "x.meta" (normalised to prefix x);
 *  - a directory: its `checkpoint` state file's latest checkpoint, else a
 *    SavedModel's variables/variables, else the only *.index it holds.
 * The V2 index (or V1 meta) is read and validated completely here: dtypes,
 * shapes, sizes, shards, extents and slices; tensor data is read on demand.
 * opts may be NULL (defaults). Returns NULL with st set on failure. */
GRAFT_API graft_ckpt_reader *graft_ckpt_reader_open(const char *path, const graft_ckpt_opts *opts,
                                                    graft_status *st);
GRAFT_API void graft_ckpt_reader_free(graft_ckpt_reader *r);

GRAFT_API graft_ckpt_format graft_ckpt_reader_format(const graft_ckpt_reader *r);
/* The normalised prefix (V1: the file or shard-set prefix). */
GRAFT_API const char *graft_ckpt_reader_prefix(const graft_ckpt_reader *r);

/* One tensor as the checkpoint describes it. dtype holds TensorFlow's DataType
 * number and may be a type graft lists but cannot load (complex64, qint8, ...;
 * see graft_ckpt_dtype_name). Partition slices are hidden: a partitioned
 * variable appears once, under its full name and shape. */
typedef struct graft_ckpt_entry {
    const char *name;   /* the checkpoint key, borrowed */
    int dtype;          /* TF DataType number */
    graft_shape shape;  /* fully known */
    int64_t num_elements;
    int num_slices;     /* > 1 for a partitioned variable */
} graft_ckpt_entry;

/* Entries are sorted bytewise by name. */
GRAFT_API int graft_ckpt_reader_num_entries(const graft_ckpt_reader *r);
GRAFT_API bool graft_ckpt_reader_entry(const graft_ckpt_reader *r, int i, graft_ckpt_entry *out);
/* Index of the entry called name, or -1. */
GRAFT_API int graft_ckpt_reader_find(const graft_ckpt_reader *r, const char *name);
/* Reads one tensor: data checked against its crc32c (V2) and its declared size;
 * partitioned tensors reassembled; big-endian bundles byte-swapped.
 * GRAFT_ERR_NOT_FOUND for a missing key, GRAFT_ERR_UNSUPPORTED for a dtype graft
 * cannot hold, GRAFT_ERR_CORRUPT for damaged data. */
GRAFT_API graft_code graft_ckpt_reader_read(graft_ckpt_reader *r, const char *name, graft_tensor **out,
                                            graft_status *st);
/* Reads and checks every tensor (loadable dtypes), stopping at the first error. */
GRAFT_API graft_code graft_ckpt_reader_verify(graft_ckpt_reader *r, graft_status *st);

/* TensorFlow's Python name of any DataType number ("float32", "complex64",
 * "qint8", "resource", ...); "invalid" for unknown numbers. */
GRAFT_API const char *graft_ckpt_dtype_name(int dtype);

/* ==== writing (V2) ================================================================ */

typedef struct graft_ckpt_writer graft_ckpt_writer;

/* Starts a V2 checkpoint at prefix (its directory must exist). Data goes to
 * "<prefix>.data-00000-of-00001.tempstate<random>" as tensors are added. */
GRAFT_API graft_ckpt_writer *graft_ckpt_writer_new(const char *prefix, graft_status *st);
/* Adds a tensor under key (any non-empty bytes without NUL; keys must be unique).
 * The tensor is written at once; t is only borrowed. */
GRAFT_API graft_code graft_ckpt_writer_add(graft_ckpt_writer *w, const char *key, const graft_tensor *t,
                                           graft_status *st);
/* Adds one partition of a partitioned variable: t holds the box starting at
 * start[] with t's shape inside the full tensor of full_shape (TF's AddSlice;
 * the full entry lists every slice added under key). */
GRAFT_API graft_code graft_ckpt_writer_add_slice(graft_ckpt_writer *w, const char *key, graft_shape full_shape,
                                                 const int64_t *start, const graft_tensor *t, graft_status *st);
/* Completes the checkpoint: data file fsynced and renamed, then the index built
 * (keys sorted bytewise), written to a temp file, fsynced and renamed last, then
 * the directory fsynced. On failure no .index appears and temp files are
 * removed. The writer must still be freed. */
GRAFT_API graft_code graft_ckpt_writer_finish(graft_ckpt_writer *w, graft_status *st);
/* Frees the writer; an unfinished checkpoint is abandoned (temp files removed). */
GRAFT_API void graft_ckpt_writer_free(graft_ckpt_writer *w);

/* Removes a checkpoint's files: prefix.index, prefix.data-*, prefix.meta (V2)
 * or the V1 file(s). Missing files are not an error. */
GRAFT_API graft_code graft_ckpt_remove(const char *prefix, graft_status *st);

/* ==== the `checkpoint` state file ================================================= */

/* CheckpointState (text format). Read: strings owned by graft (free with
 * graft_checkpoint_state_free); write: everything borrowed from the caller. */
typedef struct graft_checkpoint_state {
    char *model_checkpoint_path;
    char **all_model_checkpoint_paths;   /* oldest -> newest */
    int n_paths;
    double *all_model_checkpoint_timestamps; /* NULL/0 when absent */
    int n_timestamps;
    double last_preserved_timestamp;
    bool has_last_preserved_timestamp;
} graft_checkpoint_state;

/* Reads dir/<latest_filename> (NULL = "checkpoint"). Entries are returned as
 * written (not resolved). GRAFT_ERR_NOT_FOUND if the file does not exist,
 * GRAFT_ERR_CORRUPT on a parse error or an empty model_checkpoint_path. */
GRAFT_API graft_code graft_checkpoint_state_read(const char *dir, const char *latest_filename,
                                                 graft_checkpoint_state **out, graft_status *st);
GRAFT_API void graft_checkpoint_state_free(graft_checkpoint_state *s);
/* Writes the state atomically (temp file, fsync, rename, fsync dir) in
 * TensorFlow's text format. Timestamps are written only when present. On failure
 * the previous file stays as it was: if the directory fsync after the rename
 * fails, the previous file (or its absence) is put back; only if that fails too
 * does the new file stay, which the message says. */
GRAFT_API graft_code graft_checkpoint_state_write(const char *dir, const char *latest_filename,
                                                  const graft_checkpoint_state *s, graft_status *st);
/* Writes (atomically) a `checkpoint` file in prefix's directory whose
 * model_checkpoint_path and only entry is prefix's basename, as a Saver does after
 * saving there; for checkpoints written with graft_ckpt_writer. */
GRAFT_API graft_code graft_checkpoint_state_write_for(const char *prefix, graft_status *st);
/* Resolves an entry of a state file in dir as TensorFlow does (relative paths
 * are joined onto dir). Without GRAFT_CKPT_ALLOW_OUTSIDE_DIR an entry leading
 * outside dir is refused, except that an absolute path whose checkpoint is gone
 * but whose basename exists in dir resolves there (a moved directory). */
GRAFT_API graft_code graft_checkpoint_resolve(const char *dir, const char *entry, unsigned flags, char *out,
                                              size_t cap, graft_status *st);
/* tf.train.latest_checkpoint(dir): the resolved model_checkpoint_path if that
 * checkpoint exists (prefix.index, or the V1 file); otherwise the newest entry
 * of all_model_checkpoint_paths that exists, with a warning naming the missing
 * one. GRAFT_ERR_NOT_FOUND when there is no state file or no listed checkpoint
 * exists (the message lists what was tried). */
GRAFT_API graft_code graft_latest_checkpoint(const char *dir, char *out, size_t cap, graft_status *st);
GRAFT_API graft_code graft_latest_checkpoint_ex(const char *dir, const char *latest_filename, unsigned flags,
                                                char *out, size_t cap, graft_status *st);

/* ==== Saver ========================================================================= */

typedef struct graft_saver graft_saver;

/* What a TF SaverDef records (saver.proto); strings borrowed from the saver. */
typedef struct graft_saver_def {
    const char *filename_tensor_name;  /* "save/Const:0" */
    const char *save_tensor_name;      /* "save/control_dependency:0" */
    const char *restore_op_name;       /* "save/restore_all" */
    int max_to_keep;                   /* 5 */
    bool sharded;                      /* false */
    float keep_checkpoint_every_n_hours; /* 10000 */
    int version;                       /* 2 = V2 */
} graft_saver_def;

GRAFT_API void graft_saver_get_def(const graft_saver *s, graft_saver_def *out);

typedef struct graft_saver_opts {
    int max_to_keep;                      /* 5; 0 keeps every checkpoint (state lists the newest) */
    double keep_checkpoint_every_n_hours; /* 10000 */
    bool write_meta_graph;                /* true: also write <prefix>.meta */
    bool save_relative_paths;             /* true (TF's default is false): state file entries relative */
    bool write_state_timestamps;          /* false: TF < 1.13 cannot parse them (mtimes are used instead) */
    bool pad_step_number;                 /* false: "prefix-1000"; true: "prefix-00001000" */
    bool allow_nonfinite;                 /* false: refuse to save tensors holding NaN/Inf */
    const char *latest_filename;          /* NULL = "checkpoint" */
    const char *name;                     /* node scope, NULL = "save" ("save_1" when taken) */
    double (*clock)(void *ud);            /* seconds since the epoch; NULL = the real clock */
    void *clock_ud;
} graft_saver_opts;

GRAFT_API void graft_saver_opts_init(graft_saver_opts *o);

/* A Saver over every variable of g (graft_graph_variable_at order), keyed by
 * variable op name. Adds TensorFlow's save/ nodes to g (filename, Const,
 * SaveV2 + consts, control_dependency, RestoreV2 + consts, Assign*,
 * restore_all) so an exported .meta restores in TensorFlow. opts may be NULL.
 * The saver borrows g, which must outlive it. */
GRAFT_API graft_saver *graft_saver_new(graft_graph *g, const graft_saver_opts *opts, graft_status *st);
/* Over the given variable ops (VariableV2/Variable/VarHandleOp, or their
 * name/read snapshots), keyed by op name. */
GRAFT_API graft_saver *graft_saver_new_list(graft_graph *g, graft_op *const *vars, int n,
                                            const graft_saver_opts *opts, graft_status *st);
/* Over a key -> variable map: keys[i] is the checkpoint key of vars[i]. */
GRAFT_API graft_saver *graft_saver_new_map(graft_graph *g, const char *const *keys, graft_op *const *vars, int n,
                                           const graft_saver_opts *opts, graft_status *st);
/* For the meta-graph importer: a Saver over keys/vars that adds NO nodes and
 * records def's node names (the imported save/ nodes). def's max_to_keep and
 * keep_checkpoint_every_n_hours override opts. */
GRAFT_API graft_saver *graft_saver_new_from_def(graft_graph *g, const char *const *keys, graft_op *const *vars,
                                                int n, const graft_saver_def *def, const graft_saver_opts *opts,
                                                graft_status *st);
/* Same, deriving keys and variables from the graph's existing save nodes: the
 * SaveV2 op feeding def->save_tensor_name (its tensor_names Const and its
 * tensor inputs, each a variable or its snapshot). */
GRAFT_API graft_saver *graft_saver_from_graph(graft_graph *g, const graft_saver_def *def,
                                              const graft_saver_opts *opts, graft_status *st);
GRAFT_API void graft_saver_free(graft_saver *s);

/* Saves the saver's variables from sess to save_path (global_step >= 0 appends
 * "-<step>"), then as tf.train.Saver.save: updates the retention list and the
 * state file, deletes checkpoints beyond max_to_keep (keeping one every
 * keep_checkpoint_every_n_hours), and writes <prefix>.meta when
 * write_meta_graph. The first save into a directory rebuilds the retention
 * list from its state file, so retention survives restarts, and removes
 * leftovers of interrupted saves there (only graft's own "*.tempstate<N>" temp
 * names). out_prefix (may be NULL) receives the checkpoint prefix.
 * Uninitialised variables, and NaN/Inf unless allow_nonfinite, are refused
 * before anything is written. A failed save leaves the previous checkpoint and
 * the state file as they were, except as below.
 * Saving again to an existing prefix (no global step, as saver.save(sess,
 * "model.ckpt") in a loop): index and data cannot be replaced in one rename, so
 * the new values are first saved as "<prefix>.graft-swap" (or "...-1") and the
 * state file names that copy while the prefix is rewritten; then it names the
 * prefix and the copy is removed. A crash at any moment leaves the state naming
 * a complete checkpoint of the old or the new values; a failure after the copy
 * is named says so ("the new values are saved as ..."). Costs a second write. */
GRAFT_API graft_code graft_saver_save(graft_saver *s, graft_session *sess, const char *save_path,
                                      int64_t global_step, char *out_prefix, size_t cap, graft_status *st);
/* Restores from a checkpoint (any path graft_ckpt_reader_open accepts).
 * Transactional: every tensor is read and checked (presence, dtype, shape)
 * before any variable changes; all mismatches are reported in one message, each
 * naming the key and both dtypes/shapes. Keys nothing asks for are ignored. */
GRAFT_API graft_code graft_saver_restore(graft_saver *s, graft_session *sess, const char *path, graft_status *st);

/* The retention list (oldest first), as TF's Saver.last_checkpoints. */
GRAFT_API int graft_saver_num_last_checkpoints(const graft_saver *s);
GRAFT_API const char *graft_saver_last_checkpoint(const graft_saver *s, int i);
/* Replaces the retention list with the checkpoints of dir's state file that
 * still exist (timestamps from the file, else the files' mtimes), as TF's
 * recover_last_checkpoints. graft_saver_save does this itself on its first
 * save into a directory. */
GRAFT_API graft_code graft_saver_recover_last_checkpoints(graft_saver *s, const char *dir, graft_status *st);

/* Variables and keys of a saver (borrowed). */
GRAFT_API int graft_saver_num_vars(const graft_saver *s);
GRAFT_API graft_op *graft_saver_var(const graft_saver *s, int i);
GRAFT_API const char *graft_saver_key(const graft_saver *s, int i);

#ifdef __cplusplus
}
#endif
#endif
