/* graft/data.h - (being written) */
#ifndef GRAFT_DATA_H
#define GRAFT_DATA_H
#include "graft/session.h"
#endif
