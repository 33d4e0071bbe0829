/* lib/metagraph/mg_saver.h - rebuilding a graft_saver from an imported
 * SaverDef (key -> variable taken from the graph's own restore nodes). */
#ifndef GRAFT_MG_SAVER_H
#define GRAFT_MG_SAVER_H

#include "mg.h"

/* ops[i] is the graft op made for node i of m (names may carry an import scope
 * or a uniquifying suffix: the SaverDef's names are resolved through the
 * file's nodes). On GRAFT_ERR_UNSUPPORTED no saver is made and note says why
 * (not an import failure). */
GRAFTI_FUNC graft_code graftI_mg_saver_from_def(graft_graph *g, const graft_meta_graph *m, graft_op *const *ops,
                                                graft_saver **out, char *note, size_t note_cap, graft_status *st);
GRAFTI_FUNC void graftI_mg_saver_free(graft_saver *s);

#endif
