#!/usr/bin/python3
"""Reference for graft's data-module order (lib/data/batcher.c), written from its
description, for tests/test_data.c. Regenerate:
    /usr/bin/python3 tests/data/dataset/shuffle_ref.py > tests/data/dataset/shuffle_ref.txt

Generator: splitmix64 (Vigna's reference: state += 0x9E3779B97F4A7C15, then the mix).
Order of (n, seed, stream): state = mix(seed ^ mix(stream)); perm = 0..n-1; for i from
n-1 down to 1: j = uniform below i+1 (draw r, reject r < (2^64 - b) mod b, j = r mod b),
swap perm[i], perm[j]. Stream 0 = graft_dataset_split, stream e+1 = batcher epoch e."""
M = (1 << 64) - 1


def mix(z):
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M
    return z ^ (z >> 31)


class SplitMix:
    def __init__(self, state):
        self.s = state & M

    def next(self):
        self.s = (self.s + 0x9E3779B97F4A7C15) & M
        return mix(self.s)

    def below(self, b):
        threshold = ((1 << 64) - b) % b
        while True:
            r = self.next()
            if r >= threshold:
                return r % b


# Vigna's splitmix64.c with x = 1234567 gives these first outputs.
g = SplitMix(1234567)
assert [g.next() for _ in range(3)] == [6457827717110365317, 3203168211198807973, 9817491932198370423]


def permute(n, seed, stream):
    p = list(range(n))
    g = SplitMix(mix(seed ^ mix(stream)))
    for i in range(n - 1, 0, -1):
        j = g.below(i + 1)
        p[i], p[j] = p[j], p[i]
    return p


for n, seed, stream in ((10, 42, 1), (10, 42, 2), (10, 43, 1), (10, 42, 0), (37, 2024, 5), (1000, 7, 1)):
    p = permute(n, seed, stream)
    print("perm %d %d %d" % (n, seed, stream), *(p if n <= 40 else p[:40]))
