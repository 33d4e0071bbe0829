#!/usr/bin/python3
"""tests/fuzz/make_entries_seeds.py - seeds for fuzz_entries: the header and entry
protos of every V2 fixture index (read with a minimal LevelDB table parser), framed as
fuzz_entries.c expects: header #GR# klen key entry #GR# ... #GR# data-shard-bytes (the
first 16 KiB of shard 0, with the entries that fit in them). Deterministic; run from the repository root and commit the
output: /usr/bin/python3 tests/fuzz/make_entries_seeds.py"""
import glob, os, struct

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, '..', '..', '..', 'shared', 'fixtures')
OUT = os.path.join(HERE, 'corpus', 'entries')
SEP = b'#GR#'
KEEP = 16384  # data bytes kept per seed

def varint(b, i):
    v = s = 0
    while True:
        c = b[i]; i += 1
        v |= (c & 0x7f) << s; s += 7
        if not c & 0x80:
            return v, i

def block(f, off, size):
    b = f[off:off + size]
    nrest = struct.unpack('<I', b[-4:])[0]
    end = len(b) - 4 - 4 * nrest
    i, key, out = 0, b'', []
    while i < end:
        shared, i = varint(b, i)
        nonshared, i = varint(b, i)
        vlen, i = varint(b, i)
        key = key[:shared] + b[i:i + nonshared]; i += nonshared
        out.append((key, b[i:i + vlen])); i += vlen
    return out

def extent(v):
    """(offset, size) of a BundleEntryProto (fields 4 and 5)."""
    i, off, size = 0, 0, 0
    while i < len(v):
        tag, i = varint(v, i)
        f, w = tag >> 3, tag & 7
        if w == 0:
            x, i = varint(v, i)
            off = x if f == 4 else off
            size = x if f == 5 else size
        elif w == 2:
            n, i = varint(v, i); i += n
        elif w == 5:
            i += 4
        elif w == 1:
            i += 8
        else:
            break
    return off, size

def entries(path):
    f = open(path, 'rb').read()
    foot = f[-48:]
    _, i = varint(foot, 0); _, i = varint(foot, i)   # metaindex handle
    ioff, i = varint(foot, i); isz, i = varint(foot, i)
    res = []
    for _, h in block(f, ioff, isz):
        off, j = varint(h, 0); sz, j = varint(h, j)
        res += block(f, off, sz)
    return res

os.makedirs(OUT, exist_ok=True)
for idx in sorted(glob.glob(os.path.join(FIX, 'tf1', '*', '*.index'))):
    ents = entries(idx)
    header = [v for k, v in ents if k == b'']
    recs = [header[0] if header else b'']
    far = 0
    for k, v in ents:
        if k == b'':
            continue
        off, size = extent(v)
        if off + size > KEEP:   # drop those pointing past the kept bytes
            far += 1
            if far > 0:
                continue
        recs.append((bytes([len(k)]) + k + v) if len(k) < 256 else (b'\x00' + v))
        if len(recs) > 40:
            break
    data = glob.glob(idx[:-6] + '.data-00000-of-*')
    recs.append(open(data[0], 'rb').read()[:KEEP] if data else b'')
    name = os.path.basename(os.path.dirname(idx)) + '_' + os.path.basename(idx)[:-6]
    with open(os.path.join(OUT, name), 'wb') as o:
        o.write(SEP.join(recs))
    print(name, len(ents), 'entries')
