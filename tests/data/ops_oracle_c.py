#!/usr/bin/python3
"""Forward/backward oracle for graft's "extra" op group (ops C).

Writes tests/data/ops_oracle_c.h: inputs and PyTorch/NumPy-computed expected
outputs for Elu, Selu, Softplus, Softsign, LeakyRelu and their TF gradient ops
(EluGrad, SeluGrad, SoftplusGrad, SoftsignGrad, LeakyReluGrad), L2Loss, OneHot
(every axis, out-of-range indices give an all-off row), GatherV2 (+ its
gradient, a scatter-add over repeated indices), UnsortedSegmentSum (negative
ids dropped), SelectV2 (three-way broadcasting) and SplitV (one -1 size), all in
TensorFlow's semantics.

Run from anywhere with Debian's python (python3-torch, python3-numpy):
    /usr/bin/python3 tests/data/ops_oracle_c.py
Inputs are rounded to float32 first, so the float32 and float64 tests share them;
expected values are computed in float64. LeakyRelu's alpha is a float attr in
TF, so the double kernel sees float32(0.2): the oracle uses that value too.
"""
import os

import numpy as np
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
rng = np.random.RandomState(20240607)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ops_oracle_c.h")

decls = []  # C declarations of data arrays and orc_arr records


def f32(a):
    return np.asarray(a, dtype=np.float32).astype(np.float64)


def rand(*shape, lo=-1.0, hi=1.0):
    return f32(rng.uniform(lo, hi, size=shape))


def arr(name, a):
    """Declares an orc_arr named orc_<name>; returns its C name."""
    a = np.asarray(a, dtype=np.float64)
    flat = a.reshape(-1)
    data = ", ".join(repr(float(x)) for x in flat) if flat.size else "0"
    dims = ", ".join(str(d) for d in a.shape) if a.ndim else "0"
    decls.append("static const double orc_d_%s[] = {%s};" % (name, data))
    decls.append("static const orc_arr orc_%s = {%d, {%s}, %d, orc_d_%s};" % (name, a.ndim, dims, flat.size, name))
    return "orc_" + name


def t(a):
    return torch.tensor(np.asarray(a, dtype=np.float64))


# ---- activations and their gradient ops ------------------------------------------------------
# Spans every regime: Softplus's e^x below log(eps)+2 (-13.9 in float32, -34.0 in
# float64) and x above its negative; no exact 0 (TF and PyTorch differ there
# for SeluGrad: TF tests y < 0, PyTorch x <= 0).
x = f32(np.array([-40.0, -20.0, -3.0, -1.5, -0.25, -0.001, 0.002, 0.3, 0.9, 2.5, 15.0, 40.0]).reshape(3, 4))
dy = rand(3, 4)
ALPHA = float(np.float32(0.2))
arr("act_x", x)
arr("act_dy", dy)
ACTS = (("elu", F.elu), ("selu", F.selu), ("softplus", F.softplus),
        ("softsign", F.softsign), ("leaky", lambda v: F.leaky_relu(v, ALPHA)))
for name, fn in ACTS:
    X = t(x).requires_grad_(True)
    y = fn(X)
    y.backward(t(dy))
    arr("act_%s_y" % name, y.detach().numpy())
    # the TF gradient op's result: EluGrad(dy, y), SeluGrad(dy, y), SoftplusGrad(dy, x),
    # SoftsignGrad(dy, x), LeakyReluGrad(dy, x)
    arr("act_%s_dx" % name, X.grad.numpy())

# ---- L2Loss ------------------------------------------------------------------------------------
x = rand(3, 4, 5, lo=-2, hi=2)
arr("l2_x", x)
arr("l2_y", np.array(0.5 * np.sum(x * x)))

# ---- OneHot: -1 and 5 are out of range for depth 4 (all-off rows) --------------------------------
ind = np.array([[0, 2, -1], [3, 1, 5]])
depth, on, off = 4, 7.5, -0.5
arr("onehot_indices", ind)
onehot_cases = []
for axis in (-1, 0, 1, 2):
    hot = (ind[..., None] == np.arange(depth)).astype(np.float64)  # axis -1
    hot = np.moveaxis(hot, -1, axis if axis >= 0 else ind.ndim)
    y = np.where(hot > 0, on, off)
    onehot_cases.append("{%d, &%s}" % (axis, arr("onehot_axis%d" % (axis + 1), y)))

