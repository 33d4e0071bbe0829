/* graft/checkpoint.h - (being written) */
#ifndef GRAFT_CHECKPOINT_H
#define GRAFT_CHECKPOINT_H
#include "graft/session.h"
#endif
