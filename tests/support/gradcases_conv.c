/* tests/support/gradcases_conv.c - gradient-check cases for lib/ops/op_conv.c:
 * Conv2D (SAME/VALID, strides 1/2, odd/even/non-square kernels, the 1x1 direct
 * path, unknown static shapes), MaxPool (distinct inputs: no ties) and AvgPool. */
#include <stddef.h>

#include "gradcheck.h"

#define F64 GRAFT_DOUBLE

typedef struct win_cfg {
    int kh, kw, sh, sw; /* kh/kw used by pooling only */
    graft_padding pad;
} win_cfg;

static int build_conv(graft_graph *g, const graft_out *in, const graftT_gradcase *c, graft_out *outs)
{
    const win_cfg *w = c->ud;
    outs[0] = graft_conv2d(g, in[0], in[1], w->sh, w->sw, w->pad);
    return 1;
}

static int build_max_pool(graft_graph *g, const graft_out *in, const graftT_gradcase *c, graft_out *outs)
{
    const win_cfg *w = c->ud;
    outs[0] = graft_max_pool(g, in[0], w->kh, w->kw, w->sh, w->sw, w->pad);
    return 1;
}

static int build_avg_pool(graft_graph *g, const graft_out *in, const graftT_gradcase *c, graft_out *outs)
{
    const win_cfg *w = c->ud;
    outs[0] = graft_avg_pool(g, in[0], w->kh, w->kw, w->sh, w->sw, w->pad);
    return 1;
}

static const win_cfg s1_same = {0, 0, 1, 1, GRAFT_PAD_SAME}, s2_valid = {0, 0, 2, 2, GRAFT_PAD_VALID},
                     s2_same = {0, 0, 2, 2, GRAFT_PAD_SAME}, s21_same = {0, 0, 2, 1, GRAFT_PAD_SAME},
                     s1_valid = {0, 0, 1, 1, GRAFT_PAD_VALID};
static const win_cfg p22_s2_valid = {2, 2, 2, 2, GRAFT_PAD_VALID}, p33_s2_same = {3, 3, 2, 2, GRAFT_PAD_SAME},
                     p32_s1_same = {3, 2, 1, 1, GRAFT_PAD_SAME}, p22_s2_same = {2, 2, 2, 2, GRAFT_PAD_SAME};

#define CONV(label_, cfg_, n, h, w, ci, kh, kw, co, decl_)                                                   \
    {                                                                                                        \
        .op = "Conv2D", .label = label_, .n_in = 2,                                                          \
        .in = {{.dtype = F64, .rank = 4, .dims = {n, h, w, ci}, .check = true, .decl = decl_},               \
               {.dtype = F64, .rank = 4, .dims = {kh, kw, ci, co}, .check = true}},                          \
        .build = build_conv, .ud = &cfg_                                                                     \
    }

#define POOL(op_, build_, label_, cfg_, dom, n, h, w, c, decl_)                                              \
    {                                                                                                        \
        .op = op_, .label = label_, .n_in = 1,                                                               \
        .in =                                                                                                \
            {{.dtype = F64, .rank = 4, .dims = {n, h, w, c}, .domain = dom, .check = true, .decl = decl_}},  \
        .build = build_, .ud = &cfg_                                                                         \
    }

const graftT_gradcase graftT_gradcases_conv[] = {
    CONV("SAME s1 3x3", s1_same, 1, 5, 5, 2, 3, 3, 2, GRAFTT_DECL_EXACT),
    CONV("VALID s2 3x3", s2_valid, 1, 6, 5, 2, 3, 3, 2, GRAFTT_DECL_EXACT),
    CONV("SAME s2 2x2 (even kernel)", s2_same, 1, 5, 6, 2, 2, 2, 2, GRAFTT_DECL_EXACT),
    CONV("SAME s(2,1) 3x2 non-square", s21_same, 2, 5, 4, 2, 3, 2, 2, GRAFTT_DECL_FIRST_UNKNOWN),
    CONV("VALID s1 1x1 (direct gemm)", s1_valid, 2, 3, 4, 3, 1, 1, 2, GRAFTT_DECL_DIMS_UNKNOWN),
    CONV("SAME s2 1x1", s2_same, 1, 5, 5, 3, 1, 1, 2, GRAFTT_DECL_EXACT),
    CONV("SAME s2 4x4, input dims unknown", s2_same, 1, 7, 6, 1, 4, 4, 2, GRAFTT_DECL_DIMS_UNKNOWN),
    {.op = "Conv2D",
     .label = "float32 SAME s1 3x3",
     .n_in = 2,
     .in = {{.dtype = GRAFT_FLOAT, .rank = 4, .dims = {1, 4, 4, 2}, .check = true},
            {.dtype = GRAFT_FLOAT, .rank = 4, .dims = {3, 3, 2, 2}, .check = true}},
     .build = build_conv,
     .ud = &s1_same},

    POOL("MaxPool", build_max_pool, "VALID 2x2 s2", p22_s2_valid, GRAFTT_DISTINCT, 2, 4, 4, 2,
         GRAFTT_DECL_EXACT),
    POOL("MaxPool", build_max_pool, "SAME 3x3 s2", p33_s2_same, GRAFTT_DISTINCT, 1, 5, 6, 2,
         GRAFTT_DECL_EXACT),
    POOL("MaxPool", build_max_pool, "SAME 3x2 s1, dims unknown", p32_s1_same, GRAFTT_DISTINCT, 1, 4, 5, 2,
         GRAFTT_DECL_DIMS_UNKNOWN),
    POOL("AvgPool", build_avg_pool, "VALID 2x2 s2", p22_s2_valid, GRAFTT_ANY, 2, 4, 4, 2, GRAFTT_DECL_EXACT),
    POOL("AvgPool", build_avg_pool, "SAME 3x3 s2 (real-cell counts)", p33_s2_same, GRAFTT_ANY, 1, 5, 6, 2,
         GRAFTT_DECL_EXACT),
    POOL("AvgPool", build_avg_pool, "SAME 2x2 s2 odd, dims unknown", p22_s2_same, GRAFTT_ANY, 1, 5, 5, 3,
         GRAFTT_DECL_DIMS_UNKNOWN),
    {0}};
