#ifndef VLATUNE_CARCHIVE_H
#define VLATUNE_CARCHIVE_H
/// libarchive's API as vlatune uses it; libarchive itself is loaded on first use
/// (archive_library.c, vlatune_library_loader.h).
#include <archive.h>
#include <archive_entry.h>
#include <stddef.h>

/// Whether libarchive loads: 1, or 0 with the loader's message in `error` (for `vlatune doctor`).
int vt_archive_probe(char *error, size_t length);
#endif
