#!/usr/bin/python3
"""Small HDF5 image datasets as fuzz seeds for tests/fuzz/fuzz_h5.c (h5py, Debian python3-h5py).

  /usr/bin/python3 tests/fuzz/make_h5_seeds.py tests/fuzz/corpus/h5

Each file is a few tiny images, so mutations reach every structure quickly: every pixel
type graft accepts, several label types, contiguous / chunked / deflate / shuffle /
fletcher32 layouts, rank 3 and 4, and refused variants (rank 9, a filter graft does not
allow, external storage, a soft link, a virtual dataset)."""
import os
import sys

import h5py
import numpy as np

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(6)


def ds(name, images, labels, **kw):
    with h5py.File(os.path.join(out, name), "w", libver=kw.pop("libver", "earliest")) as f:
        f.create_dataset("images", data=images, **kw)
        f.create_dataset("labels", data=labels)


u8 = rng.integers(0, 256, (3, 4, 4, 1), dtype=np.uint8)
lab = np.array([0, 2, 1])
ds("u8_contiguous.h5", u8, lab.astype(np.int64))
ds("u8_rank3.h5", u8[..., 0], lab.astype(np.uint8))
ds("u8_deflate_shuffle.h5", u8, lab.astype(np.int32), chunks=(1, 4, 4, 1), compression="gzip", shuffle=True)
ds("u8_fletcher.h5", u8, lab.astype(np.int16), chunks=(2, 4, 4, 1), fletcher32=True)
ds("f32_chunked.h5", (u8 / 255).astype(np.float32), lab.astype(np.uint16), chunks=(1, 2, 4, 1))
ds("f32_latest.h5", (u8 / 255).astype(np.float32), lab.astype(np.int64), libver="latest", chunks=(3, 4, 4, 1),
   compression="gzip")
ds("u8_rgb.h5", rng.integers(0, 256, (2, 2, 2, 3), dtype=np.uint8), np.array([1, 0], np.int8))
ds("empty.h5", np.zeros((0, 4, 4, 1), np.uint8), np.zeros((0,), np.int64))

with h5py.File(os.path.join(out, "rank9.h5"), "w") as f:
    f.create_dataset("images", data=np.zeros((1,) * 9, np.uint8))
    f.create_dataset("labels", data=np.array([0]))
with h5py.File(os.path.join(out, "lzf.h5"), "w") as f:
    f.create_dataset("images", data=u8, chunks=(1, 4, 4, 1), compression="lzf")
    f.create_dataset("labels", data=lab)
with h5py.File(os.path.join(out, "external.h5"), "w") as f:
    f.create_dataset("images", shape=u8.shape, dtype=np.uint8, external=[("/etc/hostname", 0, u8.nbytes)])
    f.create_dataset("labels", data=lab)
with h5py.File(os.path.join(out, "softlink.h5"), "w") as f:
    f.create_dataset("pixels", data=u8)
    f["images"] = h5py.SoftLink("/pixels")
    f.create_dataset("labels", data=lab)
with h5py.File(os.path.join(out, "group.h5"), "w") as f:
    f.create_group("images").attrs["x"] = 1
    f.create_dataset("labels", data=lab)

# Keras layouts, small: save_weights (Keras 2: layer_names, weight_names, nested kernel:0
# paths), model.save (/model_weights), Keras 3 (layers/<name>/vars/<i>)
def keras2(name, root_group):
    with h5py.File(os.path.join(out, name), "w") as f:
        g = f.require_group(root_group) if root_group else f
        if root_group:
            f.attrs["model_config"] = '{"class_name": "Sequential"}'
        f.attrs["keras_version"] = "2.1.6"
        f.attrs["backend"] = "tensorflow"
        g.attrs["layer_names"] = np.array([b"dense_1", b"dropout_1", b"dense_2"])
        for lname, shapes in (("dense_1", [(3, 2), (2,)]), ("dropout_1", []), ("dense_2", [(2, 1), (1,)])):
            lg = g.create_group(lname)
            names = [("%s/%s:0" % (lname, w)).encode() for w in ("kernel", "bias")[: len(shapes)]]
            lg.attrs["weight_names"] = np.array(names) if names else np.array([])
            for n, s in zip(names, shapes):
                lg.create_dataset(n.decode(), data=rng.standard_normal(s).astype(np.float32))


keras2("keras2_weights.h5", None)
keras2("keras2_model.h5", "model_weights")
with h5py.File(os.path.join(out, "keras3.weights.h5"), "w") as f:
    for lname, shapes in (("dense", [(3, 2), (2,)]), ("flatten", [])):
        v = f.create_group("layers/%s/vars" % lname)
        for i, s in enumerate(shapes):
            v.create_dataset(str(i), data=rng.standard_normal(s).astype(np.float32))
    f.create_group("vars")
