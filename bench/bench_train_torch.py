#!/usr/bin/python3
# bench/bench_train_torch.py - the same network, optimizer and batch as
# bench/bench_train.c in PyTorch (CPU), same thread count; prints
# "torch train img_per_s=<x> peak_rss_mb=<y> step_ms=<z>".
import resource
import sys
import time

import torch
import torch.nn as nn

steps = int(sys.argv[1]) if len(sys.argv) > 1 else 30
threads = int(sys.argv[2]) if len(sys.argv) > 2 else 2
torch.set_num_threads(threads)
torch.manual_seed(1)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        layers, cin = [], 1
        for b in range(3):
            layers += [nn.Conv2d(cin, 32 << b, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]
            cin = 32 << b
        self.trunk = nn.Sequential(*layers)
        self.fc = nn.Sequential(nn.Flatten(), nn.Linear(128 * 3 * 3, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(),
                                nn.Linear(256, 5))

    def forward(self, x):
        return self.fc(self.trunk(x))


net = Net()
opt = torch.optim.Adam(net.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8)
x = torch.rand(64, 1, 28, 28)
y = torch.arange(64) % 5
lossf = nn.CrossEntropyLoss()
for i in range(steps + 3):
    if i == 3:
        t0 = time.perf_counter()
    opt.zero_grad()
    loss = lossf(net(x), y)
    loss.backward()
    opt.step()
el = time.perf_counter() - t0
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
print("torch train img_per_s=%.1f peak_rss_mb=%.1f step_ms=%.2f" % (64.0 * steps / el, rss, 1000.0 * el / steps))
