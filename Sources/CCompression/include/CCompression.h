#ifndef VLATUNE_CCOMPRESSION_H
#define VLATUNE_CCOMPRESSION_H
/// The Parquet page codecs vlatune reads (Snappy, Zstandard, gzip); each library is loaded on
/// first use (compression_library.c, vlatune_library_loader.h).
#include <snappy-c.h>
#include <zlib.h>
#include <zstd.h>
#endif
