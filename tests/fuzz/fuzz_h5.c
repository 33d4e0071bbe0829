/* tests/fuzz/fuzz_h5.c - libFuzzer target: HDF5 bytes read as Keras weights and as an
 * image dataset (/images, /labels), each from an in-memory file image with graft's
 * hardening (no filter plugins, known filters only, no external or virtual storage,
 * bounded rank and sizes); every weight, pixel and label of what loads is read.
 * libhdf5 itself is not instrumented: coverage guides through graft's checks, crashes
 * anywhere are caught. The fuzzer parses in process (the child process of the default
 * path would hide coverage and findings); test_fuzz_replay defines FUZZ_H5_IN_PROCESS 0
 * and replays through the default, isolated path, which must contain what libhdf5
 * does with these inputs. */
#include "fuzz_util.h"

#ifndef FUZZ_H5_IN_PROCESS
#define FUZZ_H5_IN_PROCESS 1
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    (void)fz_dir();
    graft_status st;
    graft_data_opts o;
    graft_data_opts_init(&o);
    o.h5_in_process = FUZZ_H5_IN_PROCESS;
    o.max_bytes = (int64_t)64 << 20;
    /* the same bytes as Keras weights: every weight of a file that loads is read */
    graft_keras_opts ko;
    graft_keras_opts_init(&ko);
    ko.in_process = FUZZ_H5_IN_PROCESS;
    ko.max_bytes = o.max_bytes;
    graft_keras_weights *kw = graft_keras_weights_parse(data, size, "fuzz.h5", &ko, &st);
    for (int i = 0; i < graft_keras_num_weights(kw); i++) {
        const graft_tensor *t = graft_keras_weight_tensor(kw, i);
        if (!t || !graft_keras_weight_name(kw, i) || graft_keras_find_weight(kw, graft_keras_weight_name(kw, i)) < 0)
            abort();
        volatile uint8_t acc = 0;
        const uint8_t *p = graft_tensor_cdata(t);
        for (size_t k = 0; k < graft_tensor_nbytes(t); k++) acc ^= p[k];
    }
    graft_keras_weights_free(kw);
    graft_dataset *ds = graft_dataset_load_h5_image(data, size, "fuzz.h5", &o, &st);
    if (!ds) return 0;
    int64_t n = graft_dataset_size(ds), dims[3];
    graft_dataset_image_dims(ds, dims);
    const int32_t *labels = graft_dataset_labels(ds);
    int32_t classes = graft_dataset_num_classes(ds);
    for (int64_t i = 0; i < n; i++)
        if (labels[i] < 0 || labels[i] >= classes) abort(); /* a loaded dataset keeps its promises */
    size_t px = (size_t)(dims[0] * dims[1] * dims[2]);
    float *img = malloc(px ? px * sizeof *img : 1);
    for (int64_t i = 0; img && i < n; i++)
        if (graft_dataset_image(ds, i, img, &st) != GRAFT_OK) abort();
    free(img);
    graft_dataset_free(ds);
    return 0;
}
