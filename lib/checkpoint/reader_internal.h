/*
 * lib/checkpoint/reader_internal.h - the reader's private structures, shared by
 * reader.c (opening, paths, V2) and v1.c (V1 tensor-slices checkpoints).
 */
#ifndef GRAFT_CKPT_READER_INTERNAL_H
#define GRAFT_CKPT_READER_INTERNAL_H

#include "checkpoint/ckpt_internal.h"

/* One stored slice of a tensor. len[d] == -1 is TF's "full extent" (kept as in
 * the file because it changes the slice's table key). shard: V1 table index, or
 * for V2 the index of the slice's entry in r->sl. */
typedef struct ck_slice {
    int64_t start[GRAFT_MAX_DIMS];
    int64_t len[GRAFT_MAX_DIMS];
    int shard;
} ck_slice;

typedef struct ck_entry {
    char *name; /* NUL-terminated key */
    size_t nlen;
    int dtype;  /* TF DataType number */
    graft_shape shape;
    int64_t nelem;
    /* V2 entries holding data */
    int shard;
    uint64_t offset, size;
    uint32_t crc;
    /* partitioned (V2) or any V1 tensor */
    bool sliced;
    int nslices;
    ck_slice *slices;
} ck_entry;

/* A V2 slice entry (key starting with 0x00, hidden from the listing). */
typedef struct ck_slice_entry {
    uint8_t *key;
    size_t klen;
    int dtype;
    graft_shape shape;
    int64_t nelem;
    int shard;
    uint64_t offset, size;
    uint32_t crc;
} ck_slice_entry;

struct graft_ckpt_reader {
    graft_ckpt_format fmt;
    char *prefix;
    graft_ckpt_opts opts;
    int n;
    ck_entry *e;            /* sorted bytewise by name */
    /* V2 */
    int num_shards;
    bool big_endian;
    int shard_slots;        /* 1 + the highest shard an entry uses (<= num_shards) */
    char **shard_paths;     /* [shard_slots], NULL for unused shards */
    uint64_t *shard_sizes;
    int nsl;
    ck_slice_entry *sl;     /* sorted by key */
    /* V1 */
    int ntables;
    graftI_ck_table **tables;
};

GRAFTI_FUNC bool graftI_ck_loadable_dtype(int dt);
GRAFTI_FUNC graftI_ck_limits graftI_ck_limits_of(const graft_ckpt_opts *o, bool v1);
GRAFTI_FUNC bool graftI_ck_push_entry(graft_ckpt_reader *r, int *cap, ck_entry **out);
/* sp: const Tensorflow__TensorShapeProto* / Tensorflow__TensorSliceProto* */
GRAFTI_FUNC graft_code graftI_ck_shape_from_proto(const void *sp, const char *file, const char *key,
                                                  graft_shape *out, int64_t *nelem, graft_status *st);
GRAFTI_FUNC graft_code graftI_ck_slice_from_proto(const void *sp, const graft_shape *shape, const char *file,
                                                  const char *key, ck_slice *out, int64_t *nelem, graft_status *st);
GRAFTI_FUNC bool graftI_ck_encode_slice_key(graftI_ck_buf *b, const ck_entry *e, const ck_slice *s);
GRAFTI_FUNC bool graftI_ck_slice_is_full(const ck_slice *s, const graft_shape *full);
GRAFTI_FUNC graft_shape graftI_ck_slice_shape(const ck_slice *s, const graft_shape *full);
GRAFTI_FUNC bool graftI_ck_shard_suffix(const char *s, size_t *cut, int *nshards);
typedef graft_code (*graftI_ck_read_slice_fn)(graft_ckpt_reader *r, const ck_entry *e, int j, graft_tensor **out,
                                              graft_status *st);
/* Allocates the full tensor and copies every slice into it, checking that the
 * slices neither overlap nor leave a gap. */
GRAFTI_FUNC graft_code graftI_ck_assemble(graft_ckpt_reader *r, const ck_entry *e, graftI_ck_read_slice_fn rd,
                                          const char *file, graft_tensor **out, graft_status *st);

/* V1 (v1.c) */
GRAFTI_FUNC graft_code graftI_ck_open_v1(graft_ckpt_reader *r, graft_status *st);
GRAFTI_FUNC graft_code graftI_ck_read_v1(graft_ckpt_reader *r, const ck_entry *e, graft_tensor **out,
                                         graft_status *st);

#endif
