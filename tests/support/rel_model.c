/* tests/support/rel_model.c - the reliability tests' small model (see rel_model.h):
 * building it, setting a step's values, hashing them and checking a saved checkpoint. */
#include "rel_model.h"

#include <stdio.h>
#include <string.h>

static float w_val(int64_t k, int i) { return 0.5f * (float)k + 0.25f * (float)i; }
static double b_val(int64_t k, int i) { return 1000.0 * (double)k + (double)i / 8.0; }

bool rel_model_new(rel_model *m, int max_to_keep, bool write_meta, char *why, size_t cap)
{
    memset(m, 0, sizeof *m);
    graft_status st;
    m->g = graft_graph_new();
    if (!m->g) {
        snprintf(why, cap, "graft_graph_new failed");
        return false;
    }
    int64_t wd[2] = {3, 4}, bd[1] = {REL_B_N};
    graft_variable info;
    graft_variable_new(m->g, "w", graft_zeros(m->g, GRAFT_FLOAT, wd, 2), true, &info);
    m->w = info.var;
    graft_variable_new(m->g, "b", graft_zeros(m->g, GRAFT_DOUBLE, bd, 1), true, &info);
    m->b = info.var;
    graft_variable_new(m->g, "step", graft_const_i64(m->g, 0), false, &info);
    m->step = info.var;
    if (graft_graph_check(m->g, &st) != GRAFT_OK) {
        snprintf(why, cap, "graph: %s", st.msg);
        return false;
    }
    m->s = graft_session_new(m->g, NULL, &st);
    if (!m->s || graft_session_init_variables(m->s, &st) != GRAFT_OK) {
        snprintf(why, cap, "session: %s", st.msg);
        return false;
    }
    graft_saver_opts o;
    graft_saver_opts_init(&o);
    o.max_to_keep = max_to_keep;
    o.write_meta_graph = write_meta;
    m->sv = graft_saver_new(m->g, &o, &st);
    if (!m->sv) {
        snprintf(why, cap, "saver: %s", st.msg);
        return false;
    }
    return true;
}

void rel_model_free(rel_model *m)
{
    graft_saver_free(m->sv);
    graft_session_free(m->s);
    graft_graph_free(m->g);
    memset(m, 0, sizeof *m);
}

void rel_model_set_step(rel_model *m, int64_t k)
{
    float *w = graft_tensor_data(graft_session_variable_storage(m->s, m->w));
    double *b = graft_tensor_data(graft_session_variable_storage(m->s, m->b));
    int64_t *s = graft_tensor_data(graft_session_variable_storage(m->s, m->step));
    for (int i = 0; i < REL_W_N; i++) w[i] = w_val(k, i);
    for (int i = 0; i < REL_B_N; i++) b[i] = b_val(k, i);
    *s = k;
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const uint8_t *c = p;
    for (size_t i = 0; i < n; i++) h = (h ^ c[i]) * 0x100000001b3ull;
    return h;
}

uint64_t rel_model_hash(rel_model *m)
{
    uint64_t h = 0xcbf29ce484222325ull;
    graft_op *v[3] = {m->w, m->b, m->step};
    for (int i = 0; i < 3; i++) {
        graft_tensor *t = graft_session_variable_storage(m->s, v[i]);
        if (!t) return 0;
        h = fnv(h, graft_tensor_data(t), graft_tensor_nbytes(t));
    }
    return h;
}

static bool values_are(const float *w, const double *b, int64_t k)
{
    for (int i = 0; i < REL_W_N; i++)
        if (memcmp(&w[i], &(float){w_val(k, i)}, sizeof(float)) != 0) return false;
    for (int i = 0; i < REL_B_N; i++)
        if (memcmp(&b[i], &(double){b_val(k, i)}, sizeof(double)) != 0) return false;
    return true;
}

int64_t rel_model_step_of(rel_model *m)
{
    const float *w = graft_tensor_data(graft_session_variable_storage(m->s, m->w));
    const double *b = graft_tensor_data(graft_session_variable_storage(m->s, m->b));
    int64_t k = *(const int64_t *)graft_tensor_data(graft_session_variable_storage(m->s, m->step));
    return values_are(w, b, k) ? k : -1;
}

int64_t rel_ckpt_step(const char *prefix, char *why, size_t cap)
{
    graft_status st;
    graft_ckpt_reader *r = graft_ckpt_reader_open(prefix, NULL, &st);
    if (!r) {
        snprintf(why, cap, "open: %s", st.msg);
        return -1;
    }
    graft_tensor *w = NULL, *b = NULL, *s = NULL;
    int64_t k = -1;
    if (graft_ckpt_reader_read(r, "w", &w, &st) || graft_ckpt_reader_read(r, "b", &b, &st) ||
        graft_ckpt_reader_read(r, "step", &s, &st)) {
        snprintf(why, cap, "read: %s", st.msg);
    } else if (graft_tensor_dtype(w) != GRAFT_FLOAT || graft_tensor_num_elements(w) != REL_W_N ||
               graft_tensor_dtype(b) != GRAFT_DOUBLE || graft_tensor_num_elements(b) != REL_B_N ||
               graft_tensor_dtype(s) != GRAFT_INT64 || graft_tensor_num_elements(s) != 1) {
        snprintf(why, cap, "%s: wrong dtypes or shapes", prefix);
    } else {
        int64_t ks = *(const int64_t *)graft_tensor_data(s);
        if (values_are(graft_tensor_data(w), graft_tensor_data(b), ks)) k = ks;
        else snprintf(why, cap, "%s: values are not those of step %lld", prefix, (long long)ks);
    }
    graft_tensor_free(w);
    graft_tensor_free(b);
    graft_tensor_free(s);
    graft_ckpt_reader_free(r);
    return k;
}

const char *rel_ckpt_check(const char *prefix, int64_t k)
{
    static char why[2300];
    int64_t got = rel_ckpt_step(prefix, why, sizeof why);
    if (got < 0) return why;
    if (got != k) {
        snprintf(why, sizeof why, "%s holds step %lld, expected %lld", prefix, (long long)got, (long long)k);
        return why;
    }
    return NULL;
}
