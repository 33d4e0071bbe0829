/* tests/support/meta_fixtures.h - the meta graphs under GRAFT_FIXTURES_DIR with
 * their refread golden.json records, and small helpers for meta-graph tests. */
#ifndef GRAFT_TEST_META_FIXTURES_H
#define GRAFT_TEST_META_FIXTURES_H

#include <stddef.h>
#include <stdint.h>

#include "meta_json.h"

typedef struct meta_fixture {
    char path[1024];      /* the .meta or saved_model.pb */
    char dir[1024];       /* its fixture directory */
    char name[256];       /* "tf1/lenet_traffic_tf13" */
    mj *golden;           /* the whole golden.json (owned) */
    const mj *meta;       /* the MetaGraphDef record (golden meta[] or meta_graphs[0]) */
    const char *tag;      /* SavedModel tag of that record, or NULL */
} meta_fixture;

/* Every meta graph under the fixtures (sorted by path). Returns the count. */
int meta_fixtures_load(meta_fixture **out);
void meta_fixtures_free(meta_fixture *f, int n);

/* Whole file into malloc'd memory; NULL on error. */
uint8_t *meta_slurp(const char *path, size_t *len);

#endif
