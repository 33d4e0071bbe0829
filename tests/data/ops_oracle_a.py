#!/usr/bin/python3
"""tests/data/ops_oracle_a.py - forward-value oracle for the elementwise, reduce
and shape op groups (lib/ops/op_{elementwise,reduce,shape}.c).

Generates inputs with a fixed seed, computes the expected outputs with NumPy
(and PyTorch for bfloat16 rounding) following TensorFlow's documented semantics,
and writes tests/data/ops_a_<group>.h, which tests/test_ops_<group>.c replay
through tests/support/opsa_oracle.c. Run with Debian's python:

    /usr/bin/python3 tests/data/ops_oracle_a.py

The outputs are committed; the tests never run Python.
"""
import os
import numpy as np
import torch

F32, F64, I32, U8, I16, I8, I64, BOOL, BF16, HALF = 1, 2, 3, 4, 5, 6, 9, 10, 14, 19
NP = {F32: np.float32, F64: np.float64, I32: np.int32, I64: np.int64, BOOL: np.bool_, U8: np.uint8,
      I16: np.int16, I8: np.int8}
rng = np.random.default_rng(20240611)
groups = {"elementwise": [], "reduce": [], "shape": []}


def T(dt, a):
    """An input/output tensor: (dtype, ndarray)."""
    if dt in (HALF, BF16):
        return (dt, np.asarray(a, dtype=np.int64))  # raw 16-bit patterns
    return (dt, np.asarray(a, dtype=NP[dt]))


def rnd(dt, shape, lo=-1.0, hi=1.0):
    if dt in (F32, F64):
        return T(dt, rng.uniform(lo, hi, size=shape))
    if dt == BOOL:
        return T(dt, rng.integers(0, 2, size=shape))
    return T(dt, rng.integers(int(lo), int(hi) + 1, size=shape))


def case(group, label, op, ins, attrs, outs):
    groups[group].append((label, op, ins, attrs, outs))


def ta(dt):
    return ("T", "t", dt)


# ---------------------------------------------------------------- elementwise
BIN = {
    "Add": lambda a, b: a + b, "AddV2": lambda a, b: a + b, "Sub": lambda a, b: a - b,
    "Mul": lambda a, b: a * b, "RealDiv": lambda a, b: a / b, "Maximum": np.maximum,
    "Minimum": np.minimum, "Pow": np.power, "FloorDiv": np.floor_divide,
    "SqrtGrad": lambda y, dy: dy * y.dtype.type(0.5) / y,
    "RsqrtGrad": lambda y, dy: dy * y.dtype.type(-0.5) * (y * y * y),
    "ReciprocalGrad": lambda y, dy: -dy * (y * y),
}
CMP = {"Equal": np.equal, "NotEqual": np.not_equal, "Greater": np.greater, "GreaterEqual": np.greater_equal,
       "Less": np.less, "LessEqual": np.less_equal}
SHAPES = [((2, 3), (2, 3)), ((2, 3), (3,)), ((3,), (2, 3)), ((4, 1), (1, 5)), ((), (3, 2)), ((3, 2), ()),
          ((2, 1, 3), (4, 1)), ((3, 1, 2, 1), (1, 4, 1, 5)), ((1,), (2, 2)), ((0, 3), (3,)), ((5, 7), (5, 1)),
          ((64, 33), (33,)), ((2, 3, 1), (2, 1, 4))]


def bin_inputs(op, dt, sa, sb):
    if op in ("Pow",):
        return rnd(dt, sa, 0.5, 2.0), rnd(dt, sb, -2.0, 2.0)
    if op in ("RealDiv", "FloorDiv", "SqrtGrad", "RsqrtGrad", "ReciprocalGrad"):
        a = rnd(dt, sa, -9, 9) if dt in (I32, I64) else rnd(dt, sa, -2.0, 2.0)
        if op in ("SqrtGrad", "RsqrtGrad"):
            a = rnd(dt, sa, 0.5, 2.0)
        if dt in (I32, I64):
            b = rnd(dt, sb, 1, 4)
            b = T(dt, b[1] * np.where(rng.integers(0, 2, size=sb) == 1, 1, -1))
        else:
            m = rng.uniform(0.5, 1.5, size=sb) * np.where(rng.integers(0, 2, size=sb) == 1, 1.0, -1.0)
            b = T(dt, m) if op not in ("SqrtGrad", "RsqrtGrad") else rnd(dt, sb)
        return a, b
    if dt in (I32, I64):
        return rnd(dt, sa, -20, 20), rnd(dt, sb, -20, 20)
    return rnd(dt, sa), rnd(dt, sb)


