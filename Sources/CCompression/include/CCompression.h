#ifndef VLATUNE_CCOMPRESSION_H
#define VLATUNE_CCOMPRESSION_H
/// The Parquet page codecs vlatune reads (Snappy, Zstandard, gzip); each library is loaded on
/// first use (compression_library.c, vlatune_library_loader.h).
#include <snappy-c.h>
#include <zlib.h>
#include <zstd.h>
#include <stddef.h>

/// Whether a codec library loads (0 Snappy, 1 Zstandard, 2 zlib): 1, or 0 with the loader's
/// message in `error` (for `vlatune doctor`).
int vt_compression_probe(int library, char *error, size_t length);
#endif
