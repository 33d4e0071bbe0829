/*
 * graft/metagraph.h - import of TensorFlow MetaGraphDef (.meta) files into a
 * graft graph and export of a graph as a .meta TensorFlow imports.
 * (The meta-graph module owner completes this header; the declaration below is
 * the contract the Saver relies on for write_meta_graph.)
 */
#ifndef GRAFT_METAGRAPH_H
#define GRAFT_METAGRAPH_H
#include "graft/checkpoint.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Writes g as a MetaGraphDef to path atomically. saver may be NULL (no
 * saver_def); otherwise its SaverDef is recorded (its save/ nodes are already in
 * the graph). */
GRAFT_API graft_code graft_meta_graph_export(graft_graph *g, const graft_saver *saver, const char *path,
                                             graft_status *st);

#ifdef __cplusplus
}
#endif
#endif
