#!/usr/bin/python3
"""Forward/backward oracle for graft's nn and conv op groups (ops B).

Writes tests/data/ops_oracle_b.h: inputs and PyTorch-computed expected outputs
for MatMul, BiasAdd(+Grad), the activations and their TF gradient ops, Softmax,
LogSoftmax, both softmax cross-entropies, Conv2D and its backprop ops, MaxPool,
AvgPool and their grads, all in TensorFlow's semantics (NHWC, HWIO, SAME with
pad_before = floor(total/2), pooling padding never counted).

Run from anywhere with Debian's python (python3-torch, python3-numpy):
    /usr/bin/python3 tests/data/ops_oracle_b.py
Inputs are rounded to float32 first, so the float32 and float64 tests share them;
expected values are computed in float64.
"""
import os

import numpy as np
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
rng = np.random.RandomState(20240521)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ops_oracle_b.h")

decls = []     # C declarations of data arrays and orb_arr records


def f32(a):
    return np.asarray(a, dtype=np.float32).astype(np.float64)


def rand(*shape, lo=-1.0, hi=1.0):
    return f32(rng.uniform(lo, hi, size=shape))


def distinct(*shape):
    """A shuffled grid: no ties (MaxPool, Relu kinks)."""
    n = int(np.prod(shape))
    v = np.linspace(-1.0, 1.0, n)
    rng.shuffle(v)
    return f32(v.reshape(shape))


def arr(name, a):
    """Declares an orb_arr named orb_<name>; returns its C name."""
    a = np.asarray(a, dtype=np.float64)
    flat = a.reshape(-1)
    data = ", ".join(repr(float(x)) for x in flat) if flat.size else "0"
    dims = ", ".join(str(d) for d in a.shape) if a.ndim else "0"
    decls.append("static const double orb_d_%s[] = {%s};" % (name, data))
    decls.append("static const orb_arr orb_%s = {%d, {%s}, %d, orb_d_%s};" % (name, a.ndim, dims, flat.size, name))
    return "orb_" + name


def t(a):
    return torch.tensor(np.asarray(a, dtype=np.float64))


# ---- MatMul: four transpose combinations ---------------------------------------------
matmul_cases = []
for ta in (0, 1):
    for tb in (0, 1):
        a = rand(*((4, 3) if ta else (3, 4)))
        b = rand(*((5, 4) if tb else (4, 5)))
        A = a.T if ta else a
        B = b.T if tb else b
        c = A @ B
        nm = "matmul_%d%d" % (ta, tb)
        matmul_cases.append("{%d, %d, &%s, &%s, &%s}" % (ta, tb, arr(nm + "_a", a), arr(nm + "_b", b),
                                                          arr(nm + "_c", c)))

# ---- BiasAdd / BiasAddGrad (NHWC and NCHW) -----------------------------------------------
x = rand(2, 3, 4)
b = rand(4)
arr("bias_nhwc_x", x)
arr("bias_nhwc_b", b)
arr("bias_nhwc_y", x + b)
arr("bias_nhwc_db", x.sum(axis=(0, 1)))
x = rand(2, 3, 2, 2)
b = rand(3)
arr("bias_nchw_x", x)
arr("bias_nchw_b", b)
arr("bias_nchw_y", x + b[None, :, None, None])
arr("bias_nchw_db", x.sum(axis=(0, 2, 3)))

# ---- activations and their gradient ops ----------------------------------------------------
x = f32(np.array([-3.0, -1.5, -0.25, 0.3, 0.9, 2.5, 5.5, 6.5, 8.0, -0.7, 1.1, 3.3]).reshape(3, 4))
dy = rand(3, 4)
X = t(x).requires_grad_(True)
arr("act_x", x)
arr("act_dy", dy)
for name, fn in (("relu", torch.relu), ("relu6", lambda v: torch.clamp(v, 0.0, 6.0)),
                 ("sigmoid", torch.sigmoid), ("tanh", torch.tanh)):
    X.grad = None
    y = fn(X)
    y.backward(t(dy))
    arr("act_%s_y" % name, y.detach().numpy())
    # the TF gradient op's result (ReluGrad(dy, y), Relu6Grad(dy, x), SigmoidGrad(y, dy), TanhGrad(y, dy))
    arr("act_%s_dx" % name, X.grad.numpy())

