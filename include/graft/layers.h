/* graft/layers.h - (being written) */
#ifndef GRAFT_LAYERS_H
#define GRAFT_LAYERS_H
#include "graft/session.h"
#endif