for op, fn in BIN.items():
    dts = [F32, F64]
    if op in ("Add", "AddV2", "Sub", "Mul", "Maximum", "Minimum", "FloorDiv"):
        dts += [I32, I64]
    for dt in dts:
        shapes = SHAPES if dt == F32 else SHAPES[:4] + SHAPES[6:8]
        if op not in ("Add", "Mul", "Maximum", "RealDiv"):
            shapes = [p for p in shapes if p[0] != (64, 33)]
        if op in ("SqrtGrad", "RsqrtGrad", "ReciprocalGrad"):
            shapes = [((2, 3), (2, 3)), ((3, 4, 5), (3, 4, 5))]
        for sa, sb in shapes:
            a, b = bin_inputs(op, dt, sa, sb)
            with np.errstate(all="ignore"):
                out = fn(a[1], b[1])
            case("elementwise", f"{op} {np.dtype(NP[dt]).name} {list(sa)} {list(sb)}", op, [a, b], [ta(dt)],
                 [T(dt, out)])

for op, fn in CMP.items():
    dts = [F32, F64, I32, I64] + ([BOOL] if op in ("Equal", "NotEqual") else [])
    for dt in dts:
        for sa, sb in ([((2, 3), (3,)), ((4, 1), (1, 5)), ((), (3,)), ((5, 7), (5, 7))] if dt == F32 else
                       [((2, 3), (2, 3)), ((3, 1), (1, 2))]):
            if dt in (I32, I64):
                a, b = rnd(dt, sa, -2, 2), rnd(dt, sb, -2, 2)
            elif dt == BOOL:
                a, b = rnd(dt, sa), rnd(dt, sb)
            else:  # a small value set so ties occur
                a = T(dt, rng.integers(-2, 3, size=sa) * 0.5)
                b = T(dt, rng.integers(-2, 3, size=sb) * 0.5)
            case("elementwise", f"{op} {np.dtype(NP[dt]).name} {list(sa)} {list(sb)}", op, [a, b], [ta(dt)],
                 [T(BOOL, fn(a[1], b[1]))])

# Div (TF: C truncation for ints), FloorMod (sign of the divisor), Mod (C fmod / %),
# SquaredDifference, DivNoNan (0 where y == 0), logical ops
def trunc_divide(a, b):
    q = np.abs(a) // np.abs(b)
    return (np.sign(a) * np.sign(b) * q).astype(a.dtype)


for dt in (F32, F64, I32, I64):
    for sa, sb in (((2, 3), (3,)), ((4, 1), (1, 5)), ((), (3, 2))):
        if dt in (I32, I64):
            a = rnd(dt, sa, -20, 20)
            b = T(dt, rng.integers(1, 6, size=sb) * np.where(rng.integers(0, 2, size=sb) == 1, 1, -1))
            div, fmod_, mod = trunc_divide(a[1], b[1]), np.mod(a[1], b[1]), np.fmod(a[1], b[1])
        else:
            a = T(dt, rng.uniform(-5, 5, size=sa))
            b = T(dt, rng.uniform(0.5, 2, size=sb) * np.where(rng.integers(0, 2, size=sb) == 1, 1, -1))
            div, fmod_, mod = a[1] / b[1], np.mod(a[1], b[1]), np.fmod(a[1], b[1])
        nm = np.dtype(NP[dt]).name
        case("elementwise", f"Div {nm} {list(sa)} {list(sb)}", "Div", [a, b], [ta(dt)], [T(dt, div)])
        case("elementwise", f"FloorMod {nm} {list(sa)} {list(sb)}", "FloorMod", [a, b], [ta(dt)], [T(dt, fmod_)])
        case("elementwise", f"Mod {nm} {list(sa)} {list(sb)}", "Mod", [a, b], [ta(dt)], [T(dt, mod)])
for dt in (F32, F64):
    a, b = rnd(dt, (2, 3)), rnd(dt, (3,))
    case("elementwise", f"SquaredDifference {np.dtype(NP[dt]).name}", "SquaredDifference", [a, b], [ta(dt)],
         [T(dt, np.square(a[1] - b[1]))])
    b = T(dt, [0.5, 0.0, -2.0])
    with np.errstate(all="ignore"):
        dnn = np.where(b[1] == 0, 0, a[1] / b[1])
    case("elementwise", f"DivNoNan {np.dtype(NP[dt]).name} (y has a zero)", "DivNoNan", [a, b], [ta(dt)], [T(dt, dnn)])
a, b = rnd(BOOL, (2, 3)), rnd(BOOL, (3,))
case("elementwise", "LogicalAnd", "LogicalAnd", [a, b], [], [T(BOOL, np.logical_and(a[1], b[1]))])
case("elementwise", "LogicalOr", "LogicalOr", [a, b], [], [T(BOOL, np.logical_or(a[1], b[1]))])
case("elementwise", "LogicalNot", "LogicalNot", [a], [], [T(BOOL, np.logical_not(a[1]))])
for dt in (F32, F64, I32):
    t_ = rnd(dt, (3, 4), -9, 9) if dt == I32 else rnd(dt, (3, 4), -2, 2)
    lo, hi = (T(dt, -3), T(dt, 4)) if dt == I32 else (T(dt, -0.5), T(dt, 0.75))
    case("elementwise", f"ClipByValue scalar bounds {np.dtype(NP[dt]).name}", "ClipByValue", [t_, lo, hi], [ta(dt)],
         [T(dt, np.minimum(np.maximum(t_[1], lo[1]), hi[1]))])
