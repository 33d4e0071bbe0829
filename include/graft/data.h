/*
 * graft/data.h - training data: Fashion-MNIST read straight from its IDX .gz
 * files, an HDF5 layout for image datasets (read and write), and a batcher
 * that shuffles deterministically and fills float32 batches without
 * allocating per batch.
 *
 * HDF5 layout (written by graft_dataset_save_h5 and `graft data`; h5py reads
 * and writes it as well):
 *     /images  [N,H,W,C] uint8 (0..255) or float32 (already scaled);
 *              a rank-3 [N,H,W] dataset is read as C = 1
 *     /labels  [N] any 8/16/32/64-bit integer type, values 0 .. INT32_MAX
 *
 * A graft_dataset keeps the pixels in their stored type (uint8 or float32) and
 * hands out images as float32 [..,H,W,C]: uint8 values v become v / 255.0f,
 * float32 values pass through unchanged. Labels are int32.
 *
 *     graft_data_opts o;
 *     graft_data_opts_init(&o);
 *     o.classes = (const int32_t[]){5, 6, 7, 8, 9}; o.n_classes = 5; o.relabel = true;
 *     graft_dataset *ds = graft_dataset_load_fashion_mnist(&o, &st);  // 30000 images, labels 0..4
 *     graft_batcher_opts bo;
 *     graft_batcher_opts_init(&bo);
 *     bo.batch_size = 64; bo.shuffle = true; bo.seed = 1; bo.out_h = bo.out_w = 32;
 *     graft_batcher *b = graft_batcher_new(ds, &bo, &st);
 *     graft_batch batch;
 *     while (graft_batcher_next(b, &batch, &st) == GRAFT_OK && batch.count > 0)
 *         ... feed batch.images ([64,32,32,1] float32) and batch.labels ([64] int32) ...
 *     graft_batcher_free(b);
 *     graft_dataset_free(ds);
 *
 * Reading is hardened as for every graft parser: IDX headers are checked
 * against the data length before anything is allocated; HDF5 files are read
 * from memory (through graft's I/O hooks) with dynamic filter plugins disabled
 * process-wide (H5PLset_loading_state(0)), only hard links followed, external
 * storage and virtual layouts refused, each dataset's layout message checked
 * by graft before libhdf5 decodes it, ranks, types, chunk shapes and element
 * counts checked before reading. libhdf5's own allocations do not go through
 * graft's allocator hook; zlib's do.
 *
 * libhdf5 1.10 itself still misbehaves on crafted files (fuzzing finds inputs
 * of a few KB that make it allocate gigabytes, leak, or crash), so by default
 * the file bytes are read here (through the I/O hooks) and parsed in a forked
 * child process, with an address-space limit (what this process maps plus
 * 2 x max_bytes + 1 GiB; none under sanitizers) and a deadline (h5_timeout_s).
 * The decoded arrays come back through a pipe and are checked again (shape,
 * caps, labels >= 0, finite floats). A crash, a hang or an exhausted limit in
 * the child is a GRAFT_ERR_CORRUPT / GRAFT_ERR_IO naming the file and how the
 * child ended; this process is untouched. The cost is a fork (copy-on-write)
 * and one copy of the arrays. h5_in_process = true skips the child (no fork,
 * e.g. where fork is unavailable), with libhdf5's risks.
 */
#ifndef GRAFT_DATA_H
#define GRAFT_DATA_H

#include "graft/session.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Where Debian's dataset-fashion-mnist package puts the files. */
#define GRAFT_FASHION_MNIST_DIR "/usr/share/datasets/fashion-mnist"
/* Default cap for any input file and any decoded array (4 GiB). */
#define GRAFT_DATA_DEFAULT_MAX_BYTES ((int64_t)4 << 30)

typedef struct graft_dataset graft_dataset;

typedef enum graft_data_split {
    GRAFT_SPLIT_TRAIN = 0,  /* train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz (60000) */
    GRAFT_SPLIT_TEST = 1    /* t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz (10000) */
} graft_data_split;

