#!/usr/bin/python3
"""PyTorch side of bench/bench_ops.c: the same shapes (NCHW for torch's native
layout), best of 5 runs after a warm-up, printed as "<name> <part>\t<ms>".
Threads: GRAFT_BENCH_THREADS (default 1), as for graft."""
import os
import time

import torch
import torch.nn.functional as F

torch.set_num_threads(int(os.environ.get("GRAFT_BENCH_THREADS", "1")))
CASES = [
    ("conv 1x224x224x3 k3x3x3x64 s1", (1, 224, 224, 3), (3, 3, 3, 64)),
    ("conv 1x56x56x128 k3x3x128x128 s1", (1, 56, 56, 128), (3, 3, 128, 128)),
    ("conv 4x28x28x256 k3x3x256x256 s1", (4, 28, 28, 256), (3, 3, 256, 256)),
    ("conv 8x32x32x64 k1x1x64x128 s1", (8, 32, 32, 64), (1, 1, 64, 128)),
]


def best(fn):
    fn()
    ts = []
    for _ in range(5):
        t0 = time.perf_counter()
        fn()
        ts.append((time.perf_counter() - t0) * 1e3)
    return min(ts)


for name, (n, h, w, c), (kh, kw, ci, o) in CASES:
    x = torch.randn(n, c, h, w)
    f = torch.randn(o, ci, kh, kw)
    pad = (kh - 1) // 2
    y = F.conv2d(x, f, padding=pad)
    dy = torch.randn_like(y)
    with torch.no_grad():
        print("%s forward\t%.3f" % (name, best(lambda: F.conv2d(x, f, padding=pad))))
    print("%s dinput\t%.3f" % (name, best(
        lambda: torch.nn.grad.conv2d_input(x.shape, f, dy, padding=pad))))
    print("%s dfilter\t%.3f" % (name, best(
        lambda: torch.nn.grad.conv2d_weight(x, f.shape, dy, padding=pad))))

a = torch.randn(256, 4096)
b = torch.randn(4096, 1024)
print("matmul 256x4096 * 4096x1024 forward\t%.3f" % best(lambda: a @ b))
