#!/usr/bin/python3
"""tests/fuzz/make_abuse.py - writes the hand-made abuse seeds (reliability.md, bad-input
table) into tests/fuzz/corpus/<target>/abuse_*. Deterministic; run from the repository
root and commit the output: /usr/bin/python3 tests/fuzz/make_abuse.py"""
import os, struct

C = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'corpus')
FIX = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', 'shared', 'fixtures')

def out(target, name, data):
    os.makedirs(os.path.join(C, target), exist_ok=True)
    with open(os.path.join(C, target, 'abuse_' + name), 'wb') as f:
        f.write(data)

def varint(v):
    b = bytearray()
    while True:
        c = v & 0x7f
        v >>= 7
        if v:
            b.append(c | 0x80)
        else:
            b.append(c)
            return bytes(b)

MAGIC = struct.pack('<Q', 0xdb4775248b80fb57)
tiny = open(os.path.join(FIX, 'tf1/mlp_tiny_tf113/model.ckpt.index'), 'rb').read()
tiny_data = open(os.path.join(FIX, 'tf1/mlp_tiny_tf113/model.ckpt.data-00000-of-00001'), 'rb').read()

# ---- .index ------------------------------------------------------------------
out('index', 'empty', b'')
out('index', 'zeros48', bytes(48))
out('index', 'shorter_than_footer', tiny[-40:])
out('index', 'bad_magic', tiny[:-8] + bytes(8))
out('index', 'truncated_half', tiny[:len(tiny) // 2])
out('index', 'hdf5_as_index', b'\x89HDF\r\n\x1a\n' + bytes(40))
# footer whose index handle points past the end: varint offset 2^40, size 2^40
footer = varint(1 << 40) + varint(1 << 40) + varint(0) + varint(0)
footer += bytes(40 - len(footer)) + MAGIC
out('index', 'handle_past_eof', footer)
# 11-byte varint (over the 10-byte limit) in the footer
out('index', 'varint_too_long', b'\xff' * 11 + bytes(29) + MAGIC)
flip = bytearray(tiny)
flip[10] ^= 0x01
out('index', 'block_crc_mismatch', bytes(flip))

# ---- bundle (u32 index length + index + data) ---------------------------------
def bundle(i, d):
    return struct.pack('<I', len(i)) + i + d
out('bundle', 'data_short_by_one', bundle(tiny, tiny_data[:-1]))
out('bundle', 'data_empty', bundle(tiny, b''))
bad = bytearray(tiny_data)
bad[0] ^= 0xff
out('bundle', 'tensor_crc_mismatch', bundle(tiny, bytes(bad)))
out('bundle', 'index_len_huge', struct.pack('<I', 0xffffffff) + tiny + tiny_data)

# ---- V1 -----------------------------------------------------------------------
out('v1', 'empty', b'')
out('v1', 'zeros48', bytes(48))
out('v1', 'magic_only', bytes(40) + MAGIC)

# ---- .meta (protobuf wire format) -----------------------------------------------
def ld(field, payload):
    return varint(field << 3 | 2) + varint(len(payload)) + payload
deep = b''
for _ in range(200):  # graph_def (2) -> ... nested deeper than 64
    deep = ld(1, deep)
out('meta', 'nesting_200', ld(2, deep))
out('meta', 'length_past_end', varint(2 << 3 | 2) + varint(1 << 30) + b'x')
out('meta', 'varint_11_bytes', b'\x10' + b'\xff' * 10 + b'\x01')
# GraphDef with one NodeDef whose name is empty and an input to itself
node = ld(1, b'a') + ld(2, b'NoOp') + ld(3, b'a')
out('meta', 'self_loop', ld(2, ld(1, node)))
node_dt = ld(1, b'c') + ld(2, b'Const') + ld(5, ld(1, b'dtype') + ld(2, varint(6 << 3 | 0) + varint(9999)))
out('meta', 'const_dtype_9999', ld(2, ld(1, node_dt)))
out('meta', 'text_format', b'meta_info_def {\n  stripped_op_list {\n  }\n}\n')

# ---- checkpoint state file ------------------------------------------------------
S = {
    'absolute': b'model_checkpoint_path: "/etc/passwd"\nall_model_checkpoint_paths: "/etc/passwd"\n',
    'dotdot': b'model_checkpoint_path: "../../x/model.ckpt"\n',
    'nul_byte': b'model_checkpoint_path: "model\\000.ckpt"\n',
    'long_path': b'model_checkpoint_path: "' + b'a' * 5000 + b'"\n',
    'unknown_field': b'model_checkpoint_path: "m"\nfoo: "bar"\n',
    'duplicate_field': b'model_checkpoint_path: "m"\nmodel_checkpoint_path: "n"\n',
    'escapes': b'model_checkpoint_path: "\\x41\\101\\n\\"\\\\\\q"\n',
    'unterminated': b'model_checkpoint_path: "m\n',
    'empty_path': b'model_checkpoint_path: ""\n',
    'timestamps': b'model_checkpoint_path: "m"\nall_model_checkpoint_timestamps: 1e308\n'
                  b'all_model_checkpoint_timestamps: nan\nlast_preserved_timestamp: -inf\n',
    'many_paths': b'model_checkpoint_path: "m"\n' + b'all_model_checkpoint_paths: "m"\n' * 3000,
}
for k, v in S.items():
    out('state', k, v)

# ---- .npy -----------------------------------------------------------------------
def npy(header, data=b'', ver=(1, 0)):
    h = header.encode()
    pad = 64 - (10 + len(h) + 1) % 64
    h = h + b' ' * (pad % 64) + b'\n'
    return b'\x93NUMPY' + bytes(ver) + struct.pack('<H', len(h)) + h + data
out('npy', 'huge_dims', npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }"))
out('npy', 'wrap_to_4', npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387905, 4), }", bytes(16)))
out('npy', 'negative_dim', npy("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }"))
out('npy', 'rank_255', npy("{'descr': '<f4', 'fortran_order': False, 'shape': (" + '1, ' * 255 + "), }", bytes(4)))
out('npy', 'big_endian', npy("{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }", bytes(4)))
out('npy', 'object', npy("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", bytes(8)))
out('npy', 'fortran', npy("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", bytes(16)))
out('npy', 'short_by_one', npy("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", bytes(15)))
out('npy', 'header_len_huge', b'\x93NUMPY\x02\x00' + struct.pack('<I', 0xffffffff) + b'{')
out('npy', 'bad_magic', b'\x93NUMPZ\x01\x00\x10\x00' + b' ' * 16)
