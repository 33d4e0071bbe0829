/* tests/support/meta_build.h - building small MetaGraphDefs in tests (protobuf-c
 * structs in an arena), to feed the importer well-formed and malformed graphs. */
#ifndef GRAFT_TEST_META_BUILD_H
#define GRAFT_TEST_META_BUILD_H

#include <stdbool.h>
#include <stdint.h>

#include "meta_graph.pb-c.h"
#include "variable.pb-c.h"

typedef struct mb mb; /* a MetaGraphDef under construction + its arena */

mb *mb_new(void);
void mb_free(mb *b);
Tensorflow__MetaGraphDef *mb_meta(mb *b);
/* Adds a node; inputs is a NULL-terminated list (may be NULL). */
Tensorflow__NodeDef *mb_node(mb *b, const char *name, const char *op, const char *const *inputs);
void mb_attr(mb *b, Tensorflow__NodeDef *n, const char *key, Tensorflow__AttrValue *v);
Tensorflow__AttrValue *mb_type(mb *b, int dt);
Tensorflow__AttrValue *mb_int(mb *b, int64_t v);
Tensorflow__AttrValue *mb_float(mb *b, float v);
Tensorflow__AttrValue *mb_bool(mb *b, bool v);
Tensorflow__AttrValue *mb_str(mb *b, const char *s);
Tensorflow__AttrValue *mb_shape(mb *b, int rank, const int64_t *dims); /* rank -1: unknown */
Tensorflow__AttrValue *mb_ints(mb *b, const int64_t *v, int n);
Tensorflow__TensorShapeProto *mb_shape_proto(mb *b, int rank, const int64_t *dims);
/* A TensorProto with dtype and shape; fill its value fields by hand. */
Tensorflow__TensorProto *mb_tensor(mb *b, int dt, int rank, const int64_t *dims);
Tensorflow__AttrValue *mb_tensor_attr(mb *b, Tensorflow__TensorProto *t);
/* Placeholder / Const conveniences (float32). */
Tensorflow__NodeDef *mb_placeholder(mb *b, const char *name, int dt, int rank, const int64_t *dims);
Tensorflow__NodeDef *mb_const_f32(mb *b, const char *name, const float *v, int rank, const int64_t *dims);
void *mb_alloc(mb *b, size_t n);
char *mb_strdup(mb *b, const char *s);
/* Serialises the meta graph (malloc'd). */
uint8_t *mb_pack(mb *b, size_t *len);

#endif
