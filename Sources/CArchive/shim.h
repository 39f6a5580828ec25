#ifndef VLATUNE_CARCHIVE_SHIM_H
#define VLATUNE_CARCHIVE_SHIM_H
#include <archive.h>
#include <archive_entry.h>
#endif