# ---- Softmax / LogSoftmax (large offsets check the max subtraction) -------------------------
x = rand(3, 5, lo=-3, hi=3)
x[1] += 1000.0
x[2] -= 500.0
x = f32(x)
arr("softmax_x", x)
arr("softmax_y", torch.softmax(t(x), -1).numpy())
arr("log_softmax_y", torch.log_softmax(t(x), -1).numpy())

# ---- SoftmaxCrossEntropyWithLogits (soft labels) and the sparse variant -------------------
x = rand(4, 5, lo=-2, hi=2)
x[3] += 200.0
x = f32(x)
lab = rng.uniform(0.1, 1.0, size=(4, 5))
lab = f32(lab / lab.sum(axis=1, keepdims=True))
ls = torch.log_softmax(t(x), -1)
arr("xent_x", x)
arr("xent_labels", lab)
arr("xent_loss", (-(t(lab) * ls).sum(-1)).numpy())
arr("xent_backprop", (torch.softmax(t(x), -1) - t(lab)).numpy())
sl = np.array([2, 0, 4, 1])
arr("sxent_labels", sl)
arr("sxent_loss", F.cross_entropy(t(x), torch.tensor(sl), reduction="none").numpy())
arr("sxent_backprop", (torch.softmax(t(x), -1) - F.one_hot(torch.tensor(sl), 5)).numpy())


# ---- Conv2D and its backprop ops ------------------------------------------------------------
def tf_pads(n, k, s, same):
    """TF's GetWindowedOutputSize: (out, pad_before, pad_after)."""
    if same:
        out = (n + s - 1) // s
        total = max(0, (out - 1) * s + k - n)
        return out, total // 2, total - total // 2
    return (n - k + s) // s, 0, 0


conv_cases = []
CONV = [  # name, x NHWC, filter HWIO, strides, SAME
    ("same_s1_3x3", (2, 5, 6, 3), (3, 3, 3, 4), (1, 1), True),
    ("valid_s2_3x3", (2, 7, 6, 2), (3, 3, 2, 3), (2, 2), False),
    ("same_s2_2x2", (1, 5, 6, 2), (2, 2, 2, 3), (2, 2), True),
    ("same_s21_3x2", (2, 6, 5, 3), (3, 2, 3, 2), (2, 1), True),
    ("same_s2_4x4", (1, 7, 7, 2), (4, 4, 2, 2), (2, 2), True),
    ("valid_s1_1x1", (2, 3, 4, 5), (1, 1, 5, 3), (1, 1), False),
    ("same_s2_1x1", (1, 5, 5, 3), (1, 1, 3, 2), (2, 2), True),
    ("valid_s1_5x1", (1, 6, 3, 2), (5, 1, 2, 2), (1, 1), False),
]
for name, xs, fs, (sh, sw), same in CONV:
    x = rand(*xs)
    f = rand(*fs)
    oh, pt, pb = tf_pads(xs[1], fs[0], sh, same)
    ow, pl, pr = tf_pads(xs[2], fs[1], sw, same)
    X = t(x).permute(0, 3, 1, 2).contiguous().requires_grad_(True)
    W = t(f).permute(3, 2, 0, 1).contiguous().requires_grad_(True)
    y = F.conv2d(F.pad(X, (pl, pr, pt, pb)), W, stride=(sh, sw))
    assert y.shape[2] == oh and y.shape[3] == ow
    dy = rand(xs[0], oh, ow, fs[3])
    y.backward(t(dy).permute(0, 3, 1, 2))
    nhwc = lambda v: v.detach().permute(0, 2, 3, 1).numpy()
    c = "conv_" + name
    conv_cases.append('{"%s", %d, %d, %d, &%s, &%s, &%s, &%s, &%s, &%s}' % (
        name, sh, sw, int(same), arr(c + "_x", x), arr(c + "_f", f), arr(c + "_y", nhwc(y)),
        arr(c + "_dy", dy), arr(c + "_dx", nhwc(X.grad)), arr(c + "_df", W.grad.permute(2, 3, 1, 0).numpy())))

