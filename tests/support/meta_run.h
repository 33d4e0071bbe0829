/* tests/support/meta_run.h - running an imported meta graph on the feeds of a
 * refout.json and comparing with the reference outputs it names. */
#ifndef GRAFT_TEST_META_RUN_H
#define GRAFT_TEST_META_RUN_H

#include <stdbool.h>

#include "graft/graft.h"

/* Restores every variable of g from the checkpoint at prefix, keyed by the
 * variable op's name (what TF1's default Saver writes). Returns the number of
 * variables restored, or -1 (message printed) on failure. */
int meta_restore_by_name(graft_session *s, graft_graph *g, const char *prefix);

/* Runs refout.json in dir (meta, checkpoint, feeds, fetches, tolerance) and
 * compares every fetch. meta_override/prefix_override replace the files named
 * there when non-NULL. use_saver: restore through the Saver rebuilt from the
 * file's SaverDef (the user path) instead of by variable name. Returns the
 * number of mismatching fetches (0 = pass), -1 on a setup error; prints a line
 * per fetch with the max deviation. */
int meta_run_refout(const char *dir, const char *meta_override, const char *prefix_override, bool use_saver);

#endif