# ---- GatherV2 and its gradient (repeated indices sum) ------------------------------------------------
params = rand(4, 3, 5)
arr("gather_params", params)
gather_cases = []
GATHER = [  # name, axis, indices
    ("a0", 0, np.array([3, 0, 3])),
    ("a1", 1, np.array([[2, 0], [1, 2]])),
    ("am1", -1, np.array(2)),
    ("a2", 2, np.array([[4, 4, 0]])),
]
for name, axis, idx in GATHER:
    y = np.take(params, idx, axis=axis)
    P = t(params).requires_grad_(True)
    ax = axis % params.ndim
    yt = torch.index_select(P, ax, torch.tensor(idx.reshape(-1)))
    yt = yt.reshape(y.shape)
    dy = rand(*y.shape)
    yt.backward(t(dy))
    assert np.allclose(yt.detach().numpy(), y)
    c = "gather_" + name
    gather_cases.append("{%d, &%s, &%s, &%s, &%s}" % (
        axis, arr(c + "_idx", idx), arr(c + "_y", y), arr(c + "_dy", dy), arr(c + "_dparams", P.grad.numpy())))

# ---- UnsortedSegmentSum: negative ids are dropped ---------------------------------------------------
uss_cases = []
USS = [  # name, data shape, ids, num_segments
    ("1d", (6, 3), np.array([2, 0, -1, 2, 4, -1]), 5),
    ("2d", (2, 3, 2), np.array([[1, -1, 0], [1, 1, 2]]), 4),
]
for name, shape, ids, num in USS:
    data = rand(*shape)
    out = np.zeros((num,) + shape[ids.ndim:])
    flat_ids = ids.reshape(-1)
    flat_data = data.reshape((flat_ids.size,) + shape[ids.ndim:])
    for i, j in enumerate(flat_ids):
        if j >= 0:
            out[j] += flat_data[i]
    # independently: torch's index_add over the kept rows
    keep = flat_ids >= 0
    ref = torch.zeros((num,) + shape[ids.ndim:]).index_add_(0, torch.tensor(flat_ids[keep]), t(flat_data[keep]))
    assert np.allclose(ref.numpy(), out)
    c = "uss_" + name
    uss_cases.append("{%d, &%s, &%s, &%s}" % (num, arr(c + "_data", data), arr(c + "_ids", ids), arr(c + "_y", out)))

# ---- SelectV2: condition [3,1,4], t [2,4], e [3,1,1] -> [3,2,4] --------------------------------------
cond = rng.randint(0, 2, size=(3, 1, 4))
tv = rand(2, 4)
ev = rand(3, 1, 1)
arr("sel_cond", cond)
arr("sel_t", tv)
arr("sel_e", ev)
arr("sel_y", np.where(cond.astype(bool), tv, ev))

# ---- SplitV ----------------------------------------------------------------------------------------
x = rand(3, 7)
arr("splitv_x", x)
parts = np.split(x, [2, 4], axis=1)  # size_splits {2, -1, 3}
for i, p in enumerate(parts):
    arr("splitv_a1_%d" % i, p)
parts = np.split(x, [1], axis=0)  # size_splits {1, 2} on axis 0 (split_dim -2)
for i, p in enumerate(parts):
    arr("splitv_a0_%d" % i, p)

with open(OUT, "w") as fh:
    fh.write("/* tests/data/ops_oracle_c.h - GENERATED by tests/data/ops_oracle_c.py (PyTorch %s, NumPy %s);\n"
             " * do not edit. Inputs (float32-representable) and expected outputs in float64. */\n"
             % (torch.__version__, np.__version__))
    fh.write("#ifndef GRAFT_OPS_ORACLE_C_H\n#define GRAFT_OPS_ORACLE_C_H\n#include <stdint.h>\n\n")
    fh.write("typedef struct orc_arr { int rank; int64_t dims[4]; int64_t n; const double *v; } orc_arr;\n")
    fh.write("typedef struct orc_onehot { int axis; const orc_arr *y; } orc_onehot;\n")
    fh.write("typedef struct orc_gather { int axis; const orc_arr *idx, *y, *dy, *dparams; } orc_gather;\n")
    fh.write("typedef struct orc_uss { int num; const orc_arr *data, *ids, *y; } orc_uss;\n\n")
    fh.write("static const double orc_leaky_alpha = %r; /* float32(0.2) */\n" % ALPHA)
    fh.write("static const int orc_onehot_depth = %d;\n" % depth)
    fh.write("static const double orc_onehot_on = %r, orc_onehot_off = %r;\n\n" % (on, off))
    fh.write("\n".join(decls))
    fh.write("\n\nstatic const orc_onehot orc_onehot_cases[] = {\n    %s};\n" % ",\n    ".join(onehot_cases))
    fh.write("static const orc_gather orc_gather_cases[] = {\n    %s};\n" % ",\n    ".join(gather_cases))
    fh.write("static const orc_uss orc_uss_cases[] = {\n    %s};\n" % ",\n    ".join(uss_cases))
    fh.write("\n#endif\n")
print("wrote", OUT)
