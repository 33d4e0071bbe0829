/* tests/fuzz/fuzz_meta.c - libFuzzer target: a binary MetaGraphDef (.meta) parsed from
 * memory, every node inspected, then imported into a fresh graph (with its Saver). */
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    (void)fz_dir(); /* installs the hooks, silences the log */
    graft_meta_opts o;
    graft_meta_opts_init(&o);
    o.max_const_bytes = (size_t)64 << 20;
    graft_meta_graph *m = NULL;
    graft_status st;
    if (graft_meta_graph_parse(data, size, "fuzz.meta", &o, &m, &st) != GRAFT_OK) return 0;
    graft_meta_info info;
    graft_meta_graph_get_info(m, &info);
    int n = graft_meta_graph_num_nodes(m);
    volatile size_t acc = 0;
    for (int i = 0; i < n; i++) {
        graft_meta_node nd;
        if (!graft_meta_graph_node(m, i, &nd)) continue;
        acc += strlen(nd.name) + strlen(nd.op) + (size_t)nd.num_inputs;
        for (int j = 0; j < nd.num_inputs; j++) acc += strlen(nd.inputs[j]);
        acc += (size_t)graft_meta_graph_find_node(m, nd.name);
    }
    graft_saver_def sd;
    if (graft_meta_graph_saver_def(m, &sd)) acc += strlen(sd.restore_op_name);
    graft_graph *g = graft_graph_new();
    graft_meta_import *imp = NULL;
    if (g && graft_meta_graph_import(g, m, &o, &imp, &st) == GRAFT_OK) {
        graft_saver *sv = graft_meta_import_take_saver(imp);
        graft_saver_free(sv);
    }
    graft_meta_import_free(imp);
    graft_graph_free(g);
    graft_meta_graph_free(m);
    return 0;
}
