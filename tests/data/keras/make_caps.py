#!/usr/bin/python3
"""Keras weight files at graft's caps and one past them, for tests/test_keras.c (h5py).

  /usr/bin/python3 tests/data/keras/make_caps.py OUTDIR

name4096.h5 / name4097.h5    a weight name of 4,096 / 4,097 bytes (KW_MAX_NAME)
layer4096.h5 / layer4097.h5  a layer name of 4,096 / 4,097 bytes
version65536.h5 / version65537.h5  a keras_version string of 65,536 / 65,537 bytes
layers100001.h5              layer_names lists 100,001 layers (KW_MAX_LAYERS + 1)
dotdot.h5                    a weight name with a '..' component
half.h5                      float16 weights (mixed precision): 0.5, -2, 65504, 1"""
import os
import sys

import h5py
import numpy as np

out = sys.argv[1]
os.makedirs(out, exist_ok=True)


def keras2(name, layer="d", weight="d/kernel:0", version="2.1.6", layer_names=None,
           data=np.arange(6, dtype=np.float32).reshape(2, 3)):
    with h5py.File(os.path.join(out, name), "w", libver="latest") as f:
        f.attrs["keras_version"] = np.bytes_(version)
        f.attrs["backend"] = np.bytes_("tensorflow")
        f.attrs["layer_names"] = np.array(layer_names if layer_names is not None else [layer.encode()])
        g = f.create_group(layer)
        g.attrs["weight_names"] = np.array([weight.encode()])
        g.create_dataset(weight, data=data)


for n in (4096, 4097):
    keras2("name%d.h5" % n, weight="d/" + "k" * (n - 2))
    keras2("layer%d.h5" % n, layer="L" * n, weight="w:0")
for n in (65536, 65537):
    keras2("version%d.h5" % n, version="9" * n)
keras2("layers100001.h5", layer_names=[b"d"] + [b"x%d" % i for i in range(100000)])
keras2("dotdot.h5", weight="d/../kernel:0")
keras2("half.h5", data=np.array([[0.5, -2.0], [65504.0, 1.0]], dtype=np.float16))
