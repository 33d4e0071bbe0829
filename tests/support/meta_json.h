/* tests/support/meta_json.h - a tiny JSON reader for the tests (golden.json,
 * refout.json): a DOM of objects, arrays, strings, numbers, booleans, null. */
#ifndef GRAFT_TEST_META_JSON_H
#define GRAFT_TEST_META_JSON_H

#include <stdbool.h>

typedef enum mj_kind { MJ_NULL, MJ_BOOL, MJ_NUM, MJ_STR, MJ_ARR, MJ_OBJ } mj_kind;
typedef struct mj mj;

/* NULL on a parse or I/O error (printed to stderr). */
mj *mj_parse_file(const char *path);
mj *mj_parse(const char *text);
void mj_free(mj *v);

mj_kind mj_type(const mj *v);
/* Object member (NULL when absent or v is not an object). */
const mj *mj_get(const mj *v, const char *key);
/* Path of object keys separated by '.', e.g. "tolerance.atol". */
const mj *mj_path(const mj *v, const char *path);
int mj_len(const mj *v);                 /* array/object size, else 0 */
const mj *mj_at(const mj *v, int i);      /* array element or object value */
const char *mj_key_at(const mj *v, int i); /* object key */
double mj_num(const mj *v);              /* 0 if not a number */
const char *mj_str(const mj *v);         /* NULL if not a string */
bool mj_bool(const mj *v);

#endif
