#!/usr/bin/python3
"""Facts about Debian's Fashion-MNIST files, read independently of graft (gzip +
struct + numpy), for tests/test_data.c. Regenerate:
    /usr/bin/python3 tests/data/dataset/fmnist_facts.py > tests/data/dataset/fmnist_facts.txt
checksum = sum over the uint8 bytes v_i (in file order) of (i + 1) * v_i (exact integer)."""
import gzip
import struct
import sys

import numpy as np

DIR = "/usr/share/datasets/fashion-mnist"


def read_idx(path, rank):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    magic = struct.unpack(">I", raw[:4])[0]
    assert magic == 0x0800 | rank, hex(magic)
    dims = struct.unpack(">%dI" % rank, raw[4:4 + 4 * rank])
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * rank)
    assert data.size == int(np.prod(dims)), (data.size, dims)
    return dims, data


def checksum(u8):
    w = np.arange(1, u8.size + 1, dtype=np.uint64)
    s = int(np.sum(w * u8.astype(np.uint64), dtype=np.uint64))
    assert s < 2**63
    return s


def emit(key, *vals):
    print(key, *vals)


for split, pre in (("train", "train"), ("test", "t10k")):
    (n, rows, cols), img = read_idx("%s/%s-images-idx3-ubyte.gz" % (DIR, pre), 3)
    (nl,), lab = read_idx("%s/%s-labels-idx1-ubyte.gz" % (DIR, pre), 1)
    assert n == nl
    img = img.reshape(n, rows, cols)
    emit(split + ".n", n)
    emit(split + ".rows", rows)
    emit(split + ".cols", cols)
    emit(split + ".hist", *np.bincount(lab, minlength=10).tolist())
    emit(split + ".first_labels", *lab[:10].tolist())
    emit(split + ".pixel_sum", int(img.astype(np.uint64).sum()))
    emit(split + ".checksum", checksum(img.reshape(-1)))
    emit(split + ".img0_sum", int(img[0].astype(np.uint64).sum()))
    # a few single pixels: image row col value (non-zero ones, so a shifted read shows)
    for i in (0, 1, n - 1):
        r, c = [int(x) for x in np.argwhere(img[i] > 0)[len(np.argwhere(img[i] > 0)) // 2]]
        emit(split + ".pixel", i, r, c, int(img[i, r, c]))
    # classes 5..9 relabelled to 0..4, in file order
    keep = np.nonzero(lab >= 5)[0]
    sub = "%s.sub59" % split
    emit(sub + ".n", keep.size)
    emit(sub + ".first_labels", *(lab[keep[:10]] - 5).tolist())
    emit(sub + ".first_index", *keep[:10].tolist())
    emit(sub + ".checksum", checksum(img[keep].reshape(-1)))
    emit(sub + ".limit100.checksum", checksum(img[keep[:100]].reshape(-1)))
    emit(sub + ".limit100.hist", *np.bincount(lab[keep[:100]] - 5, minlength=5).tolist())
