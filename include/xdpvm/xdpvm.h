/* xdpvm public API, everything in one include. */
#ifndef XDPVM_XDPVM_H
#define XDPVM_XDPVM_H

#include "xdpvm/object.h"

#endif