/* Options for loading and filtering. Initialise with graft_data_opts_init. */
typedef struct graft_data_opts {
    const char *dir;         /* Fashion-MNIST folder (fashion_mnist only); NULL = GRAFT_FASHION_MNIST_DIR */
    graft_data_split split;  /* fashion_mnist only: which pair of files */
    const int32_t *classes;  /* keep only examples with these labels (borrowed, distinct, >= 0); NULL = all */
    int n_classes;           /* entries in classes */
    bool relabel;            /* needs classes: label classes[i] becomes i (5,6,7,8,9 -> 0..4) */
    int64_t limit;           /* keep at most this many examples, the first in file order; 0 = all */
    int64_t max_bytes;       /* cap for input files and decoded arrays; 0 = GRAFT_DATA_DEFAULT_MAX_BYTES */
    bool h5_in_process;      /* HDF5: parse in this process instead of a child (see below) */
    double h5_timeout_s;     /* HDF5: the child's deadline; 0 = 60 s + 1 s per 10 MB of file */
} graft_data_opts;

/* dir NULL, split train, no class filter, no limit, default cap. */
GRAFT_API void graft_data_opts_init(graft_data_opts *o);

/* ---- loading and saving (opts may be NULL = defaults) ------------------------- */

/* Fashion-MNIST from opts->dir: "<split>-images-idx3-ubyte.gz" and
 * "<split>-labels-idx1-ubyte.gz" (the uncompressed names are tried when the .gz
 * files are absent). Images are uint8 [N,28,28,1]. */
GRAFT_API graft_dataset *graft_dataset_load_fashion_mnist(const graft_data_opts *opts, graft_status *st);
/* Any IDX pair, gzip-compressed or not: an unsigned-byte images file of rank 3
 * [N,rows,cols] and an unsigned-byte labels file of rank 1 [N]. Errors:
 * GRAFT_ERR_NOT_FOUND, GRAFT_ERR_IO, GRAFT_ERR_CORRUPT (bad magic, truncated,
 * trailing bytes, bad gzip data, counts that disagree), GRAFT_ERR_UNSUPPORTED
 * (another IDX element type), GRAFT_ERR_NOMEM (a cap or an allocation). */
GRAFT_API graft_dataset *graft_dataset_load_idx(const char *images_path, const char *labels_path,
                                                const graft_data_opts *opts, graft_status *st);
/* The HDF5 layout above, read from a file. */
GRAFT_API graft_dataset *graft_dataset_load_h5(const char *path, const graft_data_opts *opts,
                                               graft_status *st);
/* The same from an in-memory file image (borrowed; name is used in messages). */
GRAFT_API graft_dataset *graft_dataset_load_h5_image(const void *data, size_t len, const char *name,
                                                     const graft_data_opts *opts, graft_status *st);
/* Writes ds in the HDF5 layout: /images in ds's pixel type (uint8 or float32),
 * /labels int32, both chunked along N and deflate-compressed. The file is built
 * in memory and written atomically (temp file, fsync, rename). */
GRAFT_API graft_code graft_dataset_save_h5(const graft_dataset *ds, const char *path, graft_status *st);

/* A dataset from memory (both arrays copied). pixel_type is GRAFT_UINT8 or
 * GRAFT_FLOAT; pixels holds n*h*w*c values in [N,H,W,C] order; labels n values >= 0. */
GRAFT_API graft_dataset *graft_dataset_from_data(graft_dtype pixel_type, int64_t n, int64_t h, int64_t w,
                                                 int64_t c, const void *pixels, const int32_t *labels,
                                                 graft_status *st);
/* A new dataset with the class filter, relabelling and limit of opts applied
 * (dir, split and max_bytes are ignored). */
GRAFT_API graft_dataset *graft_dataset_filter(const graft_dataset *ds, const graft_data_opts *opts,
                                              graft_status *st);
/* Splits ds into two new datasets: *first gets n_first examples, *second the
 * rest. With shuffle the examples are drawn by a permutation seeded by seed,
 * otherwise first is the head of ds. Both keep ds's order among themselves.
 * On failure both are NULL. */
GRAFT_API graft_code graft_dataset_split(const graft_dataset *ds, int64_t n_first, bool shuffle,
                                         uint64_t seed, graft_dataset **first, graft_dataset **second,
                                         graft_status *st);
GRAFT_API void graft_dataset_free(graft_dataset *ds);

