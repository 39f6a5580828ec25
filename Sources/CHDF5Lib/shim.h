#ifndef VLATUNE_CHDF5LIB_SHIM_H
#define VLATUNE_CHDF5LIB_SHIM_H
#include <hdf5.h>
#endif
