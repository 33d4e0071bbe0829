/*
 * lib/checkpoint/ckpt_internal.h - private helpers shared by the checkpoint module:
 * crc32c, little-endian/varint coding, growable byte buffers, the LevelDB-format
 * table ("SSTable") reader and builder, OrderedCode slice keys, and paths.
 */
#ifndef GRAFT_CKPT_INTERNAL_H
#define GRAFT_CKPT_INTERNAL_H

#include <protobuf-c/protobuf-c.h>

#include "internal.h"

/* ---- crc32c (Castagnoli), lib/checkpoint/crc32c.c ----------------------------
 * graftI_crc32c_extend uses the SSE4.2 crc32 instruction when the CPU has it and
 * a slicing-by-8 table otherwise; both entry points are exposed for tests. The
 * mask is TensorFlow's/LevelDB's: rotate right 15, add 0xa282ead8. */
GRAFTI_FUNC uint32_t graftI_crc32c_extend(uint32_t crc, const void *data, size_t n);
GRAFTI_FUNC uint32_t graftI_crc32c_extend_sw(uint32_t crc, const void *data, size_t n);
/* Same as _extend but always the hardware path; only call when _hw_available(). */
GRAFTI_FUNC uint32_t graftI_crc32c_extend_hw(uint32_t crc, const void *data, size_t n);
GRAFTI_FUNC bool graftI_crc32c_hw_available(void);
static inline uint32_t graftI_crc32c(const void *data, size_t n) { return graftI_crc32c_extend(0, data, n); }
static inline uint32_t graftI_crc32c_mask(uint32_t c) { return ((c >> 15) | (c << 17)) + 0xa282ead8u; }
static inline uint32_t graftI_crc32c_unmask(uint32_t m)
{
    uint32_t r = m - 0xa282ead8u;
    return (r >> 17) | (r << 15);
}

/* ---- fixed-width little-endian and varint coding ------------------------------ */
static inline uint32_t graftI_ck_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t graftI_ck_le64(const uint8_t *p)
{
    return (uint64_t)graftI_ck_le32(p) | (uint64_t)graftI_ck_le32(p + 4) << 32;
}
static inline void graftI_ck_put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}
/* Decodes a varint of at most 10 bytes (64) or 5 bytes (32) from p[0..n).
 * Returns the bytes consumed, or 0 if truncated, too long or out of range. */
GRAFTI_FUNC size_t graftI_ck_varint64(const uint8_t *p, size_t n, uint64_t *v);
GRAFTI_FUNC size_t graftI_ck_varint32(const uint8_t *p, size_t n, uint32_t *v);
/* Encodes v into out (>= 10 bytes); returns the length. */
GRAFTI_FUNC size_t graftI_ck_enc_varint64(uint8_t *out, uint64_t v);

GRAFTI_FUNC bool graftI_ck_buf_varint(graftI_ck_buf *b, uint64_t v);
GRAFTI_FUNC bool graftI_ck_buf_le32(graftI_ck_buf *b, uint32_t v);
GRAFTI_FUNC void graftI_ck_buf_free(graftI_ck_buf *b);

/* protobuf-c allocator routed through graftI_malloc (fault-injectable) that
 * remembers whether an allocation failed, so a NULL from unpack can be told
 * apart: out of memory (GRAFT_ERR_NOMEM) vs malformed input. One per call. */
typedef struct graftI_ck_pballoc {
    ProtobufCAllocator a;
    bool failed;
} graftI_ck_pballoc;
GRAFTI_FUNC ProtobufCAllocator *graftI_ck_pballoc_init(graftI_ck_pballoc *p);

/* ---- resource caps --------------------------------------------------------------- */
typedef struct graftI_ck_limits {
    uint64_t max_index_bytes;   /* .index size, and the size of any one table block */
    int64_t max_entries;        /* table entries / tensors / slices */
    size_t max_key_bytes;       /* one table key */
} graftI_ck_limits;

/* ---- LevelDB-format table reader (lib/checkpoint/table.c) -------------------------
 * Opens the file, checks the 48-byte footer and magic, reads and verifies the
 * index block. Data blocks are read on demand with pread and verified against
 * their masked crc32c trailer; the most recent block is cached. Every offset and
 * length is checked against the file size before use. */
typedef struct graftI_ck_table graftI_ck_table;
GRAFTI_FUNC graft_code graftI_ck_table_open(const char *path, const graftI_ck_limits *lim, graftI_ck_table **out,
                                            graft_status *st);
GRAFTI_FUNC void graftI_ck_table_close(graftI_ck_table *t);
GRAFTI_FUNC int graftI_ck_table_num_blocks(const graftI_ck_table *t);
GRAFTI_FUNC uint64_t graftI_ck_table_file_size(const graftI_ck_table *t);
GRAFTI_FUNC const char *graftI_ck_table_path(const graftI_ck_table *t);

/* Iterates every entry of the table in order; keys must be strictly increasing
 * (bytewise) across the whole table and each block's keys must not exceed its
 * index key. fn returns GRAFT_OK to continue, anything else stops (and is
 * returned). key/val are valid only during the call. */
typedef graft_code (*graftI_ck_table_fn)(void *ud, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen,
                                         uint64_t file_off, graft_status *st);
