#!/usr/bin/python3
"""HDF5 references for tests/test_data.c, made and read with h5py (Debian python3-h5py).

  /usr/bin/python3 tests/data/dataset/h5_ref.py make tests/data/dataset
      writes h5py_u8.h5  : /images uint8 [16,28,28,1] (first 16 Fashion-MNIST test images),
                           /labels int64 [16], gzip + shuffle, chunks of 4
             h5py_f32.h5 : /images float32 [8,28,28] (rank 3: test images 16..23 / 255 in float32),
                           /labels uint8 [8], contiguous
      and prints the facts test_data.c expects (saved as h5_ref.txt).
  /usr/bin/python3 tests/data/dataset/h5_ref.py check FILE.h5
      prints what h5py sees in a file graft wrote: dtypes, shapes, checksum, labels.

checksum = sum over elements x_i in C order of (i + 1) * x_i, for uint8 exactly, for
float32 as round(x * 255) (the files hold v / 255)."""
import gzip
import struct
import sys

import h5py
import numpy as np

DIR = "/usr/share/datasets/fashion-mnist"


def fmnist_test():
    with gzip.open(DIR + "/t10k-images-idx3-ubyte.gz") as f:
        raw = f.read()
    n, r, c = struct.unpack(">3I", raw[4:16])
    img = np.frombuffer(raw, np.uint8, offset=16).reshape(n, r, c)
    with gzip.open(DIR + "/t10k-labels-idx1-ubyte.gz") as f:
        lab = np.frombuffer(f.read(), np.uint8, offset=8)
    return img, lab


def checksum(a):
    a = np.asarray(a).reshape(-1)
    if a.dtype == np.float32:
        a = np.rint(a.astype(np.float64) * 255.0)
    w = np.arange(1, a.size + 1, dtype=np.uint64)
    return int(np.sum(w * a.astype(np.uint64), dtype=np.uint64))


def make(outdir):
    img, lab = fmnist_test()
    with h5py.File(outdir + "/h5py_u8.h5", "w") as f:
        f.create_dataset("images", data=img[:16].reshape(16, 28, 28, 1), chunks=(4, 28, 28, 1),
                         compression="gzip", shuffle=True)
        f.create_dataset("labels", data=lab[:16].astype(np.int64))
    f32 = img[16:24].astype(np.float32) / np.float32(255.0)
    with h5py.File(outdir + "/h5py_f32.h5", "w") as f:
        f.create_dataset("images", data=f32)
        f.create_dataset("labels", data=lab[16:24].astype(np.uint8))
    print("u8.n", 16)
    print("u8.labels", *lab[:16].tolist())
    print("u8.checksum", checksum(img[:16]))
    print("f32.n", 8)
    print("f32.labels", *lab[16:24].tolist())
    print("f32.checksum", checksum(f32))
    # bit pattern of one float, to check graft reads the values unconverted
    print("f32.bits", 0, 14, 14, struct.unpack("<I", f32[0, 14, 14].tobytes())[0])


def check(path):
    with h5py.File(path, "r") as f:
        names = sorted(f.keys())
        print("keys", *names)
        for k in ("images", "labels"):
            d = f[k]
            print(k + ".dtype", d.dtype.str)
            print(k + ".shape", *d.shape)
        print("images.checksum", checksum(f["images"][...]))
        print("labels.values", *f["labels"][...].tolist()[:64])
        print("labels.sum", int(f["labels"][...].astype(np.int64).sum()))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "make":
        make(sys.argv[2])
    elif len(sys.argv) == 3 and sys.argv[1] == "check":
        check(sys.argv[2])
    else:
        sys.exit(__doc__)
