#ifndef VLATUNE_CARCHIVE_H
#define VLATUNE_CARCHIVE_H
/// libarchive's API as vlatune uses it; libarchive itself is loaded on first use
/// (archive_library.c, vlatune_library_loader.h).
#include <archive.h>
#include <archive_entry.h>
#endif