GRAFTI_FUNC graft_code graftI_ck_table_scan(graftI_ck_table *t, graftI_ck_table_fn fn, void *ud, graft_status *st);
/* Iterates only the entries of the first data block (cheap access to the "" entry). */
GRAFTI_FUNC graft_code graftI_ck_table_scan_first_block(graftI_ck_table *t, graftI_ck_table_fn fn, void *ud,
                                                        graft_status *st);
/* Exact-key lookup. On success *val points into the table's block cache, valid
 * until the next call on t. GRAFT_ERR_NOT_FOUND if absent. */
GRAFTI_FUNC graft_code graftI_ck_table_get(graftI_ck_table *t, const uint8_t *key, size_t klen, const uint8_t **val,
                                           size_t *vlen, graft_status *st);

/* Frees the cached block (after a large value was used). */
GRAFTI_FUNC void graftI_ck_table_drop_cache(graftI_ck_table *t);

/* ---- table builder (TensorFlow's table_builder.cc: block_size 256 KiB, restart
 * interval 16, index restart interval 1, no compression, shortest separators).
 * Builds the whole file in memory. Keys must be added in strictly increasing
 * bytewise order. */
typedef struct graftI_ck_tbuilder graftI_ck_tbuilder;
GRAFTI_FUNC graftI_ck_tbuilder *graftI_ck_tbuilder_new(size_t block_size, int restart_interval);
GRAFTI_FUNC graft_code graftI_ck_tbuilder_add(graftI_ck_tbuilder *b, const uint8_t *key, size_t klen,
                                              const uint8_t *val, size_t vlen, graft_status *st);
/* Finishes the table; out and n borrow the builder buffer (valid until free). */
GRAFTI_FUNC graft_code graftI_ck_tbuilder_finish(graftI_ck_tbuilder *b, const uint8_t **out, size_t *n,
                                                 graft_status *st);
GRAFTI_FUNC void graftI_ck_tbuilder_free(graftI_ck_tbuilder *b);

/* ---- OrderedCode tensor-slice keys (lib/checkpoint/ordered_code.c) -----------------
 * EncodeTensorNameSlice: NumIncreasing(0), String(name), NumIncreasing(rank), then
 * per dim SignedNumIncreasing(start), SignedNumIncreasing(length) (-1 = full). */
GRAFTI_FUNC bool graftI_ck_slice_key(graftI_ck_buf *out, const uint8_t *name, size_t nlen, int rank,
                                     const int64_t *start, const int64_t *len);
/* Decodes such a key; name is returned as a new allocation. false if malformed. */
GRAFTI_FUNC bool graftI_ck_slice_key_decode(const uint8_t *key, size_t klen, char **name, size_t *nlen, int *rank,
                                            int64_t *start, int64_t *len, int max_rank);
GRAFTI_FUNC void graftI_ck_oc_signed(graftI_ck_buf *out, int64_t v);
GRAFTI_FUNC size_t graftI_ck_oc_signed_decode(const uint8_t *p, size_t n, int64_t *v);

/* ---- files ------------------------------------------------------------------------ */
/* Size of a regular file; GRAFT_ERR_NOT_FOUND / GRAFT_ERR_IO otherwise. */
/* graft_checkpoint_state_write; on failure *left_new tells whether the new state
 * file nevertheless stayed in place (the rename done, putting the old one back failed). */
GRAFTI_FUNC graft_code graftI_ck_state_write(const char *dir, const char *latest_filename,
                                             const graft_checkpoint_state *s, bool *left_new, graft_status *st);
GRAFTI_FUNC graft_code graftI_ck_file_size(const char *path, uint64_t *size, graft_status *st);
GRAFTI_FUNC bool graftI_ck_exists(const char *path);
GRAFTI_FUNC bool graftI_ck_is_dir(const char *path);
/* Reads n bytes at off exactly (loops over short reads and EINTR). */
GRAFTI_FUNC graft_code graftI_ck_pread_full(int fd, const char *path, void *buf, size_t n, uint64_t off,
                                            graft_status *st);
/* Writes all n bytes (loops over short writes and EINTR). */
GRAFTI_FUNC graft_code graftI_ck_write_full(int fd, const char *path, const void *buf, size_t n, graft_status *st);
/* "a/b" + "c" -> "a/b/c" (new allocation); dir "" or NULL gives "c". */
GRAFTI_FUNC char *graftI_ck_join(const char *dir, const char *name);
/* Directory part of path ("." when none), new allocation. */
GRAFTI_FUNC char *graftI_ck_dirname(const char *path);
GRAFTI_FUNC const char *graftI_ck_basename(const char *path);
/* Printable form of a key for messages (escapes non-printables), into buf. */
GRAFTI_FUNC const char *graftI_ck_keystr(const uint8_t *key, size_t klen, char *buf, size_t cap);

/* ---- bundle data-layout helpers shared by reader, writer and tests ---------------- */
/* TF's DT_STRING on-disk layout of n strings: varint64 lengths, masked crc32c of
 * the lengths (fixed-width), bytes. Appends to out; returns the entry crc
 * (unmasked) in *crc. */
GRAFTI_FUNC bool graftI_ck_encode_strings(graftI_ck_buf *out, const graft_str *s, int64_t n, uint32_t *crc);
/* Byte size per element of a TF dtype number (0 for string/resource/variant/unknown). */
GRAFTI_FUNC size_t graftI_ck_dtype_size(int dtype);

#endif
