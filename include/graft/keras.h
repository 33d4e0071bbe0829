/* graft/keras.h - (being written) */
#ifndef GRAFT_KERAS_H
#define GRAFT_KERAS_H
#include "graft/session.h"
#endif