# ---- MaxPool / AvgPool and their grads ---------------------------------------------------------
pool_cases = []
POOL = [  # name, x NHWC, ksize, strides, SAME
    ("valid_2x2_s2", (2, 4, 6, 3), (2, 2), (2, 2), False),
    ("same_3x3_s2", (1, 5, 6, 2), (3, 3), (2, 2), True),
    ("same_2x2_s2_odd", (2, 5, 5, 2), (2, 2), (2, 2), True),
    ("same_3x2_s1", (1, 4, 5, 3), (3, 2), (1, 1), True),
    ("valid_3x3_s1", (1, 5, 4, 2), (3, 3), (1, 1), False),
]
for name, xs, (kh, kw), (sh, sw), same in POOL:
    # all-negative inputs: a zero-padded max would be wrong
    x = f32(distinct(*xs) * 0.5 - 1.0)
    oh, pt, pb = tf_pads(xs[1], kh, sh, same)
    ow, pl, pr = tf_pads(xs[2], kw, sw, same)
    X = t(x).permute(0, 3, 1, 2).contiguous().requires_grad_(True)
    dy = rand(xs[0], oh, ow, xs[3])
    DY = t(dy).permute(0, 3, 1, 2)
    nhwc = lambda v: v.detach().permute(0, 2, 3, 1).numpy()
    ymax = F.max_pool2d(F.pad(X, (pl, pr, pt, pb), value=-np.inf), (kh, kw), (sh, sw))
    ymax.backward(DY)
    dxmax = X.grad.clone()
    X.grad = None
    # average over real cells only: sum of padded zeros / count of real cells
    ssum = F.avg_pool2d(F.pad(X, (pl, pr, pt, pb)), (kh, kw), (sh, sw)) * (kh * kw)
    ones = torch.ones(1, 1, xs[1], xs[2])
    cnt = F.avg_pool2d(F.pad(ones, (pl, pr, pt, pb)), (kh, kw), (sh, sw)) * (kh * kw)
    yavg = ssum / cnt
    yavg.backward(DY)
    assert ymax.shape[2] == oh and ymax.shape[3] == ow
    c = "pool_" + name
    pool_cases.append('{"%s", %d, %d, %d, %d, %d, &%s, &%s, &%s, &%s, &%s, &%s}' % (
        name, kh, kw, sh, sw, int(same), arr(c + "_x", x), arr(c + "_dy", dy), arr(c + "_ymax", nhwc(ymax)),
        arr(c + "_dxmax", nhwc(dxmax)), arr(c + "_yavg", nhwc(yavg)), arr(c + "_dxavg", nhwc(X.grad))))

with open(OUT, "w") as fh:
    fh.write("/* tests/data/ops_oracle_b.h - GENERATED by tests/data/ops_oracle_b.py (PyTorch %s);\n"
             " * do not edit. Inputs (float32-representable) and expected outputs in float64. */\n"
             % torch.__version__)
    fh.write("#ifndef GRAFT_OPS_ORACLE_B_H\n#define GRAFT_OPS_ORACLE_B_H\n#include <stdint.h>\n\n")
    fh.write("typedef struct orb_arr { int rank; int64_t dims[4]; int64_t n; const double *v; } orb_arr;\n")
    fh.write("typedef struct orb_matmul { int ta, tb; const orb_arr *a, *b, *c; } orb_matmul;\n")
    fh.write("typedef struct orb_conv { const char *name; int sh, sw, same;\n"
             "    const orb_arr *x, *f, *y, *dy, *dx, *df; } orb_conv;\n")
    fh.write("typedef struct orb_pool { const char *name; int kh, kw, sh, sw, same;\n"
             "    const orb_arr *x, *dy, *ymax, *dxmax, *yavg, *dxavg; } orb_pool;\n\n")
    fh.write("\n".join(decls))
    fh.write("\n\nstatic const orb_matmul orb_matmul_cases[] = {\n    %s};\n" % ",\n    ".join(matmul_cases))
    fh.write("static const orb_conv orb_conv_cases[] = {\n    %s};\n" % ",\n    ".join(conv_cases))
    fh.write("static const orb_pool orb_pool_cases[] = {\n    %s};\n" % ",\n    ".join(pool_cases))
    fh.write("\n#endif\n")
print("wrote", OUT)
