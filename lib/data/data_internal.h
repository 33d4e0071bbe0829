/*
 * lib/data/data_internal.h - the dataset structure shared by the files of the
 * data module (dataset.c, idx.c, h5data.c, batcher.c). Never installed.
 */
#ifndef GRAFT_DATA_INTERNAL_H
#define GRAFT_DATA_INTERNAL_H

#include "internal.h"

struct graft_dataset {
    int64_t n;         /* examples */
    int64_t h, w, c;   /* one image: [H,W,C] */
    graft_dtype dtype; /* GRAFT_UINT8 or GRAFT_FLOAT */
    void *pixels;      /* owned: n*h*w*c values of dtype, [N,H,W,C] */
    int32_t *labels;   /* owned: n values >= 0 */
};

/* Bytes of one image (checked when the dataset was made). */
static inline size_t graftI_ds_image_bytes(const graft_dataset *ds)
{
    return (size_t)(ds->h * ds->w * ds->c) * graft_dtype_size(ds->dtype);
}

/* Resolves opts (NULL = defaults) into *o; max_bytes 0 -> the default cap. */
GRAFTI_FUNC void graftI_data_opts_resolve(const graft_data_opts *opts, graft_data_opts *o);
/* Checks image dims and pixel type and that n images fit in max_bytes; sets *image_bytes. */
GRAFTI_FUNC graft_code graftI_ds_check_dims(const char *what, graft_dtype dt, int64_t n, int64_t h, int64_t w,
                                            int64_t c, int64_t max_bytes, size_t *image_bytes,
                                            graft_status *st);
/* A dataset taking ownership of pixels and labels (freed on failure too). */
GRAFTI_FUNC graft_dataset *graftI_ds_adopt(graft_dtype dt, int64_t n, int64_t h, int64_t w, int64_t c,
                                           void *pixels, int32_t *labels, graft_status *st);
/* Validates the filter part of o: limit >= 0, distinct classes >= 0, relabel only with classes. */
GRAFTI_FUNC graft_code graftI_ds_check_filter(const graft_data_opts *o, const char *what, graft_status *st);
/* Applies the class filter / relabel / limit of o in place (compacts the arrays). */
GRAFTI_FUNC graft_code graftI_ds_filter_inplace(graft_dataset *ds, const graft_data_opts *o, const char *what,
                                                graft_status *st);

/* Checks the layout message of the object at addr (a hard link's address) in
 * an HDF5 file image before libhdf5 decodes it (h5guard.c). key names the
 * object in messages. GRAFT_ERR_CORRUPT when it is malformed. */
GRAFTI_FUNC graft_code graftI_h5_precheck(const void *data, size_t len, uint64_t addr, const char *name,
                                          const char *key, graft_status *st);
/* The same for the root group, found through the superblock: run before libhdf5
 * opens the file (opening loads the root group's header). */
GRAFTI_FUNC graft_code graftI_h5_precheck_root(const void *data, size_t len, const char *name, graft_status *st);

/* HDF5 image datasets (h5data.c): the parse itself, in this process (resolved options;
 * graft_dataset_load_h5 runs it through graftI_h5_run, h5util.h). */
GRAFTI_FUNC graft_dataset *graftI_h5_parse(const void *data, size_t len, const char *name, const graft_data_opts *o,
                                           graft_status *st);
/* Tests: when set, runs in the child before it parses (to crash, hang or probe limits). */
extern GRAFTI_FUNC void (*graftI_h5_child_hook)(void);

/* The data module's own deterministic generator (splitmix64), so that batch
 * orders never change when other generators in graft do. */
GRAFTI_FUNC uint64_t graftI_data_mix(uint64_t x);
/* Writes a permutation of 0..n-1 into perm: Fisher-Yates driven by splitmix64
 * seeded with mix(seed ^ mix(stream)). Pure function of (n, seed, stream). */
GRAFTI_FUNC void graftI_data_permute(int64_t *perm, int64_t n, uint64_t seed, uint64_t stream);

#endif
