/* graft/metagraph.h - (being written) */
#ifndef GRAFT_METAGRAPH_H
#define GRAFT_METAGRAPH_H
#include "graft/session.h"
#endif