t_, lo, hi = rnd(F32, (2, 3)), rnd(F32, (2, 3), -1, 0), rnd(F32, (2, 3), 0, 1)
case("elementwise", "ClipByValue tensor bounds", "ClipByValue", [t_, lo, hi], [ta(F32)],
     [T(F32, np.minimum(np.maximum(t_[1], lo[1]), hi[1]))])

UN = {"Neg": (np.negative, None), "Square": (np.square, None), "Sqrt": (np.sqrt, "pos"),
      "Rsqrt": (lambda x: 1 / np.sqrt(x), "pos"), "Exp": (np.exp, None), "Log": (np.log, "pos"),
      "Floor": (np.floor, "floor"), "Reciprocal": (lambda x: 1 / x, "nonzero"), "Inv": (lambda x: 1 / x, "nonzero"),
      "Log1p": (np.log1p, "pos")}
for op, (fn, dom) in UN.items():
    for dt in [F32, F64] + ([I32, I64] if op in ("Neg", "Square") else []):
        for shape in [(2, 3), (), (4, 1, 5)] if dt == F32 else [(3, 2)]:
            if dom == "pos":
                x = rnd(dt, shape, 0.1, 4.0)
            elif dom == "floor":
                x = T(dt, np.round(rng.uniform(-3, 3, size=shape) * 4) / 4)
            elif dom == "nonzero":
                x = T(dt, rng.uniform(0.5, 2, size=shape) * np.where(rng.integers(0, 2, size=shape) == 1, 1, -1))
            elif dt in (I32, I64):
                x = rnd(dt, shape, -100, 100)
            else:
                x = rnd(dt, shape, -3.0, 3.0)
            case("elementwise", f"{op} {np.dtype(NP[dt]).name} {list(shape)}", op, [x], [ta(dt)], [T(dt, fn(x[1]))])

for dt in (F32, I32, F64):
    t, e = rnd(dt, (3, 4), -9, 9), rnd(dt, (3, 4), -9, 9)
    c = rnd(BOOL, (3, 4))
    case("elementwise", f"Select same shape {np.dtype(NP[dt]).name}", "Select", [c, t, e], [ta(dt)],
         [T(dt, np.where(c[1], t[1], e[1]))])
    cv = rnd(BOOL, (3,))
    case("elementwise", f"Select vector cond {np.dtype(NP[dt]).name}", "Select", [cv, t, e], [ta(dt)],
         [T(dt, np.where(cv[1][:, None], t[1], e[1]))])
t, e = rnd(F32, (2, 2, 3)), rnd(F32, (2, 2, 3))
for cv in (True, False):
    case("elementwise", f"Select scalar cond {cv}", "Select", [T(BOOL, cv), t, e], [ta(F32)],
         [T(F32, t[1] if cv else e[1])])
cv = rnd(BOOL, (2,))
case("elementwise", "Select vector cond rank 3", "Select", [cv, t, e], [ta(F32)],
     [T(F32, np.where(cv[1][:, None, None], t[1], e[1]))])

for n, dt in ((1, F32), (2, F32), (4, F32), (3, I32), (3, F64), (2, I64)):
    xs = [rnd(dt, (3, 5), -50, 50) for _ in range(n)]
    acc = xs[0][1].copy()
    for x in xs[1:]:
        acc = acc + x[1]
    case("elementwise", f"AddN {n} x {np.dtype(NP[dt]).name}", "AddN", xs, [("N", "i", n), ta(dt)], [T(dt, acc)])