/* ---- inspection ------------------------------------------------------------------ */
GRAFT_API int64_t graft_dataset_size(const graft_dataset *ds);
/* dims = {H, W, C} of one image. */
GRAFT_API void graft_dataset_image_dims(const graft_dataset *ds, int64_t dims[3]);
/* GRAFT_UINT8 or GRAFT_FLOAT: how the pixels are stored. */
GRAFT_API graft_dtype graft_dataset_pixel_type(const graft_dataset *ds);
/* Largest label + 1 (0 for an empty dataset). */
GRAFT_API int32_t graft_dataset_num_classes(const graft_dataset *ds);
/* Borrowed arrays, valid while ds lives: N labels; N*H*W*C pixels of the pixel type. */
GRAFT_API const int32_t *graft_dataset_labels(const graft_dataset *ds);
GRAFT_API const void *graft_dataset_pixels(const graft_dataset *ds);
/* Writes image i as H*W*C float32 values (uint8 -> v / 255.0f). */
GRAFT_API graft_code graft_dataset_image(const graft_dataset *ds, int64_t i, float *out, graft_status *st);
/* counts[k] = examples with label k, for k < n (larger labels are not counted). */
GRAFT_API void graft_dataset_class_counts(const graft_dataset *ds, int64_t *counts, int n);

/* ---- batches ------------------------------------------------------------------------ */
typedef struct graft_batcher graft_batcher;

typedef struct graft_batcher_opts {
    int64_t batch_size;      /* > 0 (default 32) */
    bool shuffle;            /* a new order each epoch, a function of (seed, epoch) only */
    uint64_t seed;
    bool drop_last;          /* skip a final batch smaller than batch_size */
    int64_t out_h, out_w;    /* 0 = image size; larger zero-pads each image, centred
                                (extra row/column at the bottom/right when odd): 28 -> 32 is 2+28+2 */
    int32_t onehot_classes;  /* > 0: batches also hold float32 one-hot labels [B,K]; labels must be < K */
} graft_batcher_opts;

/* batch_size 32, no shuffle, seed 0, keep the last partial batch, no padding, no one-hot. */
GRAFT_API void graft_batcher_opts_init(graft_batcher_opts *o);

/* One batch. The tensors belong to the batcher: borrowed, overwritten by the
 * next graft_batcher_next and freed by graft_batcher_free (do not free them). */
typedef struct graft_batch {
    graft_tensor *images;    /* float32 [count, out_h, out_w, C] */
    graft_tensor *labels;    /* int32 [count] */
    graft_tensor *onehot;    /* float32 [count, K], or NULL without onehot_classes */
    int64_t count;           /* examples in the batch; 0 marks the end of an epoch */
    int64_t epoch;           /* 0-based epoch of this batch */
    int64_t index;           /* batch number within the epoch */
} graft_batch;

/* Borrows ds, which must outlive the batcher. Every tensor and the order array
 * are allocated here; next and fill allocate nothing. */
GRAFT_API graft_batcher *graft_batcher_new(const graft_dataset *ds, const graft_batcher_opts *opts,
                                           graft_status *st);
GRAFT_API void graft_batcher_free(graft_batcher *b);
/* The next batch of the current epoch into batcher-owned tensors. After the
 * last batch of an epoch one call returns count 0 (the tensors NULL); the call
 * after that starts the next epoch. */
GRAFT_API graft_code graft_batcher_next(graft_batcher *b, graft_batch *out, graft_status *st);
/* The same into caller tensors: images float32 [batch_size,out_h,out_w,C],
 * labels int32 [batch_size] and onehot float32 [batch_size,K] (labels and onehot
 * may be NULL). A final partial batch fills *count rows and zeroes the rest;
 * *count 0 marks the end of an epoch. Shapes are checked (GRAFT_ERR_SHAPE). */
GRAFT_API graft_code graft_batcher_fill(graft_batcher *b, graft_tensor *images, graft_tensor *labels,
                                        graft_tensor *onehot, int64_t *count, graft_status *st);
/* Batches per epoch (drop_last applied). */
GRAFT_API int64_t graft_batcher_num_batches(const graft_batcher *b);
/* The epoch the next batch belongs to. */
GRAFT_API int64_t graft_batcher_epoch(const graft_batcher *b);
/* Restarts at the first batch of `epoch` (>= 0), e.g. to resume training:
 * the batches are the same as when that epoch was first reached. */
GRAFT_API graft_code graft_batcher_reset(graft_batcher *b, int64_t epoch, graft_status *st);
/* Example index (into ds) at position i of the order of the epoch being
 * iterated (the epoch of the last batch, or of the next one after a reset);
 * -1 when i is out of range. For inspection and tests. */
GRAFT_API int64_t graft_batcher_order_at(const graft_batcher *b, int64_t i);

#ifdef __cplusplus
}
#endif
#endif
