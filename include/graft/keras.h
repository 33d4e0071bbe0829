/*
 * graft/keras.h - Keras HDF5 weights: read the weights of a Keras model saved by
 * Keras 1, Keras 2 / tf.keras or Keras 3, look them up by TensorFlow variable name,
 * and write them as a TensorFlow checkpoint (or restore them into graft variables
 * through graft_saver_restore on that checkpoint).
 *
 * Layouts (told apart by content, as Keras does):
 *   "keras_weights"   model.save_weights("w.h5") of Keras 1/2 and tf.keras: root
 *                     attribute layer_names; each layer group lists its datasets in
 *                     the attribute weight_names ("conv2d_1/kernel:0").
 *   "keras_model"     model.save("m.h5"): the same under the group /model_weights,
 *                     beside model_config (optimizer weights are not read).
 *   "keras3_weights"  Keras 3 model.save_weights("m.weights.h5"): /layers/<name>/vars/
 *                     0..n-1, in the order the layer creates its variables; layers
 *                     in name order.
 *
 * Names: a weight's name is the TensorFlow variable it came from, the stored name
 * without its ":0" output suffix ("conv2d_1/kernel:0" -> "conv2d_1/kernel"; Keras 1's
 * Theano-era "dense_1_W" stays as is). Keras 3 records no variable names: its weights
 * are named "<layer>/vars/<k>" after their place in the file.
 *
 *     graft_keras_weights *kw = graft_keras_weights_read("weights.h5", NULL, &st);
 *     char buf[128];
 *     for (int i = 0; i < graft_keras_num_weights(kw); i++) {
 *         graft_shape sh = graft_tensor_shape(graft_keras_weight_tensor(kw, i));
 *         printf("%s %s\n", graft_keras_weight_name(kw, i), graft_shape_str(&sh, buf, sizeof buf));
 *     }
 *     graft_keras_weights_write_checkpoint(kw, "ckpt/keras", &st);  // then Saver restore
 *     graft_keras_weights_free(kw);
 *
 * Reading is hardened as for HDF5 datasets (see data.h): the file bytes are read
 * through graft's I/O hooks and parsed by libhdf5 in a child process (limits, a
 * deadline) unless in_process is set; names are checked (no empty, "." or ".."
 * components, at most 4,096 bytes), every dataset goes through the same checks as
 * dataset arrays (hard links only, known filters, rank <= 8, sizes against storage),
 * and the total is capped by max_bytes.
 */
#ifndef GRAFT_KERAS_H
#define GRAFT_KERAS_H

#include "graft/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct graft_keras_weights graft_keras_weights;

typedef struct graft_keras_opts {
    int64_t max_bytes; /* cap for the file and for all weights together; 0 = 4 GiB */
    bool in_process;   /* parse with libhdf5 in this process (no fork; libhdf5's risks) */
    double timeout_s;  /* the child's deadline; 0 = 60 s + 1 s per 10 MB of file */
} graft_keras_opts;

/* max_bytes 0 (4 GiB), in a child process, default deadline. */
GRAFT_API void graft_keras_opts_init(graft_keras_opts *o);

/* Reads a Keras .h5 / .weights.h5 file (opts may be NULL). NULL with st set when the
 * file is not HDF5 (GRAFT_ERR_CORRUPT), not a Keras weights file
 * (GRAFT_ERR_UNSUPPORTED), malformed (GRAFT_ERR_CORRUPT, naming the dataset or
 * attribute), or over a cap (GRAFT_ERR_NOMEM). */
GRAFT_API graft_keras_weights *graft_keras_weights_read(const char *path, const graft_keras_opts *opts,
                                                        graft_status *st);
/* The same from a file image in memory (borrowed); name is used in messages. */
GRAFT_API graft_keras_weights *graft_keras_weights_parse(const void *data, size_t len, const char *name,
                                                         const graft_keras_opts *opts, graft_status *st);
GRAFT_API void graft_keras_weights_free(graft_keras_weights *w);

/* "keras_weights", "keras_model" or "keras3_weights" (see above). */
GRAFT_API const char *graft_keras_weights_layout(const graft_keras_weights *w);
/* The keras_version and backend attributes ("" when the file records none). */
GRAFT_API const char *graft_keras_weights_keras_version(const graft_keras_weights *w);
GRAFT_API const char *graft_keras_weights_backend(const graft_keras_weights *w);

/* Every layer the file lists, weightless ones included, in file order. */
GRAFT_API int graft_keras_num_layers(const graft_keras_weights *w);
GRAFT_API const char *graft_keras_layer_name(const graft_keras_weights *w, int i);

/* Weights in file order (layer by layer, each layer's in its order). Strings and the
 * tensor are borrowed from w. */
GRAFT_API int graft_keras_num_weights(const graft_keras_weights *w);
GRAFT_API const char *graft_keras_weight_name(const graft_keras_weights *w, int i);  /* "conv2d_1/kernel" */
GRAFT_API const char *graft_keras_weight_layer(const graft_keras_weights *w, int i); /* "conv2d_1" */
GRAFT_API const char *graft_keras_weight_path(const graft_keras_weights *w, int i);  /* the HDF5 dataset */
GRAFT_API const graft_tensor *graft_keras_weight_tensor(const graft_keras_weights *w, int i);
/* Index of the weight with this name, or -1. */
GRAFT_API int graft_keras_find_weight(const graft_keras_weights *w, const char *name);

/* Writes every weight as a TensorFlow V2 checkpoint at prefix (keys = weight names,
 * bit-identical values) and a `checkpoint` state file naming it in prefix's directory.
 * GRAFT_ERR_INVALID_ARG when two weights share a name. */
GRAFT_API graft_code graft_keras_weights_write_checkpoint(const graft_keras_weights *w, const char *prefix,
                                                          graft_status *st);

#ifdef __cplusplus
}
#endif
#endif