# ---------------------------------------------------------------- reduce
def trunc_div(s, c):
    s = np.asarray(s, dtype=np.int64)
    return np.sign(s) * (np.abs(s) // c)


RED = {"Sum": np.sum, "Max": np.max, "Min": np.min, "Prod": np.prod}
for op in ("Sum", "Mean", "Max", "Min", "Prod"):
    for dt in (F32, F64, I32, I64):
        shapes_axes = [((2, 3, 4), [0]), ((2, 3, 4), [1]), ((2, 3, 4), [2]), ((2, 3, 4), [-1]),
                       ((2, 3, 4), [0, 2]), ((2, 3, 4), [1, 2]), ((2, 3, 4), [0, 1, 2]), ((2, 3, 4), []),
                       ((2, 3, 4), [2, 0, -1]), ((5,), [0]), ((), []), ((3, 1, 4), [1])]
        if op in ("Sum", "Mean", "Max"):
            shapes_axes += [((37, 129), [0]), ((37, 129), [1])]
        if dt != F32:
            shapes_axes = [((3, 4), [1]), ((3, 4), [0]), ((2, 3, 4), [0, 2])]
        inputs = {}
        for shape, axes in shapes_axes:
            if shape not in inputs:
                if op == "Prod":
                    inputs[shape] = rnd(dt, shape, 0.8, 1.25) if dt in (F32, F64) else rnd(dt, shape, -2, 2)
                else:
                    inputs[shape] = rnd(dt, shape, -1.0, 1.0) if dt in (F32, F64) else rnd(dt, shape, -50, 50)
            x = inputs[shape]
            ax = tuple(sorted(set(a % len(shape) for a in axes))) if shape else ()
            for keep in (False, True):
                if keep and len(shape) != 3 and shape != (37, 129):
                    continue
                xv = x[1].astype(np.float64) if dt in (F32, F64) else x[1].astype(np.int64)
                if op == "Mean":
                    s = np.sum(xv, axis=ax, keepdims=keep)
                    cnt = int(np.prod([shape[a] for a in ax])) if ax else 1
                    out = s / cnt if dt in (F32, F64) else trunc_div(s, cnt)
                else:
                    out = RED[op](xv, axis=ax, keepdims=keep)
                case("reduce", f"{op} {np.dtype(NP[dt]).name} {list(shape)} axes {axes}{' keep' if keep else ''}",
                     op, [x, T(I32, axes)], [ta(dt), ("keep_dims", "b", int(keep))], [T(dt, out)])

# zero-size reductions: TF's identities (Max of nothing is -inf, Mean is NaN)
x = T(F32, np.zeros((0, 3)))
for op, out in (("Sum", np.zeros(3)), ("Prod", np.ones(3)), ("Max", np.full(3, -np.inf)),
                ("Min", np.full(3, np.inf)), ("Mean", np.full(3, np.nan))):
    case("reduce", f"{op} over an empty dim", op, [x, T(I32, [0])], [ta(F32)], [T(F32, out)])
case("reduce", "Sum int64 axes", "Sum", [T(F32, [[1, 2], [3, 4]]), T(I64, [1])],
     [ta(F32), ("Tidx", "t", I64)], [T(F32, [3, 7])])

for op, fn in (("ArgMax", np.argmax), ("ArgMin", np.argmin)):
    for dt in (F32, I32, F64):
        x = T(dt, rng.integers(-2, 3, size=(4, 5, 3)))  # many ties: the first index wins
        for axis in (0, 1, 2, -1):
            for ot in (I64, I32):
                if ot == I32 and axis != 1:
                    continue
                case("reduce", f"{op} {np.dtype(NP[dt]).name} axis {axis} -> {np.dtype(NP[ot]).name}", op,
                     [x, T(I32, axis)], [ta(dt), ("output_type", "t", ot)], [T(ot, fn(x[1], axis=axis))])
    x = rnd(F32, (7,))
    case("reduce", f"{op} vector", op, [x, T(I32, 0)], [ta(F32)], [T(I64, fn(x[1]))])


def cumprod(x, axis, exclusive, reverse):
    x = np.moveaxis(x, axis, 0)
    if reverse:
        x = x[::-1]
    out = np.cumprod(x, axis=0)
    if exclusive:
        out = np.concatenate([np.ones_like(x[:1]), out[:-1]], axis=0)
    if reverse:
        out = out[::-1]
    return np.moveaxis(out, 0, axis)


x = rnd(F32, (3, 4), 0.5, 1.5)
for axis in (0, 1):
    for excl in (False, True):
        for rev in (False, True):
            case("reduce", f"Cumprod axis {axis} excl {excl} rev {rev}", "Cumprod", [x, T(I32, axis)],
                 [ta(F32), ("exclusive", "b", int(excl)), ("reverse", "b", int(rev))],
                 [T(F32, cumprod(x[1].astype(np.float64), axis, excl, rev))])

# ---------------------------------------------------------------- shape
def sh(label, op, ins, attrs, outs):
    case("shape", label, op, ins, attrs, outs)


x = rnd(F32, (2, 3, 4))
for shp in ([4, -1], [24], [2, 12], [-1, 2, 3, 2], [2, 3, 4]):
    sh(f"Reshape [2,3,4] -> {shp}", "Reshape", [x, T(I32, shp)], [ta(F32)], [T(F32, x[1].reshape(shp))])
sh("Reshape scalar -> [1,1]", "Reshape", [T(F32, 2.5), T(I32, [1, 1])], [ta(F32)], [T(F32, [[2.5]])])
xi = rnd(I32, (6,), -9, 9)
sh("Reshape int32 int64-shape", "Reshape", [xi, T(I64, [-1, 1, 2])], [ta(I32), ("Tshape", "t", I64)],
   [T(I32, xi[1].reshape(-1, 1, 2))])
xb = rnd(BOOL, (2, 2))
sh("Reshape bool", "Reshape", [xb, T(I32, [4])], [ta(BOOL)], [T(BOOL, xb[1].reshape(4))])

x = rnd(F32, (1, 3, 1, 2))
for dims, out in (([], (3, 2)), ([0], (3, 1, 2)), ([-2], (1, 3, 2)), ([0, 2], (3, 2))):
    sh(f"Squeeze {dims}", "Squeeze", [x], [ta(F32), ("squeeze_dims", "I", dims)], [T(F32, x[1].reshape(out))])

x = rnd(F32, (2, 3))
for d in (0, 1, 2, -1, -3):
    sh(f"ExpandDims {d}", "ExpandDims", [x, T(I32, d)], [ta(F32)], [T(F32, np.expand_dims(x[1], d))])

for shape, perm in (((2, 3), [1, 0]), ((2, 3, 4), [0, 1, 2]), ((2, 3, 4), [0, 2, 1]), ((2, 3, 4), [1, 0, 2]),
                    ((2, 3, 4), [1, 2, 0]), ((2, 3, 4), [2, 0, 1]), ((2, 3, 4), [2, 1, 0]),
                    ((2, 3, 4, 5), [0, 2, 1, 3]), ((2, 3, 4, 5), [3, 1, 2, 0]), ((2, 3, 4, 5), [0, 1, 3, 2]),
                    ((1, 3, 1, 4), [2, 3, 0, 1]), ((40, 70), [1, 0]), ((3, 1, 5), [2, 1, 0])):
    x = rnd(F32, shape)
    sh(f"Transpose {list(shape)} {perm}", "Transpose", [x, T(I32, perm)], [ta(F32)],
       [T(F32, np.transpose(x[1], perm))])
for dt, shape, perm in ((F64, (7, 9), [1, 0]), (I32, (3, 4, 2), [2, 0, 1]), (BOOL, (3, 4, 2), [1, 2, 0]),
                        (I64, (2, 5), [1, 0])):
    x = rnd(dt, shape, -9, 9)
    sh(f"Transpose {np.dtype(NP[dt]).name} {list(shape)} {perm}", "Transpose", [x, T(I64, perm)],
       [ta(dt), ("Tperm", "t", I64)], [T(dt, np.transpose(x[1], perm))])

for shapes, axis in ((((2, 3), (2, 2)), 1), (((1, 3), (2, 3), (3, 3)), 0), (((2, 3), (2, 1)), -1),
                     (((2, 1, 4), (2, 3, 4)), 1), (((2, 3), (2, 0), (2, 2)), 1), (((4,), (3,)), 0)):
    xs = [rnd(F32, s) for s in shapes]
    sh(f"ConcatV2 {[list(s) for s in shapes]} axis {axis}", "ConcatV2", xs + [T(I32, axis)],
       [("N", "i", len(xs)), ta(F32)], [T(F32, np.concatenate([v[1] for v in xs], axis=axis))])
xs = [rnd(I32, (2, 2), -9, 9), rnd(I32, (1, 2), -9, 9)]
sh("ConcatV2 int32 axis 0 (int64 axis)", "ConcatV2", xs + [T(I64, 0)], [("N", "i", 2), ta(I32), ("Tidx", "t", I64)],
   [T(I32, np.concatenate([v[1] for v in xs], axis=0))])
xs = [rnd(F32, (2, 2)), rnd(F32, (2, 3))]
sh("Concat (v1) axis 1", "Concat", [T(I32, 1)] + xs, [("N", "i", 2), ta(F32)],
   [T(F32, np.concatenate([v[1] for v in xs], axis=1))])

xs = [rnd(F32, (2, 3)) for _ in range(3)]
for axis in (0, 1, 2, -1):
    sh(f"Pack 3x[2,3] axis {axis}", "Pack", xs, [("N", "i", 3), ta(F32), ("axis", "i", axis)],
       [T(F32, np.stack([v[1] for v in xs], axis=axis))])
sc = [T(I32, v) for v in (4, 5, 6)]
sh("Pack scalars", "Pack", sc, [("N", "i", 3), ta(I32)], [T(I32, [4, 5, 6])])
x = rnd(F32, (3, 2, 4))
for axis in (0, 1, -1):
    parts = [np.take(x[1], i, axis=axis) for i in range(x[1].shape[axis])]
    sh(f"Unpack [3,2,4] axis {axis}", "Unpack", [x], [("num", "i", len(parts)), ta(F32), ("axis", "i", axis)],
       [T(F32, p) for p in parts])

for dt, shape, pads in ((F32, (2, 3), [[1, 2], [0, 1]]), (F32, (2, 3, 2), [[0, 0], [1, 1], [2, 0]]),
                        (I32, (3,), [[2, 2]]), (F64, (2, 2), [[0, 0], [0, 0]])):
    x = rnd(dt, shape, -9, 9)
    sh(f"Pad {np.dtype(NP[dt]).name} {list(shape)} {pads}", "Pad", [x, T(I32, pads)], [ta(dt)],
       [T(dt, np.pad(x[1], pads))])

for shape, b, s in (((4, 5), [1, 2], [2, -1]), ((3, 4, 5), [0, 1, 2], [-1, 2, 3]), ((3, 4), [0, 0], [3, 4]),
                    ((3, 4), [3, 0], [0, -1])):
    x = rnd(F32, shape)
    idx = tuple(slice(bb, None if ss == -1 else bb + ss) for bb, ss in zip(b, s))
    sh(f"Slice {list(shape)} {b} {s}", "Slice", [x, T(I32, b), T(I32, s)], [ta(F32)], [T(F32, x[1][idx])])


def ss_spec(spec):
    """TF's _slice_helper: a python index tuple -> begin, end, strides and masks."""
    begin, end, strides = [], [], []
    bm = em = elm = nam = sam = 0
    for i, s in enumerate(spec):
        if s is Ellipsis:
            begin.append(0); end.append(0); strides.append(1); elm |= 1 << i
        elif s is None:
            begin.append(0); end.append(0); strides.append(1); nam |= 1 << i
        elif isinstance(s, slice):
            begin.append(0 if s.start is None else s.start)
            end.append(0 if s.stop is None else s.stop)
            strides.append(1 if s.step is None else s.step)
            if s.start is None: bm |= 1 << i
            if s.stop is None: em |= 1 << i
        else:
            begin.append(s); end.append(s + 1); strides.append(1); sam |= 1 << i
    return begin, end, strides, [("begin_mask", "i", bm), ("end_mask", "i", em), ("ellipsis_mask", "i", elm),
                                 ("new_axis_mask", "i", nam), ("shrink_axis_mask", "i", sam)]


E = Ellipsis
SS = [((3, 4), (slice(None), slice(1, None))), ((3, 4), (1,)), ((3, 4), (-1,)),
      ((3, 4), (slice(None, None, 2), slice(None, None, -1))), ((3, 4), (slice(1, 3), slice(-3, -1))),
      ((3, 4), (E, 1)), ((3, 4), (None, slice(None), 2)), ((3, 4), (slice(None), None)),
      ((3, 4), (slice(2, 0, -1), slice(None))), ((3, 4), (slice(-100, 100),)), ((3, 4), (slice(None, None, -1),)),
      ((2, 3, 4), (E, slice(1, 3))), ((2, 3, 4), (1, E, slice(None, None, 2))),
      ((2, 3, 4), (slice(None), slice(None), None, 1)), ((2, 3, 4), (0, 1, 2)), ((2, 3, 4), (E, None)),
      ((2, 3, 4), (slice(None, None, -2), E, slice(3, 0, -2))), ((5, 6), (slice(1, 5, 3), slice(4, 0, -3))),
      ((4,), (slice(4, 0),))]
for shape, spec in SS:
    x = rnd(F32, shape)
    b, e, s, masks = ss_spec(spec)
    sh(f"StridedSlice {list(shape)} {spec}".replace("Ellipsis", "..."), "StridedSlice",
       [x, T(I32, b), T(I32, e), T(I32, s)], [ta(F32)] + masks, [T(F32, x[1][spec])])
xs_ = T(I32, [5, 7, 9])  # tf.shape(x)[0]
b, e, s, masks = ss_spec((0,))
sh("StridedSlice shape[0] (int32)", "StridedSlice", [xs_, T(I32, b), T(I32, e), T(I32, s)], [ta(I32)] + masks,
   [T(I32, 5)])
for shape, spec in (((3, 4), (slice(None, None, 2), slice(1, 3))), ((3, 4), (1, slice(None, None, -1))),
                    ((2, 3, 4), (E, None, 2))):
    b, e, s, masks = ss_spec(spec)
    dy = rnd(F32, np.zeros(shape)[spec].shape)
    z = np.zeros(shape, dtype=np.float32)
    z[spec] = dy[1]
    sh(f"StridedSliceGrad {list(shape)} {spec}".replace("Ellipsis", "..."), "StridedSliceGrad",
       [T(I32, shape), T(I32, b), T(I32, e), T(I32, s), dy], [ta(F32)] + masks, [T(F32, z)])

for dt, shape, m in ((F32, (2, 3), [2, 1]), (F32, (2, 3), [1, 3]), (F32, (2, 3), [2, 2]), (I32, (3,), [4]),
                     (F32, (2, 1, 2), [1, 3, 2]), (F64, (2, 2), [1, 1]), (F32, (2, 2), [0, 2])):
    x = rnd(dt, shape, -9, 9)
    sh(f"Tile {np.dtype(NP[dt]).name} {list(shape)} {m}", "Tile", [x, T(I32, m)], [ta(dt)], [T(dt, np.tile(x[1], m))])

for shape, to in (((3,), (2, 3)), ((3, 1), (3, 4)), ((1,), (2, 2, 2)), ((2, 3), (2, 3)), ((), (2, 2)),
                  ((2, 1, 3), (4, 2, 5, 3))):
    x = rnd(F32, shape)
    sh(f"BroadcastTo {list(shape)} -> {list(to)}", "BroadcastTo", [x, T(I32, to)], [ta(F32)],
       [T(F32, np.broadcast_to(x[1], to))])

x = rnd(F32, (2, 3, 4))
sh("Shape int32", "Shape", [x], [ta(F32)], [T(I32, [2, 3, 4])])
sh("Shape int64", "Shape", [x], [ta(F32), ("out_type", "t", I64)], [T(I64, [2, 3, 4])])
sh("Shape scalar", "Shape", [T(F32, 1.0)], [ta(F32)], [T(I32, np.zeros(0))])
sh("Size", "Size", [x], [ta(F32)], [T(I32, 24)])
sh("Size int64", "Size", [x], [ta(F32), ("out_type", "t", I64)], [T(I64, 24)])
sh("Rank", "Rank", [x], [ta(F32)], [T(I32, 3)])
sh("Rank scalar", "Rank", [T(I32, 3)], [ta(I32)], [T(I32, 0)])

sh("Fill f32", "Fill", [T(I32, [2, 3]), T(F32, 1.5)], [ta(F32)], [T(F32, np.full((2, 3), 1.5))])
sh("Fill int32 int64 dims", "Fill", [T(I64, [3]), T(I32, 7)], [ta(I32), ("index_type", "t", I64)],
   [T(I32, [7, 7, 7])])
sh("Fill bool", "Fill", [T(I32, [2, 1]), T(BOOL, True)], [ta(BOOL)], [T(BOOL, [[True], [True]])])
sh("Fill scalar", "Fill", [T(I32, np.zeros(0)), T(F64, -2.25)], [ta(F64)], [T(F64, -2.25)])
sh("Fill empty", "Fill", [T(I32, [0, 3]), T(F32, 1.0)], [ta(F32)], [T(F32, np.zeros((0, 3)))])
for dt in (F32, I32, BOOL, F64):
    x = rnd(dt, (2, 3), -9, 9)
    sh(f"ZerosLike {np.dtype(NP[dt]).name}", "ZerosLike", [x], [ta(dt)], [T(dt, np.zeros((2, 3)))])
    sh(f"OnesLike {np.dtype(NP[dt]).name}", "OnesLike", [x], [ta(dt)], [T(dt, np.ones((2, 3)))])

for dt, s0, lim, d in ((I32, 0, 10, 3), (I32, 10, 0, -3), (I32, 5, 5, 1), (I64, -4, 4, 2), (F32, 1.5, 3.0, 0.4),
                       (F64, 0.0, 1.0, 0.25), (F32, 3.0, 1.0, -0.5)):
    sh(f"Range {np.dtype(NP[dt]).name} {s0} {lim} {d}", "Range", [T(dt, s0), T(dt, lim), T(dt, d)],
       [("Tidx", "t", dt)], [T(dt, np.arange(s0, lim, d, dtype=np.float64 if dt in (F32, F64) else np.int64))])

xf = T(F32, [-2.7, -1.0, -0.5, 0.0, 0.5, 1.99, 2.5, 100.25])
xi = T(I32, [-3, -1, 0, 1, 2, 7, 100, -100])
for src, dst, out in ((xf, I32, np.trunc(xf[1])), (xf, I64, np.trunc(xf[1])), (xi, F32, xi[1]), (xf, F64, xf[1]),
                      (xf, BOOL, xf[1] != 0), (T(BOOL, [1, 0, 1]), F32, [1, 0, 1]), (xi, I64, xi[1]),
                      (T(I64, [5, -6, 2**40 + 3]), I32, [5, -6, 3]), (T(F64, [0.1, 1e30, -3.5]), F32, [0.1, 1e30, -3.5]),
                      (xi, BOOL, xi[1] != 0), (T(F32, [1.5, 200.0, 255.0, 0.0]), U8, [1, 200, 255, 0])):
    sh(f"Cast {np.dtype(NP[src[0]]).name} -> {np.dtype(NP[dst]).name}", "Cast", [src],
       [("SrcT", "t", src[0]), ("DstT", "t", dst)], [T(dst, out)])
hv = np.array([0.0, -0.0, 1.0, -2.5, 65504.0, 70000.0, 1e-7, 5.96e-8, 3.1415927, 1 / 3, np.inf, -np.inf],
              dtype=np.float32)
with np.errstate(over="ignore"):
    h16 = hv.astype(np.float16)
sh("Cast float -> half (round to nearest even)", "Cast", [T(F32, hv)], [("SrcT", "t", F32), ("DstT", "t", HALF)],
   [T(HALF, h16.view(np.uint16))])
sh("Cast half -> float", "Cast", [T(HALF, h16.view(np.uint16))], [("SrcT", "t", HALF), ("DstT", "t", F32)],
   [T(F32, h16.astype(np.float32))])
bf = torch.tensor(hv).to(torch.bfloat16)
sh("Cast float -> bfloat16 (round to nearest even)", "Cast", [T(F32, hv)], [("SrcT", "t", F32), ("DstT", "t", BF16)],
   [T(BF16, bf.view(torch.int16).numpy().astype(np.int64) & 0xFFFF)])
sh("Cast bfloat16 -> double", "Cast", [T(BF16, bf.view(torch.int16).numpy().astype(np.int64) & 0xFFFF)],
   [("SrcT", "t", BF16), ("DstT", "t", F64)], [T(F64, bf.to(torch.float64).numpy())])

x1 = rnd(F32, (2, 3, 4))
sh("ShapeN", "ShapeN", [x1, rnd(F32, ()), rnd(F32, (7, 1))], [("N", "i", 3), ta(F32)],
   [T(I32, [2, 3, 4]), T(I32, np.zeros(0)), T(I32, [7, 1])])
for axis, n in ((0, 2), (1, 3), (-1, 2), (2, 1)):
    x = rnd(F32, (2, 3, 4))
    sh(f"Split [2,3,4] axis {axis} in {n}", "Split", [T(I32, axis), x], [("num_split", "i", n), ta(F32)],
       [T(F32, p) for p in np.split(x[1], n, axis=axis)])

# BroadcastGradientArgs: hand-derived reduction indices (dims where an input was broadcast)
for s0, s1, r0, r1 in (([2, 3, 5], [1], [], [0, 1, 2]), ([2, 1, 5], [3, 1], [1], [0, 2]), ([1, 3], [1, 3], [0], [0]),
                       ([], [4], [0], []), ([4, 1], [4, 6], [1], [])):
    sh(f"BroadcastGradientArgs {s0} {s1}", "BroadcastGradientArgs", [T(I32, s0), T(I32, s1)], [],
       [T(I32, r0), T(I32, r1)])
sh("InvertPermutation", "InvertPermutation", [T(I32, [2, 0, 3, 1])], [], [T(I32, [1, 3, 0, 2])])
sh("ConcatOffset", "ConcatOffset", [T(I32, 1), T(I32, [2, 3, 5]), T(I32, [2, 7, 5]), T(I32, [2, 1, 5])], [("N", "i", 3)],
   [T(I32, [0, 0, 0]), T(I32, [0, 3, 0]), T(I32, [0, 10, 0])])
x = rnd(F32, (2, 3))
for op in ("Identity", "StopGradient", "PreventGradient"):
    sh(op, op, [x], [ta(F32)], [T(F32, x[1])])


# ---------------------------------------------------------------- emit C
def c_double(v):
    if np.isnan(v):
        return "NAN"
    if np.isinf(v):
        return "INFINITY" if v > 0 else "-INFINITY"
    return repr(float(v))


def emit(group, cases):
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), f"ops_a_{group}.h")
    out = [f"/* tests/data/ops_a_{group}.h - GENERATED by tests/data/ops_oracle_a.py (NumPy {np.__version__},",
           f" * PyTorch {torch.__version__}); do not edit. {len(cases)} forward cases for the {group} ops. */",
           f"#ifndef GRAFT_OPS_A_{group.upper()}_H", f"#define GRAFT_OPS_A_{group.upper()}_H",
           "#include <math.h>", '#include "opsa_oracle.h"', ""]
    arr_id = [0]

    seen = {}

    def arr(dt, a):
        a = np.asarray(a)
        flat = a.reshape(-1)
        isf = dt in (F32, F64)
        key = (isf, flat.astype(np.float64 if isf else np.int64).tobytes())
        ref = f"{{{dt}, {a.ndim}, {{{', '.join(str(d) for d in a.shape) or '0'}}}, {flat.size}, "
        if key in seen:
            return ref + (f"{seen[key]}, NULL}}" if isf else f"NULL, {seen[key]}}}")
        name = f"oa_{group[:3]}_{arr_id[0]}"
        arr_id[0] += 1
        seen[key] = name
        if dt in (F32, F64):
            body = ", ".join(c_double(v) for v in flat.astype(np.float64))
            out.append(f"static const double {name}[] = {{{body if len(flat) else '0'}}};")
            return f"{{{dt}, {a.ndim}, {{{', '.join(str(d) for d in a.shape) or '0'}}}, {flat.size}, {name}, NULL}}"
        body = ", ".join(str(int(v)) for v in flat.astype(np.int64))
        out.append(f"static const int64_t {name}[] = {{{body if len(flat) else '0'}}};")
        return f"{{{dt}, {a.ndim}, {{{', '.join(str(d) for d in a.shape) or '0'}}}, {flat.size}, NULL, {name}}}"

    rows = []
    for label, op, ins, attrs, outs in cases:
        ins_s = ", ".join(arr(dt, a) for dt, a in ins)
        outs_s = ", ".join(arr(dt, a) for dt, a in outs)
        at = []
        for name, kind, v in attrs:
            if kind == "I":
                lname = f"oa_{group[:3]}_{arr_id[0]}"
                arr_id[0] += 1
                out.append(f"static const int64_t {lname}[] = {{{', '.join(str(int(q)) for q in v) or '0'}}};")
                at.append(f'{{"{name}", \'I\', 0, {lname}, {len(v)}}}')
            else:
                at.append(f'{{"{name}", \'{kind}\', {int(v)}, NULL, 0}}')
        label_c = label.replace('"', "'")
        rows.append(f'    {{"{label_c}", "{op}", {len(ins)}, {{{ins_s}}}, {len(at)}, {{{", ".join(at) or "{0}"}}}, '
                    f"{len(outs)}, {{{outs_s}}}}},")
    out.append("")
    out.append(f"static const graftT_oa_case oa_cases_{group}[] = {{")
    out.extend(rows)
    out.append("    {NULL, NULL, 0, {{0}}, 0, {{0}}, 0, {{0}}}};")
    out.append("#endif")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")
    print(f"{path}: {len(cases)} cases")


for g, cs in groups.items():
    emit(g, cs)
