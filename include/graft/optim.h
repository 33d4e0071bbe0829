/* graft/optim.h - (being written) */
#ifndef GRAFT_OPTIM_H
#define GRAFT_OPTIM_H
#include "graft/session.h"
#endif
